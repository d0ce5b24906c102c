"""Use cases for buyers: saving them from config as code, and reading them back.

`save_clients` works inside the caller's transaction (config apply); every save bumps the
account's buyer version so each process's cached snapshot of the buyers reloads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg.types.json import Jsonb

from server.domain.buyers.specs import (
    AccountSpec,
    ClientSpec,
    merge_secrets,
    validate_account,
    validate_method,
)
from server.domain.catalog.fields import FieldSpec
from server.domain.catalog.rules import Operator
from server.domain.config.buyers_section import ClientEntry, ListEntry
from server.domain.intake.call_data import criteria_fields
from server.domain.matching.criteria import Criterion, CriterionType
from server.domain.matching.lists import list_value, validate_list
from server.errors import InvalidArgument, NotFound, Violation
from server.services.catalog import Action, Change, password_hash
from server.storage.database import Connection, Pool, transaction
from server.storage.queries import q

Row = dict[str, Any]


@dataclass
class SavedBuyers:
    clients: dict[str, int] = field(default_factory=dict)
    deliveries: dict[str, int] = field(default_factory=dict)  # "client/delivery" -> id
    accounts: dict[str, int] = field(default_factory=dict)  # "client/account" -> id
    orders: dict[str, int] = field(default_factory=dict)  # "client/order" -> id
    lists: dict[str, int] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)


def check_clients(
    entries: Sequence[ClientEntry],
    fields_by_type: Mapping[str, Sequence[FieldSpec]],
    zip_known: Callable[[str], bool],
) -> list[Violation]:
    """Problems that need the lead types' fields: mappings, templates and criteria."""
    problems: list[Violation] = []
    for entry in entries:
        type_of_delivery: dict[str | None, str] = {}
        for delivery in entry.deliveries:
            fields = fields_by_type.get(delivery.lead_type_key)
            if fields is None:
                if delivery.lead_type_key:
                    problems.append(
                        Violation(
                            f"{delivery.path}.lead_type",
                            f"no lead type with key {delivery.lead_type_key!r}",
                        )
                    )
                continue
            type_of_delivery[delivery.method.key] = delivery.lead_type_key
            names = [f.name for f in fields]
            problems.extend(validate_method(delivery.method, names, delivery.path))
        for account in entry.accounts:
            type_key = type_of_delivery.get(account.delivery_key)
            if type_key is None:
                continue
            by_name = criteria_fields(fields_by_type[type_key])
            problems.extend(validate_account(account.spec, by_name, account.path, zip_known))
    return problems


async def save_clients(
    conn: Connection,
    account_id: int,
    entries: Sequence[ClientEntry],
    type_ids: Mapping[str, int],
) -> SavedBuyers:
    """Create or update the document's buyers, their delivery methods and accounts by key."""
    saved = SavedBuyers()
    if not entries:
        return saved
    keys = [e.spec.key for e in entries if e.spec.key]
    cursor = await conn.execute(
        q("client_secrets_by_key"), {"account_id": account_id, "keys": keys}
    )
    stored = {row["key"]: row for row in await cursor.fetchall()}
    for entry in entries:
        spec = entry.spec
        key = spec.key or ""
        current = stored.get(key)
        params = {
            **client_params(account_id, spec, current["password_hash"] if current else None),
            "key": key,
        }
        client_id = await _upsert(conn, "upsert_client", params, "client", key, saved, 0)
        saved.clients[key] = client_id
        cursor = await conn.execute(
            q("delivery_settings_by_key"), {"account_id": account_id, "client_id": client_id}
        )
        old_settings = {row["key"]: row["settings"] for row in await cursor.fetchall()}
        delivery_ids: dict[str, int] = {}
        for delivery in entry.deliveries:
            method = delivery.method
            dkey = method.key or ""
            settings = merge_secrets(method.settings, old_settings.get(dkey, {}))
            delivery_id = await _upsert(
                conn,
                "upsert_delivery",
                {
                    "account_id": account_id,
                    "client_id": client_id,
                    "key": dkey,
                    "name": method.name,
                    "type": int(method.type),
                    "enabled": method.enabled,
                    "lead_type_id": type_ids[delivery.lead_type_key],
                    "settings": Jsonb(settings),
                },
                "delivery",
                f"{key}/{dkey}",
                saved,
                client_id,
            )
            delivery_ids[dkey] = delivery_id
            saved.deliveries[f"{key}/{dkey}"] = delivery_id
        for account in entry.accounts:
            a = account.spec
            akey = a.key or ""
            account_db_id = await _upsert(
                conn,
                "upsert_delivery_account",
                {
                    **account_params(account_id, client_id, delivery_ids[account.delivery_key], a),
                    "key": akey,
                },
                "account",
                f"{key}/{akey}",
                saved,
                client_id,
            )
            saved.accounts[f"{key}/{akey}"] = account_db_id
        await _save_orders(conn, account_id, entry, client_id, saved)
    if any(c.action is not Action.Unchanged for c in saved.changes):
        await conn.execute(q("bump_buyer_version"), {"account_id": account_id})
    return saved


async def _save_orders(
    conn: Connection, account_id: int, entry: ClientEntry, client_id: int, saved: SavedBuyers
) -> None:
    key = entry.spec.key or ""
    for order in entry.orders:
        spec = order.spec
        okey = spec.key or ""
        order_id = await _upsert(
            conn,
            "upsert_order",
            {
                "account_id": account_id,
                "client_id": client_id,
                "key": okey,
                "start_at": spec.start,
                "end_at": spec.end,
                "status": int(spec.status),
                "renewal": int(spec.renewal),
                "auto_charge": spec.auto_charge,
            },
            "order",
            f"{key}/{okey}",
            saved,
            client_id,
        )
        saved.orders[f"{key}/{okey}"] = order_id
        item_keys = [item.key or str(n) for n, item in enumerate(spec.items, start=1)]
        for item_key, item in zip(item_keys, spec.items, strict=True):
            await _upsert(
                conn,
                "upsert_order_item",
                {
                    "account_id": account_id,
                    "order_id": order_id,
                    "key": item_key,
                    "description": item.description,
                    "quantity": item.quantity,
                    "delivery_account_id": (
                        saved.accounts[f"{key}/{item.account_key}"] if item.account_key else None
                    ),
                },
                "order item",
                f"{key}/{okey}/{item_key}",
                saved,
                order_id,
            )
        cursor = await conn.execute(
            q("delete_stale_order_items"),
            {"account_id": account_id, "order_id": order_id, "keys": item_keys},
        )
        kept = await cursor.fetchall()
        if kept:
            names = ", ".join(repr(r["key"]) for r in kept)
            raise InvalidArgument(
                [
                    Violation(
                        f"{order.path}.items",
                        f"cannot drop items {names}: sends count against them",
                    )
                ]
            )


def check_lists(
    entries: Sequence[ListEntry], fields_by_type: Mapping[str, Sequence[FieldSpec]]
) -> list[Violation]:
    """Problems with distribution lists that need their lead types' fields."""
    problems: list[Violation] = []
    for entry in entries:
        fields = fields_by_type.get(entry.lead_type_key)
        if fields is None:
            if entry.lead_type_key:
                problems.append(
                    Violation(
                        f"{entry.path}.lead_type", f"no lead type with key {entry.lead_type_key!r}"
                    )
                )
            continue
        problems.extend(validate_list(entry.spec, [f.name for f in fields], entry.path))
    return problems


async def save_lists(
    conn: Connection,
    account_id: int,
    entries: Sequence[ListEntry],
    type_ids: Mapping[str, int],
    client_ids: Mapping[str, int],
) -> SavedBuyers:
    """Create or update distribution lists by key, with all their items; buyers are named by
    key (`client_ids` holds the document's, stored ones are looked up)."""
    saved = SavedBuyers()
    if not entries:
        return saved
    wanted = {e.spec.default_client_key for e in entries} | {
        i.client_key for e in entries for i in e.spec.items
    }
    missing = sorted(k for k in wanted - set(client_ids) if k)
    cursor = await conn.execute(q("client_ids_by_key"), {"account_id": account_id, "keys": missing})
    ids = {**{r["key"]: r["id"] for r in await cursor.fetchall()}, **client_ids}
    problems: list[Violation] = []
    for entry in entries:
        if entry.spec.default_client_key and entry.spec.default_client_key not in ids:
            problems.append(
                Violation(
                    f"{entry.path}.default_client",
                    f"no buyer with key {entry.spec.default_client_key!r}",
                )
            )
        for n, item in enumerate(entry.spec.items):
            if item.client_key and item.client_key not in ids:
                problems.append(
                    Violation(
                        f"{entry.path}.items[{n}].client", f"no buyer with key {item.client_key!r}"
                    )
                )
    if problems:
        raise InvalidArgument(problems)
    for entry in entries:
        spec = entry.spec
        key = spec.key or ""
        list_id = await _upsert(
            conn,
            "upsert_list",
            {
                "account_id": account_id,
                "key": key,
                "lead_type_id": type_ids[entry.lead_type_key],
                "description": spec.description,
                "field_name": spec.field,
                "default_client_id": ids.get(spec.default_client_key),
                "status": int(spec.status),
                "depend_field": spec.depend_field,
                "depend_value": list_value(spec.depend_value),
            },
            "distribution list",
            key,
            saved,
            0,
        )
        saved.lists[key] = list_id
        items = sorted(
            (list_value(i.value), i.value.strip(), ids.get(i.client_key)) for i in spec.items
        )
        cursor = await conn.execute(q("list_items"), {"account_id": account_id, "list_id": list_id})
        stored = [(r["value"], r["shown"], r["client_id"]) for r in await cursor.fetchall()]
        if stored != items:
            await conn.execute(
                q("replace_list_items"),
                {
                    "account_id": account_id,
                    "list_id": list_id,
                    "values": [i[0] for i in items],
                    "shown": [i[1] for i in items],
                    "client_ids": [i[2] for i in items],
                },
            )
            if saved.changes[-1].action is Action.Unchanged:
                saved.changes[-1] = Change("distribution list", key, Action.Updated)
    if any(c.action is not Action.Unchanged for c in saved.changes):
        await conn.execute(q("bump_buyer_version"), {"account_id": account_id})
    return saved


async def _upsert(
    conn: Connection,
    query: str,
    params: dict[str, Any],
    kind: str,
    label: str,
    saved: SavedBuyers,
    parent_id: int,
) -> int:
    cursor = await conn.execute(q(query), params)
    row = await cursor.fetchone()
    if row is not None:
        action = Action.Created if row["created"] else Action.Updated
        saved.changes.append(Change(kind, label, action))
        return int(row["id"])
    cursor = await conn.execute(
        q("id_by_key"),
        {
            "account_id": params["account_id"],
            "parent_id": parent_id,
            "key": params["key"],
            "kind": kind,
        },
    )
    found = await cursor.fetchone()
    assert found is not None
    saved.changes.append(Change(kind, label, Action.Unchanged))
    return int(found["id"])


def client_params(account_id: int, spec: ClientSpec, stored_hash: str | None) -> dict[str, Any]:
    """A buyer's columns as the upsert and the id-based saves write them (key and id apart);
    `stored_hash` is kept when the spec leaves the password unset."""
    return {
        "account_id": account_id,
        "name": spec.name,
        "status": int(spec.status),
        "client_group": spec.group,
        "time_zone": spec.time_zone,
        "contact": Jsonb(dict(spec.contact)),
        "username": spec.username,
        "password_hash": password_hash(spec.password, stored_hash),
        "automation": int(spec.automation),
        "secondary_automation": int(spec.secondary_automation),
        "priority": spec.priority,
        "weight": spec.weight,
        "delivery_group": spec.delivery_group,
        "use_delivery_tiers": spec.use_delivery_tiers,
        "notes": spec.notes,
    }


def account_params(
    account_id: int, client_id: int, delivery_id: int, spec: AccountSpec
) -> dict[str, Any]:
    """A delivery account's columns as the upsert and the id-based saves write them (key and
    id apart)."""
    return {
        "account_id": account_id,
        "client_id": client_id,
        "delivery_id": delivery_id,
        "description": spec.description,
        "price": spec.price,
        "hour_max": spec.hour_max,
        "day_max": spec.day_max,
        "month_max": spec.month_max,
        "use_order": spec.use_order,
        "status": int(spec.status),
        "delivery_delay_seconds": spec.delivery_delay_seconds,
        "redirect_url": spec.redirect_url,
        "automation_enabled": spec.automation_enabled,
        "account_type": int(spec.account_type),
        "agent_name": spec.agent_name,
        "agent_phone": spec.agent_phone,
        "criteria": Jsonb([criterion_json(c) for c in spec.criteria]),
    }


def criterion_from_json(stored: Mapping[str, Any]) -> Criterion:
    """A criterion as `criterion_json` stored it."""
    return Criterion(
        CriterionType(stored["type"]),
        stored["field"],
        Operator(stored["operator"]),
        stored["value"],
        stored.get("expression", ""),
    )


def criterion_json(c: Criterion) -> dict[str, Any]:
    return {
        "type": int(c.type),
        "field": c.field,
        "operator": int(c.operator),
        "value": c.value,
        "expression": c.expression,
    }


# -- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredClient:
    row: Row
    deliveries: list[Row]
    accounts: list[Row]
    orders: list[Row]


async def get_client(
    pool: Pool, account_id: int, client_id: int | None, key: str | None
) -> StoredClient:
    async with transaction(pool) as conn:
        found = await _clients(conn, account_id, client_id, key)
        if not found:
            raise NotFound(f"no buyer {client_id or key!r}")
        return found[0]


async def list_clients(pool: Pool, account_id: int) -> list[StoredClient]:
    async with transaction(pool) as conn:
        return await _clients(conn, account_id, None, None)


async def _clients(
    conn: Connection, account_id: int, client_id: int | None, key: str | None
) -> list[StoredClient]:
    cursor = await conn.execute(
        q("list_clients"), {"account_id": account_id, "id": client_id, "key": key}
    )
    clients = await cursor.fetchall()
    only = clients[0]["id"] if len(clients) == 1 else None
    scope = {"account_id": account_id, "client_id": only}
    cursor = await conn.execute(q("list_deliveries"), scope)
    deliveries = await cursor.fetchall()
    cursor = await conn.execute(q("list_delivery_accounts"), scope)
    accounts = await cursor.fetchall()
    cursor = await conn.execute(
        q("list_orders"), {"account_id": account_id, "client_ids": [only] if only else None}
    )
    orders = await cursor.fetchall()
    return [
        StoredClient(
            c,
            [d for d in deliveries if d["client_id"] == c["id"]],
            [a for a in accounts if a["client_id"] == c["id"]],
            [o for o in orders if o["client_id"] == c["id"]],
        )
        for c in clients
    ]


async def list_distribution_lists(pool: Pool, account_id: int) -> list[Row]:
    async with transaction(pool) as conn:
        cursor = await conn.execute(q("list_distribution_lists"), {"account_id": account_id})
        return await cursor.fetchall()
