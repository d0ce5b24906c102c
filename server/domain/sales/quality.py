"""Quality control and returns: who may be reviewed or returned, and what a return credits.

Pure functions over plain data, and the records the QC bin and returns read; the use cases
are in server/services/quality/ and the choices are explained in docs/quality.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from server.domain.sales.sends import SendStatus
from server.errors import FailedPrecondition, InvalidArgument, Violation

MAX_REASON = 1000


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def reason_text(value: str, path: str, *, required: bool) -> str:
    """A reason or note as stored: trimmed, at most MAX_REASON characters, present if required."""
    text = value.strip()
    if required and not text:
        raise InvalidArgument([Violation(path, "a reason is required")])
    if len(text) > MAX_REASON:
        raise InvalidArgument([Violation(path, f"at most {MAX_REASON} characters")])
    return text


# -- the QC bin ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QcLead:
    """A lead waiting in the QC bin, as its reviewer sees it."""

    lead_id: int
    post_id: UUID
    source_id: int
    campaign_id: int
    lead_type_id: int
    reference: str
    received_at: datetime
    fields: Mapping[str, object]  # as stored (JSON values)
    price: Decimal


@dataclass(frozen=True)
class Decision:
    """The outcome of a QC review."""

    lead_id: int
    approved: bool
    reviewed_at: datetime
    due_at: datetime | None = None  # approved: when distribution is due; None for noSell


@dataclass(frozen=True)
class QcState:
    """Where a lead stands in QC review."""

    lead_id: int
    pending: bool
    reviewed_at: datetime | None
    rejected: bool


def review_refusal(state: QcState) -> str | None:
    """Why the lead cannot be approved or rejected now, or None when it waits in the bin."""
    if state.pending:
        return None
    if state.rejected and state.reviewed_at is not None:
        return (
            f"lead {state.lead_id} was rejected in QC review at {_when(state.reviewed_at)};"
            " a review is final"
        )
    if state.reviewed_at is not None:
        return (
            f"lead {state.lead_id} was already approved at {_when(state.reviewed_at)};"
            " a review is final"
        )
    return f"lead {state.lead_id} is not in the QC bin: its campaign did not hold it for review"


# -- returns ------------------------------------------------------------------------------------


def return_window_days(campaign_days: int, source_default_days: int) -> int:
    """Days after a sale in which the buyer may return it: the campaign's return_days, or, when
    that is 0, its source's default_return_days. 0 means no returns."""
    if campaign_days > 0:
        return campaign_days
    return max(source_default_days, 0)


@dataclass(frozen=True)
class ReturnedSend:
    """A sale as a return shows it: to which buyer, at what price, when sold and returned, and
    why (returned_at None and reason '' while it stands)."""

    send_id: int
    lead_id: int
    client_id: int
    client_name: str
    price: Decimal
    sold_at: datetime
    returned_at: datetime | None
    return_reason: str


@dataclass(frozen=True)
class Sale:
    """A send as a return sees it."""

    send_id: int
    status: SendStatus
    sold_at: datetime
    returned_at: datetime | None = None
    return_reason: str = ""


def return_refusal(sale: Sale, window_days: int, now: datetime) -> str | None:
    """Why this send cannot be returned now, or None when it can."""
    if sale.returned_at is not None:
        return (
            f"send {sale.send_id} was already returned at {_when(sale.returned_at)}"
            f" ({sale.return_reason})"
        )
    if sale.status is not SendStatus.SOLD:
        state = sale.status.word
        return f"send {sale.send_id} is {state}, not sold: only a sale can be returned"
    if window_days <= 0:
        return (
            "the lead's campaign accepts no returns: its return_days and its source's"
            " default_return_days are 0"
        )
    closed = sale.sold_at + timedelta(days=window_days)
    if now > closed:
        return (
            f"the return window of send {sale.send_id} ({window_days} days after its sale)"
            f" closed at {_when(closed)}"
        )
    return None


def returnable(sales: Sequence[Sale], window_days: int, now: datetime) -> list[Sale]:
    """The sales among `sales` (at least one) to return now. FailedPrecondition when there is
    none, with the reason of a sale when there is one, else of the first send."""
    taken = [s for s in sales if return_refusal(s, window_days, now) is None]
    if taken:
        return taken
    first = next((s for s in sales if s.status is SendStatus.SOLD), sales[0])
    raise FailedPrecondition(return_refusal(first, window_days, now) or "nothing to return")


def source_credit(count_returns: bool, lead_price: Decimal) -> Decimal:
    """What a returned lead's source is no longer owed: the lead's price when the campaign
    counts returns, otherwise nothing (the source keeps its payment)."""
    return lead_price if count_returns else Decimal("0")
