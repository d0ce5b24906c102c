"""Reading aged leads, and writing clients' data pulls with the sales they make. Every call
is account-scoped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from server.domain.catalog.fields import Value
from server.domain.sales.marketplace import AgedWindow
from server.storage.database import Connection
from server.storage.queries import Row, fetch_all, fetch_one

EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


@dataclass(frozen=True)
class AgedCandidate:
    """A lead an aged search may offer, before its criteria are checked."""

    lead_id: int
    received_at: datetime
    campaign_id: int
    fields: Mapping[str, Value]
    sold: int  # standing sales


@dataclass(frozen=True)
class StoredPull:
    """A data pull as stored; `lead_ids` in the order pulled."""

    id: int
    client_id: int
    delivery_account_id: int
    total_price: Decimal
    status: int
    card_transaction_id: int
    lead_ids: tuple[int, ...]
    created_at: datetime


@dataclass(frozen=True)
class LeadToPull:
    """A lead a pull names: its lead type, and whether the client pulled it already."""

    lead_id: int
    lead_type_id: int
    pulled: bool


@dataclass(frozen=True)
class PulledLead:
    """A lead as a client bought it by a pull: when received, its price, its fields."""

    lead_id: int
    received_at: datetime
    price: Decimal
    fields: Mapping[str, Value]


async def aged_leads(
    conn: Connection,
    account_id: int,
    *,
    client_id: int,
    lead_type_id: int,
    window: AgedWindow,
    lead_category_id: int,
    over_max: bool,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[AgedCandidate]:
    """One page of the leads an aged search may offer, oldest first, after (received_at,
    lead id)."""
    after_at, after_id = after or (EPOCH, 0)
    rows = await fetch_all(
        conn,
        "aged_leads",
        {
            "account_id": account_id,
            "client_id": client_id,
            "lead_type_id": lead_type_id,
            "newest": window.newest,
            "oldest": window.oldest,
            "lead_category_id": lead_category_id,
            "over_max": over_max,
            "after_at": after_at,
            "after_id": after_id,
            "limit": limit,
        },
    )
    return [
        AgedCandidate(row["id"], row["received_at"], row["campaign_id"], row["fields"], row["sold"])
        for row in rows
    ]


def _pull(row: Row) -> StoredPull:
    return StoredPull(
        id=row["id"],
        client_id=row["client_id"],
        delivery_account_id=row["delivery_account_id"],
        total_price=row["total_price"],
        status=row["status"],
        card_transaction_id=row["card_transaction_id"],
        lead_ids=tuple(row["lead_ids"]),
        created_at=row["created_at"],
    )


async def lock_client_pulls(conn: Connection, account_id: int, client_id: int) -> None:
    """Serialise the client's pulls until the transaction ends."""
    await fetch_one(conn, "lock_client_pulls", {"account_id": account_id, "client_id": client_id})


async def lock_pull(conn: Connection, account_id: int, pull_id: int) -> StoredPull | None:
    """A data pull, locked until the transaction ends (to edit it)."""
    row = await fetch_one(conn, "lock_data_pull", {"account_id": account_id, "id": pull_id})
    return None if row is None else _pull(row)


async def get_pull(conn: Connection, account_id: int, pull_id: int) -> StoredPull | None:
    row = await fetch_one(conn, "get_data_pull", {"account_id": account_id, "id": pull_id})
    return None if row is None else _pull(row)


async def insert_pull(
    conn: Connection,
    account_id: int,
    *,
    client_id: int,
    delivery_account_id: int,
    total_price: Decimal,
    status: int,
    card_transaction_id: int,
    lead_ids: Sequence[int],
) -> StoredPull:
    row = await fetch_one(
        conn,
        "insert_data_pull",
        {
            "account_id": account_id,
            "client_id": client_id,
            "delivery_account_id": delivery_account_id,
            "total_price": total_price,
            "status": status,
            "card_transaction_id": card_transaction_id,
            "lead_ids": list(lead_ids),
        },
    )
    assert row is not None
    return _pull(row)


async def update_pull(
    conn: Connection,
    account_id: int,
    pull_id: int,
    *,
    total_price: Decimal,
    status: int,
    card_transaction_id: int,
    lead_ids: Sequence[int],
) -> StoredPull:
    row = await fetch_one(
        conn,
        "update_data_pull",
        {
            "account_id": account_id,
            "id": pull_id,
            "total_price": total_price,
            "status": status,
            "card_transaction_id": card_transaction_id,
            "lead_ids": list(lead_ids),
        },
    )
    assert row is not None
    return _pull(row)


async def leads_to_pull(
    conn: Connection, account_id: int, client_id: int, lead_ids: Sequence[int]
) -> dict[int, LeadToPull]:
    """The named leads the account has, by id."""
    rows = await fetch_all(
        conn,
        "leads_to_pull",
        {"account_id": account_id, "client_id": client_id, "ids": list(lead_ids)},
    )
    return {row["id"]: LeadToPull(row["id"], row["lead_type_id"], row["pulled"]) for row in rows}


async def sell_pulled(
    conn: Connection,
    account_id: int,
    pull: StoredPull,
    prices: Mapping[int, Decimal],
) -> list[int]:
    """Sell each lead to the pull's delivery account at its price (a sold send and the
    client's record of the lead pulled); the leads sold. A lead the client pulled already
    breaks the client's primary key: callers sell only leads `leads_to_pull` found new,
    under `lock_client_pulls`."""
    ids = list(prices)
    rows = await fetch_all(
        conn,
        "sell_pulled_leads",
        {
            "account_id": account_id,
            "client_id": pull.client_id,
            "delivery_account_id": pull.delivery_account_id,
            "pull_id": pull.id,
            "ids": ids,
            "prices": [prices[i] for i in ids],
        },
    )
    return [int(row["lead_id"]) for row in rows]


async def pulled_leads(conn: Connection, account_id: int, pull_id: int) -> list[PulledLead]:
    """A pull's leads as the client bought them, in the pull's order."""
    rows = await fetch_all(conn, "pulled_leads", {"account_id": account_id, "id": pull_id})
    return [PulledLead(row["id"], row["received_at"], row["price"], row["fields"]) for row in rows]
