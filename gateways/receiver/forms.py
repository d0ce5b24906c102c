"""Reading a legacy lead post (URL-encoded, XML or JSON) into one `Submission`.

This module translates formats and decides nothing about the post. An absent identifier is an
empty string, a malformed one is passed on as posted, and the lead service answers both. Only a
body that cannot be read at all sets `parse_error`. The service answers that with Data_Errors.

Choosing the format
    The Content-Type picks the reader. Parameters such as `charset` are ignored.

    - `application/x-www-form-urlencoded`, or the spec's own `x-www-form-urlencoded`:
      URL-encoded.
    - `multipart/form-data` with a boundary: a form too, read as a URL-encoded one is (its
      format is `urlencoded`). PHP's cURL sends a form this way when its fields are given as
      an array, and ASP.NET (LeadExec) reads both kinds of form alike. Each part is a name
      (its Content-Disposition's) and a value, decoded as UTF-8 or else Windows-1252; a file
      part's content is a value too. A body that does not parse, or ends before its closing
      boundary, is unreadable (`parse_error`).
    - `application/xml`, `text/xml` or any `+xml` type: XML.
    - `application/json`, `text/json` or any `+json` type: JSON.

    When the Content-Type is missing or unknown, the body is sniffed. Its first character that
    is not a space or a byte-order mark decides: `<` means XML, `{` or `[` means JSON, and
    anything else means URL-encoded.

    Legacy clients send wrong types, so a wrong declaration is corrected:

    - A URL-encoded reading never fails. So a body declared URL-encoded that sniffs as XML or
      JSON is read as XML or JSON, errors included. (`curl -d` sends JSON this way.)
    - If a body declared XML or JSON fails to parse, the sniffed format is tried. It is used if
      it parses. URL-encoded is tried only when the body contains `=`, so that a broken JSON
      document is reported as one and not read as a lead field named after it. If neither
      reading works, the declared format's error is reported.
    - An empty or blank body is read as URL-encoded whatever its type. The query string alone
      then carries the post.

Reserved names
    These names are matched ignoring case. Their values are never lead fields, in any format.

    - Request values: `vid`, `lid`, `aid`, `password`, `returnurl`, `senddelay` and `orderid`
      (JSON: `returnURL`, `sendDelay` and `orderId`; the order a ping answered).
    - Lead properties: `reference`, `nosell` (JSON: `noSell`) and `visitid` or `visit_id`
      (JSON: `visitId`), the site visit the lead comes from (docs/visits.md).
    - Read and dropped: `response_type`, which is the URL segment.
    - Call data, only when reading a call lead (`parse_submission(..., call_data=True)`, the
      calldata endpoint): `ivrnumber`, `callduration`, `callresult` and `calldate` are lead
      properties (JSON: `ivrNumber` ... in `properties`; XML: `<IVRNumber>` ... in `<Lead>`).
      On every other endpoint they are ordinary field names, as before.

    Every other name is a lead field. Fields keep their names as posted and their order.
    Repeated field names are passed on as posted: the service decides.

Where values come from, and which wins
    The body is authoritative, and the query string fills in what it leaves empty. For each
    reserved name, the first non-empty value found wins, in this order:

    - URL-encoded: body parameters, then query parameters. A query-string field is added after
      the body's fields, but only when the body has no field of that name (ignoring case).
    - XML: attributes of `<Leads>`, then its child elements with a reserved name, then the
      attributes and child elements of each `<Lead>`, in order, then the query string (request
      values only).
    - JSON: `source`, then each lead's `properties` (`leadUID` and `processDelivery` of an
      update are there), then reserved names inside its `fields`, then the query string
      (request values only).

    ASP.NET's `Request[name]` would read the query string first. Body-first is one rule for all
    three formats. The two differ only when a client sends two different non-empty values.

URL-encoded
    One lead per request (gateways/http_forms.py reads it). `+` is a space and `%XX` is a
    byte. Each name and value is decoded as UTF-8, or as Windows-1252 when it is not valid
    UTF-8. Values are not trimmed, but the whole body is, so a trailing newline is not part
    of the last value. A parameter with an empty name is dropped.

XML
    `<Leads vid lid aid password returnurl senddelay><Lead reference nosell>` holds the fields as
    child elements, e.g. `<FirstName>Ann</FirstName>`. Each `<Lead>` is one lead, in order.
    A bare `<Lead>` root is also read, as one lead. Any other root is an error. A field's value
    is the text of its element and all its descendants, trimmed. `<City />` is an empty value.
    Namespace prefixes are dropped from names. DTDs and entity declarations are refused before
    anything in them is read, so entity expansion and external entities cannot happen. A body
    that is not valid UTF-8 and fails to parse is parsed again as Windows-1252, whatever
    encoding it declares; one that declares Latin-1 (any label the WHATWG encoding standard
    reads as Windows-1252) is read as Windows-1252. An encoding expat cannot read (unknown,
    or multi-byte other than UTF-8 and UTF-16) is an error naming it. Elements nest at most
    `MAX_NESTING` (32) levels deep.

JSON
    The shape is `{"source": {...}, "leads": [{"properties": {...}, "fields": {...}}]}`, with
    key names matched ignoring case. A top-level array is read as `leads`, and an object with
    `fields` but no `leads` is read as one lead.

    A flat lead is read too: a lead object with neither `fields` nor `properties` (and, at the
    top level, neither `source` nor `leads`, and not empty) holds its names and values as a
    URL-encoded post does, `{"vid": 1, "password": "...", "FirstName": "Ann"}`: reserved
    names are request values and lead properties, every other name a field. Webhook tools
    and hand-written integrations post leads this way; the document's shape would read such
    an object as no lead at all and answer it as missing its source.

    In values, and in `vid`, `lid`, `aid` and `sendDelay`:

    - a string is kept as is;
    - a number is written in its shortest exact form (`25.0` gives `25`, `12.50` gives `12.5`,
      `1e3` gives `1000`), and an integer is written as posted;
    - `true` and `false` give `"true"` and `"false"`, and `null` gives `""`;
    - an object or array gives its compact JSON text, except in `fields`: a field holding
      one makes the body unreadable (`parse_error` naming every such field, and its lead when
      the request holds several), since no field type holds a list or a record and a lead
      source that sends one expects it to be read.

    Repeated keys are all kept, in order. The body is decoded as the JSON encoding it uses
    (UTF-8, 16 or 32), or as Windows-1252 when that fails. Objects and arrays nest at most
    `MAX_NESTING` (32) levels deep.

The V2 receiver (`parse_submission(..., v2=True)`)
    Two more lead properties are read, and are never fields: `tags` and `offer` (docs/receiver.md,
    "The V2 receiver"). JSON: in `properties`, `"tags"` is an array of strings (or one string)
    and `"offer"` an object. XML: children of `<Lead>`, `<Tags><Tag>a</Tag>...</Tags>` and
    `<Offer consent="true"><Id>12</Id>...</Offer>` (its values as attributes or children).
    The offer block's names are matched ignoring case (`OFFER_NAMES`); an unknown one, or a
    value of the wrong shape, makes the body unreadable (`parse_error`).

Flags
    `nosell` is true for `true`, `1`, `yes` and `on` (ignoring case and spaces), and for the
    JSON values `true` and any non-zero number. Anything else is false.

Positions
    Parse errors give 1-based line and column numbers, for XML and JSON alike.
"""

from __future__ import annotations

import codecs
import json
import re
import xml.parsers.expat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, NoReturn

from leadrouter.v1 import leads_pb2

from gateways import http_forms

Format = Literal["urlencoded", "xml", "json"]

REQUEST_NAMES = frozenset(
    {
        "vid",
        "lid",
        "aid",
        "password",
        "returnurl",
        "senddelay",
        "lpleaduid",
        "leaduid",
        "processdelivery",
        "orderid",
    }
)
LEAD_NAMES = frozenset({"reference", "nosell", "visitid", "visit_id"})
DROPPED_NAMES = frozenset({"response_type"})
RESERVED_NAMES = REQUEST_NAMES | LEAD_NAMES | DROPPED_NAMES
CALL_NAMES = frozenset({"ivrnumber", "callduration", "callresult", "calldate"})
V2_NAMES = frozenset({"tags", "offer"})
# The offer block's names (lower case), each with what it is on the lead service's OfferChoice:
# several ids may be given (a JSON array, repeated XML elements).
OFFER_NAMES = {
    "id": "offer_ids",
    "ids": "offer_ids",
    "offerid": "offer_ids",
    "offerids": "offer_ids",
    "consent": "consent",
    "consentedat": "consented_at",
    "ipaddress": "ip_address",
    "useragent": "user_agent",
    "pageurl": "page_url",
    "trustedformcerturl": "trusted_form_cert",
    "trustedformcert": "trusted_form_cert",
    "jornayaleadid": "jornaya_lead_id",
    "leadid": "jornaya_lead_id",
}

_TRUE_FLAGS = frozenset({"true", "1", "yes", "on"})
_REFUSED_MARKUP = "DTDs and entities are not allowed"
# How deeply a JSON or XML body may nest. A post needs four levels (<Leads><Lead><Field>, or
# {"leads": [{"fields": {...}}]}); a field value holding JSON may take a few more.
MAX_NESTING = 32


@dataclass(frozen=True)
class Credentials:
    """The identifiers a post authenticates with, as posted."""

    vid: str = ""
    lid: str = ""
    aid: str = ""
    password: str = field(default="", repr=False)
    api_key: str = field(default="", repr=False)


@dataclass(frozen=True)
class CallData:
    """A call lead's call details, as posted."""

    ivr_number: str = ""
    call_duration: str = ""
    call_result: str = ""
    call_date: str = ""


@dataclass(frozen=True)
class Lead:
    """One posted lead: its properties and its fields, in order."""

    reference: str = ""
    no_sell: bool = False
    fields: tuple[tuple[str, str], ...] = ()
    call: CallData | None = None  # read only for a call lead
    tags: tuple[str, ...] = ()  # V2 only
    offer: tuple[tuple[str, str], ...] = ()  # V2 only: the offer block's (OFFER_NAMES) values
    visit_id: str = ""  # the site visit it comes from (VisitID)


@dataclass(frozen=True)
class Submission:
    """One posted request, read but not judged: what `SubmitLeadsRequest` needs."""

    credentials: Credentials
    send_delay_hours: str
    return_url: str
    leads: tuple[Lead, ...]
    request_format: Format
    parse_error: str = ""
    lead_uid: str = ""  # the update endpoint's lpleaduid (or leadUID)
    process_delivery: bool = False
    order_id: str = ""  # the order a ping answered (orderid)


def parse_submission(
    body: bytes,
    content_type: str | None,
    query: list[tuple[str, str]],
    bearer_key: str,
    *,
    call_data: bool = False,
    v2: bool = False,
) -> Submission:
    """Read a posted body and its query string; `bearer_key` is the source's API key from the
    headers (`api_key_from_headers`), or "".
    With `call_data`, each lead's call details are read too (the calldata endpoint); with
    `v2`, its tags and offer block (the V2 receiver)."""
    query = [(_valid_text(name), _valid_text(value)) for name, value in query]
    lead_names = LEAD_NAMES | CALL_NAMES if call_data else LEAD_NAMES
    if v2:
        lead_names |= V2_NAMES
    boundary = http_forms.multipart_boundary(content_type)
    if boundary is not None and body.strip():  # a form, as multipart/form-data
        reading = _read_multipart(body, boundary, query, lead_names)
        return _submission("urlencoded", reading, query, bearer_key)
    first: tuple[Format, _Reading] | None = None
    for candidate in _candidates(body, content_type):
        reading = _READERS[candidate](body, query, lead_names)
        if not reading.error:
            return _submission(candidate, reading, query, bearer_key)
        first = first or (candidate, reading)
    assert first is not None  # there is always at least one candidate
    return _submission(first[0], first[1], query, bearer_key)


def kept_request(body: bytes, query_string: bytes) -> bytes:
    """What the post log keeps as a request: its body, or, for a post that sent none (a GET,
    whose lead is its query string), its query string as it came."""
    return body if body.strip() else query_string


def to_request(sub: Submission, raw: bytes, remote_ip: str) -> leads_pb2.SubmitLeadsRequest:
    """The gRPC request for a submission; `raw` is the body as received, for the post log."""
    credentials = sub.credentials
    return leads_pb2.SubmitLeadsRequest(
        credentials=leads_pb2.Credentials(
            vid=credentials.vid,
            lid=credentials.lid,
            aid=credentials.aid,
            password=credentials.password,
            api_key=credentials.api_key,
        ),
        send_delay_hours=sub.send_delay_hours,
        return_url=sub.return_url,
        leads=[
            leads_pb2.LeadInput(
                reference=lead.reference,
                no_sell=lead.no_sell,
                fields=[leads_pb2.FieldValue(name=n, value=v) for n, v in lead.fields],
                call=_call_input(lead.call),
                tags=lead.tags,
                offer=_offer_choice(lead.offer),
                visit_id=lead.visit_id,
            )
            for lead in sub.leads
        ],
        remote_ip=remote_ip,
        request_format=sub.request_format,
        raw_request=raw,
        parse_error=sub.parse_error,
        lead_uid=sub.lead_uid,
        process_delivery=sub.process_delivery,
        order_id=sub.order_id,
    )


def _offer_choice(pairs: Sequence[tuple[str, str]]) -> leads_pb2.OfferChoice | None:
    """A V2 lead's offer block; the first non-empty value of a name wins, ids all count."""
    if not pairs:
        return None
    choice = leads_pb2.OfferChoice()
    for name, value in pairs:
        target = OFFER_NAMES[name]
        if target == "offer_ids":
            choice.offer_ids.extend(v.strip() for v in value.split(",") if v.strip())
        elif target == "consent":
            choice.consent = choice.consent or _flag(value)
        elif not getattr(choice, target):
            setattr(choice, target, value.strip())
    return choice


def _call_input(call: CallData | None) -> leads_pb2.CallInput | None:
    if call is None:
        return None
    return leads_pb2.CallInput(
        ivr_number=call.ivr_number,
        call_duration=call.call_duration,
        call_result=call.call_result,
        call_date=call.call_date,
    )


def api_key_from_authorization(header: str | None) -> str:
    """The token of an `Authorization: Bearer TOKEN` header, or "" for none or another scheme."""
    scheme, _, token = (header or "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


# Headers that carry the source's key as their whole value: LeadExec's documents name
# `access_token`; integrations also send `api-key`. Each is read with `-` or `_`, since proxies
# may drop or rewrite names holding `_`.
KEY_HEADERS = ("access_token", "access-token", "api-key", "api_key")


def api_key_from_headers(headers: Mapping[str, str]) -> str:
    """The source's API key: the `Authorization: Bearer` token, else the first non-empty
    `KEY_HEADERS` value (a `Bearer ` prefix there is dropped too); "" for none."""
    key = api_key_from_authorization(headers.get("authorization"))
    for name in KEY_HEADERS:
        if key:
            break
        value = (headers.get(name) or "").strip()
        key = api_key_from_authorization(value) or value
    return key


# -- choosing the reader ------------------------------------------------------------------------


def declared_format(content_type: str | None) -> Format | None:
    """The format a Content-Type names, or None when it is missing or names none of them."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in ("application/x-www-form-urlencoded", "x-www-form-urlencoded"):
        return "urlencoded"
    if media in ("application/xml", "text/xml") or media.endswith("+xml"):
        return "xml"
    if media in ("application/json", "text/json") or media.endswith("+json"):
        return "json"
    return None


def sniffed_format(body: bytes) -> Format:
    """The format a body looks like, from its first character that is not a space or a BOM."""
    head = body.removeprefix(codecs.BOM_UTF8).lstrip()[:1]
    if head == b"<":
        return "xml"
    if head in (b"{", b"["):
        return "json"
    return "urlencoded"


def _candidates(body: bytes, content_type: str | None) -> list[Format]:
    if not body.strip():
        return ["urlencoded"]
    declared, sniffed = declared_format(content_type), sniffed_format(body)
    if declared is None or declared == "urlencoded":
        return [sniffed]
    if sniffed == declared or (sniffed == "urlencoded" and b"=" not in body):
        return [declared]
    return [declared, sniffed]


@dataclass
class _Reading:
    """What one reader found: reserved request values in precedence order, and the leads."""

    request_values: list[tuple[str, str]] = field(default_factory=list)
    leads: list[Lead] = field(default_factory=list)
    error: str = ""


class _FirstValues:
    """Reserved values by lower-case name: the first non-empty value offered for a name wins."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._values: dict[str, str] = {}
        for name, value in pairs:
            self.offer(name, value)

    def offer(self, name: str, value: str) -> None:
        key = name.lower()
        if value and not self._values.get(key):
            self._values[key] = value

    def __getitem__(self, name: str) -> str:
        return self._values.get(name, "")


class _LeadBuilder:
    """Sorts the names and values found in one lead into properties, request values, fields.
    `lead_names` are the lead properties read: LEAD_NAMES, and CALL_NAMES for a call lead."""

    def __init__(self, lead_names: frozenset[str]) -> None:
        self.lead_names = lead_names
        self.properties = _FirstValues()
        self.request_values: list[tuple[str, str]] = []
        self.fields: list[tuple[str, str]] = []
        self.tags: list[str] = []
        self.offer: list[tuple[str, str]] = []
        self.v2 = lead_names >= V2_NAMES

    def offer_value(self, name: str, value: str) -> str:
        """Take one value of the offer block; the problem with its name, or ""."""
        key = name.lower()
        if key not in OFFER_NAMES:
            return f"offer: {name!r} is not one of: {', '.join(sorted(OFFER_NAMES))}"
        self.offer.append((key, value))
        return ""

    def reserved(self, name: str, value: str) -> bool:
        """Take a value if its name is reserved; say whether it was."""
        key = name.lower()
        if key in self.lead_names:
            self.properties.offer(key, value)
        elif key in REQUEST_NAMES:
            self.request_values.append((key, value))
        return key in RESERVED_NAMES or key in self.lead_names

    def add(self, name: str, value: str) -> None:
        """Take a value: a reserved one, or else a lead field."""
        if not self.reserved(name, value):
            self.fields.append((name, value))

    def build(self) -> Lead:
        call = None
        if self.lead_names >= CALL_NAMES:
            call = CallData(
                ivr_number=self.properties["ivrnumber"],
                call_duration=self.properties["callduration"],
                call_result=self.properties["callresult"],
                call_date=self.properties["calldate"],
            )
        return Lead(
            reference=self.properties["reference"],
            no_sell=_flag(self.properties["nosell"]),
            fields=tuple(self.fields),
            call=call,
            tags=tuple(self.tags),
            offer=tuple(self.offer),
            visit_id=(self.properties["visitid"] or self.properties["visit_id"]).strip(),
        )


def _submission(
    request_format: Format, reading: _Reading, query: list[tuple[str, str]], bearer_key: str
) -> Submission:
    from_query = [(name, value) for name, value in query if name.lower() in REQUEST_NAMES]
    values = _FirstValues([*reading.request_values, *from_query])
    return Submission(
        credentials=Credentials(
            vid=values["vid"],
            lid=values["lid"],
            aid=values["aid"],
            password=values["password"],
            api_key=bearer_key,
        ),
        send_delay_hours=values["senddelay"],
        return_url=values["returnurl"],
        leads=tuple(reading.leads),
        request_format=request_format,
        parse_error=reading.error,
        lead_uid=values["lpleaduid"] or values["leaduid"],
        process_delivery=_flag(values["processdelivery"]),
        order_id=values["orderid"],
    )


def _flag(text: str) -> bool:
    return text.strip().lower() in _TRUE_FLAGS


def _valid_text(text: str) -> str:
    """The text with lone surrogates (JSON `\\ud800`) replaced, since protobuf needs UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


# -- URL-encoded --------------------------------------------------------------------------------


def _read_urlencoded(
    body: bytes, query: list[tuple[str, str]], lead_names: frozenset[str]
) -> _Reading:
    return _form_reading(http_forms.urlencoded_pairs(body), query, lead_names)


def _form_reading(
    pairs: list[tuple[str, str]], query: list[tuple[str, str]], lead_names: frozenset[str]
) -> _Reading:
    """A form's names and values (URL-encoded or multipart), then its query string's."""
    lead = _LeadBuilder(lead_names)
    for name, value in pairs:
        lead.add(name, value)
    posted = {name.lower() for name, _ in lead.fields}
    for name, value in query:
        if not lead.reserved(name, value) and name.lower() not in posted:
            lead.fields.append((name, value))
    return _Reading(request_values=lead.request_values, leads=[lead.build()])


# -- multipart/form-data ------------------------------------------------------------------------


def _read_multipart(
    body: bytes, boundary: bytes, query: list[tuple[str, str]], lead_names: frozenset[str]
) -> _Reading:
    try:
        pairs = http_forms.multipart_pairs(body, boundary)
    except http_forms.FormError as error:
        return _Reading(error=f"multipart/form-data error: {error}")
    return _form_reading(pairs, query, lead_names)


# -- XML ----------------------------------------------------------------------------------------


@dataclass
class _Element:
    name: str  # without its namespace prefix
    attributes: list[tuple[str, str]]
    content: list[str | _Element] = field(default_factory=list)  # text and children, in order

    @property
    def children(self) -> list[_Element]:
        return [item for item in self.content if isinstance(item, _Element)]

    def text(self) -> str:
        """All the text inside the element, its descendants' included, in order, trimmed."""
        parts: list[str] = []
        pending: list[str | _Element] = [self]
        while pending:  # iterative: nesting depth is the poster's choice
            item = pending.pop()
            if isinstance(item, str):
                parts.append(item)
            else:
                pending.extend(reversed(item.content))
        return "".join(parts).strip()


class _XmlRefused(Exception):
    """The document has a DTD or declares an entity."""


def _read_xml(body: bytes, query: list[tuple[str, str]], lead_names: frozenset[str]) -> _Reading:
    try:
        root = _xml_tree(body)
    except _XmlRefused as refused:
        return _Reading(error=str(refused))
    except xml.parsers.expat.ExpatError as error:
        reason = xml.parsers.expat.ErrorString(error.code)
        where = f"line {error.lineno}, column {error.offset + 1}"
        return _Reading(error=f"XML error at {where}: {reason}")
    except (LookupError, ValueError) as error:  # an encoding expat cannot read, or none at all
        return _Reading(error=f"XML error: the declared encoding cannot be read ({error})")
    kind = root.name.lower()
    if kind == "lead":
        return _leads_from_xml([], [root], lead_names)
    if kind != "leads":
        return _Reading(error=f"XML error: the root element must be <Leads>, not <{root.name}>")
    request_values = [(n, v) for n, v in root.attributes if n.lower() in REQUEST_NAMES]
    request_values += [
        (child.name, child.text()) for child in root.children if child.name.lower() in REQUEST_NAMES
    ]
    lead_elements = [child for child in root.children if child.name.lower() == "lead"]
    return _leads_from_xml(request_values, lead_elements, lead_names)


def _leads_from_xml(
    request_values: list[tuple[str, str]],
    lead_elements: Sequence[_Element],
    lead_names: frozenset[str],
) -> _Reading:
    reading = _Reading(request_values=list(request_values))
    for element in lead_elements:
        lead = _LeadBuilder(lead_names)
        for name, value in element.attributes:
            lead.reserved(name, value)
        for child in element.children:
            if lead.v2 and child.name.lower() in V2_NAMES:
                problem = _v2_xml(lead, child)
                if problem:
                    return _Reading(error=f"XML error: {problem}")
                continue
            lead.add(child.name, child.text())
        reading.request_values += lead.request_values
        reading.leads.append(lead.build())
    return reading


def _v2_xml(lead: _LeadBuilder, element: _Element) -> str:
    """Read a V2 lead's `<Tags>` or `<Offer>` element; the problem with it, or ""."""
    if element.name.lower() == "tags":
        lead.tags += [tag.text() for tag in element.children]
        return ""
    for name, value in element.attributes:
        problem = lead.offer_value(name, value)
        if problem:
            return problem
    for child in element.children:
        problem = lead.offer_value(child.name, child.text())
        if problem:
            return problem
    return ""


def _xml_tree(body: bytes) -> _Element:
    """Parse with expat; a body that is not UTF-8 and fails is tried again as Windows-1252,
    and one that declares Latin-1 (or Windows-1252) is read as Windows-1252 at once."""
    if _DECLARES_WINDOWS_1252.match(body):
        return _expat_tree(http_forms.windows_1252(body))
    try:
        return _expat_tree(body)
    except xml.parsers.expat.ExpatError as error:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            try:
                return _expat_tree(http_forms.windows_1252(body))
            except (xml.parsers.expat.ExpatError, _XmlRefused):
                pass
        raise error from None


# An XML declaration naming one of the WHATWG encoding standard's labels of Windows-1252,
# Latin-1's among them.
_DECLARES_WINDOWS_1252 = re.compile(
    rb"""\s*<\?xml\s[^>]*?encoding\s*=\s*["']\s*(?:iso-?8859-1|iso_8859-1(?::1987)?|latin-?1|l1|"""
    rb"""cp819|ibm819|iso-ir-100|csisolatin1|windows-1252|cp1252|x-cp1252)\s*["']""",
    re.IGNORECASE,
)


def _expat_tree(data: bytes | str) -> _Element:
    """Build the element tree; a DTD or entity declaration stops the parse where it starts."""
    parser = xml.parsers.expat.ParserCreate()
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    parser.ordered_attributes = True
    roots: list[_Element] = []
    open_elements: list[_Element] = []

    def start(name: str, attributes: list[str]) -> None:
        if len(open_elements) >= MAX_NESTING:
            refuse(f"elements are nested deeper than {MAX_NESTING} levels")
        pairs = [(_local(attributes[i]), attributes[i + 1]) for i in range(0, len(attributes), 2)]
        element = _Element(_local(name), pairs)
        if open_elements:
            open_elements[-1].content.append(element)
        else:
            roots.append(element)
        open_elements.append(element)

    def end(name: str) -> None:
        open_elements.pop()

    def text(data: str) -> None:
        if open_elements:
            open_elements[-1].content.append(data)

    def refuse(reason: str = _REFUSED_MARKUP) -> NoReturn:
        line, column = parser.CurrentLineNumber, parser.CurrentColumnNumber + 1
        raise _XmlRefused(f"XML error at line {line}, column {column}: {reason}")

    def refuse_markup(*args: object) -> NoReturn:
        refuse()

    parser.StartElementHandler = start  # with ordered_attributes, attributes come as a list
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = refuse_markup
    parser.EntityDeclHandler = refuse_markup
    parser.UnparsedEntityDeclHandler = refuse_markup
    parser.ExternalEntityRefHandler = refuse_markup
    parser.Parse(data, True)
    return roots[0]  # expat refuses a document without exactly one root element


def _local(name: str) -> str:
    return name.rpartition(":")[2]


# -- JSON ---------------------------------------------------------------------------------------


class _Object(list[tuple[str, Any]]):
    """A JSON object as its pairs, in order, repeated keys included."""

    def get(self, name: str) -> Any:
        """The first value whose key is `name`, ignoring case; None when there is none."""
        return next((value for key, value in self if key.lower() == name), None)


class _Number(str):
    """A JSON number, kept as its literal text."""


def _read_json(body: bytes, query: list[tuple[str, str]], lead_names: frozenset[str]) -> _Reading:
    try:
        document = json.loads(
            _json_source(body),
            object_pairs_hook=_Object,
            parse_int=_Number,
            parse_float=_Number,
            parse_constant=_Number,
        )
    except json.JSONDecodeError as error:
        return _Reading(
            error=f"JSON error at line {error.lineno}, column {error.colno}: {error.msg}"
        )
    except RecursionError:
        return _Reading(error=_TOO_DEEP)
    if _nesting(document) > MAX_NESTING:
        return _Reading(error=_TOO_DEEP)
    try:
        return _leads_from_json(document, lead_names)
    except _JsonShapeError as error:
        return _Reading(error=f"JSON error: {error}")
    except RecursionError:
        return _Reading(error=_TOO_DEEP)


_TOO_DEEP = f"JSON error: objects and arrays are nested deeper than {MAX_NESTING} levels"


def _nesting(document: Any) -> int:
    """How many levels of objects and arrays the document has (iterative: the poster chose)."""
    deepest = 0
    pending = [(document, 1)] if isinstance(document, list) else []
    while pending:
        value, depth = pending.pop()
        deepest = max(deepest, depth)
        items = (v for _, v in value) if isinstance(value, _Object) else value
        pending.extend((item, depth + 1) for item in items if isinstance(item, list))
    return deepest


class _JsonShapeError(Exception):
    """The JSON document parses but is not shaped like a post."""


def _json_source(body: bytes) -> str:
    try:
        return body.decode(json.detect_encoding(body))
    except UnicodeDecodeError:
        return http_forms.windows_1252(body)


def _leads_from_json(document: Any, lead_names: frozenset[str]) -> _Reading:
    if isinstance(document, _Object):
        source, leads = document.get("source"), document.get("leads")
        if leads is None and (_structured(document) or (source is None and document)):
            leads = [document]  # one lead, in the document's shape or flat
    elif isinstance(document, list):
        source, leads = None, document
    else:
        raise _JsonShapeError('the body must be an object with "source" and "leads"')
    reading = _Reading()
    for key, value in _members(source, '"source"'):
        if key.lower() in REQUEST_NAMES:
            reading.request_values.append((key, _json_text(value)))
    if leads is not None and (not isinstance(leads, list) or isinstance(leads, _Object)):
        raise _JsonShapeError('"leads" must be an array')
    items: list[Any] = leads or []
    not_values: list[str] = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, _Object):
            raise _JsonShapeError('each lead in "leads" must be an object')
        lead = _LeadBuilder(lead_names)
        where = f" (lead {number})" if len(items) > 1 else ""
        if not _structured(item):  # a flat lead: its names and values as a form's
            for key, value in item:
                if lead.v2 and key.lower() in V2_NAMES:
                    _v2_json(lead, key.lower(), value)
                else:
                    _json_field(lead, key, value, where, not_values)
        for key, value in _members(item.get("properties"), '"properties"'):
            if lead.v2 and key.lower() in V2_NAMES:
                _v2_json(lead, key.lower(), value)
            elif key.lower() in lead_names or key.lower() in REQUEST_NAMES:
                lead.reserved(key, _json_value(key, value))
        for key, value in _members(item.get("fields"), '"fields"'):
            _json_field(lead, key, value, where, not_values)
        reading.request_values += lead.request_values
        reading.leads.append(lead.build())
    if not_values:
        raise _JsonShapeError(f"{NOT_A_VALUE}: {'; '.join(not_values)}")
    return reading


def _structured(lead: _Object) -> bool:
    """Whether a lead object has the document's shape (`fields`, `properties`), not flat."""
    return lead.get("fields") is not None or lead.get("properties") is not None


def _json_field(
    lead: _LeadBuilder, key: str, value: Any, where: str, not_values: list[str]
) -> None:
    """Take a field's value (or a reserved one); one holding an array or an object is named
    in `not_values` instead (`where`: its lead, when the request holds several)."""
    if isinstance(value, list):  # an array, or an object (_Object is a list of pairs)
        kind = "an object" if isinstance(value, _Object) else "an array"
        not_values.append(f"{_valid_text(key)}{where} is {kind}")
        return
    lead.add(_valid_text(key), _json_value(key, value))


def _v2_json(lead: _LeadBuilder, name: str, value: Any) -> None:
    """Read a V2 lead's `tags` (an array of strings, or one) or `offer` (an object)."""
    if name == "tags":
        items = value if isinstance(value, list) and not isinstance(value, _Object) else [value]
        for item in items:
            if isinstance(item, list):
                raise _JsonShapeError('"tags" must be an array of strings')
            if item is not None:
                lead.tags.append(_json_text(item))
        return
    for key, member in _members(value, '"offer"'):
        values = (
            member if isinstance(member, list) and not isinstance(member, _Object) else [member]
        )
        for one in values:
            if isinstance(one, list):
                raise _JsonShapeError(f"offer: {key!r} must be a value or an array of values")
            problem = lead.offer_value(
                key, _json_flag(one) if key.lower() == "consent" else _json_text(one)
            )
            if problem:
                raise _JsonShapeError(problem)


NOT_A_VALUE = "a field's value must be text, a number, true, false or null"


def _members(value: Any, what: str) -> _Object:
    if value is None:
        return _Object()
    if not isinstance(value, _Object):
        raise _JsonShapeError(f"{what} must be an object")
    return value


def _json_value(key: str, value: Any) -> str:
    return _json_flag(value) if key.lower() == "nosell" else _json_text(value)


def _json_text(value: Any) -> str:
    """A JSON value as a field value."""
    if isinstance(value, _Number):
        return number_text(value)
    if isinstance(value, str):
        return _valid_text(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _valid_text(_compact_json(value))


def _json_flag(value: Any) -> str:
    """A JSON value as a flag's text: JSON true and non-zero numbers are true."""
    if value is True:
        return "true"
    if isinstance(value, _Number):
        try:
            return "true" if Decimal(value) != 0 else "false"
        except InvalidOperation:
            return "false"
    return _json_text(value) if isinstance(value, str) else "false"


def _compact_json(value: Any) -> str:
    if isinstance(value, _Object):
        members = (f"{json.dumps(key, ensure_ascii=False)}:{_compact_json(v)}" for key, v in value)
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_compact_json(item) for item in value) + "]"
    if isinstance(value, _Number):
        return str.__str__(value)
    return json.dumps(value, ensure_ascii=False)


def number_text(literal: str) -> str:
    """A JSON number in its shortest exact form: 25.0 -> 25, 12.50 -> 12.5, 1e3 -> 1000.

    Integers, and numbers too large or small to write out (beyond 10**±40), stay as posted.
    """
    if not any(mark in literal for mark in ".eE"):
        return str.__str__(literal)
    try:
        number = Decimal(literal)
    except InvalidOperation:
        return str.__str__(literal)
    if not number.is_finite() or abs(number.adjusted()) > 40:
        return str.__str__(literal)
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


_READERS: dict[Format, Callable[[bytes, list[tuple[str, str]], frozenset[str]], _Reading]] = {
    "urlencoded": _read_urlencoded,
    "xml": _read_xml,
    "json": _read_json,
}
