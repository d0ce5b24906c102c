"""Ping-post: auctions a second, and what an auction costs beyond waiting for its slowest
buyer, for posted leads (outbound ping-post) and for inbound pings.

Usage: .venv/bin/python bench/ping_post.py [--leads N] [--pings P] [--concurrency C]
           [--buyers B] [--min-ms 50] [--max-ms 150] [--max-sell M] [--quick]
           [--profile-serve FILE] [--processes N]

`leadrouter serve --demo` runs in its own process on a throwaway embedded PostgreSQL; a
buyer server in another process plays B ping-post buyers (10 by default): each ping is
answered with a bid after a random 50-150 ms, each post "accepted" at once. The example
campaign (max sell M, default 1) gets those buyers, each a JSON post whose ping carries the
lead id, ZIP code and age. N leads are posted to the receiver's general insert URL, C at a
time (50 by default), and each is auctioned and posted to its winners by the engine.

The buyer process times each lead on its own clock: from the first ping it receives to the
first post, less the longest delay it chose for that lead's pings. That difference is the
auction's overhead: sending the pings, reading the bids, ranking them, the transaction that
plans the winners, and rendering and sending the post (the scan before the pings is not in
it; the post's way through the receiver is not either). Printed: auctions/s (leads posted to
a winner over the time from the first post to the receiver to the last post to a buyer),
and the overhead's p50 and p99.

Then P inbound pings (1,000 by default; 0 skips them, as --leads 0 skips the posts), C at a
time, each to the receiver's ping URL with a unique Age (so the buyers can tell the pings
apart: a ping's `{{lead_id}}` is 0), each followed at once by the post with its orderid. The
buyers stamp when they wrote each ping's answer and when the post arrived, on the system's
monotonic clock (CLOCK_MONOTONIC, the same for every process of the machine), and the bench
stamps when the ping's answer arrived on the same clock. Printed: pings/s (pings answered,
with their posts, over the phase's wall time), the ping answer's overhead over its slowest
buyer's answer (the second transaction that reserves the winners, the ping's log, the
receiver's answer; p50 and p99), the time from sending the ping to the first buyer's ping
arriving (identify, screen, the first scan), and ping-to-post-delivered (from the ping's
answer, when its post is sent, to the winner receiving the post). Nothing here asserts a
time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from bench.distribution import (  # noqa: E402
    EXAMPLE,
    LEAD_TYPE,
    apply_document,
    percentile,
    post_leads,
    print_serve_profile,
    start_serve,
)
from bench.receiver import Connection  # noqa: E402

LEAD = re.compile(rb'"lead":\s*"?(\d+)')
KEY = re.compile(rb'"key":\s*"?(\d+)')
FIRST_PING_AGE = 1000  # the inbound pings' Age values: FIRST_PING_AGE + n
CONTACT = ("FirstName", "LastName", "Email", "Phone")
TARGET_OVERHEAD_P99_MS = 20.0


async def serve_buyers(min_ms: float, max_ms: float, seed: int) -> None:
    """Ping-post buyers on one loopback port (printed on stdout): `/ping/KEY` answers a bid
    after a random delay, `/buy/KEY` answers "accepted" at once, `GET /stats` answers each
    lead's [first ping, first post, longest ping delay] in seconds on this process's clock,
    and `GET /keys` each key's (an inbound ping's Age) [first ping, last ping answer written,
    first post] on the system's monotonic clock."""
    rng = random.Random(seed)
    leads: dict[int, list[float]] = {}
    keys: dict[int, list[float]] = {}

    def respond(transport: asyncio.Transport, body: bytes, key: int = 0) -> None:
        if key:
            keys[key][1] = max(keys[key][1], time.monotonic())
        if not transport.is_closing():
            transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )

    class Buyer(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            self.transport = transport
            sock = transport.get_extra_info("socket")
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while True:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = self.buffer[:end]
                found = re.search(rb"(?i)content-length:\s*(\d+)", head)
                length = int(found[1]) if found else 0
                if len(self.buffer) < end + 4 + length:
                    return
                body = self.buffer[end + 4 : end + 4 + length]
                self.buffer = self.buffer[end + 4 + length :]
                self.handle(head.split(b" ", 2)[1], body)

        def handle(self, path: bytes, body: bytes) -> None:
            now = time.perf_counter()
            if path == b"/stats":
                respond(self.transport, json.dumps(leads).encode())
                return
            if path == b"/keys":
                respond(self.transport, json.dumps(keys).encode())
                return
            lead = LEAD.search(body)
            lead_id = int(lead[1]) if lead else 0
            found = KEY.search(body)
            key = int(found[1]) if found and int(found[1]) >= FIRST_PING_AGE else 0
            if key:
                stamps = keys.setdefault(key, [0.0, 0.0, 0.0])
                if path.startswith(b"/ping/") and not stamps[0]:
                    stamps[0] = time.monotonic()
                if path.startswith(b"/buy/") and not stamps[2]:
                    stamps[2] = time.monotonic()
            record = leads.setdefault(lead_id, [0.0, 0.0, 0.0])
            if path.startswith(b"/ping/"):
                delay = rng.uniform(min_ms, max_ms) / 1000
                if not record[0]:
                    record[0] = now
                record[2] = max(record[2], delay)
                bid = b'{"bid": %.2f, "id": "r%d"}' % (rng.uniform(5, 50), lead_id)
                asyncio.get_running_loop().call_later(delay, respond, self.transport, bid, key)
                return
            if not record[1]:
                record[1] = now
            respond(self.transport, b'{"result": "accepted"}')

    loop = asyncio.get_running_loop()
    server = await loop.create_server(Buyer, "127.0.0.1", 0, backlog=1024)
    print(f"buyers listening on {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()


def start_buyers(args: argparse.Namespace) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve-buyers",
            "--min-ms",
            str(args.min_ms),
            "--max-ms",
            str(args.max_ms),
            "--seed",
            str(args.seed),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"buyers listening on (\d+)", line)
    if not found:
        raise SystemExit(f"the buyer server did not start: {line!r}")
    return process, int(found[1])


def document(port: int, buyers: int, max_sell: int) -> dict[str, Any]:
    made: dict[str, Any] = json.loads(json.dumps(EXAMPLE))
    campaign = made["sources"][0]["campaigns"][0]
    campaign["day_max"] = -1
    campaign["max_sell"] = max_sell
    campaign["auction"] = {"margin_percent": "10", "min_margin": "0.50", "floor": "1"}
    made["clients"] = [
        {
            "key": f"bidder{n}",
            "name": f"Bidder {n}",
            "deliveries": [
                {
                    "key": "post",
                    "type": "json_post",
                    "lead_type": LEAD_TYPE,
                    "address": f"http://127.0.0.1:{port}/buy/bidder{n}",
                    "template": '{"lead": "{{lead_id}}", "key": "{{Age}}", '
                    '"ref": "{{ping_reference}}"}',
                    "response_search": "accepted",
                    "timeout_seconds": 5,
                    "ping": {
                        "type": "json_post",
                        "address": f"http://127.0.0.1:{port}/ping/bidder{n}",
                        "template": '{"lead": "{{lead_id}}", "key": "{{Age}}", "zip": "{{Zip}}"}',
                        "answer": {"price": "$.bid", "reference": "$.id"},
                    },
                }
            ],
            "accounts": [{"key": "main", "delivery": "post", "price": "1"}],
        }
        for n in range(buyers)
    ]
    return made


async def stats(port: int, path: str = "/stats") -> dict[int, list[float]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET %s HTTP/1.1\r\nHost: buyers\r\n\r\n" % path.encode())
    head = await reader.readuntil(b"\r\n\r\n")
    found = re.search(rb"(?i)content-length:\s*(\d+)", head)
    body = await reader.readexactly(int(found[1]) if found else 0)
    writer.close()
    return {int(k): v for k, v in json.loads(body).items()}


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="lrping") as name:
        folder = Path(name)
        buyers, port = start_buyers(args)
        serving = start_serve(folder, args.profile_serve, args.processes)
        try:
            apply_document(serving, folder, document(port, args.buyers, args.max_sell))
            # warm up: connections, the buyer cache, the code paths
            _, _, warm = await post_leads(
                serving.receiver, serving.form, range(10**7, 10**7 + 20), 5
            )
            await settled(port, warm, time.perf_counter() + 60)
            await ping_and_post(serving.receiver, serving.form, range(10**6, 10**6 + 20), 5)
            started = time.perf_counter()
            _, outcomes, ids = await post_leads(
                serving.receiver, serving.form, range(args.leads), args.concurrency
            )
            found = await settled(port, ids, time.perf_counter() + 60 + args.leads / 10)
            posts_wall = time.perf_counter() - started
            started = time.perf_counter()
            pinged = await ping_and_post(
                serving.receiver, serving.form, range(args.pings), args.concurrency
            )
            pings_wall = time.perf_counter() - started
            keys = await keys_settled(port, pinged, time.perf_counter() + 60 + args.pings / 10)
        finally:
            serving.process.send_signal(signal.SIGTERM)
            serving.process.wait(timeout=60)
            buyers.send_signal(signal.SIGTERM)
            buyers.wait(timeout=10)
    if args.profile_serve:
        print_serve_profile(args.profile_serve)
    if args.leads:
        report_posts(args, ids, outcomes, found, posts_wall)
    if args.pings:
        report_pings(args, pinged, keys, pings_wall)


def report_posts(
    args: argparse.Namespace,
    ids: list[int],
    outcomes: dict[str, int],
    found: dict[int, list[float]],
    wall: float,
) -> None:
    done = [found[i] for i in ids if i in found and found[i][1]]
    overhead = sorted((post - ping - delay) * 1000 for ping, post, delay in done)
    auctions = [(post - ping) * 1000 for ping, post, _ in done]
    print(
        f"ping-post: {len(ids)} leads accepted ({outcomes}), {len(done)} posted to a winner, "
        f"{args.buyers} bidders answering in {args.min_ms:g}-{args.max_ms:g} ms, "
        f"{args.concurrency} posts at a time, max sell {args.max_sell}"
    )
    if not done:
        return
    # the buyer process's clock: the first post to the receiver is not on it, so the span
    # runs from the first ping of the run to its last post
    span = max(post for _, post, _ in done) - min(ping for ping, _, _ in done)
    print(f"  auctions/s:                      {len(done) / span:8.1f}")
    print(
        f"  first ping to first post (ms):   p50 {percentile(auctions, 0.5):7.1f}"
        f"   p99 {percentile(auctions, 0.99):7.1f}"
    )
    met = percentile(overhead, 0.99) < TARGET_OVERHEAD_P99_MS
    print(
        f"  overhead over the slowest bid (ms): p50 {percentile(overhead, 0.5):7.1f}"
        f"   p99 {percentile(overhead, 0.99):7.1f}"
        f"   (target p99 < {TARGET_OVERHEAD_P99_MS:g}: {'met' if met else 'NOT met'})"
    )
    print(f"  wall time from the first post to the receiver: {wall:.1f} s")


@dataclass(frozen=True)
class Pinged:
    """One inbound ping as the bench saw it, on the system's monotonic clock."""

    key: int  # its Age
    sent: float
    answered: float
    accepted: bool
    posted: str  # the post's ResponseType ("" when the ping was not accepted)


async def ping_and_post(
    address: str, form: dict[str, str], numbers: range, concurrency: int
) -> list[Pinged]:
    """Each number pinged (with Age FIRST_PING_AGE + number) and, when accepted, posted at
    once with its orderid, `concurrency` pings at a time."""
    host, port = address.rsplit(":", 1)
    found: list[Pinged] = []
    queue = iter(numbers)
    eligibility = {k: v for k, v in form.items() if k not in CONTACT}

    async def worker() -> None:
        connection = await Connection.open(host, int(port))
        try:
            for number in queue:
                key = FIRST_PING_AGE + number
                sent = time.monotonic()
                answer = await connection.post(
                    "/processor/insert/ping/json", urlencode({**eligibility, "Age": str(key)})
                )
                answered = time.monotonic()
                accepted = answer.get("WillAccept") is True
                posted = ""
                if accepted:
                    data = {
                        **form,
                        "Age": str(key),
                        "Email": f"p{number}@example.com",
                        "Phone": f"71{number:08d}",
                        "orderid": str(answer["OrderID"]),
                    }
                    outcome = await connection.post(
                        "/processor/insert/general/json", urlencode(data)
                    )
                    posted = str(outcome.get("ResponseType"))
                found.append(Pinged(key, sent, answered, accepted, posted))
        finally:
            connection.close()

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(numbers))))))
    return found


async def keys_settled(port: int, pinged: list[Pinged], deadline: float) -> dict[int, list[float]]:
    """The buyers' stamps once every accepted ping's post reached its winner (or time is up)."""
    wanted = [p.key for p in pinged if p.posted == "No_Error"]
    while True:
        found = await stats(port, "/keys")
        if all(k in found and found[k][2] for k in wanted) or time.perf_counter() > deadline:
            return found
        await asyncio.sleep(0.2)


def report_pings(
    args: argparse.Namespace, pinged: list[Pinged], keys: dict[int, list[float]], wall: float
) -> None:
    accepted = [p for p in pinged if p.accepted]
    posted: dict[str, int] = {}
    for p in accepted:
        posted[p.posted] = posted.get(p.posted, 0) + 1
    print(
        f"inbound pings: {len(pinged)} pings, {len(accepted)} accepted, their posts {posted}; "
        f"{args.buyers} bidders answering in {args.min_ms:g}-{args.max_ms:g} ms, "
        f"{args.concurrency} pings at a time, max sell {args.max_sell}"
    )
    stamped = [(p, keys[p.key]) for p in accepted if p.key in keys and keys[p.key][1]]
    if not stamped:
        return
    overhead = sorted((p.answered - s[1]) * 1000 for p, s in stamped)
    before = sorted((s[0] - p.sent) * 1000 for p, s in stamped)
    delivered = sorted((s[2] - p.answered) * 1000 for p, s in stamped if s[2])
    print(f"  pings/s (each with its post):    {len(pinged) / wall:8.1f}")
    print(
        f"  ping sent to first buyer ping (ms): p50 {percentile(before, 0.5):7.1f}"
        f"   p99 {percentile(before, 0.99):7.1f}"
    )
    met = percentile(overhead, 0.99) < TARGET_OVERHEAD_P99_MS
    print(
        f"  answer's overhead over the slowest bid (ms): p50 {percentile(overhead, 0.5):7.1f}"
        f"   p99 {percentile(overhead, 0.99):7.1f}"
        f"   (target p99 < {TARGET_OVERHEAD_P99_MS:g}: {'met' if met else 'NOT met'})"
    )
    if delivered:
        print(
            f"  ping answer to post delivered (ms): p50 {percentile(delivered, 0.5):7.1f}"
            f"   p99 {percentile(delivered, 0.99):7.1f}"
        )
    print(f"  wall time of the pings: {wall:.1f} s")


async def settled(port: int, ids: list[int], deadline: float) -> dict[int, list[float]]:
    """The buyers' records once every lead in `ids` was posted to a winner (or the time is up)."""
    while True:
        found = await stats(port)
        if all(i in found and found[i][1] for i in ids) or time.perf_counter() > deadline:
            return found
        await asyncio.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--pings", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--buyers", type=int, default=10)
    parser.add_argument("--min-ms", type=float, default=50.0)
    parser.add_argument("--max-ms", type=float, default=150.0)
    parser.add_argument("--max-sell", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="a fast smoke run (300 leads)")
    parser.add_argument("--profile-serve", metavar="FILE", help="run serve under cProfile")
    parser.add_argument("--processes", type=int, default=1, help="serve's processes")
    parser.add_argument("--serve-buyers", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_buyers:
        asyncio.run(serve_buyers(args.min_ms, args.max_ms, args.seed))
        return
    if args.quick:
        args.leads = args.pings = 300
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
