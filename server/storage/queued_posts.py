"""Queued posts: the /async insert URLs' posts, written with their post log entry, leased to
one worker at a time, and finished with the answer their synchronous URL would have given.

Every write after the lease names the attempt it holds (`Lease`): once another process took
the post over (the lease ran out), the old holder's writes change nothing and say so.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from server.domain.intake.screening import Step
from server.storage.database import Connection, Pool, transaction
from server.storage.leads import PostEntry, post_params, step_json
from server.storage.queries import Row, q

MAX_GROUP = 256  # posts queued in one transaction


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


class QueueWriter:
    """Queues posts in groups (group commit): every post handed to `enqueue` while the group
    before is being written goes in the next one, as one transaction, so under load many
    posts share the round trips, the count's row lock and the WAL flush, and when idle a post
    is written at once. Each caller still returns only once its own post is committed.

    An account's posts take their room from its count of posts waiting, an upper bound kept
    in one row (`reserve_queue_room`). A post whose group would pass its account's limit is
    queued on its own under the count's lock, after counting the posts really waiting.
    """

    def __init__(self, pool: Pool, *, max_queued: int, reserve_seconds: float) -> None:
        """`max_queued`: the limit of an account that set none of its own. For
        `reserve_seconds` only the process that queued a post may start it (`start`); then
        any worker's poll may."""
        self._pool = pool
        self._max_queued = max_queued
        self._reserve_seconds = reserve_seconds
        self._waiting: list[tuple[NewQueuedPost, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def enqueue(self, new: NewQueuedPost) -> bool:
        """Queue a post with its post log entry unless its account has its limit of posts
        waiting; whether it was queued, once committed."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((new, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        return await asyncio.shield(done)

    async def _drain(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
                try:
                    queued = await self._write_group([new for new, _ in group])
                except Exception as exc:  # each caller gets the failure
                    for _, done in group:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                over: dict[int, list[NewQueuedPost]] = {}
                for new, _ in group:
                    if new.post.post_id not in queued:
                        over.setdefault(new.post.account_id, []).append(new)
                for account_id, posts in over.items():
                    try:
                        queued |= await self._write_counted(account_id, posts)
                    except Exception as exc:
                        for new, done in group:
                            if new in posts and not done.done():
                                done.set_exception(exc)
                for new, done in group:
                    if not done.done():
                        done.set_result(new.post.post_id in queued)
        finally:
            self._writer = None

    async def _write_group(self, group: list[NewQueuedPost]) -> set[str]:
        """The group's posts whose accounts have room, queued in one transaction; their
        PostIDs."""
        counts = Counter(new.post.account_id for new in group)
        accounts = sorted(counts)
        params = {
            "accounts": accounts,
            "counts": [counts[a] for a in accounts],
            "max_queued": self._max_queued,
        }
        async with transaction(self._pool) as conn:
            cursor = await conn.execute(q("reserve_queue_room"), params)
            roomy = {row["account_id"] for row in await cursor.fetchall()}
            fits = [new for new in group if new.post.account_id in roomy]
            if fits:
                async with conn.cursor() as cursor:
                    await cursor.executemany(q("enqueue_post"), [self._params(n) for n in fits])
        return {new.post.post_id for new in fits}

    async def _write_counted(self, account_id: int, posts: list[NewQueuedPost]) -> set[str]:
        """An account's posts whose group passed its count's bound: as many as the posts
        really waiting leave room for, in order, under the count's lock, which is set to the
        posts waiting after them; their PostIDs."""
        async with transaction(self._pool) as conn:
            params = {"account_id": account_id, "max_queued": self._max_queued}
            cursor = await conn.execute(q("lock_queue_count"), params)
            found = await cursor.fetchone()
            limit = int(found["queue_limit"]) if found else self._max_queued
            cursor = await conn.execute(q("count_waiting_posts"), {"account_id": account_id})
            counted = await cursor.fetchone()
            waiting = int(counted["waiting"]) if counted else 0
            fits = posts[: max(0, limit - waiting)]
            if fits:
                async with conn.cursor() as cursor:
                    await cursor.executemany(q("enqueue_post"), [self._params(n) for n in fits])
            params = {"account_id": account_id, "waiting": waiting + len(fits)}
            await conn.execute(q("set_queue_count"), params)
        return {new.post.post_id for new in fits}

    def _params(self, new: NewQueuedPost) -> dict[str, Any]:
        return {
            **post_params(new.post),
            "request": new.request,
            "credentials": new.credentials,
            "return_url": new.return_url,
            "endpoint": new.endpoint,
            "response_format": new.response_format,
            "receiver_url": new.receiver_url,
            "reserve": self._reserve_seconds,
        }


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
