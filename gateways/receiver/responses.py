"""LeadExec's response shapes, rendered from the lead service's messages.

The JSON renderers return plain dicts and lists, in LeadExec's key order and casing, for the
HTTP app to serialise. The XML renderers return a whole document, as .NET's XmlSerializer
writes it:

- the `<?xml version="1.0" encoding="utf-8"?>` declaration;
- a root element that declares the `xsd` and `xsi` namespaces;
- one element per line, indented by two spaces, with `\\n` line ends.

Values are written as follows:

- Booleans are `true` and `false`.
- An empty string is a self-closing element, e.g. `<RedirectURL />`.
- An absent date is `<DateOfReview xsi:nil="true" />` in XML and `null` in JSON.
- Text is XML-escaped. A carriage return is written as `&#xD;`, so that it survives parsing.
  A character that XML 1.0 cannot carry becomes U+FFFD.

Choices where LeadExec's documents are silent or ambiguous:

- ResponseType is written by name (`No_Error`), as in the document's URL-encoded example. Some
  of its XML and JSON examples show the number.
- The details key is `ResponseDetails`, as in every example. The property table says
  `ResponseDetail`.
- Price is a JSON number: an integer when the amount is whole (`25`), otherwise a float
  (`12.5`). The status example's `0.0` is therefore written `0`. XML writes the same text.
- Dates are ISO 8601 in UTC, with milliseconds (truncated) and `Z`:
  `2025-11-04T22:29:22.147Z`.
- The documents show only single-lead responses. For a request with several leads, the JSON
  answer is an array of post responses and the XML answer is a
  `<PostResponses>` root holding one `<PostResponse>` per lead, in order. Exactly one result
  gives the documented single object or `<PostResponse>` root. No results give an empty array,
  or an empty `<PostResponses />`.
- The document's examples for JSON bodies answer returnsends, transfer and calldata with an
  array of one post response, and general and update with a single object. The app asks for
  an array (`array=True`) where they show one; XML answers are unchanged.
- A ping is answered with the document's PingResponse (`ping_json`): `EstimatedPrice` as a
  decimal string, and `OrderExpiresOn` as an ISO 8601 date, or null (`xsi:nil`) without an
  order.
- A post's status is answered under a `<LeadQueueResponse>` root, with
  `QualityControlDetails` and `ReturnDetails` as nested elements.
- A queued post's status (the queue status URL) is the status report with `QueueStatus`
  after `PostID`, and `DateProcessed` and `Response` (the stored answer: a JSON value, or in
  XML its root element, indented, inside `<Response>`) at the end, and after it, leadrouter's
  own addition, `Callback`: the callback to the post's `returnurl` and its attempts
  (`Attempt` items in XML; null before the post is processed or when it posted none).
- The returnsends and transfer answers keep `StatusURL`, which their examples leave out, and
  add their list after it: `Sends` (`SendInfo` items in XML) or `ClientInfos` (`ClientInfo`
  items). `AgentPhone` is a string, as in the JSON example (the property table says bool).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeAlias
from xml.sax.saxutils import escape

from google.protobuf.timestamp_pb2 import Timestamp
from leadrouter.v1 import callbacks_pb2, leads_pb2

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"
JsonObject: TypeAlias = dict[str, JsonValue]

RESPONSE_TYPE_NAMES: dict[leads_pb2.ResponseType.ValueType, str] = {
    leads_pb2.NO_ERROR: "No_Error",
    leads_pb2.SYSTEM_ID_MISSING: "System_ID_Missing",
    leads_pb2.LEAD_TYPE_ID_MISSING: "LeadType_ID_Missing",
    leads_pb2.VENDOR_ID_MISSING: "Vendor_ID_Missing",
    leads_pb2.NO_ACCOUNT_FOUND: "No_Account_Found",
    leads_pb2.OUTSIDE_CRITERIA: "Outside_Criteria",
    leads_pb2.DUPLICATE_LEAD: "Duplicate_Lead",
    leads_pb2.ACCOUNT_DISABLED: "Account_Disabled",
    leads_pb2.POST_OVER_MAX: "Post_Over_Max",
    leads_pb2.DATA_ERRORS: "Data_Errors",
}
_RESPONSE_TYPES = {name: number for number, name in RESPONSE_TYPE_NAMES.items()}

_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'
_NAMESPACES = (
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ITEM_NAMES = {
    "Sends": "SendInfo",
    "ClientInfos": "ClientInfo",
    "Attempts": "Attempt",
    "Offers": "Offer",
}


def response_type_name(response_type: leads_pb2.ResponseType.ValueType) -> str:
    """LeadExec's name for a response type; an unknown number is written as its digits."""
    return RESPONSE_TYPE_NAMES.get(response_type, str(int(response_type)))


def price_number(price: str) -> int | float:
    """A decimal string as a JSON number: 25 when whole, else 12.5; "" is 0."""
    if not price:
        return 0
    try:
        amount = Decimal(price)
    except InvalidOperation:
        raise ValueError(f"price is not a decimal number: {price!r}") from None
    if not amount.is_finite():
        raise ValueError(f"price is not a finite number: {price!r}")
    if amount == amount.to_integral_value():
        return int(amount)
    return float(amount)


def iso_date(moment: Timestamp) -> str:
    """A timestamp as ISO 8601 UTC with milliseconds: 2025-11-04T22:29:22.147Z."""
    when = _EPOCH + timedelta(seconds=moment.seconds, microseconds=moment.nanos // 1000)
    return when.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


# -- posts --------------------------------------------------------------------------------------


def post_result_json(result: leads_pb2.PostResult, status_url: str) -> JsonObject:
    """One lead's PostResponse, as LeadExec's JSON object."""
    return {
        "PostID": result.post_id,
        "isValidPost": result.is_valid_post,
        "ResponseType": response_type_name(result.response_type),
        "ResponseDetails": result.response_details,
        "LeadIdentifier": result.lead_id,
        "VendorAccountAssigned": result.campaign_id,
        "PendingQCReview": result.pending_qc_review,
        "Price": price_number(result.price),
        "RedirectURL": result.redirect_url,
        "StatusURL": status_url,
    }


def post_result_with_sends_json(result: leads_pb2.PostResult, status_url: str) -> JsonObject:
    """A returnsends answer: the PostResponse and the lead's deliveries (`Sends`)."""
    body = post_result_json(result, status_url)
    body["Sends"] = [
        {
            "ClientUID": send.client_id,
            "ClientName": send.client_name,
            "RedirectURL": send.redirect_url,
            "Valid": send.valid,
            "Price": price_number(send.price),
        }
        for send in result.sends
    ]
    return body


def post_result_with_agents_json(result: leads_pb2.PostResult, status_url: str) -> JsonObject:
    """A transfer answer: the PostResponse and the agents to transfer the call to."""
    body = post_result_json(result, status_url)
    body["ClientInfos"] = [
        {
            "ClientUID": agent.client_id,
            "ClientName": agent.client_name,
            "AgentName": agent.agent_name,
            "AgentPhone": agent.agent_phone,
        }
        for agent in result.agents
    ]
    return body


def offer_json(offer: leads_pb2.Offer) -> JsonObject:
    """An offer as the V2 answer lists it: the buyer's static offer, for the source to show."""
    return {
        "OfferID": offer.id,
        "ClientUID": offer.client_id,
        "Buyer": offer.client_name,
        "CompanyName": offer.company_name,
        "CompanyPhone": offer.company_phone,
        "Name": offer.name,
        "Description": offer.description,
        "URL": offer.url,
        "ImageURL": offer.image_url,
        "PrivacyURL": offer.privacy_url,
        "TermsURL": offer.terms_url,
        "Duration": offer.duration,
        "Amount": price_number(offer.amount),
        "TCPAConsentText": offer.tcpa_consent_text,
    }


def post_result_v2_json(
    result: leads_pb2.PostResult, status_url: str, no_sell: bool = False
) -> JsonObject:
    """A V2 answer: the PostResponse and the offers of the buyers the lead was eligible
    for (`Offers`, empty unless its campaign returns client offers). An accepted noSell lead
    says it was stored and not distributed."""
    body = post_result_json(result, status_url)
    if no_sell and result.is_valid_post:
        body["ResponseDetails"] = f"{result.response_details} {NO_SELL_NOTE}"
    body["Offers"] = [offer_json(offer) for offer in result.offers]
    return body


NO_SELL_NOTE = "(noSell: stored, not distributed)"


def post_results_v2(
    results: Sequence[leads_pb2.PostResult],
    status_urls: Sequence[str],
    no_sell: Sequence[bool],
    kind: str,
) -> str | JsonObject | list[JsonObject]:
    """A V2 request's answer: as `post_results_json` (one object, else an array) or, for
    `kind` xml, `post_results_xml`, each PostResponse with its offers."""
    flags = [*no_sell, *([False] * len(results))][: len(results)]
    bodies = [
        post_result_v2_json(r, url, flag)
        for r, url, flag in zip(results, status_urls, flags, strict=True)
    ]
    if kind == "xml":
        if len(bodies) == 1:
            return _document("PostResponse", bodies[0])
        return _document("PostResponses", [("PostResponse", body) for body in bodies])
    return bodies[0] if len(bodies) == 1 else bodies


def post_result_xml(result: leads_pb2.PostResult, status_url: str) -> str:
    """One lead's PostResponse, as LeadExec's XML document."""
    return _document("PostResponse", post_result_json(result, status_url))


def _writer(sends: bool, agents: bool) -> Callable[[leads_pb2.PostResult, str], JsonObject]:
    if sends and agents:
        raise ValueError("an answer lists either sends or agents")
    if sends:
        return post_result_with_sends_json
    return post_result_with_agents_json if agents else post_result_json


def post_results_json(
    results: Sequence[leads_pb2.PostResult],
    status_urls: Sequence[str],
    *,
    sends: bool = False,
    agents: bool = False,
    array: bool = False,
) -> JsonObject | list[JsonObject]:
    """A request's answer: the single object for one result, else an array, in order; with
    `array`, an array always. With `sends` each lists its sends (returnsends), with `agents`
    its agents (transfer)."""
    write = _writer(sends, agents)
    bodies = [write(r, url) for r, url in zip(results, status_urls, strict=True)]
    return bodies[0] if len(bodies) == 1 and not array else bodies


def post_results_xml(
    results: Sequence[leads_pb2.PostResult],
    status_urls: Sequence[str],
    *,
    sends: bool = False,
    agents: bool = False,
) -> str:
    """A request's answer: a PostResponse root for one result, else PostResponses around them."""
    write = _writer(sends, agents)
    bodies = [write(r, url) for r, url in zip(results, status_urls, strict=True)]
    if len(bodies) == 1:
        return _document("PostResponse", bodies[0])
    return _document("PostResponses", [("PostResponse", body) for body in bodies])


def error_json(response_type_name: str, details: str, post_id: str = "") -> JsonObject:
    """A rejection the gateway answers itself (body too large, endpoint not enabled, ...).

    `response_type_name` is LeadExec's name, e.g. "Data_Errors"; an unknown name is a bug.
    """
    return post_result_json(_rejection(response_type_name, details, post_id), "")


def error_xml(response_type_name: str, details: str, post_id: str = "") -> str:
    """`error_json` as LeadExec's XML document."""
    return post_result_xml(_rejection(response_type_name, details, post_id), "")


def _rejection(name: str, details: str, post_id: str) -> leads_pb2.PostResult:
    try:
        response_type = _RESPONSE_TYPES[name]
    except KeyError:
        raise ValueError(f"not a LeadExec response type: {name!r}") from None
    return leads_pb2.PostResult(
        post_id=post_id,
        is_valid_post=False,
        response_type=response_type,
        response_details=details,
    )


# -- post status --------------------------------------------------------------------------------


def post_status_json(status: leads_pb2.PostStatus) -> JsonObject:
    """The latest state of a post, as LeadExec's status JSON object."""
    return {
        "PostID": status.post_id,
        "LeadIdentifier": status.lead_id,
        "IsValid": status.is_valid,
        "RejectionReason": status.rejection_reason,
        "VendorAccountAssigned": status.campaign_id,
        "DateReceived": (
            iso_date(status.date_received) if status.HasField("date_received") else None
        ),
        "QualityControlDetails": {
            "PendingReview": status.qc_pending_review,
            "DateOfReview": (
                iso_date(status.qc_date_of_review) if status.HasField("qc_date_of_review") else None
            ),
            "IsQualityControlRejected": status.qc_rejected,
            "RejectionReason": status.qc_rejection_reason,
        },
        "ReturnDetails": {
            "IsReturned": status.is_returned,
            "DateOfReturn": (
                iso_date(status.date_of_return) if status.HasField("date_of_return") else None
            ),
            "ReturnReason": status.return_reason,
        },
        "Price": price_number(status.price),
    }


def post_status_xml(status: leads_pb2.PostStatus) -> str:
    """The latest state of a post, as an XML document under `<LeadQueueResponse>`."""
    return _document("LeadQueueResponse", post_status_json(status))


# -- queued posts (the /async URLs) ------------------------------------------------------------

QUEUE_STATE_NAMES: dict[leads_pb2.QueueState.ValueType, str] = {
    leads_pb2.QUEUE_STATE_QUEUED: "Queued",
    leads_pb2.QUEUE_STATE_PROCESSING: "Processing",
    leads_pb2.QUEUE_STATE_PROCESSED: "Processed",
}
CALLBACK_STATE_NAMES: dict[callbacks_pb2.CallbackState.ValueType, str] = {
    callbacks_pb2.CALLBACK_STATE_PENDING: "Pending",
    callbacks_pb2.CALLBACK_STATE_SENDING: "Sending",
    callbacks_pb2.CALLBACK_STATE_DELIVERED: "Delivered",
    callbacks_pb2.CALLBACK_STATE_FAILED: "Failed",
    callbacks_pb2.CALLBACK_STATE_REFUSED: "Refused",
}
CALLBACK_OUTCOME_NAMES: dict[callbacks_pb2.CallbackOutcome.ValueType, str] = {
    callbacks_pb2.CALLBACK_OUTCOME_DELIVERED: "Delivered",
    callbacks_pb2.CALLBACK_OUTCOME_FAILED: "Failed",
    callbacks_pb2.CALLBACK_OUTCOME_REFUSED: "Refused",
}


def queue_answer_json(queued: bool, post_id: str, details: str, status_url: str) -> JsonObject:
    """LeadExec's LeadQueueResponse: the answer of an /async URL that did not refuse the post."""
    return {
        "QueueSuccessful": queued,
        "PostID": post_id,
        "ResponseDetails": details,
        "StatusURL": status_url,
    }


def queue_answer_xml(queued: bool, post_id: str, details: str, status_url: str) -> str:
    """`queue_answer_json` as LeadExec's XML document."""
    return _document("LeadQueueResponse", queue_answer_json(queued, post_id, details, status_url))


def queue_status_json(status: leads_pb2.PostStatus) -> JsonObject:
    """A queued post's status report (the queue status URL): the status report, with where
    the post stands (`QueueStatus`: Queued, Processing or Processed), when it was processed,
    and its answer (`Response`: what its synchronous URL would have answered, null until
    processed). The stored answer is the JSON the receiver wrote."""
    answer: JsonValue = json.loads(status.answer) if status.answer else None
    return _queue_status(status, answer)


def queue_status_xml(status: leads_pb2.PostStatus) -> str:
    """`queue_status_json` as an XML document under `<LeadQueueResponse>`; `Response` holds
    the stored answer's root element (`PostResponse` or `PostResponses`)."""
    answer = _Fragment(_without_declaration(status.answer.decode())) if status.answer else None
    return _document("LeadQueueResponse", _queue_status(status, answer))


def _queue_status(status: leads_pb2.PostStatus, answer: _Value) -> dict[str, _Value]:
    report: dict[str, _Value] = dict(post_status_json(status))
    processed = iso_date(status.date_processed) if status.HasField("date_processed") else None
    return {
        "PostID": report.pop("PostID"),
        "QueueStatus": QUEUE_STATE_NAMES.get(status.queue_state, ""),
        **report,
        "DateProcessed": processed,
        "Response": answer,
        "Callback": _callback(status.callback) if status.HasField("callback") else None,
    }


def _callback(callback: callbacks_pb2.Callback) -> JsonObject:
    """A queued post's callback to its returnurl and each attempt so far (leadrouter's own
    addition to the queue status report; docs/receiver.md, "Callbacks")."""

    def when(field: str, message: Any) -> str | None:
        return iso_date(getattr(message, field)) if message.HasField(field) else None

    return {
        "EventID": callback.event_id,
        "URL": callback.url,
        "State": CALLBACK_STATE_NAMES.get(callback.state, ""),
        "NextAttemptOn": when("next_attempt_at", callback),
        "FinishedOn": when("finished_at", callback),
        "Attempts": [
            {
                "Number": attempt.number,
                "StartedOn": when("at", attempt),
                "Outcome": CALLBACK_OUTCOME_NAMES.get(attempt.outcome, ""),
                "HttpStatus": attempt.http_status,
                "Error": attempt.error,
            }
            for attempt in callback.attempts
        ],
    }


def _without_declaration(document: str) -> str:
    if document.startswith("<?xml"):
        return document.split("?>", 1)[1].lstrip()
    return document


# -- duplicate check ----------------------------------------------------------------------------


def duplicate_check_json(found: leads_pb2.DuplicateCheck) -> JsonObject:
    """LeadExec's duplicate-check answer. ReceivedOn is ISO 8601 UTC to the second, as in the
    document's XML example (its JSON example shows a US-style local time instead)."""
    received = None
    if found.HasField("received_on"):
        received = iso_date(found.received_on).split(".")[0] + "Z"
    return {
        "IsDuplicate": found.is_duplicate,
        "DuplicateLeadId": found.duplicate_lead_id,
        "ReceivedOn": received,
        "Response": found.response,
    }


def duplicate_check_xml(found: leads_pb2.DuplicateCheck) -> str:
    """The duplicate-check answer under `<PingResponse>`, as the document shows it."""
    return _document("PingResponse", duplicate_check_json(found))


# -- ping ---------------------------------------------------------------------------------------


def ping_json(found: leads_pb2.PingResult) -> JsonObject:
    """LeadExec's PingResponse. EstimatedPrice is a decimal string, as in the document's JSON
    example; OrderExpiresOn is ISO 8601 UTC like every date here (the example shows a US-style
    time), null when no order was made."""
    expires = iso_date(found.order_expires_on) if found.HasField("order_expires_on") else None
    return {
        "WillAccept": found.will_accept,
        "RequestID": found.request_id,
        "OrderID": found.order_id,
        "EstimatedPrice": found.estimated_price or "0",
        "OrderExpiresOn": expires,
        "Response": found.response,
    }


def ping_xml(found: leads_pb2.PingResult) -> str:
    """The ping's answer under `<PingResponse>`, as the document shows it."""
    return _document("PingResponse", ping_json(found))


def ping_v2_json(found: leads_pb2.PingResult) -> JsonObject:
    """A V2 ping's answer: the PingResponse and the offers of the buyers its order reserved
    (`Offers`, as a V2 post's answer lists them; empty unless the campaign returns client
    offers)."""
    body = ping_json(found)
    body["Offers"] = [offer_json(offer) for offer in found.offers]
    return body


def ping_v2_xml(found: leads_pb2.PingResult) -> str:
    """A V2 ping's answer under `<PingResponse>`, its offers as a V2 post's XML lists them."""
    return _document("PingResponse", ping_v2_json(found))


# -- XML writing --------------------------------------------------------------------------------


class _Fragment(str):
    """An XML element, written as it is (a stored answer inside a queue status report)."""


_Value: TypeAlias = "JsonValue | _Fragment"


def _document(
    root: str, content: dict[str, _Value] | JsonObject | list[tuple[str, JsonObject]]
) -> str:
    children: list[tuple[str, _Value]] = (
        list(content.items()) if isinstance(content, dict) else list(content)
    )
    if not children:
        return f"{_DECLARATION}\n<{root} {_NAMESPACES} />"
    lines = [_DECLARATION, f"<{root} {_NAMESPACES}>"]
    for name, value in children:
        lines += _element(name, value, depth=1)
    lines.append(f"</{root}>")
    return "\n".join(lines)


def _element(name: str, value: _Value, depth: int) -> list[str]:
    indent = "  " * depth
    if isinstance(value, _Fragment):
        inner = "  " * (depth + 1)
        return [
            f"{indent}<{name}>",
            *(inner + line for line in value.splitlines()),
            f"{indent}</{name}>",
        ]
    if value is None:
        return [f'{indent}<{name} xsi:nil="true" />']
    if isinstance(value, dict):
        lines = [f"{indent}<{name}>"]
        for child, child_value in value.items():
            lines += _element(child, child_value, depth + 1)
        return [*lines, f"{indent}</{name}>"]
    if isinstance(value, list):
        # a list is written as LeadExec writes its arrays: one element per item, named by
        # the item type (Sends holds SendInfo elements, ClientInfos ClientInfo elements)
        item = _ITEM_NAMES.get(name)
        if item is None:
            raise TypeError(f"{name}: a list has no XML form here")
        if not value:
            return [f"{indent}<{name} />"]
        lines = [f"{indent}<{name}>"]
        for entry in value:
            lines += _element(item, entry, depth + 1)
        return [*lines, f"{indent}</{name}>"]
    text = _xml_text(value)
    if not text:
        return [f"{indent}<{name} />"]
    return [f"{indent}<{name}>{text}</{name}>"]


def _xml_text(value: bool | int | float | str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return escape(_NOT_XML.sub("\ufffd", value), {"\r": "&#xD;"})
