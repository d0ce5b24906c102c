"""The async insert URL against the synchronous one: answers/s and latency side by side, and
how fast the queued posts are processed.

Usage: .venv/bin/python bench/receiver_async.py [--seconds S] [--rounds N] [--concurrency C]
                                                [--rate R]

Starts `leadrouter serve --demo` in its own process on a throwaway embedded PostgreSQL
(loopback ports only, the queue limit lifted), lifts the example campaign's day cap, warms
both URLs up, then posts distinct valid URL-encoded leads from this process, C at a time on
keep-alive connections, in alternating rounds of S seconds: A to
`/processor/insert/general/json`, B to `/processor/insert/general/json/async`. After each B
round it waits until the posts it queued are processed (watching the queue status of the
last C of them, the last to be processed) and prints how fast they were: queued posts over
the time from the round's start until then, and the rates during the round (answering too)
and after it (the posts processed by the round's end are found by bisection of the queue
status). The next round starts on an empty queue. Prints each round, then the median of each
figure with its spread.

Each async post carries a `returnurl` on a callback receiver in this process (the demo account
allows loopback callbacks), which answers 200 at once and counts what arrives: after each B
round the bench waits for the round's callbacks too and prints callbacks delivered per second
(callbacks over the time from the round's start until the last arrived), beside the
synchronous URL's answers/s of the A rounds.

Closed-loop rounds measure what the machine can answer: at concurrency C a latency is C over
the answers/s whatever the URL does. So rounds follow, A B A B again, that offer posts at a
steady `--rate` (open loop, up to C connections), and print p50 and p99 there, each post's
latency counted from the moment it was due.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(1, str(Path(__file__).parents[1] / "protos"))

from bench.receiver import Connection, start_server

SYNC = "/processor/insert/general/json"
ASYNC = "/processor/insert/general/json/async"


class CallbackReceiver:
    """Counts the callbacks POSTed to it (keep-alive HTTP/1.1, 200 "ok" at once), with the
    time the last one arrived."""

    def __init__(self) -> None:
        self.count = 0
        self.last = 0.0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._arrived = asyncio.Event()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/callback"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                close = False
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                    if name.strip().lower() == "connection" and "close" in value.lower():
                        close = True
                await reader.readexactly(length)
                self.count += 1
                self.last = time.perf_counter()
                self._arrived.set()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client closed, or the bench is ending
        finally:
            writer.close()

    async def delivered(self, count: int, within: float = 120.0) -> bool:
        """Wait until `count` callbacks have arrived in all; whether they did `within`
        seconds."""
        try:
            async with asyncio.timeout(within):
                while self.count < count:
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            return False
        return True


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def spread(values: list[float]) -> str:
    return f"{min(values):.0f}-{max(values):.0f}" if values else "-"


async def load(
    address: str,
    form: dict[str, str],
    numbers: Iterator[int],
    path: str,
    concurrency: int,
    seconds: float,
) -> tuple[float, list[float], Counter[str], list[str]]:
    """Posts for `seconds`: answers/s, latencies, outcomes, and the PostIDs queued (in the
    order they were answered)."""
    host, port = address.rsplit(":", 1)
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    queued: list[str] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        connection = await Connection.open(host, int(port))
        try:
            while time.perf_counter() < deadline:
                number = next(numbers)
                data = {**form, "Email": f"a{number}@example.com", "Phone": f"72{number:08d}"}
                started = time.perf_counter()
                answer = await connection.post(path, urlencode(data))
                latencies.append(time.perf_counter() - started)
                if "QueueSuccessful" in answer:
                    outcomes["queued" if answer["QueueSuccessful"] else "not queued"] += 1
                    queued.append(str(answer["PostID"]))
                else:
                    outcomes[str(answer["ResponseType"])] += 1
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies) / (time.perf_counter() - started), latencies, outcomes, queued


async def paced(
    address: str,
    form: dict[str, str],
    numbers: Iterator[int],
    path: str,
    rate: float,
    connections: int,
    seconds: float,
) -> tuple[list[float], list[str]]:
    """Posts offered at `rate` a second for `seconds` (open loop, at most `connections` at a
    time): the latencies, each from the moment its post was due (so a post that waited for a
    free connection counts the wait), and the PostIDs queued."""
    host, port = address.rsplit(":", 1)
    latencies: list[float] = []
    queued: list[str] = []
    slots = itertools.count()
    started = time.perf_counter()
    total = int(rate * seconds)

    async def worker() -> None:
        connection = await Connection.open(host, int(port))
        try:
            while (slot := next(slots)) < total:
                due = started + slot / rate
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                number = next(numbers)
                data = {**form, "Email": f"r{number}@example.com", "Phone": f"73{number:08d}"}
                answer = await connection.post(path, urlencode(data))
                latencies.append(time.perf_counter() - due)
                if "QueueSuccessful" in answer:
                    queued.append(str(answer["PostID"]))
        finally:
            connection.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return latencies, queued


async def processed_count(address: str, post_ids: list[str]) -> int:
    """About how many of these posts (in the order they were queued) are processed: the
    first one not processed, by bisection, since they are processed about in order."""
    host, port = address.rsplit(":", 1)
    connection = await Connection.open(host, int(port))
    low, high = 0, len(post_ids)
    try:
        while low < high:
            middle = (low + high) // 2
            status = await connection.get(f"/information/queuestatus/{post_ids[middle]}")
            if status.get("QueueStatus") == "Processed":
                low = middle + 1
            else:
                high = middle
    finally:
        connection.close()
    return low


async def processed(address: str, post_ids: list[str]) -> None:
    """Return once these queued posts are processed."""
    host, port = address.rsplit(":", 1)
    connection = await Connection.open(host, int(port))
    try:
        waiting = list(post_ids)
        while waiting:
            status = await connection.get(f"/information/queuestatus/{waiting[-1]}")
            if status.get("QueueStatus") == "Processed":
                waiting.pop()
            else:
                await asyncio.sleep(0.05)
    finally:
        connection.close()


async def run(seconds: float, rounds: int, concurrency: int, rate: float) -> None:
    numbers = itertools.count()
    os.environ["LEADROUTER_QUEUE_MAX_POSTS"] = "100000000"  # the bench measures, not limits
    callbacks = CallbackReceiver()
    await callbacks.start()
    with tempfile.TemporaryDirectory(prefix="lrbench") as folder:
        server, address, form, _ = start_server(Path(folder))
        form = {**form, "returnurl": callbacks.url()}
        try:
            for path in (SYNC, ASYNC):  # one-off work (caches, code paths) out of the timing
                _, _, _, warm = await load(address, form, numbers, path, 4, 2.0)
            await processed(address, warm[-4:])
            await callbacks.delivered(len(warm))
            results: dict[str, list[tuple[float, float, float]]] = {SYNC: [], ASYNC: []}
            paced_results: dict[str, list[tuple[float, float]]] = {SYNC: [], ASYNC: []}
            processing: list[float] = []
            draining: list[float] = []
            delivering: list[float] = []
            print(f"concurrency {concurrency}, rounds of {seconds:g} s, alternating A B A B")
            print("round  URL                                  answers/s   p50 ms   p99 ms")
            for number in range(1, rounds + 1):
                for path in (SYNC, ASYNC):
                    started = time.perf_counter()
                    called = callbacks.count
                    answered, latencies, outcomes, queued = await load(
                        address, form, numbers, path, concurrency, seconds
                    )
                    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
                    results[path].append((answered, p50, p99))
                    line = f"{number:>5}  {path:<36} {answered:>9.0f} {p50:>8.1f} {p99:>8.1f}"
                    if queued:
                        ended = time.perf_counter()
                        during = await processed_count(address, queued)
                        await processed(address, queued[-concurrency:])
                        took = time.perf_counter() - started
                        after = (len(queued) - during) / (time.perf_counter() - ended)
                        processing.append(len(queued) / took)
                        draining.append(after)
                        line += (
                            f"   {len(queued)} queued, all processed {took:.1f} s after the"
                            f" round's start: {len(queued) / took:.0f} posts/s"
                            f" ({during / seconds:.0f}/s during the round, {after:.0f}/s after)"
                        )
                        if await callbacks.delivered(called + len(queued)):
                            calls = len(queued) / (callbacks.last - started)
                            delivering.append(calls)
                            line += f"; {len(queued)} callbacks, {calls:.0f}/s"
                        else:
                            line += f"; only {callbacks.count - called} callbacks in 2 minutes"
                    print(line, dict(outcomes) if set(outcomes) - {"queued", "No_Error"} else "")
            for _ in range(rounds if rate else 0):
                for path in (SYNC, ASYNC):
                    called = callbacks.count
                    latencies, queued = await paced(
                        address, form, numbers, path, rate, concurrency, seconds
                    )
                    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
                    paced_results[path].append((p50, p99))
                    if queued:
                        await processed(address, queued[-concurrency:])
                        await callbacks.delivered(called + len(queued))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    print()
    print("median (spread)                             answers/s   p50 ms   p99 ms")
    for path, figures in results.items():
        rates, p50s, p99s = ([f[i] for f in figures] for i in range(3))
        print(
            f"       {path:<36} {statistics.median(rates):>9.0f} "
            f"{statistics.median(p50s):>8.1f} {statistics.median(p99s):>8.1f}"
            f"   ({spread(rates)} /s, p99 {min(p99s):.1f}-{max(p99s):.1f} ms)"
        )
    print(
        f"queued posts processed: {statistics.median(processing):.0f} posts/s over the round"
        f" and after it ({spread(processing)}); {statistics.median(draining):.0f} posts/s once"
        f" the round's answers stopped ({spread(draining)})"
    )
    if delivering:
        sync_rates = [f[0] for f in results[SYNC]]
        ratios = [c / s for c, s in zip(delivering, sync_rates, strict=False)]
        print(
            f"callbacks delivered: {statistics.median(delivering):.0f}/s ({spread(delivering)}),"
            f" {statistics.median(ratios):.2f}x the synchronous URL's answers/s in the round"
            f" before ({min(ratios):.2f}-{max(ratios):.2f})"
        )
    if paced_results[SYNC]:
        print()
        print(f"offered at {rate:g} posts/s (open loop, up to {concurrency} connections):")
        for path, paced_figures in paced_results.items():
            p50s, p99s = [f[0] for f in paced_figures], [f[1] for f in paced_figures]
            print(
                f"       {path:<36} p50 {statistics.median(p50s):>6.1f} ms"
                f"   p99 {statistics.median(p99s):>6.1f} ms ({min(p99s):.1f}-{max(p99s):.1f})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--rate",
        type=float,
        default=200.0,
        help="posts/s offered in the open-loop rounds (0: none)",
    )
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.rounds, args.concurrency, args.rate))


if __name__ == "__main__":
    main()
