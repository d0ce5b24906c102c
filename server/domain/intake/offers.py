"""Offers and 1-to-1 consent: what a V2 post's offer block may name, and the consent
evidence it leaves.

On a campaign returning client offers, a lead is offered the static offers of the buyers
(delivery accounts) it is eligible for when posted. The post's offer block names the offers
its consumer chose and whether consent was given; a named offer that was not offered (an
unknown id, an offer of a buyer the lead does not match, another account's offer) refuses
the post, with one message for all of them so that nothing is revealed about other
accounts. Only the delivery accounts whose offer was chosen with consent may receive the lead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from server.domain.buyers.offers import StaticOffer

MAX_EVIDENCE_TEXT = 2048  # a user agent, a page URL or a certificate URL is shorter
MAX_OFFERS_CHOSEN = 100
# Why the scan passes a delivery account over for a 1-to-1 lead.
NO_CONSENT = "1-to-1: its offer was not chosen with consent"


@dataclass(frozen=True)
class Offered:
    """An offer a lead is eligible for: a delivery account's static offer and its buyer."""

    id: int
    delivery_account_id: int
    client_id: int
    client_name: str
    offer: StaticOffer


@dataclass(frozen=True)
class OfferChoice:
    """A V2 post's offer block, as posted."""

    offer_ids: tuple[str, ...] = ()
    consent: bool = False
    consented_at: str = ""  # ISO 8601; empty: when the lead is received
    ip_address: str = ""
    user_agent: str = ""
    page_url: str = ""
    trusted_form_cert: str = ""
    jornaya_lead_id: str = ""

    @property
    def empty(self) -> bool:
        return self == NO_OFFER


NO_OFFER = OfferChoice()


@dataclass(frozen=True)
class ConsentRecord:
    """One buyer's consent evidence for a lead, as written once and read back."""

    delivery_account_id: int
    client_id: int
    offer_id: int
    consent: bool
    consent_text: str  # the offer's TCPA consent text when the lead was posted
    consented_at: datetime
    ip_address: str = ""
    user_agent: str = ""
    page_url: str = ""
    trusted_form_cert: str = ""
    jornaya_lead_id: str = ""
    id: int = 0  # the stored record's
    recorded_at: datetime | None = None


@dataclass(frozen=True)
class Chosen:
    """What a post's offer block decides: why it is refused ("" when it is not), the
    delivery accounts that may receive the lead, and the evidence to store."""

    refusal: str = ""
    consented: frozenset[int] = frozenset()
    records: tuple[ConsentRecord, ...] = ()


def choose(offered: Sequence[Offered], choice: OfferChoice, received_at: datetime) -> Chosen:
    """The consent a post's offer block gives, judged against the offers the lead was
    offered; `received_at` stands for a consent time not posted."""
    by_id = {str(o.id): o for o in offered}
    wanted = list(dict.fromkeys(i.strip() for i in choice.offer_ids))
    if len(wanted) > MAX_OFFERS_CHOSEN:
        return Chosen(f"The offer block names more than {MAX_OFFERS_CHOSEN} offers")
    unknown = [i for i in wanted if i not in by_id]
    if unknown:
        named = ", ".join(repr(i) for i in unknown)
        listed = ", ".join(sorted(by_id, key=int)) or "none"
        return Chosen(f"Offer {named} was not offered for this lead (offered: {listed})")
    for name in ("ip_address", "user_agent", "page_url", "trusted_form_cert", "jornaya_lead_id"):
        if len(getattr(choice, name)) > MAX_EVIDENCE_TEXT:
            return Chosen(f"offer.{name} is over {MAX_EVIDENCE_TEXT} characters")
    when = received_at
    if choice.consented_at.strip():
        parsed = consent_time(choice.consented_at)
        if parsed is None:
            return Chosen("offer.consentedAt must be an ISO 8601 date and time")
        when = parsed
    chosen = [by_id[i] for i in wanted]
    records = tuple(
        ConsentRecord(
            delivery_account_id=o.delivery_account_id,
            client_id=o.client_id,
            offer_id=o.id,
            consent=choice.consent,
            consent_text=o.offer.tcpa_consent_text,
            consented_at=when,
            ip_address=choice.ip_address,
            user_agent=choice.user_agent,
            page_url=choice.page_url,
            trusted_form_cert=choice.trusted_form_cert,
            jornaya_lead_id=choice.jornaya_lead_id,
        )
        for o in chosen
    )
    consented = frozenset(o.delivery_account_id for o in chosen) if choice.consent else frozenset()
    return Chosen("", consented, records)


def consent_time(text: str) -> datetime | None:
    """An ISO 8601 time in UTC (a time without a zone is UTC); None when it is not one."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class LeadConsent:
    """A lead's V2 properties and its consent evidence, as GetConsentEvidence reads them."""

    lead_id: int
    reference: str
    no_sell: bool
    tags: tuple[str, ...]
    one_to_one: bool  # posted to a campaign returning client offers
    records: tuple[ConsentRecord, ...]
