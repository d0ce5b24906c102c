"""Reading and writing distribution lists with their items. Every call is account-scoped.

Values are stored twice: as `list_value` compares them (the key of an item) and as configured
(shown). Saves by key (config as code) return what they did (`Upserted`); saves by id return
whether they wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from server.domain.catalog.specs import Status
from server.domain.matching.lists import (
    DistributionList,
    DistributionListSpec,
    ListEdit,
    StoredDistributionList,
    StoredListItem,
    list_value,
)
from server.storage.database import Connection, unique_taken
from server.storage.queries import Row, fetch_all, fetch_one, q
from server.storage.upserts import Upserted, upsert

# Unique constraints a save by id can break, as the caller should read them.
_TAKEN = {
    "distribution_lists_account_id_key_key": "a distribution list with this key already exists",
}


async def _written(conn: Connection, query: str, params: Mapping[str, Any]) -> Row | None:
    """A save's row (None when it wrote nothing); a key already taken is AlreadyExists."""
    with unique_taken(_TAKEN):
        return await fetch_one(conn, query, params)


async def upsert_list(
    conn: Connection,
    account_id: int,
    key: str,
    spec: DistributionListSpec,
    lead_type_id: int,
    default_client_id: int | None,
) -> Upserted:
    """Create or change a distribution list by key, without its items."""
    params = {
        "account_id": account_id,
        "key": key,
        "lead_type_id": lead_type_id,
        "description": spec.description,
        "field_name": spec.field,
        "default_client_id": default_client_id,
        "status": int(spec.status),
        "depend_field": spec.depend_field,
        "depend_value": list_value(spec.depend_value),
    }
    return await upsert(conn, "upsert_list", params, "distribution list", 0)


async def save_list_items(
    conn: Connection, account_id: int, list_id: int, items: Iterable[tuple[str, int | None]]
) -> bool:
    """Make the list's items these (value as configured, buyer or None for unassigned);
    whether anything was written."""
    wanted = sorted((list_value(value), value.strip(), client_id) for value, client_id in items)
    scope = {"account_id": account_id, "list_id": list_id}
    stored = [
        (r["value"], r["shown"], r["client_id"]) for r in await fetch_all(conn, "list_items", scope)
    ]
    if stored == wanted:
        return False
    await conn.execute(
        q("replace_list_items"),
        {
            **scope,
            "values": [i[0] for i in wanted],
            "shown": [i[1] for i in wanted],
            "client_ids": [i[2] for i in wanted],
        },
    )
    return True


async def lock_list(conn: Connection, account_id: int, list_id: int) -> bool:
    """Lock a distribution list for an edit; whether the account has it."""
    return bool(await fetch_all(conn, "list_for_update", {"account_id": account_id, "id": list_id}))


def _list_params(account_id: int, edit: ListEdit) -> Row:
    return {
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


async def insert_list(conn: Connection, account_id: int, edit: ListEdit) -> int:
    """Create a distribution list, without its items."""
    row = await _written(conn, "insert_list", _list_params(account_id, edit))
    assert row is not None
    return int(row["id"])


async def update_list(conn: Connection, account_id: int, edit: ListEdit) -> bool:
    """Change a distribution list by edit.id (a key of None keeps the stored one), without
    its items; whether anything was written."""
    return await _written(conn, "update_list", _list_params(account_id, edit)) is not None


async def assign_list_item(
    conn: Connection, account_id: int, list_id: int, value: str, client_id: int | None
) -> bool:
    """Assign one value of a list to a buyer (None: unassigned), adding the value when the
    list lacks it; whether anything was written."""
    params = {
        "account_id": account_id,
        "list_id": list_id,
        "value": list_value(value),
        "shown": value.strip(),
        "client_id": client_id,
    }
    return bool(await fetch_all(conn, "assign_list_item", params))


async def clear_list_item(conn: Connection, account_id: int, list_id: int, value: str) -> bool:
    """Unassign one value of a list (it stays in the list); whether it was assigned."""
    params = {
        "account_id": account_id,
        "list_id": list_id,
        "value": list_value(value),
        "shown": value.strip(),
        "client_id": None,
    }
    return bool(await fetch_all(conn, "clear_list_item", params))


async def list_item(
    conn: Connection, account_id: int, list_id: int, item_id: int = 0, value: str = ""
) -> StoredListItem | None:
    """One item of a list, by id, or else by value."""
    if item_id:
        params: Row = {"account_id": account_id, "list_id": list_id, "id": item_id}
        row = await fetch_one(conn, "list_item_by_id", params)
    else:
        params = {"account_id": account_id, "list_id": list_id, "value": list_value(value)}
        row = await fetch_one(conn, "list_item_by_value", params)
    return None if row is None else StoredListItem(row["value"], row["client_id"], row["id"])


async def update_list_item(
    conn: Connection, account_id: int, list_id: int, item_id: int, value: str, client_id: int | None
) -> bool:
    """Change an item's value and buyer; whether anything changed. Another item's value is
    AlreadyExists."""
    params = {
        "account_id": account_id,
        "list_id": list_id,
        "id": item_id,
        "value": list_value(value),
        "shown": value.strip(),
        "client_id": client_id,
    }
    return bool(await fetch_all(conn, "update_list_item", params))


async def list_distribution_lists(
    conn: Connection, account_id: int
) -> list[StoredDistributionList]:
    """The account's distribution lists, by id, with their items."""
    return [
        StoredDistributionList(
            id=row["id"],
            key=row["key"],
            lead_type_id=row["lead_type_id"],
            description=row["description"],
            field=row["field_name"],
            default_client_id=row["default_client_id"],
            status=Status(row["status"]),
            depend_field=row["depend_field"],
            depend_value=row["depend_value"],
            items=tuple(
                StoredListItem(i["value"], i["client_id"], i["id"], i["client_name"] or "")
                for i in row["items"]
            ),
            field_id=row["field_id"] or 0,
            depend_field_id=row["depend_field_id"] or 0,
            default_client_name=row["default_client_name"] or "",
        )
        for row in await fetch_all(conn, "list_distribution_lists", {"account_id": account_id})
    ]


async def for_lead_type(
    conn: Connection, account_id: int, lead_type_id: int
) -> list[DistributionList]:
    """A lead type's active distribution lists with their assignments, for the engine."""
    rows = await fetch_all(
        conn, "lists_for_lead_type", {"account_id": account_id, "lead_type_id": lead_type_id}
    )
    return [
        DistributionList(
            id=r["id"],
            name=r["name"],
            field=r["field_name"].casefold(),
            default_client_id=r["default_client_id"],
            depend_field=r["depend_field"].casefold(),
            depend_value=r["depend_value"],
            assigned=dict(r["assigned"]),
        )
        for r in rows
    ]
