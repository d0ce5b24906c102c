"""The post log, read (ListPosts, GetPost), and its bodies removed past their account's
days. Its entries are written with the leads (`storage/leads.py`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from server.domain.intake.records import LoggedPost, PostLogQuery
from server.storage.database import Connection
from server.storage.leads import stored_steps
from server.storage.queries import Row, fetch_all, fetch_one, q

_FIRST_ID = "ffffffff-ffff-ffff-ffff-ffffffffffff"  # above every id, for the first page
_LOWEST_ID = "00000000-0000-0000-0000-000000000000"
_FIRST, _LAST = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)


def _logged(row: Row) -> LoggedPost:
    return LoggedPost(
        post_id=str(row["id"]),
        received_at=row["received_at"],
        source_id=row["source_id"] or 0,
        campaign_id=row["campaign_id"] or 0,
        lead_type_id=row["lead_type_id"] or 0,
        remote_ip=row["remote_ip"],
        request_format=row["request_format"],
        lead_index=row["lead_index"],
        request_post_id=str(row["request_post_id"] or ""),
        request=bytes(row["request_body"]),
        request_truncated=row["request_truncated"],
        request_removed_at=row["request_removed_at"],
        is_valid=row["is_valid"],
        response_type=row["response_type"],
        details=row["response_details"],
        lead_id=row["lead_id"] or 0,
        price=row["price"],
        ping=row["ping"],
        steps=stored_steps(row["steps"]),
    )


async def list_posts(conn: Connection, account_id: int, query: PostLogQuery) -> list[LoggedPost]:
    """The account's entries `query` selects, newest first, without their bodies."""
    params = {
        "account_id": account_id,
        "before_at": query.before_at or _LAST,
        "before_id": query.before_id or _FIRST_ID,
        "after": query.received_after or _FIRST,
        "source_id": query.source_id,
        "campaign_id": query.campaign_id,
        "valid": query.valid,
        "limit": query.limit,
    }
    if query.before_at is None and query.received_before is not None:
        params["before_at"] = query.received_before
        params["before_id"] = _LOWEST_ID
    return [_logged(row) for row in await fetch_all(conn, "list_posts", params)]


async def get_post(conn: Connection, account_id: int, post_id: uuid.UUID) -> LoggedPost | None:
    """One entry of the account, with its request's body; None: the account has none."""
    row = await fetch_one(conn, "get_post", {"account_id": account_id, "id": post_id})
    return _logged(row) if row else None


@dataclass(frozen=True)
class BodiesDue:
    """An account whose post log keeps bodies for a number of days: bodies of entries
    received before `due_before` are to be removed."""

    account_id: int
    due_before: datetime


async def accounts_removing_bodies(conn: Connection) -> list[BodiesDue]:
    rows = await fetch_all(conn, "accounts_removing_post_bodies", {})
    return [BodiesDue(row["account_id"], row["due_before"]) for row in rows]


async def remove_bodies(conn: Connection, due: BodiesDue, batch: int) -> int:
    """Remove the bodies of about a batch of the account's entries due, from where the last
    removal stopped, in the caller's transaction; how many entries it passed (0: none is
    due). A processed queued post's stored request goes with its body."""
    account = {"account_id": due.account_id}
    params = {**account, "due_before": due.due_before, "batch": batch}
    row = await fetch_one(conn, "lock_post_body_removal", params)
    if row is None:
        return 0
    since, upto = row["since"] or _FIRST, row["upto"]
    if upto <= since:
        return 0
    span = {**account, "since": since, "upto": upto}
    counted = await fetch_one(conn, "count_posts_between", span)
    emptied = [r["id"] for r in await fetch_all(conn, "empty_post_bodies", span)]
    if emptied:
        await conn.execute(q("empty_queued_requests"), {**account, "ids": emptied})
    await conn.execute(q("mark_post_bodies_removed"), {**account, "upto": upto})
    return int(counted["n"]) if counted else 0
