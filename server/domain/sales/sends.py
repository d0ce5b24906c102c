"""Sends: each delivery of a lead to a delivery account, and where it stands (SendStatus).

The numbers are those stored in `sends.status` and those of the proto's `SendStatus`; SQL
names them through the `{{SendStatus.NAME}}` constants of server/storage/queries.py, never
as bare numbers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from server.domain.buyers.specs import AccountType


class SendStatus(enum.IntEnum):
    SCHEDULED = 1  # waiting for its time: a delivery delay or a retry's backoff
    IN_FLIGHT = 2  # being delivered
    SOLD = 3  # the buyer accepted it
    REJECTED = 4  # the buyer answered no
    FAILED = 5  # transport failures used up every retry

    @property
    def word(self) -> str:
        """How the scan log and messages name it: "in flight", "sold"."""
        return self.name.lower().replace("_", " ")

    @property
    def outstanding(self) -> bool:
        """Not yet answered: it may still become a sale."""
        return self in OUTSTANDING


OUTSTANDING = frozenset({SendStatus.SCHEDULED, SendStatus.IN_FLIGHT})


@dataclass(frozen=True)
class Send:
    """One delivery of a lead to a delivery account, as ListSends shows it."""

    id: int
    lead_id: int
    client_id: int
    client_name: str
    delivery_account_id: int
    delivery_id: int
    status: SendStatus
    automated: bool
    price: Decimal
    request: str
    response: str
    reason: str
    redirect_url: str
    attempts: int
    elapsed_ms: float
    created_at: datetime
    sent_at: datetime | None
    account_type: AccountType
    agent_name: str
    agent_phone: str
    order_id: int | None
    order_item_id: int | None
    notes: str
    resend_of: int | None
    confirmed_at: datetime | None
    source_share: Decimal
    redirect_notified_at: datetime | None
    redirect_valid: bool
    redirect_response: str
    returned_at: datetime | None
    return_reason: str
    ping_reference: str = ""  # the buyer's reference from its ping answer (an auction's sale)

    @property
    def sold(self) -> bool:
        return self.status is SendStatus.SOLD


@dataclass(frozen=True)
class ScanLogEntry:
    """One entry of a lead's scan log: why it went where it went, at one step."""

    lead_id: int
    log: str
    scanned_at: datetime
