"""Leads and posts as the reads return them: a lead found by its reference, and a post's
status as the status URL shows it (and, for a queued post, the queue status URL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from server.domain.callbacks.records import CallbackReport
from server.domain.intake.queueing import QueueState
from server.domain.intake.screening import Step


@dataclass(frozen=True)
class LeadSummary:
    """A stored lead, as FindLeads lists it."""

    id: int
    post_id: str
    source_id: int
    campaign_id: int
    lead_type_id: int
    reference: str
    received_at: datetime
    no_sell: bool
    price: Decimal
    tags: tuple[str, ...] = ()  # V2 properties


@dataclass(frozen=True)
class FoundLead:
    """A lead a search found (SearchForLead), with what its post was answered."""

    lead: LeadSummary
    pending_qc: bool
    is_valid_post: bool
    response_type: int  # ResponseType
    response_details: str


@dataclass(frozen=True)
class QueueStanding:
    """Where a post queued by an /async URL stands and, once processed, the answer its
    synchronous URL would have given, as written for the async URL's format."""

    state: QueueState
    response_format: str  # json or xml, as the async URL asked
    processed_at: datetime | None = None
    answer_type: str = ""  # the answer's media type
    answer: bytes = b""
    callback: CallbackReport | None = None  # to its returnurl, once processed


@dataclass(frozen=True)
class PostStatus:
    """A post and where its lead stands (the /processor/status URL)."""

    post_id: str
    received_at: datetime
    is_valid: bool
    response_details: str
    campaign_id: int
    lead_id: int
    price: Decimal
    pending_qc: bool
    qc_reviewed_at: datetime | None
    qc_rejected: bool
    qc_reason: str
    returned_at: datetime | None
    return_reason: str
    queue: QueueStanding | None = None  # for a post queued by an /async URL

    @property
    def qc_pending_review(self) -> bool:
        return self.pending_qc and self.qc_reviewed_at is None


@dataclass(frozen=True)
class ReservedBuyer:
    """A buyer a ping's order reserved, at its price."""

    client_id: int
    client_name: str
    delivery_account_id: int
    price: Decimal
    reference: str = ""  # its ping answer's reference, when the auction priced it


@dataclass(frozen=True)
class PingLog:
    """A ping as its post log entry keeps it: the request (without contact fields), the
    answer, each step, and its order with the buyers reserved, while it has one."""

    request_id: str
    received_at: datetime
    request: bytes
    will_accept: bool
    response_type: int  # ResponseType
    details: str
    steps: tuple[Step, ...]
    price: Decimal
    campaign_id: int
    order_id: str = ""
    expires_at: datetime | None = None
    used_at: datetime | None = None
    lead_id: int = 0
    reserved: tuple[ReservedBuyer, ...] = ()


@dataclass(frozen=True)
class LoggedPost:
    """A post log entry as ListPosts and GetPost show it: the request (GetPost only; the
    body of the entry that keeps it), the answer and each step."""

    post_id: str
    received_at: datetime
    source_id: int
    campaign_id: int
    lead_type_id: int
    remote_ip: str
    request_format: str
    lead_index: int
    request_post_id: str  # the entry keeping the request's body, when another one
    request: bytes
    request_truncated: bool
    request_removed_at: datetime | None
    is_valid: bool
    response_type: int  # ResponseType
    details: str
    lead_id: int
    price: Decimal
    ping: bool
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class PostLogQuery:
    """Which entries of an account ListPosts shows, newest first: from a page's position
    (`before_at`, `before_id`: the last entry shown; None for the first page)."""

    source_id: int = 0
    campaign_id: int = 0
    valid: bool | None = None
    received_after: datetime | None = None
    received_before: datetime | None = None
    limit: int = 100
    before_at: datetime | None = None
    before_id: str = ""
