"""Quality control and returns: the QC bin's review and buyers' returns, one transaction each.

A campaign with the QC bin stores its leads with `pending_qc` and no distribution job
(`insert_lead`). Approving writes the job then, in the same statement that takes the lead out
of the bin, and wakes the local distribution worker; rejecting keeps the lead out for good.
A buyer's return marks its sale returned; once no sale of the lead stands, the lead is
returned too, and its source credited when the campaign counts returns. The rules are in
server/domain/sales/quality.py; the choices in docs/quality.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NoReturn

from server.domain.sales.quality import (
    QcState,
    Sale,
    reason_text,
    return_window_days,
    returnable,
    review_refusal,
    source_credit,
)
from server.domain.sales.sends import SendStatus
from server.errors import FailedPrecondition, InvalidArgument, NotFound
from server.storage.database import Connection, Pool, transaction
from server.storage.queries import q

log = logging.getLogger(__name__)

DEFAULT_PAGE, MAX_PAGE = 100, 1000


@dataclass(frozen=True)
class Decision:
    """The outcome of a QC review."""

    lead_id: int
    approved: bool
    reviewed_at: datetime
    due_at: datetime | None = None  # approved: when distribution is due; None for noSell


@dataclass(frozen=True)
class ReturnOutcome:
    sends: list[dict[str, Any]]  # the sales returned now
    return_days: int
    lead_returned: bool
    returned_to_source: bool
    source_credit: Decimal


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    next_after: int  # 0 = no more


def _page_size(value: int) -> int:
    if not 0 <= value <= MAX_PAGE:
        raise InvalidArgument(f"page_size must be between 0 and {MAX_PAGE}")
    return value or DEFAULT_PAGE


def _page(rows: list[dict[str, Any]], size: int) -> Page:
    if len(rows) > size:
        rows = rows[:size]
        return Page(rows, int(rows[-1]["id"]))
    return Page(rows, 0)


class Quality:
    """The QC bin and returns of one database; `on_approved` wakes the distribution worker."""

    def __init__(self, pool: Pool, on_approved: Callable[[], None]) -> None:
        self._pool = pool
        self._on_approved = on_approved

    # -- the QC bin

    async def list_bin(
        self, account_id: int, campaign_id: int = 0, page_size: int = 0, after_lead_id: int = 0
    ) -> Page:
        """Leads waiting for review, oldest first."""
        size = _page_size(page_size)
        async with transaction(self._pool) as conn:
            cursor = await conn.execute(
                q("list_qc_bin"),
                {
                    "account_id": account_id,
                    "campaign_id": campaign_id,
                    "after_id": after_lead_id,
                    "limit": size + 1,
                },
            )
            return _page(await cursor.fetchall(), size)

    async def approve(self, account_id: int, lead_id: int, note: str = "") -> Decision:
        """Take the lead out of the bin and queue its distribution."""
        note = reason_text(note, "note", required=False)
        async with transaction(self._pool) as conn:
            cursor = await conn.execute(
                q("approve_lead"), {"account_id": account_id, "id": lead_id, "note": note}
            )
            row = await cursor.fetchone()
            if row is None:
                await _refuse_review(conn, account_id, lead_id)
        log.info("lead %s approved in QC review; distribution due %s", lead_id, row["due_at"])
        if row["due_at"] is not None:
            self._on_approved()
        return Decision(lead_id, True, row["qc_reviewed_at"], row["due_at"])

    async def reject(self, account_id: int, lead_id: int, reason: str) -> Decision:
        """Take the lead out of the bin for good; it is never distributed."""
        reason = reason_text(reason, "reason", required=True)
        async with transaction(self._pool) as conn:
            cursor = await conn.execute(
                q("reject_lead"), {"account_id": account_id, "id": lead_id, "reason": reason}
            )
            row = await cursor.fetchone()
            if row is None:
                await _refuse_review(conn, account_id, lead_id)
        log.info("lead %s rejected in QC review: %s", lead_id, reason)
        return Decision(lead_id, False, row["qc_reviewed_at"])

    # -- returns

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
                cursor = await conn.execute(
                    q("find_send_lead"), {"account_id": account_id, "id": send_id}
                )
                found = await cursor.fetchone()
                if found is None:
                    raise NotFound(f"no send {send_id}")
                lead_id = int(found["lead_id"])
            cursor = await conn.execute(
                q("lock_lead_for_return"), {"account_id": account_id, "lead_id": lead_id}
            )
            lead = await cursor.fetchone()
            if lead is None:
                raise NotFound(f"no lead {lead_id}")
            cursor = await conn.execute(
                q("lock_sends_for_return"),
                {
                    "account_id": account_id,
                    "lead_id": lead_id,
                    "send_id": send_id,
                    "client_id": client_id,
                },
            )
            rows = {int(r["id"]): r for r in await cursor.fetchall()}
            if not rows:
                raise FailedPrecondition(f"lead {lead_id} was never sent to buyer {client_id}")
            days = return_window_days(lead["return_days"], lead["default_return_days"])
            sales = [
                Sale(
                    r["id"],
                    SendStatus(r["status"]),
                    r["sold_at"],
                    r["returned_at"],
                    r["return_reason"],
                )
                for r in rows.values()
            ]
            taken = returnable(sales, days, lead["now"])
            cursor = await conn.execute(
                q("mark_sends_returned"),
                {
                    "account_id": account_id,
                    "ids": [s.send_id for s in taken],
                    "reason": reason,
                },
            )
            returned = {int(r["id"]): r["returned_at"] for r in await cursor.fetchall()}
            credit = source_credit(lead["count_returns"], lead["price"])
            cursor = await conn.execute(
                q("mark_lead_returned"),
                {
                    "account_id": account_id,
                    "lead_id": lead_id,
                    "reason": reason,
                    "to_source": lead["count_returns"],
                    "source_credit": credit,
                },
            )
            marked = await cursor.fetchone()
        sends = [
            {**rows[i], "returned_at": at, "return_reason": reason} for i, at in returned.items()
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
            returned_to_source=bool(marked and marked["returned_to_source"]),
            source_credit=marked["source_credit"] if marked else Decimal("0"),
        )

    async def list_returns(
        self,
        account_id: int,
        client_id: int = 0,
        lead_id: int = 0,
        page_size: int = 0,
        after_send_id: int = 0,
    ) -> Page:
        """Returned sales, oldest send first."""
        size = _page_size(page_size)
        async with transaction(self._pool) as conn:
            cursor = await conn.execute(
                q("list_returns"),
                {
                    "account_id": account_id,
                    "client_id": client_id,
                    "lead_id": lead_id,
                    "after_id": after_send_id,
                    "limit": size + 1,
                },
            )
            return _page(await cursor.fetchall(), size)


async def _refuse_review(conn: Connection, account_id: int, lead_id: int) -> NoReturn:
    """Raise why the lead could not be reviewed: unknown here, or not in the bin."""
    cursor = await conn.execute(q("get_lead_qc_state"), {"account_id": account_id, "id": lead_id})
    row = await cursor.fetchone()
    if row is None:
        raise NotFound(f"no lead {lead_id}")
    refusal = review_refusal(
        QcState(lead_id, row["pending_qc"], row["qc_reviewed_at"], row["qc_rejected"])
    )
    raise FailedPrecondition(refusal or f"lead {lead_id} is being reviewed meanwhile; try again")
