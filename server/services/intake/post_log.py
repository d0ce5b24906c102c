"""The post log: one entry per posted lead, accepted or not, with the answer and each step's
outcome and time. The request as it came, its password removed (up to MAX_LOGGED_BODY bytes;
UNAUTHENTICATED_BODY for a request whose credentials did not hold), is kept once, by the
entry of its first lead; the entries of its further leads name that entry instead. A queued
post (an /async URL's) has an entry of its own that keeps the body, and the entries of the
leads processed from it name that one.

Requests whose credentials did not hold are logged up to a cap per account a minute, and
those naming no lead source are swept (`UnattributedRetention`). An account may have its
bodies removed after a number of days (`PostBodyRetention`).

Unknown field names, which no step refuses, get a line in the process log too."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from server.domain.intake.limits import (
    UNATTRIBUTED_DAYS,
    UNATTRIBUTED_KEPT,
    UNAUTHENTICATED_BODY,
    UNAUTHENTICATED_PER_MINUTE,
)
from server.domain.intake.post_bodies import without_password
from server.domain.intake.screening import Step
from server.services import sweeps
from server.services.intake.identify import UNATTRIBUTED, Refused, Target
from server.services.intake.requests import PostOutcome, Submission
from server.storage import leads as lead_store
from server.storage import post_log as post_log_store
from server.storage.database import Connection, Pool, statements

logger = logging.getLogger(__name__)

MAX_LOGGED_BODY = 64 * 1024
# An unknown-fields line names this many, each cut to this length: a lead may hold 500.
_NAMES_LOGGED, _NAME_LOGGED = 20, 64


def entry(
    submission: Submission,
    target: Target,
    index: int,
    outcome: PostOutcome,
    steps: Sequence[Step],
) -> lead_store.PostEntry:
    """The post log entry of one posted lead; the first of a request keeps its body, unless
    an entry of its own holds it already (a queued post's)."""
    body = submission.raw_request
    most = MAX_LOGGED_BODY if target.authenticated else UNAUTHENTICATED_BODY
    first = index == 0 and not submission.request_post_id
    if first:
        target.request_post_id = outcome.post_id
    elif submission.request_post_id:
        target.request_post_id = submission.request_post_id
    return lead_store.PostEntry(
        account_id=target.account_id,
        post_id=outcome.post_id,
        source_id=target.source_id if target.account_id != UNATTRIBUTED else None,
        campaign_id=target.campaign_id,
        lead_type_id=target.lead_type_id,
        remote_ip=submission.remote_ip,
        request_format=submission.request_format,
        request_body=without_password(body)[:most] if first else b"",
        request_truncated=first and len(body) > most,
        lead_index=index,
        request_post_id=None if first else target.request_post_id,
        is_valid=outcome.accepted,
        response_type=int(outcome.response),
        response_details=outcome.details,
        lead_id=outcome.lead_id or None,
        price=outcome.price,
        steps=steps,
    )


async def log(
    conn: Connection,
    submission: Submission,
    target: Target,
    index: int,
    outcome: PostOutcome,
    steps: Sequence[Step],
    *,
    ping: bool = False,
) -> None:
    """Log a post that stored no lead (an accepted one is logged with its lead); `ping`:
    a ping's (a queued ping's entry)."""
    logged = entry(submission, target, index, outcome, steps)
    await keep(conn, target, replace(logged, ping=ping) if ping else logged)


async def keep(conn: Connection, target: Target, logged: lead_store.PostEntry) -> None:
    """Insert a post log entry, unless its request is one whose credentials did not hold, past
    this process's cap (`Target.logged`): it is answered, and not logged."""
    if target.logged:
        await lead_store.insert_post(conn, logged)


async def log_refusal(
    conn: Connection, submission: Submission, target: Target, index: int, refused: Refused
) -> PostOutcome:
    """Log a lead the request's identification refused, and its answer."""
    outcome = PostOutcome(
        str(uuid.uuid4()), refused.response, refused.details, campaign_id=target.campaign_id or 0
    )
    await log(conn, submission, target, index, outcome, target.steps)
    return outcome


def unknown_fields(post_id: str, names: Collection[str]) -> None:
    """Log, on one line, the names a lead posted that are no field of its lead type: they are
    ignored (kept with the lead as extras, never checked, matched or delivered), not refused,
    so a source that sends more than its posting instructions list is not turned away."""
    if not names:
        return
    shown = ", ".join(repr(name[:_NAME_LOGGED]) for name in list(names)[:_NAMES_LOGGED])
    more = len(names) - _NAMES_LOGGED
    logger.info(
        "post %s: %d unknown fields ignored: %s%s",
        post_id,
        len(names),
        shown,
        f" and {more} more" if more > 0 else "",
    )


@dataclass(frozen=True)
class UnattributedSettings:
    """How the post log bounds the requests anyone can send: those whose credentials did not
    hold (a cap per account a minute), and those naming no lead source (swept)."""

    per_minute: int = UNAUTHENTICATED_PER_MINUTE  # by each process, per account (Identifier)
    kept: int = UNATTRIBUTED_KEPT  # the newest kept; older ones are swept
    days: int = UNATTRIBUTED_DAYS  # and none older than this
    sweep_seconds: float = 300.0  # how often the sweep runs
    sweep_batch: int = 1000  # rows deleted per transaction


class UnattributedRetention:
    """Deletes the post log entries of requests naming no lead source past their count or
    age, a batch per transaction (server/services/sweeps.py)."""

    def __init__(
        self,
        pool: Pool,
        settings: UnattributedSettings | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._pool = pool
        self._settings = settings or UnattributedSettings()
        self._clock = clock

    async def sweep(self) -> int:
        """Delete every entry past the count or the age now; how many went."""
        settings = self._settings
        before = self._clock() - timedelta(days=settings.days)
        return await sweeps.sweep(
            self._pool,
            lambda conn: lead_store.sweep_unattributed_posts(
                conn, before, settings.kept, settings.sweep_batch
            ),
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep every `sweep_seconds` until `stop` is set."""
        seconds = self._settings.sweep_seconds
        await sweeps.sweep_every(seconds, self.sweep, "posts naming no lead source", stop)


class PostBodyRetention:
    """Removes request bodies from the post log once their account's post_body_days have
    passed (AccountSettings), a batch per transaction, account by account; the entries stay.
    Each account's removal goes forward from where it stopped, so each body is read once."""

    def __init__(self, pool: Pool, batch: int = 1000, sweep_seconds: float = 300.0) -> None:
        self._pool = pool
        self._batch = batch
        self._seconds = sweep_seconds

    async def sweep(self) -> int:
        """Remove every body due now; how many entries were passed."""
        async with statements(self._pool) as conn:
            due = await post_log_store.accounts_removing_bodies(conn)
        total = 0
        for account in due:
            total += await sweeps.sweep(self._pool, self._remover(account))
        return total

    def _remover(self, due: post_log_store.BodiesDue) -> sweeps.Batch:
        return lambda conn: post_log_store.remove_bodies(conn, due, self._batch)

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep every `sweep_seconds` until `stop` is set."""
        await sweeps.sweep_every(self._seconds, self.sweep, "post log bodies past their days", stop)
