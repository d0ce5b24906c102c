"""Lead types, lead sources and campaigns as plain data, with the rules that keep them valid."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from server.domain.caps import NO_LIMIT, Caps
from server.domain.catalog.computed import computed_problems
from server.domain.catalog.fields import FieldSpec, validate_field_specs
from server.domain.catalog.rules import Rule, validate_rule
from server.domain.geo import States
from server.errors import Violation

KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{2,99}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
MONEY_PLACES = 4
MIN_PORTAL_PASSWORD = 8
MAX_PORTAL_PASSWORD = 1024  # sign-in refuses longer ones unhashed: scrypt reads all of it
DEFAULT_DUP_DAYS = 30
DEFAULT_MAX_SELL = 1
DEFAULT_PING_ORDER_SECONDS = 60
MAX_PING_ORDER_SECONDS = 86_400


class Channel(enum.IntEnum):
    Unspecified = 0
    Post = 1
    PingPost = 2
    Redirect = 3
    Call = 4

    @property
    def label(self) -> str:
        return {Channel.PingPost: "ping-post"}.get(self, self.name.lower())


class Status(enum.IntEnum):
    Unspecified = 0
    Active = 1
    Disabled = 2


class PricingModel(enum.StrEnum):
    PerLead = "per_lead"
    PerSale = "per_sale"
    RevenueShare = "revenue_share"


@dataclass(frozen=True)
class Pricing:
    """What the account pays the source: a fixed price per lead or per sale, or a share."""

    model: PricingModel = PricingModel.PerLead
    amount: Decimal = Decimal("0")


@dataclass(frozen=True)
class LeadTypeSpec:
    name: str
    key: str | None = None
    description: str = ""
    industry_type: int = 0
    fields: tuple[FieldSpec, ...] = ()


@dataclass(frozen=True)
class SourceSpec:
    name: str
    key: str | None = None
    email: str = ""
    address: str = ""
    address2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    phone: str = ""
    fax: str = ""
    status: Status = Status.Active
    username: str | None = None
    password: str | None = None  # None keeps the stored one, "" clears it
    default_return_days: int = 0


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    source_id: int = 0
    lead_type_id: int = 0
    key: str | None = None
    channel: Channel = Channel.Post
    status: Status = Status.Active
    password: str | None = None  # None keeps the stored one, "" clears it
    require_api_key: bool = False
    pricing: Pricing = field(default_factory=Pricing)
    hour_max: int = NO_LIMIT
    day_max: int = NO_LIMIT
    month_max: int = NO_LIMIT
    count_returns: bool = False
    dup_day_max: int = DEFAULT_DUP_DAYS
    max_sell: int = DEFAULT_MAX_SELL
    use_qc_bin: bool = False
    return_days: int = 0
    email_verify: bool = False
    append_city_state_from_zip: bool = False
    # 1-to-1 consent: answer posts with the eligible buyers' offers, sell only where chosen
    return_client_offers: bool = False
    rules: tuple[Rule, ...] = ()
    ping_order_seconds: int = DEFAULT_PING_ORDER_SECONDS  # how long a ping's order lives
    lead_category_id: int | None = None  # its leads' category; 0 none, None keeps the stored

    @property
    def caps(self) -> Caps:
        """The leads the campaign accepts per local hour, day and month of its account."""
        return Caps(self.hour_max, self.day_max, self.month_max)


def validate_key(key: str | None, where: str) -> list[Violation]:
    if key is not None and not KEY.fullmatch(key):
        return [
            Violation(
                where, f"{key!r} is not a valid key (letters, digits, '.', '_', '-'; at most 100)"
            )
        ]
    return []


def validate_lead_type(spec: LeadTypeSpec, where: str = "lead_type") -> list[Violation]:
    problems = validate_key(spec.key, f"{where}.key")
    if not spec.name.strip():
        problems.append(Violation(f"{where}.name", "is required"))
    problems.extend(validate_field_specs(spec.fields, f"{where}.fields"))
    problems.extend(computed_problems(spec.fields, f"{where}.fields"))
    return problems


def validate_source(spec: SourceSpec, where: str = "source") -> list[Violation]:
    problems = validate_key(spec.key, f"{where}.key")
    if not spec.name.strip():
        problems.append(Violation(f"{where}.name", "is required"))
    if spec.email and not EMAIL.fullmatch(spec.email):
        problems.append(Violation(f"{where}.email", f"{spec.email!r} is not an email address"))
    if spec.username is not None and spec.username and not USERNAME.fullmatch(spec.username):
        problems.append(
            Violation(f"{where}.username", f"{spec.username!r} is not a valid user name")
        )
    if spec.password and len(spec.password) < MIN_PORTAL_PASSWORD:
        problems.append(
            Violation(f"{where}.password", f"must be at least {MIN_PORTAL_PASSWORD} characters")
        )
    if spec.password and len(spec.password) > MAX_PORTAL_PASSWORD:
        problems.append(
            Violation(f"{where}.password", f"must be at most {MAX_PORTAL_PASSWORD} characters")
        )
    if spec.status is Status.Unspecified:
        problems.append(Violation(f"{where}.status", "must be active or disabled"))
    if spec.default_return_days < 0:
        problems.append(Violation(f"{where}.default_return_days", "must not be negative"))
    return problems


def with_state_id(
    spec: SourceSpec, state_id: int, states: States, where: str = "source"
) -> SourceSpec:
    """The source with its state named by id (LeadExec's StateUID, the state's FIPS code), as
    States.text_for reads it; 0 leaves `state` as it is."""
    if not state_id:
        return spec
    return replace(spec, state=states.text_for(spec.state, state_id, where))


def validate_campaign(
    spec: CampaignSpec, fields: Sequence[FieldSpec] | None, where: str = "campaign"
) -> list[Violation]:
    """Problems with a campaign; its rules are checked too when its lead type's fields are given."""
    problems = validate_key(spec.key, f"{where}.key")
    if not spec.name.strip():
        problems.append(Violation(f"{where}.name", "is required"))
    if spec.channel is Channel.Unspecified:
        problems.append(Violation(f"{where}.channel", "must be post, ping-post, redirect or call"))
    if spec.status is Status.Unspecified:
        problems.append(Violation(f"{where}.status", "must be active or disabled"))
    for name in ("hour_max", "day_max", "month_max"):
        if getattr(spec, name) < NO_LIMIT:
            problems.append(Violation(f"{where}.{name}", "must be -1 (no limit) or more"))
    for name in ("dup_day_max", "max_sell", "return_days"):
        if getattr(spec, name) < 0:
            problems.append(Violation(f"{where}.{name}", "must not be negative"))
    if not 1 <= spec.ping_order_seconds <= MAX_PING_ORDER_SECONDS:
        problems.append(
            Violation(f"{where}.ping_order_seconds", f"must be 1 to {MAX_PING_ORDER_SECONDS}")
        )
    problems.extend(validate_pricing(spec.pricing, where))
    if fields is not None:
        problems.extend(validate_rules(spec.rules, fields, where))
    return problems


def validate_rules(
    rules: Sequence[Rule], fields: Sequence[FieldSpec], where: str = "campaign"
) -> list[Violation]:
    """Problems with a campaign's rules against the fields of its lead type."""
    by_name = {f.name.casefold(): f for f in fields}
    problems: list[Violation] = []
    for index, rule in enumerate(rules):
        problems.extend(validate_rule(rule, by_name, f"{where}.rules[{index}]"))
    return problems


def validate_pricing(pricing: Pricing, where: str) -> list[Violation]:
    path = f"{where}.{pricing_field(pricing.model)}"
    amount = pricing.amount
    if not amount.is_finite() or amount < 0:
        return [Violation(path, "must be zero or more")]
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MONEY_PLACES:
        return [Violation(path, f"at most {MONEY_PLACES} decimal places")]
    if pricing.model is PricingModel.RevenueShare and amount > 100:
        return [Violation(path, "a percentage must be between 0 and 100")]
    if amount >= Decimal("1e10"):
        return [Violation(path, "is too large")]
    return []


def pricing_field(model: PricingModel) -> str:
    return {
        PricingModel.PerLead: "price_per_lead",
        PricingModel.PerSale: "price_per_sale",
        PricingModel.RevenueShare: "revenue_share_percent",
    }[model]
