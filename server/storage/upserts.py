"""Saving an entity by its key (config as code): its id, and whether the save wrote it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.storage.database import Connection
from server.storage.queries import q


@dataclass(frozen=True)
class Upserted:
    """An entity saved by key: its id, and whether the save created it or changed it."""

    id: int
    created: bool
    changed: bool  # False: stored as it was, nothing written


async def upsert(
    conn: Connection, query: str, params: Mapping[str, Any], kind: str, parent_id: int
) -> Upserted:
    """Run an upsert that returns a row only when it wrote one; when it wrote nothing, the id
    is read by key (`id_by_key`: `kind` names the table, `parent_id` the buyer, or the order
    of an order item)."""
    cursor = await conn.execute(q(query), params)
    row = await cursor.fetchone()
    if row is not None:
        return Upserted(int(row["id"]), created=bool(row["created"]), changed=True)
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
    return Upserted(int(found["id"]), created=False, changed=False)
