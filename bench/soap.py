"""service.asmx throughput and latency, against its floor, and its effect on the receiver.

Usage: .venv/bin/python bench/soap.py [--seconds S] [--rounds N]

Starts `leadrouter serve --demo` on a throwaway embedded PostgreSQL and posts one lead. Then:

1. A service.asmx gateway in its own process (as `serve --only soap` runs it) calling serve's
   gRPC services, with one extra Spyne method, `FloorLeadTypes`, that answers a constant list
   shaped like GetLeadTypes' without calling gRPC: the protocol's floor on the same server.
   SOAP 1.1 calls of FloorLeadTypes, GetLeadTypes and GetClientsForLead at concurrency 8 and
   32, in alternating rounds of S seconds; prints calls/s (median of the rounds, with the
   spread) and p50/p99 latency, and each real method's calls/s as a share of the floor's.
2. The receiver's posts/s at concurrency 8 alone and with GetLeadTypes load on serve's own
   service.asmx door beside it (concurrency 8), alternating A B A B.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(1, str(Path(__file__).parents[1] / "protos"))

from bench.receiver import Connection, start_server

TNS = "http://tempuri.org/"


def envelope(method: str, params: dict[str, Any]) -> bytes:
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in params.items())
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        f'<{method} xmlns="{TNS}">{inner}</{method}></soap:Body></soap:Envelope>'
    ).encode()


class SoapConnection:
    """A keep-alive connection posting SOAP 1.1 requests, each in one write."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, address: str) -> SoapConnection:
        host, port = address.rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def call(self, method: str, body: bytes) -> int:
        head = (
            "POST /service.asmx HTTP/1.1\r\nHost: bench\r\n"
            "Content-Type: text/xml; charset=utf-8\r\n"
            f'SOAPAction: "{TNS}{method}"\r\nContent-Length: {len(body)}\r\n\r\n'
        )
        self._writer.write(head.encode() + body)
        await self._writer.drain()
        headers = await self._reader.readuntil(b"\r\n\r\n")
        status = int(headers.split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in headers.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await self._reader.readexactly(length)
        return status

    def close(self) -> None:
        self._writer.close()


async def soap_load(
    address: str, method: str, body: bytes, concurrency: int, seconds: float
) -> tuple[float, list[float], int]:
    """Calls for `seconds` from `concurrency` connections: calls/s, latencies, failures."""
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal failures
        connection = await SoapConnection.open(address)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                status = await connection.call(method, body)
                latencies.append(time.perf_counter() - started)
                failures += status != 200
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies) / (time.perf_counter() - started), latencies, failures


async def post_load(
    address: str, form: dict[str, str], numbers: Any, concurrency: int, seconds: float
) -> float:
    """Receiver posts for `seconds`: posts/s."""
    host, port = address.rsplit(":", 1)
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        connection = await Connection.open(host, int(port))
        try:
            while time.perf_counter() < deadline:
                number = next(numbers)
                data = {**form, "Email": f"s{number}@example.com", "Phone": f"71{number:08d}"}
                answer = await connection.post("/processor/insert/general/json", urlencode(data))
                assert answer["ResponseType"] == "No_Error", answer
                done += 1
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def spread(rates: list[float]) -> str:
    return f"{statistics.median(rates):7.0f}/s (min {min(rates):.0f}, max {max(rates):.0f})"


def serve_gateway(grpc_target: str, port: int) -> None:
    """The gateway process: service.asmx plus the floor method, on uvicorn."""
    import grpc
    import uvicorn
    from spyne import Integer64, ServiceBase, Unicode, rpc

    from gateways.soap.app import create_app
    from gateways.soap.backend import Backend
    from gateways.soap.models import LeadTypeType, array_of
    from gateways.soap.service import Service

    constant = [
        LeadTypeType(
            LeadTypeUID=1, AccountUID=1, InQC=0, Descriptor="Auto Insurance", Status=True,
            DefaultDupSets="", TypeUID=0,
        )
    ]  # fmt: skip

    class Floor(ServiceBase):  # type: ignore[misc]
        @rpc(Unicode, Integer64, _returns=array_of(LeadTypeType))  # type: ignore[untyped-decorator]
        def FloorLeadTypes(ctx: Any, Key: str, LeadTypeUID: int) -> list[Any]:
            return constant

    app = create_app(Backend.on(grpc.insecure_channel(grpc_target)), services=(Service, Floor))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_for(address: str, seconds: float = 60.0) -> None:
    host, port = address.rsplit(":", 1)
    deadline = time.monotonic() + seconds
    while True:
        try:
            _, writer = await asyncio.open_connection(host, int(port))
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def run(seconds: float, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="leadrouter-bench-soap-") as folder:
        doors: dict[str, str] = {}
        server, receiver, form, key = start_server(Path(folder), doors)
        gateway: subprocess.Popen[bytes] | None = None
        try:
            host, port = receiver.rsplit(":", 1)
            first = await Connection.open(host, int(port))
            lead = await first.post("/processor/insert/general/json", urlencode(form))
            first.close()
            lead_id = lead["LeadIdentifier"]
            port_number = free_port()
            gateway = subprocess.Popen(  # noqa: ASYNC220  (started once, before any load)
                [sys.executable, __file__, "--gateway", doors["grpc"], str(port_number)]
            )
            gateway_address = f"127.0.0.1:{port_number}"
            await wait_for(gateway_address)
            calls = {
                "FloorLeadTypes": envelope("FloorLeadTypes", {"Key": key, "LeadTypeUID": 0}),
                "GetLeadTypes": envelope("GetLeadTypes", {"Key": key, "LeadTypeUID": 0}),
                "GetClientsForLead": envelope(
                    "GetClientsForLead",
                    {"Key": key, "LeadUID": lead_id, "Automated": "true", "AllowOverMax": "false"},
                ),
            }
            for method, body in calls.items():  # warm up, and check each answers
                rate, _, failed = await soap_load(gateway_address, method, body, 2, 1.0)
                assert failed == 0, f"{method} failed"
            print(f"service.asmx in its own process; {rounds} rounds of {seconds:g} s each")
            for concurrency in (8, 32):
                rates: dict[str, list[float]] = {m: [] for m in calls}
                latencies: dict[str, list[float]] = {m: [] for m in calls}
                for _ in range(rounds):
                    for method, body in calls.items():
                        rate, times, failed = await soap_load(
                            gateway_address, method, body, concurrency, seconds
                        )
                        assert failed == 0, f"{method}: {failed} calls failed"
                        rates[method].append(rate)
                        latencies[method].extend(times)
                floor = statistics.median(rates["FloorLeadTypes"])
                print(f"\nconcurrency {concurrency}:")
                for method in calls:
                    share = statistics.median(rates[method]) / floor
                    p50 = percentile(latencies[method], 0.5) * 1000
                    p99 = percentile(latencies[method], 0.99) * 1000
                    print(
                        f"  {method:18} {spread(rates[method])}  p50 {p50:6.1f} ms  "
                        f"p99 {p99:6.1f} ms  {share:4.0%} of the floor"
                    )
            await receiver_beside_soap(receiver, form, doors["soap"], calls, seconds, rounds)
        finally:
            if gateway is not None:
                gateway.terminate()
                gateway.wait()
            server.terminate()
            server.wait()


async def receiver_beside_soap(
    receiver: str,
    form: dict[str, str],
    soap_address: str,
    calls: dict[str, bytes],
    seconds: float,
    rounds: int,
) -> None:
    """Receiver posts/s alone (A) and with GetLeadTypes load on serve's own service.asmx (B)."""
    numbers = itertools.count()
    alone: list[float] = []
    beside: list[float] = []
    soap_rates: list[float] = []
    body = calls["GetLeadTypes"]
    for _ in range(rounds):
        alone.append(await post_load(receiver, form, numbers, 8, seconds))
        posts, (soap_rate, _, failed) = await asyncio.gather(
            post_load(receiver, form, numbers, 8, seconds),
            soap_load(soap_address, "GetLeadTypes", body, 8, seconds),
        )
        assert failed == 0
        beside.append(posts)
        soap_rates.append(soap_rate)
    ratio = statistics.median(beside) / statistics.median(alone)
    print("\nreceiver (serve's own doors, concurrency 8), alternating A B:")
    print(f"  A posts alone               {spread(alone)}")
    print(f"  B posts beside SOAP load    {spread(beside)}  ({ratio:.0%} of A)")
    print(f"    SOAP GetLeadTypes meanwhile {spread(soap_rates)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--gateway", nargs=2, metavar=("GRPC_TARGET", "PORT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.gateway:
        serve_gateway(args.gateway[0], int(args.gateway[1]))
        return
    asyncio.run(run(args.seconds, args.rounds))


if __name__ == "__main__":
    main()
