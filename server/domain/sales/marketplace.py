"""The marketplace's rules: lead packs, promo codes, buying a pack, aged leads and data pulls.

A pack sells `quantity` leads for `price`; a client buys any quantity between its order
minimum and maximum (0: no bound) at the pack's unit price, rounded to the cent. A promo code
takes off a money amount and a percentage of that total (never below zero), until it expires
or has been used `use_limit` times (0: no limit), for one client when it names one, on the
packs it lists (none: on every pack). Aged leads are leads received between `end_day` and
`start_day` days ago. A data pull's total price is split over its leads to the cent.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Literal

from server.domain.matching.criteria import Criterion
from server.errors import Violation

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
PACK_ORDER_DAYS = 365  # how long the order of a pack without an expiry date stays open
MAX_PULL_LEADS = 10_000
MAX_NAME = 200


# The named records of the marketplace: lead categories, resellers, lead pack categories.
NamedKind = Literal["lead_category", "reseller", "pack_category"]


class PackType(enum.IntEnum):
    """LeadExec PackType (named on the wire)."""

    Not_Set = 0
    Standard = 1
    Aged = 2


class PackStatus(enum.IntEnum):
    """Whether a pack can be bought."""

    Unspecified = 0
    Active = 1
    Inactive = 2


@dataclass(frozen=True)
class Named:
    """A lead category, a reseller or a lead pack category: a named record of the account."""

    id: int
    name: str


@dataclass(frozen=True)
class LeadPack:
    """A lead pack as saved (id 0: a new one) and as stored."""

    id: int
    description: str
    pack_type: PackType
    lead_type_id: int
    quantity: int
    price: Decimal  # for `quantity` leads
    lead_category_id: int = 0  # 0: none
    pack_category_id: int = 0
    reseller_id: int = 0
    expires_at: datetime | None = None
    start_day: int = 0
    end_day: int = 0
    order_min: int = 0  # 0: no minimum
    order_max: int = 0  # 0: no maximum
    include_over_max: bool = False
    criteria: tuple[Criterion, ...] = ()
    status: PackStatus = PackStatus.Active
    lead_type_name: str = ""


@dataclass(frozen=True)
class PromoCode:
    """A promo code as saved (id 0: a new one) and as stored."""

    id: int
    code: str
    money_value: Decimal = Decimal(0)
    percent_value: Decimal = Decimal(0)
    reseller_id: int = 0
    expires_at: datetime | None = None
    use_limit: int = 0  # 0: no limit
    client_id: int = 0  # 0: any client
    pack_ids: tuple[int, ...] = ()  # (): every pack
    uses: int = 0  # purchases made with it (stored, read only)


@dataclass(frozen=True)
class Price:
    """What a purchase costs: the pack's price for the quantity, the promo's discount, and
    what is charged."""

    list_price: Decimal
    discount: Decimal
    charged: Decimal


def name_problems(name: str, path: str = "name") -> list[Violation]:
    if not name.strip():
        return [Violation(path, "a name is required")]
    if len(name) > MAX_NAME:
        return [Violation(path, f"at most {MAX_NAME} characters")]
    return []


def validate_pack(pack: LeadPack) -> list[Violation]:
    """Every problem with a pack as saved (its criteria are checked against its lead type's
    fields by the caller, as a delivery account's are)."""
    problems: list[Violation] = []
    if pack.pack_type not in (PackType.Standard, PackType.Aged):
        problems.append(Violation("pack_type", "Standard or Aged"))
    if pack.lead_type_id <= 0:
        problems.append(Violation("lead_type_id", "a lead type is required"))
    if pack.quantity < 1:
        problems.append(Violation("quantity", "must be 1 or more"))
    if pack.price < 0:
        problems.append(Violation("price", "must not be negative"))
    if pack.expires_at is not None and pack.expires_at.tzinfo is None:
        problems.append(Violation("expires_at", "needs a time zone"))
    for name in ("start_day", "end_day", "order_min", "order_max"):
        if getattr(pack, name) < 0:
            problems.append(Violation(name, "must not be negative"))
    if pack.end_day and pack.end_day < pack.start_day:
        problems.append(Violation("end_day", "must be at least start_day (0: no end)"))
    if pack.order_max and pack.order_max < pack.order_min:
        problems.append(Violation("order_max", "must be at least order_min (0: no maximum)"))
    if pack.status not in (PackStatus.Active, PackStatus.Inactive):
        problems.append(Violation("status", "Active or Inactive"))
    return problems


def validate_promo(promo: PromoCode) -> list[Violation]:
    problems: list[Violation] = []
    if not promo.code.strip():
        problems.append(Violation("code", "a code is required"))
    if promo.money_value < 0:
        problems.append(Violation("money_value", "must not be negative"))
    if not 0 <= promo.percent_value <= HUNDRED:
        problems.append(Violation("percent_value", "must be between 0 and 100"))
    if promo.money_value == 0 and promo.percent_value == 0:
        problems.append(Violation("money_value", "a money or a percentage value is required"))
    if promo.use_limit < 0:
        problems.append(Violation("use_limit", "must not be negative (0: no limit)"))
    if promo.expires_at is not None and promo.expires_at.tzinfo is None:
        problems.append(Violation("expires_at", "needs a time zone"))
    return problems


def purchase_refusal(pack: LeadPack, quantity: int, now: datetime) -> str:
    """Why this quantity of the pack cannot be bought now; '' when it can."""
    if pack.status is not PackStatus.Active:
        return f"lead pack {pack.id} is not active"
    if pack.pack_type is not PackType.Standard:
        return f"lead pack {pack.id} is an Aged pack: aged leads are bought by a data pull"
    if pack.expires_at is not None and pack.expires_at <= now:
        return f"lead pack {pack.id} expired at {pack.expires_at:%Y-%m-%d %H:%M} UTC"
    if quantity < 1:
        return "the quantity must be 1 or more"
    if pack.order_min and quantity < pack.order_min:
        return f"lead pack {pack.id} takes orders of at least {pack.order_min} leads"
    if pack.order_max and quantity > pack.order_max:
        return f"lead pack {pack.id} takes orders of at most {pack.order_max} leads"
    return ""


def promo_refusal(promo: PromoCode, pack_id: int, client_id: int, now: datetime, uses: int) -> str:
    """Why the promo code does not apply to this purchase; '' when it does. `uses` is the
    count of purchases made with it, read under its lock."""
    if promo.expires_at is not None and promo.expires_at <= now:
        return f"promo code {promo.code!r} has expired"
    if promo.use_limit and uses >= promo.use_limit:
        return f"promo code {promo.code!r} has been used {uses} times, its limit"
    if promo.client_id and promo.client_id != client_id:
        return f"promo code {promo.code!r} is not for client {client_id}"
    if promo.pack_ids and pack_id not in promo.pack_ids:
        return f"promo code {promo.code!r} does not apply to lead pack {pack_id}"
    return ""


def pack_total(pack: LeadPack, quantity: int) -> Decimal:
    """The pack's price for `quantity` leads: its unit price times the quantity, to the cent."""
    return (pack.price * quantity / pack.quantity).quantize(CENT, ROUND_HALF_UP)


def price_purchase(total: Decimal, promo: PromoCode | None) -> Price:
    """The promo's discount off a total (money first, then the percentage of the total, never
    more than the total) and what is charged, to the cent."""
    if promo is None:
        return Price(total, Decimal("0.00"), total)
    percent = (total * promo.percent_value / HUNDRED).quantize(CENT, ROUND_HALF_UP)
    discount = min(total, (promo.money_value + percent).quantize(CENT, ROUND_HALF_UP))
    return Price(total, discount, total - discount)


def pack_order_end(pack: LeadPack, now: datetime) -> datetime:
    """When the order of a purchase closes: the pack's expiry, else PACK_ORDER_DAYS from now."""
    if pack.expires_at is not None and pack.expires_at > now:
        return pack.expires_at
    return now + timedelta(days=PACK_ORDER_DAYS)


# -- aged leads and data pulls ----------------------------------------------------------------


@dataclass(frozen=True)
class AgedWindow:
    """Received at or after `oldest` (None: no bound) and at or before `newest`."""

    oldest: datetime | None
    newest: datetime


def aged_window(start_day: int, end_day: int, now: datetime) -> AgedWindow:
    """Leads at least `start_day` days old and, when `end_day` is not 0, at most `end_day`."""
    oldest = now - timedelta(days=end_day) if end_day else None
    return AgedWindow(oldest, now - timedelta(days=start_day))


def aged_problems(start_day: int, end_day: int, lead_type_id: int) -> list[Violation]:
    problems: list[Violation] = []
    if lead_type_id <= 0:
        problems.append(Violation("lead_type_id", "a lead type is required"))
    if start_day < 0:
        problems.append(Violation("start_day", "must not be negative"))
    if end_day < 0:
        problems.append(Violation("end_day", "must not be negative (0: no end)"))
    elif end_day and end_day < start_day:
        problems.append(Violation("end_day", "must be at least start_day (0: no end)"))
    return problems


def pull_lead_ids(text: str) -> tuple[tuple[int, ...], list[Violation]]:
    """A data pull's leads as LeadExec sends them (`12|15|20`), in order, each once."""
    ids: list[int] = []
    problems: list[Violation] = []
    for part in text.split("|"):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or int(part) <= 0:
            problems.append(Violation("leads", f"{part[:30]!r} is not a lead id"))
        elif int(part) not in ids:
            ids.append(int(part))
    if not ids and not problems:
        problems.append(Violation("leads", "a pull needs at least one lead"))
    if len(ids) > MAX_PULL_LEADS:
        problems.append(Violation("leads", f"at most {MAX_PULL_LEADS} leads per pull"))
    return tuple(ids), problems


def split_price(total: Decimal, count: int) -> list[Decimal]:
    """A total split over `count` leads to the cent: equal shares, the first leads a cent more
    until the shares add up to the total exactly."""
    if count <= 0:
        return []
    cents = int((total.quantize(CENT, ROUND_HALF_UP) / CENT).to_integral_value(ROUND_DOWN))
    base, extra = divmod(cents, count)
    return [(Decimal(base + (1 if i < extra else 0)) * CENT) for i in range(count)]


def pull_prices(total: Decimal, lead_ids: Sequence[int]) -> dict[int, Decimal]:
    """Each pulled lead's price, the total split over the leads in order."""
    return dict(zip(lead_ids, split_price(total, len(lead_ids)), strict=True))


@dataclass(frozen=True)
class PulledRow:
    """A lead of a pull as its export shows it."""

    lead_id: int
    received_at: datetime
    price: Decimal
    fields: Mapping[str, object]


def pull_csv(field_names: Sequence[str], rows: Sequence[PulledRow]) -> str:
    """A pull's leads as CSV: lead id, when received (UTC, ISO 8601), price, then the lead
    type's fields in order (empty when a lead has no value)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["LeadUID", "ReceivedAt", "Price", *field_names])
    for row in rows:
        values = [
            "" if row.fields.get(name) is None else str(row.fields[name]) for name in field_names
        ]
        received = row.received_at.astimezone(UTC).isoformat()
        writer.writerow([row.lead_id, received, row.price.quantize(CENT), *values])
    return out.getvalue()
