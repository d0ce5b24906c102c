"""A delivery method's ping: the request that asks a buyer for a bid (`render_ping`) and the
reading of its answer (`read_bid`, and `read_offer` for a dynamic offer).

The ping is rendered as the method's post is (render.py: mappings, templates, formats, the
method's auth and headers), with the ping's own type, address, mappings, template and extra
headers, and never with a contact field's value (names, email, phones, address): a buyer
sees those only once it has won and the lead is posted. The post then maps the buyer's
reference as the reserved name `ping_reference`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation

from server.domain.buyers.offers import OFFER_FIELDS, StaticOffer, validate_offer
from server.domain.delivery.extract import AnswerFormat, read_values
from server.domain.delivery.render import render
from server.domain.delivery.spec import (
    MAX_REASON_CHARS,
    DeliverySpec,
    HttpRequest,
    LeadPayload,
    PingSpec,
)

YES_WORDS = frozenset({"true", "yes", "1", "ok", "accepted", "success", "y"})
MAX_REFERENCE_CHARS = 500


@dataclass(frozen=True)
class Bid:
    """A buyer's ping answer as read: whether it bids, at what price, its reference for the
    post, and its reason (why not, mostly)."""

    accepted: bool
    price: Decimal | None = None
    reference: str = ""
    reason: str = ""


def ping_delivery(spec: DeliverySpec, ping: PingSpec) -> DeliverySpec:
    """The method's settings with the ping's request in place of the post's."""
    return replace(
        spec,
        type=ping.type,
        address=ping.address,
        mappings=ping.mappings,
        template=ping.template,
        headers=spec.headers + ping.headers,
        timeout_seconds=ping.timeout_ms / 1000,
        in_testing=False,
        ping=None,
    )


def render_ping(
    spec: DeliverySpec, lead_id: int, values: dict[str, str], contact_fields: Collection[str]
) -> HttpRequest:
    """The ping of lead `lead_id` for the method `spec`, its contact fields (names,
    casefolded) left out, and no idempotency key (a ping is not a send). `spec` is the
    method's settings with their ping, or the ping's request as `ping_delivery` gives it
    (which a caller pinging often keeps: making it copies every setting)."""
    request_spec = spec if spec.ping is None else ping_delivery(spec, spec.ping)
    hidden = {name.casefold() for name in contact_fields}
    shown = {name: value for name, value in values.items() if name.casefold() not in hidden}
    lead = LeadPayload(lead_id=lead_id, send_id=0, price=Decimal(0), values=shown)
    request = render(request_spec, lead)
    assert isinstance(request, HttpRequest)
    headers = tuple(h for h in request.headers if h[0].casefold() != "idempotency-key")
    return replace(request, headers=headers)


def read_bid(ping: PingSpec, status: int | None, body: str) -> Bid:
    """The buyer's bid in its ping answer, read by the ping's answer rules."""
    rules = ping.answer
    fmt = AnswerFormat(rules.format)
    found = read_values(
        fmt,
        body,
        {
            "price": rules.price,
            "reference": rules.reference,
            "reason": rules.reason,
            **({"accepted": rules.accepted} if fmt is not AnswerFormat.REGEX else {}),
        },
    )
    reason = re.sub(r"\s+", " ", found.get("reason") or "").strip()[:MAX_REASON_CHARS]
    if status is None:
        return Bid(False, reason=reason or "no response")
    if not 200 <= status < 300:
        return Bid(False, reason=f"HTTP {status}: {reason}" if reason else f"HTTP {status}")
    price = _money(found.get("price"))
    if not _accepted(rules.accepted, rules.accepted_value, fmt, found.get("accepted"), body):
        return Bid(False, reason=reason or "declined")
    if price is None:
        return Bid(False, reason=reason or "no bid price in the answer")
    if price < 0:
        return Bid(False, reason=f"a negative bid ({price})")
    reference = (found.get("reference") or "").strip()[:MAX_REFERENCE_CHARS]
    return Bid(True, price=price, reference=reference, reason=reason)


def _accepted(path: str, wanted: str, fmt: AnswerFormat, value: str | None, body: str) -> bool:
    if not path:
        return True  # accepted when a price was read
    if fmt is AnswerFormat.REGEX:
        try:
            match = re.search(path, body)
        except re.error:
            return False
        if match is None:
            return False
        if not wanted:
            return True
        value = (match.group(1) or "") if match.re.groups else match.group(0)
    if value is None:
        return False
    if wanted:
        return value.strip().casefold() == wanted.strip().casefold()
    return value.strip().casefold() in YES_WORDS


def _money(text: str | None) -> Decimal | None:
    if text is None:
        return None
    cleaned = text.strip().replace(",", "").removeprefix("$")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not amount.is_finite() or abs(amount) >= Decimal(10) ** 10:
        return None
    return amount.quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class DynamicOffer:
    """The offer a buyer's ping answer carries, read by its method's offer paths: `offer`
    None when the answer carries none that can be shown, with `reason` saying why."""

    offer: StaticOffer | None
    reason: str = ""


def read_offer(ping: PingSpec, body: str) -> DynamicOffer:
    """The buyer's offer in its ping answer (1-to-1 consent), each field read by its path in
    the answer's format; an answer whose offer lacks its company or consent text, has a URL
    that is not http(s) or an amount that is not money carries none (a consumer may only be
    shown an offer that says whom they consent to, in what words). A method without offer
    paths: None, with no reason."""
    paths = dict(ping.answer.offer)
    if not paths:
        return DynamicOffer(None)
    found = read_values(AnswerFormat(ping.answer.format), body, paths)
    texts = {
        name: re.sub(r"\s+", " ", found.get(name) or "").strip()
        for name in OFFER_FIELDS
        if name != "amount"
    }
    amount = Decimal("0")
    if found.get("amount") not in (None, ""):
        read = _money(found.get("amount"))
        if read is None:
            return DynamicOffer(None, f"the offer's amount {found.get('amount')!r} is not money")
        amount = read
    offer = StaticOffer(**texts, amount=amount)
    problems = validate_offer(offer, "offer")
    if problems:
        return DynamicOffer(None, "; ".join(str(p) for p in problems))
    return DynamicOffer(offer)
