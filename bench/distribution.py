"""Distribution throughput and latency, and the cost of choosing buyers as accounts grow.

Usage: .venv/bin/python bench/distribution.py [--leads N] [--post-seconds S]
           [--concurrency C] [--buyer-delay-ms D] [--sizes 100,1000,10000]
           [--choose-leads M] [--choose-seconds B] [--scan-leads K] [--quick]
           [--skip-e2e] [--skip-choosing] [--skip-engine-scan]
           [--profile-choosing] [--profile-serve FILE]

Three parts, each printing figures (nothing here asserts a time):

1. Choosing (in this process, no servers): a market of 100, 1,000 and 10,000 delivery accounts
   with realistic criteria (states, ZIP radius, age, credit, consent, a few expressions and
   functions, schedules, mixed automations) is written as config as code, validated like an
   apply, and compiled the way the engine compiles its cache (`_view`). Then, for M random
   leads, the pure choosing work is timed: screening every account (with the `DeliveryAccountIndex`
   built over them, as the engine screens) and ordering the eligible ones (`order_candidates`,
   `plan_waterfall`), and separately the scan log: why each account was passed over
   (`Screening.reasons`) and the text the engine writes for each lead (`explain_order`,
   `scan_report`).
2. End to end: `leadrouter serve --demo` in its own process on a throwaway embedded
   PostgreSQL, a buyer server in another process answering "accepted" after D ms, the example
   campaign with max_sell 3 and three buyers (HTTP POST, no caps), so every lead is sold three
   times. N leads are posted through the HTTP receiver, C at a time (for at most S seconds,
   so a slow server still finishes in bounded time); then the run waits until
   every send is finished and reads the outcome from the database: accepted leads/s, delivered
   sends/s, lead-to-delivery latency; and, to show what saturates, the CPU each process used,
   the database transactions per lead and what the server's database sessions were doing
   (sampled from pg_stat_activity), and serve's resident memory at start, after warm-up and
   at the end. --profile-serve FILE runs serve under cProfile (CPU time)
   and prints where its CPU went, by package and by function.
3. Engine scan (against the same embedded database, in this process): the same markets are
   applied to fresh tenants and the engine's real scan (server/services/distribution/scan.py:
   screening, cap counts, buyer states, ordering, scan log text) is timed per lead.

Targets from the issue, printed beside the figures: choosing among 10,000 accounts under
5 ms per lead; with 3 buyers per lead answering in 20 ms, at least 300 leads/s delivered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import pstats
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import psutil  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from bench.receiver import Connection, mib, read_ready, serve_rss  # noqa: E402
from server.adapters import zip_codes  # noqa: E402
from server.domain.catalog.fields import FieldSpec, Value  # noqa: E402
from server.domain.config.buyers_section import read_clients  # noqa: E402
from server.domain.config.document import read_document  # noqa: E402
from server.domain.matching.criteria import EvalContext  # noqa: E402
from server.domain.matching.delivery_index import DeliveryAccountIndex, Screening  # noqa: E402
from server.domain.matching.eligibility import DeliveryAccountView, ScanEntry, scan_report  # noqa: E402
from server.domain.matching.selection import (  # noqa: E402
    explain_order,
    order_candidates,
    plan_waterfall,
)
from server.services import config_apply  # noqa: E402
from server.services.buyers.config import check_clients  # noqa: E402
from server.services.distribution.buyer_cache import _view  # noqa: E402
from server.storage.buyers import criterion_json, snapshot_entry  # noqa: E402

EXAMPLE_FILE = ROOT / "examples" / "acme.json"
EXAMPLE = json.loads(EXAMPLE_FILE.read_text())
LEAD_TYPE = "auto-insurance"
MAX_SELL = 3
ACCOUNTS_PER_BUYER = 5
TARGET_CHOOSE_MS = 5.0
TARGET_DELIVERED_LEADS = 300.0
UTC_ZONE = ZoneInfo("UTC")
UNREACHABLE = "http://127.0.0.1:9/buy"  # the choosing markets are never delivered to

# States weighted roughly by population: most leads come from a few big states.
STATE_WEIGHTS = {
    "CA": 39, "TX": 30, "FL": 22, "NY": 20, "PA": 13, "IL": 13, "OH": 12, "GA": 11, "NC": 11,
    "MI": 10, "NJ": 9, "VA": 9, "WA": 8, "AZ": 7, "MA": 7, "TN": 7, "IN": 7, "MO": 6, "MD": 6,
    "WI": 6, "CO": 6, "MN": 6, "SC": 5, "AL": 5, "LA": 5, "KY": 5, "OR": 4, "OK": 4, "CT": 4,
    "UT": 3, "NV": 3, "IA": 3, "AR": 3, "MS": 3, "KS": 3, "NM": 2, "NE": 2, "ID": 2, "WV": 2,
    "HI": 1, "NH": 1, "ME": 1, "MT": 1, "RI": 1, "DE": 1, "SD": 1, "ND": 1, "AK": 1, "VT": 1,
    "WY": 1,
}  # fmt: skip
TIME_ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Phoenix",
]
# (automation, share of buyers): most tenants sell by price; some rotate.
AUTOMATIONS = [("Price", 0.7), ("Priority", 0.1), ("RoundRobin", 0.1), ("Weighted", 0.1)]
EXPRESSIONS = [
    "Age >= 25 or CreditRating == 'Excellent'",
    "not contains(Email, 'test')",
    "len(digits(Phone)) == 10 and Age < 70",
    "CreditRating in ('Excellent', 'Good') or Age >= 40",
]
FIRST_NAMES = ["Ann", "Bob", "Cara", "Dan", "Eve", "Finn", "Gus", "Hana", "Ivan", "June"]
LAST_NAMES = ["Lee", "Smith", "Garcia", "Nguyen", "Brown", "Khan", "Silva", "Cohen", "Diaz"]
CREDIT = ["Excellent", "Good", "Good", "Fair", "Fair", "Poor"]


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def verdict(met: bool) -> str:
    return "MET" if met else "NOT MET"


# -- a realistic market of buyers ------------------------------------------------------------


class Geography:
    """ZIP codes by state from the bundled `zipcodes` data: a sample per state, so the ZIP
    lookups a steady server has cached are cached here too (warmed once up front)."""

    def __init__(self, rng: random.Random, per_state: int = 40) -> None:
        import zipcodes

        by_state: dict[str, list[dict[str, Any]]] = {}
        for item in zipcodes.list_all():  # type: ignore[no-untyped-call]
            if (
                item["zip_code_type"] == "STANDARD"
                and item["active"]
                and item["state"] in STATE_WEIGHTS
                and item.get("lat")
            ):
                by_state.setdefault(item["state"], []).append(item)
        self.zips: dict[str, list[tuple[str, str]]] = {}
        for state, items in by_state.items():
            chosen = rng.sample(items, min(per_state, len(items)))
            self.zips[state] = [(z["zip_code"], z["city"]) for z in chosen]
        self.states = list(self.zips)
        self.weights = [STATE_WEIGHTS[s] for s in self.states]
        for entries in self.zips.values():
            for zip_code, _ in entries:
                zip_codes.location(zip_code)

    def state(self, rng: random.Random) -> str:
        return rng.choices(self.states, self.weights)[0]

    def zip_in(self, rng: random.Random, state: str) -> tuple[str, str]:
        return rng.choice(self.zips[state])


def account_criteria(rng: random.Random, geo: Geography) -> list[dict[str, str]]:
    """One delivery account's criteria, as a buyer would set them up."""
    criteria: list[dict[str, str]] = []
    home = geo.state(rng)
    if rng.random() < 0.2:  # a local buyer: a radius around a ZIP
        centre, _ = geo.zip_in(rng, home)
        miles = rng.choice(["25", "50", "75", "100", "150"])
        criteria.append(
            {"field": "Zip", "operator": "Distance_Compare", "value": f"{centre},{miles}"}
        )
    else:  # a regional buyer: a few states, sometimes minus some ZIPs
        states = {home, *(geo.state(rng) for _ in range(rng.randint(0, 7)))}
        criteria.append({"field": "State", "operator": "In", "value": ",".join(sorted(states))})
        if rng.random() < 0.1:
            excluded = {geo.zip_in(rng, home)[0] for _ in range(rng.randint(3, 20))}
            criteria.append({"field": "Zip", "operator": "NotIn", "value": ",".join(excluded)})
    roll = rng.random()
    if roll < 0.7:
        criteria.append(
            {"field": "Age", "operator": "GreaterOrEqual", "value": rng.choice(["18", "21", "25"])}
        )
    elif roll < 0.9:
        criteria.append({"field": "Age", "operator": "Between", "value": "21,65"})
    if rng.random() < 0.5:
        credit = rng.choice(["Excellent,Good", "Excellent,Good,Fair", "Excellent"])
        criteria.append({"field": "CreditRating", "operator": "In", "value": credit})
    if rng.random() < 0.3:
        criteria.append({"field": "ContactConsent", "operator": "Equal", "value": "1"})
    if rng.random() < 0.1:
        criteria.append({"type": "expression", "expression": rng.choice(EXPRESSIONS)})
    if rng.random() < 0.05:
        criteria.append(
            {
                "type": "function",
                "field": "Email",
                "expression": "lower",
                "operator": "Doesnt_Contain",
                "value": "example.org",
            }
        )
    return criteria


def market_clients(
    accounts: int, rng: random.Random, geo: Geography, address: str = UNREACHABLE
) -> list[dict[str, Any]]:
    """The `clients` section of a config document with `accounts` delivery accounts, five per
    buyer: mixed automations, time zones, schedules, caps and a few inactive buyers."""
    clients: list[dict[str, Any]] = []
    for number in range((accounts + ACCOUNTS_PER_BUYER - 1) // ACCOUNTS_PER_BUYER):
        automation = rng.choices([a for a, _ in AUTOMATIONS], [w for _, w in AUTOMATIONS])[0]
        delivery: dict[str, Any] = {
            "key": "post",
            "type": "http_post",
            "lead_type": LEAD_TYPE,
            "address": address,
            "response_search": "accepted",
            "timeout_seconds": 5,
            "mappings": [
                {"field": name, "param": name.lower()}
                for name in ("FirstName", "LastName", "Email", "Phone", "Zip", "State", "Age")
            ],
        }
        if rng.random() < 0.3:  # business hours only
            delivery["days"] = [
                {"weekday": day, "start": "08:00", "end": "20:00"} for day in range(5)
            ] + [{"weekday": 5, "start": "09:00", "end": "17:00"}]
        first = number * ACCOUNTS_PER_BUYER
        buyer_accounts = []
        for index in range(first, min(first + ACCOUNTS_PER_BUYER, accounts)):
            account: dict[str, Any] = {
                "key": f"a{index}",
                "delivery": "post",
                "price": str(rng.randint(5, 60)),
                "criteria": account_criteria(rng, geo),
            }
            if rng.random() < 0.4:
                account["day_max"] = rng.randint(20, 500)
            if rng.random() < 0.05:
                account["status"] = "Disabled"
            buyer_accounts.append(account)
        clients.append(
            {
                "key": f"b{number}",
                "name": f"Buyer {number}",
                "status": "Active" if rng.random() < 0.95 else "Inactive",
                "time_zone": rng.choice(TIME_ZONES),
                "automation": automation,
                "priority": rng.randint(1, 10),
                "weight": rng.randint(1, 10),
                "deliveries": [delivery],
                "accounts": buyer_accounts,
            }
        )
    return clients


def lead_type_fields() -> list[FieldSpec]:
    document = read_document({"lead_types": EXAMPLE["lead_types"]})
    return list(document.lead_types[0].spec.fields)


def snapshot_rows(
    clients: list[dict[str, Any]], fields: Sequence[FieldSpec]
) -> list[dict[str, Any]]:
    """These buyers as rows shaped like the engine's `buyer_snapshot` query, after checking the
    document as an apply would (so the market is one the server would accept)."""
    problems: list[Any] = []
    items: list[object] = list(clients)
    entries = read_clients(items, problems)
    problems += check_clients(entries, {LEAD_TYPE: fields}, zip_codes.is_known)
    if problems:
        raise SystemExit(f"the generated market is invalid: {problems[:5]}")
    rows: list[dict[str, Any]] = []
    account_id = 0
    for client_id, entry in enumerate(entries, start=1):
        c = entry.spec
        method = entry.deliveries[0].method
        delivery_id = client_id  # one delivery method per buyer
        for account in entry.delivery_accounts:
            a = account.spec
            account_id += 1
            rows.append(
                {
                    "id": account_id,
                    "client_id": client_id,
                    "delivery_id": delivery_id,
                    "key": a.key,
                    "description": a.description,
                    "price": Decimal(a.price),
                    "hour_max": a.hour_max,
                    "day_max": a.day_max,
                    "month_max": a.month_max,
                    "use_order": a.use_order,
                    "status": int(a.status),
                    "delivery_delay_seconds": a.delivery_delay_seconds,
                    "redirect_url": a.redirect_url,
                    "automation_enabled": a.automation_enabled,
                    "account_type": int(a.account_type),
                    "agent_name": a.agent_name,
                    "agent_phone": a.agent_phone,
                    "criteria": [criterion_json(x) for x in a.criteria],
                    "client_name": c.name,
                    "client_status": int(c.status),
                    "time_zone": c.time_zone,
                    "automation": int(c.automation),
                    "secondary_automation": int(c.secondary_automation),
                    "priority": c.priority,
                    "weight": c.weight,
                    "use_delivery_tiers": c.use_delivery_tiers,
                    "delivery_type": int(method.type),
                    "delivery_enabled": method.enabled,
                    "settings": method.settings,
                    "delivery_name": method.name,
                }
            )
    return rows


def compile_views(
    rows: Sequence[Mapping[str, Any]], fields: Sequence[FieldSpec]
) -> list[DeliveryAccountView]:
    """The engine's cached views, built as BuyerCache builds them from the snapshot's rows:
    storage's record of each row (`snapshot_entry`), then the cache's `_view`."""
    by_name = {f.name.casefold(): f for f in fields}
    return [_view(snapshot_entry(row), by_name) for row in rows]


def random_lead(rng: random.Random, geo: Geography, number: int) -> dict[str, Value]:
    """A lead's typed values as the engine reads them from the database (State and City
    appended from the ZIP, as the example campaign does)."""
    state = geo.state(rng)
    zip_code, city = geo.zip_in(rng, state)
    return {
        "FirstName": rng.choice(FIRST_NAMES),
        "LastName": rng.choice(LAST_NAMES),
        "Email": f"lead{number}@example.com",
        "Phone": f"{rng.randint(200, 999)}555{number % 10000:04d}",
        "Zip": zip_code,
        "State": state,
        "City": city,
        "Age": rng.randint(18, 80),
        "CreditRating": rng.choice(CREDIT),
        "ContactConsent": rng.random() < 0.8,
    }


# -- part 1: choosing, in process ------------------------------------------------------------


@dataclass
class ChooseResult:
    size: int
    compile_ms: float
    index_ms: float
    choose: list[float]  # seconds per lead: screen + order
    log: list[float]  # seconds per lead: reasons + explain_order + scan_report
    eligible: list[int]
    log_chars: list[int]


def choose_once(
    index: DeliveryAccountIndex,
    values: Mapping[str, Value],
    states: Mapping[int, tuple[int | None, int]],
    now: datetime,
) -> tuple[Screening, list[Any], int]:
    """What the engine's `_scan` does without the database: screen (with the account index, as
    the engine does), order, plan."""
    context = EvalContext(now, UTC_ZONE, zip_codes.distance_miles, zip_codes.location)
    folded = {name.casefold(): value for name, value in values.items()}
    screening = index.screen(folded, context)
    passing = screening.passing
    candidates = [v.candidate(*states.get(v.client_id, (None, 0))) for v in passing]
    total = sum(states.get(c, (None, 0))[1] for c in {v.client_id for v in passing})
    ordered = plan_waterfall(order_candidates(candidates, total), MAX_SELL, ())
    return screening, ordered, total


def scan_text(
    number: int,
    now: datetime,
    screening: Screening,
    ordered: Sequence[Any],
    names: Mapping[int, str],
    total: int,
) -> str:
    """The scan log text, as the engine's `_scan` builds it (no caps or earlier sales here)."""
    ranked = explain_order(ordered, names, total)
    rank_of = {c.account_id: i for i, c in enumerate(ordered, start=1)}
    views = screening.views
    ranks = [rank_of.get(v.id, 0) for v in views]
    reasons = [
        reason or (ranked[rank - 1] if rank else "the lead's max sell count is reached")
        for reason, rank in zip(screening.reasons(), ranks, strict=True)
    ]
    entries = list(map(ScanEntry, views, ranks, reasons))
    return scan_report(number, now, MAX_SELL, entries)


def bench_choosing(
    sizes: Sequence[int], leads: int, seed: int, profile: bool, budget: float, freeze: bool
) -> list[ChooseResult]:
    rng = random.Random(seed)
    geo = Geography(rng)
    fields = lead_type_fields()
    results: list[ChooseResult] = []
    profiler = cProfile.Profile() if profile else None
    for size in sizes:
        rows = snapshot_rows(market_clients(size, rng, geo), fields)
        gc.collect()
        started = time.perf_counter()
        views = compile_views(rows, fields)
        compiled = time.perf_counter()
        index = DeliveryAccountIndex(views)
        indexed = time.perf_counter()
        client_ids = {v.client_id for v in views}
        states = {
            c: (None if rng.random() < 0.2 else rng.randint(1, 10**6), rng.randint(0, 300))
            for c in client_ids
        }
        names = {v.client_id: v.client_name for v in views}
        result = ChooseResult(
            size, (compiled - started) * 1000, (indexed - compiled) * 1000, [], [], [], []
        )
        lead_values = [random_lead(rng, geo, n) for n in range(leads + 10)]
        for number, values in enumerate(lead_values[:10]):  # warm the code paths
            now = datetime.now(UTC)
            screening, ordered, total = choose_once(index, values, states, now)
            scan_text(number, now, screening, ordered, names, total)
        gc.collect()  # start each size without the previous one's garbage
        if freeze:  # what the engine may do once its cache is built: a collection skips it
            gc.freeze()
        deadline = time.perf_counter() + budget
        for number, values in enumerate(lead_values[10:]):
            if number >= 30 and time.perf_counter() > deadline:
                break  # enough for this size within the time budget
            now = datetime.now(UTC)
            if profiler is not None and size == max(sizes):
                profiler.enable()
            started = time.perf_counter()
            screening, ordered, total = choose_once(index, values, states, now)
            chosen = time.perf_counter()
            report = scan_text(number, now, screening, ordered, names, total)
            logged = time.perf_counter()
            if profiler is not None:
                profiler.disable()
            result.choose.append(chosen - started)
            result.log.append(logged - chosen)
            result.eligible.append(len(screening.passing))
            result.log_chars.append(len(report))
        results.append(result)
        if freeze:
            gc.unfreeze()
    if profiler is not None:
        print(f"\ncProfile of choosing among {max(sizes)} accounts (screen + order + scan log):")
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(18)
    return results


def print_choosing(results: Sequence[ChooseResult], leads: int, frozen: bool) -> None:
    print(
        f"\nChoosing buyers, in process (up to {leads} random leads per size, max sell "
        f"{MAX_SELL}): compile = building the engine's views (`_view`) of every account; "
        f"index = building the account index over them; choose = screen every account with "
        f"the index + order the eligible ones; scan log = why each account was passed over "
        f"and the text the engine writes per lead; garbage collector "
        f"{'frozen after indexing (--gc-freeze)' if frozen else 'as is'}"
    )
    print(
        f"{'accounts':>9} {'leads':>6} {'compile':>9} {'index':>7} {'eligible':>9} "
        f"{'choose mean':>12} {'p50':>8} {'p99':>8} {'+scan log mean':>15} {'p99':>8} "
        f"{'log KB':>7}"
    )
    for r in results:
        print(
            f"{r.size:>9} {len(r.choose):>6} {r.compile_ms:>7.0f}ms {r.index_ms:>5.0f}ms "
            f"{statistics.mean(r.eligible):>9.0f} {statistics.mean(r.choose) * 1000:>10.2f}ms "
            f"{percentile(r.choose, 0.5) * 1000:>6.2f}ms "
            f"{percentile(r.choose, 0.99) * 1000:>6.2f}ms "
            f"{statistics.mean(r.log) * 1000:>13.2f}ms {percentile(r.log, 0.99) * 1000:>6.2f}ms "
            f"{statistics.mean(r.log_chars) / 1024:>7.0f}"
        )
    biggest = max(results, key=lambda r: r.size)
    if biggest.size >= 10_000:
        p50 = percentile(biggest.choose, 0.5) * 1000
        print(
            f"target: choosing among {biggest.size} accounts under {TARGET_CHOOSE_MS:g} ms per "
            f"lead: p50 {p50:.2f} ms, mean {statistics.mean(biggest.choose) * 1000:.2f} ms: "
            f"{verdict(statistics.mean(biggest.choose) * 1000 < TARGET_CHOOSE_MS)}"
        )


# -- part 2: end to end ----------------------------------------------------------------------


BUYER_ANSWER = b"accepted"


async def serve_buyers(delay_ms: float) -> None:
    """The buyers' endpoints: a bare HTTP/1.1 keep-alive responder answering `accepted` after
    the delay, on a free loopback port printed on stdout (so it never is the bottleneck)."""
    delay = delay_ms / 1000
    served = 0

    class Buyer(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            self.transport = transport
            transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while True:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = self.buffer[:end].lower()
                found = re.search(rb"content-length:\s*(\d+)", head)
                length = int(found[1]) if found else 0
                if len(self.buffer) < end + 4 + length:
                    return
                self.buffer = self.buffer[end + 4 + length :]
                asyncio.get_running_loop().call_later(delay, self.answer)

        def answer(self) -> None:
            nonlocal served
            served += 1
            if not self.transport.is_closing():
                self.transport.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(BUYER_ANSWER), BUYER_ANSWER)
                )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(Buyer, "127.0.0.1", 0, backlog=1024)
    print(f"buyers listening on {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()
    print(f"buyers answered {served}", flush=True)


def start_buyers(delay_ms: float) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve-buyers", "--buyer-delay-ms", str(delay_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"buyers listening on (\d+)", line)
    if not found:
        raise SystemExit(f"the buyer server did not start: {line!r}")
    return process, int(found[1])


@dataclass
class Serving:
    process: subprocess.Popen[str]
    receiver: str
    grpc: str
    key: str
    form: dict[str, str]


SERVE_PROFILED = """
import cProfile, sys, time
from clients.cli import main
profiler = cProfile.Profile(time.process_time)
profiler.enable()
try:
    main(sys.argv[2:])
finally:
    profiler.disable()
    profiler.dump_stats(sys.argv[1])
"""


def start_serve(folder: Path, profile: str | None, processes: int = 1) -> Serving:
    """`leadrouter serve --demo` in its own process (or `processes` of them sharing the
    ports); with `profile`, under cProfile timed by CPU time (so time spent descheduled or
    waiting is not counted), saved there on exit."""
    # the bench's own buyers only: no demo buyer
    arguments = ["serve", "--demo", "--no-demo-buyer", "--data-dir", str(folder)]
    arguments += ["--processes", str(processes)]
    arguments += ["--grpc", "127.0.0.1:0", "--receiver", "127.0.0.1:0", "--soap", "127.0.0.1:0"]
    if profile:
        command = [sys.executable, "-c", SERVE_PROFILED, profile, *arguments]
    else:
        command = [sys.executable, "-m", "clients.cli", *arguments]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
    )
    assert process.stdout is not None
    grpc_address, key, address, form = read_ready(process.stdout)
    # keep draining its output so a chatty log never blocks it
    threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
    return Serving(process, address, grpc_address, key, form)


def apply_document(serving: Serving, folder: Path, document: dict[str, Any]) -> None:
    path = folder / "bench.json"
    path.write_text(json.dumps(document))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "clients.cli",
            "apply",
            str(path),
            "--grpc",
            serving.grpc,
            "--key",
            serving.key,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode:
        raise SystemExit(f"apply failed: {done.stdout}{done.stderr}")


def e2e_document(buyer_port: int) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(json.dumps(EXAMPLE))
    campaign = document["sources"][0]["campaigns"][0]
    campaign["day_max"] = -1
    campaign["max_sell"] = MAX_SELL
    document["clients"] = [
        {
            "key": key,
            "name": f"Buyer {key}",
            "automation": "Price",
            "deliveries": [
                {
                    "key": "post",
                    "type": "http_post",
                    "lead_type": LEAD_TYPE,
                    "address": f"http://127.0.0.1:{buyer_port}/buy/{key}",
                    "response_search": "accepted",
                    "timeout_seconds": 10,
                    "mappings": [
                        {"field": name, "param": name.lower()}
                        for name in ("FirstName", "LastName", "Email", "Phone", "Zip", "State")
                    ],
                }
            ],
            "accounts": [
                {
                    "key": "main",
                    "delivery": "post",
                    "price": price,
                    "criteria": [
                        {"field": "State", "operator": "In", "value": "NV,CA,AZ,UT"},
                        {"field": "Age", "operator": "GreaterOrEqual", "value": "18"},
                    ],
                }
            ],
        }
        for key, price in (("alpha", "30"), ("beta", "20"), ("gamma", "10"))
    ]
    return document


class CpuMeter:
    """CPU seconds used by the serve process, PostgreSQL, the buyers and this process."""

    def __init__(self, groups: Mapping[str, Callable[[], list[Any]]]) -> None:
        self._groups = groups
        self._start: dict[str, float] = {}
        self._wall = 0.0

    @staticmethod
    def _cpu(processes: list[Any]) -> float:
        total = 0.0
        for p in processes:
            try:
                if isinstance(p, Machine):
                    t = psutil.cpu_times()
                    if p.steal_only:
                        total += getattr(t, "steal", 0.0)
                    else:
                        total += sum(t) - t.idle - getattr(t, "iowait", 0.0)
                    continue
                if isinstance(p, MainThread):
                    thread = next(t for t in p.process.threads() if t.id == p.process.pid)
                    total += thread.user_time + thread.system_time
                    continue
                t = p.cpu_times()
                total += t.user + t.system
            except Exception:  # a backend that exited
                pass
        return total

    def start(self) -> None:
        self._start = {name: self._cpu(get()) for name, get in self._groups.items()}
        self._wall = time.perf_counter()

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self._wall
        return {
            name: (self._cpu(get()) - self._start[name]) / wall
            for name, get in self._groups.items()
        }


@dataclass(frozen=True)
class Machine:
    """The whole machine's busy CPU time (or the time its hypervisor took: steal)."""

    steal_only: bool = False


@dataclass(frozen=True)
class MainThread:
    """A process's main thread alone: the one that runs its Python event loop."""

    process: Any


def postgres_processes(pg: Path) -> list[Any]:
    pid = int((pg / "postmaster.pid").read_text().split()[0])
    main = psutil.Process(pid)
    return [main, *main.children(recursive=True)]


@dataclass
class EndToEnd:
    requested: int
    leads: int
    accepted: int
    outcomes: dict[str, int]
    post_seconds: float
    drain_seconds: float
    post_latency: list[float]
    sold: int
    other_sends: int
    delivered_window: float
    send_latency: list[float]
    lead_latency: list[float]
    to_reserve: list[float]
    buyer_ms: list[float]
    cpu_posting: dict[str, float]
    cpu_total: dict[str, float]
    transactions: int
    sessions: str
    rss: tuple[int, int, int]  # serve's, in bytes: at start, after warm-up, at the end


async def post_leads(
    address: str,
    form: dict[str, str],
    numbers: range,
    concurrency: int,
    seconds: float = float("inf"),
) -> tuple[list[float], dict[str, int], list[int]]:
    """Posts these leads, `concurrency` at a time, until done or `seconds` have passed."""
    host, port = address.rsplit(":", 1)
    path = "/processor/insert/general/json"
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    ids: list[int] = []
    queue = iter(numbers)
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        connection = await Connection.open(host, int(port))
        try:
            for number in queue:
                if time.perf_counter() > deadline:
                    return
                data = {**form, "Email": f"d{number}@example.com", "Phone": f"70{number:08d}"}
                started = time.perf_counter()
                answer = await connection.post(path, urlencode(data))
                latencies.append(time.perf_counter() - started)
                kind = str(answer.get("ResponseType"))
                outcomes[kind] = outcomes.get(kind, 0) + 1
                if kind == "No_Error":
                    ids.append(int(answer["LeadIdentifier"]))
        finally:
            connection.close()

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(numbers))))))
    return latencies, outcomes, ids


async def transactions(conn: Any) -> int:
    """Transactions the database has finished so far (statistics lag by up to a second)."""
    await asyncio.sleep(1.0)
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    cursor = await conn.execute(
        "SELECT xact_commit + xact_rollback FROM pg_stat_database "
        "WHERE datname = current_database()"
    )
    row = await cursor.fetchone()
    await conn.commit()
    return int(row[0])


class ActivitySampler:
    """Samples what the server's database sessions are doing, twice a second: running a
    query, waiting for a lock, idle inside a transaction (the server is busy elsewhere), idle."""

    def __init__(self, url: str) -> None:
        self._url = url
        self.samples: dict[str, int] = {}
        self.count = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        import psycopg

        async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as conn:
            while True:
                cursor = await conn.execute(
                    "SELECT state, wait_event_type, wait_event, query FROM pg_stat_activity "
                    "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() "
                    "AND application_name NOT LIKE 'bench%%'"
                )
                for state, wait_type, wait_event, query in await cursor.fetchall():
                    if state == "active" and wait_type == "Lock":
                        statement = " ".join(query.split())[:48]
                        kind = f"waiting for a lock in `{statement}`"
                    elif state == "active" and wait_type in (None, "CPU"):
                        kind = "running a query"
                    elif state == "active":
                        kind = f"active, waiting on {wait_type}/{wait_event}"
                    else:
                        kind = str(state)
                    self.samples[kind] = self.samples.get(kind, 0) + 1
                self.count += 1
                await asyncio.sleep(0.5)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def summary(self) -> str:
        if not self.count:
            return "no samples"
        parts = sorted(self.samples.items(), key=lambda item: -item[1])
        return ", ".join(f"{kind} {n / self.count:.1f}" for kind, n in parts)


async def wait_settled(conn: Any, lead_ids: list[int], deadline: float) -> None:
    """Until every job of these leads is done and no send is scheduled or in flight."""
    while True:
        cursor = await conn.execute(
            "SELECT (SELECT count(*) FROM distribution_jobs WHERE lead_id = ANY(%(ids)s) "
            "        AND state <> 'done') AS open_jobs,"
            "       (SELECT count(*) FROM sends WHERE lead_id = ANY(%(ids)s)"
            "        AND status IN (1, 2)) AS open_sends",
            {"ids": lead_ids},
        )
        row = await cursor.fetchone()
        await conn.commit()
        if row[0] == 0 and row[1] == 0:
            return
        if time.perf_counter() > deadline:
            print(f"  (gave up waiting: {row[0]} jobs and {row[1]} sends still open)")
            return
        await asyncio.sleep(0.2)


async def run_e2e(
    folder: Path,
    serving: Serving,
    pg_url: str,
    leads: int,
    concurrency: int,
    post_seconds: float,
) -> EndToEnd:
    import psycopg

    conn = await psycopg.AsyncConnection.connect(pg_url, application_name="bench")
    serve_process = psutil.Process(serving.process.pid)
    rss_start = serve_rss(serve_processes(serve_process))
    # warm up: connections to the buyers, the buyer cache, the code paths
    _, _, warm_ids = await post_leads(serving.receiver, serving.form, range(10**7, 10**7 + 30), 8)
    await wait_settled(conn, warm_ids, time.perf_counter() + 60)
    rss_warm = serve_rss(serve_processes(serve_process))
    meter = CpuMeter(
        {
            "serve": lambda: serve_processes(serve_process),
            "of which its event loop thread": lambda: [
                MainThread(p) for p in serve_processes(serve_process)
            ],
            "postgres": lambda: postgres_processes(folder / "pg"),
            "buyers": lambda: [psutil.Process(p) for p in BUYER_PIDS],
            "load (this)": lambda: [psutil.Process()],
            "whole machine": lambda: [Machine()],
            "of which steal": lambda: [Machine(steal_only=True)],
        }
    )
    total_meter = CpuMeter(meter._groups)
    transactions_before = await transactions(conn)
    sampler = ActivitySampler(pg_url)
    meter.start()
    total_meter.start()
    sampler.start()
    started = time.perf_counter()
    latencies, outcomes, ids = await post_leads(
        serving.receiver, serving.form, range(leads), concurrency, post_seconds
    )
    posted = time.perf_counter()
    cpu_posting = meter.stop()
    await wait_settled(conn, ids, posted + 120 + leads / 20)
    drained = time.perf_counter()
    cpu_total = total_meter.stop()
    rss_end = serve_rss(serve_processes(serve_process))
    await sampler.stop()
    transactions_made = await transactions(conn) - transactions_before
    cursor = await conn.execute(
        "SELECT s.status, l.id AS lead_id,"
        "       extract(epoch FROM s.sent_at - l.received_at) AS latency,"
        "       extract(epoch FROM s.created_at - l.received_at) AS to_reserve,"
        "       s.elapsed_ms, extract(epoch FROM s.sent_at) AS sent,"
        "       extract(epoch FROM l.received_at) AS received "
        "FROM sends s JOIN leads l ON l.account_id = s.account_id AND l.id = s.lead_id "
        "WHERE s.lead_id = ANY(%(ids)s)",
        {"ids": ids},
    )
    rows = await cursor.fetchall()
    await conn.close()
    sold = [r for r in rows if r[0] == 3]
    by_lead: dict[int, list[float]] = {}
    for r in sold:
        by_lead.setdefault(r[1], []).append(float(r[2]))
    full = [max(v) for v in by_lead.values() if len(v) >= MAX_SELL]
    window = (
        max(float(r[5]) for r in sold) - min(float(r[6]) for r in sold) if sold else float("nan")
    )
    return EndToEnd(
        requested=leads,
        leads=len(latencies),
        accepted=len(ids),
        outcomes=outcomes,
        post_seconds=posted - started,
        drain_seconds=drained - posted,
        post_latency=latencies,
        sold=len(sold),
        other_sends=len(rows) - len(sold),
        delivered_window=window,
        send_latency=[float(r[2]) for r in sold],
        lead_latency=full,
        to_reserve=[float(r[3]) for r in sold],
        buyer_ms=[float(r[4]) for r in sold],
        cpu_posting=cpu_posting,
        cpu_total=cpu_total,
        transactions=transactions_made,
        sessions=sampler.summary(),
        rss=(rss_start, rss_warm, rss_end),
    )


BUYER_PIDS: list[int] = []


def serve_processes(serve: Any) -> list[Any]:
    """The serve process and its workers (`--processes`)."""
    workers = [
        child
        for child in serve.children(recursive=True)
        if "--worker" in child.cmdline() and "clients.cli" in child.cmdline()
    ]
    return [serve, *workers]


def print_e2e(r: EndToEnd, concurrency: int, delay_ms: float) -> None:
    ms = 1000
    print(
        f"\nEnd to end: {r.leads} leads through the HTTP receiver, {concurrency} at a time; "
        f"{MAX_SELL} buyers answering in {delay_ms:g} ms"
    )
    if r.leads < r.requested:
        print(f"(posting stopped after {r.post_seconds:.0f} s, --post-seconds, of {r.requested})")
    print(f"outcomes:                 {r.outcomes}")
    print(
        f"accepted:                 {r.accepted / r.post_seconds:.0f} leads/s "
        f"(post p50 {percentile(r.post_latency, 0.5) * ms:.0f} ms, "
        f"p99 {percentile(r.post_latency, 0.99) * ms:.0f} ms)"
    )
    print(
        f"sends sold / other:       {r.sold} / {r.other_sends} "
        f"(all done {r.drain_seconds:.1f} s after the last post)"
    )
    print(
        f"delivered:                {r.sold / r.delivered_window:.0f} sends/s, "
        f"{r.sold / MAX_SELL / r.delivered_window:.0f} leads/s "
        f"(first lead received to last send finished: {r.delivered_window:.1f} s)"
    )
    print(
        f"lead to delivery, a send: p50 {percentile(r.send_latency, 0.5) * ms:.0f} ms, "
        f"p99 {percentile(r.send_latency, 0.99) * ms:.0f} ms"
    )
    print(
        f"lead to all {MAX_SELL} delivered: p50 {percentile(r.lead_latency, 0.5) * ms:.0f} ms, "
        f"p99 {percentile(r.lead_latency, 0.99) * ms:.0f} ms"
    )
    print(
        f"  of which lead to send reserved (0 when in the transaction accepting the lead): "
        f"p50 {percentile(r.to_reserve, 0.5) * ms:.0f} ms, "
        f"p99 {percentile(r.to_reserve, 0.99) * ms:.0f} ms; buyer round trip seen by the engine: "
        f"p50 {percentile(r.buyer_ms, 0.5):.0f} ms, p99 {percentile(r.buyer_ms, 0.99):.0f} ms"
    )
    print(
        f"database transactions:    {r.transactions / r.accepted:.1f} per lead "
        f"({r.transactions / (r.post_seconds + r.drain_seconds):.0f}/s over the run)"
    )
    print(f"server's database sessions, on average over the run: {r.sessions}")
    print(
        f"serve RSS:                {mib(r.rss[0])} at start, {mib(r.rss[1])} after warm-up, "
        f"{mib(r.rss[2])} at the end"
    )
    for title, cpu in (("while posting", r.cpu_posting), ("posting + drain", r.cpu_total)):
        shares = ", ".join(f"{name} {value:.2f}" for name, value in cpu.items())
        print(f"CPU cores used {title}: {shares} (this machine has {_cores()})")
    run_seconds = r.post_seconds + r.drain_seconds
    per_lead = ", ".join(
        f"{name} {r.cpu_total[name] * run_seconds / r.accepted * ms:.2f} ms"
        for name in ("serve", "postgres")
        if name in r.cpu_total
    )
    print(f"CPU per lead (posting + drain; steadier than the rates above): {per_lead}")
    delivered_leads = r.sold / MAX_SELL / r.delivered_window
    print(
        f"target: at least {TARGET_DELIVERED_LEADS:g} leads/s delivered end to end "
        f"({MAX_SELL} buyers, {delay_ms:g} ms): {delivered_leads:.0f} leads/s: "
        f"{verdict(delivered_leads >= TARGET_DELIVERED_LEADS)}"
    )


def _cores() -> int:
    import os

    return os.cpu_count() or 1


# -- part 3: the engine's real scan against the database --------------------------------------


@dataclass
class ScanResult:
    size: int
    apply_seconds: float
    cold_query_ms: float  # the snapshot query right after the apply, tables not analyzed
    query_ms: float  # the same once analyzed
    load_ms: float  # the engine's cache load: the query and compiling every account
    scan: list[float]
    log_write: list[float]


async def bench_engine_scan(
    pg_url: str, sizes: Sequence[int], leads: int, seed: int
) -> list[ScanResult]:
    from psycopg.types.json import Jsonb  # noqa: F401  (the engine's own import path)

    from server.services.accounts import Accounts
    from server.services.config_apply import ConfigApply
    from server.services.distribution.buyer_cache import BuyerCache
    from server.services.distribution.scan import scan as engine_scan
    from server.services.distribution.views import utcnow
    from server.storage.database import open_pool, transaction
    from server.storage.queries import q

    rng = random.Random(seed + 1)
    geo = Geography(rng)
    results: list[ScanResult] = []
    pool = await open_pool(pg_url, 4)
    try:
        for size in sizes:
            tenant = await Accounts(pool).create_account(f"bench choosing {size}")
            document = {
                "lead_types": EXAMPLE["lead_types"],
                "clients": market_clients(size, rng, geo),
            }
            started = time.perf_counter()
            applied = await ConfigApply(pool).apply(tenant.account_id, document)
            apply_seconds = time.perf_counter() - started
            lead_type_id = applied.lead_types[LEAD_TYPE]
            queries = []
            for analyze in (False, True):
                async with transaction(pool) as conn:
                    if analyze:  # what autovacuum does on its own, up to a minute later
                        await conn.execute("ANALYZE delivery_accounts, clients, deliveries")
                    started = time.perf_counter()
                    cursor = await conn.execute(
                        q("buyer_snapshot"),
                        {"account_id": tenant.account_id, "lead_type_id": lead_type_id},
                    )
                    await cursor.fetchall()
                    queries.append((time.perf_counter() - started) * 1000)
            cache = BuyerCache()
            gc.collect()
            started = time.perf_counter()
            async with transaction(pool) as conn:
                await cache.snapshot(conn, tenant.account_id, lead_type_id)
            load_ms = (time.perf_counter() - started) * 1000
            result = ScanResult(size, apply_seconds, queries[0], queries[1], load_ms, [], [])
            async with transaction(pool) as conn:
                await conn.execute("CREATE TEMP TABLE bench_log (log text) ON COMMIT DROP")
                for number in range(leads + 5):
                    values = random_lead(rng, geo, number)
                    started = time.perf_counter()
                    snapshot = await cache.snapshot(conn, tenant.account_id, lead_type_id)
                    scan = await engine_scan(
                        conn, tenant.account_id, 0, snapshot, values, MAX_SELL, utcnow()
                    )
                    scanned = time.perf_counter()
                    await conn.execute("INSERT INTO bench_log VALUES (%s)", (scan.report,))
                    written = time.perf_counter()
                    if number >= 5:
                        result.scan.append(scanned - started)
                        result.log_write.append(written - scanned)
            results.append(result)
    finally:
        await pool.close()
    return results


def print_engine_scan(results: Sequence[ScanResult], leads: int) -> None:
    print(
        f"\nEngine scan against the embedded database (distribution.scan.scan, {leads} leads per "
        f"size; the step's scan log write timed apart). Snapshot query: the cache's query "
        f"right after the apply (cold: analyzed by the apply itself from "
        f"{config_apply.ANALYZE_AFTER} buyer rows, else not yet) and once analyzed; cache load: "
        f"that query and compiling every account, as after any buyer change."
    )
    print(
        f"{'accounts':>9} {'apply':>7} {'snapshot query: cold':>21} {'analyzed':>9} "
        f"{'cache load':>11} {'scan mean':>10} {'p50':>8} {'p99':>8} {'log write':>10}"
    )
    for r in results:
        print(
            f"{r.size:>9} {r.apply_seconds:>6.1f}s {r.cold_query_ms:>19.0f}ms "
            f"{r.query_ms:>7.0f}ms {r.load_ms:>9.0f}ms "
            f"{statistics.mean(r.scan) * 1000:>8.2f}ms {percentile(r.scan, 0.5) * 1000:>6.2f}ms "
            f"{percentile(r.scan, 0.99) * 1000:>6.2f}ms "
            f"{statistics.mean(r.log_write) * 1000:>8.2f}ms"
        )


# -- main --------------------------------------------------------------------------------------


def postgres_handle(folder: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import pgserver

        return pgserver.get_server(folder.resolve() / "pg", cleanup_mode="stop")


async def run(args: argparse.Namespace) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    if not args.skip_choosing:
        results = bench_choosing(
            sizes,
            args.choose_leads,
            args.seed,
            args.profile_choosing,
            args.choose_seconds,
            args.gc_freeze,
        )
        print_choosing(results, args.choose_leads, args.gc_freeze)
    if args.skip_e2e and args.skip_engine_scan:
        return
    with tempfile.TemporaryDirectory(prefix="lrdist") as name:
        folder = Path(name)
        buyers, port = start_buyers(args.buyer_delay_ms)
        BUYER_PIDS.append(buyers.pid)
        try:
            serving = start_serve(folder, args.profile_serve, args.processes)
        except BaseException:
            buyers.send_signal(signal.SIGTERM)
            raise
        postgres = None
        try:
            apply_document(serving, folder, e2e_document(port))
            postgres = postgres_handle(folder)
            pg_url = postgres.get_uri()
            if not args.skip_e2e:
                result = await run_e2e(
                    folder, serving, pg_url, args.leads, args.concurrency, args.post_seconds
                )
                print_e2e(result, args.concurrency, args.buyer_delay_ms)
            if not args.skip_engine_scan:
                scans = await bench_engine_scan(pg_url, sizes, args.scan_leads, args.seed)
                print_engine_scan(scans, args.scan_leads)
        finally:
            serving.process.send_signal(signal.SIGTERM)
            serving.process.wait(timeout=60)
            buyers.send_signal(signal.SIGTERM)
            buyers.wait(timeout=10)
            if postgres is not None:
                postgres.cleanup()  # stops PostgreSQL: serve has already let go of it
    if args.profile_serve:
        print_serve_profile(args.profile_serve)


PACKAGES = [
    ("psycopg_pool", "psycopg pool"),
    ("psycopg", "psycopg (database driver)"),
    ("asyncio", "asyncio event loop"),
    ("selectors", "asyncio event loop"),
    ("grpc", "grpc (receiver -> gRPC hop and the gRPC server)"),
    ("google/protobuf", "grpc (receiver -> gRPC hop and the gRPC server)"),
    ("uvicorn", "HTTP receiver (uvicorn, h11, starlette)"),
    ("h11", "HTTP receiver (uvicorn, h11, starlette)"),
    ("starlette", "HTTP receiver (uvicorn, h11, starlette)"),
    ("httpx", "buyer HTTP client (httpx, httpcore, anyio)"),
    ("httpcore", "buyer HTTP client (httpx, httpcore, anyio)"),
    ("anyio", "buyer HTTP client (httpx, httpcore, anyio)"),
    ("/server/domain/", "leadrouter domain"),
    ("/server/services/", "leadrouter services"),
    ("/server/storage/", "leadrouter storage"),
    ("/server/rpc/", "leadrouter gRPC services"),
    ("/gateways/", "leadrouter receiver gateway"),
]


def print_serve_profile(path: str) -> None:
    """The serve process's CPU by package, then its hottest functions."""
    stats = pstats.Stats(path)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    by_package: dict[str, float] = {}
    total = 0.0
    for (filename, _, _), (_, _, tottime, _, _) in raw.items():
        name = next((label for part, label in PACKAGES if part in filename), "other")
        if filename == "~":
            name = "built-ins (C calls: sockets, epoll, json...)"
        by_package[name] = by_package.get(name, 0.0) + tottime
        total += tottime
    print(f"\ncProfile of the serve process by CPU time ({path}), {total:.1f} s in all:")
    for name, seconds in sorted(by_package.items(), key=lambda item: -item[1]):
        print(f"  {seconds / total:>6.1%}  {name}")
    stats.sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=3000, help="leads posted end to end")
    parser.add_argument(
        "--post-seconds",
        type=float,
        default=45.0,
        help="stop posting after this long, even before --leads are posted (default 45)",
    )
    parser.add_argument("--concurrency", type=int, default=32, help="connections posting")
    parser.add_argument(
        "--processes", type=int, default=1, help="serve processes sharing the ports"
    )
    parser.add_argument("--buyer-delay-ms", type=float, default=20.0)
    parser.add_argument("--sizes", default="100,1000,10000", help="delivery accounts")
    parser.add_argument("--choose-leads", type=int, default=300, help="leads per size, in process")
    parser.add_argument(
        "--choose-seconds",
        type=float,
        default=15.0,
        help="time budget per size for the in-process choosing (at least 30 leads are timed)",
    )
    parser.add_argument("--scan-leads", type=int, default=50, help="leads per size, engine scan")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--skip-choosing", action="store_true")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--skip-engine-scan", action="store_true")
    parser.add_argument("--profile-choosing", action="store_true", help="cProfile the largest size")
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="choosing: gc.freeze() once the accounts are compiled and indexed, so the garbage "
        "collector's full collections skip them",
    )
    parser.add_argument("--profile-serve", metavar="FILE", help="run serve under cProfile")
    parser.add_argument("--serve-buyers", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_buyers:
        asyncio.run(serve_buyers(args.buyer_delay_ms))
        return
    if args.quick:
        args.leads, args.post_seconds = 300, 15.0
        args.choose_leads, args.choose_seconds, args.scan_leads = 30, 3.0, 5
        args.sizes = "100,1000"
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
