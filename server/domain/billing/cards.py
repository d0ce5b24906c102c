"""Card numbers: checked (Luhn), their brand told, masked for display. A number and its
security code only pass through: nothing here keeps them."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from server.errors import InvalidArgument

_SEPARATORS = re.compile(r"[\s-]")
_EXPIRY = re.compile(r"^\s*(\d{1,2})\s*/?\s*(\d{2}|\d{4})\s*$")


# a declined auto-charge is retried under a new key after each of these delays in turn: an
# hour, six hours, a day (then the buyer stays held until it pays)
DECLINE_RETRY_SECONDS = (3600.0, 6 * 3600.0, 24 * 3600.0)


class ChargeState(enum.StrEnum):
    """Where a card charge stands. `pending`: asked, with no final answer (the gateway timed
    out): asking again with the same idempotency key finds out."""

    QUEUED = "queued"
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    CANCELLED = "cancelled"  # a queued retry of a declined auto-charge no longer needed


@dataclass(frozen=True)
class Tokenized:
    """A card as the payment gateway's token, with what may be shown of it."""

    token: str
    brand: str
    last_four: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class GatewayAnswer:
    """A charge's outcome: approved, declined, or pending when the gateway gave no final
    answer in time (asking again with the same key finds out)."""

    state: ChargeState
    message: str
    reference: str = ""


@dataclass(frozen=True)
class Card:
    """A card as a caller gives it, for the gateway only."""

    number: str
    exp_month: int
    exp_year: int
    cvv: str = ""

    def __repr__(self) -> str:  # never the number or the code, even in a traceback
        return f"Card({mask(self.number)}, {self.exp_month:02d}/{self.exp_year})"

    __str__ = __repr__


@dataclass(frozen=True)
class Billing:
    """The name and billing address kept with a card on file."""

    company: str = ""
    first_name: str = ""
    last_name: str = ""
    name_on_card: str = ""
    address: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""


@dataclass(frozen=True)
class StoredCard:
    """A card on file: the gateway's token and what may be shown."""

    id: int
    client_id: int
    token: str
    brand: str
    last_four: str
    exp_month: int
    exp_year: int
    billing: Billing
    enabled: bool
    is_primary: bool
    created_at: datetime


@dataclass(frozen=True)
class CardCharge:
    """A charge of a card, one per idempotency key."""

    id: int
    client_id: int
    idempotency_key: str
    amount: Decimal
    state: ChargeState
    response: str
    brand: str
    last_four: str
    exp_month: int
    exp_year: int
    created_at: datetime
    auto: bool = False
    attempts: int = 0  # times the gateway was asked
    retry: int = 0  # n: the n-th retry of a declined auto-charge
    retry_of: int = 0  # the declined auto-charge this one retries (0: none)
    next_attempt_at: datetime | None = None  # a queued charge: when it is due

    @property
    def approved(self) -> bool:
        return self.state is ChargeState.APPROVED


def digits(number: str) -> str:
    """A card number without its spaces and dashes; refused when it is no card number."""
    plain = _SEPARATORS.sub("", number or "")
    if not plain.isdigit() or not 12 <= len(plain) <= 19 or not plain.isascii():
        raise InvalidArgument("the card number must be 12 to 19 digits")
    if not luhn_valid(plain):
        raise InvalidArgument("the card number is not valid (its check digit is wrong)")
    return plain


def luhn_valid(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def brand(number: str) -> str:
    """The card's brand by its leading digits, as LeadExec's CardType names it."""
    if number.startswith("4"):
        return "VISA"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "MASTERCARD"
    if number[:2] in {"34", "37"}:
        return "AMEX"
    if number.startswith(("6011", "65")) or "644" <= number[:3] <= "649":
        return "DISCOVER"
    return "OTHER"


def mask(number: str) -> str:
    """A number as it may be shown: its last four digits only."""
    plain = _SEPARATORS.sub("", number or "")
    return "*" * max(len(plain) - 4, 0) + plain[-4:]


def masked(last_four: str) -> str:
    return f"************{last_four}" if last_four else ""


def expiry(month: str | int, year: str | int) -> tuple[int, int]:
    """An expiry month (1-12) and a four-digit year; refused when either is no such thing."""
    try:
        m, y = int(str(month).strip()), int(str(year).strip())
    except ValueError:
        raise InvalidArgument("the card's expiry must be a month and a year") from None
    if y < 100:
        y += 2000
    if not 1 <= m <= 12 or not 2000 <= y <= 2099:
        raise InvalidArgument("the card's expiry must be a month (1-12) and a year")
    return m, y


def expiry_text(text: str) -> tuple[int, int]:
    """An expiry given as one text, `MM/YY`, `MMYY`, `MM/YYYY` or `MMYYYY`."""
    plain = (text or "").strip()
    found = _EXPIRY.match(plain)
    if found is None and plain.isdigit() and len(plain) in (4, 6):
        return expiry(plain[:2], plain[2:])
    if found is None:
        raise InvalidArgument("ExpDate: give the expiry as MM/YY or MM/YYYY")
    return expiry(found[1], found[2])


def expired(month: int, year: int, now: datetime) -> bool:
    """Whether a card expiring at the end of this month and year has expired by `now`."""
    return (year, month) < (now.year, now.month)
