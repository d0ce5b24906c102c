"""Reading and writing buyers (clients), their delivery methods and delivery accounts, and the
account's buyer version. Every call is account-scoped.

Saves by key (config as code) return what they did (`Upserted`); saves by id return whether
they wrote. The caller bumps the buyer version when anything was written, so each process's
cached snapshot of the buyers reloads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from server.domain.buyers.offers import StaticOffer
from server.domain.buyers.records import (
    BuyerContact,
    ClientGroup,
    StoredClient,
    StoredDelivery,
    StoredDeliveryAccount,
)
from server.domain.buyers.specs import (
    PORTAL_SETTINGS,
    AccountType,
    ClientSpec,
    ClientStatus,
    DeliveryAccountSpec,
    DeliveryMethod,
    PortalSettings,
)
from server.domain.catalog.rules import Operator
from server.domain.catalog.specs import Status
from server.domain.delivery.spec import DeliveryType
from server.domain.matching.criteria import Criterion, CriterionType
from server.domain.matching.selection import Automation
from server.storage import offers, orders
from server.storage.database import Connection, reference_known, unique_taken
from server.storage.queries import Row, fetch_all, fetch_one, q
from server.storage.upserts import Upserted, upsert

# Unique constraints a save by id can break, as the caller should read them.
_TAKEN = {
    "clients_account_id_key_key": "a buyer with this key already exists",
    "clients_username": "this portal user name is already taken",
    "deliveries_account_id_client_id_key_key": (
        "the buyer already has a delivery method with this key"
    ),
    "delivery_accounts_account_id_client_id_key_key": (
        "the buyer already has a delivery account with this key"
    ),
}


# A delivery method naming a lead category the account does not have.
_KNOWN = {
    "deliveries_account_id_lead_category_id_fkey": (
        "lead_category_id: no such lead category in the account"
    )
}


async def _written(conn: Connection, query: str, params: Mapping[str, Any]) -> Row | None:
    """A save by id's row (None when it wrote nothing); a key or user name already taken is
    AlreadyExists, a lead category the account does not have NotFound."""
    with unique_taken(_TAKEN), reference_known(_KNOWN):
        return await fetch_one(conn, query, params)


# -- criteria as stored ------------------------------------------------------------------------


def criterion_json(c: Criterion) -> dict[str, Any]:
    """A delivery account's criterion as its `criteria` column stores it; id 0 (new) is
    numbered by the statement that writes it (numbered_criteria, migration 0019)."""
    return {
        "id": c.id,
        "type": int(c.type),
        "field": c.field,
        "operator": int(c.operator),
        "value": c.value,
        "expression": c.expression,
    }


def criterion_from_json(stored: Mapping[str, Any]) -> Criterion:
    """A criterion as `criterion_json` stored it."""
    return Criterion(
        CriterionType(stored["type"]),
        stored["field"],
        Operator(stored["operator"]),
        stored["value"],
        stored.get("expression", ""),
        id=stored.get("id", 0),
    )


# -- portal settings as stored -----------------------------------------------------------------


def portal_json(settings: PortalSettings) -> dict[str, bool]:
    """A buyer's portal settings as its `portal` column stores them: the ones that are on, so
    that '{}' (every buyer's before they were kept) is all off."""
    return {name: True for name in PORTAL_SETTINGS if getattr(settings, name)}


def portal_from_json(stored: Mapping[str, Any]) -> PortalSettings:
    """Portal settings as `portal_json` stored them."""
    return PortalSettings(**{name: stored.get(name) is True for name in PORTAL_SETTINGS})


# -- columns -----------------------------------------------------------------------------------


def _client_params(account_id: int, spec: ClientSpec, password_hash: str | None) -> Row:
    """A buyer's columns as the upsert and the saves by id write them (key and id apart)."""
    return {
        "account_id": account_id,
        "name": spec.name,
        "status": int(spec.status),
        "client_group": spec.group,
        "time_zone": spec.time_zone,
        "contact": Jsonb(dict(spec.contact)),
        "username": spec.username,
        "password_hash": password_hash,
        "automation": int(spec.automation),
        "secondary_automation": int(spec.secondary_automation),
        "priority": spec.priority,
        "weight": spec.weight,
        "delivery_group": spec.delivery_group,
        "use_delivery_tiers": spec.use_delivery_tiers,
        "notes": spec.notes,
        "portal": Jsonb(portal_json(spec.portal)),
    }


def _delivery_params(account_id: int, client_id: int, method: DeliveryMethod) -> Row:
    """A delivery method's columns as the upsert and the saves by id write them (key and id
    apart)."""
    return {
        "account_id": account_id,
        "client_id": client_id,
        "name": method.name,
        "type": int(method.type),
        "enabled": method.enabled,
        "lead_type_id": method.lead_type_id,
        "settings": Jsonb(method.settings),
        "lead_category_id": method.lead_category_id,
    }


def _delivery_account_params(account_id: int, client_id: int, spec: DeliveryAccountSpec) -> Row:
    """A delivery account's columns as the upsert and the saves by id write them (key and id
    apart)."""
    return {
        "account_id": account_id,
        "client_id": client_id,
        "delivery_id": spec.delivery_id,
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


# -- saving by key (config as code) ------------------------------------------------------------


async def client_password_hashes(
    conn: Connection, account_id: int, keys: Sequence[str]
) -> dict[str, str | None]:
    """Stored buyers' password hashes, by key."""
    rows = await fetch_all(conn, "client_secrets_by_key", {"account_id": account_id, "keys": keys})
    return {row["key"]: row["password_hash"] for row in rows}


async def upsert_client(
    conn: Connection, account_id: int, key: str, spec: ClientSpec, password_hash: str | None
) -> Upserted:
    params = {**_client_params(account_id, spec, password_hash), "key": key}
    return await upsert(conn, "upsert_client", params, "client", 0)


async def delivery_settings(
    conn: Connection, account_id: int, client_id: int
) -> dict[str, Mapping[str, Any]]:
    """A buyer's delivery methods' stored settings, by key (to keep secrets left unset)."""
    rows = await fetch_all(
        conn, "delivery_settings_by_key", {"account_id": account_id, "client_id": client_id}
    )
    return {row["key"]: row["settings"] for row in rows}


async def upsert_delivery(
    conn: Connection, account_id: int, client_id: int, key: str, method: DeliveryMethod
) -> Upserted:
    params = {**_delivery_params(account_id, client_id, method), "key": key}
    return await upsert(conn, "upsert_delivery", params, "delivery", client_id)


async def upsert_delivery_account(
    conn: Connection, account_id: int, client_id: int, key: str, spec: DeliveryAccountSpec
) -> Upserted:
    params = {**_delivery_account_params(account_id, client_id, spec), "key": key}
    saved = await upsert(conn, "upsert_delivery_account", params, "account", client_id)
    if await offers.save_offer(conn, account_id, saved.id, spec.offer) and not saved.changed:
        return replace(saved, changed=True)
    return saved


async def client_ids_by_key(
    conn: Connection, account_id: int, keys: Sequence[str]
) -> dict[str, int]:
    rows = await fetch_all(conn, "client_ids_by_key", {"account_id": account_id, "keys": keys})
    return {row["key"]: row["id"] for row in rows}


async def bump_buyer_version(conn: Connection, account_id: int) -> None:
    """Mark the account's buyers as changed, so every process reloads its cached snapshot."""
    await conn.execute(q("bump_buyer_version"), {"account_id": account_id})


async def analyze_buyers(conn: Connection) -> None:
    """Fresh planner statistics for the buyer tables the engine joins (after a bulk load)."""
    await conn.execute(q("analyze_buyers"), prepare=False)


# -- saving by id ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LockedClient:
    """A buyer locked for an edit: what the edit keeps of it."""

    password_hash: str | None


@dataclass(frozen=True)
class LockedDelivery:
    """A delivery method locked for an edit: its buyer, lead type and stored settings."""

    client_id: int
    lead_type_id: int
    settings: Mapping[str, Any]


async def lock_client(conn: Connection, account_id: int, client_id: int) -> LockedClient | None:
    row = await fetch_one(conn, "client_for_update", {"account_id": account_id, "id": client_id})
    return None if row is None else LockedClient(row["password_hash"])


async def insert_client(
    conn: Connection, account_id: int, spec: ClientSpec, password_hash: str | None
) -> int:
    params = {**_client_params(account_id, spec, password_hash), "key": spec.key}
    row = await _written(conn, "insert_client", params)
    assert row is not None
    return int(row["id"])


async def update_client(
    conn: Connection,
    account_id: int,
    client_id: int,
    spec: ClientSpec,
    password_hash: str | None,
) -> bool:
    """Change a buyer (a key of None keeps the stored one); whether anything was written."""
    params = {**_client_params(account_id, spec, password_hash), "id": client_id, "key": spec.key}
    return await _written(conn, "update_client", params) is not None


async def known_clients(conn: Connection, account_id: int, ids: Sequence[int]) -> set[int]:
    """Which of these ids are buyers of the account."""
    rows = await fetch_all(conn, "clients_by_id", {"account_id": account_id, "ids": list(ids)})
    return {row["id"] for row in rows}


async def lock_delivery(
    conn: Connection, account_id: int, delivery_id: int
) -> LockedDelivery | None:
    row = await fetch_one(
        conn, "delivery_for_update", {"account_id": account_id, "id": delivery_id}
    )
    if row is None:
        return None
    return LockedDelivery(row["client_id"], row["lead_type_id"], row["settings"])


async def insert_delivery(
    conn: Connection, account_id: int, client_id: int, method: DeliveryMethod
) -> int:
    params = {**_delivery_params(account_id, client_id, method), "key": method.key}
    row = await _written(conn, "insert_delivery", params)
    assert row is not None
    return int(row["id"])


async def update_delivery(
    conn: Connection, account_id: int, delivery_id: int, client_id: int, method: DeliveryMethod
) -> bool:
    """Change a delivery method (a key of None keeps the stored one); whether anything was
    written."""
    params = {
        **_delivery_params(account_id, client_id, method),
        "id": delivery_id,
        "key": method.key,
    }
    return await _written(conn, "update_delivery", params) is not None


async def criteria_by_key(
    conn: Connection, account_id: int, client_id: int
) -> dict[str, tuple[Criterion, ...]]:
    """A buyer's delivery accounts' stored criteria, by key (to keep their ids)."""
    rows = await fetch_all(
        conn, "criteria_by_key", {"account_id": account_id, "client_id": client_id}
    )
    return {row["key"]: tuple(criterion_from_json(c) for c in row["criteria"]) for row in rows}


async def criteria_through(
    conn: Connection, account_id: int, delivery_id: int
) -> list[tuple[int, tuple[Criterion, ...]]]:
    """The delivery accounts that deliver through one delivery method, by id, with their
    criteria."""
    rows = await fetch_all(
        conn, "accounts_of_delivery", {"account_id": account_id, "delivery_id": delivery_id}
    )
    return [(row["id"], tuple(criterion_from_json(c) for c in row["criteria"])) for row in rows]


async def lock_delivery_account(
    conn: Connection, account_id: int, delivery_account_id: int
) -> int | None:
    """Lock a delivery account for an edit; its buyer's id, None when there is none."""
    row = await fetch_one(
        conn, "delivery_account_for_update", {"account_id": account_id, "id": delivery_account_id}
    )
    return None if row is None else int(row["client_id"])


async def insert_delivery_account(
    conn: Connection, account_id: int, client_id: int, spec: DeliveryAccountSpec
) -> int:
    params = {**_delivery_account_params(account_id, client_id, spec), "key": spec.key}
    row = await _written(conn, "insert_delivery_account", params)
    assert row is not None
    await offers.save_offer(conn, account_id, int(row["id"]), spec.offer)
    return int(row["id"])


async def update_delivery_account(
    conn: Connection,
    account_id: int,
    delivery_account_id: int,
    client_id: int,
    spec: DeliveryAccountSpec,
) -> bool:
    """Change a delivery account (a key of None keeps the stored one); whether anything was
    written."""
    params = {
        **_delivery_account_params(account_id, client_id, spec),
        "id": delivery_account_id,
        "key": spec.key,
    }
    written = await _written(conn, "update_delivery_account", params) is not None
    return await offers.save_offer(conn, account_id, delivery_account_id, spec.offer) or written


async def delivery_accounts_of_client(
    conn: Connection, account_id: int, client_id: int, ids: Sequence[int]
) -> set[int]:
    """Which of these ids are delivery accounts of one buyer."""
    rows = await fetch_all(
        conn,
        "delivery_accounts_of_client",
        {"account_id": account_id, "client_id": client_id, "ids": list(ids)},
    )
    return {row["id"] for row in rows}


# -- reading -----------------------------------------------------------------------------------


def delivery_method(row: Row) -> DeliveryMethod:
    """A delivery method from a row of `deliveries` (type, lead type, settings, name, key,
    enabled), whatever else the row holds."""
    return DeliveryMethod(
        type=DeliveryType(row["type"]),
        lead_type_id=row["lead_type_id"],
        settings=row["settings"],
        name=row["name"],
        key=row["key"],
        enabled=row["enabled"],
        lead_category_id=row.get("lead_category_id"),
    )


def _delivery(row: Row) -> StoredDelivery:
    return StoredDelivery(
        id=row["id"],
        client_id=row["client_id"],
        method=delivery_method(row),
        created_at=row["created_at"],
        field_ids=row["field_ids"],
    )


def delivery_account_from_row(row: Mapping[str, Any]) -> StoredDeliveryAccount:
    """A delivery account from a row with the columns `list_delivery_accounts` reads."""
    return StoredDeliveryAccount(
        id=row["id"],
        client_id=row["client_id"],
        spec=DeliveryAccountSpec(
            delivery_id=row["delivery_id"],
            key=row["key"],
            description=row["description"],
            price=row["price"],
            hour_max=row["hour_max"],
            day_max=row["day_max"],
            month_max=row["month_max"],
            use_order=row["use_order"],
            status=Status(row["status"]),
            delivery_delay_seconds=row["delivery_delay_seconds"],
            redirect_url=row["redirect_url"],
            automation_enabled=row["automation_enabled"],
            account_type=AccountType(row["account_type"]),
            agent_name=row["agent_name"],
            agent_phone=row["agent_phone"],
            criteria=tuple(criterion_from_json(c) for c in row["criteria"]),
            offer=_offer(row.get("offer")),
        ),
        field_ids=row.get("field_ids") or {},
        offer_id=int(row["offer"]["id"]) if row.get("offer") else 0,
    )


def _offer(stored: Mapping[str, Any] | None) -> StaticOffer | None:
    """The offer a row reads as jsonb (its amount as text)."""
    if not stored:
        return None
    return offers.offer_from_row({**stored, "amount": Decimal(stored["amount"])})


async def list_clients(
    conn: Connection, account_id: int, client_id: int | None = None, key: str | None = None
) -> list[StoredClient]:
    """The account's buyers (or the one with this id or key), each with its delivery methods,
    delivery accounts and orders."""
    clients = await fetch_all(
        conn, "list_clients", {"account_id": account_id, "id": client_id, "key": key}
    )
    only = clients[0]["id"] if len(clients) == 1 else None
    scope = {"account_id": account_id, "client_id": only}
    deliveries = [_delivery(row) for row in await fetch_all(conn, "list_deliveries", scope)]
    delivery_accounts = [
        delivery_account_from_row(row)
        for row in await fetch_all(conn, "list_delivery_accounts", scope)
    ]
    found_orders = await orders.list_orders(conn, account_id, [only] if only else None)
    return [
        StoredClient(
            id=row["id"],
            spec=ClientSpec(
                name=row["name"],
                key=row["key"],
                status=ClientStatus(row["status"]),
                group=row["client_group"],
                time_zone=row["time_zone"],
                contact=row["contact"],
                username=row["username"],
                automation=Automation(row["automation"]),
                secondary_automation=Automation(row["secondary_automation"]),
                priority=row["priority"],
                weight=row["weight"],
                delivery_group=row["delivery_group"],
                use_delivery_tiers=row["use_delivery_tiers"],
                notes=row["notes"],
                portal=portal_from_json(row["portal"]),
            ),
            has_password=row["has_password"],
            created_at=row["created_at"],
            deliveries=tuple(d for d in deliveries if d.client_id == row["id"]),
            delivery_accounts=tuple(a for a in delivery_accounts if a.client_id == row["id"]),
            orders=tuple(o for o in found_orders if o.client_id == row["id"]),
            group_id=row["group_id"] or 0,
        )
        for row in clients
    ]


async def get_delivery(
    conn: Connection, account_id: int, delivery_id: int
) -> StoredDelivery | None:
    row = await fetch_one(conn, "delivery_by_id", {"account_id": account_id, "id": delivery_id})
    return None if row is None else _delivery(row)


async def get_delivery_account(
    conn: Connection, account_id: int, delivery_account_id: int
) -> StoredDeliveryAccount | None:
    row = await fetch_one(
        conn, "delivery_account_by_id", {"account_id": account_id, "id": delivery_account_id}
    )
    return None if row is None else delivery_account_from_row(row)


async def client_groups(conn: Connection, account_id: int) -> list[ClientGroup]:
    """The account's client groups in use, with how many buyers each has."""
    rows = await fetch_all(conn, "client_groups", {"account_id": account_id})
    return [
        ClientGroup(row["name"], row["client_count"], row["id"], row["display_order"])
        for row in rows
    ]


async def lock_client_group(conn: Connection, account_id: int, group_id: int) -> ClientGroup | None:
    row = await fetch_one(
        conn, "client_group_for_update", {"account_id": account_id, "id": group_id}
    )
    return (
        None if row is None else ClientGroup(row["description"], 0, row["id"], row["display_order"])
    )


async def save_client_group(
    conn: Connection, account_id: int, group: ClientGroup, old_name: str | None
) -> int:
    """Create the group (old_name None) or change it, renaming it on its buyers. A name
    another group has is AlreadyExists."""
    params = {
        "account_id": account_id,
        "id": group.id,
        "description": group.name,
        "display_order": group.display_order,
    }
    if old_name is None:
        row = await fetch_one(conn, "insert_client_group", params)
        assert row is not None
        return int(row["id"])
    await conn.execute(q("update_client_group"), params)
    await conn.execute(q("rename_client_group"), {**params, "old": old_name})
    return group.id


# -- the engine's and the manual operations' reads ------------------------------------------


@dataclass(frozen=True)
class SnapshotEntry:
    """A delivery account that could take a lead of a lead type, with its buyer and delivery
    method, as the engine's buyer cache compiles it."""

    account: StoredDeliveryAccount
    client_name: str
    client_status: ClientStatus
    time_zone: str
    automation: Automation
    secondary_automation: Automation
    priority: int
    weight: int
    use_delivery_tiers: bool
    method: DeliveryMethod  # lead_type_id 0: the lead type asked for


@dataclass(frozen=True)
class BuyerForSend:
    """A buyer as a manual send to it checks it."""

    id: int
    name: str
    use_delivery_tiers: bool


@dataclass(frozen=True)
class DeliveryAccountOwner:
    """Whose a delivery account is and which lead type its delivery method delivers."""

    id: int
    client_id: int
    delivery_id: int
    lead_type_id: int


async def buyer_version(conn: Connection, account_id: int) -> int:
    """The account's buyer version: every save of a buyer changes it."""
    row = await fetch_one(conn, "buyer_version", {"account_id": account_id})
    return int(row["version"]) if row else 0


def snapshot_entry(row: Mapping[str, Any]) -> SnapshotEntry:
    """A row of `buyer_snapshot` as its record."""
    return SnapshotEntry(
        account=delivery_account_from_row(row),
        client_name=row["client_name"],
        client_status=ClientStatus(row["client_status"]),
        time_zone=row["time_zone"],
        automation=Automation(row["automation"]),
        secondary_automation=Automation(row["secondary_automation"]),
        priority=row["priority"],
        weight=row["weight"],
        use_delivery_tiers=row["use_delivery_tiers"],
        method=DeliveryMethod(
            type=DeliveryType(row["delivery_type"]),
            lead_type_id=0,
            settings=row["settings"],
            name=row["delivery_name"],
            enabled=row["delivery_enabled"],
        ),
    )


async def snapshot(conn: Connection, account_id: int, lead_type_id: int) -> list[SnapshotEntry]:
    """Every delivery account whose delivery method serves the lead type, by id. Thousands of
    rows become records in a thread, so requests and deliveries go on meanwhile."""
    rows = await fetch_all(
        conn, "buyer_snapshot", {"account_id": account_id, "lead_type_id": lead_type_id}
    )
    return await asyncio.to_thread(lambda: [snapshot_entry(row) for row in rows])


async def lock_for_send(conn: Connection, account_id: int, delivery_account_id: int) -> None:
    """Lock a delivery account while a send to it is decided: its caps hold across processes."""
    await conn.execute(
        q("lock_delivery_account_for_send"), {"account_id": account_id, "id": delivery_account_id}
    )


async def rotation_states(
    conn: Connection, account_id: int, client_ids: Sequence[int]
) -> dict[int, tuple[int | None, int]]:
    """Buyers' rotation positions and the leads they were sent in the last 24 hours, by id."""
    if not client_ids:
        return {}
    rows = await fetch_all(
        conn, "client_states", {"account_id": account_id, "ids": list(client_ids)}
    )
    return {r["id"]: (r["rr_position"], r["served"]) for r in rows}


async def advance_rotation(conn: Connection, account_id: int, client_id: int) -> None:
    """The buyer was offered a lead through the rotation: it goes to the back of the line."""
    await conn.execute(q("advance_rotation"), {"account_id": account_id, "id": client_id})


async def buyer_for_send(conn: Connection, account_id: int, client_id: int) -> BuyerForSend | None:
    row = await fetch_one(conn, "get_operation_client", {"account_id": account_id, "id": client_id})
    return None if row is None else BuyerForSend(row["id"], row["name"], row["use_delivery_tiers"])


async def delivery_account_owner(
    conn: Connection, account_id: int, delivery_account_id: int
) -> DeliveryAccountOwner | None:
    row = await fetch_one(
        conn, "get_operation_account", {"account_id": account_id, "id": delivery_account_id}
    )
    if row is None:
        return None
    return DeliveryAccountOwner(
        row["id"], row["client_id"], row["delivery_id"], row["lead_type_id"]
    )


async def contacts(
    conn: Connection, account_id: int, client_ids: Sequence[int]
) -> list[BuyerContact]:
    """Buyers' names, contact details and notes."""
    rows = await fetch_all(
        conn, "client_contacts", {"account_id": account_id, "ids": list(client_ids)}
    )
    return [BuyerContact(r["id"], r["name"], dict(r["contact"]), r["notes"]) for r in rows]


async def delivery_accounts_of_lead_type(
    conn: Connection, account_id: int, lead_type_id: int
) -> list[StoredDeliveryAccount]:
    """The delivery accounts whose delivery method serves a lead type, by id."""
    rows = await fetch_all(
        conn, "lead_type_accounts", {"account_id": account_id, "lead_type_id": lead_type_id}
    )
    return [delivery_account_from_row(row) for row in rows]
