"""Sends: each delivery of a lead to a delivery account, leased while it is delivered, and
the lead's scan log (why it went where it went).

The outcomes of deliveries are written in groups by server/storage/send_outcomes.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from server.domain.buyers.specs import AccountType
from server.domain.caps import CapCounts, CapWindows
from server.domain.catalog.fields import Value
from server.domain.sales.operations import HeldSend
from server.domain.sales.sends import ScanLogEntry, Send, SendStatus
from server.domain.sales.settlement import BuyerSend
from server.storage.database import Connection
from server.storage.queries import q


@dataclass(frozen=True)
class LeasedSend:
    """A send this process leased to deliver, with its lead's values and the lead type."""

    id: int
    lead_id: int
    client_id: int
    delivery_account_id: int
    delivery_id: int
    price: Decimal
    attempts: int
    lead_type_id: int
    fields: Mapping[str, Value]
    buyer_version: int
    ping_reference: str = ""


@dataclass(frozen=True)
class ManualSend:
    """A send reserved by hand (ProcessClientDelivery, ResendLead), in flight at once."""

    lead_id: int
    client_id: int
    delivery_account_id: int
    delivery_id: int
    price: Decimal
    lease_seconds: float
    order_id: int | None
    order_item_id: int | None
    notes: str
    resend_of: int | None


@dataclass(frozen=True)
class LoggedSend:
    """A send made outside leadrouter, recorded finished (LogClientSend)."""

    lead_id: int
    client_id: int
    delivery_account_id: int
    delivery_id: int
    status: SendStatus
    price: Decimal
    request: str
    response: str
    reason: str
    order_id: int | None
    order_item_id: int | None


@dataclass(frozen=True)
class SendToRepeat:
    """A send ResendLead repeats."""

    id: int
    lead_id: int
    client_id: int
    delivery_account_id: int
    status: SendStatus
    order_id: int | None


def _send(row: Mapping[str, Any]) -> Send:
    return Send(
        id=row["id"],
        lead_id=row["lead_id"],
        client_id=row["client_id"],
        client_name=row["client_name"],
        delivery_account_id=row["delivery_account_id"],
        delivery_id=row["delivery_id"],
        status=SendStatus(row["status"]),
        automated=row["automated"],
        price=row["price"],
        request=row["request"],
        response=row["response"],
        reason=row["reason"],
        redirect_url=row["redirect_url"],
        attempts=row["attempts"],
        elapsed_ms=row["elapsed_ms"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
        account_type=AccountType(row["account_type"]),
        agent_name=row["agent_name"],
        agent_phone=row["agent_phone"],
        order_id=row["order_id"],
        order_item_id=row["order_item_id"],
        notes=row["notes"],
        resend_of=row["resend_of"],
        confirmed_at=row["confirmed_at"],
        source_share=row["source_share"],
        redirect_notified_at=row["redirect_notified_at"],
        redirect_valid=row["redirect_valid"],
        redirect_response=row["redirect_response"],
        returned_at=row["returned_at"],
        return_reason=row["return_reason"],
        ping_reference=row["ping_reference"],
    )


async def list_sends(conn: Connection, account_id: int, lead_id: int) -> list[Send]:
    """A lead's sends, oldest first (an unknown lead has none)."""
    cursor = await conn.execute(q("list_sends"), {"account_id": account_id, "lead_id": lead_id})
    return [_send(row) for row in await cursor.fetchall()]


async def get_send(conn: Connection, account_id: int, send_id: int) -> Send | None:
    cursor = await conn.execute(q("get_send_detail"), {"account_id": account_id, "id": send_id})
    row = await cursor.fetchone()
    return None if row is None else _send(row)


async def scan_log(conn: Connection, account_id: int, lead_id: int) -> list[ScanLogEntry]:
    """A lead's scan log entries, oldest first."""
    cursor = await conn.execute(q("list_scan_logs"), {"account_id": account_id, "lead_id": lead_id})
    return [
        ScanLogEntry(row["lead_id"], row["log"], row["scanned_at"])
        for row in await cursor.fetchall()
    ]


async def held(conn: Connection, account_id: int, lead_id: int) -> list[HeldSend]:
    """The lead's sends that hold or made a sale (scheduled, in flight or sold), oldest first."""
    cursor = await conn.execute(q("lead_sends"), {"account_id": account_id, "lead_id": lead_id})
    return [
        HeldSend(r["id"], r["client_id"], r["delivery_account_id"], SendStatus(r["status"]))
        for r in await cursor.fetchall()
    ]


async def cap_counts(
    conn: Connection, account_id: int, windows: Sequence[tuple[int, CapWindows]]
) -> dict[int, CapCounts]:
    """Sends that count against each delivery account's caps (scheduled, in flight or sold),
    and pings' live reservations (unused, unexpired), since its windows' starts, by delivery
    account id."""
    if not windows:
        return {}
    cursor = await conn.execute(
        q("cap_counts"),
        {
            "account_id": account_id,
            "ids": [i for i, _ in windows],
            "hour_starts": [w.hour_start for _, w in windows],
            "day_starts": [w.day_start for _, w in windows],
            "month_starts": [w.month_start for _, w in windows],
        },
    )
    return {r["id"]: CapCounts(r["hour"], r["day"], r["month"]) for r in await cursor.fetchall()}


async def claim_due(conn: Connection, lease_seconds: float, limit: int) -> list[tuple[int, int]]:
    """Lease up to `limit` due sends to this process (account id, send id): scheduled ones
    whose time came, and in-flight ones whose process died. Each lease outlasts its delivery
    method's timeout by `lease_seconds`."""
    cursor = await conn.execute(q("claim_sends"), {"lease": lease_seconds, "limit": limit})
    return [(r["account_id"], r["id"]) for r in await cursor.fetchall()]


async def leased(conn: Connection, account_id: int, send_id: int) -> LeasedSend | None:
    """An in-flight send with what delivering it needs; None once it is finished."""
    cursor = await conn.execute(
        q("get_send_for_delivery"), {"account_id": account_id, "id": send_id}
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    return LeasedSend(
        id=row["id"],
        lead_id=row["lead_id"],
        client_id=row["client_id"],
        delivery_account_id=row["delivery_account_id"],
        delivery_id=row["delivery_id"],
        price=row["price"],
        attempts=row["attempts"],
        lead_type_id=row["lead_type_id"],
        fields=row["fields"],
        buyer_version=row["buyer_version"],
        ping_reference=row["ping_reference"],
    )


async def add_scan_log(conn: Connection, account_id: int, lead_id: int, text: str) -> None:
    """Add an entry to a lead's scan log."""
    await conn.execute(
        q("insert_scan_log"), {"account_id": account_id, "lead_id": lead_id, "log": text}
    )


# -- manual operations ---------------------------------------------------------------------


async def insert_manual(conn: Connection, account_id: int, send: ManualSend) -> int:
    """Reserve a manual send, in flight now: it counts against the account's caps and its
    order from now on. Returns its id."""
    cursor = await conn.execute(
        q("insert_manual_send"),
        {
            "account_id": account_id,
            "lead_id": send.lead_id,
            "client_id": send.client_id,
            "delivery_account_id": send.delivery_account_id,
            "delivery_id": send.delivery_id,
            "price": send.price,
            "lease": send.lease_seconds,
            "order_id": send.order_id,
            "order_item_id": send.order_item_id,
            "notes": send.notes,
            "resend_of": send.resend_of,
        },
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row["id"])


async def insert_logged(conn: Connection, account_id: int, send: LoggedSend) -> int:
    """Record a send made outside leadrouter, finished as given. Returns its id."""
    cursor = await conn.execute(
        q("insert_logged_send"),
        {
            "account_id": account_id,
            "lead_id": send.lead_id,
            "client_id": send.client_id,
            "delivery_account_id": send.delivery_account_id,
            "delivery_id": send.delivery_id,
            "status": int(send.status),
            "price": send.price,
            "request": send.request,
            "response": send.response,
            "reason": send.reason,
            "order_id": send.order_id,
            "order_item_id": send.order_item_id,
        },
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row["id"])


async def to_repeat(conn: Connection, account_id: int, send_id: int) -> SendToRepeat | None:
    cursor = await conn.execute(q("get_send_to_repeat"), {"account_id": account_id, "id": send_id})
    row = await cursor.fetchone()
    if row is None:
        return None
    return SendToRepeat(
        id=row["id"],
        lead_id=row["lead_id"],
        client_id=row["client_id"],
        delivery_account_id=row["delivery_account_id"],
        status=SendStatus(row["status"]),
        order_id=row["order_id"],
    )


async def lock_buyer_sends(
    conn: Connection, account_id: int, lead_id: int, client_id: int
) -> list[BuyerSend]:
    """A buyer's sends of a lead, oldest first, locked while a sale is confirmed."""
    cursor = await conn.execute(
        q("lock_buyer_sends"),
        {"account_id": account_id, "lead_id": lead_id, "client_id": client_id},
    )
    return [
        BuyerSend(r["id"], SendStatus(r["status"]), r["price"], r["returned_at"], r["confirmed_at"])
        for r in await cursor.fetchall()
    ]


async def confirm(
    conn: Connection, account_id: int, shares: Sequence[tuple[int, Decimal]]
) -> list[tuple[int, datetime]]:
    """Confirm sales (a rejected send becomes sold), each with what it added to the source's
    price; the ids confirmed now, with when."""
    cursor = await conn.execute(
        q("confirm_sends"),
        {
            "account_id": account_id,
            "ids": [send_id for send_id, _ in shares],
            "shares": [share for _, share in shares],
        },
    )
    return [(r["id"], r["confirmed_at"]) for r in await cursor.fetchall()]


async def lock_redirected(conn: Connection, account_id: int, lead_id: int, url: str) -> int | None:
    """The lead's latest send that redirected to `url`, locked; None when there is none."""
    cursor = await conn.execute(
        q("find_redirect_send"), {"account_id": account_id, "lead_id": lead_id, "url": url}
    )
    row = await cursor.fetchone()
    return None if row is None else int(row["id"])


async def notify_redirect(
    conn: Connection, account_id: int, send_id: int, valid: bool, response: str
) -> None:
    """Store whether the consumer reached the redirect; a later notification replaces it."""
    await conn.execute(
        q("notify_redirect"),
        {"account_id": account_id, "id": send_id, "valid": valid, "response": response},
    )
