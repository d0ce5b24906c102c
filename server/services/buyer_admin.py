"""Use cases for editing buyers by id: LeadExec's AddEditClient, AddEditClientDelivery,
AddEditClientAccount, AddEditClientOrder and custom list calls, and the reads they need.

An id of 0 or -1 creates; any other id edits that entity of the account, and an id the
account does not hold is NotFound. Each save is checked with the same domain validators as
config as code (server/services/buyers.py), runs in one transaction, and bumps the account's
buyer version when it wrote something, so each process's cached snapshot of the buyers
reloads. A key left empty (None) keeps the stored one; a new entity may have none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from server.adapters import zip_codes
from server.domain.buyers.specs import (
    AccountSpec,
    ClientSpec,
    DeliveryMethod,
    merge_secrets,
    parse_clock,
    validate_account,
    validate_client,
    validate_method,
)
from server.domain.catalog.fields import FieldSpec
from server.domain.catalog.specs import Status
from server.domain.intake.call_data import criteria_fields
from server.domain.matching.lists import (
    DistributionListSpec,
    ListItemSpec,
    list_value,
    validate_list,
)
from server.domain.sales.orders import (
    OrderItemSpec,
    OrderSpec,
    OrderStatus,
    Renewal,
    validate_order,
)
from server.errors import AlreadyExists, InvalidArgument, NotFound, Violation
from server.services.buyers import account_params, client_params, criterion_from_json
from server.storage import catalog as store
from server.storage.database import Connection, Pool, transaction
from server.storage.queries import q

Row = dict[str, Any]
NEW = (0, -1)  # LeadExec creates on -1; proto3's unset 0 does the same

# Unique constraints an edit can break, as the caller should read them.
_TAKEN = {
    "clients_account_id_key_key": "a buyer with this key already exists",
    "clients_username": "this portal user name is already taken",
    "deliveries_account_id_client_id_key_key": (
        "the buyer already has a delivery method with this key"
    ),
    "delivery_accounts_account_id_client_id_key_key": (
        "the buyer already has a delivery account with this key"
    ),
    "client_orders_account_id_client_id_key_key": "the buyer already has an order with this key",
    "client_order_items_account_id_order_id_key_key": "the order already has an item with this key",
    "distribution_lists_account_id_key_key": "a distribution list with this key already exists",
}


@dataclass(frozen=True)
class OrderItemEdit:
    id: int  # 0 = a new item
    key: str | None
    description: str
    quantity: int
    account_id: int  # the buyer's delivery account it is for; 0 = any


@dataclass(frozen=True)
class OrderEdit:
    id: int
    client_id: int
    key: str | None
    start: datetime | None  # None when not given (refused)
    end: datetime | None
    status: OrderStatus
    renewal: Renewal
    auto_charge: bool
    items: tuple[OrderItemEdit, ...]

    def spec(self) -> OrderSpec:
        """The order as config as code validates it; a missing date is replaced by one that
        raises no second complaint."""
        start = self.start or (self.end - timedelta(seconds=1) if self.end else _EPOCH)
        end = self.end or start + timedelta(seconds=1)
        return OrderSpec(
            key=self.key,
            start=start,
            end=end,
            status=self.status,
            renewal=self.renewal,
            auto_charge=self.auto_charge,
            items=tuple(
                OrderItemSpec(i.key, i.description, i.quantity, str(i.account_id or ""))
                for i in self.items
            ),
        )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ListItemEdit:
    value: str
    client_id: int  # 0 = unassigned


@dataclass(frozen=True)
class ListEdit:
    id: int
    key: str | None
    lead_type_id: int
    description: str
    field: str
    default_client_id: int  # 0 = no catch-all buyer
    status: Status
    depend_field: str
    depend_value: str
    items: tuple[ListItemEdit, ...]

    def spec(self) -> DistributionListSpec:
        return DistributionListSpec(
            key=self.key,
            description=self.description,
            field=self.field,
            default_client_key=str(self.default_client_id or ""),
            status=self.status,
            depend_field=self.depend_field,
            depend_value=self.depend_value,
            items=tuple(ListItemSpec(i.value, str(i.client_id or "")) for i in self.items),
        )


def is_new(entity_id: int) -> bool:
    return entity_id in NEW


def _check(problems: Sequence[Violation]) -> None:
    if problems:
        raise InvalidArgument(problems)


@asynccontextmanager
async def _writing(pool: Pool) -> AsyncIterator[Connection]:
    """One save's transaction; a key or user name already taken is AlreadyExists."""
    try:
        async with transaction(pool) as conn:
            yield conn
    except psycopg.errors.UniqueViolation as exc:
        message = _TAKEN.get(exc.diag.constraint_name or "")
        if message is None:
            raise
        raise AlreadyExists(message) from exc


async def _row(conn: Connection, query: str, params: Mapping[str, Any]) -> Row | None:
    cursor = await conn.execute(q(query), params)
    return await cursor.fetchone()


async def _editing(
    conn: Connection, query: str, account_id: int, entity_id: int, what: str
) -> Row | None:
    """The stored row an edit changes, locked (`query`); None for a new entity; NotFound when
    the id names nothing of this account."""
    if is_new(entity_id):
        return None
    current = await _row(conn, query, {"account_id": account_id, "id": entity_id})
    if current is None:
        raise NotFound(f"no {what} {entity_id}")
    return current


async def _rows(conn: Connection, query: str, params: Mapping[str, Any]) -> list[Row]:
    cursor = await conn.execute(q(query), params)
    return await cursor.fetchall()


async def _bump(conn: Connection, account_id: int) -> None:
    await conn.execute(q("bump_buyer_version"), {"account_id": account_id})


async def _known_clients(conn: Connection, account_id: int, ids: Sequence[int]) -> set[int]:
    found = await _rows(conn, "clients_by_id", {"account_id": account_id, "ids": list(ids)})
    return {r["id"] for r in found}


async def _lead_type_fields(
    conn: Connection, account_id: int, lead_type_id: int
) -> list[FieldSpec]:
    found = await store.list_lead_types(conn, account_id, lead_type_id)
    if not found:
        raise NotFound(f"no lead type {lead_type_id}")
    return list(found[0][1].fields)


async def _owner(
    conn: Connection, account_id: int, client_id: int, stored_client: int | None, where: str
) -> int:
    """The buyer a delivery method, account or order belongs to: the stored one when editing
    (it cannot move), else `client_id`, which must be a buyer of the account."""
    if stored_client is not None:
        if client_id and client_id != stored_client:
            _check([Violation(f"{where}.client_id", "cannot move to another buyer")])
        return stored_client
    if not client_id:
        _check([Violation(f"{where}.client_id", "is required")])
    if not await _known_clients(conn, account_id, [client_id]):
        raise NotFound(f"no buyer {client_id}")
    return client_id


# -- buyers ------------------------------------------------------------------------------------


async def save_client(pool: Pool, account_id: int, client_id: int, spec: ClientSpec) -> int:
    """Create (id 0 or -1) or edit a buyer; its delivery methods, accounts and orders are
    saved on their own. Returns its id."""
    _check(validate_client(spec, "client"))
    async with _writing(pool) as conn:
        current = await _editing(conn, "client_for_update", account_id, client_id, "buyer")
        params = {
            **client_params(account_id, spec, current["password_hash"] if current else None),
            "id": client_id,
            "key": spec.key,
        }
        written = await _row(conn, "update_client" if current else "insert_client", params)
        if written is not None:
            await _bump(conn, account_id)
        return client_id if current else int(written["id"])  # type: ignore[index]


async def list_client_groups(pool: Pool, account_id: int) -> list[Row]:
    async with transaction(pool) as conn:
        return await _rows(conn, "client_groups", {"account_id": account_id})


# -- delivery methods --------------------------------------------------------------------------


def _clean_days(settings: Mapping[str, Any], where: str) -> tuple[dict[str, Any], list[Violation]]:
    """Malformed day times reported at their paths (as config as code reads them) and read as
    00:00, so validate_method checks the rest of the schedule."""
    problems: list[Violation] = []
    days = []
    for index, day in enumerate(settings.get("days", ())):
        cleaned = dict(day)
        for name in ("start", "end"):
            if parse_clock(str(day.get(name, ""))) is None:
                problems.append(
                    Violation(f"{where}.days[{index}].{name}", "must be HH:MM (24:00 = end of day)")
                )
                cleaned[name] = "00:00"
        days.append(cleaned)
    cleaned_settings = dict(settings)
    if days:
        cleaned_settings["days"] = days
    return cleaned_settings, problems


def _secrets(new: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
    """New settings keeping the stored secrets left unset (None); an empty secret clears."""
    return {k: v for k, v in merge_secrets(new, old).items() if v != ""}


async def save_delivery(
    pool: Pool, account_id: int, delivery_id: int, client_id: int, method: DeliveryMethod
) -> int:
    """Create or edit a buyer's delivery method. Returns its id."""
    where = "delivery"
    async with _writing(pool) as conn:
        current = await _editing(
            conn, "delivery_for_update", account_id, delivery_id, "delivery method"
        )
        owner = await _owner(
            conn, account_id, client_id, current["client_id"] if current else None, where
        )
        if not method.lead_type_id:
            _check([Violation(f"{where}.lead_type_id", "is required")])
        fields = await _lead_type_fields(conn, account_id, method.lead_type_id)
        settings = _secrets(method.settings, current["settings"] if current else {})
        settings, problems = _clean_days(settings, where)
        method = replace(method, settings=settings)
        problems.extend(validate_method(method, [f.name for f in fields], where))
        if current and current["lead_type_id"] != method.lead_type_id:
            problems.extend(await _criteria_for(conn, account_id, delivery_id, fields, where))
        _check(problems)
        params = {
            "account_id": account_id,
            "id": delivery_id,
            "client_id": owner,
            "key": method.key,
            "name": method.name,
            "type": int(method.type),
            "enabled": method.enabled,
            "lead_type_id": method.lead_type_id,
            "settings": Jsonb(settings),
        }
        written = await _row(conn, "update_delivery" if current else "insert_delivery", params)
        if written is not None:
            await _bump(conn, account_id)
        return delivery_id if current else int(written["id"])  # type: ignore[index]


async def _criteria_for(
    conn: Connection, account_id: int, delivery_id: int, fields: Sequence[FieldSpec], where: str
) -> list[Violation]:
    """Problems the delivery accounts using this method would have with another lead type."""
    by_name = criteria_fields(fields)
    problems = []
    accounts = await _rows(
        conn, "accounts_of_delivery", {"account_id": account_id, "delivery_id": delivery_id}
    )
    for account in accounts:
        spec = AccountSpec(criteria=tuple(criterion_from_json(c) for c in account["criteria"]))
        for problem in validate_account(spec, by_name, "account", zip_codes.is_known):
            problems.append(
                Violation(
                    f"{where}.lead_type_id",
                    f"its delivery account {account['id']}: "
                    f"{problem.path.removeprefix('account.')}: {problem.reason}",
                )
            )
    return problems


async def get_delivery(pool: Pool, account_id: int, delivery_id: int) -> Row:
    async with transaction(pool) as conn:
        found = await _row(conn, "delivery_by_id", {"account_id": account_id, "id": delivery_id})
    if found is None:
        raise NotFound(f"no delivery method {delivery_id}")
    return found


# -- delivery accounts -------------------------------------------------------------------------


async def save_account(
    pool: Pool, account_id: int, entity_id: int, client_id: int, spec: AccountSpec
) -> int:
    """Create or edit a buyer's delivery account, its criteria checked against the lead type
    of its delivery method. Returns its id."""
    where = "account"
    async with _writing(pool) as conn:
        current = await _editing(
            conn, "delivery_account_for_update", account_id, entity_id, "delivery account"
        )
        owner = await _owner(
            conn, account_id, client_id, current["client_id"] if current else None, where
        )
        if not spec.delivery_id:
            _check([Violation(f"{where}.delivery_id", "is required")])
        delivery = await _row(
            conn, "delivery_by_id", {"account_id": account_id, "id": spec.delivery_id}
        )
        if delivery is None:
            raise NotFound(f"no delivery method {spec.delivery_id}")
        if delivery["client_id"] != owner:
            _check(
                [
                    Violation(
                        f"{where}.delivery_id",
                        f"delivery method {spec.delivery_id} is not this buyer's",
                    )
                ]
            )
        fields = await _lead_type_fields(conn, account_id, delivery["lead_type_id"])
        by_name = criteria_fields(fields)
        _check(validate_account(spec, by_name, where, zip_codes.is_known))
        params = {
            **account_params(account_id, owner, spec.delivery_id, spec),
            "id": entity_id,
            "key": spec.key,
        }
        query = "update_delivery_account" if current else "insert_delivery_account"
        written = await _row(conn, query, params)
        if written is not None:
            await _bump(conn, account_id)
        return entity_id if current else int(written["id"])  # type: ignore[index]


async def get_account(pool: Pool, account_id: int, entity_id: int, client_id: int) -> Row:
    """One delivery account; with a client_id, it must be that buyer's."""
    async with transaction(pool) as conn:
        found = await _row(
            conn, "delivery_account_by_id", {"account_id": account_id, "id": entity_id}
        )
    if found is None or (client_id and found["client_id"] != client_id):
        raise NotFound(f"no delivery account {entity_id}")
    return found


# -- orders ------------------------------------------------------------------------------------


async def save_order(pool: Pool, account_id: int, edit: OrderEdit) -> int:
    """Create or edit a buyer's order with its complete item list. Returns its id."""
    where = "order"
    async with _writing(pool) as conn:
        current = await _editing(conn, "order_for_update", account_id, edit.id, "order")
        owner = await _owner(
            conn, account_id, edit.client_id, current["client_id"] if current else None, where
        )
        problems = [
            Violation(f"{where}.{name}", "is required")
            for name, value in (("start", edit.start), ("end", edit.end))
            if value is None
        ]
        problems.extend(validate_order(edit.spec(), where))
        stored_items = set(current["item_ids"]) if current else set()
        wanted = [i.account_id for i in edit.items if i.account_id]
        mine = await _rows(
            conn,
            "delivery_accounts_of_client",
            {"account_id": account_id, "client_id": owner, "ids": wanted},
        )
        accounts = {r["id"] for r in mine}
        seen: set[int] = set()
        for index, item in enumerate(edit.items):
            path = f"{where}.items[{index}]"
            if item.id and item.id not in stored_items:
                problems.append(Violation(f"{path}.id", f"no item {item.id} in this order"))
            elif item.id and item.id in seen:
                problems.append(Violation(f"{path}.id", f"item {item.id} repeats"))
            seen.add(item.id)
            if item.account_id and item.account_id not in accounts:
                problems.append(
                    Violation(
                        f"{path}.account_id", f"no delivery account {item.account_id} of this buyer"
                    )
                )
        _check(problems)
        params = {
            "account_id": account_id,
            "id": edit.id,
            "client_id": owner,
            "key": edit.key,
            "start_at": edit.start,
            "end_at": edit.end,
            "status": int(edit.status),
            "renewal": int(edit.renewal),
            "auto_charge": edit.auto_charge,
        }
        written = await _row(conn, "update_order" if current else "insert_order", params)
        order_id = edit.id if current else int(written["id"])  # type: ignore[index]
        changed = written is not None
        kept: list[int] = []
        for item in edit.items:
            item_params = {
                "account_id": account_id,
                "order_id": order_id,
                "id": item.id,
                "key": item.key,
                "description": item.description,
                "quantity": item.quantity,
                "delivery_account_id": item.account_id or None,
            }
            query = "update_order_item" if item.id else "insert_order_item"
            item_row = await _row(conn, query, item_params)
            changed = changed or item_row is not None
            kept.append(item.id or int(item_row["id"]))  # type: ignore[index]
        left_out = await _rows(
            conn,
            "delete_order_items_by_id",
            {"account_id": account_id, "order_id": order_id, "ids": kept},
        )
        stuck = [r["id"] for r in left_out if not r["dropped"]]
        if stuck:
            names = ", ".join(str(i) for i in stuck)
            _check(
                [
                    Violation(
                        f"{where}.items", f"cannot drop items {names}: sends count against them"
                    )
                ]
            )
        if changed or left_out:
            await _bump(conn, account_id)
        return order_id


async def get_order(pool: Pool, account_id: int, order_id: int) -> Row:
    async with transaction(pool) as conn:
        owner = await _row(conn, "order_client", {"account_id": account_id, "id": order_id})
        if owner is None:
            raise NotFound(f"no order {order_id}")
        orders = await _rows(
            conn, "list_orders", {"account_id": account_id, "client_ids": [owner["client_id"]]}
        )
    return next(o for o in orders if o["id"] == order_id)


# -- distribution lists ------------------------------------------------------------------------


async def save_list(pool: Pool, account_id: int, edit: ListEdit) -> int:
    """Create or edit a distribution list with its complete item list. Returns its id."""
    where = "distribution_list"
    async with _writing(pool) as conn:
        current = await _editing(conn, "list_for_update", account_id, edit.id, "distribution list")
        if not edit.lead_type_id:
            _check([Violation(f"{where}.lead_type_id", "is required")])
        fields = await _lead_type_fields(conn, account_id, edit.lead_type_id)
        problems = validate_list(edit.spec(), [f.name for f in fields], where)
        if edit.depend_field and not edit.depend_value:
            problems.append(Violation(f"{where}.depend_value", "is required with depend_field"))
        named = [edit.default_client_id, *(i.client_id for i in edit.items)]
        known = await _known_clients(conn, account_id, [c for c in named if c])
        if edit.default_client_id and edit.default_client_id not in known:
            problems.append(
                Violation(f"{where}.default_client_id", f"no buyer {edit.default_client_id}")
            )
        for index, item in enumerate(edit.items):
            if item.client_id and item.client_id not in known:
                problems.append(
                    Violation(f"{where}.items[{index}].client_id", f"no buyer {item.client_id}")
                )
        _check(problems)
        params = {
            "account_id": account_id,
            "id": edit.id,
            "key": edit.key,
            "lead_type_id": edit.lead_type_id,
            "description": edit.description,
            "field_name": edit.field,
            "default_client_id": edit.default_client_id or None,
            "status": int(edit.status),
            "depend_field": edit.depend_field,
            "depend_value": list_value(edit.depend_value),
        }
        written = await _row(conn, "update_list" if current else "insert_list", params)
        list_id = edit.id if current else int(written["id"])  # type: ignore[index]
        changed = written is not None
        items = sorted(
            (list_value(i.value), i.value.strip(), i.client_id or None) for i in edit.items
        )
        scope = {"account_id": account_id, "list_id": list_id}
        stored = [
            (r["value"], r["shown"], r["client_id"]) for r in await _rows(conn, "list_items", scope)
        ]
        if stored != items:
            await conn.execute(
                q("replace_list_items"),
                {
                    **scope,
                    "values": [i[0] for i in items],
                    "shown": [i[1] for i in items],
                    "client_ids": [i[2] for i in items],
                },
            )
            changed = True
        if changed:
            await _bump(conn, account_id)
        return list_id


async def assign_list_item(
    pool: Pool, account_id: int, list_id: int, value: str, client_id: int, *, clear: bool
) -> None:
    """Assign one value of a list to a buyer (adding the value when the list lacks it), or
    clear its assignment (the value stays in the list, unassigned)."""
    if not value.strip():
        _check([Violation("value", "is required")])
    if not clear and not client_id:
        _check([Violation("client_id", "is required unless clearing")])
    async with _writing(pool) as conn:
        if await _row(conn, "list_for_update", {"account_id": account_id, "id": list_id}) is None:
            raise NotFound(f"no distribution list {list_id}")
        if not clear and not await _known_clients(conn, account_id, [client_id]):
            raise NotFound(f"no buyer {client_id}")
        params = {
            "account_id": account_id,
            "list_id": list_id,
            "value": list_value(value),
            "shown": value.strip(),
            "client_id": None if clear else client_id,
        }
        written = await _row(conn, "clear_list_item" if clear else "assign_list_item", params)
        if written is not None:
            await _bump(conn, account_id)


async def get_list(pool: Pool, account_id: int, list_id: int) -> Row:
    async with transaction(pool) as conn:
        found = await _rows(conn, "list_distribution_lists", {"account_id": account_id})
    for row in found:
        if row["id"] == list_id:
            return row
    raise NotFound(f"no distribution list {list_id}")
