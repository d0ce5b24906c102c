"""The QC bin's review: listing the held leads, approving and rejecting them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NoReturn

from server.domain.sales.quality import Decision, QcLead, reason_text, review_refusal
from server.errors import FailedPrecondition, NotFound
from server.services.quality._pages import Page, checked_size, page
from server.storage import quality as store
from server.storage.database import Connection, Pool, transaction

log = logging.getLogger(__name__)


class QcReview:
    """The QC bin of one database; `on_approved` wakes the distribution worker."""

    def __init__(self, pool: Pool, on_approved: Callable[[], None]) -> None:
        self._pool = pool
        self._on_approved = on_approved

    async def list_bin(
        self, account_id: int, campaign_id: int = 0, page_size: int = 0, after_lead_id: int = 0
    ) -> Page[QcLead]:
        """Leads waiting for review, oldest first."""
        size = checked_size(page_size)
        async with transaction(self._pool) as conn:
            found = await store.list_qc_bin(conn, account_id, campaign_id, after_lead_id, size + 1)
        return page(found, size, lambda lead: lead.lead_id)

    async def approve(self, account_id: int, lead_id: int, note: str = "") -> Decision:
        """Take the lead out of the bin and queue its distribution."""
        note = reason_text(note, "note", required=False)
        async with transaction(self._pool) as conn:
            decision = await store.approve_lead(conn, account_id, lead_id, note)
            if decision is None:
                await _refuse_review(conn, account_id, lead_id)
        log.info("lead %s approved in QC review; distribution due %s", lead_id, decision.due_at)
        if decision.due_at is not None:
            self._on_approved()
        return decision

    async def reject(self, account_id: int, lead_id: int, reason: str) -> Decision:
        """Take the lead out of the bin for good; it is never distributed."""
        reason = reason_text(reason, "reason", required=True)
        async with transaction(self._pool) as conn:
            decision = await store.reject_lead(conn, account_id, lead_id, reason)
            if decision is None:
                await _refuse_review(conn, account_id, lead_id)
        log.info("lead %s rejected in QC review: %s", lead_id, reason)
        return decision


async def _refuse_review(conn: Connection, account_id: int, lead_id: int) -> NoReturn:
    """Raise why the lead could not be reviewed: unknown here, or not in the bin."""
    state = await store.qc_state(conn, account_id, lead_id)
    if state is None:
        raise NotFound(f"no lead {lead_id}")
    refusal = review_refusal(state)
    raise FailedPrecondition(refusal or f"lead {lead_id} is being reviewed meanwhile; try again")
