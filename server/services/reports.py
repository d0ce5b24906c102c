"""Profit-and-loss reports (GetProfitAndLoss), rebuilding their aggregates for a range of
days (RebuildReports) or for the day and campaign of one lead (UpdateLeadReportCache), and
folding every account's pending deltas in the background."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import date

from server.domain.reports import ProfitAndLoss, ReportQuery, check_query, check_range
from server.errors import NotFound
from server.storage import reports as store
from server.storage.database import Pool, statements, transaction

log = logging.getLogger(__name__)


class Reports:
    """The profit-and-loss reports of one database."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def profit_and_loss(self, account_id: int, query: ReportQuery) -> list[ProfitAndLoss]:
        """The report's rows, pending changes folded in first."""
        check_query(query)
        async with transaction(self._pool) as conn:
            await store.fold(conn, account_id)
            return await store.profit_and_loss(conn, account_id, query)

    async def rebuild(self, account_id: int, since: date, until: date) -> None:
        """Recompute the aggregates of UTC days `since`..`until` from the rows themselves."""
        check_range(since, until)
        async with transaction(self._pool) as conn:
            await store.rebuild(conn, account_id, since, until)
        log.info("account %s: reports rebuilt for %s..%s", account_id, since, until)

    async def rebuild_lead(self, account_id: int, lead_id: int) -> date:
        """Recompute the aggregates a lead counts in (its UTC day, its campaign); its day."""
        async with transaction(self._pool) as conn:
            scope = await store.lead_scope(conn, account_id, lead_id)
            if scope is None:
                raise NotFound(f"no lead {lead_id}")
            day, campaign_id = scope
            await store.rebuild(conn, account_id, day, day, campaign_id)
        log.info("lead %s: reports rebuilt for %s, campaign %s", lead_id, day, campaign_id)
        return day


class ReportFolding:
    """Folds every account's pending deltas every `interval` seconds, so that an account
    whose reports nobody reads does not keep them (a report folds its own account first)."""

    def __init__(self, pool: Pool, interval: float = 60.0) -> None:
        self._pool = pool
        self._interval = interval

    async def fold_all(self) -> int:
        """Fold the pending deltas of every account that has some, one transaction each;
        how many accounts."""
        async with statements(self._pool) as conn:
            accounts = await store.accounts_with_deltas(conn)
        for account_id in accounts:
            async with transaction(self._pool) as conn:
                await store.fold(conn, account_id)
        return len(accounts)

    async def run(self, stop: asyncio.Event) -> None:
        """Fold until `stop` is set; a failed round is logged and the next one tried."""
        while not stop.is_set():
            try:
                await self.fold_all()
            except Exception:
                log.exception("folding the reports' deltas failed; trying again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)
