"""Config as code: the `clients` section (buyers with their delivery methods, accounts and
orders) and the `distribution_lists` section.

Reading is pure and collects every problem with its path. Checks that need the lead type's
fields (mappings, templates, criteria) run when the apply use case has resolved them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.domain.buyers.offers import OFFER_FIELDS, TEXT_FIELDS, StaticOffer
from server.domain.buyers.specs import (
    AUTH_TYPES,
    CONTACT_FIELDS,
    DEFAULT_TIME_ZONE,
    DEFAULT_TIMEOUT_SECONDS,
    DELIVERY_TYPE_NAMES,
    DELIVERY_TYPES,
    PORTAL_SETTINGS,
    AccountType,
    ClientSpec,
    ClientStatus,
    DeliveryAccountSpec,
    DeliveryMethod,
    PortalSettings,
    parse_clock,
    validate_client,
)
from server.domain.caps import NO_LIMIT
from server.domain.catalog.fields import enum_by_name
from server.domain.catalog.rules import Operator
from server.domain.catalog.specs import Status
from server.domain.config.reader import STATUSES, Reader, check_unique, join_path
from server.domain.delivery.spec import DEFAULT_PING_TIMEOUT_MS, DeliveryType
from server.domain.matching.criteria import Criterion, CriterionType
from server.domain.matching.lists import DistributionListSpec, ListItemSpec
from server.domain.matching.selection import Automation
from server.domain.sales.orders import (
    OrderItemSpec,
    OrderSpec,
    OrderStatus,
    Renewal,
    validate_order,
)
from server.errors import Violation

CLIENT_STATUSES = {s.name.casefold(): s for s in ClientStatus if s is not ClientStatus.Unspecified}
AUTOMATIONS = {
    "price": Automation.Price,
    "priority": Automation.Priority,
    "roundrobin": Automation.RoundRobin,
    "round_robin": Automation.RoundRobin,
    "weighted": Automation.Weighted,
    "percentage": Automation.Percentage,
}
SECONDARY = {"none": Automation.Unspecified, **AUTOMATIONS}
ACCOUNT_TYPES = {
    "standard": AccountType.Standard,
    "redirect": AccountType.Redirect,
    "live_transfer": AccountType.LiveTransfer,
    "call": AccountType.Call,
}
CRITERION_TYPES = {
    "fieldvalue": CriterionType.FieldValue,
    "field_value": CriterionType.FieldValue,
    "expression": CriterionType.Expression,
    "function": CriterionType.Function,
}
ORDER_STATUSES = {
    "open": OrderStatus.Open,
    "closed": OrderStatus.Closed,
    "onhold": OrderStatus.OnHold,
    "on_hold": OrderStatus.OnHold,
}
RENEWALS = {
    "no_renewal": Renewal.No_Renewal,
    "none": Renewal.No_Renewal,
    "on_end_date": Renewal.On_End_Date,
    "on_qty_fill": Renewal.On_Qty_Fill,
}
WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
DELIVERY_TEXT = (
    "name",
    "address",
    "test_address",
    "template",
    "username",
    "response_search",
    "price_search",
    "redirect_search",
    "reason_search",
    "email_to",
    "email_cc",
    "email_bcc",
    "email_from",
    "email_subject",
    "smtp_host",
    "smtp_username",
    "ftp_username",
    "notify_email",
    "client_email",
)
DELIVERY_FLAGS = ("in_testing", "use_regex", "smtp_starttls", "email_notify")


@dataclass(frozen=True)
class DeliveryEntry:
    method: DeliveryMethod  # lead_type_id is 0 until resolved
    lead_type_key: str
    path: str


@dataclass(frozen=True)
class DeliveryAccountEntry:
    spec: DeliveryAccountSpec  # delivery_id is 0 until resolved
    delivery_key: str
    path: str


@dataclass(frozen=True)
class OrderEntry:
    spec: OrderSpec
    path: str


@dataclass(frozen=True)
class ClientEntry:
    spec: ClientSpec
    deliveries: tuple[DeliveryEntry, ...]
    delivery_accounts: tuple[DeliveryAccountEntry, ...]  # the document's `accounts`
    path: str
    orders: tuple[OrderEntry, ...] = ()


@dataclass(frozen=True)
class ListEntry:
    spec: DistributionListSpec
    lead_type_key: str
    path: str


def read_clients(items: list[object], problems: list[Violation]) -> list[ClientEntry]:
    """The `clients` list of a document; problems collects what is wrong with it."""
    entries = [_client(item, f"clients[{i}]", problems) for i, item in enumerate(items)]
    check_unique([(e.spec.key, e.path) for e in entries], "key", problems)
    check_unique(
        [(e.spec.username or None, e.path) for e in entries], "username", problems, fold=True
    )
    for entry in entries:
        check_unique([(d.method.key, d.path) for d in entry.deliveries], "key", problems)
        check_unique([(a.spec.key, a.path) for a in entry.delivery_accounts], "key", problems)
        known = {d.method.key for d in entry.deliveries}
        for delivery_account in entry.delivery_accounts:
            key = delivery_account.delivery_key
            if key and key not in known:
                problems.append(
                    Violation(
                        f"{delivery_account.path}.delivery",
                        f"no delivery with key {key!r} in this client",
                    )
                )
        check_unique([(o.spec.key, o.path) for o in entry.orders], "key", problems)
        delivery_accounts = {a.spec.key for a in entry.delivery_accounts}
        for order in entry.orders:
            check_unique(
                [(i.key, f"{order.path}.items[{n}]") for n, i in enumerate(order.spec.items)],
                "key",
                problems,
            )
            for n, item in enumerate(order.spec.items):
                if item.account_key and item.account_key not in delivery_accounts:
                    problems.append(
                        Violation(
                            f"{order.path}.items[{n}].account",
                            f"no delivery account with key {item.account_key!r} in this client",
                        )
                    )
    return entries


def read_lists(items: list[object], problems: list[Violation]) -> list[ListEntry]:
    """The `distribution_lists` section; buyers are named by key, in the document's `clients`
    or stored already (checked when applied)."""
    entries = [_list(item, f"distribution_lists[{i}]", problems) for i, item in enumerate(items)]
    check_unique([(e.spec.key, e.path) for e in entries], "key", problems)
    return entries


def _list(data: object, path: str, problems: list[Violation]) -> ListEntry:
    r = Reader(
        data,
        path,
        problems,
        {
            "key",
            "description",
            "lead_type",
            "field",
            "default_client",
            "status",
            "depend_field",
            "depend_value",
            "items",
        },
    )
    items = []
    for index, item in enumerate(r.objects("items")):
        ir = Reader(item, f"{path}.items[{index}]", problems, {"value", "client"})
        raw = ir.data.get("value")
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        if not isinstance(raw, str) or not raw.strip():
            problems.append(Violation(f"{path}.items[{index}].value", "is required"))
            raw = ""
        items.append(ListItemSpec(raw, ir.text("client")))
    spec = DistributionListSpec(
        key=r.text("key", required=True) or None,
        description=r.text("description"),
        field=r.text("field", required=True),
        default_client_key=r.text("default_client"),
        status=r.choice("status", STATUSES, Status.Active),
        depend_field=r.text("depend_field"),
        depend_value=r.text("depend_value"),
        items=tuple(items),
    )
    if spec.depend_field and not spec.depend_value:
        problems.append(Violation(f"{path}.depend_value", "is required with depend_field"))
    return ListEntry(spec, r.text("lead_type", required=True), path)


def _client(data: object, path: str, problems: list[Violation]) -> ClientEntry:
    r = Reader(
        data,
        path,
        problems,
        {
            "key",
            "name",
            "status",
            "group",
            "time_zone",
            *CONTACT_FIELDS,
            "username",
            "password",
            "automation",
            "secondary_automation",
            "priority",
            "weight",
            "delivery_group",
            "use_delivery_tiers",
            "notes",
            "portal",
            "deliveries",
            "accounts",
            "orders",
        },
    )
    spec = ClientSpec(
        key=r.text("key", required=True) or None,
        name=r.text("name", required=True),
        status=r.choice("status", CLIENT_STATUSES, ClientStatus.Active),
        group=r.text("group"),
        time_zone=r.text("time_zone", default=DEFAULT_TIME_ZONE) or DEFAULT_TIME_ZONE,
        contact={name: r.text(name) for name in CONTACT_FIELDS if r.text(name)},
        username=r.text("username"),
        password=r.optional_text("password"),
        automation=r.choice("automation", AUTOMATIONS, Automation.Price),
        secondary_automation=r.choice("secondary_automation", SECONDARY, Automation.Unspecified),
        priority=r.integer("priority", 1),
        weight=r.integer("weight", 1),
        delivery_group=r.text("delivery_group"),
        use_delivery_tiers=r.boolean("use_delivery_tiers"),
        notes=r.text("notes"),
        portal=_portal(r),
    )
    problems.extend(validate_client(spec, path))
    deliveries = tuple(
        _delivery(item, f"{path}.deliveries[{i}]", problems)
        for i, item in enumerate(r.objects("deliveries"))
    )
    delivery_accounts = tuple(
        _delivery_account(item, f"{path}.accounts[{i}]", problems)
        for i, item in enumerate(r.objects("accounts"))
    )
    zone = _zone(spec.time_zone)
    orders = tuple(
        _order(item, f"{path}.orders[{i}]", zone, problems)
        for i, item in enumerate(r.objects("orders"))
    )
    return ClientEntry(spec, deliveries, delivery_accounts, path, orders)


def _portal(r: Reader) -> PortalSettings:
    """A buyer's `portal` object: each setting true or false, absent ones off."""
    data = r.data.get("portal")
    settings = Reader(
        {} if data is None else data, join_path(r.path, "portal"), r.problems, set(PORTAL_SETTINGS)
    )
    return PortalSettings(**{name: settings.boolean(name) for name in PORTAL_SETTINGS})


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # validate_client reports the bad name


def _moment(r: Reader, name: str, zone: ZoneInfo) -> datetime:
    """An ISO 8601 date or date-time; one without an offset is in the buyer's time zone."""
    text = r.text(name, required=True)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        if text:
            r.problems.append(
                Violation(join_path(r.path, name), "must be an ISO 8601 date or date-time")
            )
        return datetime(2000, 1, 1, tzinfo=zone)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _order(data: object, path: str, zone: ZoneInfo, problems: list[Violation]) -> OrderEntry:
    r = Reader(
        data, path, problems, {"key", "start", "end", "status", "renewal", "auto_charge", "items"}
    )
    items = []
    for index, item in enumerate(r.objects("items")):
        ir = Reader(
            item, f"{path}.items[{index}]", problems, {"key", "description", "quantity", "account"}
        )
        items.append(
            OrderItemSpec(
                key=ir.text("key") or None,
                description=ir.text("description"),
                quantity=ir.integer("quantity", 0),
                account_key=ir.text("account"),
            )
        )
    spec = OrderSpec(
        key=r.text("key", required=True) or None,
        start=_moment(r, "start", zone),
        end=_moment(r, "end", zone),
        status=r.choice("status", ORDER_STATUSES, OrderStatus.Open),
        renewal=r.choice("renewal", RENEWALS, Renewal.No_Renewal),
        auto_charge=r.boolean("auto_charge"),
        items=tuple(items),
    )
    problems.extend(validate_order(spec, path))
    return OrderEntry(spec, path)


def _delivery(data: object, path: str, problems: list[Violation]) -> DeliveryEntry:
    r = Reader(
        data,
        path,
        problems,
        {
            "key",
            "type",
            "lead_type",
            "enabled",
            "timeout_seconds",
            "mappings",
            "headers",
            "auth",
            "password",
            "smtp_port",
            "smtp_password",
            "ftp_password",
            "ftp_file_format",
            "days",
            "ping",
            *DELIVERY_TEXT,
            *DELIVERY_FLAGS,
        },
    )
    settings: dict[str, Any] = {name: r.text(name) for name in DELIVERY_TEXT if r.text(name)}
    settings.pop("name", None)
    for name in DELIVERY_FLAGS:
        if r.boolean(name):
            settings[name] = True
    timeout = r.decimal("timeout_seconds")
    settings["timeout_seconds"] = float(timeout if timeout is not None else DEFAULT_TIMEOUT_SECONDS)
    if "smtp_port" in r.data:
        settings["smtp_port"] = r.integer("smtp_port", 25)
    auth = r.choice("auth", {name: name for name in AUTH_TYPES}, "none")
    if auth != "none":
        settings["auth"] = auth
    for name in ("password", "smtp_password", "ftp_password"):
        secret = r.optional_text(name)
        settings[name] = secret  # None keeps the stored secret
    if "ftp_file_format" in r.data:
        settings["ftp_file_format"] = r.choice(
            "ftp_file_format", {"csv": "csv", "xml": "xml"}, "csv"
        )
    settings["mappings"] = [
        _mapping(item, f"{path}.mappings[{i}]", problems)
        for i, item in enumerate(r.objects("mappings"))
    ]
    settings["headers"] = _headers(r.data.get("headers"), f"{path}.headers", problems)
    settings["days"] = [
        _day(item, f"{path}.days[{i}]", problems) for i, item in enumerate(r.objects("days"))
    ]
    if r.data.get("ping") is not None:
        settings["ping"] = _ping(r.data["ping"], f"{path}.ping", problems)
    kind = r.choice("type", DELIVERY_TYPES, DeliveryType.Unspecified)
    if "type" not in r.data:
        problems.append(Violation(f"{path}.type", "is required"))
    method = DeliveryMethod(
        type=kind,
        lead_type_id=0,
        settings={k: v for k, v in settings.items() if v not in ([], "")},
        name=r.text("name"),
        key=r.text("key", required=True) or None,
        enabled=r.boolean("enabled", True),
    )
    return DeliveryEntry(method, r.text("lead_type", required=True), path)


PING_ANSWER = ("format", "accepted", "accepted_value", "price", "reference", "reason")
PING_AMOUNTS = ("margin_percent", "min_margin", "floor")


def _ping(data: object, path: str, problems: list[Violation]) -> dict[str, Any]:
    """A delivery's `ping` object, in the canonical form stored in its settings (amounts as
    decimal strings; see server/domain/buyers/specs.py `ping_spec`)."""
    r = Reader(
        data,
        path,
        problems,
        {"type", "address", "mappings", "template", "headers", "timeout_ms", "answer"}
        | set(PING_AMOUNTS),
    )
    kind = r.choice("type", DELIVERY_TYPES, DeliveryType.JsonPost)
    ping: dict[str, Any] = {
        "type": DELIVERY_TYPE_NAMES[kind],
        "address": r.text("address", required=True),
        "timeout_ms": r.integer("timeout_ms", DEFAULT_PING_TIMEOUT_MS),
    }
    if r.text("template"):
        ping["template"] = r.text("template")
    mappings = [
        _mapping(item, f"{path}.mappings[{i}]", problems)
        for i, item in enumerate(r.objects("mappings"))
    ]
    headers = _headers(r.data.get("headers"), f"{path}.headers", problems)
    if mappings:
        ping["mappings"] = mappings
    if headers:
        ping["headers"] = headers
    answer_data = r.data.get("answer")
    ar = Reader(
        {} if answer_data is None else answer_data,
        f"{path}.answer",
        problems,
        {*PING_ANSWER, "offer"},
    )
    answer: dict[str, Any] = {name: ar.text(name) for name in PING_ANSWER if ar.text(name)}
    answer["format"] = ar.choice("format", {"json": "json", "xml": "xml", "regex": "regex"}, "json")
    offer_data = ar.data.get("offer")
    if offer_data is not None:
        orr = Reader(offer_data, f"{path}.answer.offer", problems, set(OFFER_FIELDS))
        paths = {name: orr.text(name) for name in OFFER_FIELDS if orr.text(name)}
        if paths:
            answer["offer"] = paths
    ping["answer"] = answer
    for name in PING_AMOUNTS:
        amount = r.decimal(name)
        if amount is not None:
            ping[name] = str(amount)
    return ping


def _mapping(data: object, path: str, problems: list[Violation]) -> dict[str, str]:
    r = Reader(data, path, problems, {"param", "field", "constant", "format"})
    mapping = {"param": r.text("param", required=True)}
    for name in ("field", "constant", "format"):
        if r.text(name):
            mapping[name] = r.text(name)
    return mapping


def _headers(data: object, path: str, problems: list[Violation]) -> list[list[str]]:
    if data is None:
        return []
    if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
        return [[str(k), v] for k, v in data.items()]
    problems.append(Violation(path, "must be an object of header names to string values"))
    return []


def _day(data: object, path: str, problems: list[Violation]) -> dict[str, Any]:
    r = Reader(data, path, problems, {"weekday", "start", "end"})
    raw = r.data.get("weekday")
    weekday = -1
    if isinstance(raw, str) and raw[:3].casefold() in WEEKDAYS:
        weekday = WEEKDAYS[raw[:3].casefold()]
    elif isinstance(raw, int | float) and not isinstance(raw, bool) and raw in range(7):
        weekday = int(raw)
    else:
        problems.append(Violation(f"{path}.weekday", "must be 0 (Monday) to 6 or a day name"))
    day: dict[str, Any] = {"weekday": max(weekday, 0)}
    for name in ("start", "end"):
        text = r.text(name, required=True)
        if text and parse_clock(text) is None:
            problems.append(Violation(f"{path}.{name}", "must be HH:MM (24:00 = end of day)"))
            text = "00:00"
        day[name] = text or "00:00"
    return day


def _delivery_account(data: object, path: str, problems: list[Violation]) -> DeliveryAccountEntry:
    r = Reader(
        data,
        path,
        problems,
        {
            "key",
            "delivery",
            "description",
            "price",
            "hour_max",
            "day_max",
            "month_max",
            "use_order",
            "status",
            "delivery_delay_seconds",
            "redirect_url",
            "automation_enabled",
            "account_type",
            "agent_name",
            "agent_phone",
            "criteria",
            "offer",
        },
    )
    offer = r.data.get("offer")
    spec = DeliveryAccountSpec(
        key=r.text("key", required=True) or None,
        description=r.text("description"),
        price=r.decimal("price") or Decimal("0"),
        hour_max=r.integer("hour_max", NO_LIMIT),
        day_max=r.integer("day_max", NO_LIMIT),
        month_max=r.integer("month_max", NO_LIMIT),
        use_order=r.boolean("use_order"),
        status=r.choice("status", STATUSES, Status.Active),
        delivery_delay_seconds=r.integer("delivery_delay_seconds", 0),
        redirect_url=r.text("redirect_url"),
        automation_enabled=r.boolean("automation_enabled", True),
        account_type=r.choice("account_type", ACCOUNT_TYPES, AccountType.Standard),
        agent_name=r.text("agent_name"),
        agent_phone=r.text("agent_phone"),
        criteria=tuple(
            _criterion(item, f"{path}.criteria[{i}]", problems)
            for i, item in enumerate(r.objects("criteria"))
        ),
        offer=None if offer is None else _offer(offer, f"{path}.offer", problems),
    )
    return DeliveryAccountEntry(spec, r.text("delivery", required=True), path)


def _offer(data: object, path: str, problems: list[Violation]) -> StaticOffer:
    """A delivery account's static offer: every field of LeadExec's static offer settings."""
    r = Reader(data, path, problems, {*TEXT_FIELDS, "amount"})
    return StaticOffer(
        **{name: r.text(name) for name in TEXT_FIELDS},
        amount=r.decimal("amount") or Decimal("0"),
    )


def _criterion(data: object, path: str, problems: list[Violation]) -> Criterion:
    r = Reader(data, path, problems, {"type", "field", "operator", "value", "expression"})
    kind = r.choice("type", CRITERION_TYPES, CriterionType.FieldValue)
    name = r.text("operator")
    operator = enum_by_name(Operator, name) if name else Operator.Unspecified
    if operator is None:
        names = ", ".join(o.name for o in Operator if o is not Operator.Unspecified)
        problems.append(Violation(f"{path}.operator", f"{name!r} is not one of: {names}"))
        operator = Operator.Unspecified
    value = r.data.get("value")
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(int(value)) if float(value).is_integer() else str(value)
    elif value is not None and not isinstance(value, str):
        problems.append(Violation(f"{path}.value", "must be a string"))
        value = ""
    return Criterion(kind, r.text("field"), operator, value or "", r.text("expression"))
