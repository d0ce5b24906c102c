"""LeadExec's response shapes: key order, casing, XML form, prices and dates."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from leadrouter.v1 import callbacks_pb2, leads_pb2

from gateways.receiver.responses import (
    RESPONSE_TYPE_NAMES,
    error_json,
    error_xml,
    iso_date,
    post_result_json,
    post_result_with_sends_json,
    post_result_xml,
    post_results_json,
    post_results_xml,
    post_status_json,
    post_status_xml,
    price_number,
    queue_answer_json,
    queue_answer_xml,
    queue_status_json,
    queue_status_xml,
    response_type_name,
)
from server.domain.intake.screening import ResponseType

XSI = "{http://www.w3.org/2001/XMLSchema-instance}"

# The Create General Lead examples, as the spec prints them.
SPEC_POST_JSON = """{
"PostID": "f5666260-1c2c-4bd5-9611-bb1387ca2397",
"isValidPost": true,
"ResponseType": "No_Error",
"ResponseDetails": "Lead was accepted",
"LeadIdentifier": 999999999,
"VendorAccountAssigned": 99,
"PendingQCReview": false,
"Price": 25,
"RedirectURL": "",
"StatusURL": ""
}"""
SPEC_POST_XML = (
    '<?xml version="1.0" encoding="utf-8"?> <PostResponse '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"> '
    "<PostID>f5666260-1c2c-4bd5-9611-bb1387ca2397</PostID> <isValidPost>true</isValidPost> "
    "<ResponseType>No_Error</ResponseType> <ResponseDetails>Lead was accepted</ResponseDetails> "
    "<LeadIdentifier>999999999</LeadIdentifier> "
    "<VendorAccountAssigned>99</VendorAccountAssigned> "
    "<PendingQCReview>false</PendingQCReview> <Price>25</Price> <RedirectURL /> <StatusURL /> "
    "</PostResponse>"
)
SPEC_RESULT = leads_pb2.PostResult(
    post_id="f5666260-1c2c-4bd5-9611-bb1387ca2397",
    is_valid_post=True,
    response_type=leads_pb2.NO_ERROR,
    response_details="Lead was accepted",
    lead_id=999999999,
    campaign_id=99,
    pending_qc_review=False,
    price="25.00",
    redirect_url="",
)

# The Status URL example.
SPEC_STATUS_JSON = """{
"PostID": "98bc0376-64f0-4525-802b-249c01d36c36",
"LeadIdentifier": 12345678,
"IsValid": true,
"RejectionReason": "",
"VendorAccountAssigned": 1234,
"DateReceived": "2025-11-04T22:29:22.147Z",
"QualityControlDetails": {
"PendingReview": false,
"DateOfReview": "2025-11-04T22:29:22.770Z",
"IsQualityControlRejected": false,
"RejectionReason": ""
},
"ReturnDetails": {
"IsReturned": false,
"DateOfReturn": null,
"ReturnReason": ""
},
"Price": 0.0
}"""


def timestamp(seconds: int, nanos: int = 0) -> Timestamp:
    return Timestamp(seconds=seconds, nanos=nanos)


NOV_4_22_29_22 = 1762295362  # 2025-11-04T22:29:22Z

SPEC_STATUS = leads_pb2.PostStatus(
    post_id="98bc0376-64f0-4525-802b-249c01d36c36",
    lead_id=12345678,
    is_valid=True,
    campaign_id=1234,
    date_received=timestamp(NOV_4_22_29_22, 147_000_000),
    qc_date_of_review=timestamp(NOV_4_22_29_22, 770_000_000),
    price="0.00",
)


def pairs(text: str) -> Any:
    """A JSON text with every object as its list of pairs, so that key order is compared too."""
    return json.loads(text, object_pairs_hook=list)


def as_pairs(value: Any) -> Any:
    return pairs(json.dumps(value))


def squeeze(document: str) -> str:
    return re.sub(r">\s+<", "><", document.strip())


def result(**overrides: Any) -> leads_pb2.PostResult:
    message = leads_pb2.PostResult()
    message.CopyFrom(SPEC_RESULT)
    for name, value in overrides.items():
        if isinstance(value, list):
            getattr(message, name).extend(value)
        else:
            setattr(message, name, value)
    return message


# -- response types and numbers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "name"),
    [
        (leads_pb2.NO_ERROR, "No_Error"),
        (leads_pb2.SYSTEM_ID_MISSING, "System_ID_Missing"),
        (leads_pb2.LEAD_TYPE_ID_MISSING, "LeadType_ID_Missing"),
        (leads_pb2.VENDOR_ID_MISSING, "Vendor_ID_Missing"),
        (leads_pb2.NO_ACCOUNT_FOUND, "No_Account_Found"),
        (leads_pb2.OUTSIDE_CRITERIA, "Outside_Criteria"),
        (leads_pb2.DUPLICATE_LEAD, "Duplicate_Lead"),
        (leads_pb2.ACCOUNT_DISABLED, "Account_Disabled"),
        (leads_pb2.POST_OVER_MAX, "Post_Over_Max"),
        (leads_pb2.DATA_ERRORS, "Data_Errors"),
    ],
)
def test_a_response_type_is_written_by_its_leadexec_name(
    number: leads_pb2.ResponseType.ValueType, name: str
) -> None:
    assert response_type_name(number) == name
    assert post_result_json(result(response_type=number), "")["ResponseType"] == name


def test_every_proto_response_type_has_the_domains_name_and_number() -> None:
    names = {number: name for name, number in leads_pb2.ResponseType.items()}
    assert {ResponseType(number).name for number in names} == set(RESPONSE_TYPE_NAMES.values())
    for number in names:
        assert response_type_name(number) == ResponseType(number).name


def test_an_unknown_response_type_is_written_as_its_number() -> None:
    assert response_type_name(42) == "42"  # type: ignore[arg-type]  # a newer server's number


@pytest.mark.parametrize(
    ("price", "expected", "kind"),
    [
        ("25", 25, int),
        ("25.00", 25, int),
        ("0", 0, int),
        ("0.00", 0, int),
        ("", 0, int),
        ("12.5", 12.5, float),
        ("12.50", 12.5, float),
        ("0.10", 0.1, float),
        ("1234567.89", 1234567.89, float),
        ("-3.25", -3.25, float),
    ],
)
def test_a_price_is_a_json_number(price: str, expected: float, kind: type) -> None:
    number = price_number(price)
    assert number == expected
    assert type(number) is kind


@pytest.mark.parametrize(("price", "text"), [("25.00", "25"), ("12.50", "12.5"), ("0.10", "0.1")])
def test_a_price_serialises_without_trailing_zeros(price: str, text: str) -> None:
    assert json.dumps(post_result_json(result(price=price), "")["Price"]) == text
    assert f"<Price>{text}</Price>" in post_result_xml(result(price=price), "")


@pytest.mark.parametrize("price", ["abc", "NaN", "Infinity", "1,5"])
def test_a_price_that_is_not_a_finite_decimal_is_a_bug(price: str) -> None:
    with pytest.raises(ValueError, match="price"):
        price_number(price)


# -- post results -------------------------------------------------------------------------------


def test_a_post_result_is_the_specs_json_object() -> None:
    assert as_pairs(post_result_json(SPEC_RESULT, "")) == pairs(SPEC_POST_JSON)


def test_post_result_keys_are_in_leadexec_order_and_casing() -> None:
    assert list(post_result_json(SPEC_RESULT, "")) == [
        "PostID",
        "isValidPost",
        "ResponseType",
        "ResponseDetails",
        "LeadIdentifier",
        "VendorAccountAssigned",
        "PendingQCReview",
        "Price",
        "RedirectURL",
        "StatusURL",
    ]


def test_a_post_result_carries_every_value() -> None:
    message = leads_pb2.PostResult(
        post_id="p",
        is_valid_post=False,
        response_type=leads_pb2.OUTSIDE_CRITERIA,
        response_details="Age: must be 18 or more",
        lead_id=7,
        campaign_id=8,
        pending_qc_review=True,
        price="1.25",
        redirect_url="https://example.com/thanks",
    )
    body = post_result_json(message, "https://leads.example.com/information/queuestatus/p")
    assert body == {
        "PostID": "p",
        "isValidPost": False,
        "ResponseType": "Outside_Criteria",
        "ResponseDetails": "Age: must be 18 or more",
        "LeadIdentifier": 7,
        "VendorAccountAssigned": 8,
        "PendingQCReview": True,
        "Price": 1.25,
        "RedirectURL": "https://example.com/thanks",
        "StatusURL": "https://leads.example.com/information/queuestatus/p",
    }


def test_a_post_result_is_the_specs_xml_document() -> None:
    assert squeeze(post_result_xml(SPEC_RESULT, "")) == squeeze(SPEC_POST_XML)


def test_the_xml_document_is_laid_out_like_dotnets() -> None:
    lines = post_result_xml(SPEC_RESULT, "").split("\n")
    assert lines[0] == '<?xml version="1.0" encoding="utf-8"?>'
    assert lines[1].startswith("<PostResponse xmlns:xsd=")
    assert lines[2] == "  <PostID>f5666260-1c2c-4bd5-9611-bb1387ca2397</PostID>"
    assert lines[-3:] == ["  <RedirectURL />", "  <StatusURL />", "</PostResponse>"]


def test_xml_elements_are_in_the_json_order() -> None:
    root = ET.fromstring(post_result_xml(SPEC_RESULT, "s"))
    assert [child.tag for child in root] == list(post_result_json(SPEC_RESULT, "s"))


@pytest.mark.parametrize(
    ("field", "value", "element"),
    [
        ("is_valid_post", True, "<isValidPost>true</isValidPost>"),
        ("is_valid_post", False, "<isValidPost>false</isValidPost>"),
        ("pending_qc_review", True, "<PendingQCReview>true</PendingQCReview>"),
        ("redirect_url", "", "<RedirectURL />"),
        ("redirect_url", "https://e.com/?a=1&b=2", "<RedirectURL>https://e.com/?a=1&amp;b=2</"),
        ("response_details", "", "<ResponseDetails />"),
        ("post_id", "", "<PostID />"),
    ],
)
def test_xml_values_are_written_like_dotnets(field: str, value: object, element: str) -> None:
    assert f"\n  {element}" in post_result_xml(result(**{field: value}), "")


@pytest.mark.parametrize(
    "details",
    [
        "Tom & Jerry <tom@example.com> said \"hi\" & 'bye' ]]>",
        "line one\r\nline two\ttabbed",
        "José ☺ 😀",
    ],
)
def test_xml_text_is_escaped_and_survives_a_round_trip(details: str) -> None:
    document = post_result_xml(result(response_details=details), "")
    assert ET.fromstring(document).findtext("ResponseDetails") == details


def test_xml_escapes_markup_characters() -> None:
    document = post_result_xml(result(response_details="a<b>&c"), "")
    assert "<ResponseDetails>a&lt;b&gt;&amp;c</ResponseDetails>" in document


def test_characters_xml_cannot_carry_are_replaced() -> None:
    document = post_result_xml(result(response_details="bell\x07 null\x00 esc\x1b ok"), "")
    details = ET.fromstring(document).findtext("ResponseDetails")
    assert details == "bell\ufffd null\ufffd esc\ufffd ok"


def test_the_status_url_is_written_as_given() -> None:
    url = "https://leads.example.com/information/queuestatus/p?x=1&y=2"
    assert post_result_json(SPEC_RESULT, url)["StatusURL"] == url
    assert ET.fromstring(post_result_xml(SPEC_RESULT, url)).findtext("StatusURL") == url


# -- several results ----------------------------------------------------------------------------


def test_one_result_is_the_single_json_object() -> None:
    assert post_results_json([SPEC_RESULT], ["s"]) == post_result_json(SPEC_RESULT, "s")


def test_several_results_are_a_json_array_in_order() -> None:
    results = [result(post_id="a"), result(post_id="b"), result(post_id="c")]
    bodies = post_results_json(results, ["sa", "sb", "sc"])
    assert isinstance(bodies, list)
    assert [(b["PostID"], b["StatusURL"]) for b in bodies] == [
        ("a", "sa"),
        ("b", "sb"),
        ("c", "sc"),
    ]


def test_no_results_are_an_empty_json_array() -> None:
    assert post_results_json([], []) == []


def test_one_result_asked_as_an_array_is_an_array_of_one() -> None:
    assert post_results_json([SPEC_RESULT], ["s"], sends=True, array=True) == [
        post_result_with_sends_json(SPEC_RESULT, "s")
    ]


def test_one_result_is_the_single_xml_document() -> None:
    assert post_results_xml([SPEC_RESULT], [""]) == post_result_xml(SPEC_RESULT, "")


def test_several_results_are_post_responses_in_order() -> None:
    document = post_results_xml([result(post_id="a"), result(post_id="b")], ["sa", "sb"])
    root = ET.fromstring(document)
    assert root.tag == "PostResponses"
    assert [child.tag for child in root] == ["PostResponse", "PostResponse"]
    assert [child.findtext("PostID") for child in root] == ["a", "b"]
    assert [child.findtext("StatusURL") for child in root] == ["sa", "sb"]
    assert document.count("xmlns:xsi=") == 1
    assert "\n  <PostResponse>\n    <PostID>a</PostID>\n" in document


def test_no_results_are_an_empty_post_responses_element() -> None:
    assert post_results_xml([], []).split("\n") == [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<PostResponses xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" />',
    ]


@pytest.mark.parametrize("render", [post_results_json, post_results_xml])
def test_results_and_status_urls_must_pair_up(render: Any) -> None:
    with pytest.raises(ValueError):
        render([SPEC_RESULT, SPEC_RESULT], ["only one"])


# -- gateway errors -----------------------------------------------------------------------------


def test_a_gateway_error_is_a_post_response_shaped_rejection() -> None:
    assert error_json("Data_Errors", "The request body is too large", "p-1") == {
        "PostID": "p-1",
        "isValidPost": False,
        "ResponseType": "Data_Errors",
        "ResponseDetails": "The request body is too large",
        "LeadIdentifier": 0,
        "VendorAccountAssigned": 0,
        "PendingQCReview": False,
        "Price": 0,
        "RedirectURL": "",
        "StatusURL": "",
    }


def test_a_gateway_error_keeps_the_post_response_key_order() -> None:
    assert list(error_json("Data_Errors", "x")) == list(post_result_json(SPEC_RESULT, ""))


def test_a_gateway_error_has_no_post_id_by_default() -> None:
    assert error_json("System_ID_Missing", "x")["PostID"] == ""


def test_a_gateway_error_in_xml() -> None:
    document = error_xml("Data_Errors", "Body < 1 MB please", "p-1")
    root = ET.fromstring(document)
    assert root.tag == "PostResponse"
    assert [(child.tag, child.text) for child in root] == [
        ("PostID", "p-1"),
        ("isValidPost", "false"),
        ("ResponseType", "Data_Errors"),
        ("ResponseDetails", "Body < 1 MB please"),
        ("LeadIdentifier", "0"),
        ("VendorAccountAssigned", "0"),
        ("PendingQCReview", "false"),
        ("Price", "0"),
        ("RedirectURL", None),
        ("StatusURL", None),
    ]


@pytest.mark.parametrize("render", [error_json, error_xml])
@pytest.mark.parametrize("name", ["DATA_ERRORS", "data_errors", "Bogus", ""])
def test_an_unknown_response_type_name_is_a_bug(render: Any, name: str) -> None:
    with pytest.raises(ValueError, match="not a LeadExec response type"):
        render(name, "x")


# -- post status --------------------------------------------------------------------------------


def test_a_post_status_is_the_specs_json_object() -> None:
    assert as_pairs(post_status_json(SPEC_STATUS)) == pairs(SPEC_STATUS_JSON)


def test_post_status_keys_are_in_leadexec_order_and_casing() -> None:
    body = post_status_json(SPEC_STATUS)
    assert list(body) == [
        "PostID",
        "LeadIdentifier",
        "IsValid",
        "RejectionReason",
        "VendorAccountAssigned",
        "DateReceived",
        "QualityControlDetails",
        "ReturnDetails",
        "Price",
    ]
    quality_control = body["QualityControlDetails"]
    assert isinstance(quality_control, dict)
    assert list(quality_control) == [
        "PendingReview",
        "DateOfReview",
        "IsQualityControlRejected",
        "RejectionReason",
    ]
    returns = body["ReturnDetails"]
    assert isinstance(returns, dict)
    assert list(returns) == ["IsReturned", "DateOfReturn", "ReturnReason"]


def test_a_post_status_carries_every_value() -> None:
    status = leads_pb2.PostStatus(
        post_id="p",
        lead_id=5,
        is_valid=False,
        rejection_reason="Duplicate",
        campaign_id=6,
        date_received=timestamp(0),
        qc_pending_review=True,
        qc_date_of_review=timestamp(1, 1_000_000),
        qc_rejected=True,
        qc_rejection_reason="Bad phone",
        is_returned=True,
        date_of_return=timestamp(86400),
        return_reason="Disconnected",
        price="7.50",
    )
    assert post_status_json(status) == {
        "PostID": "p",
        "LeadIdentifier": 5,
        "IsValid": False,
        "RejectionReason": "Duplicate",
        "VendorAccountAssigned": 6,
        "DateReceived": "1970-01-01T00:00:00.000Z",
        "QualityControlDetails": {
            "PendingReview": True,
            "DateOfReview": "1970-01-01T00:00:01.001Z",
            "IsQualityControlRejected": True,
            "RejectionReason": "Bad phone",
        },
        "ReturnDetails": {
            "IsReturned": True,
            "DateOfReturn": "1970-01-02T00:00:00.000Z",
            "ReturnReason": "Disconnected",
        },
        "Price": 7.5,
    }


def test_unset_dates_are_null() -> None:
    body = post_status_json(leads_pb2.PostStatus(post_id="p"))
    assert body["DateReceived"] is None
    assert body["QualityControlDetails"] == {
        "PendingReview": False,
        "DateOfReview": None,
        "IsQualityControlRejected": False,
        "RejectionReason": "",
    }
    assert body["ReturnDetails"] == {"IsReturned": False, "DateOfReturn": None, "ReturnReason": ""}


def test_the_epoch_is_a_date_not_an_unset_one() -> None:
    body = post_status_json(leads_pb2.PostStatus(date_of_return=timestamp(0)))
    returns = body["ReturnDetails"]
    assert isinstance(returns, dict)
    assert returns["DateOfReturn"] == "1970-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (timestamp(NOV_4_22_29_22, 147_000_000), "2025-11-04T22:29:22.147Z"),
        (timestamp(NOV_4_22_29_22), "2025-11-04T22:29:22.000Z"),
        (timestamp(NOV_4_22_29_22, 147_999_999), "2025-11-04T22:29:22.147Z"),
        (timestamp(NOV_4_22_29_22, 999_999), "2025-11-04T22:29:22.000Z"),
        (timestamp(0), "1970-01-01T00:00:00.000Z"),
        (timestamp(-62135596800), "0001-01-01T00:00:00.000Z"),
        (timestamp(253402300799, 999_000_000), "9999-12-31T23:59:59.999Z"),
    ],
)
def test_dates_are_iso_8601_utc_with_milliseconds(moment: Timestamp, expected: str) -> None:
    assert iso_date(moment) == expected


def test_a_post_status_in_xml() -> None:
    document = post_status_xml(SPEC_STATUS)
    assert document.split("\n")[:2] == [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<LeadQueueResponse xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
    ]
    root = ET.fromstring(document)
    assert root.tag == "LeadQueueResponse"
    assert [child.tag for child in root] == list(post_status_json(SPEC_STATUS))
    assert root.findtext("DateReceived") == "2025-11-04T22:29:22.147Z"
    assert root.findtext("IsValid") == "true"
    assert root.findtext("Price") == "0"


def test_post_status_details_are_nested_elements() -> None:
    document = post_status_xml(SPEC_STATUS)
    assert (
        "  <QualityControlDetails>\n"
        "    <PendingReview>false</PendingReview>\n"
        "    <DateOfReview>2025-11-04T22:29:22.770Z</DateOfReview>\n"
        "    <IsQualityControlRejected>false</IsQualityControlRejected>\n"
        "    <RejectionReason />\n"
        "  </QualityControlDetails>\n"
    ) in document


def test_an_unset_date_is_nil_in_xml() -> None:
    root = ET.fromstring(post_status_xml(SPEC_STATUS))
    date_of_return = root.find("ReturnDetails/DateOfReturn")
    assert date_of_return is not None
    assert date_of_return.get(f"{XSI}nil") == "true"
    assert '    <DateOfReturn xsi:nil="true" />\n' in post_status_xml(SPEC_STATUS)


# -- transfer agents and sends ------------------------------------------------------------------

SPEC_AGENTS = [
    leads_pb2.TransferAgent(
        client_id=1234,
        client_name="Demo Company",
        agent_name="John Smith",
        agent_phone="7025551212",
    ),
    leads_pb2.TransferAgent(
        client_id=5679,
        client_name="Acme Company",
        agent_name="Bob McCarthy",
        agent_phone="6025551212",
    ),
]
# The transfer example's ClientInfos, as the spec prints them (less its stray quote).
SPEC_CLIENT_INFOS_JSON = """[
{"ClientUID": 1234, "ClientName": "Demo Company", "AgentName": "John Smith",
 "AgentPhone": "7025551212"},
{"ClientUID": 5679, "ClientName": "Acme Company", "AgentName": "Bob McCarthy",
 "AgentPhone": "6025551212"}
]"""


def test_a_transfer_answer_lists_the_agents_after_the_post_response() -> None:
    body = post_results_json([result(agents=SPEC_AGENTS)], ["https://x/status"], agents=True)
    assert isinstance(body, dict)
    assert list(body)[-2:] == ["StatusURL", "ClientInfos"]
    assert as_pairs(body["ClientInfos"]) == pairs(SPEC_CLIENT_INFOS_JSON)


def test_a_transfer_answer_in_xml_holds_client_info_elements() -> None:
    document = post_results_xml([result(agents=SPEC_AGENTS)], [""], agents=True)
    infos = ET.fromstring(document).find("ClientInfos")
    assert infos is not None
    assert [[(c.tag, c.text) for c in info] for info in infos] == [
        [
            ("ClientUID", "1234"),
            ("ClientName", "Demo Company"),
            ("AgentName", "John Smith"),
            ("AgentPhone", "7025551212"),
        ],
        [
            ("ClientUID", "5679"),
            ("ClientName", "Acme Company"),
            ("AgentName", "Bob McCarthy"),
            ("AgentPhone", "6025551212"),
        ],
    ]
    assert {info.tag for info in infos} == {"ClientInfo"}


def test_a_transfer_nobody_took_has_empty_client_infos() -> None:
    body = post_results_json([result()], [""], agents=True)
    assert isinstance(body, dict) and body["ClientInfos"] == []
    assert "<ClientInfos />" in post_results_xml([result()], [""], agents=True)


def test_a_returnsends_answer_lists_send_info_elements() -> None:
    sends = [
        leads_pb2.SendSummary(
            client_id=1234, client_name="Demo Company", valid=True, price="25.0000"
        )
    ]
    body = post_results_json([result(sends=sends)], [""], sends=True)
    assert isinstance(body, dict) and body["Sends"] == [
        {
            "ClientUID": 1234,
            "ClientName": "Demo Company",
            "RedirectURL": "",
            "Valid": True,
            "Price": 25,
        }
    ]
    document = post_results_xml([result(sends=sends)], [""], sends=True)
    assert "<Sends>\n    <SendInfo>\n      <ClientUID>1234</ClientUID>" in document
    assert "ClientInfos" not in document


def test_an_answer_lists_sends_or_agents_not_both() -> None:
    with pytest.raises(ValueError, match="either"):
        post_results_json([result()], [""], sends=True, agents=True)


# -- queued posts (the /async URLs) ------------------------------------------------------------

SPEC_QUEUE_JSON = """{
"QueueSuccessful":true,
"PostID":"f5666260-1c2c-4bd5-9611-bb1387ca2397",
"ResponseDetails":"Lead has been queued for processing",
"StatusURL":"https://leads.leadexec.net/information/queuestatus/f5666260-1c2c-4bd5-9611-bb1387ca2397"
}"""
SPEC_QUEUE_XML = (
    '<?xml version="1.0" encoding="utf-8"?> <LeadQueueResponse '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"> '
    "<QueueSuccessful>true</QueueSuccessful> "
    "<PostID>f5666260-1c2c-4bd5-9611-bb1387ca2397</PostID> "
    "<ResponseDetails>Lead has been queued for processing</ResponseDetails> "
    "<StatusURL>https://leads.leadexec.net/information/queuestatus/"
    "f5666260-1c2c-4bd5-9611-bb1387ca2397</StatusURL> </LeadQueueResponse>"
)
QUEUED = (
    True,
    "f5666260-1c2c-4bd5-9611-bb1387ca2397",
    "Lead has been queued for processing",
    "https://leads.leadexec.net/information/queuestatus/f5666260-1c2c-4bd5-9611-bb1387ca2397",
)


def queued_status(answer: bytes, state: int = leads_pb2.QUEUE_STATE_PROCESSED) -> Any:
    status = leads_pb2.PostStatus()
    status.CopyFrom(SPEC_STATUS)
    status.queue_state = state  # type: ignore[assignment]
    if answer:
        status.date_processed.CopyFrom(timestamp(NOV_4_22_29_22, 770_000_000))
        status.answer = answer
    return status


def test_a_queued_post_is_answered_with_the_specs_json_object() -> None:
    assert as_pairs(queue_answer_json(*QUEUED)) == pairs(SPEC_QUEUE_JSON)


def test_a_queued_post_is_answered_with_the_specs_xml_document() -> None:
    assert squeeze(queue_answer_xml(*QUEUED)) == squeeze(SPEC_QUEUE_XML)


def test_a_queue_status_is_the_status_report_with_the_state_and_the_answer() -> None:
    answer = post_results_json([SPEC_RESULT], [""], array=True)
    body = queue_status_json(queued_status(json.dumps(answer).encode()))
    report = post_status_json(SPEC_STATUS)
    assert list(body) == [
        "PostID",
        "QueueStatus",
        *[k for k in report if k != "PostID"],
        "DateProcessed",
        "Response",
        "Callback",
    ]
    assert (body["QueueStatus"], body["DateProcessed"]) == ("Processed", "2025-11-04T22:29:22.770Z")
    assert body["Response"] == answer
    assert body["Callback"] is None  # it posted no returnurl


def test_a_queue_status_shows_the_callback_and_each_attempt() -> None:
    status = queued_status(b"{}")
    callback = status.callback
    callback.event_id, callback.url = "7b0c", "https://source.example/done"
    callback.state = callbacks_pb2.CALLBACK_STATE_PENDING
    callback.next_attempt_at.CopyFrom(timestamp(NOV_4_22_29_22, 0))
    failed = callback.attempts.add(number=1, http_status=502, error="answered 502")
    failed.outcome = callbacks_pb2.CALLBACK_OUTCOME_FAILED
    failed.at.CopyFrom(timestamp(NOV_4_22_29_22, 500_000_000))
    body = queue_status_json(status)
    assert body["Callback"] == {
        "EventID": "7b0c",
        "URL": "https://source.example/done",
        "State": "Pending",
        "NextAttemptOn": "2025-11-04T22:29:22.000Z",
        "FinishedOn": None,
        "Attempts": [
            {
                "Number": 1,
                "StartedOn": "2025-11-04T22:29:22.500Z",
                "Outcome": "Failed",
                "HttpStatus": 502,
                "Error": "answered 502",
            }
        ],
    }
    root = ET.fromstring(queue_status_xml(status))
    assert [a.findtext("Outcome") for a in root.iterfind("Callback/Attempts/Attempt")] == ["Failed"]
    assert root.findtext("Callback/State") == "Pending"


def test_a_post_not_processed_yet_has_no_answer() -> None:
    body = queue_status_json(queued_status(b"", leads_pb2.QUEUE_STATE_QUEUED))
    assert (body["QueueStatus"], body["DateProcessed"], body["Response"]) == ("Queued", None, None)
    root = ET.fromstring(queue_status_xml(queued_status(b"", leads_pb2.QUEUE_STATE_PROCESSING)))
    assert root.findtext("QueueStatus") == "Processing"
    response = root.find("Response")
    assert response is not None and response.get(f"{XSI}nil") == "true"


def test_a_queue_status_in_xml_holds_the_answers_root_element() -> None:
    answer = post_result_xml(SPEC_RESULT, "")
    document = queue_status_xml(queued_status(answer.encode()))
    root = ET.fromstring(document)
    assert root.tag == "LeadQueueResponse"
    assert [child.tag for child in root][:2] == ["PostID", "QueueStatus"]
    [held] = list(root.find("Response") or [])
    written = ET.fromstring(answer)
    assert held.tag == written.tag == "PostResponse"
    assert [(c.tag, c.text) for c in held] == [(c.tag, c.text) for c in written]
    assert "  <Response>\n    <PostResponse xmlns:xsd=" in document
    assert "      <PostID>f5666260-1c2c-4bd5-9611-bb1387ca2397</PostID>\n" in document
