"""Profit-and-loss reports over a month of one million leads, and what keeping their aggregates
costs each accepted lead.

Usage: .venv/bin/python bench/reports.py [--leads N] [--days D] [--runs R]
           [--ab-leads M] [--ab-rounds K] [--concurrency C]
           [--trigger-leads T] [--trigger-group G] [--trigger-rounds U] [--quick]

Three parts, each printing figures (nothing here asserts a time), against `leadrouter serve
--demo` in its own process on a throwaway embedded PostgreSQL, with bench/distribution.py's
buyers (a process answering "accepted") and market (one campaign, max sell 3, three buyers):

1. The triggers' cost in PostgreSQL alone, A B B A: T leads stored and three sends of each
   written in flight and sold by the statements the house sends (finished G leads at a time,
   as the OutcomeWriter groups outcomes), with the report triggers on and off, U trials of
   each; the backend's CPU seconds per lead (steadier than end-to-end figures: no client, no
   HTTP, no buyers).
2. The cost per accepted lead end to end, A B A B: M leads posted through the HTTP receiver
   and sold three times each, first with the aggregates kept (the report triggers of
   migrations 0034 and 0038 enabled), then without (the same triggers disabled with ALTER
   TABLE, which only this bench does), K rounds of each, alternating so drift on a shared
   machine falls on both sides.
   Per run: accepted leads/s, the CPU seconds serve and PostgreSQL spent per accepted lead,
   the median post latency, and the WAL bytes written per lead.
3. Reports: N synthetic leads spread over D days (20 buyers, 5 campaigns; one to three sends
   each, a quarter of them rejected; one sale in 50 returned; refused posts), written in bulk
   with generate_series straight into leads, sends and posts (triggers off, so no delta is
   written), then RebuildReports over the month through gRPC (timed once), then R timed
   GetProfitAndLoss calls by day and R by buyer over the whole month: median and spread.

Targets from the issue, printed beside the figures: a one-month report under 1 s; the
aggregates adding under 5% per accepted lead.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from leadrouter.v1 import reports_pb2  # noqa: E402

from bench.distribution import (  # noqa: E402
    BUYER_PIDS,
    CpuMeter,
    apply_document,
    e2e_document,
    post_leads,
    postgres_handle,
    postgres_processes,
    serve_processes,
    start_buyers,
    start_serve,
    verdict,
    wait_settled,
)
from clients.client import reports  # noqa: E402

TRIGGERS = {
    "leads": ("report_lead_inserted", "report_lead_updated"),
    "sends": ("report_send_inserted", "report_send_deleted", "report_send_updated"),
    "posts": ("report_post_inserted", "report_post_deleted", "report_post_updated"),
}


async def set_aggregates(conn: Any, on: bool) -> None:
    """Turn the report triggers on or off (the bench's switch: nothing else turns them off)."""
    verb = "ENABLE" if on else "DISABLE"
    for table, names in TRIGGERS.items():
        for name in names:
            await conn.execute(f"ALTER TABLE {table} {verb} TRIGGER {name}")
    await conn.commit()


async def wal_position(conn: Any) -> int:
    cursor = await conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
    row = await cursor.fetchone()
    await conn.commit()
    return int(row[0])


async def ab_run(
    conn: Any, folder: Path, serving: Any, numbers: range, concurrency: int
) -> dict[str, float]:
    serve = psutil.Process(serving.process.pid)
    meter = CpuMeter(
        {
            "serve": lambda: serve_processes(serve),
            "postgres": lambda: postgres_processes(folder / "pg"),
        }
    )
    wal_before = await wal_position(conn)
    meter.start()
    started = time.perf_counter()
    latencies, _, ids = await post_leads(serving.receiver, serving.form, numbers, concurrency)
    await wait_settled(conn, ids, time.perf_counter() + 120 + len(numbers) / 20)
    wall = time.perf_counter() - started
    rates = meter.stop()
    wal = await wal_position(conn) - wal_before
    accepted = max(len(ids), 1)
    return {
        "accepted": len(ids),
        "per_second": len(ids) / wall,
        "cpu_ms": (rates["serve"] + rates["postgres"]) * wall / accepted * 1000,
        "latency_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "wal_bytes": wal / accepted,
    }


async def bench_cost(
    conn: Any, folder: Path, serving: Any, leads: int, rounds: int, concurrency: int
) -> None:
    # warm up with the aggregates on: connections, buyer cache, code paths
    await set_aggregates(conn, True)
    await ab_run(conn, folder, serving, range(10**7, 10**7 + 50), concurrency)
    results: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    start = 0
    print(f"\nCost of the aggregates per accepted lead: {leads} leads per run, A B A B")
    print(f"  {'run':<18}{'leads/s':>9}{'CPU ms/lead':>13}{'post p50 ms':>13}{'WAL B/lead':>12}")
    for round_number in range(rounds):
        for on in (True, False):
            await set_aggregates(conn, on)
            run = await ab_run(conn, folder, serving, range(start, start + leads), concurrency)
            start += leads
            results[on].append(run)
            name = f"{'A with' if on else 'B without'} #{round_number + 1}"
            print(
                f"  {name:<18}{run['per_second']:>9.1f}{run['cpu_ms']:>13.2f}"
                f"{run['latency_ms']:>13.1f}{run['wal_bytes']:>12.0f}"
            )
    await set_aggregates(conn, True)
    on = {k: statistics.median(r[k] for r in results[True]) for k in results[True][0]}
    off = {k: statistics.median(r[k] for r in results[False]) for k in results[False][0]}
    extra = on["cpu_ms"] / off["cpu_ms"] - 1
    paired = statistics.median(
        a["cpu_ms"] / b["cpu_ms"] - 1 for a, b in zip(results[True], results[False], strict=True)
    )
    print(
        f"  medians: with {on['cpu_ms']:.2f} CPU ms/lead, without {off['cpu_ms']:.2f}: "
        f"{extra:+.1%} CPU per accepted lead (median of the rounds' A/B: {paired:+.1%}; "
        f"target under 5%: {verdict(extra < 0.05)}); "
        f"throughput {on['per_second']:.1f} vs {off['per_second']:.1f} leads/s; "
        f"WAL {on['wal_bytes']:.0f} vs {off['wal_bytes']:.0f} bytes/lead"
    )


async def trigger_trial(conn: Any, leads: int, group: int, on: bool) -> float:
    """CPU seconds PostgreSQL's backend spends storing `leads` leads and selling three sends
    of each in the statements the house sends (a lead inserted; its three sends inserted in
    flight, as a step writes sends due at once; finished by `group` leads at a time, as the
    OutcomeWriter finishes a group in one statement), with the report triggers on or off;
    rolled back after, then vacuumed so no trial inherits another's dead rows."""
    await set_aggregates(conn, on)
    cursor = await conn.execute(BULK)
    account_id, source_id, lead_type_id = await cursor.fetchone()
    cursor = await conn.execute(
        "SELECT c.id AS campaign, a.client_id, a.id, a.delivery_id FROM campaigns c"
        " JOIN delivery_accounts a ON a.account_id = c.account_id WHERE c.account_id = %s"
        " ORDER BY c.id, a.id LIMIT 1",
        [account_id],
    )
    campaign_id, client_id, delivery_account_id, delivery_id = await cursor.fetchone()
    params = {
        "account": account_id,
        "source": source_id,
        "type": lead_type_id,
        "campaign": campaign_id,
        "client": client_id,
        "delivery_account": delivery_account_id,
        "delivery": delivery_id,
    }
    cursor = await conn.execute("SELECT pg_backend_pid()")
    (pid,) = await cursor.fetchone()
    backend = psutil.Process(pid)
    started = backend.cpu_times()
    in_flight: list[int] = []
    for _ in range(leads):
        cursor = await conn.execute(
            "INSERT INTO leads (account_id, post_id, source_id, campaign_id, lead_type_id, fields,"
            " pricing_model, price) VALUES (%(account)s, gen_random_uuid(), %(source)s,"
            " %(campaign)s, %(type)s, '{}', 'per_lead', 12.5) RETURNING id",
            params,
        )
        (lead,) = await cursor.fetchone()
        cursor = await conn.execute(
            "INSERT INTO sends (account_id, lead_id, client_id, delivery_account_id, delivery_id,"
            " status, lease_until) SELECT %(account)s, %(lead)s, %(client)s,"
            " %(delivery_account)s, %(delivery)s, 2, now() + interval '1 minute'"
            " FROM generate_series(1, 3) RETURNING id",
            {**params, "lead": lead},
        )
        in_flight += [row[0] for row in await cursor.fetchall()]
        if len(in_flight) >= 3 * group:
            await conn.execute(
                "UPDATE sends SET status = 3, price = 20, sent_at = now(), lease_until = NULL"
                " WHERE account_id = %(account)s AND id = ANY(%(ids)s)",
                {**params, "ids": in_flight},
            )
            in_flight = []
    finished = backend.cpu_times()
    await conn.rollback()
    await conn.set_autocommit(True)
    await conn.execute("VACUUM leads, sends, report_deltas")
    await conn.set_autocommit(False)
    return finished.user + finished.system - started.user - started.system


async def bench_trigger_cost(conn: Any, leads: int, group: int, rounds: int) -> None:
    await trigger_trial(conn, leads, group, True)  # warm up
    times: dict[bool, list[float]] = {True: [], False: []}
    for n in range(rounds):
        for on in (True, False) if n % 2 == 0 else (False, True):  # A B B A ...
            times[on].append(await trigger_trial(conn, leads, group, on))
    await set_aggregates(conn, True)
    per_lead = {on: statistics.median(t) / leads * 1e6 for on, t in times.items()}
    print(
        f"\nIn the database alone ({leads} leads stored and three sends of each sold, in the"
        f" house's statements, {group} leads' sends finished per statement, A B B A x {rounds}):"
        f" PostgreSQL CPU {per_lead[True]:.0f} us per lead with the triggers,"
        f" {per_lead[False]:.0f} us without: {per_lead[True] - per_lead[False]:.0f} us added"
        f" per lead (spread with {min(times[True]) / leads * 1e6:.0f}-"
        f"{max(times[True]) / leads * 1e6:.0f}, without {min(times[False]) / leads * 1e6:.0f}-"
        f"{max(times[False]) / leads * 1e6:.0f})"
    )


BULK = """
WITH a AS (SELECT account_id, id FROM campaigns ORDER BY id LIMIT 1)
SELECT a.account_id, c.source_id, c.lead_type_id FROM a JOIN campaigns c USING (account_id, id)
"""


async def clone_rows(conn: Any, table: str, template_id: int, count: int, tweak: str) -> list[int]:
    """`count` copies of one row of `table` under new ids (and whatever `tweak` sets)."""
    await conn.execute(
        f"CREATE TEMP TABLE copy_{table} AS SELECT * FROM {table} WHERE id = %s", [template_id]
    )
    ids = []
    for n in range(count):
        cursor = await conn.execute(
            f"UPDATE copy_{table} SET id = (SELECT max(id) + 1 FROM {table}), {tweak} RETURNING id",
            {"n": n},
        )
        row = await cursor.fetchone()
        await conn.execute(
            f"INSERT INTO {table} OVERRIDING SYSTEM VALUE SELECT * FROM copy_{table}"
        )
        ids.append(int(row[0]))
    await conn.execute(f"DROP TABLE copy_{table}")
    return ids


async def build_month(conn: Any, leads: int, days: int) -> tuple[int, datetime, datetime]:
    """The synthetic month, in bulk; the account, the month's first and last day."""
    cursor = await conn.execute(BULK)
    account_id, source_id, lead_type_id = await cursor.fetchone()
    cursor = await conn.execute(
        "SELECT c.id, a.id, a.delivery_id FROM clients c JOIN delivery_accounts a"
        " ON a.account_id = c.account_id AND a.client_id = c.id WHERE c.account_id = %s"
        " ORDER BY c.id LIMIT 1",
        [account_id],
    )
    client_id, delivery_account_id, delivery_id = await cursor.fetchone()
    cursor = await conn.execute(
        "SELECT id FROM campaigns WHERE account_id = %s ORDER BY id LIMIT 1", [account_id]
    )
    (campaign_id,) = await cursor.fetchone()
    clients = [
        client_id,
        *await clone_rows(
            conn, "clients", client_id, 19, "key = 'bulk' || %(n)s, name = 'Bulk buyer ' || %(n)s"
        ),
    ]
    campaigns = [
        campaign_id,
        *await clone_rows(
            conn,
            "campaigns",
            campaign_id,
            4,
            "key = 'bulk' || %(n)s, name = 'Bulk campaign ' || %(n)s",
        ),
    ]
    await conn.commit()
    await set_aggregates(conn, False)
    last = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    first = last - timedelta(days=days - 1)
    params = {
        "account": account_id,
        "source": source_id,
        "type": lead_type_id,
        "campaigns": campaigns,
        "clients": clients,
        "delivery_account": delivery_account_id,
        "delivery": delivery_id,
        "n": leads,
        "first": first,
        "span": days * 86400,
    }
    started = time.perf_counter()
    cursor = await conn.execute("SELECT coalesce(max(id), 0) FROM leads")
    (before,) = await cursor.fetchone()
    await conn.execute(
        "INSERT INTO leads (account_id, post_id, source_id, campaign_id, lead_type_id,"
        " received_at, fields, pricing_model, price)"
        " SELECT %(account)s, gen_random_uuid(), %(source)s,"
        " (%(campaigns)s::bigint[])[1 + i %% 5], %(type)s,"
        " %(first)s + make_interval(secs => (i::float8 / %(n)s) * %(span)s), '{}', 'per_lead',"
        " 10 + (i %% 4) * 2.5"
        " FROM generate_series(0, %(n)s - 1) i",
        params,
    )
    await conn.execute(
        "INSERT INTO sends (account_id, lead_id, client_id, delivery_account_id, delivery_id,"
        " status, price, created_at, sent_at)"
        " SELECT l.account_id, l.id, (%(clients)s::bigint[])[1 + (l.id * 7 + k) %% 20],"
        " %(delivery_account)s, %(delivery)s, CASE WHEN (l.id + k) %% 4 = 0 THEN 4 ELSE 3 END,"
        " 10 + ((l.id + k) %% 5) * 5, l.received_at, l.received_at"
        " FROM leads l, generate_series(1, 1 + (l.id %% 3)::int) k"
        " WHERE l.account_id = %(account)s AND l.id > %(before)s",
        {**params, "before": before},
    )
    await conn.execute(
        "UPDATE sends SET returned_at = sent_at + interval '2 days', return_reason = 'bench'"
        " WHERE account_id = %(account)s AND status = 3 AND id %% 50 = 0 AND lead_id > %(before)s",
        {**params, "before": before},
    )
    await conn.execute(
        "INSERT INTO posts (account_id, id, source_id, campaign_id, lead_type_id, received_at,"
        " is_valid, response_type, response_details)"
        " SELECT %(account)s, gen_random_uuid(), %(source)s,"
        " (%(campaigns)s::bigint[])[1 + i %% 5], %(type)s,"
        " %(first)s + make_interval(secs => (i::float8 / (%(n)s / 20)) * %(span)s), false,"
        " (ARRAY[5, 6, 9])[1 + i %% 3], 'bench'"
        " FROM generate_series(0, %(n)s / 20 - 1) i",
        params,
    )
    await conn.commit()
    await set_aggregates(conn, True)
    await conn.execute("ANALYZE leads")
    await conn.execute("ANALYZE sends")
    await conn.execute("ANALYZE posts")
    await conn.commit()
    cursor = await conn.execute(
        "SELECT (SELECT count(*) FROM leads WHERE id > %(before)s),"
        " (SELECT count(*) FROM sends WHERE lead_id > %(before)s)",
        {"before": before},
    )
    made_leads, made_sends = await cursor.fetchone()
    print(
        f"\nSynthetic month: {made_leads} leads, {made_sends} sends, {leads // 20} refused posts"
        f" over {days} days, 20 buyers, 5 campaigns,"
        f" written in {time.perf_counter() - started:.1f} s"
    )
    return account_id, first, last


def timed(call: Any, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def spread(times: list[float]) -> str:
    return (
        f"median {statistics.median(times) * 1000:.1f} ms "
        f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}, {len(times)} runs)"
    )


def bench_reports(serving: Any, first: datetime, last: datetime, runs: int) -> None:
    since, until = first.date().isoformat(), last.date().isoformat()
    with reports(serving.grpc, serving.key) as stub:
        started = time.perf_counter()
        stub.RebuildReports(
            reports_pb2.RebuildReportsRequest(from_day=since, to_day=until), timeout=3600
        )
        rebuilt = time.perf_counter() - started
        by_day = reports_pb2.GetProfitAndLossRequest(from_day=since, to_day=until)
        by_buyer = reports_pb2.GetProfitAndLossRequest(
            from_day=since, to_day=until, group_by=[reports_pb2.REPORT_DIMENSION_BUYER]
        )
        answer = stub.GetProfitAndLoss(by_day, timeout=60)
        day_times = timed(lambda: stub.GetProfitAndLoss(by_day, timeout=60), runs)
        buyer_answer = stub.GetProfitAndLoss(by_buyer, timeout=60)
        buyer_times = timed(lambda: stub.GetProfitAndLoss(by_buyer, timeout=60), runs)
    total = answer.total
    print(f"  RebuildReports over the month (from the rows): {rebuilt:.1f} s")
    print(
        f"  month's total: {total.accepted} accepted, {total.refused} refused, {total.sold} sold,"
        f" revenue {total.revenue}, cost {total.source_cost}, margin {total.margin}"
    )
    print(
        f"  P&L by day ({len(answer.rows)} rows): {spread(day_times)}"
        f" (target under 1 s: {verdict(statistics.median(day_times) < 1)})"
    )
    print(
        f"  P&L by buyer ({len(buyer_answer.rows)} rows): {spread(buyer_times)}"
        f" (target under 1 s: {verdict(statistics.median(buyer_times) < 1)})"
    )


async def run(args: argparse.Namespace) -> None:
    import psycopg

    with tempfile.TemporaryDirectory(prefix="lrreports") as name:
        folder = Path(name)
        buyers, port = start_buyers(args.buyer_delay_ms)
        BUYER_PIDS.append(buyers.pid)
        try:
            serving = start_serve(folder, None)
        except BaseException:
            buyers.send_signal(signal.SIGTERM)
            raise
        postgres = None
        try:
            apply_document(serving, folder, e2e_document(port))
            postgres = postgres_handle(folder)
            conn = await psycopg.AsyncConnection.connect(
                postgres.get_uri(), application_name="bench"
            )
            try:
                await bench_trigger_cost(
                    conn, args.trigger_leads, args.trigger_group, args.trigger_rounds
                )
                if args.ab_rounds:
                    await bench_cost(
                        conn, folder, serving, args.ab_leads, args.ab_rounds, args.concurrency
                    )
                _, first, last = await build_month(conn, args.leads, args.days)
            finally:
                await conn.close()
            bench_reports(serving, first, last, args.runs)
        finally:
            serving.process.send_signal(signal.SIGTERM)
            serving.process.wait(timeout=60)
            buyers.send_signal(signal.SIGTERM)
            buyers.wait(timeout=10)
            if postgres is not None:
                postgres.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000, help="synthetic leads")
    parser.add_argument("--days", type=int, default=30, help="the synthetic month's days")
    parser.add_argument("--runs", type=int, default=9, help="timed reports of each kind")
    parser.add_argument("--ab-leads", type=int, default=1000, help="leads posted per A/B run")
    parser.add_argument("--ab-rounds", type=int, default=3, help="A B rounds (0: skip)")
    parser.add_argument("--trigger-leads", type=int, default=2000, help="leads per trial")
    parser.add_argument(
        "--trigger-group", type=int, default=3, help="leads whose sends one statement finishes"
    )
    parser.add_argument("--trigger-rounds", type=int, default=6, help="A B trials in the database")
    parser.add_argument("--concurrency", type=int, default=16, help="connections posting")
    parser.add_argument("--buyer-delay-ms", type=float, default=20.0)
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    args = parser.parse_args()
    if args.quick:
        args.leads, args.runs, args.ab_leads, args.ab_rounds = 20_000, 3, 100, 1
        args.trigger_leads, args.trigger_rounds = 300, 2
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
