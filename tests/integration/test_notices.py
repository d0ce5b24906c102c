"""Notices on the real database: queued by the statement that records a sale (once, however
often the sale is recorded), leased to one process at a time and taken over when that process
dies, and sent by the notices worker over the delivery method's SMTP settings, retried by the
backoff and failed after their attempts, each attempt in the lead's scan log."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from psycopg.types.json import Jsonb

from server.adapters.delivery import Transports
from server.domain.delivery.notices import Notice, NoticeKind
from server.services.distribution.notices import Notices
from server.services.runner import Backoff, RunnerSettings
from server.storage import notices as notice_store
from server.storage.database import transaction
from server.storage.send_outcomes import Outcome, OutcomeWriter
from tests.integration.test_delivery_transports import Mailbox, free_port
from tests.support.sends import in_flight_sends

SOLD, REJECTED = 3, 4
NOTIFICATION = Notice(
    NoticeKind.NOTIFICATION,
    "Leads <leads@router.example>",
    ("ops@router.example",),
    "Lead delivered",
    "Lead 1 was delivered.\n",
)
CONSUMER = Notice(
    NoticeKind.CONSUMER, "leads@router.example", ("ann@example.com",), "Thanks", "Thanks, Ann\n"
)


def outcome(account: int, lead: int, send: int, status: int = SOLD) -> Outcome:
    return Outcome(
        account_id=account,
        lead_id=lead,
        send_id=send,
        status=status,
        request="POST",
        response="accepted",
        reason="",
        redirect_url="",
        price=Decimal("7.50"),
        elapsed_ms=1.0,
        retry_in=0.0,
        log=f"Send {send}: done",
        notices=(NOTIFICATION, CONSUMER),
    )


async def notices(pool: Any, account: int) -> list[tuple[Any, ...]]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT send_id, kind, recipients, state, attempts FROM notices"
            " WHERE account_id = %s ORDER BY id",
            (account,),
        )
        return [tuple(row.values()) for row in await cursor.fetchall()]


async def scan_log(pool: Any, account: int, lead: int) -> list[str]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT log FROM scan_logs WHERE account_id = %s AND lead_id = %s ORDER BY id",
            (account, lead),
        )
        return [row["log"] for row in await cursor.fetchall()]


async def test_a_sale_recorded_twice_queues_its_notices_once(pool: Any) -> None:
    account, [(lead, send), *_] = await in_flight_sends(pool, leads=1)
    writer = OutcomeWriter(pool)
    await writer.write(outcome(account, lead, send))
    await writer.write(outcome(account, lead, send))  # its answer, recorded again
    assert await notices(pool, account) == [
        (send, "notification", "ops@router.example", "pending", 0),
        (send, "consumer", "ann@example.com", "pending", 0),
    ]


async def test_a_rejection_queues_no_notice(pool: Any) -> None:
    account, [(lead, send), *_] = await in_flight_sends(pool, leads=1)
    await OutcomeWriter(pool).write(outcome(account, lead, send, REJECTED))
    assert await notices(pool, account) == []


async def test_a_notice_is_leased_to_one_process_until_its_lease_runs_out(pool: Any) -> None:
    account, [(lead, send), *_] = await in_flight_sends(pool, leads=1)
    await OutcomeWriter(pool).write(outcome(account, lead, send))
    async with transaction(pool) as conn:
        first = await notice_store.claim_due(conn, 30.0, 10)
    async with transaction(pool) as conn:
        assert await notice_store.claim_due(conn, 30.0, 10) == []
        await conn.execute("UPDATE notices SET lease_until = now() - interval '1 second'")
    async with transaction(pool) as conn:  # the process that leased them died
        assert sorted(await notice_store.claim_due(conn, 30.0, 10)) == sorted(first)
        leased = await notice_store.leased(conn, *first[0])
    assert leased is not None
    assert (leased.send_id, leased.notice, leased.attempts) == (send, NOTIFICATION, 0)


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, mailbox
    controller.stop()


async def send_due(pool: Any, backoff: Backoff, *, allow_private: bool = True) -> None:
    """Run a notices worker until every notice is sent or failed; `allow_private`: as the
    server's setting (the test SMTP server is on loopback)."""
    async with Transports(allow_private=allow_private) as transports:
        worker = Notices(pool, transports, backoff, 30.0, RunnerSettings(poll_seconds=0.01))
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        try:
            for _ in range(500):
                async with pool.connection() as conn:
                    cursor = await conn.execute(
                        "SELECT count(*) AS n FROM notices WHERE state IN ('pending', 'sending')"
                    )
                    row = await cursor.fetchone()
                if row is not None and row["n"] == 0:
                    return
                await asyncio.sleep(0.02)
            raise AssertionError("notices still due")
        finally:
            stop.set()
            await running


async def smtp_at(pool: Any, account: int, port: int) -> None:
    """Point the account's delivery methods' notices at an SMTP server on loopback."""
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE deliveries SET settings = settings || %s WHERE account_id = %s",
            (Jsonb({"smtp_host": "127.0.0.1", "smtp_port": port}), account),
        )


async def test_the_worker_sends_notices_over_the_methods_smtp_settings(
    pool: Any, smtp: tuple[int, Mailbox]
) -> None:
    port, mailbox = smtp
    account, [(lead, send), *_] = await in_flight_sends(pool, leads=1)
    await smtp_at(pool, account, port)
    await OutcomeWriter(pool).write(outcome(account, lead, send))
    await send_due(pool, Backoff(0.01, 3))
    assert sorted(e.rcpt_tos[0] for e in mailbox.envelopes) == [
        "ann@example.com",
        "ops@router.example",
    ]
    assert [row[3:] for row in await notices(pool, account)] == [("sent", 1), ("sent", 1)]
    log = sorted(line.split(" (250 ")[0] for line in (await scan_log(pool, account, lead))[-2:])
    assert log == [
        f"Consumer email for send {send} to ann@example.com: sent",
        f"Notification email for send {send} to ops@router.example: sent",
    ]


async def test_a_notice_that_cannot_be_sent_fails_after_its_attempts(pool: Any) -> None:
    account, [(lead, send), *_] = await in_flight_sends(pool, leads=1)
    await smtp_at(pool, account, free_port())
    await OutcomeWriter(pool).write(outcome(account, lead, send))
    await send_due(pool, Backoff(0.01, 3))
    assert [row[3:] for row in await notices(pool, account)] == [("failed", 3), ("failed", 3)]
    about = f"Notification email for send {send} to ops@router.example"
    log = [line for line in await scan_log(pool, account, lead) if line.startswith(about)]
    assert [line.split(": ", 1)[1].split(":")[0] for line in log] == [
        "attempt 1 failed",
        "attempt 2 failed",
        "failed after 3 attempts",
    ]
    assert "ConnectionRefusedError" in log[-1]


async def test_a_notice_to_a_private_smtp_host_fails_at_once_and_sends_nothing(
    pool: Any, smtp: tuple[int, Mailbox]
) -> None:
    port, mailbox = smtp
    account, [(lead, send), *_] = await in_flight_sends(pool, leads=1)
    await smtp_at(pool, account, port)
    await OutcomeWriter(pool).write(outcome(account, lead, send))
    await send_due(pool, Backoff(0.01, 3), allow_private=False)
    assert [row[3:] for row in await notices(pool, account)] == [("failed", 1), ("failed", 1)]
    assert mailbox.envelopes == []
    about = f"Notification email for send {send} to ops@router.example"
    [line] = [line for line in await scan_log(pool, account, lead) if line.startswith(about)]
    assert line == (
        f"{about}: not sent: address refused: 127.0.0.1 is in the loopback range; the server "
        "does not allow deliveries to private addresses"
    )
