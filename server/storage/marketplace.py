"""Reading and writing the marketplace: lead categories, resellers, lead pack categories,
lead packs, promo codes and pack purchases. Every call is account-scoped."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from server.domain.matching.criteria import Criterion
from server.domain.sales.marketplace import (
    LeadPack,
    Named,
    NamedKind,
    PackStatus,
    PackType,
    Price,
    PromoCode,
)
from server.errors import NotFound
from server.storage.buyers import criterion_from_json, criterion_json
from server.storage.database import Connection, unique_taken
from server.storage.queries import Row, fetch_all, fetch_one, q

_TAKEN = {
    "lead_categories_account_id_name_key": "a lead category of this name exists",
    "resellers_account_id_name_key": "a reseller of this name exists",
    "lead_pack_categories_account_id_name_key": "a lead pack category of this name exists",
    "promo_codes_account_id_code_key": "a promo code with this code exists",
}
_REFERENCE = re.compile(r"account_id_(\w+)_fkey$")
_LISTS = {
    "lead_category": "list_lead_categories",
    "reseller": "list_resellers",
    "pack_category": "list_pack_categories",
}


@contextmanager
def _references() -> Iterator[None]:
    """An id of a record the account does not have (a lead type, category, reseller, client,
    pack) as NotFound naming the column; a name or code already taken as AlreadyExists."""
    try:
        with unique_taken(_TAKEN):
            yield
    except psycopg.errors.ForeignKeyViolation as exc:
        found = _REFERENCE.search(exc.diag.constraint_name or "")
        column = found[1] if found else "a record it names"
        raise NotFound(f"{column}: no such record in the account") from exc


async def _written(conn: Connection, query: str, params: Mapping[str, Any]) -> Row | None:
    with _references():
        return await fetch_one(conn, query, params)


# -- named records -----------------------------------------------------------------------------


async def save_named(
    conn: Connection, account_id: int, kind: NamedKind, named: Named
) -> Named | None:
    """Create (id 0) or rename a named record; None when the account has none with the id."""
    verb = "insert" if named.id <= 0 else "update"
    params = {"account_id": account_id, "id": named.id, "name": named.name}
    row = await _written(conn, f"{verb}_{kind}", params)
    return None if row is None else Named(row["id"], row["name"])


async def list_named(conn: Connection, account_id: int, kind: NamedKind) -> list[Named]:
    rows = await fetch_all(conn, _LISTS[kind], {"account_id": account_id})
    return [Named(row["id"], row["name"]) for row in rows]


# -- lead packs --------------------------------------------------------------------------------


def _pack_params(account_id: int, pack: LeadPack) -> Row:
    return {
        "account_id": account_id,
        "id": pack.id,
        "description": pack.description,
        "pack_type": int(pack.pack_type),
        "lead_type_id": pack.lead_type_id,
        "lead_category_id": pack.lead_category_id or None,
        "pack_category_id": pack.pack_category_id or None,
        "reseller_id": pack.reseller_id or None,
        "quantity": pack.quantity,
        "price": pack.price,
        "expires_at": pack.expires_at,
        "start_day": pack.start_day,
        "end_day": pack.end_day,
        "order_min": pack.order_min,
        "order_max": pack.order_max,
        "include_over_max": pack.include_over_max,
        "criteria": Jsonb([criterion_json(c) for c in pack.criteria]),
        "status": int(pack.status),
    }


async def save_pack(conn: Connection, account_id: int, pack: LeadPack) -> int | None:
    """Create (id 0) or replace a lead pack; its id, None when the account has none with it."""
    verb = "insert" if pack.id <= 0 else "update"
    row = await _written(conn, f"{verb}_lead_pack", _pack_params(account_id, pack))
    return None if row is None else int(row["id"])


def _pack(row: Row) -> LeadPack:
    return LeadPack(
        id=row["id"],
        description=row["description"],
        pack_type=PackType(row["pack_type"]),
        lead_type_id=row["lead_type_id"],
        lead_type_name=row["lead_type_name"],
        quantity=row["quantity"],
        price=row["price"],
        lead_category_id=row["lead_category_id"] or 0,
        pack_category_id=row["pack_category_id"] or 0,
        reseller_id=row["reseller_id"] or 0,
        expires_at=row["expires_at"],
        start_day=row["start_day"],
        end_day=row["end_day"],
        order_min=row["order_min"],
        order_max=row["order_max"],
        include_over_max=row["include_over_max"],
        criteria=tuple(criterion_from_json(c) for c in row["criteria"]),
        status=PackStatus(row["status"]),
    )


async def list_packs(
    conn: Connection,
    account_id: int,
    *,
    pack_id: int = 0,
    pack_category_id: int = 0,
    pack_type: PackType = PackType.Not_Set,
    reseller_id: int = 0,
) -> list[LeadPack]:
    rows = await fetch_all(
        conn,
        "list_lead_packs",
        {
            "account_id": account_id,
            "id": pack_id,
            "pack_category_id": pack_category_id,
            "pack_type": int(pack_type),
            "reseller_id": reseller_id,
        },
    )
    return [_pack(row) for row in rows]


async def share_pack(conn: Connection, account_id: int, pack_id: int) -> LeadPack | None:
    """A lead pack, locked against changes until the transaction ends."""
    row = await fetch_one(conn, "share_lead_pack", {"account_id": account_id, "id": pack_id})
    return None if row is None else _pack(row)


# -- promo codes -------------------------------------------------------------------------------


def _promo(row: Row) -> PromoCode:
    return PromoCode(
        id=row["id"],
        code=row["code"],
        money_value=row["money_value"],
        percent_value=row["percent_value"],
        reseller_id=row["reseller_id"] or 0,
        expires_at=row["expires_at"],
        use_limit=row["use_limit"],
        client_id=row["client_id"] or 0,
        pack_ids=tuple(row["pack_ids"]),
        uses=int(row["uses"]),
    )


async def save_promo(conn: Connection, account_id: int, promo: PromoCode) -> int | None:
    """Create (id 0) or replace a promo code with the packs it applies to; its id, None when
    the account has none with it."""
    params = {
        "account_id": account_id,
        "id": promo.id,
        "reseller_id": promo.reseller_id or None,
        "code": promo.code,
        "money_value": promo.money_value,
        "percent_value": promo.percent_value,
        "expires_at": promo.expires_at,
        "use_limit": promo.use_limit,
        "client_id": promo.client_id or None,
    }
    verb = "insert" if promo.id <= 0 else "update"
    row = await _written(conn, f"{verb}_promo_code", params)
    if row is None:
        return None
    promo_id = int(row["id"])
    with _references():
        await conn.execute(
            q("set_promo_packs"),
            {"account_id": account_id, "promo_id": promo_id, "pack_ids": list(promo.pack_ids)},
        )
    return promo_id


async def list_promos(
    conn: Connection, account_id: int, reseller_id: int = 0, promo_id: int = 0
) -> list[PromoCode]:
    rows = await fetch_all(
        conn,
        "list_promo_codes",
        {"account_id": account_id, "reseller_id": reseller_id, "id": promo_id},
    )
    return [_promo(row) for row in rows]


async def lock_promo(conn: Connection, account_id: int, code: str) -> PromoCode | None:
    """A promo code by its code, locked until the transaction ends, with its uses counted
    under the lock; None when the account has no such code."""
    row = await fetch_one(conn, "lock_promo_code", {"account_id": account_id, "code": code})
    if row is None:
        return None
    counted = await fetch_one(
        conn, "count_promo_uses", {"account_id": account_id, "promo_id": row["id"]}
    )
    assert counted is not None
    return _promo({**row, "uses": counted["uses"]})


# -- purchases ---------------------------------------------------------------------------------


async def insert_purchase(
    conn: Connection,
    account_id: int,
    *,
    pack_id: int,
    client_id: int,
    delivery_account_id: int,
    quantity: int,
    price: Price,
    promo_id: int,
    order_id: int,
) -> int:
    row = await fetch_one(
        conn,
        "insert_pack_purchase",
        {
            "account_id": account_id,
            "pack_id": pack_id,
            "client_id": client_id,
            "delivery_account_id": delivery_account_id,
            "quantity": quantity,
            "list_price": price.list_price,
            "discount": price.discount,
            "price": price.charged,
            "promo_id": promo_id or None,
            "order_id": order_id,
        },
    )
    assert row is not None
    return int(row["id"])


@dataclass(frozen=True)
class BuyingAccount:
    """A delivery account a pack is bought for."""

    client_id: int
    lead_type_id: int
    use_order: bool


async def buying_account(
    conn: Connection, account_id: int, delivery_account_id: int
) -> BuyingAccount | None:
    row = await fetch_one(
        conn, "pack_buyer_account", {"account_id": account_id, "id": delivery_account_id}
    )
    return None if row is None else BuyingAccount(**row)


# -- lead packs' terms on the orders bought from them ------------------------------------------


@dataclass(frozen=True)
class StoredOrderFilter:
    """An order bought from a lead pack: the pack's criteria and lead category as bought."""

    order_id: int
    pack_id: int
    lead_category_id: int  # 0: any
    criteria: tuple[Criterion, ...]


async def copy_pack_filter(conn: Connection, account_id: int, order_id: int, pack_id: int) -> None:
    """Copy a lead pack's criteria and lead category onto the order bought from it."""
    await conn.execute(
        q("insert_pack_order_filter"),
        {"account_id": account_id, "order_id": order_id, "pack_id": pack_id},
    )


async def order_filters(
    conn: Connection, account_id: int, lead_type_id: int
) -> list[StoredOrderFilter]:
    """The filters of the orders bought from a lead type's packs that may still take a lead
    (not closed, not ended for good)."""
    rows = await fetch_all(
        conn, "order_filters", {"account_id": account_id, "lead_type_id": lead_type_id}
    )
    return [
        StoredOrderFilter(
            r["order_id"],
            r["pack_id"],
            r["lead_category_id"],
            tuple(criterion_from_json(c) for c in r["criteria"]),
        )
        for r in rows
    ]
