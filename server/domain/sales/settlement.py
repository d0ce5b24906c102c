"""Confirmed sales: which of a buyer's sends a confirmation takes, and what it earns the source.

A campaign pays its source per lead (at intake), per sale or by revenue share. Per-sale and
revenue-share leads are stored at price 0; they are settled here when a buyer confirms a sale
(ConfirmSale). Pure functions over plain data; the use case is in
server/services/operations/confirmations.py and the choices are in docs/operations.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from server.domain.catalog.specs import PricingModel
from server.domain.sales.sends import SendStatus
from server.errors import FailedPrecondition

CENT = Decimal("0.01")


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def sale_settlement(model: PricingModel, amount: Decimal, sale_price: Decimal) -> Decimal:
    """What one confirmed sale adds to the price the account owes the lead's source.

    Per lead: nothing (the source was priced when the lead arrived). Per sale: the campaign's
    amount. Revenue share: `amount` percent of the buyer's price for the sale, to the cent,
    half up.
    """
    if model is PricingModel.PerSale:
        return amount
    if model is PricingModel.RevenueShare:
        return (sale_price * amount / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return Decimal("0")


@dataclass(frozen=True)
class BuyerSend:
    """One send of the lead to the confirming buyer, as a confirmation sees it."""

    send_id: int
    status: SendStatus
    price: Decimal
    returned_at: datetime | None = None
    confirmed_at: datetime | None = None


def confirmable(sends: Sequence[BuyerSend], lead_id: int, buyer: str) -> list[BuyerSend]:
    """The sends a buyer's confirmation of the lead takes (`sends` are that buyer's, oldest
    first): every standing, unconfirmed sale; with none, while none was ever made or is under
    way, its latest rejected send, which the buyer's word makes a sale. FailedPrecondition
    with the reason otherwise."""
    sales = [s for s in sends if s.status is SendStatus.SOLD]
    standing = [s for s in sales if s.returned_at is None and s.confirmed_at is None]
    if standing:
        return standing
    pending = [s for s in sends if s.status.outstanding]
    rejected = [s for s in sends if s.status is SendStatus.REJECTED]
    if not sales and not pending and rejected:
        return [rejected[-1]]
    confirmed = [s for s in sales if s.confirmed_at is not None]
    if confirmed:
        first = confirmed[0]
        assert first.confirmed_at is not None
        raise FailedPrecondition(
            f"{buyer} already confirmed lead {lead_id}: send {first.send_id} was confirmed at "
            f"{_when(first.confirmed_at)}"
        )
    if sales:
        returned = sales[0]
        assert returned.returned_at is not None
        raise FailedPrecondition(
            f"send {returned.send_id} of lead {lead_id} to {buyer} was returned at "
            f"{_when(returned.returned_at)}; a returned sale cannot be confirmed"
        )
    if pending:
        raise FailedPrecondition(
            f"send {pending[0].send_id} of lead {lead_id} to {buyer} is still being delivered; "
            "confirm it once the buyer has answered"
        )
    if sends:
        raise FailedPrecondition(
            f"lead {lead_id} never reached {buyer}: its sends failed in transport"
        )
    raise FailedPrecondition(f"lead {lead_id} was never sent to {buyer}")
