"""A delivery account's static offer (LeadExec's offer tab): the buyer's details a lead source
shows a consumer for 1-to-1 consent. Every field of LeadExec's static offer settings."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal

from server.domain.catalog.specs import MONEY_PLACES
from server.errors import Violation

MAX_TEXT = 10_000  # a consent text is a paragraph, not a document
URL_FIELDS = ("url", "image_url", "privacy_url", "terms_url")


@dataclass(frozen=True)
class StaticOffer:
    """A buyer's static offer, as saved; its stable id is the storage's."""

    company_name: str = ""
    company_phone: str = ""
    name: str = ""
    description: str = ""
    url: str = ""
    image_url: str = ""
    privacy_url: str = ""
    terms_url: str = ""
    duration: str = ""
    amount: Decimal = Decimal("0")
    tcpa_consent_text: str = ""


OFFER_FIELDS = tuple(f.name for f in fields(StaticOffer))
TEXT_FIELDS = tuple(name for name in OFFER_FIELDS if name != "amount")
REQUIRED_FIELDS = ("company_name", "tcpa_consent_text")


def validate_offer(offer: StaticOffer, where: str) -> list[Violation]:
    """Every problem with an offer: a consent text and a company are required (the consumer
    must see whom they consent to, in what words), URLs are http(s), the amount is money."""
    problems: list[Violation] = []
    for name in REQUIRED_FIELDS:
        if not getattr(offer, name).strip():
            problems.append(Violation(f"{where}.{name}", "is required"))
    for name in URL_FIELDS:
        value = getattr(offer, name)
        if value and not value.startswith(("http://", "https://")):
            problems.append(Violation(f"{where}.{name}", "must be an http(s) URL"))
    for name in TEXT_FIELDS:
        if len(getattr(offer, name)) > MAX_TEXT:
            problems.append(Violation(f"{where}.{name}", f"at most {MAX_TEXT} characters"))
    if not offer.amount.is_finite() or offer.amount < 0:
        problems.append(Violation(f"{where}.amount", "must be a number, not negative"))
    elif offer.amount.as_tuple().exponent < -MONEY_PLACES:  # type: ignore[operator]
        problems.append(Violation(f"{where}.amount", f"at most {MONEY_PLACES} decimal places"))
    return problems
