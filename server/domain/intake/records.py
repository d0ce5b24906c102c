"""Leads and posts as the reads return them: a lead found by its reference, and a post's
status as the status URL shows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


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


@dataclass(frozen=True)
class FoundLead:
    """A lead a search found (SearchForLead), with what its post was answered."""

    lead: LeadSummary
    pending_qc: bool
    is_valid_post: bool
    response_type: int  # ResponseType
    response_details: str


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

    @property
    def qc_pending_review(self) -> bool:
        return self.pending_qc and self.qc_reviewed_at is None
