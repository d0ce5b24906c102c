"""The tracking pixel beside the receiver's own insert, in the same run: A B A B.

Usage: .venv/bin/python bench/visits.py [--seconds S] [--rounds R] [--concurrency C]
                                        [--views-per-visit V]

Starts `leadrouter serve --demo` in its own process on a throwaway embedded PostgreSQL
(loopback ports only; the visits-per-minute cap lifted, so the run measures recording, not
the cap), creates a tracking setting over gRPC, warms both URLs up, then alternates R rounds
of S seconds of general insert posts (A: distinct valid leads, URL-encoded) with R rounds of
pixel GETs (B: each visit V page views, a new visit id after that, referrers from search
engines, a few real user agents), C requests at a time on keep-alive connections from this
process. Prints each round's requests/s, p50 and p99, then each side's median round, and the
CPU per request of serve and PostgreSQL. Pixels answered without `X-Visit-ID` (recorded
nothing) are counted.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import psutil

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(1, str(Path(__file__).parents[1] / "protos"))

from bench.receiver import Connection, cpu_seconds, postgres_processes, start_server

AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15",
)
REFERRERS = (
    "https://www.google.com/search?q=auto+insurance+quotes",
    "https://www.bing.com/search?q=cheap+car+insurance",
    "https://duckduckgo.com/?q=insurance",
    "",
)


@dataclass
class Round:
    name: str
    latencies: list[float]
    elapsed: float
    misses: int  # inserts not No_Error, pixels that recorded nothing

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000


class PixelConnection(Connection):
    async def pixel(self, path: str, agent: str) -> bool:
        """GET the pixel; whether it recorded the view (answered an X-Visit-ID)."""
        head = f"GET {path} HTTP/1.1\r\nHost: bench\r\nUser-Agent: {agent}\r\n\r\n"
        self._writer.write(head.encode())
        await self._writer.drain()
        headers = await self._reader.readuntil(b"\r\n\r\n")
        lines = headers.lower().split(b"\r\n")
        length = next(int(h.split(b":", 1)[1]) for h in lines if h.startswith(b"content-length:"))
        body = await self._reader.readexactly(length)
        assert body.startswith(b"GIF89a"), body[:40]
        return any(h.startswith(b"x-visit-id:") for h in lines)


async def timed(
    name: str,
    address: str,
    concurrency: int,
    seconds: float,
    one: Callable[[PixelConnection, int], Awaitable[bool]],
    numbers: itertools.count[int],
) -> Round:
    host, port = address.rsplit(":", 1)
    latencies: list[float] = []
    misses = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal misses
        connection = await PixelConnection.open(host, int(port))
        try:
            while time.perf_counter() < deadline:
                number = next(numbers)
                started = time.perf_counter()
                ok = await one(connection, number)
                latencies.append(time.perf_counter() - started)
                misses += not ok
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Round(name, latencies, time.perf_counter() - started, misses)


async def create_tracking(grpc_address: str, key: str) -> int:
    from leadrouter.v1 import visits_pb2

    from clients.client import visits_async

    async with visits_async(grpc_address, key) as visits:
        made = await visits.CreateTracking(visits_pb2.CreateTrackingRequest(name="bench"))
    return int(made.id)


async def run(seconds: float, rounds: int, concurrency: int, views: int) -> None:
    os.environ["LEADROUTER_VISITS_PER_MINUTE"] = "100000000"
    with tempfile.TemporaryDirectory(prefix="lrbench") as folder:
        doors: dict[str, str] = {}
        server, address, form, key = start_server(Path(folder), doors)
        try:
            tracking = await create_tracking(doors["grpc"], key)
            run_id = os.getpid()

            async def insert(connection: PixelConnection, number: int) -> bool:
                data = {**form, "Email": f"p{number}@example.com", "Phone": f"70{number:08d}"}
                answer = await connection.post("/processor/insert/general/json", urlencode(data))
                return bool(answer["ResponseType"] == "No_Error")

            async def pixel(connection: PixelConnection, number: int) -> bool:
                visit = f"b{run_id}-{number // views}"
                query = urlencode(
                    {
                        "t": tracking,
                        "v": visit,
                        "u": f"https://acme.example/page{number % views}?x={number}",
                        "r": REFERRERS[(number // views) % len(REFERRERS)],
                    }
                )
                return await connection.pixel(
                    f"/track/pixel.gif?{query}", AGENTS[number % len(AGENTS)]
                )

            inserts, pixels = itertools.count(), itertools.count()
            await timed("warm-up", address, 4, 2.0, insert, inserts)
            await timed("warm-up", address, 4, 2.0, pixel, pixels)
            serve = psutil.Process(server.pid)
            results: list[Round] = []
            cpu = {"insert": [0.0, 0.0, 0], "pixel": [0.0, 0.0, 0]}
            for _ in range(rounds):
                for name, one, numbers in (
                    ("insert", insert, inserts),
                    ("pixel", pixel, pixels),
                ):
                    serve_before = cpu_seconds([serve])
                    pg_before = cpu_seconds(postgres_processes(Path(folder)))
                    done = await timed(name, address, concurrency, seconds, one, numbers)
                    cpu[name][0] += cpu_seconds([serve]) - serve_before
                    cpu[name][1] += cpu_seconds(postgres_processes(Path(folder))) - pg_before
                    cpu[name][2] += len(done.latencies)
                    results.append(done)
                    print(
                        f"{name:7s} {done.rate:7.0f} req/s  p50 {done.percentile(0.5):6.1f} ms"
                        f"  p99 {done.percentile(0.99):6.1f} ms  misses {done.misses}",
                        flush=True,
                    )
        finally:
            server.terminate()
            server.wait(timeout=30)
    print()
    for name in ("insert", "pixel"):
        mine = [r for r in results if r.name == name]
        rate = statistics.median(r.rate for r in mine)
        p50 = statistics.median(r.percentile(0.5) for r in mine)
        p99 = statistics.median(r.percentile(0.99) for r in mine)
        serve_ms = cpu[name][0] / cpu[name][2] * 1000
        pg_ms = cpu[name][1] / cpu[name][2] * 1000
        label = "general insert posts/s" if name == "insert" else "pixel visits/s"
        print(
            f"{label:23s} {rate:7.0f} (median of {len(mine)} rounds)  p50 {p50:.1f} ms"
            f"  p99 {p99:.1f} ms  serve CPU {serve_ms:.2f} ms  PostgreSQL CPU {pg_ms:.2f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--views-per-visit", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.rounds, args.concurrency, args.views_per_visit))


if __name__ == "__main__":
    main()
