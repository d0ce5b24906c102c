"""Queued posts: the /async insert URLs' posts, written with their post log entry, leased to
one worker at a time, and finished with the answer their synchronous URL would have given.

Every write after the lease names the attempt it holds (`Lease`): once another process took
the post over (the lease ran out), the old holder's writes change nothing and say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from server.domain.intake.screening import Step
from server.storage.database import Connection
from server.storage.leads import PostEntry, post_params, step_json
from server.storage.queries import Row, q


@dataclass(frozen=True)
class NewQueuedPost:
    """A post to queue: its post log entry, and what processing and answering it need."""

    post: PostEntry
    source_id: int
    request: bytes  # the request as the lead service reads it, without body and credentials
    credentials: bytes  # kept until the post is processed, then dropped
    return_url: str
    endpoint: str  # how the answer is written: the insert URL's name,
    response_format: str  # json or xml,
    receiver_url: str  # and the receiver's base URL


@dataclass(frozen=True)
class Lease:
    """A queued post as leased to this process: the attempt names the lease."""

    account_id: int
    post_id: str
    attempt: int


@dataclass(frozen=True)
class AnsweredLead:
    """One lead's answer, as recorded in the transaction that stored (or refused) it."""

    post_id: str
    response_type: int
    details: str
    lead_id: int = 0
    campaign_id: int = 0
    price: Decimal = Decimal("0")
    pending_qc: bool = False
    account_id: int = 0


@dataclass(frozen=True)
class LeasedPost:
    """A queued post this process leased, with what processing it needs: its request, and the
    answers of the leads an earlier attempt stored."""

    lease: Lease
    source_id: int
    request: bytes
    credentials: bytes
    return_url: str
    endpoint: str
    response_format: str
    receiver_url: str
    answered: list[AnsweredLead]


@dataclass(frozen=True)
class Finished:
    """A processed post's answer, as its URL asked for it, and what its post log entry shows:
    its first lead's answer, and the processing step."""

    answer_type: str
    answer: bytes
    first: AnsweredLead
    first_accepted: bool
    step: Step


def _answered_json(lead: AnsweredLead) -> dict[str, Any]:
    return {
        "post_id": lead.post_id,
        "response_type": lead.response_type,
        "details": lead.details,
        "lead_id": lead.lead_id,
        "campaign_id": lead.campaign_id,
        "price": str(lead.price),
        "pending_qc": lead.pending_qc,
        "account_id": lead.account_id,
    }


def _answered(entry: dict[str, Any]) -> AnsweredLead:
    return AnsweredLead(
        post_id=entry["post_id"],
        response_type=entry["response_type"],
        details=entry["details"],
        lead_id=entry["lead_id"],
        campaign_id=entry["campaign_id"],
        price=Decimal(entry["price"]),
        pending_qc=entry["pending_qc"],
        account_id=entry["account_id"],
    )


def _leased(row: Row) -> LeasedPost:
    return LeasedPost(
        lease=Lease(row["account_id"], str(row["post_id"]), row["attempts"]),
        source_id=row["source_id"],
        request=bytes(row["request"]),
        credentials=bytes(row["credentials"] or b""),
        return_url=row["return_url"],
        endpoint=row["endpoint"],
        response_format=row["response_format"],
        receiver_url=row["receiver_url"],
        answered=[_answered(entry) for entry in row["outcomes"]],
    )


def _lease_params(lease: Lease) -> dict[str, Any]:
    return {"account_id": lease.account_id, "post_id": lease.post_id, "attempt": lease.attempt}


async def enqueue(
    conn: Connection, new: NewQueuedPost, *, max_queued: int, reserve_seconds: float
) -> bool:
    """Queue a post with its post log entry, in one statement, unless the account has its
    own limit (or else `max_queued`) of posts waiting; whether it was queued. For
    `reserve_seconds` only the process that queued it may start it (`start`); then any
    worker's poll may."""
    cursor = await conn.execute(
        q("enqueue_post"),
        {
            **post_params(new.post),
            "max_queued": max_queued,
            "request": new.request,
            "credentials": new.credentials,
            "return_url": new.return_url,
            "endpoint": new.endpoint,
            "response_format": new.response_format,
            "receiver_url": new.receiver_url,
            "reserve": reserve_seconds,
        },
    )
    return await cursor.fetchone() is not None


async def queue_limit(conn: Connection, account_id: int, max_queued: int) -> int:
    """How many posts the account may have waiting: its own limit, or `max_queued`."""
    params = {"account_id": account_id, "max_queued": max_queued}
    cursor = await conn.execute(q("queue_limit"), params)
    row = await cursor.fetchone()
    return int(row["queue_limit"]) if row else max_queued


async def start(
    conn: Connection, account_id: int, post_id: str, lease_seconds: float
) -> LeasedPost | None:
    """Lease a post this process queued; None when a poll took it meanwhile."""
    cursor = await conn.execute(
        q("start_queued_post"),
        {"account_id": account_id, "post_id": post_id, "lease": lease_seconds},
    )
    row = await cursor.fetchone()
    return None if row is None else _leased(row)


async def claim_due(conn: Connection, lease_seconds: float, limit: int) -> list[LeasedPost]:
    """Lease up to `limit` due posts to this process: waiting ones, and ones whose worker
    died; a post another process holds is skipped."""
    cursor = await conn.execute(q("claim_queued_posts"), {"lease": lease_seconds, "limit": limit})
    return [_leased(row) for row in await cursor.fetchall()]


async def renew(conn: Connection, lease: Lease, lease_seconds: float) -> bool:
    """Extend the lease; False once it is lost."""
    cursor = await conn.execute(
        q("renew_queued_post"), {**_lease_params(lease), "lease": lease_seconds}
    )
    return await cursor.fetchone() is not None


async def record(
    conn: Connection, lease: Lease, first: int, answered: Sequence[AnsweredLead]
) -> bool:
    """Record the answers of leads `first`, `first + 1`, ... in the transaction that stores
    them; False when the lease is lost (or they are recorded already)."""
    cursor = await conn.execute(
        q("record_queued_outcomes"),
        {
            **_lease_params(lease),
            "first": first,
            "outcomes": Jsonb([_answered_json(lead) for lead in answered]),
        },
    )
    return await cursor.fetchone() is not None


async def finish(conn: Connection, lease: Lease, finished: Finished) -> bool:
    """Store a processed post's answer and show it in its post log entry, in one statement;
    False when the lease is lost (another process holds or finished the post)."""
    first = finished.first
    cursor = await conn.execute(
        q("finish_queued_post"),
        {
            **_lease_params(lease),
            "answer_type": finished.answer_type,
            "answer": finished.answer,
            "is_valid": finished.first_accepted,
            "response_type": first.response_type,
            "response_details": first.details,
            "campaign_id": first.campaign_id or None,
            "lead_id": first.lead_id or None,
            "price": first.price,
            "step": Jsonb([step_json(finished.step)]),
        },
    )
    return await cursor.fetchone() is not None


async def release(conn: Connection, lease: Lease, delay_seconds: float) -> None:
    """Processing failed: the post waits `delay_seconds` for its next attempt."""
    await conn.execute(q("release_queued_post"), {**_lease_params(lease), "delay": delay_seconds})
