"""Posting instructions as an HTML page, from the lead service's instructions document.

Every value is escaped: field descriptions and names come from the account's configuration.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.struct_pb2 import Struct

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5}table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;"
    "padding:.3rem .5rem;text-align:left;vertical-align:top}pre{background:#f5f5f5;"
    "padding:.75rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}code{font-size:.9em}"
)


def document(message: Struct) -> dict[str, Any]:
    """The lead service's instructions as plain JSON values. A Struct holds every number as a
    double: whole ones come back as integers (`"vid": 7`, which a source can post as it is)."""
    found: dict[str, Any] = _whole(MessageToDict(message))
    return found


def _whole(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole(v) for v in value]
    return value


def render(doc: dict[str, Any]) -> str:
    ids = doc["identifiers"]
    rows = "".join(
        "<tr>"
        f"<td><code>{escape(f['name'])}</code></td><td>{escape(f['type'])}</td>"
        f"<td>{'yes' if f['required'] else 'no'}</td>"
        f"<td>{_code(f['validation'])}</td>"
        f"<td>{escape(', '.join(f['allowed_values']))}</td>"
        f"<td>{escape(f['description'])}</td><td><code>{escape(f['example'])}</code></td>"
        "</tr>"
        for f in doc["fields"]
    )
    rules = "".join(
        f"<li><code>{escape(r['field'])}</code> {escape(r['operator'])} "
        f"<code>{escape(r['value'])}</code></li>"
        for r in doc["rules"]
    )
    endpoints = "".join(
        f"<h3>{escape(e['name'].replace('_', ' '))}</h3>"
        f"<p>{' or '.join(f'<code>{escape(m)}</code>' for m in e['methods'])} "
        f"<code>{escape(e['url'])}</code>: {_inline(e['does'])}.</p>"
        f"<pre>{escape(e['example'])}</pre>"
        for e in doc["endpoints"]
    )
    notes = "".join(f"<p>{_inline(note)}</p>" for note in doc["notes"])
    examples = "".join(
        f"<h3>{escape(example['title'])}</h3><pre>{escape(example['command'])}</pre>"
        for example in doc["examples"]
    )
    placeholders = ", ".join(
        f"<code>{escape(name)}</code> is {escape(meaning)}"
        for name, meaning in doc["placeholders"].items()
    )
    rules_section = f"<h2>Acceptance rules</h2><ul>{rules}</ul>" if rules else ""
    offers_section = _offers(doc.get("offers"))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(doc['title'])}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(doc['title'])}</h1>"
        f"<p>Lead source: {escape(doc['source'])}. Lead type: {escape(doc['lead_type'])}. "
        f"Price: {escape(doc['price'])}.</p>"
        "<h2>Identifiers</h2><ul>"
        f"<li><code>vid</code> (lead source): {int(ids['vid'])}</li>"
        f"<li><code>lid</code> (lead type): {int(ids['lid'])}</li>"
        f"<li><code>aid</code> (campaign): {int(ids['aid'])}</li></ul>"
        f"<h2>Authentication</h2><p>{_inline(_sentence(doc['authentication']))}</p>"
        f"<h2>Endpoints</h2><p>{_inline(doc['request_forms'])}</p>{endpoints}{notes}"
        "<h2>Fields</h2><table><tr><th>name</th><th>type</th><th>required</th>"
        "<th>validation</th><th>allowed values</th><th>description</th><th>example</th></tr>"
        f"{rows}</table>{rules_section}"
        f"<h2>Examples: one lead in each request form</h2>{examples}"
        f"<p>In the examples, {placeholders}.</p>{offers_section}</body></html>"
    )


def _offers(offers: dict[str, Any] | None) -> str:
    """The 1-to-1 section of a campaign returning client offers; "" for any other."""
    if not offers:
        return ""
    rows = "".join(
        f"<tr><td><code>{escape(o['id'])}</code></td><td>{escape(o['buyer'])}</td>"
        f"<td>{escape(o['company_name'])}</td><td>{escape(o['name'])}</td>"
        f"<td>{escape(o['tcpa_consent_text'])}</td></tr>"
        for o in offers["offers"]
    )
    table = (
        "<table><tr><th>offer id</th><th>buyer</th><th>company</th><th>offer</th>"
        f"<th>TCPA consent text</th></tr>{rows}</table>"
        if rows
        else ""
    )
    block = json.dumps({"offer": offers["offer_block"]}, indent=2)
    return (
        "<h2>Offers and 1-to-1 consent</h2>"
        f"<p><code>POST {escape(offers['url'])}</code>. {_inline(offers['how'])}</p>"
        f"<p><code>POST {escape(offers['ping_url'])}</code>. {_inline(offers['ping'])}</p>"
        f"<p>The lead's <code>offer</code> property:</p><pre>{escape(block)}</pre>{table}"
    )


def _code(text: str) -> str:
    return f"<code>{escape(text)}</code>" if text else ""


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _inline(text: str) -> str:
    """Text with `backquoted` spans as code, everything escaped."""
    parts = escape(text).split("`")
    return "".join(f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(parts))
