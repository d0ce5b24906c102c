"""Portal user names and sign-in attempts."""

from __future__ import annotations

from datetime import datetime

from server.domain.portal import WINDOW, Attempts
from server.storage.database import Connection
from server.storage.queries import fetch_one, q


async def lock_attempts(conn: Connection, account_id: int, username: str) -> Attempts | None:
    """The user name's failed sign-ins, its row locked until the transaction ends; None when
    it has none counting."""
    scope = {"account_id": account_id, "username": username}
    await conn.execute(q("open_sign_in_attempts"), scope)
    row = await fetch_one(conn, "lock_sign_in_attempts", scope)
    if row is None or not row["failures"]:
        return None
    return Attempts(row["failures"], row["window_start"], row["locked_until"])


async def save_attempts(
    conn: Connection, account_id: int, username: str, attempts: Attempts, now: datetime
) -> None:
    await conn.execute(
        q("save_sign_in_attempts"),
        {
            "account_id": account_id,
            "username": username,
            "failures": attempts.failures,
            "window_start": attempts.window_start,
            "locked_until": attempts.locked_until,
        },
    )
    stale = {"account_id": account_id, "before": now - WINDOW, "now": now}
    await conn.execute(q("forget_stale_sign_in_attempts"), stale)


async def forget_attempts(conn: Connection, account_id: int, username: str) -> None:
    await conn.execute(
        q("forget_sign_in_attempts"), {"account_id": account_id, "username": username}
    )


async def client_password(
    conn: Connection, account_id: int, username: str
) -> tuple[int, str | None] | None:
    """The id and password hash of the buyer with this user name, or None."""
    row = await fetch_one(conn, "client_password", {"account_id": account_id, "username": username})
    return None if row is None else (row["id"], row["password_hash"])


async def client_username_taken(conn: Connection, account_id: int, username: str) -> bool:
    row = await fetch_one(
        conn, "client_username_taken", {"account_id": account_id, "username": username}
    )
    return bool(row and row["taken"])


async def source_username_taken(
    conn: Connection, account_id: int, username: str, source_id: int
) -> bool:
    params = {"account_id": account_id, "username": username, "source_id": source_id}
    row = await fetch_one(conn, "source_username_taken", params)
    return bool(row and row["taken"])
