"""Buyers' returns of sales (each credits its buyer's ledger, in the statement that marks it
returned), and the listing of returned sales."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from decimal import Decimal

from server.domain.sales.quality import (
    ReturnedSend,
    reason_text,
    return_window_days,
    returnable,
    source_credit,
)
from server.errors import FailedPrecondition, InvalidArgument, NotFound
from server.services.quality._pages import Page, checked_size, page
from server.storage import quality as store
from server.storage.database import Pool, transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReturnOutcome:
    """What a return did: the sales returned now, and whether the lead was returned too."""

    sends: list[ReturnedSend]  # the sales returned now
    return_days: int
    lead_returned: bool
    returned_to_source: bool
    source_credit: Decimal


class Returns:
    """Buyers' returns of the sales of one database."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def return_sends(
        self,
        account_id: int,
        reason: str,
        *,
        send_id: int = 0,
        lead_id: int = 0,
        client_id: int = 0,
    ) -> ReturnOutcome:
        """A buyer returns one sale (send_id), or every sale of a lead to it (lead_id and
        client_id), inside the lead's return window."""
        reason = reason_text(reason, "reason", required=True)
        if send_id and (lead_id or client_id):
            raise InvalidArgument("give a send_id, or a lead_id and a client_id, not both")
        if not send_id and not (lead_id and client_id):
            raise InvalidArgument("give a send_id, or a lead_id and a client_id")
        async with transaction(self._pool) as conn:
            if send_id:
                found = await store.lead_of_send(conn, account_id, send_id)
                if found is None:
                    raise NotFound(f"no send {send_id}")
                lead_id = found
            lead = await store.lock_lead_for_return(conn, account_id, lead_id)
            if lead is None:
                raise NotFound(f"no lead {lead_id}")
            locked = await store.lock_sends_for_return(
                conn, account_id, lead_id, send_id, client_id
            )
            shown = {s.sale.send_id: s.shown for s in locked}
            if not shown:
                raise FailedPrecondition(f"lead {lead_id} was never sent to buyer {client_id}")
            days = return_window_days(lead.return_days, lead.default_return_days)
            taken = returnable([s.sale for s in locked], days, lead.now)
            returned = await store.mark_sends_returned(
                conn, account_id, [s.send_id for s in taken], reason
            )
            credit = source_credit(lead.count_returns, lead.price)
            marked = await store.mark_lead_returned(
                conn,
                account_id,
                lead_id,
                reason,
                to_source=lead.count_returns,
                source_credit=credit,
            )
        sends = [
            replace(shown[i], returned_at=at, return_reason=reason) for i, at in returned.items()
        ]
        log.info(
            "lead %s: sends %s returned (%s); lead returned: %s",
            lead_id,
            sorted(returned),
            reason,
            marked is not None,
        )
        return ReturnOutcome(
            sends=sends,
            return_days=days,
            lead_returned=marked is not None,
            returned_to_source=bool(marked and marked.returned_to_source),
            source_credit=marked.source_credit if marked else Decimal("0"),
        )

    async def list_returns(
        self,
        account_id: int,
        client_id: int = 0,
        lead_id: int = 0,
        page_size: int = 0,
        after_send_id: int = 0,
    ) -> Page[ReturnedSend]:
        """Returned sales, oldest send first."""
        size = checked_size(page_size)
        async with transaction(self._pool) as conn:
            found = await store.list_returns(
                conn, account_id, client_id, lead_id, after_send_id, size + 1
            )
        return page(found, size, lambda send: send.send_id)
