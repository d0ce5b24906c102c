"""Inbound ping-post: the rules of a ping and of the post that uses its order.

A source pings with a lead's eligibility data, leaving out how to contact the consumer. The
ping is screened as a post is, except that contact fields (`CONTACT_SPECIALS` of
server/domain/catalog/fields.py) are never required and never kept. The buyers the engine
would choose (by auction when some ping first) are reserved under an order that lives for the
campaign's `ping_order_seconds`; the source then posts the full lead with the order's id
(`orderid`). That post must repeat the ping's eligibility values unchanged; it is delivered
to exactly the reserved buyers at the reserved prices.

Pure functions over plain data; the use case is server/services/intake/ping.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from server.domain.catalog.fields import CONTACT_SPECIALS, FieldSpec, Value
from server.domain.catalog.specs import Channel, Pricing, PricingModel
from server.domain.intake.screening import ResponseType

CENT = Decimal("0.01")

COVERAGE = "Coverage found, please supply Order ID in POST"


def is_contact(spec: FieldSpec) -> bool:
    return spec.special in CONTACT_SPECIALS


def ping_fields(fields: Sequence[FieldSpec]) -> list[FieldSpec]:
    """The lead type's fields as a ping is screened against them: contact fields optional."""
    return [replace(f, required=False) if is_contact(f) else f for f in fields]


def eligibility_values(
    fields: Sequence[FieldSpec], values: Mapping[str, Value]
) -> dict[str, Value]:
    """A lead's values without its contact fields and computed fields: what a ping keeps and
    what the post that uses its order must repeat. Computed fields are left out because they
    may depend on the moment (computed.py); they are computed again from the post."""
    kept = {f.name for f in fields if not is_contact(f) and not f.computed}
    return {name: value for name, value in values.items() if name in kept}


def without_contact(
    fields: Sequence[FieldSpec], posted: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The posted pairs that are not contact fields (names matched ignoring case): what a
    ping's log keeps of its request."""
    contact = {f.name.casefold() for f in fields if is_contact(f)}
    return [(name, value) for name, value in posted if name.casefold() not in contact]


def changed_fields(pinged: Mapping[str, Value], posted: Mapping[str, Value]) -> list[str]:
    """The eligibility fields whose value differs between the ping and the post (a field
    present in one only counts as changed), by name."""
    names = sorted(set(pinged) | set(posted), key=str.casefold)
    return [n for n in names if pinged.get(n) != posted.get(n)]


def order_expires(now: datetime, seconds: int) -> datetime:
    """When an order made `now` expires, its campaign's orders living `seconds`."""
    return now + timedelta(seconds=seconds)


def parse_order_id(text: str) -> str | None:
    """An `orderid` as posted, in canonical form; None when it is not a UUID."""
    try:
        return str(uuid.UUID(text.strip()))
    except ValueError:
        return None


def estimated_price(pricing: Pricing, buyer_prices: Sequence[Decimal]) -> Decimal:
    """What the source will be paid for the lead under its campaign's pricing, when the
    reserved buyers take it at these prices: per lead, the campaign's amount; per sale, the
    amount for each buyer; revenue share, its percentage of the buyers' prices, to the cent."""
    if pricing.model is PricingModel.PerSale:
        return pricing.amount * len(buyer_prices)
    if pricing.model is PricingModel.RevenueShare:
        total = sum(buyer_prices, Decimal("0"))
        return (total * pricing.amount / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return pricing.amount


# -- the choice's seam -------------------------------------------------------------------------


# -- the post that uses an order ---------------------------------------------------------------


@dataclass(frozen=True)
class StoredOrder:
    """A ping's order as the post naming it finds it, locked."""

    id: str
    campaign_id: int
    values: Mapping[str, Value]
    price: Decimal
    used: bool
    live: bool  # not expired, by the database's clock when read


@dataclass(frozen=True)
class OrderRefusal:
    response: ResponseType
    details: str


def order_refusal(
    order_id: str, order: StoredOrder | None, campaign_id: int
) -> OrderRefusal | None:
    """Why a post cannot use the order it names, or None when it may (its fields are checked
    apart: `changed_refusal`)."""
    if order is None or order.campaign_id != campaign_id:
        return OrderRefusal(
            ResponseType.Data_Errors, f"Unknown order {order_id} for this campaign; ping again"
        )
    if order.used:
        return OrderRefusal(
            ResponseType.Duplicate_Lead, f"Order {order_id} was used by an earlier post"
        )
    if not order.live:
        return OrderRefusal(ResponseType.Data_Errors, f"Order {order_id} has expired; ping again")
    return None


def changed_refusal(order_id: str, changed: Sequence[str]) -> OrderRefusal | None:
    if not changed:
        return None
    return OrderRefusal(
        ResponseType.Outside_Criteria,
        f"The post's fields differ from the ping of order {order_id}: {', '.join(changed)}; "
        "ping again",
    )


def missing_order_refusal(channel: Channel, order_text: str) -> OrderRefusal | None:
    """A ping-post campaign takes only posts that name a ping's order."""
    if channel is Channel.PingPost and not order_text.strip():
        return OrderRefusal(
            ResponseType.Data_Errors,
            "This campaign is ping-post: ping first and post with the orderid it answers",
        )
    return None


def malformed_order_refusal(order_text: str) -> OrderRefusal:
    return OrderRefusal(
        ResponseType.Data_Errors, f"orderid {order_text.strip()[:64]!r} is not an order id"
    )
