"""Pings' orders and the buyers' capacity they reserve. Every call is account-scoped.

A reservation counts against its delivery account's caps and its buyer's order item while its
order is unused and unexpired (`cap_counts` in sql/sends.sql, `list_orders` in
sql/orders.sql), so an expired order releases its capacity with nothing to sweep.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from psycopg.types.json import Jsonb

from server.domain.buyers.offers import StaticOffer
from server.domain.catalog.fields import Value
from server.domain.intake.offers import Offered
from server.domain.intake.ping import StoredOrder
from server.domain.intake.records import PingLog, ReservedBuyer
from server.storage.database import Connection
from server.storage.leads import stored_steps
from server.storage.offers import offer_from_json, offer_json
from server.storage.queries import fetch_all, fetch_one, q


@dataclass(frozen=True)
class Reservation:
    """One buyer an order holds, at its price, and the buyer's order item it counts on."""

    client_id: int
    delivery_account_id: int
    price: Decimal
    order_id: int | None = None
    order_item_id: int | None = None
    reference: str = ""  # the buyer's ping reference, when the auction priced it
    offer: StaticOffer | None = None  # its dynamic offer, read from its ping answer


@dataclass(frozen=True)
class NewOrder:
    """A ping's order to store."""

    id: str
    request_id: str  # the ping's post log entry
    source_id: int
    campaign_id: int
    lead_type_id: int
    values: Mapping[str, Value]  # the ping's eligibility values
    price: Decimal  # what the source is estimated to be paid
    seconds: int  # how long it lives
    reservations: Sequence[Reservation]


@dataclass(frozen=True)
class LockedOrder:
    """A ping's order locked for the post naming it, with its reservations in order."""

    order: StoredOrder
    reservations: tuple[Reservation, ...]


async def clock(conn: Connection, account_id: int) -> tuple[datetime, int]:
    """The transaction's clock and the account's buyer version."""
    row = await fetch_one(conn, "ping_clock", {"account_id": account_id})
    assert row is not None
    return row["now"], int(row["buyer_version"])


async def insert(conn: Connection, account_id: int, order: NewOrder) -> datetime:
    """Store an order and its reservations; when it expires."""
    row = await fetch_one(
        conn,
        "insert_ping_order",
        {
            "account_id": account_id,
            "id": order.id,
            "request_id": order.request_id,
            "source_id": order.source_id,
            "campaign_id": order.campaign_id,
            "lead_type_id": order.lead_type_id,
            "values": Jsonb(dict(order.values)),
            "price": order.price,
            "seconds": order.seconds,
            "reservations": Jsonb(
                [
                    {
                        "position": i,
                        "client_id": r.client_id,
                        "delivery_account_id": r.delivery_account_id,
                        "price": str(r.price),
                        "order_id": r.order_id,
                        "order_item_id": r.order_item_id,
                        "reference": r.reference,
                        "offer": None if r.offer is None else offer_json(r.offer),
                    }
                    for i, r in enumerate(order.reservations)
                ]
            ),
        },
    )
    assert row is not None
    expires_at: datetime = row["expires_at"]
    return expires_at


async def lock(conn: Connection, account_id: int, order_id: str) -> LockedOrder | None:
    """The account's order, locked, with `live` False until `live` reads it; None: no order."""
    row = await fetch_one(conn, "lock_ping_order", {"account_id": account_id, "id": order_id})
    if row is None:
        return None
    order = StoredOrder(
        id=str(row["id"]),
        campaign_id=int(row["campaign_id"]),
        values=row["values"],
        price=row["price"],
        used=row["used"],
        live=False,
    )
    reservations = tuple(
        Reservation(
            client_id=int(r["client_id"]),
            delivery_account_id=int(r["delivery_account_id"]),
            price=Decimal(r["price"]),
            order_id=r["order_id"],
            order_item_id=r["order_item_id"],
            reference=r["reference"],
        )
        for r in row["reservations"]
    )
    return LockedOrder(order, reservations)


async def order_offers(
    conn: Connection, account_id: int, order_id: str, campaign_id: int
) -> list[Offered] | None:
    """The offers of the buyers a campaign's order reserved, in order: each reservation's
    dynamic offer in place of its delivery account's static offer (a buyer with neither has
    none); None: no such order of the campaign."""
    rows = await fetch_all(
        conn,
        "ping_order_offers",
        {"account_id": account_id, "id": order_id, "campaign_id": campaign_id},
    )
    if not rows:
        return None
    return [
        Offered(
            id=int(row["id"]),
            delivery_account_id=int(row["delivery_account_id"]),
            client_id=int(row["client_id"]),
            client_name=row["client_name"],
            offer=offer_from_json(row["offer"]),
        )
        for row in rows
        if row["id"] is not None
    ]


async def live(conn: Connection, account_id: int, order_id: str) -> bool:
    """Whether a locked order is unexpired by the clock now (not the transaction's start)."""
    row = await fetch_one(conn, "ping_order_live", {"account_id": account_id, "id": order_id})
    return bool(row and row["live"])


async def use(conn: Connection, account_id: int, order_id: str, lead_id: int) -> None:
    """Mark an order used by a lead: its reservations stop counting."""
    await conn.execute(
        q("use_ping_order"), {"account_id": account_id, "id": order_id, "lead_id": lead_id}
    )


async def ping_log(conn: Connection, account_id: int, ping_id: str) -> PingLog | None:
    """A ping's log by its RequestID or OrderID (a UUID); None: the account has no such ping."""
    row = await fetch_one(conn, "get_ping_log", {"account_id": account_id, "id": ping_id})
    if row is None:
        return None
    return PingLog(
        request_id=str(row["request_id"]),
        received_at=row["received_at"],
        request=bytes(row["request_body"]),
        will_accept=row["is_valid"],
        response_type=row["response_type"],
        details=row["response_details"],
        steps=stored_steps(row["steps"]),
        price=row["price"],
        campaign_id=row["campaign_id"] or 0,
        order_id=str(row["order_id"]) if row["order_id"] else "",
        expires_at=row["expires_at"],
        used_at=row["used_at"],
        lead_id=row["lead_id"] or 0,
        reserved=tuple(
            ReservedBuyer(
                r["client_id"],
                r["client_name"],
                r["delivery_account_id"],
                Decimal(r["price"]),
                r["reference"],
            )
            for r in row["reservations"]
        ),
    )
