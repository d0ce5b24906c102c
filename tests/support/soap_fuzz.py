"""Hostile requests to service.asmx, as hypothesis strategies: SOAP 1.1 and 1.2 envelopes of
every method with odd parameter values, nested and spoiled XML, DTDs, wrong content types and
SOAPActions, and the HTTP GET and POST forms with odd parameters."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote
from xml.sax.saxutils import escape

from hypothesis import strategies as st

from tests.support import fuzz

TNS = "http://tempuri.org/"
ENVELOPES = {
    "1.1": ("http://schemas.xmlsoap.org/soap/envelope/", "text/xml; charset=utf-8"),
    "1.2": ("http://www.w3.org/2003/05/soap-envelope", "application/soap+xml; charset=utf-8"),
}


@dataclass(frozen=True)
class Request:
    method: str  # HTTP
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


def _xml_text(value: str) -> str:
    return escape("".join(c for c in value if c in "\t\n\r" or c >= " "))


@st.composite
def values(draw: st.DrawFn, key: str, ids: tuple[str, ...]) -> str:
    return draw(
        st.one_of(
            fuzz.texts,
            fuzz.numbers(),
            st.sampled_from(ids) if ids else fuzz.numbers(),
            st.just(key),
            st.sampled_from(["true", "false", "-1", "0", "2026-12-04T10:00:00", "1e400", "NaN"]),
        )
    )


@st.composite
def envelopes(
    draw: st.DrawFn, methods: dict[str, tuple[str, ...]], key: str, ids: tuple[str, ...]
) -> Request:
    name = draw(st.sampled_from(sorted(methods)))
    version = draw(st.sampled_from(sorted(ENVELOPES)))
    namespace, content_type = ENVELOPES[version]
    params = []
    for param in methods[name]:
        choice = draw(st.integers(0, 4))
        if choice == 0:
            continue  # left out
        value = key if param.lower() == "key" and choice < 3 else draw(values(key, ids))
        params.append(f"<{param}>{_xml_text(value)}</{param}>")
    if draw(st.booleans()):  # something the method does not have
        params.append(f"<Extra>{_xml_text(draw(fuzz.texts))}</Extra>")
    body = (
        f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{namespace}">'
        f'<soap:Body><{name} xmlns="{TNS}">{"".join(params)}</{name}></soap:Body>'
        "</soap:Envelope>"
    ).encode()
    if draw(st.integers(0, 4)) == 0:
        body = draw(fuzz.spoiled(body))
    headers = [
        (
            "content-type",
            draw(st.one_of(st.just(content_type), fuzz.content_types().map(lambda t: t or ""))),
        )
    ]
    if version == "1.1":
        headers.append(
            ("soapaction", draw(st.sampled_from([f'"{TNS}{name}"', "", '"nope"', name])))
        )
    return Request("POST", "/service.asmx", tuple(headers), body)


NASTY = [
    b"",
    b"<",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>',
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>',
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    b'<NoSuchMethod xmlns="http://tempuri.org/"/></soap:Body></soap:Envelope>',
    b"<a>" * 2000 + b"</a>" * 2000,
    b"\xff\xfe<\x00a\x00>\x00",
    b"<x>&#0;</x>",
]


@st.composite
def raw_posts(draw: st.DrawFn) -> Request:
    body = draw(st.one_of(st.sampled_from(NASTY), st.binary(max_size=200), fuzz.nested_bodies()))
    content_type = draw(st.sampled_from(["text/xml", "application/soap+xml", ""]))
    return Request("POST", "/service.asmx", (("content-type", content_type),), body)


@st.composite
def forms(
    draw: st.DrawFn, methods: dict[str, tuple[str, ...]], key: str, ids: tuple[str, ...]
) -> Request:
    name = draw(st.one_of(st.sampled_from(sorted(methods)), st.text(max_size=12)))
    params = methods.get(name, ())
    pairs = [
        (p, key if p.lower() == "key" else draw(values(key, ids)))
        for p in params
        if draw(st.booleans())
    ]
    pairs += draw(st.lists(st.tuples(fuzz.names, fuzz.texts), max_size=3))
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    path = f"/service.asmx/{quote(name, safe='')}"
    if draw(st.booleans()):
        return Request("GET", f"{path}?{query}", (), b"")
    headers = (("content-type", "application/x-www-form-urlencoded"),)
    return Request("POST", path, headers, query.encode())


def requests(
    methods: dict[str, tuple[str, ...]], key: str, ids: tuple[str, ...]
) -> st.SearchStrategy[Request]:
    return st.one_of(envelopes(methods, key, ids), raw_posts(), forms(methods, key, ids))
