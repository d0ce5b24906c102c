"""Profit-and-loss reports (GetProfitAndLoss), and rebuilding their aggregates for a range of
days (RebuildReports) or for the day and campaign of one lead (UpdateLeadReportCache)."""

from __future__ import annotations

import logging
from datetime import date

from server.domain.reports import ProfitAndLoss, ReportQuery, check_query, check_range
from server.errors import NotFound
from server.storage import reports as store
from server.storage.database import Pool, transaction

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
