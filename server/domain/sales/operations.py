"""Manual operations on a lead's sends: the rules that need no database.

Who may be sent a lead by hand (ProcessClientDelivery, ResendLead, LogClientSend), how the
texts a caller stores are limited, and which delivery accounts a criteria lookup
(GetAllCriteriaAccounts) names. The use cases are in server/services/operations/ and the
choices in docs/operations.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from server.domain.catalog.fields import NUL
from server.domain.catalog.rules import Operator
from server.domain.matching.criteria import Criterion, CriterionType
from server.domain.sales.sends import SendStatus
from server.errors import InvalidArgument, Violation

MAX_NOTES = 1000
MAX_TEXT = 65536  # a logged request or response, as the engine keeps a buyer's response
LIST_OPERATORS = frozenset({Operator.In, Operator.NotIn})


def required_ids(**ids: int) -> None:
    """InvalidArgument naming every id that is missing (0) or negative."""
    problems = [Violation(name, "is required") for name, value in ids.items() if value <= 0]
    if problems:
        raise InvalidArgument(problems)


def optional_id(name: str, value: int) -> None:
    if value < 0:
        raise InvalidArgument([Violation(name, "must be 0 (none) or an id")])


def limited_text(value: str, path: str, limit: int = MAX_NOTES, *, strip: bool = True) -> str:
    """A caller's text as stored: trimmed (notes) or as given (logged requests), at most
    `limit` characters."""
    text = value.strip() if strip else value
    if len(text) > limit:
        raise InvalidArgument([Violation(path, f"at most {limit} characters")])
    if NUL in text:  # PostgreSQL text cannot hold it
        raise InvalidArgument([Violation(path, "holds a NUL character")])
    return text


@dataclass(frozen=True)
class HeldSend:
    """A send of the lead that holds or made a sale: scheduled, in flight or sold."""

    send_id: int
    client_id: int
    delivery_account_id: int
    status: SendStatus


def holder_refusal(
    held: Iterable[HeldSend],
    client_id: int,
    delivery_account_id: int,
    *,
    use_tiers: bool,
    buyer: str,
    lead_id: int,
) -> str | None:
    """Why the buyer may not be sent the lead again by hand, or None: it bought the lead or a
    send to it is under way. A buyer with delivery tiers may be sent it on another account.
    (A returned sale still holds the lead, as it still counts against the buyer's caps.)"""
    for send in held:
        if send.client_id != client_id:
            continue
        if use_tiers and send.delivery_account_id != delivery_account_id:
            continue
        if send.status is SendStatus.SOLD:
            return f"{buyer} already bought lead {lead_id} (send {send.send_id})"
        return f"send {send.send_id} of lead {lead_id} to {buyer} is still being delivered"
    return None


def delivery_refusal(lead_id: int, *, pending_qc: bool, qc_rejected: bool) -> str | None:
    """Why the lead may not be delivered by hand, or None: QC review comes first, and a lead
    rejected in review is never distributed (docs/quality.md)."""
    if pending_qc:
        return f"lead {lead_id} waits in the QC bin; approve it before sending it"
    if qc_rejected:
        return f"lead {lead_id} was rejected in QC review and is never distributed"
    return None


def consent_refusal(
    lead_id: int, consented: frozenset[int] | None, view_id: int, label: str
) -> str | None:
    """Why a 1-to-1 lead may not be sent by hand to this delivery account, or None: only the
    buyers whose offer the consumer chose with consent may have it (docs/ping_post.md)."""
    if consented is None or view_id in consented:
        return None
    return (
        f"lead {lead_id} is 1-to-1 and its consumer did not consent to {label}'s offer; "
        "it may go only to the buyers whose offer was chosen with consent"
    )


def _folded(text: str) -> str:
    return text.strip().casefold()


def names_value(criterion: Criterion, field: str, value: str) -> bool:
    """Whether a delivery account's criterion is on `field` with `value`: its value equal to
    it ignoring case and surrounding blanks, or for In and NotIn one of its comma-separated
    items; an empty `value` matches any criterion on the field. Expressions name no single
    field and never match."""
    if criterion.type is CriterionType.Expression:
        return False
    if _folded(criterion.field) != _folded(field):
        return False
    wanted = _folded(value)
    if not wanted:
        return True
    if _folded(criterion.value) == wanted:
        return True
    return criterion.operator in LIST_OPERATORS and wanted in {
        _folded(item) for item in criterion.value.split(",")
    }


def has_criterion(criteria: Sequence[Criterion], field: str, value: str) -> bool:
    """Whether any of a delivery account's criteria is on `field` with `value`."""
    return any(names_value(c, field, value) for c in criteria)
