"""Hostile requests to the legacy receiver, as hypothesis strategies: bodies in every format
and encoding (odd XML declarations, byte-order marks, UTF-16/32, Latin-1), deep nesting, many
leads and fields, content types, query strings, headers and every receiver URL.

The unit tests of forms.py, the HTTP tests and bench/fuzz_receiver.py draw from the same
strategies, so a request the bench finds can be replayed as a test.
"""

from __future__ import annotations

import codecs
import functools
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_from_bytes
from xml.sax.saxutils import escape, quoteattr

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from gateways.receiver.forms import CALL_NAMES, RESERVED_NAMES

# LEADROUTER_FUZZ_SCALE=20 runs every property twenty times as long as the suite does.
SCALE = int(os.environ.get("LEADROUTER_FUZZ_SCALE", "1"))


def fuzzing(examples: int) -> settings:
    """Settings for a property: `examples` in the suite (times SCALE), no deadline (the machine
    is shared: a slow example is not a failure), the same examples on every run unless scaled.
    The suite reports a failing request as generated; a scaled run shrinks it to the minimal
    one (shrinking a request that fails through the server takes minutes)."""
    return settings(
        max_examples=examples * SCALE,
        deadline=None,
        derandomize=SCALE == 1,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
        phases=list(Phase) if SCALE > 1 else [p for p in Phase if p is not Phase.shrink],
    )


# Fields the fuzzing config adds to the example's lead type: one of every other data type.
EXTRA_FIELDS = (
    ("Budget", "Money"),
    ("Score", "Decimal"),
    ("Ratio", "Float"),
    ("BirthDate", "DateTime"),
    ("Household", "Bigint"),
    ("Notes", "Varchar"),
)
FIELD_NAMES = (
    "FirstName",
    "LastName",
    "Email",
    "Phone",
    "Zip",
    "State",
    "City",
    "Age",
    "CreditRating",
    "ContactConsent",
    *(name for name, _ in EXTRA_FIELDS),
)
# A lead the example campaign (examples/acme.json) accepts; fuzzing starts from it and spoils it.
VALID_FIELDS = {
    "FirstName": "Ann",
    "LastName": "Lee",
    "Email": "ann@example.com",
    "Phone": "702-555-0100",
    "Zip": "89101",
    "Age": "30",
}
ID_NAMES = ("vid", "lid", "aid", "lpleaduid", "leaduid")
# Texts that look like numbers to one function and not to another: str.isdigit() is true for
# superscripts and other scripts' digits, int() takes only decimal digits of any script.
ODD_NUMBERS = (
    "²",
    "¹²³",
    "١٢٣",
    "٨٩١٠١",  # five digits: a ZIP code
    "8910²",
    "۱۲",
    "१२३",
    "߁",
    "\U0001d7d9\U0001d7da",  # double-struck 1 2
    "①",
    "\uff11\uff12\uff13",  # full-width 1 2 3
    "Ⅻ",
    "½",
    "0",
    "00",
    "-1",
    "+1",
    " 1",
    "1 ",
    "1e3",
    "1.0",
    "0x1F",
    "1_000",
    "9" * 19,
    "9" * 40,
    "-" + "9" * 19,
    "NaN",
    "Infinity",
    "",
    " ",
    "\x00",
    "1\x00",
)
ODD_TEXTS = (
    "",
    " ",
    "\x00",
    "\t\r\n",
    "\ufeff",
    "\u202e",
    "ⅱ",
    "<b>&amp;</b>",
    "'; DROP TABLE leads; --",
    "%00",
    "%ZZ",
    "true",
    "null",
    "x" * 300,
    "é" * 200,
    "😀",
    "javascript:alert(1)",
    "http://[::1",
    "http://example.com/\r\nX: y",
    "12/31/9999 25:61 PM",
    "12/31/9999 11:59 PM",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "2020-02-30",
    "1e400",
    "1e99999",
    "-1e-99999",
    "$1,234.50",
    "9" * 30,
)
CONTENT_TYPES = (
    None,
    "application/x-www-form-urlencoded",
    "x-www-form-urlencoded",
    "application/xml",
    "text/xml",
    "application/soap+xml",
    "application/json",
    "text/json",
    "application/vnd.api+json",
    "application/json; charset=utf-16",
    "application/xml; charset=latin-1",
    "application/x-www-form-urlencoded; charset=iso-8859-1",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "",
    ";",
    "application/json;;;charset=",
    "APPLICATION/JSON",
    "*/*",
    "+xml",
    "+json",
)
# (name in the declaration, codec the document is written in); some lie on purpose
XML_ENCODINGS = (
    (None, "utf-8"),
    ("utf-8", "utf-8"),
    ("UTF-8", "utf-8-sig"),
    ("UTF-16", "utf-16"),
    ("utf-16le", "utf-16-le"),
    ("UTF-16BE", "utf-16-be"),
    ("UTF-32", "utf-32"),
    ("ISO-8859-1", "latin-1"),
    ("latin1", "latin-1"),
    ("windows-1252", "cp1252"),
    ("US-ASCII", "ascii"),
    ("utf-7", "utf-7"),
    ("shift_jis", "shift_jis"),
    ("cp037", "cp037"),
    ("ebcdic-cp-us", "cp037"),
    ("koi8-r", "koi8-r"),
    ("x-mac-roman", "mac-roman"),
    ("gb18030", "gb18030"),
    ("n", "utf-8"),
    ("", "utf-8"),
    ("no-such-encoding", "latin-1"),
    ("utf-8", "latin-1"),
    ("utf-8", "utf-16"),
    ("ISO-8859-1", "utf-32"),
    ("utf-16", "utf-8"),
)
JSON_CODECS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1")
# Raw JSON values that a Python json.dumps never writes
JSON_LITERALS = (
    "1e400",
    "-1e400",
    "-0",
    "25.0",
    "12.50",
    "1E-999",
    "123456789012345678901234567890",
    "0.1e1",
    "NaN",
    "Infinity",
    "-Infinity",
    "true",
    "false",
    "null",
    "[]",
    "{}",
    '"\\ud800"',
    '"\\udfff\\ud800"',
    '"\\u0000"',
    '"\\uFEFF"',
    "[1,[2,[3]]]",
    '{"a":{"b":[null]}}',
)
INSERT_KINDS = (
    "general",
    "returnsends",
    "transfer",
    "manualredirect",
    "autoredirect",
    "calldata",
    "ping",
)
SEGMENTS = ("", "/json", "/xml", "/JSON", "/Xml", "/html", "/", "/json/async", "/xml/async")
METHODS = ("POST", "POST", "POST", "GET", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH")
INSERT_PATHS = tuple(
    f"/processor/insert/{kind}{segment}"
    for kind in INSERT_KINDS
    for segment in ("", "/json", "/xml")
)
# the V2 receiver's URLs (JSON or XML bodies only, the source's API key required)
V2_PATHS = (
    *(
        f"/v2/insert/{kind}{segment}"
        for kind in ("general", "ping")
        for segment in ("", "/json", "/xml")
    ),
    *(
        f"/v2/insert/{kind}{segment}"
        for kind in ("general", "ping")
        for segment in ("/async", "/json/async", "/xml/async")
    ),
)
ASYNC_PATHS = tuple(
    f"/processor/insert/{kind}{segment}"
    for kind in INSERT_KINDS
    for segment in ("/async", "/json/async", "/xml/async")
)


def fuzzing_config(document: dict[str, Any]) -> dict[str, Any]:
    """The example config (examples/acme.json) for fuzzing: its lead type has a field of every
    data type, and its campaign's day cap is lifted (every request is followed by a lead)."""
    changed: dict[str, Any] = json.loads(json.dumps(document))
    changed["lead_types"][0]["fields"] += [
        {"name": name, "type": data_type} for name, data_type in EXTRA_FIELDS
    ]
    changed["sources"][0]["campaigns"][0]["day_max"] = -1
    return changed


@dataclass(frozen=True)
class Known:
    """Identifiers that exist on the server under test, so that fuzzed posts get past
    identification now and then and reach the later steps."""

    vid: str = "1"
    lid: str = "1"
    aid: str = "1"
    password: str = "acme-secret"
    source_key: str = ""
    lead_uids: tuple[str, ...] = ()
    post_ids: tuple[str, ...] = ()

    def ids(self) -> dict[str, str]:
        return {"vid": self.vid, "lid": self.lid, "aid": self.aid, "password": self.password}


@dataclass(frozen=True)
class Request:
    """One HTTP request: `target` is the path and query as sent on the request line."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    chunked: bool = False  # the body sent with Transfer-Encoding: chunked (raw clients only)

    @property
    def path(self) -> str:
        return self.target.partition("#")[0].partition("?")[0]

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)


# -- values --------------------------------------------------------------------------------------


@functools.cache
def numbers(known: str = "") -> st.SearchStrategy[str]:
    """An id as a source might post it: the real one, a number, or something number-like."""
    choices: list[st.SearchStrategy[str]] = [
        st.sampled_from(ODD_NUMBERS),
        st.integers(-(2**70), 2**70).map(str),
        st.text(max_size=6),
    ]
    if known:
        choices.append(st.just(known))
        choices.append(st.sampled_from(ODD_NUMBERS).map(lambda odd: known + odd))
    return st.one_of(*choices)


texts = st.one_of(
    st.sampled_from(ODD_TEXTS),
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="latin-1"), max_size=30),
    st.sampled_from(ODD_NUMBERS),
)


_RESERVED = sorted(RESERVED_NAMES | CALL_NAMES)
names = st.one_of(
    st.sampled_from(FIELD_NAMES),
    st.sampled_from(_RESERVED),
    st.sampled_from(_RESERVED).map(str.upper),
    st.sampled_from(["leadUID", "processDelivery", "noSell", "sendDelay", "returnURL"]),
    st.text(min_size=1, max_size=12),
)
"""A name a post may give a value: a field's, a reserved one, or any."""
extra_pairs = st.lists(st.tuples(names, st.one_of(texts, numbers())), max_size=6)


@st.composite
def pairs_for(draw: st.DrawFn, known: Known, *, leads: bool = True) -> list[tuple[str, str]]:
    """Name-value pairs: credentials (real or odd) and lead fields (valid or spoiled)."""
    pairs: list[tuple[str, str]] = []
    for name, value in known.ids().items():
        choice = draw(st.integers(0, 3))  # absent, spoiled, or as known
        if choice == 1:
            pairs.append((name, draw(texts if name == "password" else numbers(value))))
        elif choice > 1:
            pairs.append((name, value))
    if known.lead_uids and draw(st.booleans()):
        uid = draw(st.one_of(st.sampled_from(known.lead_uids), numbers()))
        pairs.append((draw(st.sampled_from(["lpleaduid", "leadUID"])), uid))
    if leads:
        fields = dict(VALID_FIELDS)
        for name in draw(st.lists(st.sampled_from(FIELD_NAMES), max_size=3)):
            fields[name] = draw(texts)
        dropped = draw(st.sets(st.sampled_from(FIELD_NAMES), max_size=2))
        pairs += [(n, v) for n, v in fields.items() if n not in dropped]
    pairs += draw(extra_pairs)
    return pairs


# -- bodies --------------------------------------------------------------------------------------


@st.composite
def form_bodies(draw: st.DrawFn, known: Known) -> bytes:
    codec = draw(st.sampled_from(["utf-8", "latin-1", "utf-16"]))
    parts = []
    for name, value in draw(pairs_for(known)):
        encoded = [
            quote_from_bytes(text.encode(codec, "replace"), safe=draw(st.sampled_from(["", "+ "])))
            for text in (name, value)
        ]
        parts.append("=".join(encoded) if draw(st.integers(0, 9)) else encoded[0])
    junk = draw(st.lists(st.sampled_from(["%", "%G0", "%C3%28", "&", "=", "==", "%FF%FE"])))
    return "&".join(parts + junk).encode("latin-1")


def _xml_name(name: str) -> str:
    cleaned = re.sub(r"[^\w.-]", "", name)
    return cleaned if cleaned[:1].isalpha() else f"F{cleaned}"


@st.composite
def xml_bodies(draw: st.DrawFn, known: Known) -> bytes:
    declared, codec = draw(st.sampled_from(XML_ENCODINGS))
    version = draw(st.sampled_from(["1.0", "1.0", "1.1", "", "2"]))
    declaration = ""
    if declared is not None or draw(st.booleans()):
        encoding = f' encoding="{declared}"' if declared is not None else ""
        declaration = f'<?xml version="{version}"{encoding}?>'
    credentials = draw(pairs_for(known, leads=False))
    as_attributes = draw(st.booleans())
    attrs = (
        "".join(f" {_xml_name(n)}={quoteattr(v)}" for n, v in credentials) if as_attributes else ""
    )
    children = (
        ""
        if as_attributes
        else "".join(f"<{_xml_name(n)}>{escape(v)}</{_xml_name(n)}>" for n, v in credentials)
    )
    leads = []
    for _ in range(draw(st.integers(0, 4))):
        lead_pairs = draw(pairs_for(known))
        inner = "".join(f"<{_xml_name(n)}>{escape(v)}</{_xml_name(n)}>" for n, v in lead_pairs)
        lead_attrs = draw(st.sampled_from(["", ' reference="r"', ' noSell="1"', " vid='²'"]))
        leads.append(f"<Lead{lead_attrs}>{inner}</Lead>")
    root = draw(st.sampled_from(["Leads", "Leads", "leads", "Lead", "x:Leads", "Other"]))
    xmlns = ' xmlns:x="urn:x"' if ":" in root else ""
    text = f"{declaration}<{root}{xmlns}{attrs}>{children}{''.join(leads)}</{root}>"
    text = _sanitize(text, draw(st.booleans()))
    try:
        return text.encode(codec, "xmlcharrefreplace")
    except UnicodeEncodeError:  # utf-7 and the like cannot use references
        return text.encode(codec, "replace")


def _sanitize(text: str, keep: bool) -> str:
    """XML 1.0 refuses control characters; keep them half the time, to test the refusal."""
    return text if keep else re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", text)


@st.composite
def json_values(draw: st.DrawFn) -> str:
    """A JSON value's text: a string, a literal no json.dumps writes, or a nested value."""
    kind = draw(st.integers(0, 9))
    if kind < 6:
        return json.dumps(draw(st.one_of(texts, numbers())), ensure_ascii=draw(st.booleans()))
    if kind < 9:
        return draw(st.sampled_from(JSON_LITERALS))
    depth = draw(st.integers(1, 60))
    return "[" * depth + draw(st.sampled_from(JSON_LITERALS)) + "]" * depth


@st.composite
def json_bodies(draw: st.DrawFn, known: Known) -> bytes:
    def members(pairs: Sequence[tuple[str, str]]) -> str:
        items = []
        for name, value in pairs:
            text = json.dumps(value) if draw(st.integers(0, 3)) else draw(json_values())
            items.append(f"{json.dumps(name)}:{text}")
        return "{" + ",".join(items) + "}"

    source = members(draw(pairs_for(known, leads=False)))
    leads = []
    for _ in range(draw(st.integers(0, 3))):
        properties = members(
            draw(st.lists(st.tuples(names, st.one_of(texts, numbers())), max_size=3))
        )
        leads.append(f'{{"properties":{properties},"fields":{members(draw(pairs_for(known)))}}}')
    shape = draw(st.integers(0, 6))
    if shape == 0:
        text = "[" + ",".join(leads) + "]"
    elif shape == 1 and leads:
        text = leads[0]
    elif shape == 2:
        text = draw(json_values())
    elif shape == 3:  # a flat lead: credentials and fields side by side, as a form's
        text = members(draw(pairs_for(known)))
    else:
        text = f'{{"source":{source},"leads":[{",".join(leads)}]}}'
    codec = draw(st.sampled_from(JSON_CODECS))
    return text.encode(codec, "replace")


@st.composite
def nested_bodies(draw: st.DrawFn) -> bytes:
    """Deep nesting of every kind the readers meet."""
    depth = draw(st.sampled_from([10, 100, 999, 1000, 1001, 5000, 50_000]))
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return b"[" * depth + b"]" * depth
    if kind == 1:
        return b'{"leads":[{"fields":{"a":' + b"[" * depth + b"1" + b"]" * depth + b"}}]}"
    if kind == 2:
        return (
            b"<Leads><Lead><A>" + b"<b>" * depth + b"x" + b"</b>" * depth + b"</A></Lead></Leads>"
        )
    if kind == 3:
        return b"<Leads>" + b"<Lead>" * depth + b"</Lead>" * depth + b"</Leads>"
    return b'{"a":' * depth + b"1" + b"}" * depth


@st.composite
def many_bodies(draw: st.DrawFn, known: Known, max_leads: int = 300) -> bytes:
    """Many leads or many fields, within the few hundred the receiver is meant to take."""
    leads = draw(st.integers(1, max_leads))
    fields = draw(st.integers(0, min(300, 6000 // leads)))  # fields in all: a few thousand
    extra = {f"F{i}": "v" for i in range(fields)}
    lead = {**VALID_FIELDS, **extra}
    if draw(st.booleans()):
        body = {"source": known.ids(), "leads": [{"fields": lead}] * leads}
        return json.dumps(body).encode()
    attrs = " ".join(f'{k}="{v}"' for k, v in known.ids().items())
    one = "<Lead>" + "".join(f"<{k}>{v}</{k}>" for k, v in lead.items()) + "</Lead>"
    return f"<Leads {attrs}>{one * leads}</Leads>".encode()


@st.composite
def multipart_bodies(draw: st.DrawFn, known: Known) -> bytes:
    """A multipart/form-data form on the boundary `x` (CONTENT_TYPES declares it), its parts
    now and then a file, or without a name, or cut short of the closing boundary."""
    codec = draw(st.sampled_from(["utf-8", "cp1252", "latin-1"]))
    parts = []
    for name, value in draw(pairs_for(known)):
        disposition = f'form-data; name="{name}"'.encode(codec, "replace")
        kind = draw(st.integers(0, 9))
        if kind == 0:
            disposition += b'; filename="lead.txt"'
        elif kind == 1:
            disposition = b"form-data"
        parts.append(
            b"--x\r\nContent-Disposition: "
            + disposition
            + b"\r\n\r\n"
            + value.encode(codec, "replace")
            + b"\r\n"
        )
    ending = draw(st.sampled_from([b"--x--\r\n", b"--x--", b"", b"--x\r\n"]))
    return b"".join(parts) + ending


@st.composite
def spoiled(draw: st.DrawFn, body: bytes) -> bytes:
    """`body` with a few bytes replaced, inserted or cut."""
    data = bytearray(body)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.integers(0, 2))
        if action == 0:
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif action == 1:
            del data[at : at + draw(st.integers(1, 8))]
        else:
            data[at : at + 1] = draw(
                st.sampled_from([b"\x00", b"\xff", b"\xfe\xff", b"<", b"{", b'"', b"&#0;", b"&x;"])
            )
    return bytes(data)


def bodies(known: Known) -> st.SearchStrategy[bytes]:
    structured = st.one_of(
        form_bodies(known), xml_bodies(known), json_bodies(known), multipart_bodies(known)
    )
    boms = st.sampled_from([b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF32_BE])
    return st.one_of(
        structured,
        structured.flatmap(spoiled),
        st.tuples(boms, structured).map(b"".join),
        st.binary(max_size=300),
        st.text(max_size=100).map(str.encode),
        nested_bodies(),
        st.just(b""),
        st.sampled_from(
            [
                b'<?xml version="" encoding="n"?><L',
                b'<?xml version="1.0" encoding="n"?><Leads/>',
                b'<!DOCTYPE x [<!ENTITY a "b">]><Leads>&a;</Leads>',
                b"<Leads>&#0;</Leads>",
                b"<Leads><Lead><A>&#xD800;</A></Lead></Leads>",
                b'{"leads":[{"fields":{"\\ud800":"\\udc00"}}]}',
                b"\xef\xbb\xbf",
                b"\xff\xfe\x00\x00",
                b"vid=%C2%B2&lid=1",
            ]
        ),
    )


def content_types() -> st.SearchStrategy[str | None]:
    return st.one_of(
        st.sampled_from(CONTENT_TYPES),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    )


# -- requests -----------------------------------------------------------------------------------


@st.composite
def paths(draw: st.DrawFn, known: Known) -> str:
    post_id = draw(
        st.one_of(
            st.sampled_from(known.post_ids or ("0",)),
            st.uuids().map(str),
            numbers(),
            st.text(min_size=1, max_size=40),
        )
    )
    path = draw(
        st.one_of(
            st.builds(
                lambda kind, segment: f"/processor/insert/{kind}{segment}",
                st.sampled_from(INSERT_KINDS),
                st.sampled_from(SEGMENTS),
            ),
            st.builds(
                lambda kind, segment: f"/v2/insert/{kind}{segment}",
                st.sampled_from(["general", "ping"]),
                st.sampled_from(SEGMENTS),
            ),
            st.sampled_from(SEGMENTS).map(lambda segment: f"/processor/update{segment}"),
            st.sampled_from(SEGMENTS).map(lambda segment: f"/processor/duplicate/check{segment}"),
            st.sampled_from(["status", "queuestatus"]).map(
                lambda kind: f"/information/{kind}/{quote(post_id, safe='')}"
            ),
            st.just("/processor/instructions"),
            st.text(max_size=20).map(lambda text: "/" + quote(text)),
        )
    )
    if draw(st.integers(0, 4)) == 0:  # mixed case
        flips = draw(st.lists(st.booleans(), min_size=len(path), max_size=len(path)))
        path = "".join(c.upper() if flip else c for c, flip in zip(path, flips, strict=True))
    return path


@st.composite
def queries(draw: st.DrawFn, known: Known) -> str:
    pairs = draw(pairs_for(known, leads=draw(st.booleans())))
    parts = [f"{_quoted(n)}={_quoted(v)}" for n, v in pairs]
    if known.source_key and draw(st.booleans()):
        parts.append(f"key={quote(known.source_key)}")
    parts += draw(st.lists(st.sampled_from(["%", "%G0", "%C2", "&&", "=", "a=%FF", "vid=%C2%B2"])))
    return "&".join(parts)


def _quoted(text: str) -> str:
    return quote(text.encode("utf-8", "replace"), safe="")


@st.composite
def headers(draw: st.DrawFn, known: Known, body: bytes) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    content_type = draw(content_types())
    if content_type is not None:
        found.append(("content-type", content_type))
    token = draw(st.one_of(st.just(known.source_key), texts.map(lambda t: quote(t, safe=""))))
    authorization = draw(
        st.one_of(
            st.none(),
            st.just(f"Bearer {token}"),
            st.sampled_from(["Bearer", "Bearer ", "bearer  x  y", "Basic dTpw", "Bearer \xff\xfe"]),
        )
    )
    if authorization is not None:
        found.append(("authorization", authorization))
    accept = draw(
        st.sampled_from([None, "application/json", "application/xml", "text/html", "*/*", "xml"])
    )
    if accept is not None:
        found.append(("accept", accept))
    printable = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
    found += draw(
        st.lists(
            st.tuples(
                st.sampled_from(
                    [
                        "x-forwarded-for",
                        "x-real-ip",
                        "cookie",
                        "user-agent",
                        "content-encoding",
                        "x",
                    ]
                ),
                printable,
            ),
            max_size=3,
        )
    )
    return tuple(found)


@st.composite
def requests(draw: st.DrawFn, known: Known) -> Request:
    """Any request to any receiver URL."""
    path = draw(paths(known))
    method = draw(st.sampled_from(METHODS))
    if path.lower().startswith("/information") or path.lower().startswith("/processor/instr"):
        method = draw(st.sampled_from(["GET", "GET", "GET", "POST", "HEAD"]))
    query = draw(st.one_of(st.just(""), queries(known)))
    body = draw(bodies(known)) if method not in ("GET", "HEAD") else b""
    target = f"{path}?{query}" if query else path
    return Request(method, target, draw(headers(known, body)), body)


@st.composite
def posts(draw: st.DrawFn, known: Known) -> Request:
    """A post to an insert (or its /async variant), update or duplicate-check URL with real
    credentials now and then."""
    path = draw(
        st.one_of(
            st.sampled_from(INSERT_PATHS),
            st.sampled_from(ASYNC_PATHS),
            st.sampled_from(V2_PATHS),
            st.sampled_from(
                ["/processor/update", "/processor/update/xml", "/processor/duplicate/check"]
            ),
        )
    )
    body = draw(st.one_of(form_bodies(known), xml_bodies(known), json_bodies(known)))
    query = draw(st.one_of(st.just(""), queries(known)))
    target = f"{path}?{query}" if query else path
    return Request("POST", target, draw(headers(known, body)), body)


@st.composite
def id_posts(draw: st.DrawFn, known: Known) -> Request:
    """A post whose ids are spoiled with number-like text, in the query, form, JSON or XML."""
    path = draw(
        st.sampled_from([*INSERT_PATHS, "/processor/update/json", "/processor/duplicate/check"])
    )
    ids = dict(known.ids())
    if known.lead_uids:
        ids["lpleaduid"] = known.lead_uids[0]
    name = draw(st.sampled_from(sorted(set(ids) - {"password"})))
    ids[name] = draw(st.sampled_from(["", ids[name]])) + draw(st.sampled_from(ODD_NUMBERS))
    where = draw(st.sampled_from(["query", "form", "json", "xml"]))
    content_type = {
        "form": "application/x-www-form-urlencoded",
        "json": "application/json",
        "xml": "application/xml",
        "query": "application/x-www-form-urlencoded",
    }[where]
    fields = VALID_FIELDS
    if where == "query":
        target = f"{path}?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in ids.items())
        body = "&".join(f"{k}={quote(v, safe='')}" for k, v in fields.items()).encode()
    elif where == "form":
        target = path
        body = "&".join(f"{k}={quote(v, safe='')}" for k, v in {**ids, **fields}.items()).encode()
    elif where == "json":
        target = path
        lead: dict[str, object] = {"fields": fields}
        if "lpleaduid" in ids:
            lead["properties"] = {"leadUID": ids.pop("lpleaduid")}
        body = json.dumps(
            {"source": ids, "leads": [lead]}, ensure_ascii=draw(st.booleans())
        ).encode()
    else:
        target = path
        attrs = " ".join(f"{k}={quoteattr(v)}" for k, v in ids.items())
        inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items())
        body = f"<Leads {attrs}><Lead>{inner}</Lead></Leads>".encode()
    return Request("POST", target, (("content-type", content_type),), body)


def valid_form(known: Known, **changes: str) -> bytes:
    """A URL-encoded post of a lead the example campaign accepts (given fresh Email and Phone)."""
    values: Mapping[str, str] = {**known.ids(), **VALID_FIELDS, **changes}
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in values.items()).encode()
