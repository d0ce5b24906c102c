"""Notices: the emails sales queue beside their deliveries (server/domain/delivery/notices.py),
leased while they are sent, as sends are.

A sale's notices are written by the statement that records it (`finish_sends`, through
server/storage/send_outcomes.py); here they are leased, read back with their delivery method,
and finished with their lead's scan log entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.buyers.specs import DeliveryMethod
from server.domain.delivery.notices import Notice, NoticeKind, NoticeState
from server.domain.delivery.spec import split_addresses
from server.storage.buyers import delivery_method
from server.storage.database import Connection
from server.storage.queries import q


@dataclass(frozen=True)
class LeasedNotice:
    """A notice this process leased to send, with the delivery method whose SMTP settings
    send it."""

    id: int
    lead_id: int
    send_id: int
    notice: Notice
    attempts: int
    method: DeliveryMethod


async def claim_due(conn: Connection, lease_seconds: float, limit: int) -> list[tuple[int, int]]:
    """Lease up to `limit` due notices to this process (account id, notice id): pending ones
    whose time came, and ones whose sending process died. Each lease outlasts its delivery
    method's timeout by `lease_seconds`."""
    cursor = await conn.execute(q("claim_notices"), {"lease": lease_seconds, "limit": limit})
    return [(r["account_id"], r["id"]) for r in await cursor.fetchall()]


async def leased(conn: Connection, account_id: int, notice_id: int) -> LeasedNotice | None:
    """A notice leased for sending, with its delivery method; None once it is finished."""
    cursor = await conn.execute(
        q("get_notice_for_sending"), {"account_id": account_id, "id": notice_id}
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    return LeasedNotice(
        id=row["id"],
        lead_id=row["lead_id"],
        send_id=row["send_id"],
        notice=Notice(
            kind=NoticeKind(row["kind"]),
            sender=row["sender"],
            recipients=tuple(split_addresses(row["recipients"])),
            subject=row["subject"],
            body=row["body"],
        ),
        attempts=row["attempts"],
        method=delivery_method(row),
    )


async def finish(
    conn: Connection,
    account_id: int,
    notice_id: int,
    state: NoticeState,
    *,
    error: str,
    retry_in: float,
    log: str,
) -> None:
    """Record an attempt at a leased notice (sent, failed, or pending again in `retry_in`
    seconds) and its lead's scan log entry; nothing when the notice is no longer leased."""
    await conn.execute(
        q("finish_notice"),
        {
            "account_id": account_id,
            "id": notice_id,
            "state": str(state),
            "error": error,
            "retry_in": retry_in,
            "log": log,
        },
    )
