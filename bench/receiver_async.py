"""The async insert URL against the synchronous one: answers/s and latency side by side, and
how fast the queued posts are processed.

Usage: .venv/bin/python bench/receiver_async.py [--seconds S] [--rounds N] [--concurrency C]

Starts `leadrouter serve --demo` in its own process on a throwaway embedded PostgreSQL
(loopback ports only, the queue limit lifted), lifts the example campaign's day cap, warms
both URLs up, then posts distinct valid URL-encoded leads from this process, C at a time on
keep-alive connections, in alternating rounds of S seconds: A to
`/processor/insert/general/json`, B to `/processor/insert/general/json/async`. After each B
round it waits until the posts it queued are processed (watching the queue status of the last
C of them, the last to be processed) and prints how fast they were: queued posts over the
time from the round's start until then. The next round starts on an empty queue. Prints each
round, then the median of each figure with its spread.
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


async def run(seconds: float, rounds: int, concurrency: int) -> None:
    numbers = itertools.count()
    os.environ["LEADROUTER_QUEUE_MAX_POSTS"] = "100000000"  # the bench measures, not limits
    with tempfile.TemporaryDirectory(prefix="lrbench") as folder:
        server, address, form, _ = start_server(Path(folder))
        try:
            for path in (SYNC, ASYNC):  # one-off work (caches, code paths) out of the timing
                _, _, _, warm = await load(address, form, numbers, path, 4, 2.0)
            await processed(address, warm[-4:])
            results: dict[str, list[tuple[float, float, float]]] = {SYNC: [], ASYNC: []}
            processing: list[float] = []
            print(f"concurrency {concurrency}, rounds of {seconds:g} s, alternating A B A B")
            print("round  URL                                  answers/s   p50 ms   p99 ms")
            for number in range(1, rounds + 1):
                for path in (SYNC, ASYNC):
                    started = time.perf_counter()
                    rate, latencies, outcomes, queued = await load(
                        address, form, numbers, path, concurrency, seconds
                    )
                    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
                    results[path].append((rate, p50, p99))
                    line = f"{number:>5}  {path:<36} {rate:>9.0f} {p50:>8.1f} {p99:>8.1f}"
                    if queued:
                        await processed(address, queued[-concurrency:])
                        took = time.perf_counter() - started
                        processing.append(len(queued) / took)
                        line += (
                            f"   {len(queued)} queued, processed {took:.1f} s after the round's"
                            f" start: {len(queued) / took:.0f} posts/s"
                        )
                    print(line, dict(outcomes) if set(outcomes) - {"queued", "No_Error"} else "")
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
        f"queued posts processed: {statistics.median(processing):.0f} posts/s "
        f"({spread(processing)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.rounds, args.concurrency))


if __name__ == "__main__":
    main()
