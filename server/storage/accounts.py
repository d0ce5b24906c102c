"""Accounts (tenants) and API keys."""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.accounts import AccountSettings, KeyInfo, Tenant
from server.storage.database import Connection
from server.storage.queries import q


@dataclass(frozen=True)
class StoredKey:
    """A live key as authentication checks it: whose it is, its digest, and whether its use
    is due to be recorded (at most once a minute)."""

    account_id: int
    id: int
    source_id: int | None
    digest: bytes
    touch_due: bool


async def insert_account(conn: Connection, name: str, time_zone: str) -> int:
    cursor = await conn.execute(q("insert_account"), {"name": name, "time_zone": time_zone})
    row = await cursor.fetchone()
    assert row is not None
    return int(row["account_id"])


async def list_accounts(conn: Connection) -> list[Tenant]:
    cursor = await conn.execute(q("list_accounts"))
    return [Tenant(**row) for row in await cursor.fetchall()]


async def insert_key(
    conn: Connection, account_id: int, source_id: int | None, prefix: str, digest: bytes, name: str
) -> KeyInfo:
    params = {
        "account_id": account_id,
        "source_id": source_id,
        "prefix": prefix,
        "digest": digest,
        "name": name,
    }
    cursor = await conn.execute(q("insert_key"), params)
    row = await cursor.fetchone()
    assert row is not None
    return KeyInfo(**row)


async def list_keys(conn: Connection, account_id: int, source_id: int | None) -> list[KeyInfo]:
    cursor = await conn.execute(q("list_keys"), {"account_id": account_id, "source_id": source_id})
    return [KeyInfo(**row) for row in await cursor.fetchall()]


async def revoke_key(conn: Connection, account_id: int, source_id: int | None, key_id: int) -> bool:
    params = {"account_id": account_id, "source_id": source_id, "id": key_id}
    cursor = await conn.execute(q("revoke_key"), params)
    return await cursor.fetchone() is not None


async def find_live_key(conn: Connection, prefix: str) -> StoredKey | None:
    cursor = await conn.execute(q("find_live_key"), {"prefix": prefix})
    row = await cursor.fetchone()
    return StoredKey(**row) if row else None


async def touch_key(conn: Connection, account_id: int, key_id: int) -> None:
    await conn.execute(q("touch_key"), {"account_id": account_id, "id": key_id})


async def get_settings(conn: Connection, account_id: int) -> AccountSettings | None:
    cursor = await conn.execute(q("get_account_settings"), {"account_id": account_id})
    row = await cursor.fetchone()
    return AccountSettings(**row) if row else None


async def update_settings(
    conn: Connection, account_id: int, settings: AccountSettings, changed: frozenset[str] | None
) -> AccountSettings | None:
    """Write the settings `changed` names (every one when None); the settings after, or None
    for no such account."""
    params = {
        "account_id": account_id,
        "set_allow": changed is None or "allow_private_callbacks" in changed,
        "allow": settings.allow_private_callbacks,
        "set_max_queued": changed is None or "max_queued_posts" in changed,
        "max_queued_posts": settings.max_queued_posts,
        "set_body_days": changed is None or "post_body_days" in changed,
        "post_body_days": settings.post_body_days,
    }
    cursor = await conn.execute(q("update_account_settings"), params)
    row = await cursor.fetchone()
    return AccountSettings(**row) if row else None
