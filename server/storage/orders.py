"""Reading and writing buyers' orders with their items. Every call is account-scoped.

Saves by key (config as code) return what they did (`Upserted`); saves by id return whether
they wrote. An item that sends count against is never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from server.domain.sales.orders import (
    OrderEdit,
    OrderItemEdit,
    OrderItemSpec,
    OrderSpec,
    OrderState,
    OrderStatus,
    Period,
    Renewal,
    StoredOrder,
    StoredOrderItem,
    order_state,
)
from server.storage.database import Connection, unique_taken
from server.storage.queries import Row, fetch_all, fetch_one, q
from server.storage.upserts import Upserted, upsert

# Unique constraints a save by id can break, as the caller should read them.
_TAKEN = {
    "client_orders_account_id_client_id_key_key": "the buyer already has an order with this key",
    "client_order_items_account_id_order_id_key_key": "the order already has an item with this key",
}


async def _written(conn: Connection, query: str, params: Mapping[str, Any]) -> Row | None:
    """A save by id's row (None when it wrote nothing); a key already taken is AlreadyExists."""
    with unique_taken(_TAKEN):
        return await fetch_one(conn, query, params)


# -- saving by key (config as code) ------------------------------------------------------------


async def upsert_order(
    conn: Connection, account_id: int, client_id: int, key: str, spec: OrderSpec
) -> Upserted:
    """Create or change a buyer's order; changing its dates starts its period again."""
    params = {
        "account_id": account_id,
        "client_id": client_id,
        "key": key,
        "start_at": spec.start,
        "end_at": spec.end,
        "status": int(spec.status),
        "renewal": int(spec.renewal),
        "auto_charge": spec.auto_charge,
    }
    return await upsert(conn, "upsert_order", params, "order", client_id)


async def upsert_order_item(
    conn: Connection,
    account_id: int,
    order_id: int,
    key: str,
    item: OrderItemSpec,
    delivery_account_id: int | None,
) -> Upserted:
    params = {
        "account_id": account_id,
        "order_id": order_id,
        "key": key,
        "description": item.description,
        "quantity": item.quantity,
        "delivery_account_id": delivery_account_id,
    }
    return await upsert(conn, "upsert_order_item", params, "order item", order_id)


async def delete_stale_order_items(
    conn: Connection, account_id: int, order_id: int, keys: Sequence[str]
) -> list[str]:
    """Drop the order's items whose key is not in `keys`, unless sends count against them;
    the keys of those kept."""
    rows = await fetch_all(
        conn,
        "delete_stale_order_items",
        {"account_id": account_id, "order_id": order_id, "keys": keys},
    )
    return [row["key"] for row in rows]


# -- saving by id ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LockedOrder:
    """An order locked for an edit: its buyer and the ids of its items."""

    client_id: int
    item_ids: tuple[int, ...]


@dataclass(frozen=True)
class LeftOutItem:
    """An order's item an edit left out: dropped, or kept because sends count against it."""

    id: int
    dropped: bool


async def lock_order(conn: Connection, account_id: int, order_id: int) -> LockedOrder | None:
    cursor = await conn.execute(q("order_for_update"), {"account_id": account_id, "id": order_id})
    row = await cursor.fetchone()
    return None if row is None else LockedOrder(row["client_id"], tuple(row["item_ids"]))


def _order_params(account_id: int, client_id: int, edit: OrderEdit) -> Row:
    return {
        "account_id": account_id,
        "id": edit.id,
        "client_id": client_id,
        "key": edit.key,
        "start_at": edit.start,
        "end_at": edit.end,
        "status": int(edit.status),
        "renewal": int(edit.renewal),
        "auto_charge": edit.auto_charge,
    }


async def insert_order(conn: Connection, account_id: int, client_id: int, edit: OrderEdit) -> int:
    """Create a buyer's order (without its items); its first period runs from start to end."""
    row = await _written(conn, "insert_order", _order_params(account_id, client_id, edit))
    assert row is not None
    return int(row["id"])


async def update_order(conn: Connection, account_id: int, client_id: int, edit: OrderEdit) -> bool:
    """Change an order (without its items) by edit.id; changing its dates starts its period
    again. Whether anything was written."""
    params = _order_params(account_id, client_id, edit)
    return await _written(conn, "update_order", params) is not None


def _item_params(account_id: int, order_id: int, item: OrderItemEdit) -> Row:
    return {
        "account_id": account_id,
        "order_id": order_id,
        "id": item.id,
        "key": item.key,
        "description": item.description,
        "quantity": item.quantity,
        "delivery_account_id": item.delivery_account_id or None,
    }


async def insert_order_item(
    conn: Connection, account_id: int, order_id: int, item: OrderItemEdit
) -> int:
    row = await _written(conn, "insert_order_item", _item_params(account_id, order_id, item))
    assert row is not None
    return int(row["id"])


async def update_order_item(
    conn: Connection, account_id: int, order_id: int, item: OrderItemEdit
) -> bool:
    """Change an order's item by item.id; whether anything was written."""
    params = _item_params(account_id, order_id, item)
    return await _written(conn, "update_order_item", params) is not None


async def delete_order_items_except(
    conn: Connection, account_id: int, order_id: int, ids: Sequence[int]
) -> list[LeftOutItem]:
    """Drop the order's items other than `ids`, unless sends count against them; every item
    left out, with whether it was dropped."""
    rows = await fetch_all(
        conn,
        "delete_order_items_by_id",
        {"account_id": account_id, "order_id": order_id, "ids": list(ids)},
    )
    return [LeftOutItem(row["id"], row["dropped"]) for row in rows]


# -- reading -----------------------------------------------------------------------------------


async def order_client(conn: Connection, account_id: int, order_id: int) -> int | None:
    """The buyer of one order, None when the account has no such order."""
    rows = await fetch_all(conn, "order_client", {"account_id": account_id, "id": order_id})
    return int(rows[0]["client_id"]) if rows else None


async def list_orders(
    conn: Connection, account_id: int, client_ids: Sequence[int] | None
) -> list[StoredOrder]:
    """The orders of these buyers (None: of every buyer of the account), by id, with their
    items and the sends counted against each in the order's current period."""
    rows = await fetch_all(
        conn,
        "list_orders",
        {"account_id": account_id, "client_ids": None if client_ids is None else list(client_ids)},
    )
    return [
        StoredOrder(
            id=row["id"],
            client_id=row["client_id"],
            key=row["key"],
            start=row["start_at"],
            end=row["end_at"],
            status=OrderStatus(row["status"]),
            renewal=Renewal(row["renewal"]),
            auto_charge=row["auto_charge"],
            period_start=row["period_start"],
            period_end=row["period_end"],
            renewals=row["renewals"],
            filtered=row["filtered"],
            items=tuple(
                StoredOrderItem(
                    id=item["id"],
                    key=item["key"],
                    description=item["description"],
                    quantity=item["quantity"],
                    delivery_account_id=item["account_id"],
                    held=item["held"],
                    sold=item["sold"],
                )
                for item in row["items"]
            ),
        )
        for row in rows
    ]


# -- the engine's and the manual operations' ---------------------------------------------------


@dataclass(frozen=True)
class ItemOfOrder:
    """An order item with its order's id and buyer; an order without items reads as one
    with `item_id` None."""

    order_id: int
    client_id: int
    item_id: int | None
    delivery_account_id: int | None  # None = any of the buyer's delivery accounts


async def order_states(
    conn: Connection, account_id: int, client_ids: Sequence[int]
) -> dict[int, list[OrderState]]:
    """The buyers' orders as the rules choosing one read them, by buyer."""
    found: dict[int, list[OrderState]] = {}
    for order in await list_orders(conn, account_id, client_ids):
        found.setdefault(order.client_id, []).append(order_state(order))
    return found


async def lock_client_orders(conn: Connection, account_id: int, client_id: int) -> None:
    """Lock a buyer's orders while a send against one of them is decided: order quantities
    hold across processes."""
    await conn.execute(q("lock_client_orders"), {"account_id": account_id, "client_id": client_id})


async def renew(conn: Connection, account_id: int, order_id: int, period: Period) -> None:
    """Move an order to its next period."""
    await conn.execute(
        q("renew_order"),
        {
            "account_id": account_id,
            "id": order_id,
            "period_start": period.start,
            "period_end": period.end,
        },
    )


async def items_of_order(conn: Connection, account_id: int, order_id: int) -> list[ItemOfOrder]:
    """An order's items, oldest first; none when the account has no such order."""
    rows = await fetch_all(
        conn, "get_order_items", {"account_id": account_id, "order_id": order_id}
    )
    return [
        ItemOfOrder(r["order_id"], r["client_id"], r["item_id"], r["delivery_account_id"])
        for r in rows
    ]


async def item(conn: Connection, account_id: int, item_id: int) -> ItemOfOrder | None:
    """One order item of the account, with its order and buyer."""
    rows = await fetch_all(conn, "get_order_item", {"account_id": account_id, "id": item_id})
    if not rows:
        return None
    r = rows[0]
    return ItemOfOrder(r["order_id"], r["client_id"], r["item_id"], r["delivery_account_id"])
