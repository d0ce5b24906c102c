"""Posting instructions as an HTML page, from the lead service's instructions document.

Every value is escaped: field descriptions and names come from the account's configuration.
"""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5}table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;"
    "padding:.3rem .5rem;text-align:left;vertical-align:top}pre{background:#f5f5f5;"
    "padding:.75rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}code{font-size:.9em}"
)


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
        f"<li>{escape(name.replace('_', ' '))}: <code>{'GET' if name == 'status' else 'POST'} "
        f"{escape(url)}</code></li>"
        for name, url in doc["endpoints"].items()
    )
    examples = "".join(
        f"<h3>{escape(form)}</h3><pre>{escape(doc['examples'][form])}</pre>"
        for form in ("urlencoded", "xml", "json")
    )
    rules_section = f"<h2>Acceptance rules</h2><ul>{rules}</ul>" if rules else ""
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
        f"<h2>Authentication</h2><p>{escape(doc['authentication'])}.</p>"
        f"<h2>Endpoints</h2><ul>{endpoints}</ul>"
        "<p>Send URL-encoded, XML or JSON; answers are JSON or XML as the URL asks.</p>"
        "<h2>Fields</h2><table><tr><th>name</th><th>type</th><th>required</th>"
        "<th>validation</th><th>allowed values</th><th>description</th><th>example</th></tr>"
        f"{rows}</table>{rules_section}<h2>Examples</h2>{examples}</body></html>"
    )


def _code(text: str) -> str:
    return f"<code>{escape(text)}</code>" if text else ""
