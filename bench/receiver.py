"""Receiver throughput and latency: URL-encoded posts through HTTP, gRPC and PostgreSQL.

Usage: .venv/bin/python bench/receiver.py [--leads N | --seconds S] [--concurrency C]

Starts `leadrouter serve --demo` in its own process on a throwaway embedded PostgreSQL
(loopback ports only), lifts the example campaign's day cap, then posts N distinct valid
leads from this process, C at a time on keep-alive connections, to the general insert URL,
and prints posts/s, latency percentiles, and the CPU each post cost serve and the embedded
PostgreSQL (which move less than the rates on a shared machine: compare runs side by side),
and serve's resident memory at start, after 100 warm-up posts and at the end. Outcomes other
than No_Error are counted. With --seconds, it posts for that long instead of N leads (a steady
load) and also prints serve's memory at each tenth of the run, to show whether it levels off.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import psutil

EXAMPLE_FILE = Path(__file__).parents[1] / "examples" / "acme.json"


def read_ready(
    lines: Iterable[str], doors: dict[str, str] | None = None
) -> tuple[str, str, str, dict[str, str]]:
    """From `serve --demo`'s output, until it is ready: the gRPC address, the demo key, the
    receiver's address and the first lead's form from the printed curl line; `doors` gets
    service.asmx's address as "soap"."""
    grpc_address = key = address = ""
    form: dict[str, str] = {}
    for line in lines:
        if doors is not None and (
            found := re.search(r"\(SOAP\) listening on http://(\S+?)/", line)
        ):
            doors["soap"] = found[1]
        if found := re.search(r"gRPC API listening on (\S+)", line):
            grpc_address = found[1]
        if found := re.search(r"LEADROUTER_KEY=(\S+)", line):
            key = found[1]
        if found := re.search(r"curl -s http://([^/]+)\S* -d '([^']+)'", line):
            address, form = found[1], dict(parse_qsl(found[2]))
        if line.startswith("Stop with"):
            return grpc_address, key, address, form
    raise SystemExit("leadrouter serve stopped before it was ready")


def start_server(
    folder: Path, doors: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str, dict[str, str], str]:
    """`leadrouter serve --demo` in its own process: it, the receiver address, the demo lead's
    form (from the curl line it prints) and the demo admin key; `doors` gets the gRPC and
    service.asmx addresses as "grpc" and "soap"."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "clients.cli",
            "serve",
            "--demo",
            "--no-demo-buyer",  # the post alone is measured, no sale
            "--data-dir",
            str(folder),
            "--grpc",
            "127.0.0.1:0",
            "--receiver",
            "127.0.0.1:0",
            "--soap",
            "127.0.0.1:0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert server.stdout is not None
    grpc_address, key, address, form = read_ready(server.stdout, doors)
    # keep reading what it prints: a full pipe would stop the server at its next log line
    threading.Thread(target=server.stdout.read, daemon=True).start()
    if doors is not None:
        doors["grpc"] = grpc_address
    # the example campaign caps 1000 leads a day: lift it so the run measures, not caps
    document = json.loads(EXAMPLE_FILE.read_text())
    document["sources"][0]["campaigns"][0]["day_max"] = -1
    uncapped = folder / "uncapped.json"
    uncapped.write_text(json.dumps(document))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "clients.cli",
            "apply",
            str(uncapped),
            "--grpc",
            grpc_address,
            "--key",
            key,
        ],
        check=True,
        capture_output=True,
    )
    return server, address, form, key


def cpu_seconds(processes: Iterable[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def serve_rss(processes: Iterable[psutil.Process]) -> int:
    """The resident memory of these processes (serve and its workers), in bytes."""
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def mib(size: int) -> str:
    return f"{size / 2**20:.0f} MiB"


def postgres_processes(folder: Path) -> list[psutil.Process]:
    """The embedded PostgreSQL's postmaster and its children, from its pid file."""
    postmaster = psutil.Process(int((folder / "pg" / "postmaster.pid").read_text().split()[0]))
    return [postmaster, *postmaster.children(recursive=True)]


async def run(leads: int, concurrency: int, seconds: float | None) -> None:
    with tempfile.TemporaryDirectory(prefix="lrbench") as folder:
        server, address, form, _ = start_server(Path(folder))
        try:
            serve = psutil.Process(server.pid)
            rss = [serve_rss([serve])]
            await warm_up(address, form)
            rss.append(serve_rss([serve]))
            serve_before = cpu_seconds([serve])
            postgres_before = cpu_seconds(postgres_processes(Path(folder)))
            samples: list[int] = []
            sampling = asyncio.create_task(sample_rss(serve, seconds, samples))
            latencies, outcomes, elapsed = await load(address, form, leads, concurrency, seconds)
            sampling.cancel()
            serve_cpu = cpu_seconds([serve]) - serve_before
            postgres_cpu = cpu_seconds(postgres_processes(Path(folder))) - postgres_before
            rss.append(serve_rss([serve]))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    latencies.sort()
    posted = len(latencies)
    print(
        f"leads posted:       {posted} in {elapsed:.0f} s "
        f"({concurrency} at a time, from a second process)"
    )
    print(f"outcomes:           {dict(outcomes)}")
    print(f"throughput:         {posted / elapsed:.0f} posts/s")
    print(f"latency p50:        {statistics.median(latencies) * 1000:.1f} ms")
    print(f"latency p95:        {latencies[int(len(latencies) * 0.95)] * 1000:.1f} ms")
    print(f"latency p99:        {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms")
    print(f"serve CPU per post: {serve_cpu / posted * 1000:.2f} ms")
    print(f"PostgreSQL CPU per post: {postgres_cpu / posted * 1000:.2f} ms")
    print(
        f"serve RSS:          {mib(rss[0])} at start, {mib(rss[1])} after warm-up, "
        f"{mib(rss[2])} at the end"
    )
    if samples:
        print(f"serve RSS by tenth: {', '.join(mib(size) for size in samples)}")


async def sample_rss(serve: psutil.Process, seconds: float | None, samples: list[int]) -> None:
    """Serve's memory at each tenth of a timed run (none for a run of N leads)."""
    if seconds is None:
        return
    for _ in range(10):
        await asyncio.sleep(seconds / 10)
        samples.append(serve_rss([serve]))


async def load(
    address: str, form: dict[str, str], leads: int, concurrency: int, seconds: float | None
) -> tuple[list[float], Counter[str], float]:
    """Posts N leads, or as many as fit in the given seconds."""
    host, port = address.rsplit(":", 1)
    path = "/processor/insert/general/json"
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    numbers: Iterator[int] = itertools.count() if seconds is not None else iter(range(leads))
    deadline = time.perf_counter() + seconds if seconds is not None else float("inf")

    async def worker() -> None:
        connection = await Connection.open(host, int(port))
        try:
            for number in numbers:
                if time.perf_counter() >= deadline:
                    break
                data = {**form, "Email": f"p{number}@example.com", "Phone": f"70{number:08d}"}
                started = time.perf_counter()
                answer = await connection.post(path, urlencode(data))
                latencies.append(time.perf_counter() - started)
                outcomes[answer["ResponseType"]] += 1
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, outcomes, time.perf_counter() - started


async def warm_up(address: str, form: dict[str, str], leads: int = 100) -> None:
    """Posts first, one at a time, so the run does not time one-off work (the first lead's
    caches, the code paths)."""
    host, port = address.rsplit(":", 1)
    warm = await Connection.open(host, int(port))
    try:
        for number in range(leads):
            data = {**form, "Email": f"w{number}@example.com", "Phone": f"69{number:08d}"}
            await warm.post("/processor/insert/general/json", urlencode(data))
    finally:
        warm.close()


class Connection:
    """A keep-alive HTTP/1.1 connection that sends each request in one write, as curl does.
    (httpx writes headers and body apart, and on loopback each post then waits ~40 ms for a
    delayed ACK: that would measure the client, not the server.)"""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def post(self, path: str, body: str) -> dict[str, Any]:
        payload = body.encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: bench\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        self._writer.write(head.encode() + payload)
        await self._writer.drain()
        return await self._answer()

    async def get(self, path: str) -> dict[str, Any]:
        self._writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        await self._writer.drain()
        return await self._answer()

    async def _answer(self) -> dict[str, Any]:
        headers = await self._reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in headers.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        return dict(json.loads(await self._reader.readexactly(length)))

    def close(self) -> None:
        self._writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--seconds", type=float, help="post for this long instead of --leads")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(run(args.leads, args.concurrency, args.seconds))


if __name__ == "__main__":
    main()
