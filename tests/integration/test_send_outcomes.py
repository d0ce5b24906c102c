"""Delivery outcomes written in groups (server/storage/send_outcomes.py), on the real database:
outcomes that arrive together share one transaction, each caller returns only once its own
outcome is committed, a failed group fails each of its callers and not the next group, and a
transaction PostgreSQL rolls back to break a deadlock surfaces as RolledBack."""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from server.errors import InvalidArgument, RolledBack
from server.storage import database, send_outcomes
from server.storage.queries import q
from server.storage.send_outcomes import Outcome, OutcomeWriter
from tests.support.sends import in_flight_sends

SOLD, IN_FLIGHT, SCHEDULED = 3, 2, 1


def _outcome(account: int, lead: int, send: int, status: int = SOLD, **changes: Any) -> Outcome:
    values: dict[str, Any] = {
        "account_id": account,
        "lead_id": lead,
        "send_id": send,
        "status": status,
        "request": f"POST request of {send}",
        "response": "accepted",
        "reason": "",
        "redirect_url": "",
        "price": Decimal("7.50"),
        "elapsed_ms": 12.0,
        "retry_in": 0.0,
        "log": f"Send {send}: sold" if status != SCHEDULED else "",
    }
    values.update(changes)
    return Outcome(**values)


@pytest.fixture
def transactions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many transactions the writer opened, by counting its `run_alone` calls."""
    opened: list[int] = []
    real = database.run_alone

    async def counted(pool: Any, query: Any, params: Any) -> list[dict[str, Any]]:
        opened.append(1)
        return await real(pool, query, params)

    monkeypatch.setattr(send_outcomes, "run_alone", counted)
    return opened


async def test_outcomes_that_arrive_together_share_a_transaction(
    pool: Any, transactions: list[int]
) -> None:
    account, sends = await in_flight_sends(pool, leads=5)
    writer = OutcomeWriter(pool)
    jobs = await asyncio.gather(
        *(writer.write(_outcome(account, lead, send)) for lead, send in sends)
    )
    assert 1 <= len(transactions) <= 2  # 20 outcomes: the first alone at most, then the rest
    assert set(jobs) == {"done"}  # each lead sold its max sell count (4) in this group
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT id, status, price, attempts, request, sent_at IS NOT NULL AS sent"
            " FROM sends WHERE account_id = %s ORDER BY id",
            (account,),
        )
        rows = await cursor.fetchall()
        assert [(r["id"], r["status"], r["price"], r["attempts"], r["sent"]) for r in rows] == [
            (send, SOLD, Decimal("7.50"), 1, True) for _, send in sorted(sends)
        ]
        assert all(r["request"] == f"POST request of {r['id']}" for r in rows)
        cursor = await conn.execute(
            "SELECT lead_id, log FROM scan_logs WHERE account_id = %s ORDER BY id", (account,)
        )
        logged = [(r["lead_id"], r["log"]) for r in await cursor.fetchall()]
        assert sorted(logged) == sorted((lead, f"Send {send}: sold") for lead, send in sends)
        for lead in {lead for lead, _ in sends}:  # a lead's entries follow its send ids
            entries = [log for at, log in logged if at == lead]
            assert entries == sorted(entries, key=lambda e: int(e.split()[1].rstrip(":")))
        cursor = await conn.execute(
            "SELECT DISTINCT state, run_at <= now() AS due FROM distribution_jobs"
            " WHERE account_id = %s",
            (account,),
        )
        assert await cursor.fetchall() == [{"state": "done", "due": True}]


async def _job_state(pool: Any, account: int) -> str:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT state FROM distribution_jobs WHERE account_id = %s", (account,)
        )
        row = await cursor.fetchone()
        assert row is not None
        return str(row["state"])


async def test_a_job_is_done_only_once_its_lead_sold_its_max_and_nothing_is_outstanding(
    pool: Any,
) -> None:
    """Max sells 4, four sends in flight: each answer wakes the job for its next step until
    the fourth sale; a rejection or a retry leaves the job to that step."""
    account, sends = await in_flight_sends(pool, leads=1)
    writer = OutcomeWriter(pool)
    assert await writer.write(_outcome(account, *sends[0])) == "pending"  # 1 sold, 3 out
    assert await writer.write(_outcome(account, *sends[1], 4)) == "pending"  # rejected
    assert await _job_state(pool, account) == "pending"
    both = await asyncio.gather(  # 3 sold of 4, the last send's retry is outstanding
        writer.write(_outcome(account, *sends[2])),
        writer.write(_outcome(account, *sends[3], SCHEDULED, retry_in=0.0)),
    )
    assert both[0] == "pending" and both[1] in ("pending", None)
    assert await _job_state(pool, account) == "pending"


async def test_the_sale_that_completes_the_lead_ends_its_job(pool: Any) -> None:
    account, sends = await in_flight_sends(pool, leads=1)
    writer = OutcomeWriter(pool)
    for pair in sends[:3]:
        assert await writer.write(_outcome(account, *pair)) == "pending"
    assert await writer.write(_outcome(account, *sends[3])) == "done"
    assert await _job_state(pool, account) == "done"
    # a late answer for a lead already done touches no job
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE sends SET status = 2 WHERE account_id = %s AND id = %s",
            (account, sends[0][1]),
        )
        await conn.commit()
    assert await writer.write(_outcome(account, *sends[0])) is None


async def test_a_retry_is_rescheduled_without_a_log_entry_or_waking_the_job(pool: Any) -> None:
    account, sends = await in_flight_sends(pool, leads=1)
    lead, send = sends[0]
    job = await OutcomeWriter(pool).write(_outcome(account, lead, send, SCHEDULED, retry_in=60.0))
    assert job is None
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT status, next_attempt_at > now() + interval '50 seconds' AS later"
            " FROM sends WHERE account_id = %s AND id = %s",
            (account, send),
        )
        assert await cursor.fetchone() == {"status": SCHEDULED, "later": True}
        cursor = await conn.execute(
            "SELECT (SELECT count(*) FROM scan_logs WHERE account_id = %(a)s) AS logs,"
            " (SELECT state FROM distribution_jobs WHERE account_id = %(a)s) AS state",
            {"a": account},
        )
        assert await cursor.fetchone() == {"logs": 0, "state": "waiting"}


async def test_an_outcome_for_a_send_already_finished_changes_nothing(pool: Any) -> None:
    account, sends = await in_flight_sends(pool, leads=1)
    lead, send = sends[0]
    writer = OutcomeWriter(pool)
    await writer.write(_outcome(account, lead, send))
    await writer.write(_outcome(account, lead, send, 4, price=Decimal("1"), log="late"))
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT status, price, attempts FROM sends WHERE account_id = %s AND id = %s",
            (account, send),
        )
        assert await cursor.fetchone() == {"status": SOLD, "price": Decimal("7.50"), "attempts": 1}


async def test_a_failed_group_fails_its_callers_and_the_next_group_is_written(
    pool: Any,
) -> None:
    account, sends = await in_flight_sends(pool, leads=2)
    writer = OutcomeWriter(pool)
    bad = _outcome(account, *sends[0], status=70000)  # out of range for the status column
    results = await asyncio.gather(
        writer.write(bad),
        writer.write(_outcome(account, *sends[1])),
        return_exceptions=True,
    )
    assert all(
        isinstance(r, InvalidArgument)
        and isinstance(r.__cause__, psycopg.errors.NumericValueOutOfRange)
        for r in results
    ), results
    await writer.write(_outcome(account, *sends[2]))
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT id, status FROM sends WHERE account_id = %s AND id = ANY(%s) ORDER BY id",
            (account, [s for _, s in sends[:3]]),
        )
        assert [r["status"] for r in await cursor.fetchall()] == [IN_FLIGHT, IN_FLIGHT, SOLD]


async def test_a_deadlock_victim_surfaces_as_rolled_back(pool: Any) -> None:
    account, sends = await in_flight_sends(pool, leads=1)
    first, second = sends[0][1], sends[1][1]
    locked = asyncio.Barrier(2)

    async def lock_both(one: int, other: int) -> None:
        async with database.transaction(pool) as conn:
            await conn.execute("SET LOCAL deadlock_timeout = '100ms'")
            lock = "SELECT id FROM sends WHERE account_id = %s AND id = %s FOR UPDATE"
            await conn.execute(lock, (account, one))
            await locked.wait()
            await conn.execute(lock, (account, other))

    results = await asyncio.gather(
        lock_both(first, second), lock_both(second, first), return_exceptions=True
    )
    assert sorted(type(r).__name__ for r in results) == ["NoneType", "RolledBack"]
    assert any(isinstance(r, RolledBack) for r in results)


async def test_a_leads_sends_are_read_by_lead_even_by_a_generic_plan_without_statistics(
    pool: Any,
) -> None:
    """lead_sends runs for every step; read through any index but sends_lead, it reads every
    held send of the account (it did, before migration 0010, on a table not yet analysed)."""
    account, sends = await in_flight_sends(pool, leads=30)
    lead = sends[-1][0]
    async with pool.connection() as conn:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        await conn.execute(f"PREPARE lead_sends(bigint, bigint) AS {_sql('lead_sends')}")
        cursor = await conn.execute(f"EXPLAIN EXECUTE lead_sends({account}, {lead})")
        plan = "\n".join(row["QUERY PLAN"] for row in await cursor.fetchall())
    assert "sends_lead" in plan, plan


def _sql(name: str) -> str:
    """A named query with its psycopg placeholders as $1, $2 (in order of appearance)."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    return re.sub(r"%\((\w+)\)s", number, q(name)).rstrip().rstrip(";")


# -- a lead that has a job, sends or scan log entries is kept (migration 0011) ----------------


async def test_a_lead_with_a_job_sends_or_scan_log_is_kept(pool: Any) -> None:
    account, sends = await in_flight_sends(pool, leads=1)
    other, _ = await in_flight_sends(pool, leads=1)
    lead = sends[0][0]
    async with pool.connection() as conn:
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="has a distribution job"):
            await conn.execute(
                "DELETE FROM leads WHERE account_id = %s AND id = %s", (account, lead)
            )
        await conn.rollback()
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="has a distribution job"):
            await conn.execute(
                "UPDATE leads SET account_id = %s WHERE account_id = %s AND id = %s",
                (other, account, lead),
            )
        await conn.rollback()
        await conn.execute("UPDATE leads SET reference = 'r' WHERE account_id = %s", (account,))
        cursor = await conn.execute(
            "SELECT count(*) AS n FROM leads WHERE account_id = %s AND reference = 'r'", (account,)
        )
        assert await cursor.fetchone() == {"n": 1}
