"""Site visits: tracking settings, recording a page view, reading visits, and the retention
sweep that keeps the table bounded (server/domain/visits.py, docs/visits.md)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from server.adapters.user_agents import software
from server.domain.minute_cap import MinuteCap
from server.domain.visits import (
    DEFAULT_RETENTION_DAYS,
    DEFAULT_VISITS_PER_MINUTE,
    PageView,
    Tracking,
    VisitRecord,
    search_referral,
    valid_visit_id,
    visit_id_or_new,
)
from server.errors import InvalidArgument, NotFound, Violation
from server.services import sweeps
from server.storage import visits as store
from server.storage.database import Pool, transaction

log = logging.getLogger(__name__)

MAX_TRACKING_NAME = 200
# Tracking ids whose account this process remembers (a tracking setting never moves).
_KNOWN_TRACKINGS = 10_000


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class VisitSettings:
    retention_days: int = DEFAULT_RETENTION_DAYS  # visits whose last view is older are swept
    per_minute: int = DEFAULT_VISITS_PER_MINUTE  # page views an account records per minute
    sweep_seconds: float = 300.0  # how often the sweep runs
    sweep_batch: int = 1000  # rows deleted per transaction


class Trackings:
    """An account's tracking settings."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def create(self, account_id: int, name: str) -> Tracking:
        name = name.strip()
        if len(name) > MAX_TRACKING_NAME:
            raise InvalidArgument([Violation("name", f"is over {MAX_TRACKING_NAME} characters")])
        async with transaction(self._pool) as conn:
            return await store.create_tracking(conn, account_id, name)

    async def list(self, account_id: int) -> list[Tracking]:
        async with transaction(self._pool) as conn:
            return await store.list_trackings(conn, account_id)


@dataclass(frozen=True)
class Recorded:
    """What a page view came to: the visit's id, or "" when nothing was recorded."""

    visit_id: str

    @property
    def recorded(self) -> bool:
        return bool(self.visit_id)


NOT_RECORDED = Recorded("")


class RecordVisit:
    """Records the page views the receiver's pixel and beacon report: one statement each."""

    def __init__(
        self,
        pool: Pool,
        settings: VisitSettings | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._pool = pool
        self._cap = MinuteCap((settings or VisitSettings()).per_minute)
        self._clock = clock
        self._accounts: dict[int, int] = {}

    async def record(
        self,
        tracking_id: int,
        visit_id: str,
        page_url: str,
        referrer: str,
        visitor_id: str,
        ip: str,
        user_agent: str,
    ) -> Recorded:
        """Record a page view of the visit (a new one when `visit_id` is empty or malformed).
        Nothing is recorded for an unknown tracking id, or past the account's cap."""
        if tracking_id <= 0:
            return NOT_RECORDED
        account_id = self._accounts.get(tracking_id)
        if account_id is None:
            async with transaction(self._pool) as conn:
                account_id = await store.tracking_account(conn, tracking_id)
            if account_id is None:
                return NOT_RECORDED
            if len(self._accounts) >= _KNOWN_TRACKINGS:
                self._accounts.clear()
            self._accounts[tracking_id] = account_id
        if not self._cap.take(account_id, self._clock()):
            if self._cap.first_refusal(account_id):
                cap = self._cap.per_minute
                log.warning("account %s: visits past %d this minute not recorded", account_id, cap)
            return NOT_RECORDED
        visit, _ = visit_id_or_new(visit_id)
        view = PageView.of(tracking_id, visit, page_url, referrer, visitor_id, ip, user_agent)
        async with transaction(self._pool) as conn:
            await store.record_visit(
                conn, account_id, view, search_referral(view.referrer), software(view.user_agent)
            )
        return Recorded(visit)


class VisitReads:
    """A visit by its id, and the visits of a lead."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def visit(self, account_id: int, visit_id: str) -> VisitRecord:
        visit_id = visit_id.strip()
        found = None
        if valid_visit_id(visit_id):  # no other id was ever recorded
            async with transaction(self._pool) as conn:
                found = await store.visit(conn, account_id, visit_id)
        if found is None:
            raise NotFound(f"no visit {visit_id!r}")
        return found

    async def lead_visits(self, account_id: int, lead_id: int) -> list[VisitRecord]:
        async with transaction(self._pool) as conn:
            found = await store.lead_visits(conn, account_id, lead_id)
        if found is None:
            raise NotFound(f"no lead {lead_id}")
        return found


class VisitRetention:
    """Deletes visits (and links of leads to them) whose last view is older than the
    retention period, a batch per transaction (server/services/sweeps.py)."""

    def __init__(
        self,
        pool: Pool,
        settings: VisitSettings | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._pool = pool
        self._settings = settings or VisitSettings()
        self._clock = clock

    async def sweep(self) -> int:
        """Delete everything past the retention period now; how many rows went."""
        before = self._clock() - timedelta(days=self._settings.retention_days)
        batch = self._settings.sweep_batch
        return await sweeps.sweep(self._pool, lambda conn: store.sweep(conn, before, batch))

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep every `sweep_seconds` until `stop` is set."""
        seconds = self._settings.sweep_seconds
        await sweeps.sweep_every(seconds, self.sweep, "visits past retention", stop)
