"""Callbacks to lead sources (server/domain/callbacks/) and the sources' signing secrets.

A callback is written in the caller's transaction, the one that records its processed post;
here it is leased under a numbered lease, read back with what sending it needs, and finished
by one statement that records the attempt, and that does nothing once the lease has passed to
another process.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from server.domain.callbacks.records import (
    Attempt,
    CallbackReport,
    CallbackState,
    Outcome,
)
from server.storage.database import Connection
from server.storage.queries import q


@dataclass(frozen=True)
class Lease:
    """A callback leased to this process; only the holder of the latest lease finishes it."""

    account_id: int
    callback_id: int
    lease: int


@dataclass(frozen=True)
class LeasedCallback:
    """A leased callback with what sending it needs."""

    lease: Lease
    event_id: str
    post_id: str
    url: str
    content_type: str
    body: bytes
    attempts: int  # made before this one
    age_seconds: float  # since it was queued
    allow_private: bool  # the account's setting as it stands
    secret: str | None  # its source's signing secret; None: sent unsigned


async def insert(
    conn: Connection,
    account_id: int,
    source_id: int,
    post_id: uuid.UUID,
    event_id: uuid.UUID,
    url: str,
    content_type: str,
    body: bytes,
) -> None:
    """Queue a post's callback, due now; nothing when the post has one already."""
    params = {
        "account_id": account_id,
        "source_id": source_id,
        "post_id": post_id,
        "event_id": event_id,
        "url": url,
        "content_type": content_type,
        "body": body,
    }
    await conn.execute(q("insert_callback"), params)


async def claim_due(conn: Connection, lease_seconds: float, limit: int) -> list[LeasedCallback]:
    """Lease up to `limit` due callbacks to this process for `lease_seconds`, with what
    sending each needs: pending ones whose time came, and ones whose sending process died."""
    params = {"lease_seconds": lease_seconds, "limit": limit}
    cursor = await conn.execute(q("claim_callbacks"), params)
    return [
        LeasedCallback(
            lease=Lease(row["account_id"], row["id"], row["lease"]),
            event_id=str(row["event_id"]),
            post_id=str(row["post_id"]),
            url=row["url"],
            content_type=row["content_type"],
            body=bytes(row["body"]),
            attempts=row["attempts"],
            age_seconds=row["age_seconds"],
            allow_private=row["allow_private_callbacks"],
            secret=row["secret"],
        )
        for row in await cursor.fetchall()
    ]


async def finish(
    conn: Connection,
    lease: Lease,
    state: CallbackState,
    *,
    outcome: Outcome,
    status: int | None,
    error: str,
    elapsed_ms: float,
    retry_in: float,
) -> bool:
    """Record an attempt under `lease` and the callback's state after it (pending again in
    `retry_in` seconds, or finished); False, and nothing written, when the lease is no
    longer this process's."""
    params = {
        "account_id": lease.account_id,
        "id": lease.callback_id,
        "lease": lease.lease,
        "state": str(state),
        "outcome": str(outcome),
        "status": status,
        "error": error,
        "elapsed_ms": elapsed_ms,
        "retry_in": retry_in,
    }
    cursor = await conn.execute(q("finish_callback"), params)
    return cursor.rowcount == 1


async def for_post(conn: Connection, account_id: int, post_id: uuid.UUID) -> list[CallbackReport]:
    """The account's callbacks for a post, with their attempts; none for another account's."""
    params = {"account_id": account_id, "post_id": post_id}
    cursor = await conn.execute(q("list_post_callbacks"), params)
    callbacks = await cursor.fetchall()
    if not callbacks:
        return []
    params = {"account_id": account_id, "ids": [c["id"] for c in callbacks]}
    cursor = await conn.execute(q("list_callback_attempts"), params)
    attempts: dict[int, list[Attempt]] = {}
    for row in await cursor.fetchall():
        attempts.setdefault(row["callback_id"], []).append(
            Attempt(
                number=row["number"],
                at=row["started_at"],
                outcome=Outcome(row["outcome"]),
                status=row["status"],
                error=row["error"],
                elapsed_ms=row["elapsed_ms"],
            )
        )
    return [
        CallbackReport(
            event_id=str(c["event_id"]),
            post_id=str(c["post_id"]),
            url=c["url"],
            state=CallbackState(c["state"]),
            created_at=c["created_at"],
            next_attempt_at=c["next_attempt_at"],
            finished_at=c["finished_at"],
            signed=c["signed"],
            attempts=tuple(attempts.get(c["id"], ())),
        )
        for c in callbacks
    ]


async def insert_signing_secret(
    conn: Connection, account_id: int, source_id: int, secret: str
) -> datetime | None:
    """Give a source its signing secret; when it was made, or None if the source has one."""
    params = {"account_id": account_id, "source_id": source_id, "secret": secret}
    cursor = await conn.execute(q("insert_signing_secret"), params)
    row = await cursor.fetchone()
    return row["created_at"] if row else None


async def rotate_signing_secret(
    conn: Connection, account_id: int, source_id: int, secret: str
) -> datetime | None:
    """Replace a source's signing secret; when, or None if the source has none."""
    params = {"account_id": account_id, "source_id": source_id, "secret": secret}
    cursor = await conn.execute(q("rotate_signing_secret"), params)
    row = await cursor.fetchone()
    return row["created_at"] if row else None
