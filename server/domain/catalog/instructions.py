"""Posting instructions for a campaign: what a lead source needs to post leads to it.

`posting_instructions` builds the document as plain data (served as JSON, and as HTML by the
receiver); `to_markdown` renders it for people and the command line. It lists the endpoints
of `ENDPOINTS` that the campaign's channel uses, each with a curl example, and the request
forms. Example values are made to pass the campaign's own field checks and rules, so the
examples post as they are once the placeholders are filled in (the password is one: it is
stored hashed and cannot be shown).
"""

from __future__ import annotations

import enum
import json
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from server.domain.catalog.fields import DataType, FieldSpec, SpecialField, clean_lead_values
from server.domain.catalog.rules import Rule, rule_passes, split_list
from server.domain.catalog.specs import CampaignSpec, Channel, PricingModel
from server.domain.intake.offers import Offered
from server.domain.intake.ping import is_contact

PASSWORD_PLACEHOLDER = "YOUR_PASSWORD"
API_KEY_PLACEHOLDER = "YOUR_API_KEY"
LEAD_ID_PLACEHOLDER = "LEAD_ID"
POST_ID_PLACEHOLDER = "POST_ID"
ORDER_ID_PLACEHOLDER = "ORDER_ID"
PLACEHOLDERS = {
    PASSWORD_PLACEHOLDER: "the campaign's posting password",
    API_KEY_PLACEHOLDER: "your API key",
    LEAD_ID_PLACEHOLDER: "the LeadIdentifier a post's answer gave",
    POST_ID_PLACEHOLDER: "the PostID a post's answer gave",
    ORDER_ID_PLACEHOLDER: "the OrderID a ping's answer gave (an order is used once)",
}
# The headers a source API key may come in, in the order the receiver prefers them.
API_KEY_HEADERS = ("Authorization: Bearer {key}", "access_token: {key}", "api-key: {key}")


class Sends(enum.Enum):
    """What an endpoint's example sends."""

    LEAD = "lead"
    PING = "ping"  # a lead's eligibility fields, without its contact fields
    CALL_LEAD = "call lead"  # a lead with its call details
    UPDATE = "update"
    DUPLICATE_CHECK = "duplicate check"
    NOTHING = "nothing"  # a GET that reads


@dataclass(frozen=True)
class Endpoint:
    """One URL the instructions list: its path (`{json|xml}` where the answer's format is
    chosen), its methods, what it does, and the channels whose campaigns use it."""

    name: str
    path: str
    methods: tuple[str, ...]
    does: str
    channels: frozenset[Channel]
    sends: Sends = Sends.LEAD


_POSTING = ("POST", "GET")
_EVERY = frozenset(Channel)
_POST = frozenset({Channel.Unspecified, Channel.Post, Channel.PingPost})
_REDIRECT = frozenset({Channel.Redirect})
_CALL = frozenset({Channel.Call})
_PING = frozenset({Channel.PingPost})

# The ping of a ping-post campaign, listed first: its posts name the order it answers.
PING = Endpoint(
    "ping",
    "/processor/insert/ping/{json|xml}",
    _POSTING,
    "ping with the lead's fields but not its contact fields (names, email, phones, street "
    "address): answered with a `PingResponse` (`WillAccept`, `OrderID`, `EstimatedPrice`, "
    "`OrderExpiresOn`); then post the whole lead with `orderid` set to the `OrderID` "
    "before the order expires, and it goes to the buyers the ping reserved. Every post "
    "of this campaign needs an `orderid`",
    _PING,
    Sends.PING,
)

# The insert URLs, in the order they are listed. The receiver takes each of them from any
# campaign; the channel decides which ones its instructions show (docs/receiver.md).
_INSERTS: tuple[Endpoint, ...] = (
    Endpoint(
        "insert",
        "/processor/insert/general/{json|xml}",
        _POSTING,
        "post leads; answered as soon as each is stored",
        _POST,
    ),
    Endpoint(
        "returnsends",
        "/processor/insert/returnsends/{json|xml}",
        _POSTING,
        "post leads; answered once they are delivered, with the buyers (`Sends`)",
        _POST,
    ),
    Endpoint(
        "manualredirect",
        "/processor/insert/manualredirect/{json|xml}",
        _POSTING,
        "post a lead; answered once it is delivered, with the buyer's `RedirectURL`",
        _REDIRECT,
    ),
    Endpoint(
        "autoredirect",
        "/processor/insert/autoredirect/{json|xml}",
        _POSTING,
        "post a lead; answered with a redirect (303) to the buyer's page, else to `returnurl`",
        _REDIRECT,
    ),
    Endpoint(
        "calldata",
        "/processor/insert/calldata/{json|xml}",
        _POSTING,
        "post a call lead with its call details (`ivrnumber`, `callduration`, `callresult`, "
        "`calldate`); answered as soon as it is stored",
        _CALL,
        Sends.CALL_LEAD,
    ),
    Endpoint(
        "transfer",
        "/processor/insert/transfer/{json|xml}",
        _POSTING,
        "post a live-transfer lead; answered once it is delivered, with the agents who took "
        "it (`ClientInfos`)",
        _CALL,
    ),
)


def queued(endpoint: Endpoint) -> Endpoint:
    """An insert URL's /async variant (docs/receiver.md, "Async posts")."""
    what = "ping" if endpoint.sends is Sends.PING else "post"
    order = (
        "; the order is made when the ping is processed, and `OrderExpiresOn` counts from then"
        if endpoint.sends is Sends.PING
        else ""
    )
    return replace(
        endpoint,
        name=f"{endpoint.name}_async",
        path=f"{endpoint.path}/async",
        does=(
            f"the same {what} queued: answered at once with a `LeadQueueResponse` "
            f"(`QueueSuccessful`, `PostID`, `StatusURL`), then processed in the background as "
            f"`{endpoint.name}` would process it; the answer `{endpoint.name}` would give is "
            f"kept at the `StatusURL` and, when the {what} carries a `returnurl`, POSTed there, "
            f"signed with your signing secret{order}"
        ),
    )


# Every endpoint a channel's instructions may list, in the order they are listed: each insert
# URL and its /async variant, then the URLs every channel uses.
ENDPOINTS: tuple[Endpoint, ...] = (
    PING,
    queued(PING),
    *(variant for insert in _INSERTS for variant in (insert, queued(insert))),
    Endpoint(
        "update",
        "/processor/update/{json|xml}",
        _POSTING,
        "change fields of a lead you posted (`lpleaduid`); `processDelivery=true` "
        "distributes it again",
        _EVERY,
        Sends.UPDATE,
    ),
    Endpoint(
        "duplicate_check",
        "/processor/duplicate/check/{json|xml}",
        _POSTING,
        "ask whether a lead would be a duplicate; nothing is stored",
        _EVERY,
        Sends.DUPLICATE_CHECK,
    ),
    Endpoint(
        "status",
        "/information/status/{PostID}",
        ("GET",),
        "a post's outcome, by the `PostID` its answer gave (XML with `Accept: application/xml`)",
        _EVERY,
        Sends.NOTHING,
    ),
    Endpoint(
        "queue_status",
        "/information/queuestatus/{PostID}",
        ("GET",),
        "a queued post's state (`Queued`, `Processing`, `Processed`) and, once processed, the "
        "answer its URL without `/async` would have given (`Response`) and its callback",
        _EVERY,
        Sends.NOTHING,
    ),
)
# Call details that make a call lead's example pass (server/domain/intake/call_data.py).
_CALL_VALUES = {"ivrnumber": "8005550100", "callduration": "95"}
_CALL_JSON = {"ivrNumber": "8005550100", "callDuration": 95}
_CALL_XML = {"IVRNumber": "8005550100", "CallDuration": "95"}

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


def endpoints_for(channel: Channel) -> list[Endpoint]:
    """The endpoints a campaign of this channel is told to use, in listing order."""
    return [e for e in ENDPOINTS if channel in e.channels]


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
    offers: Sequence[Offered] = (),
) -> dict[str, Any]:
    """The document; `offers`: for a campaign returning client offers, its buyers' static
    offers (those a lead may be offered, as its criteria match)."""
    base = receiver_url.rstrip("/")
    ids = {"vid": source_id, "lid": lead_type_id, "aid": campaign_id}
    ordered = campaign.channel is Channel.PingPost
    post = _Post(base, ids, has_password, campaign.require_api_key, ordered)
    samples = _example_values(campaign, fields)
    contact = {f.name for f in fields if is_contact(f)}
    pinged = {name: value for name, value in samples.items() if name not in contact}
    listed = endpoints_for(campaign.channel)
    main = next(e for e in listed if e.sends in (Sends.LEAD, Sends.CALL_LEAD))
    duplicates = {
        f.name: samples.get(f.name) or sample_value(f) for f in fields if f.duplicate_check
    }
    return {
        "title": f"Posting instructions: {campaign.name}",
        "source": source_name,
        "campaign": campaign.name,
        "lead_type": lead_type_name,
        "channel": campaign.channel.label if campaign.channel is not Channel.Unspecified else "",
        "identifiers": ids,
        "authentication": _authentication(campaign, has_password),
        "api_key_headers": [h.format(key=API_KEY_PLACEHOLDER) for h in API_KEY_HEADERS],
        "price": _price(campaign),
        "limits": {
            "hour_max": campaign.hour_max,
            "day_max": campaign.day_max,
            "month_max": campaign.month_max,
            "duplicate_days": campaign.dup_day_max,
        },
        "request_forms": REQUEST_FORMS,
        "endpoints": [
            {
                "name": e.name,
                "url": base + e.path,
                "methods": list(e.methods),
                "does": e.does,
                "example": post.example(
                    e, pinged if e.sends is Sends.PING else samples, duplicates or samples
                ),
            }
            for e in listed
        ],
        "notes": _notes(campaign),
        "fields": [_field(f) for f in fields],
        "rules": [
            {"field": r.field, "operator": r.operator.name, "value": r.value}
            for r in campaign.rules
        ],
        "examples": post.forms(main, samples),
        "placeholders": dict(PLACEHOLDERS),
        "offers": _offers(base, campaign, offers),
    }


V2_OFFER_BLOCK = {
    "ids": ["OFFER_ID"],
    "consent": True,
    "consentedAt": "2026-12-04T10:15:00Z",
    "ipAddress": "203.0.113.7",
    "userAgent": "Mozilla/5.0 ...",
    "pageUrl": "https://your-site.example/quote",
    "trustedFormCertUrl": "https://cert.trustedform.com/...",
    "jornayaLeadId": "...",
}


def _offers(base: str, campaign: CampaignSpec, offers: Sequence[Offered]) -> dict[str, Any] | None:
    """How to post with 1-to-1 consent, for a campaign returning client offers."""
    if not campaign.return_client_offers:
        return None
    return {
        "url": f"{base}/v2/insert/general/{{json|xml}}",
        "how": (
            "This campaign returns client offers (1-to-1 consent). Post to the V2 receiver, "
            "in JSON or XML, with your API key. Its answer lists, in `Offers`, the offers of "
            "the buyers the lead is eligible for: show them to the consumer with their TCPA "
            "consent text. Name the offers the consumer chose, and whether consent was given, "
            "in the lead's `offer` property: only those buyers receive the lead. An offer that "
            "was not offered for the lead refuses the post."
        ),
        "ping_url": f"{base}/v2/insert/ping/{{json|xml}}",
        "ping": (
            "To sell by ping-post, ping the V2 ping first, in JSON or XML with your API key "
            "and without the contact fields (or its `/async` form). Its `PingResponse` lists, "
            "in `Offers`, the offers of the buyers its order reserved: a buyer's own offer, "
            "or the one its answer to our ping gave (with an id of that order's only, in "
            "place of the buyer's listed offer). Show those, then post the lead to the V2 "
            "receiver with `orderId` (in `source`) set to its `OrderID`: the `offer` "
            "property may name only the order's offers."
        ),
        "offer_block": dict(V2_OFFER_BLOCK),
        "offers": [
            {
                "id": str(o.id),
                "buyer": o.client_name,
                "company_name": o.offer.company_name,
                "name": o.offer.name,
                "tcpa_consent_text": o.offer.tcpa_consent_text,
            }
            for o in offers
        ],
    }


REQUEST_FORMS = (
    "Send a POST whose body is URL-encoded (`application/x-www-form-urlencoded`), JSON "
    "(`application/json`) or XML (`application/xml`), or a GET with every value in the query "
    "string. The URL's last segment, `/json` or `/xml`, chooses the answer's format; without "
    "it, a JSON body is answered in JSON and anything else in XML. Each example posts the same "
    "lead: a second one is answered `Duplicate_Lead` within the duplicate window."
)


@dataclass(frozen=True)
class _Post:
    """How this campaign's examples identify and authenticate themselves."""

    base: str
    ids: dict[str, int]
    has_password: bool
    key_required: bool
    ordered: bool  # a ping-post campaign: each lead posted names a ping's order

    def credentials(
        self, *, with_key: bool = False, aid: bool = True, order: bool = False
    ) -> dict[str, str]:
        """vid, lid, aid and the password as posted; with the key (in a header), vid is left
        out, and so is the password unless the campaign requires both. `order`: a lead's
        post, which names a ping's order on a ping-post campaign."""
        found = {k: str(v) for k, v in self.ids.items() if aid or k != "aid"}
        if with_key:
            found.pop("vid")
        if self.has_password and (not with_key or self.key_required):
            found["password"] = PASSWORD_PLACEHOLDER
        if order and self.ordered:
            found["orderid"] = ORDER_ID_PLACEHOLDER
        return found

    def headers(self, *, with_key: bool = False) -> list[str]:
        if with_key or self.key_required:
            return [API_KEY_HEADERS[0].format(key=API_KEY_PLACEHOLDER)]
        return []

    def url(self, endpoint: Endpoint, answer: str = "json") -> str:
        return self.base + endpoint.path.replace("{json|xml}", answer)

    def example(
        self, endpoint: Endpoint, samples: dict[str, str], duplicates: dict[str, str]
    ) -> str:
        """The endpoint's example: a URL-encoded POST (a GET for status)."""
        if endpoint.sends is Sends.NOTHING:
            return _curl(self.base + endpoint.path.replace("{PostID}", POST_ID_PLACEHOLDER))
        lead = endpoint.sends in (Sends.LEAD, Sends.CALL_LEAD)
        credentials = self.credentials(aid=endpoint.sends is not Sends.UPDATE, order=lead)
        if endpoint.sends is Sends.UPDATE:
            # one field changed, one the duplicate check does not read if there is one; with
            # no field to change, the lead is distributed again
            names = sorted(samples, key=lambda name: name in duplicates)[:1]
            change = {n: samples[n] for n in names} or {"processDelivery": "true"}
            values = {**credentials, "lpleaduid": LEAD_ID_PLACEHOLDER, **change}
        elif endpoint.sends is Sends.DUPLICATE_CHECK:
            values = {**credentials, **duplicates}
        else:
            values = {**credentials, **samples, **_call_values(endpoint)}
        return _curl(self.url(endpoint), self.headers(), data=urlencode(values))

    def forms(self, endpoint: Endpoint, samples: dict[str, str]) -> list[dict[str, str]]:
        """One lead posted to `endpoint` in each request form, and with the API key."""
        credentials = self.credentials(order=True)
        fields = {**samples, **_call_values(endpoint)}
        keyed = {**self.credentials(with_key=True, order=True), **fields}
        url = self.url(endpoint)
        instead = self.has_password and not self.key_required
        return [
            _form(
                "urlencoded",
                "URL-encoded POST",
                _curl(url, self.headers(), data=urlencode({**credentials, **fields})),
            ),
            _form(
                "get",
                "GET, every value in the query string",
                _curl(f"{url}?{urlencode({**credentials, **fields})}", self.headers()),
            ),
            _form(
                "json",
                "JSON",
                _curl(
                    url,
                    [*self.headers(), "Content-Type: application/json"],
                    data=_json_body(credentials, samples, endpoint),
                ),
            ),
            _form(
                "xml",
                "XML",
                _curl(
                    self.url(endpoint, "xml"),
                    [*self.headers(), "Content-Type: application/xml"],
                    data=_xml_body(credentials, samples, endpoint),
                ),
            ),
            _form(
                "api_key",
                "with your API key instead of the password" if instead else "with your API key",
                _curl(url, self.headers(with_key=True), data=urlencode(keyed)),
            ),
        ]


def _form(form: str, title: str, command: str) -> dict[str, str]:
    return {"form": form, "title": title, "command": command}


def _call_values(endpoint: Endpoint) -> dict[str, str]:
    return dict(_CALL_VALUES) if endpoint.sends is Sends.CALL_LEAD else {}


def _curl(url: str, headers: Sequence[str] = (), *, data: str | None = None) -> str:
    """A curl command line, every argument quoted for a POSIX shell where it needs to be."""
    parts = ["curl", "-s", shlex.quote(url)]
    for header in headers:
        parts += ["-H", shlex.quote(header)]
    if data is not None:
        parts += ["-d", shlex.quote(data)]
    return " ".join(parts)


def _authentication(campaign: CampaignSpec, has_password: bool) -> str:
    headers = ", ".join(f"`{h.format(key='KEY')}`" for h in API_KEY_HEADERS)
    key = f"your API key in a header ({headers}; the first of these wins)"
    if campaign.require_api_key and has_password:
        return f"send the campaign's posting password as `password` and {key}: both are required"
    if campaign.require_api_key:
        return f"send {key}: it is required"
    if has_password:
        return (
            f"send the campaign's posting password as `password`, or instead {key}; "
            "with the key, `vid` may be left out"
        )
    return f"no password is set; you may send {key}"


def _notes(campaign: CampaignSpec) -> list[str]:
    if campaign.channel is Channel.PingPost:
        return [
            "Ping first: every lead posted to this campaign names the `OrderID` of a ping's "
            "answer in `orderid` (each order is used once, before it expires); a post without "
            "one is refused."
        ]
    return []


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


def _xml_body(credentials: dict[str, str], samples: dict[str, str], endpoint: Endpoint) -> str:
    attributes = " ".join(f'{k}="{escape(v)}"' for k, v in credentials.items())
    values = {**samples, **(_CALL_XML if endpoint.sends is Sends.CALL_LEAD else {})}
    items = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in values.items())
    return f"<Leads {attributes}><Lead>{items}</Lead></Leads>"


def _json_body(credentials: dict[str, str], samples: dict[str, str], endpoint: Endpoint) -> str:
    source: dict[str, Any] = {
        k: int(v) if v.isascii() and v.isdigit() else v for k, v in credentials.items()
    }
    lead: dict[str, Any] = {"fields": samples}
    if endpoint.sends is Sends.CALL_LEAD:
        lead = {"properties": dict(_CALL_JSON), **lead}
    return json.dumps({"source": source, "leads": [lead]})


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
        doc["request_forms"],
        "",
    ]
    for endpoint in doc["endpoints"]:
        methods = " or ".join(f"`{m}`" for m in endpoint["methods"])
        lines += [
            f"### {endpoint['name'].replace('_', ' ')}",
            "",
            f"{methods} `{endpoint['url']}`: {endpoint['does']}.",
            "",
            "```sh",
            endpoint["example"],
            "```",
            "",
        ]
    for note in doc["notes"]:
        lines += [note, ""]
    lines += [
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
    lines += ["", "## Examples: one lead in each request form", ""]
    for example in doc["examples"]:
        lines += [f"{example['title']}:", "", "```sh", example["command"], "```", ""]
    placeholders = ", ".join(f"`{k}` is {v}" for k, v in doc["placeholders"].items())
    lines += [f"In the examples, {placeholders}.", ""]
    offers = doc.get("offers")
    if offers:
        lines += ["## Offers and 1-to-1 consent", "", f"`POST {offers['url']}`. {offers['how']}"]
        lines += ["", f"`POST {offers['ping_url']}`. {offers['ping']}"]
        lines += ["", "The lead's `offer` property:", "", "```json"]
        lines += [json.dumps({"offer": offers["offer_block"]}, indent=2), "```", ""]
        if offers["offers"]:
            lines += [
                "| offer id | buyer | company | offer | TCPA consent text |",
                "|---|---|---|---|---|",
            ]
            lines += [
                f"| {o['id']} | {o['buyer']} | {o['company_name']} | {o['name']} | "
                f"{o['tcpa_consent_text']} |"
                for o in offers["offers"]
            ]
            lines.append("")
    return "\n".join(lines)
