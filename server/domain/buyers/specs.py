"""Buyers (LeadExec clients), their delivery methods and delivery accounts, as plain data.

A delivery method's settings are kept as one canonical mapping (the keys of the config
document's `deliveries` entries); `delivery_spec` turns them into the DeliverySpec the
delivery code renders from, and `delivery_windows` into its schedule.
"""

from __future__ import annotations

import enum
import zoneinfo
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import time
from decimal import Decimal
from typing import Any

from server.domain.buyers.offers import StaticOffer, validate_offer
from server.domain.buyers.schedule import DayWindow, validate_windows
from server.domain.caps import NO_LIMIT
from server.domain.catalog.fields import FieldSpec, field_named
from server.domain.catalog.specs import (
    EMAIL,
    MAX_PORTAL_PASSWORD,
    MIN_PORTAL_PASSWORD,
    MONEY_PLACES,
    USERNAME,
    Status,
    validate_key,
)
from server.domain.delivery.spec import (
    DEFAULT_PING_TIMEOUT_MS,
    AuthType,
    DeliverySpec,
    DeliveryType,
    FieldMapping,
    PingAnswerRules,
    PingSpec,
    ResponseRules,
)
from server.domain.delivery.validation import validate_delivery
from server.domain.geo import States
from server.domain.matching.criteria import Criterion, validate_criterion
from server.domain.matching.selection import Automation
from server.errors import Violation

DEFAULT_TIME_ZONE = "America/Los_Angeles"
DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_DELIVERY_DELAY_SECONDS = 7 * 24 * 3600


class ClientStatus(enum.IntEnum):
    """LeadExec ClientStatus; values are the proto's numbers. Only Active buyers get leads."""

    Unspecified = 0
    New = 1
    Pending = 2
    Working = 3
    Waiting = 4
    Dead = 5
    Inactive = 6
    Active = 7
    Late = 8
    Suspended = 9
    Closed = 10


class AccountType(enum.IntEnum):
    """LeadExec Delivery Account Types."""

    Standard = 0
    Redirect = 1
    LiveTransfer = 2
    Call = 3


DELIVERY_TYPES = {
    "http_post": DeliveryType.HttpPost,
    "http_get": DeliveryType.HttpGet,
    "json_post": DeliveryType.JsonPost,
    "xml_post": DeliveryType.XmlPost,
    "email": DeliveryType.Email,
    "ftp": DeliveryType.Ftp,
}
DELIVERY_TYPE_NAMES = {kind: name for name, kind in DELIVERY_TYPES.items()}
AUTH_TYPES = {"none": AuthType.None_, "basic": AuthType.Basic, "bearer": AuthType.Bearer}
# The settings of a delivery that are secrets: sent to the buyer, never returned by the API.
SECRET_SETTINGS = ("password", "smtp_password", "ftp_password")


@dataclass(frozen=True)
class PortalSettings:
    """What a buyer's web portal shows and lets its users do (LeadExec's client settings of
    the same names). Every setting is off unless set."""

    show_lead_grade: bool = False
    show_lead_source: bool = False
    show_campaign: bool = False
    allow_calls: bool = False  # place calls
    allow_reassign: bool = False  # reassign a lead
    override_reassign: bool = False  # reassign to any other buyer of the account


PORTAL_SETTINGS = tuple(f.name for f in fields(PortalSettings))


@dataclass(frozen=True)
class ClientSpec:
    name: str
    key: str | None = None
    status: ClientStatus = ClientStatus.Active
    group: str = ""
    time_zone: str = DEFAULT_TIME_ZONE
    contact: Mapping[str, str] = field(default_factory=dict)
    username: str = ""
    password: str | None = None  # None keeps the stored one, "" clears it
    automation: Automation = Automation.Price
    secondary_automation: Automation = Automation.Unspecified
    priority: int = 1
    weight: int = 1
    delivery_group: str = ""
    use_delivery_tiers: bool = False
    notes: str = ""
    portal: PortalSettings = PortalSettings()


CONTACT_FIELDS = (
    "contact_first_name",
    "contact_last_name",
    "email",
    "phone",
    "address",
    "address2",
    "city",
    "state",
    "postal_code",
    "country",
    "phone_ext",
    "alternate_phone",
    "alternate_phone_ext",
    "fax",
    "job_title",
    "website",
    "mobile_phone",
)


@dataclass(frozen=True)
class DeliveryMethod:
    """A delivery method as stored: its type, lead type and canonical settings."""

    type: DeliveryType
    lead_type_id: int
    settings: Mapping[str, Any]
    name: str = ""
    key: str | None = None
    enabled: bool = True
    lead_category_id: int | None = None  # LeadCatUID; 0 none, None keeps the stored one


@dataclass(frozen=True)
class DeliveryAccountSpec:
    """A delivery account: where, at what price, how often and for which leads."""

    delivery_id: int = 0
    key: str | None = None
    description: str = ""
    price: Decimal = Decimal("0")
    hour_max: int = NO_LIMIT
    day_max: int = NO_LIMIT
    month_max: int = NO_LIMIT
    use_order: bool = False
    status: Status = Status.Active
    delivery_delay_seconds: int = 0
    redirect_url: str = ""
    automation_enabled: bool = True
    account_type: AccountType = AccountType.Standard
    agent_name: str = ""
    agent_phone: str = ""
    criteria: tuple[Criterion, ...] = ()
    offer: StaticOffer | None = None  # its static offer (1-to-1 consent); None: none


def validate_client(spec: ClientSpec, where: str = "client") -> list[Violation]:
    problems = validate_key(spec.key, f"{where}.key")
    if not spec.name.strip():
        problems.append(Violation(f"{where}.name", "is required"))
    if spec.status is ClientStatus.Unspecified:
        problems.append(Violation(f"{where}.status", "is required"))
    try:
        zoneinfo.ZoneInfo(spec.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problems.append(Violation(f"{where}.time_zone", f"{spec.time_zone!r} is not a time zone"))
    if spec.username and not USERNAME.fullmatch(spec.username):
        problems.append(
            Violation(f"{where}.username", "3-100 letters, digits, '.', '_', '@' or '-'")
        )
    if spec.password and len(spec.password) < MIN_PORTAL_PASSWORD:
        problems.append(
            Violation(f"{where}.password", f"must be at least {MIN_PORTAL_PASSWORD} characters")
        )
    if spec.password and len(spec.password) > MAX_PORTAL_PASSWORD:
        problems.append(
            Violation(f"{where}.password", f"must be at most {MAX_PORTAL_PASSWORD} characters")
        )
    email = spec.contact.get("email", "")
    if email and not EMAIL.fullmatch(email):
        problems.append(Violation(f"{where}.email", f"{email!r} is not an email address"))
    if spec.automation is Automation.Unspecified:
        problems.append(Violation(f"{where}.automation", "is required"))
    if spec.priority < 0:
        problems.append(Violation(f"{where}.priority", "must be 0 or more"))
    if spec.automation is Automation.Percentage and not 0 <= spec.weight <= 100:
        problems.append(Violation(f"{where}.weight", "a target percentage must be 0 to 100"))
    elif spec.weight < 0:
        problems.append(Violation(f"{where}.weight", "must be 0 or more"))
    return problems


def client_with_state_id(
    spec: ClientSpec, state_id: int, states: States, where: str = "client"
) -> ClientSpec:
    """The buyer with its state named by id (LeadExec's StateUID), as States.text_for reads
    it; 0 leaves its state as it is."""
    if not state_id:
        return spec
    state = states.text_for(spec.contact.get("state", ""), state_id, where)
    return replace(spec, contact={**spec.contact, "state": state})


def delivery_spec(method: DeliveryMethod) -> DeliverySpec:
    """The renderable form of a delivery method's settings."""
    s = method.settings
    return DeliverySpec(
        type=method.type,
        address=str(s.get("address", "")),
        mappings=tuple(
            FieldMapping(
                param=str(m.get("param", "")),
                field=str(m.get("field", "")),
                constant=str(m.get("constant", "")),
                format=str(m.get("format", "")),
            )
            for m in s.get("mappings", ())
        ),
        template=str(s.get("template", "")),
        headers=tuple((str(h[0]), str(h[1])) for h in s.get("headers", ())),
        auth=AUTH_TYPES.get(str(s.get("auth", "none")), AuthType.None_),
        username=str(s.get("username", "")),
        password=str(s.get("password", "")),
        timeout_seconds=float(s.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)),
        email_to=str(s.get("email_to", "")),
        email_cc=str(s.get("email_cc", "")),
        email_bcc=str(s.get("email_bcc", "")),
        email_from=str(s.get("email_from", "")),
        email_subject=str(s.get("email_subject", "")),
        smtp_host=str(s.get("smtp_host", "")),
        smtp_port=int(s.get("smtp_port", 25)),
        smtp_username=str(s.get("smtp_username", "")),
        smtp_password=str(s.get("smtp_password", "")),
        smtp_starttls=bool(s.get("smtp_starttls", False)),
        ftp_username=str(s.get("ftp_username", "")),
        ftp_password=str(s.get("ftp_password", "")),
        ftp_file_format=str(s.get("ftp_file_format", "csv")),
        in_testing=bool(s.get("in_testing", False)),
        test_address=str(s.get("test_address", "")),
        response=ResponseRules(
            search=str(s.get("response_search", "")),
            use_regex=bool(s.get("use_regex", False)),
            price_search=str(s.get("price_search", "")),
            redirect_search=str(s.get("redirect_search", "")),
            reason_search=str(s.get("reason_search", "")),
        ),
        email_notify=bool(s.get("email_notify", False)),
        notify_email=str(s.get("notify_email", "")),
        client_email=str(s.get("client_email", "")),
        ping=ping_spec(s.get("ping")),
    )


def ping_spec(stored: Any) -> PingSpec | None:
    """A delivery method's ping, from its settings' `ping` object (None: it does not ping)."""
    if not isinstance(stored, Mapping) or not stored:
        return None
    answer = stored.get("answer") or {}

    def amount(name: str) -> Decimal | None:
        value = stored.get(name)
        return None if value in (None, "") else Decimal(str(value))

    return PingSpec(
        type=DELIVERY_TYPES.get(str(stored.get("type", "json_post")), DeliveryType.Unspecified),
        address=str(stored.get("address", "")),
        mappings=tuple(
            FieldMapping(
                param=str(m.get("param", "")),
                field=str(m.get("field", "")),
                constant=str(m.get("constant", "")),
                format=str(m.get("format", "")),
            )
            for m in stored.get("mappings", ())
        ),
        template=str(stored.get("template", "")),
        headers=tuple((str(h[0]), str(h[1])) for h in stored.get("headers", ())),
        timeout_ms=int(stored.get("timeout_ms", DEFAULT_PING_TIMEOUT_MS)),
        answer=PingAnswerRules(
            format=str(answer.get("format", "json")),
            accepted=str(answer.get("accepted", "")),
            accepted_value=str(answer.get("accepted_value", "")),
            price=str(answer.get("price", "")),
            reference=str(answer.get("reference", "")),
            reason=str(answer.get("reason", "")),
            offer=tuple((str(k), str(v)) for k, v in (answer.get("offer") or {}).items() if v),
        ),
        margin_percent=amount("margin_percent"),
        min_margin=amount("min_margin"),
        floor=amount("floor"),
    )


def delivery_windows(settings: Mapping[str, Any]) -> tuple[DayWindow, ...]:
    """The delivery method's schedule: [{"weekday": 0-6, "start": "HH:MM", "end": "HH:MM"}]."""
    return tuple(
        DayWindow(int(d["weekday"]), _clock(str(d["start"])), _clock(str(d["end"])))
        for d in settings.get("days", ())
    )


def _clock(text: str) -> time:
    hours, _, minutes = text.partition(":")
    if int(hours) == 24 and int(minutes or 0) == 0:
        return time(23, 59, 59, 999999)
    return time(int(hours), int(minutes or 0))


def parse_clock(text: str) -> time | None:
    """HH:MM (24:00 = end of day) or None when malformed."""
    hours, sep, minutes = text.strip().partition(":")
    digits = hours + minutes
    if not sep or not (digits.isascii() and hours.isdigit() and minutes.isdigit()):
        return None
    if len(minutes) != 2:
        return None
    h, m = int(hours), int(minutes)
    if (h, m) == (24, 0):
        return _clock("24:00")
    if h > 23 or m > 59:
        return None
    return time(h, m)


def validate_method(
    method: DeliveryMethod, field_names: Collection[str], where: str
) -> list[Violation]:
    """Every problem with a delivery method, given its lead type's field names."""
    problems = validate_key(method.key, f"{where}.key")
    if method.type is DeliveryType.Unspecified:
        problems.append(Violation(f"{where}.type", "must be one of: " + ", ".join(DELIVERY_TYPES)))
        return problems
    try:
        windows = delivery_windows(method.settings)
    except (KeyError, ValueError, TypeError):
        problems.append(Violation(f"{where}.days", "each day needs weekday, start and end"))
    else:
        problems.extend(validate_windows(windows, f"{where}.days"))
    problems.extend(validate_delivery(delivery_spec(method), field_names, where))
    return problems


def validate_delivery_account(
    spec: DeliveryAccountSpec,
    fields: Mapping[str, FieldSpec],
    where: str,
    zip_known: Callable[[str], bool],
) -> list[Violation]:
    """Every problem with a delivery account; fields are its delivery's lead type's, casefolded."""
    problems = validate_key(spec.key, f"{where}.key")
    if spec.price < 0:
        problems.append(Violation(f"{where}.price", "must not be negative"))
    elif spec.price.as_tuple().exponent < -MONEY_PLACES:  # type: ignore[operator]
        problems.append(Violation(f"{where}.price", f"at most {MONEY_PLACES} decimal places"))
    for name in ("hour_max", "day_max", "month_max"):
        if getattr(spec, name) < NO_LIMIT:
            problems.append(Violation(f"{where}.{name}", "must be -1 (no limit) or more"))
    if not 0 <= spec.delivery_delay_seconds <= MAX_DELIVERY_DELAY_SECONDS:
        problems.append(
            Violation(
                f"{where}.delivery_delay_seconds",
                f"must be 0 to {MAX_DELIVERY_DELAY_SECONDS} seconds",
            )
        )
    if spec.redirect_url and not spec.redirect_url.startswith(("http://", "https://")):
        problems.append(Violation(f"{where}.redirect_url", "must be an http(s) URL"))
    for index, criterion in enumerate(spec.criteria):
        problems.extend(
            validate_criterion(criterion, fields, f"{where}.criteria[{index}]", zip_known)
        )
    if spec.offer is not None:
        problems.extend(validate_offer(spec.offer, f"{where}.offer"))
    return problems


def public_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings without their secrets, plus whether each secret is set."""
    shown = {k: v for k, v in settings.items() if k not in SECRET_SETTINGS}
    for name in SECRET_SETTINGS:
        shown[f"has_{name}"] = bool(settings.get(name))
    return shown


def merge_secrets(new: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
    """New settings keeping each stored secret the new ones leave unset (None)."""
    merged = dict(new)
    for name in SECRET_SETTINGS:
        if merged.get(name) is None:
            merged.pop(name, None)
            if old.get(name):
                merged[name] = old[name]
    return merged


def default_mappings(method: DeliveryMethod, field_names: Sequence[str]) -> DeliveryMethod:
    """The method with one mapping per field of its lead type, each sent under its own name,
    in the lead type's field order (LeadExec's SetDefaultFieldMappings)."""
    mappings = [{"param": name, "field": name} for name in field_names]
    return replace(method, settings={**method.settings, "mappings": mappings})


def mappings_by_name(
    settings: Mapping[str, Any], fields: Sequence[FieldSpec], where: str
) -> tuple[dict[str, Any], list[Violation]]:
    """The settings with every mapping naming its field by name, as stored: a mapping may
    name it by id instead (`field_id`, LeadExec's LeadFieldUID; see field_named)."""
    mappings: list[dict[str, Any]] = []
    problems: list[Violation] = []
    for index, mapping in enumerate(settings.get("mappings", ())):
        named = {k: v for k, v in mapping.items() if k != "field_id"}
        path = f"{where}.mappings[{index}].field_id"
        name, problem = field_named(
            int(mapping.get("field_id", 0)), str(mapping.get("field", "")), fields, path
        )
        if problem:
            problems.append(problem)
        elif name:
            named["field"] = name
        mappings.append(named)
    if "mappings" not in settings:
        return dict(settings), problems
    return {**settings, "mappings": mappings}, problems
