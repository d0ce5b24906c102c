"""Config as code: read a whole document into specs, collecting every error with its path.

The document (docs/config.md) names lead types, sources and their campaigns, and buyers
(server/domain/config/buyers_section.py), by stable keys.
Reading is pure; resolving keys that refer to entities outside the document happens in the
apply use case, inside its transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from server.domain.caps import NO_LIMIT
from server.domain.catalog.fields import DataType, FieldSpec, SpecialField, enum_by_name
from server.domain.catalog.rules import Operator, Rule
from server.domain.catalog.specs import (
    DEFAULT_DUP_DAYS,
    DEFAULT_MAX_SELL,
    DEFAULT_PING_ORDER_SECONDS,
    CampaignSpec,
    Channel,
    LeadTypeSpec,
    Pricing,
    PricingModel,
    SourceSpec,
    Status,
    pricing_field,
    validate_campaign,
    validate_lead_type,
    validate_source,
)
from server.domain.config.buyers_section import ClientEntry, ListEntry, read_clients, read_lists
from server.domain.config.reader import STATUSES, Reader, check_unique
from server.domain.sales.auction import (
    DEFAULT_DEADLINE_MS,
    DEFAULT_FRESH_SECONDS,
    AuctionSettings,
    validate_auction,
)
from server.errors import Violation

CHANNELS = {
    "post": Channel.Post,
    "ping-post": Channel.PingPost,
    "pingpost": Channel.PingPost,
    "ping_post": Channel.PingPost,
    "redirect": Channel.Redirect,
    "call": Channel.Call,
}


@dataclass(frozen=True)
class CampaignEntry:
    spec: CampaignSpec
    lead_type_key: str
    path: str
    auction: AuctionSettings = field(default_factory=AuctionSettings)  # defaults when absent


@dataclass(frozen=True)
class SourceEntry:
    spec: SourceSpec
    campaigns: tuple[CampaignEntry, ...]
    path: str


@dataclass(frozen=True)
class LeadTypeEntry:
    spec: LeadTypeSpec
    path: str


@dataclass
class ConfigDocument:
    lead_types: list[LeadTypeEntry] = field(default_factory=list)
    sources: list[SourceEntry] = field(default_factory=list)
    clients: list[ClientEntry] = field(default_factory=list)
    lists: list[ListEntry] = field(default_factory=list)
    problems: list[Violation] = field(default_factory=list)


def read_document(data: object) -> ConfigDocument:
    """Read and validate a whole document; `problems` lists everything wrong with it."""
    doc = ConfigDocument()
    top = Reader(data, "", doc.problems, {"lead_types", "sources", "clients", "distribution_lists"})
    for index, item in enumerate(top.objects("lead_types")):
        doc.lead_types.append(_lead_type(item, f"lead_types[{index}]", doc.problems))
    for index, item in enumerate(top.objects("sources")):
        doc.sources.append(_source(item, f"sources[{index}]", doc.problems))
    doc.clients = read_clients(top.objects("clients"), doc.problems)
    doc.lists = read_lists(top.objects("distribution_lists"), doc.problems)
    _check_unique_keys(doc)
    fields_by_type = {e.spec.key: e.spec.fields for e in doc.lead_types if e.spec.key}
    for source in doc.sources:
        for campaign in source.campaigns:
            # rules against a lead type outside the document are checked when it is resolved
            fields = fields_by_type.get(campaign.lead_type_key)
            doc.problems.extend(validate_campaign(campaign.spec, fields, campaign.path))
    return doc


def _lead_type(data: object, path: str, problems: list[Violation]) -> LeadTypeEntry:
    r = Reader(
        data,
        path,
        problems,
        {"key", "name", "description", "industry_type", "duplicate_fields", "fields"},
    )
    duplicate = {name.casefold() for name in r.strings("duplicate_fields")}
    fields = tuple(
        _field(item, f"{path}.fields[{i}]", problems, duplicate)
        for i, item in enumerate(r.objects("fields"))
    )
    known = {f.name.casefold() for f in fields}
    for name in r.strings("duplicate_fields"):
        if name.casefold() not in known:
            problems.append(Violation(f"{path}.duplicate_fields", f"{name!r} is not a field"))
    spec = LeadTypeSpec(
        key=r.text("key", required=True) or None,
        name=r.text("name"),
        description=r.text("description"),
        industry_type=r.integer("industry_type", 0),
        fields=fields,
    )
    problems.extend(validate_lead_type(spec, path))
    return LeadTypeEntry(spec, path)


def _field(data: object, path: str, problems: list[Violation], duplicate: set[str]) -> FieldSpec:
    r = Reader(
        data,
        path,
        problems,
        {
            "name",
            "type",
            "required",
            "validation",
            "invalid_chars",
            "enumerations",
            "format",
            "special",
            "description",
            "col_span",
            "width",
            "height",
            "computed",
        },
    )
    name = r.text("name")
    type_name = r.text("type", default="Varchar")
    data_type = enum_by_name(DataType, type_name)
    if data_type is None or data_type is DataType.No_DataType:
        names = ", ".join(t.name for t in DataType if t is not DataType.No_DataType)
        problems.append(Violation(f"{path}.type", f"{type_name!r} is not one of: {names}"))
        data_type = DataType.Varchar
    special_name = r.text("special", default="No_SpecialBit")
    special = enum_by_name(SpecialField, special_name)
    if special is None:
        problems.append(Violation(f"{path}.special", f"{special_name!r} is not a system field"))
        special = SpecialField.No_SpecialBit
    return FieldSpec(
        name=name,
        data_type=data_type,
        required=r.boolean("required"),
        validation=r.text("validation"),
        invalid_chars=r.text("invalid_chars"),
        enumerations=r.strings("enumerations"),
        format_string=r.text("format"),
        special=special,
        description=r.text("description"),
        duplicate_check=name.casefold() in duplicate,
        col_span=r.integer("col_span", 0),
        width=r.integer("width", 0),
        height=r.integer("height", 0),
        computed=r.text("computed"),
    )


def _source(data: object, path: str, problems: list[Violation]) -> SourceEntry:
    r = Reader(
        data,
        path,
        problems,
        {
            "key",
            "name",
            "email",
            "address",
            "address2",
            "city",
            "state",
            "zip",
            "phone",
            "fax",
            "status",
            "username",
            "password",
            "default_return_days",
            "campaigns",
        },
    )
    spec = SourceSpec(
        key=r.text("key", required=True) or None,
        name=r.text("name"),
        email=r.text("email"),
        address=r.text("address"),
        address2=r.text("address2"),
        city=r.text("city"),
        state=r.text("state"),
        zip=r.text("zip"),
        phone=r.text("phone"),
        fax=r.text("fax"),
        status=r.choice("status", STATUSES, Status.Active),
        username=r.text("username") or None,
        password=r.optional_text("password"),
        default_return_days=r.integer("default_return_days", 0),
    )
    problems.extend(validate_source(spec, path))
    campaigns = tuple(
        _campaign(item, f"{path}.campaigns[{i}]", problems, spec.default_return_days)
        for i, item in enumerate(r.objects("campaigns"))
    )
    return SourceEntry(spec, campaigns, path)


def _campaign(
    data: object, path: str, problems: list[Violation], return_days: int
) -> CampaignEntry:
    prices = {pricing_field(m): m for m in PricingModel}
    r = Reader(
        data,
        path,
        problems,
        {
            "key",
            "name",
            "lead_type",
            "channel",
            "status",
            "password",
            "require_api_key",
            *prices,
            "hour_max",
            "day_max",
            "month_max",
            "count_returns",
            "dup_day_max",
            "max_sell",
            "use_qc_bin",
            "return_days",
            "email_verify",
            "append_city_state_from_zip",
            "return_client_offers",
            "ping_order_seconds",
            "rules",
            "auction",
        },
    )
    given = [(name, model, r.decimal(name)) for name, model in prices.items() if name in r.data]
    pricing = Pricing()
    if len(given) > 1:
        problems.append(Violation(path, "set at most one of: " + ", ".join(n for n, _, _ in given)))
    elif given and given[0][2] is not None:
        pricing = Pricing(given[0][1], given[0][2])
    spec = CampaignSpec(
        key=r.text("key", required=True) or None,
        name=r.text("name"),
        channel=r.choice("channel", CHANNELS, Channel.Post),
        status=r.choice("status", STATUSES, Status.Active),
        password=r.optional_text("password"),
        require_api_key=r.boolean("require_api_key"),
        pricing=pricing,
        hour_max=r.integer("hour_max", NO_LIMIT),
        day_max=r.integer("day_max", NO_LIMIT),
        month_max=r.integer("month_max", NO_LIMIT),
        count_returns=r.boolean("count_returns"),
        dup_day_max=r.integer("dup_day_max", DEFAULT_DUP_DAYS),
        max_sell=r.integer("max_sell", DEFAULT_MAX_SELL),
        use_qc_bin=r.boolean("use_qc_bin"),
        return_days=r.integer("return_days", return_days),
        email_verify=r.boolean("email_verify"),
        append_city_state_from_zip=r.boolean("append_city_state_from_zip"),
        return_client_offers=r.boolean("return_client_offers"),
        ping_order_seconds=r.integer("ping_order_seconds", DEFAULT_PING_ORDER_SECONDS),
        rules=tuple(
            _rule(item, f"{path}.rules[{i}]", problems) for i, item in enumerate(r.objects("rules"))
        ),
    )
    auction = _auction(r.data.get("auction"), f"{path}.auction", problems)
    return CampaignEntry(spec, r.text("lead_type", required=True), path, auction)


def _auction(data: object, path: str, problems: list[Violation]) -> AuctionSettings:
    """A campaign's `auction` object: its outbound ping-post auction (docs/ping_post.md)."""
    if data is None:
        return AuctionSettings()
    names = {"deadline_ms", "margin_percent", "min_margin", "floor", "fresh_seconds"}
    r = Reader(data, path, problems, names)
    settings = AuctionSettings(
        deadline_ms=r.integer("deadline_ms", DEFAULT_DEADLINE_MS),
        margin_percent=r.decimal("margin_percent") or Decimal(0),
        min_margin=r.decimal("min_margin") or Decimal(0),
        floor=r.decimal("floor") or Decimal(0),
        fresh_seconds=r.integer("fresh_seconds", DEFAULT_FRESH_SECONDS),
    )
    problems.extend(validate_auction(settings, path))
    return settings


def _rule(data: object, path: str, problems: list[Violation]) -> Rule:
    r = Reader(data, path, problems, {"field", "operator", "value"})
    name = r.text("operator", required=True)
    operator = enum_by_name(Operator, name) if name else None
    if name and (operator is None or operator is Operator.Unspecified):
        names = ", ".join(o.name for o in Operator if o is not Operator.Unspecified)
        problems.append(Violation(f"{path}.operator", f"{name!r} is not one of: {names}"))
    value = r.data.get("value")
    if isinstance(value, float) and value.is_integer():
        value = str(int(value))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    elif value is not None and not isinstance(value, str):
        problems.append(Violation(f"{path}.value", "must be a string"))
        value = ""
    return Rule(r.text("field", required=True), operator or Operator.Unspecified, value or "")


def _check_unique_keys(doc: ConfigDocument) -> None:
    check_unique([(e.spec.key, e.path) for e in doc.lead_types], "key", doc.problems)
    check_unique([(e.spec.key, e.path) for e in doc.sources], "key", doc.problems)
    check_unique(
        [(c.spec.key, c.path) for e in doc.sources for c in e.campaigns], "key", doc.problems
    )
    check_unique(
        [(e.spec.username, e.path) for e in doc.sources], "username", doc.problems, fold=True
    )
