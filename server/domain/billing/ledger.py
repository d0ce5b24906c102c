"""A buyer's ledger: append-only entries to the cent, each with the balance it left, and the
rule that keeps a prepaid buyer from receiving leads its balance cannot cover."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from server.errors import InvalidArgument

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")  # numeric(14, 2)
BALANCE_TOO_LOW = "balance too low"
AUTO_CHARGE_DECLINED = "auto-charge declined"


class EntryKind(enum.StrEnum):
    """What made an entry: a sale and a lead pack bought charge the buyer; the rest credit
    it, but an adjustment, which may go either way."""

    SALE = "sale"
    RETURN = "return"
    PAYMENT = "payment"
    CARD = "card"
    ADJUSTMENT = "adjustment"
    PACK = "pack"  # a lead pack bought: the leads filling its order are not charged again


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    client_id: int
    kind: EntryKind
    amount: Decimal  # positive: a credit to the buyer; negative: a charge
    balance: Decimal  # the buyer's balance after this entry
    created_at: datetime
    send_id: int = 0
    lead_id: int = 0
    payment_id: int = 0
    charge_id: int = 0
    note: str = ""


@dataclass(frozen=True)
class BillingSettings:
    """How a buyer is billed: prepaid or not, and its auto-charge (None: none)."""

    prepaid: bool = False
    stop_at_zero: bool = True
    auto_charge_below: Decimal | None = None
    auto_charge_amount: Decimal | None = None


@dataclass(frozen=True)
class Balance:
    client_id: int
    balance: Decimal
    settings: BillingSettings
    reserved: Decimal = Decimal("0")  # the price of its sends under way, not charged yet
    held: bool = False  # a declined auto-charge holds it (AUTO_CHARGE_DECLINED)


def cents(value: Decimal | str | float, name: str = "amount") -> Decimal:
    """A money amount to the cent (half up), refused when it is no finite number or too
    large for the ledger."""
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
        rounded = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        raise InvalidArgument(f"{name}: {value!r} is not an amount of money") from None
    if not rounded.is_finite() or abs(rounded) > MAX_AMOUNT:
        raise InvalidArgument(f"{name}: {value!r} is not an amount of money")
    return rounded


def positive_cents(value: Decimal | str | float, name: str = "amount") -> Decimal:
    amount = cents(value, name)
    if amount <= 0:
        raise InvalidArgument(f"{name}: must be more than 0")
    return amount


def settings_checked(settings: BillingSettings) -> BillingSettings:
    """The settings with their amounts to the cent; an auto-charge needs both its threshold
    and its amount."""
    below, amount = settings.auto_charge_below, settings.auto_charge_amount
    if (below is None) != (amount is None):
        raise InvalidArgument("auto-charge needs both a threshold and a top-up amount")
    return BillingSettings(
        prepaid=settings.prepaid,
        stop_at_zero=settings.stop_at_zero,
        auto_charge_below=None if below is None else cents(below, "auto_charge_below"),
        auto_charge_amount=None if amount is None else positive_cents(amount, "auto_charge_amount"),
    )


def short_of(available: Decimal, price: Decimal, stop_at_zero: bool) -> str:
    """Why a prepaid buyer with `available` (its balance less the price of its sends under
    way) may not take a lead at `price`, or "" when it may. Stopping at zero, the balance
    must cover the price; else it must only be above zero, so the last lead may take it
    below zero (by at most that lead)."""
    if stop_at_zero and available < price:
        return BALANCE_TOO_LOW
    if not stop_at_zero and available <= 0:
        return BALANCE_TOO_LOW
    return ""


def billing_hold(
    *,
    paid_by_pack: bool,
    held: bool,
    available: Decimal | None,
    price: Decimal,
    stop_at_zero: bool = True,
) -> str:
    """Why the engine may not send a lead at `price` to a buyer, or "" when it may: a send
    filling a lead pack's order was paid for with the pack; else a buyer a declined
    auto-charge holds is passed over, and a prepaid one (`available` not None: its balance
    less its sends under way) when `short_of` says so."""
    if paid_by_pack:
        return ""
    if held:
        return AUTO_CHARGE_DECLINED
    if available is None:
        return ""
    return short_of(available, price, stop_at_zero)
