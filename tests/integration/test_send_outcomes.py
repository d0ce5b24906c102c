"""Delivery outcomes written in groups (server/storage/send_outcomes.py), on the real database:
outcomes that arrive together share one transaction, each caller returns only once its own
outcome is committed, a failed group fails each of its callers and not the next group, and a
transaction PostgreSQL rolls back to break a deadlock surfaces as RolledBack."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from server.errors import RolledBack
from server.services import accounts
from server.services.config_apply import apply_config
from server.storage import database, send_outcomes
from server.storage.send_outcomes import Outcome, OutcomeWriter

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "acme.json").read_text())
SOLD, IN_FLIGHT, SCHEDULED = 3, 2, 1


def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(json.dumps(EXAMPLE))
    document["clients"] = [
        {
            "key": "buyer",
            "name": "Buyer",
            "deliveries": [
                {
                    "key": "post",
                    "type": "http_post",
                    "lead_type": "auto-insurance",
                    "address": "http://127.0.0.1:9/buy",
                    "response_search": "accepted",
                }
            ],
            "accounts": [{"key": f"a{n}", "delivery": "post", "price": "5"} for n in range(4)],
        }
    ]
    return document


async def _in_flight_sends(pool: Any, leads: int) -> tuple[int, list[tuple[int, int]]]:
    """A tenant with `leads` leads, each with a waiting job and 4 sends in flight: the
    account id and (lead id, send id) pairs."""
    tenant = await accounts.create_account(pool, "Outcomes")
    ids = await apply_config(pool, tenant.account_id, _document())
    account = tenant.account_id
    sends: list[tuple[int, int]] = []
    async with pool.connection() as conn:
        for _ in range(leads):
            cursor = await conn.execute(
                "INSERT INTO leads (account_id, post_id, source_id, campaign_id, lead_type_id,"
                " fields, pricing_model) VALUES (%s, gen_random_uuid(), %s, %s, %s, %s,"
                " 'per_lead') RETURNING id",
                (
                    account,
                    ids.sources["acme-media"],
                    ids.campaigns["acme-auto-web"],
                    ids.lead_types["auto-insurance"],
                    Jsonb({}),
                ),
            )
            row = await cursor.fetchone()
            assert row is not None
            lead = row["id"]
            await conn.execute(
                "INSERT INTO distribution_jobs (account_id, lead_id, state, max_sells)"
                " VALUES (%s, %s, 'waiting', 4)",
                (account, lead),
            )
            for n in range(4):
                cursor = await conn.execute(
                    "INSERT INTO sends (account_id, lead_id, client_id, delivery_account_id,"
                    " delivery_id, status, automated, price) VALUES (%s, %s, %s, %s, %s, 2,"
                    " true, 5) RETURNING id",
                    (
                        account,
                        lead,
                        ids.clients["buyer"],
                        ids.accounts[f"buyer/a{n}"],
                        ids.deliveries["buyer/post"],
                    ),
                )
                row = await cursor.fetchone()
                assert row is not None
                sends.append((lead, row["id"]))
        await conn.commit()
    return account, sends


def _outcome(account: int, send: int, status: int = SOLD, **changes: Any) -> Outcome:
    values: dict[str, Any] = {
        "account_id": account,
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
    """How many transactions the writer opened, by counting its `transaction` calls."""
    opened: list[int] = []
    real = database.transaction

    @asynccontextmanager
    async def counted(pool: Any) -> AsyncIterator[Any]:
        opened.append(1)
        async with real(pool) as conn:
            yield conn

    monkeypatch.setattr(send_outcomes, "transaction", counted)
    return opened


async def test_outcomes_that_arrive_together_share_a_transaction(
    pool: Any, transactions: list[int]
) -> None:
    account, sends = await _in_flight_sends(pool, leads=5)
    writer = OutcomeWriter(pool)
    await asyncio.gather(*(writer.write(_outcome(account, send)) for _, send in sends))
    assert 1 <= len(transactions) <= 2  # 20 outcomes: the first alone at most, then the rest
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
        assert await cursor.fetchall() == [{"state": "pending", "due": True}]


async def test_a_retry_is_rescheduled_without_a_log_entry_or_waking_the_job(pool: Any) -> None:
    account, sends = await _in_flight_sends(pool, leads=1)
    _, send = sends[0]
    await OutcomeWriter(pool).write(_outcome(account, send, SCHEDULED, retry_in=60.0))
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
    account, sends = await _in_flight_sends(pool, leads=1)
    _, send = sends[0]
    writer = OutcomeWriter(pool)
    await writer.write(_outcome(account, send))
    await writer.write(_outcome(account, send, 4, price=Decimal("1"), log="late"))
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT status, price, attempts FROM sends WHERE account_id = %s AND id = %s",
            (account, send),
        )
        assert await cursor.fetchone() == {"status": SOLD, "price": Decimal("7.50"), "attempts": 1}


async def test_a_failed_group_fails_its_callers_and_the_next_group_is_written(
    pool: Any,
) -> None:
    account, sends = await _in_flight_sends(pool, leads=2)
    writer = OutcomeWriter(pool)
    bad = _outcome(account, sends[0][1], status=70000)  # out of range for the status column
    results = await asyncio.gather(
        writer.write(bad),
        writer.write(_outcome(account, sends[1][1])),
        return_exceptions=True,
    )
    assert all(isinstance(r, psycopg.errors.NumericValueOutOfRange) for r in results), results
    await writer.write(_outcome(account, sends[2][1]))
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT id, status FROM sends WHERE account_id = %s AND id = ANY(%s) ORDER BY id",
            (account, [s for _, s in sends[:3]]),
        )
        assert [r["status"] for r in await cursor.fetchall()] == [IN_FLIGHT, IN_FLIGHT, SOLD]


async def test_a_deadlock_victim_surfaces_as_rolled_back(pool: Any) -> None:
    account, sends = await _in_flight_sends(pool, leads=1)
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
