"""Posting instructions for a campaign: what a lead source needs to post leads to it.

`posting_instructions` builds the document as plain data (served as JSON, and as HTML by the
receiver); `to_markdown` renders it for people and the command line. Example values are made
to pass the campaign's own field checks, so the examples post as they are (the password is a
placeholder: it is stored hashed and cannot be shown).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from server.domain.catalog.fields import DataType, FieldSpec, SpecialField, clean_lead_values
from server.domain.catalog.rules import Rule, rule_passes, split_list
from server.domain.catalog.specs import CampaignSpec, Channel, PricingModel

PASSWORD_PLACEHOLDER = "YOUR_PASSWORD"

_SAMPLES: dict[SpecialField, str] = {
    SpecialField.FirstName: "Jane",
    SpecialField.LastName: "Doe",
    SpecialField.Email: "jane.doe@example.com",
    SpecialField.PrimaryPhone: "7025550100",
    SpecialField.MobilePhone: "7025550101",
    SpecialField.Address: "1 Main St",
    SpecialField.City: "Las Vegas",
    SpecialField.State: "NV",
    SpecialField.Zip: "89101",
    SpecialField.IPAddress: "203.0.113.7",
    SpecialField.Country: "US",
    SpecialField.ContactConsent: "1",
}
_TYPE_SAMPLES: dict[DataType, str] = {
    DataType.Int: "30",
    DataType.Bigint: "30",
    DataType.Bit: "1",
    DataType.Money: "10.00",
    DataType.Decimal: "1.5",
    DataType.Float: "1.5",
    DataType.DateTime: "2026-01-15T10:30:00",
    DataType.Varchar: "example",
}


def sample_value(spec: FieldSpec) -> str:
    """A value for the field that its checks accept."""
    if spec.enumerations:
        return spec.enumerations[0]
    for candidate in (_SAMPLES.get(spec.special), _TYPE_SAMPLES.get(spec.data_type)):
        if candidate is not None and _passes(spec, candidate):
            return candidate
    return _TYPE_SAMPLES.get(spec.data_type, "example")


def _passes(spec: FieldSpec, value: str) -> bool:
    return not spec.validation or re.search(spec.validation, value) is not None


def _example_values(campaign: CampaignSpec, fields: Sequence[FieldSpec]) -> dict[str, str]:
    """Values for the required fields and those the campaign's rules look at, meeting them."""
    ruled = {r.field.casefold() for r in campaign.rules}
    chosen = [f for f in fields if f.required or f.name.casefold() in ruled] or list(fields[:3])
    values = {}
    for spec in chosen:
        rules = [r for r in campaign.rules if r.field.casefold() == spec.name.casefold()]
        values[spec.name] = next(
            (c for c in _candidates(spec, rules) if _meets(spec, rules, c)), sample_value(spec)
        )
    return values


def _candidates(spec: FieldSpec, rules: Sequence[Rule]) -> list[str]:
    found = [sample_value(spec)]
    for rule in rules:
        for bound in split_list(rule.value) or [rule.value]:
            found.append(bound)
            digits = bound.lstrip("-")
            whole = digits.isascii() and digits.isdigit()
            if spec.data_type in (DataType.Int, DataType.Bigint) and whole:
                found += [str(int(bound) + 1), str(int(bound) - 1)]
    return found


def _meets(spec: FieldSpec, rules: Sequence[Rule], candidate: str) -> bool:
    cleaned = clean_lead_values([spec], {spec.name: candidate})
    if not cleaned.ok:
        return False
    value = cleaned.values.get(spec.name)
    return all(rule_passes(rule, spec, value) for rule in rules)


def posting_instructions(
    *,
    receiver_url: str,
    source_id: int,
    source_name: str,
    campaign_id: int,
    campaign: CampaignSpec,
    lead_type_id: int,
    lead_type_name: str,
    fields: Sequence[FieldSpec],
    has_password: bool,
) -> dict[str, Any]:
    base = receiver_url.rstrip("/")
    ids = {"vid": source_id, "lid": lead_type_id, "aid": campaign_id}
    credentials: dict[str, str] = {k: str(v) for k, v in ids.items()}
    if has_password:
        credentials["password"] = PASSWORD_PLACEHOLDER
    samples = _example_values(campaign, fields)
    insert = f"{base}/processor/insert/general/json"
    return {
        "title": f"Posting instructions: {campaign.name}",
        "source": source_name,
        "campaign": campaign.name,
        "lead_type": lead_type_name,
        "channel": campaign.channel.label if campaign.channel is not Channel.Unspecified else "",
        "identifiers": ids,
        "authentication": _authentication(campaign, has_password),
        "price": _price(campaign),
        "limits": {
            "hour_max": campaign.hour_max,
            "day_max": campaign.day_max,
            "month_max": campaign.month_max,
            "duplicate_days": campaign.dup_day_max,
        },
        "endpoints": {
            "insert": f"{base}/processor/insert/general/{{json|xml}}",
            "update": f"{base}/processor/update/{{json|xml}}",
            "duplicate_check": f"{base}/processor/duplicate/check",
            "status": f"{base}/information/status/{{PostID}}",
        },
        "fields": [_field(f) for f in fields],
        "rules": [
            {"field": r.field, "operator": r.operator.name, "value": r.value}
            for r in campaign.rules
        ],
        "examples": {
            "urlencoded": f"curl -s {insert} -d '{urlencode({**credentials, **samples})}'",
            "xml": _xml_example(base, credentials, samples),
            "json": _json_example(insert, credentials, samples),
        },
    }


def _authentication(campaign: CampaignSpec, has_password: bool) -> str:
    parts = []
    if has_password:
        parts.append("send the campaign's posting password as `password`")
    if campaign.require_api_key:
        parts.append("send your API key as `authorization: Bearer KEY` (required)")
    elif has_password:
        parts.append("or send your API key as `authorization: Bearer KEY` instead")
    else:
        parts.append("no password is set; you may send your API key as `authorization: Bearer KEY`")
    return "; ".join(parts)


def _price(campaign: CampaignSpec) -> str:
    amount = campaign.pricing.amount
    if campaign.pricing.model is PricingModel.PerLead:
        return f"${amount} per accepted lead"
    if campaign.pricing.model is PricingModel.PerSale:
        return f"${amount} per sale"
    return f"{amount}% of the sale amount"


def _field(spec: FieldSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "type": spec.data_type.name,
        "required": spec.required,
        "validation": spec.validation,
        "removed_characters": spec.invalid_chars,
        "allowed_values": list(spec.enumerations),
        "description": spec.description,
        "example": sample_value(spec),
    }


def _xml_example(base: str, credentials: dict[str, str], samples: dict[str, str]) -> str:
    attributes = " ".join(f'{k}="{escape(v)}"' for k, v in credentials.items())
    items = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in samples.items())
    body = f"<Leads {attributes}><Lead>{items}</Lead></Leads>"
    return (
        f"curl -s {base}/processor/insert/general/xml -H 'content-type: application/xml' "
        f"-d '{body}'"
    )


def _json_example(url: str, credentials: dict[str, str], samples: dict[str, str]) -> str:
    source: dict[str, Any] = {
        k: int(v) if v.isascii() and v.isdigit() else v for k, v in credentials.items()
    }
    body = json.dumps({"source": source, "leads": [{"fields": samples}]})
    return f"curl -s {url} -H 'content-type: application/json' -d '{body}'"


def to_markdown(doc: dict[str, Any]) -> str:
    """The instructions as a Markdown document."""
    ids = doc["identifiers"]
    lines = [
        f"# {doc['title']}",
        "",
        f"Lead source: {doc['source']}. Lead type: {doc['lead_type']}. Price: {doc['price']}.",
        "",
        "## Identifiers",
        "",
        f"- `vid` (lead source): {ids['vid']}",
        f"- `lid` (lead type): {ids['lid']}",
        f"- `aid` (campaign): {ids['aid']}",
        "",
        "## Authentication",
        "",
        doc["authentication"][0].upper() + doc["authentication"][1:] + ".",
        "",
        "## Endpoints",
        "",
        *(
            f"- {name.replace('_', ' ')}: `POST {url}`"
            if name != "status"
            else f"- status: `GET {url}`"
            for name, url in doc["endpoints"].items()
        ),
        "",
        "Send URL-encoded, XML or JSON; answers are JSON or XML as the URL asks.",
        "",
        "## Fields",
        "",
        "| name | type | required | validation | allowed values | description |",
        "|---|---|---|---|---|---|",
    ]
    for f in doc["fields"]:
        validation = f"`{f['validation']}`" if f["validation"] else ""
        lines.append(
            f"| {f['name']} | {f['type']} | {'yes' if f['required'] else 'no'} | "
            f"{validation} | {', '.join(f['allowed_values'])} | {f['description']} |"
        )
    if doc["rules"]:
        lines += ["", "## Acceptance rules", ""]
        lines += [f"- {r['field']} {r['operator']} {r['value']}" for r in doc["rules"]]
    lines += ["", "## Examples", ""]
    for form in ("urlencoded", "xml", "json"):
        lines += [f"{form}:", "", "```sh", doc["examples"][form], "```", ""]
    return "\n".join(lines)
