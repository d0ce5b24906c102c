"""Save-time checks of a buyer's delivery settings (`validate_delivery`)."""

from __future__ import annotations

import json
import math
import re
import xml.parsers.expat
from collections.abc import Collection
from urllib.parse import urlsplit

from server.domain.buyers.offers import OFFER_FIELDS
from server.domain.buyers.offers import REQUIRED_FIELDS as OFFER_REQUIRED
from server.domain.delivery.extract import AnswerFormat, path_problem
from server.domain.delivery.formats import format_kind
from server.domain.delivery.render import bare_placeholders
from server.domain.delivery.spec import (
    EMAIL_ADDRESS,
    FORBIDDEN_HEADERS,
    FTP_FILE_FORMATS,
    HEADER_NAME,
    HTTP_TYPES,
    MAX_TIMEOUT_SECONDS,
    PING_TYPES,
    PLACEHOLDER,
    RESERVED_NAMES,
    SAMPLE_VALUE,
    TEMPLATE_TYPES,
    XML_NAME,
    AuthType,
    DeliverySpec,
    DeliveryType,
    PingSpec,
    ResponseRules,
    mailbox,
    split_addresses,
)
from server.errors import Violation


def validate_delivery(
    spec: DeliverySpec, field_names: Collection[str], where: str
) -> list[Violation]:
    """Every problem with a buyer's delivery settings, given its lead type's field names."""
    problems: list[Violation] = []
    known_fields = {name.casefold() for name in field_names} | set(RESERVED_NAMES)
    if spec.type is DeliveryType.Unspecified:
        problems.append(Violation(f"{where}.type", "a delivery type is required"))
    if spec.type is not DeliveryType.Email:
        problems.extend(_address_problems(spec, spec.address, f"{where}.address"))
    if spec.in_testing:
        if not spec.test_address.strip():
            problems.append(Violation(f"{where}.test_address", "is required while in testing"))
        elif spec.type is DeliveryType.Email:
            problems.extend(_address_list_problems(spec.test_address, f"{where}.test_address"))
        else:
            problems.extend(_address_problems(spec, spec.test_address, f"{where}.test_address"))
    problems.extend(_mapping_problems(spec, known_fields, where))
    problems.extend(_template_problems(spec, known_fields, where))
    problems.extend(_header_problems(spec, where))
    problems.extend(_rules_problems(spec.response, where))
    timeout = spec.timeout_seconds
    if not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT_SECONDS):
        problems.append(
            Violation(
                f"{where}.timeout_seconds",
                f"must be more than 0 and at most {MAX_TIMEOUT_SECONDS:g} seconds",
            )
        )
    if spec.type is DeliveryType.Email:
        problems.extend(_email_problems(spec, where))
    problems.extend(_notice_problems(spec, where))
    if spec.type is DeliveryType.Ftp and spec.ftp_file_format not in FTP_FILE_FORMATS:
        problems.append(
            Violation(f"{where}.ftp_file_format", f"{spec.ftp_file_format!r} is not csv or xml")
        )
    if spec.auth is not AuthType.None_ and spec.type not in HTTP_TYPES:
        problems.append(Violation(f"{where}.auth", "only HTTP deliveries use authentication"))
    if spec.auth is AuthType.Basic and not spec.username:
        problems.append(Violation(f"{where}.username", "Basic authentication needs a user name"))
    if spec.auth is AuthType.Bearer and not spec.password:
        problems.append(Violation(f"{where}.password", "Bearer authentication needs a token"))
    if spec.ping is not None:
        # a ping knows the lead's id, not yet a send, a price or a reference
        ping_fields = {name.casefold() for name in field_names} | {"lead_id"}
        problems.extend(_ping_problems(spec, spec.ping, ping_fields, f"{where}.ping"))
    return problems


MAX_PING_TIMEOUT_MS = 10_000
ANSWER_FORMATS = tuple(f.value for f in AnswerFormat)


def _ping_problems(
    spec: DeliverySpec, ping: PingSpec, known_fields: set[str], where: str
) -> list[Violation]:
    """Problems with a delivery method's ping: its request (checked as a post's is) and the
    rules that read its answer."""
    if spec.type not in HTTP_TYPES:
        return [Violation(where, "only HTTP deliveries can ping before they post")]
    if ping.type not in PING_TYPES:
        return [Violation(f"{where}.type", "must be http_post, http_get, json_post or xml_post")]
    request = DeliverySpec(
        type=ping.type,
        address=ping.address,
        mappings=ping.mappings,
        template=ping.template,
        headers=ping.headers,
    )
    problems = _address_problems(request, ping.address, f"{where}.address")
    problems.extend(_mapping_problems(request, known_fields, where))
    problems.extend(_template_problems(request, known_fields, where))
    problems.extend(_header_problems(request, where))
    if not 0 < ping.timeout_ms <= MAX_PING_TIMEOUT_MS:
        problems.append(
            Violation(f"{where}.timeout_ms", f"must be 1 to {MAX_PING_TIMEOUT_MS} milliseconds")
        )
    answer = ping.answer
    if answer.format not in ANSWER_FORMATS:
        problems.append(
            Violation(f"{where}.answer.format", f"{answer.format!r} is not json, xml or regex")
        )
        return problems
    fmt = AnswerFormat(answer.format)
    if not answer.price:
        problems.append(Violation(f"{where}.answer.price", "is required: where the bid is"))
    for name in ("accepted", "price", "reference", "reason"):
        path = getattr(answer, name)
        reason = path_problem(fmt, path) if path else ""
        if reason:
            problems.append(Violation(f"{where}.answer.{name}", reason))
    problems.extend(_offer_path_problems(answer.offer, fmt, f"{where}.answer.offer"))
    for name in ("margin_percent", "min_margin", "floor"):
        amount = getattr(ping, name)
        if amount is not None and amount < 0:
            problems.append(Violation(f"{where}.{name}", "must be 0 or more"))
    if ping.margin_percent is not None and ping.margin_percent >= 100:
        problems.append(Violation(f"{where}.margin_percent", "must be below 100"))
    return problems


def _offer_path_problems(
    offer: tuple[tuple[str, str], ...], fmt: AnswerFormat, where: str
) -> list[Violation]:
    """A dynamic offer's paths: known offer fields, readable in the answer's format, and the
    company and consent text among them (an offer shown without them is no consent)."""
    if not offer:
        return []
    problems = []
    named = dict(offer)
    for name in OFFER_REQUIRED:
        if not named.get(name):
            problems.append(Violation(f"{where}.{name}", "is required for a dynamic offer"))
    for name, path in offer:
        if name not in OFFER_FIELDS:
            problems.append(Violation(f"{where}.{name}", "is not a field of an offer"))
            continue
        reason = path_problem(fmt, path)
        if reason:
            problems.append(Violation(f"{where}.{name}", reason))
    return problems


def _address_problems(spec: DeliverySpec, address: str, path: str) -> list[Violation]:
    """Problems with an HTTP or FTP delivery's URL."""
    if spec.type is DeliveryType.Unspecified:
        return []
    schemes = ("ftp",) if spec.type is DeliveryType.Ftp else ("http", "https")
    wanted = " or ".join(f"{scheme}://" for scheme in schemes)
    if not address.strip():
        return [Violation(path, f"is required (an {wanted} URL)")]
    try:
        parts = urlsplit(address)
        _ = parts.port
    except ValueError as exc:
        return [Violation(path, f"{address!r} is not a valid URL: {exc}")]
    if parts.scheme.lower() not in schemes or not parts.hostname:
        return [Violation(path, f"{address!r} is not an {wanted} URL")]
    if re.search(r"\s", address):
        return [Violation(path, "must not contain spaces")]
    if parts.username is not None or parts.password is not None:
        hint = "ftp_username and ftp_password" if spec.type is DeliveryType.Ftp else "auth"
        return [Violation(path, f"must not hold credentials; use {hint}")]
    return []


def _address_list_problems(addresses: str, path: str) -> list[Violation]:
    return [
        Violation(path, f"{address!r} is not an email address")
        for address in split_addresses(addresses)
        if not EMAIL_ADDRESS.fullmatch(mailbox(address))
    ]


def _mapping_problems(spec: DeliverySpec, known_fields: set[str], where: str) -> list[Violation]:
    problems: list[Violation] = []
    xml_names = spec.type is DeliveryType.XmlPost and not spec.template
    xml_names = xml_names or (spec.type is DeliveryType.Ftp and spec.ftp_file_format == "xml")
    for index, mapping in enumerate(spec.mappings):
        path = f"{where}.mappings[{index}]"
        if not mapping.param.strip():
            problems.append(Violation(f"{path}.param", "is required"))
        elif xml_names and not XML_NAME.fullmatch(mapping.param):
            problems.append(
                Violation(f"{path}.param", f"{mapping.param!r} is not a valid XML element name")
            )
        if mapping.field:
            if mapping.field.casefold() not in known_fields:
                problems.append(
                    Violation(f"{path}.field", f"{mapping.field!r} is not a field of the lead type")
                )
        elif not mapping.constant:
            problems.append(Violation(path, "needs a field or a constant"))
        if format_kind(mapping.format) == "unknown":
            problems.append(Violation(f"{path}.format", f"{mapping.format!r} is not a format"))
    return problems


def _template_problems(spec: DeliverySpec, known_fields: set[str], where: str) -> list[Violation]:
    known = known_fields | {mapping.param.casefold() for mapping in spec.mappings}
    problems: list[Violation] = []
    templates = [("template", spec.template), ("client_email", spec.client_email)]
    if spec.type is DeliveryType.Email:
        templates.append(("email_subject", spec.email_subject))
    for attribute, text in templates:
        for name in dict.fromkeys(PLACEHOLDER.findall(text)):
            if name.casefold() not in known:
                problems.append(
                    Violation(
                        f"{where}.{attribute}",
                        f"{{{{{name}}}}} names no field, mapping or lead_id/send_id/price",
                    )
                )
    if not spec.template:
        return problems
    path = f"{where}.template"
    if spec.type not in TEMPLATE_TYPES:
        problems.append(Violation(path, "only JSON, XML and email deliveries use a template"))
    if spec.type is DeliveryType.JsonPost:
        bare = bare_placeholders(spec.template)
        sample = PLACEHOLDER.sub(
            lambda m: "0" if m.start() in bare else SAMPLE_VALUE, spec.template
        )
        try:
            json.loads(sample)
        except ValueError as exc:
            problems.append(
                Violation(path, f"is not valid JSON once placeholders are filled in: {exc}")
            )
    elif spec.type is DeliveryType.XmlPost:
        reason = xml_problem(PLACEHOLDER.sub(SAMPLE_VALUE, spec.template))
        if reason:
            problems.append(Violation(path, f"is not well-formed XML: {reason}"))
    return problems


def xml_problem(text: str) -> str:
    """Why `text` is not a well-formed XML document without DTDs or entities, or ""."""

    class Forbidden(Exception):
        pass

    def refuse(*_args: object) -> None:
        raise Forbidden("DTDs and entity declarations are not allowed")

    parser = xml.parsers.expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(text.encode("utf-8"), True)
    except xml.parsers.expat.ExpatError as exc:
        return str(exc)
    except Forbidden as exc:
        return str(exc)
    return ""


def _header_problems(spec: DeliverySpec, where: str) -> list[Violation]:
    problems: list[Violation] = []
    for index, (name, value) in enumerate(spec.headers):
        path = f"{where}.headers[{index}]"
        if not HEADER_NAME.fullmatch(name):
            problems.append(Violation(path, f"{name!r} is not a valid header name"))
        elif name.casefold() in FORBIDDEN_HEADERS:
            problems.append(Violation(path, f"{name} is set by the transport"))
        if re.search(r"[\r\n\x00]", value):
            problems.append(Violation(path, "the value must not contain line breaks"))
    if spec.headers and spec.type not in HTTP_TYPES:
        problems.append(Violation(f"{where}.headers", "only HTTP deliveries send headers"))
    return problems


def _rules_problems(rules: ResponseRules, where: str) -> list[Violation]:
    problems: list[Violation] = []
    patterns = [
        ("response_search", rules.search if rules.use_regex else ""),
        ("price_search", rules.price_search),
        ("redirect_search", rules.redirect_search),
        ("reason_search", rules.reason_search),
    ]
    for attribute, pattern in patterns:
        if pattern:
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.append(Violation(f"{where}.{attribute}", f"bad regular expression: {exc}"))
    return problems


def _email_problems(spec: DeliverySpec, where: str) -> list[Violation]:
    problems: list[Violation] = []
    if not split_addresses(spec.email_to):
        problems.append(Violation(f"{where}.email_to", "at least one address is required"))
    for attribute in ("email_to", "email_cc", "email_bcc", "email_from"):
        problems.extend(_address_list_problems(getattr(spec, attribute), f"{where}.{attribute}"))
    if not spec.smtp_host.strip():
        problems.append(Violation(f"{where}.smtp_host", "is required"))
    if not 0 < spec.smtp_port < 65536:
        problems.append(Violation(f"{where}.smtp_port", "must be between 1 and 65535"))
    return problems


def _notice_problems(spec: DeliverySpec, where: str) -> list[Violation]:
    """Problems with the notices a sale sends (EmailNotify, ClientEmail): their addresses, and
    the SMTP settings they go out by, which only an email delivery needs otherwise."""
    problems = _address_list_problems(spec.notify_email, f"{where}.notify_email")
    if spec.email_notify and not split_addresses(spec.notify_email):
        problems.append(
            Violation(f"{where}.notify_email", "at least one address is required to notify")
        )
    sends_notices = spec.email_notify or bool(spec.client_email.strip())
    if not sends_notices or spec.type is DeliveryType.Email:  # checked with the email settings
        return problems
    problems.extend(_address_list_problems(spec.email_from, f"{where}.email_from"))
    if not spec.smtp_host.strip():
        problems.append(Violation(f"{where}.smtp_host", "is required to send notices"))
    if not 0 < spec.smtp_port < 65536:
        problems.append(Violation(f"{where}.smtp_port", "must be between 1 and 65535"))
    return problems
