"""What a lead source posts, as the receiver hands it over, and what each lead is answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from server.domain.intake.offers import NO_OFFER, OfferChoice, Offered
from server.domain.intake.screening import ResponseType, SaleKind


@dataclass(frozen=True)
class PostedLead:
    """One lead of a request, as posted."""

    reference: str = ""
    no_sell: bool = False
    fields: tuple[tuple[str, str], ...] = ()
    call: tuple[tuple[str, str], ...] = ()  # call data by pseudo-field name, as posted
    tags: tuple[str, ...] = ()  # V2 properties
    offer: OfferChoice = NO_OFFER
    visit_id: str = ""  # the site visit it comes from (VisitID), as posted


@dataclass(frozen=True)
class Submission:
    """One request as posted; identifiers unparsed."""

    vid: str = ""
    lid: str = ""
    aid: str = ""
    password: str = ""
    api_key: str = ""
    send_delay_hours: str = ""
    leads: tuple[PostedLead, ...] = ()
    remote_ip: str = ""
    request_format: str = ""
    raw_request: bytes = b""
    parse_error: str = ""
    lead_uid: str = ""
    process_delivery: bool = False
    sale_kind: SaleKind = SaleKind.General
    # the post log entry that holds the request's body already (a queued post's): each lead's
    # entry names it instead of keeping the body
    request_post_id: str = ""
    v2: bool = False  # the V2 receiver's: the source's API key is required
    order_id: str = ""  # the ping's order a post names (orderid), as posted


@dataclass(frozen=True)
class PostOutcome:
    """The answer to one posted lead."""

    post_id: str
    response: ResponseType
    details: str
    lead_id: int = 0
    campaign_id: int = 0
    price: Decimal = Decimal("0")
    pending_qc: bool = False
    account_id: int = 0
    offers: tuple[Offered, ...] = ()  # a campaign returning client offers: the lead's

    @property
    def accepted(self) -> bool:
        return self.response is ResponseType.No_Error


@dataclass(frozen=True)
class DuplicateFinding:
    """The answer to a duplicate check."""

    post_id: str
    is_duplicate: bool
    response: str
    lead_id: int = 0  # only when the earlier lead came from the same source
    received_on: datetime | None = None


@dataclass(frozen=True)
class PingAnswer:
    """The answer to a ping (LeadExec's PingResponse)."""

    request_id: str  # the ping's post log entry
    will_accept: bool
    response: ResponseType
    details: str
    order_id: str = ""
    price: Decimal = Decimal("0")  # estimated, owed to the source
    expires_at: datetime | None = None
    campaign_id: int = 0
    offers: tuple[Offered, ...] = ()  # a campaign returning client offers: the reserved buyers'
