"""What the engine shows without sending: where a lead would go now and why (a scan that
reserves and logs nothing), a lead's sends and its scan log, and a delivery account as the
engine sees it (for manual operations)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from server.domain.buyers.specs import AccountType
from server.domain.catalog.fields import clean_lead_values
from server.domain.intake.call_data import screening_values
from server.domain.matching.eligibility import DeliveryAccountView
from server.domain.sales.sends import ScanLogEntry, Send
from server.errors import InvalidArgument, NotFound
from server.services.distribution.buyer_cache import BuyerCache
from server.services.distribution.scan import Scan, scan
from server.storage import catalog as catalog_store
from server.storage import jobs as job_store
from server.storage import leads as lead_store
from server.storage import sends as send_store
from server.storage.database import Connection, Pool, statements


def utcnow() -> datetime:
    return datetime.now(UTC)


class DistributionViews:
    """The engine's read-only answers, from this process's buyer cache."""

    def __init__(self, pool: Pool, cache: BuyerCache) -> None:
        self._pool = pool
        self._cache = cache

    async def scan_lead(
        self,
        account_id: int,
        lead_id: int,
        *,
        automated_only: bool = True,
        allow_over_max: bool = False,
        account_types: frozenset[AccountType] | None = None,
    ) -> Scan:
        """Where this stored lead would go now and why; nothing is reserved or logged.
        `account_types` limits the scan to those types (GetClientsForRedirect/Transfer)
        instead of the types the lead's endpoint sells to."""
        async with statements(self._pool) as conn:
            lead = await lead_store.to_scan(conn, account_id, lead_id)
            if lead is None:
                raise NotFound(f"no lead {lead_id}")
            snapshot = await self._cache.snapshot(
                conn, account_id, lead.lead_type_id, lead.buyer_version
            )
            return await scan(
                conn,
                account_id,
                lead_id,
                snapshot,
                screening_values(lead.fields, lead.call_data),
                lead.max_sell,
                utcnow(),
                automated_only=automated_only,
                allow_over_max=allow_over_max,
                account_types=account_types or job_store.account_types(lead.account_types),
                lead_category_id=lead.lead_category_id,
            )

    async def scan_fields(
        self, account_id: int, lead_type_id: int, posted: Sequence[tuple[str, str]]
    ) -> Scan:
        """Where a lead with these field values would go now, without a lead
        (GetClientsForCriteria): values are typed by the lead type's fields, none required."""
        async with statements(self._pool) as conn:
            fields = await catalog_store.list_fields(conn, account_id, lead_type_id)
            if not fields:
                raise NotFound(f"no lead type {lead_type_id} with fields")
            specs = [replace(f.spec, required=False) for f in fields]
            cleaned = clean_lead_values(specs, dict(posted))
            if not cleaned.ok:
                raise InvalidArgument(cleaned.problems)
            snapshot = await self._cache.snapshot(conn, account_id, lead_type_id)
            return await scan(
                conn, account_id, 0, snapshot, cleaned.values, 1, utcnow(), allow_over_max=True
            )

    async def list_sends(self, account_id: int, lead_id: int) -> list[Send]:
        """A lead's sends, oldest first (an unknown lead has none)."""
        async with statements(self._pool) as conn:
            return await send_store.list_sends(conn, account_id, lead_id)

    async def scan_log(self, account_id: int, lead_id: int) -> list[ScanLogEntry]:
        """A lead's scan log entries, oldest first; NotFound for a lead not in the account."""
        async with statements(self._pool) as conn:
            if not await lead_store.exists(conn, account_id, lead_id):
                raise NotFound(f"no lead {lead_id}")
            return await send_store.scan_log(conn, account_id, lead_id)

    async def delivery_account_view(
        self, conn: Connection, account_id: int, lead_type_id: int, delivery_account_id: int
    ) -> tuple[DeliveryAccountView, bool] | None:
        """A delivery account of this lead type as the engine sees it, and whether it takes
        leads only against orders; None when the lead type has no such account."""
        snapshot = await self._cache.snapshot(conn, account_id, lead_type_id)
        view = snapshot.by_id.get(delivery_account_id)
        return None if view is None else (view, view.id in snapshot.use_order)
