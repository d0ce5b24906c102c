"""Callbacks to lead sources: a queued (async) post's outcome POSTed to the `returnurl` it
came with, signed with its source's secret, delivered at least once.

`queue_callback` writes a callback in the caller's transaction, the one that records the
processed post, so the callback is exactly as durable as that outcome. `Callbacks` sends the
due ones on a leased-work runner of its own, as the notices worker sends emails: it leases
each (FOR UPDATE SKIP LOCKED, under a numbered lease), sends it outside any transaction, and
finishes it in one statement that records the attempt and does nothing if the lease passed
to another process meanwhile. A callback sent whose outcome was lost (its process died) goes
again once its lease runs out, with the same event id. `CallbackReports` shows a post's
callbacks and every attempt at them.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from server.domain.addresses import ACCOUNT_CALLBACKS, SERVER_CALLBACKS
from server.domain.callbacks.records import (
    Answer,
    CallbackReport,
    CallbackState,
    Outcome,
    RetrySchedule,
    callback_headers,
)
from server.domain.callbacks.signing import signature_header
from server.domain.delivery.render import storable
from server.errors import InvalidArgument
from server.services.runner import LeasedRunner, RunnerSettings
from server.storage import callbacks as store
from server.storage.database import Connection, Pool, statements

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallbackSettings:
    # how long a sending process holds a callback past its connect and read timeouts before
    # another process takes it over
    lease_seconds: float = 30.0
    connect_seconds: float = 5.0  # resolving the host and connecting (TLS included)
    read_seconds: float = 10.0  # the answer, once the request is sent
    schedule: RetrySchedule = field(default_factory=RetrySchedule)
    concurrency: int = 16  # callbacks sent at once by one process
    # how often an idle runner looks for retries and other processes' callbacks; a callback
    # queued in this process wakes it at once
    poll_seconds: float = 1.0
    # an account's `allow_private_callbacks` is honoured (the server's setting; False: no
    # callback goes to a private address, whatever its account says)
    private_by_account: bool = True


class Sender(Protocol):
    """The HTTP client callbacks go out through (server/adapters/callbacks.py)."""

    async def post(
        self,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        *,
        allow_private: bool,
        connect_seconds: float,
        read_seconds: float,
        not_allowed: str,
    ) -> Answer: ...


async def queue_callback(
    conn: Connection,
    account_id: int,
    source_id: int,
    post_id: str,
    url: str,
    content_type: str,
    body: bytes,
) -> None:
    """Queue the callback of a processed post, in the caller's transaction (the one that
    records the post's outcome): `body` POSTed to `url` with `content_type` (the post's answer
    in the format it asked for), signed with `source_id`'s signing secret when the source has
    one when it goes out, else unsigned. Due at once; once committed, `Callbacks.wake()` sends
    it from this process without waiting for a poll. A post has one callback: queueing
    another for it changes nothing. A blank `url` queues nothing. The URL is checked when it
    is called: a refused one is recorded as a refused attempt, it never fails the caller."""
    if not url.strip():
        return
    await store.insert(
        conn,
        account_id,
        source_id,
        uuid.UUID(post_id),
        uuid.uuid4(),
        url.strip(),
        content_type,
        body,
    )


class Callbacks:
    """Sends the callbacks due, this process's and any other's, on its own runner."""

    def __init__(
        self,
        pool: Pool,
        client: Sender,
        settings: CallbackSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`clock`: the Unix time the signatures are stamped with."""
        self._pool = pool
        self._client = client
        self._settings = settings = settings or CallbackSettings()
        self._clock = clock
        # a lease outlasts the longest attempt by the lease margin
        self._lease_seconds = (
            settings.lease_seconds + settings.connect_seconds + settings.read_seconds
        )
        self.runner = LeasedRunner(
            lambda room: self._poll(room),
            RunnerSettings(
                settings.concurrency, settings.concurrency, poll_seconds=settings.poll_seconds
            ),
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Lease and send due callbacks until `stop` is set; then finish those under way."""
        await self.runner.run(stop)

    def wake(self) -> None:
        """A callback was committed in this process: look for it now."""
        self.runner.wake()

    async def idle(self) -> None:
        """Return once every callback due now is sent or waits for its next attempt."""
        await self.runner.idle()

    async def _poll(self, room: int) -> int:
        # one statement leases them (FOR UPDATE SKIP LOCKED): no BEGIN and COMMIT around it
        async with statements(self._pool) as conn:
            due = await store.claim_due(conn, self._lease_seconds, room)
        for leased in due:
            self.runner.start(self.send(leased))
        return len(due)

    async def send(self, leased: store.LeasedCallback) -> None:
        """One attempt at a callback this process leased, and its outcome recorded."""
        settings = self._settings
        signed = None
        if leased.secret is not None:
            signed = signature_header(leased.secret, int(self._clock()), leased.body)
        answer = await self._client.post(
            leased.url,
            callback_headers(leased.event_id, leased.content_type, signed),
            leased.body,
            allow_private=leased.allow_private and settings.private_by_account,
            connect_seconds=settings.connect_seconds,
            read_seconds=settings.read_seconds,
            not_allowed=ACCOUNT_CALLBACKS if settings.private_by_account else SERVER_CALLBACKS,
        )
        attempts = leased.attempts + 1
        retry_in = None
        if answer.outcome is Outcome.DELIVERED:
            state = CallbackState.DELIVERED
        elif answer.outcome is Outcome.REFUSED:
            state = CallbackState.REFUSED
        else:
            retry_in = settings.schedule.delay(
                attempts, leased.age_seconds, random.uniform(-1.0, 1.0)
            )
            state = CallbackState.FAILED if retry_in is None else CallbackState.PENDING
        async with statements(self._pool) as conn:
            recorded = await store.finish(
                conn,
                leased.lease,
                state,
                outcome=answer.outcome,
                status=answer.status,
                error=storable(answer.error),
                elapsed_ms=answer.elapsed_ms,
                retry_in=retry_in or 0.0,
            )
        if not recorded:
            log.warning(
                "post %s: callback attempt %d not recorded: its lease passed to another process",
                leased.post_id,
                attempts,
            )
            return
        retry = f"; retry in {retry_in:.0f} s" if retry_in is not None else ""
        log.info(
            "post %s: callback attempt %d to %s: %s%s%s",
            leased.post_id,
            attempts,
            urlsplit(leased.url).hostname,  # not the URL: its query may hold a token
            state,
            f" ({answer.error})" if answer.error else "",
            retry,
        )


class CallbackReports:
    """A post's callbacks and their attempts, for ListCallbackAttempts (and the queue status
    report)."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def for_post(self, account_id: int, post_id: str) -> list[CallbackReport]:
        """The account's callbacks for the post `post_id`, oldest first; none when it has no
        such post or the post queued none."""
        try:
            parsed = uuid.UUID(post_id)
        except ValueError:
            raise InvalidArgument(f"{post_id!r} is not a PostID") from None
        async with statements(self._pool) as conn:
            return await store.for_post(conn, account_id, parsed)
