"""A send's status: where one delivery of a lead to a delivery account stands.

The numbers are those stored in `sends.status` and those of the proto's `SendStatus`; SQL
names them through the `{{SendStatus.NAME}}` constants of server/storage/queries.py, never
as bare numbers.
"""

from __future__ import annotations

import enum


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

    @property
    def holding(self) -> bool:
        """Counting against caps and orders: outstanding, or sold."""
        return self in HOLDING


OUTSTANDING = frozenset({SendStatus.SCHEDULED, SendStatus.IN_FLIGHT})
HOLDING = frozenset({SendStatus.SCHEDULED, SendStatus.IN_FLIGHT, SendStatus.SOLD})
