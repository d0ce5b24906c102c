"""Reading legacy lead posts (URL-encoded, XML, JSON) into submissions and gRPC requests."""

from __future__ import annotations

import codecs
from urllib.parse import quote_from_bytes

import pytest

from gateways.receiver.forms import (
    MAX_NESTING,
    NOT_A_VALUE,
    CallData,
    Credentials,
    Lead,
    Submission,
    api_key_from_authorization,
    api_key_from_headers,
    declared_format,
    number_text,
    parse_submission,
    sniffed_format,
    to_request,
)

FORM = "application/x-www-form-urlencoded"
XML = "application/xml"
JSON = "application/json"

SPEC_FORM = b"vid=18&lid=1&aid=23&password=secret&reference=ref-1&FirstName=Ann&LastName=Lee"
SPEC_XML = b"""<Leads vid="18" lid="1" aid="23" password="secret">
  <Lead reference="ref-1">
    <FirstName>Ann</FirstName>
    <LastName>Lee</LastName>
  </Lead>
</Leads>"""

SPEC_JSON = b"""{
  "source": {"vid": 18, "aid": 23, "lid": 1, "password": "secret",
             "sendDelay": 2.0, "returnURL": "https://example.com/done"},
  "leads": [
    {"properties": {"reference": "ref-1", "noSell": false},
     "fields": {"FirstName": "Ann", "LastName": "Lee"}}
  ]
}"""

ANN_LEE = (("FirstName", "Ann"), ("LastName", "Lee"))


def parse(
    body: bytes,
    content_type: str | None = None,
    query: list[tuple[str, str]] | None = None,
    bearer_key: str = "",
) -> Submission:
    return parse_submission(body, content_type, query or [], bearer_key)


def only_lead(sub: Submission) -> Lead:
    assert sub.parse_error == ""
    assert len(sub.leads) == 1
    return sub.leads[0]


# -- choosing the format ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/x-www-form-urlencoded", "urlencoded"),
        ("x-www-form-urlencoded", "urlencoded"),
        ("application/x-www-form-urlencoded; charset=UTF-8", "urlencoded"),
        ("application/xml", "xml"),
        ("text/xml", "xml"),
        ("Text/XML; charset=iso-8859-1", "xml"),
        ("application/atom+xml", "xml"),
        ("application/json", "json"),
        ("text/json", "json"),
        ("APPLICATION/JSON;charset=utf-8", "json"),
        ("application/vnd.api+json", "json"),
        ("text/plain", None),
        ("multipart/form-data; boundary=x", None),
        ("", None),
        (None, None),
    ],
)
def test_a_content_type_declares_a_format(content_type: str | None, expected: str | None) -> None:
    assert declared_format(content_type) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<Leads/>", "xml"),
        (b"  \r\n\t<Leads/>", "xml"),
        (codecs.BOM_UTF8 + b"<Leads/>", "xml"),
        (b'{"leads": []}', "json"),
        (b"\n[]", "json"),
        (codecs.BOM_UTF8 + b"{}", "json"),
        (b"vid=1&lid=2", "urlencoded"),
        (b"FirstName=%3CAnn%3E", "urlencoded"),
        (b"", "urlencoded"),
    ],
)
def test_a_body_is_sniffed_by_its_first_character(body: bytes, expected: str) -> None:
    assert sniffed_format(body) == expected


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        (FORM, SPEC_FORM, "urlencoded"),
        ("x-www-form-urlencoded", SPEC_FORM, "urlencoded"),
        (XML, SPEC_XML, "xml"),
        ("text/xml", SPEC_XML, "xml"),
        (JSON, SPEC_JSON, "json"),
        ("text/json", SPEC_JSON, "json"),
    ],
)
def test_each_content_type_is_read_by_its_reader(
    content_type: str, body: bytes, expected: str
) -> None:
    sub = parse(body, content_type)
    assert sub.request_format == expected
    assert sub.credentials == Credentials(vid="18", lid="1", aid="23", password="secret")
    assert only_lead(sub) == Lead(reference="ref-1", no_sell=False, fields=ANN_LEE)


@pytest.mark.parametrize("content_type", [None, "", "text/plain", "application/octet-stream"])
@pytest.mark.parametrize(
    ("body", "expected"),
    [(SPEC_XML, "xml"), (SPEC_JSON, "json"), (b"vid=18&FirstName=Ann", "urlencoded")],
)
def test_a_missing_or_unknown_content_type_is_sniffed(
    content_type: str | None, body: bytes, expected: str
) -> None:
    sub = parse(body, content_type)
    assert sub.request_format == expected
    assert sub.credentials.vid == "18"
    assert only_lead(sub).fields[0] == ("FirstName", "Ann")


@pytest.mark.parametrize(("body", "expected"), [(SPEC_JSON, "json"), (SPEC_XML, "xml")])
def test_a_document_sent_as_a_form_is_read_as_the_document(body: bytes, expected: str) -> None:
    sub = parse(body, FORM)
    assert sub.request_format == expected
    assert only_lead(sub).fields == ANN_LEE


def test_a_broken_document_sent_as_a_form_reports_the_document_error() -> None:
    sub = parse(b'{"source": {"vid": 18,}}', FORM)
    assert sub.request_format == "json"
    assert sub.parse_error.startswith("JSON error at line 1, column 23:")
    assert sub.leads == ()


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        (XML, SPEC_JSON, "json"),
        (JSON, SPEC_XML, "xml"),
        (XML, b"vid=18&FirstName=Ann", "urlencoded"),
        (JSON, b"vid=18&FirstName=Ann", "urlencoded"),
    ],
)
def test_a_wrong_declared_type_falls_back_to_the_sniffed_format(
    content_type: str, body: bytes, expected: str
) -> None:
    sub = parse(body, content_type)
    assert sub.request_format == expected
    assert sub.parse_error == ""
    assert sub.credentials.vid == "18"


def test_a_broken_body_without_equals_sign_is_not_read_as_a_form() -> None:
    sub = parse(b"not json at all", JSON)
    assert sub.request_format == "json"
    assert sub.parse_error == "JSON error at line 1, column 1: Expecting value"


def test_when_no_reading_works_the_declared_formats_error_is_reported() -> None:
    sub = parse(b"<Leads><Lead></Leads>", JSON)
    assert sub.request_format == "json"
    assert sub.parse_error == "JSON error at line 1, column 1: Expecting value"


@pytest.mark.parametrize("content_type", [XML, JSON, FORM, None])
@pytest.mark.parametrize("body", [b"", b" \r\n"])
def test_an_empty_body_is_read_from_the_query_string(content_type: str | None, body: bytes) -> None:
    sub = parse(body, content_type, [("vid", "18"), ("FirstName", "Ann")])
    assert sub.request_format == "urlencoded"
    assert sub.credentials.vid == "18"
    assert only_lead(sub).fields == (("FirstName", "Ann"),)


def test_missing_pieces_are_not_errors() -> None:
    sub = parse(b"FirstName=Ann", FORM)
    assert sub.parse_error == ""
    assert sub.credentials == Credentials()
    assert (sub.send_delay_hours, sub.return_url) == ("", "")


# -- URL-encoded --------------------------------------------------------------------------------


def test_a_form_is_read_into_request_values_lead_properties_and_fields() -> None:
    body = (
        b"vid=18&lid=1&aid=23&password=secret&returnurl=https%3A%2F%2Fexample.com%2Fdone"
        b"&senddelay=2&reference=ref-1&nosell=true&FirstName=Ann&LastName=Lee"
    )
    sub = parse(body, FORM, bearer_key="lr_abc_def")
    assert sub.credentials == Credentials("18", "1", "23", "secret", "lr_abc_def")
    assert sub.return_url == "https://example.com/done"
    assert sub.send_delay_hours == "2"
    assert only_lead(sub) == Lead(reference="ref-1", no_sell=True, fields=ANN_LEE)


@pytest.mark.parametrize(
    "body",
    [
        b"VID=18&LID=1&AID=23&PASSWORD=secret&RETURNURL=u&SENDDELAY=2&REFERENCE=r&NOSELL=1",
        b"Vid=18&Lid=1&Aid=23&PassWord=secret&ReturnUrl=u&SendDelay=2&Reference=r&NoSell=1",
    ],
)
def test_reserved_form_names_ignore_case(body: bytes) -> None:
    sub = parse(body + b"&FirstName=Ann", FORM)
    assert sub.credentials == Credentials("18", "1", "23", "secret")
    assert (sub.return_url, sub.send_delay_hours) == ("u", "2")
    assert only_lead(sub) == Lead(reference="r", no_sell=True, fields=(("FirstName", "Ann"),))


@pytest.mark.parametrize("name", ["response_type", "Response_Type"])
def test_response_type_is_dropped(name: str) -> None:
    sub = parse(f"{name}=x&FirstName=Ann".encode(), FORM)
    assert only_lead(sub).fields == (("FirstName", "Ann"),)


@pytest.mark.parametrize("name", ["orderid", "OrderID"])
def test_the_order_id_is_a_request_value(name: str) -> None:
    sub = parse(f"{name}=abc&FirstName=Ann".encode(), FORM)
    assert sub.order_id == "abc"
    assert only_lead(sub).fields == (("FirstName", "Ann"),)


def test_the_order_id_is_read_from_a_json_source_and_the_query_string() -> None:
    body = b'{"source": {"vid": 18, "orderId": "abc"}, "leads": [{"fields": {"Age": 30}}]}'
    assert parse(body, JSON).order_id == "abc"
    assert parse(b"FirstName=Ann", FORM, [("orderid", "def")]).order_id == "def"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"VisitID=v-1&FirstName=Ann", FORM),
        (b"visit_id=v-1&FirstName=Ann", FORM),
        (b'<Leads vid="18"><Lead visitid="v-1"><FirstName>Ann</FirstName></Lead></Leads>', XML),
        (
            b'<Leads vid="18"><Lead><VisitID>v-1</VisitID>'
            b"<FirstName>Ann</FirstName></Lead></Leads>",
            XML,
        ),
        (b'{"leads": [{"properties": {"visitId": "v-1"}, "fields": {"FirstName": "Ann"}}]}', JSON),
        (b'{"leads": [{"fields": {"VisitID": "v-1", "FirstName": "Ann"}}]}', JSON),
    ],
)
def test_the_visit_id_is_a_lead_property_in_every_format(body: bytes, content_type: str) -> None:
    lead = only_lead(parse(body, content_type))
    assert (lead.visit_id, lead.fields) == ("v-1", (("FirstName", "Ann"),))
    assert to_request(parse(body, content_type), body, "").leads[0].visit_id == "v-1"


def test_form_fields_keep_their_order_and_case() -> None:
    sub = parse(b"zeta=1&Alpha=2&MIDDLE=3", FORM)
    assert only_lead(sub).fields == (("zeta", "1"), ("Alpha", "2"), ("MIDDLE", "3"))


def test_repeated_form_fields_are_passed_on_as_posted() -> None:
    sub = parse(b"Phone=1&Phone=2", FORM)
    assert only_lead(sub).fields == (("Phone", "1"), ("Phone", "2"))


def test_credentials_may_come_from_the_query_string_alone() -> None:
    query = [("vid", "18"), ("lid", "1"), ("aid", "23"), ("password", "secret")]
    sub = parse(b"FirstName=Ann", FORM, query)
    assert sub.credentials == Credentials("18", "1", "23", "secret")
    assert only_lead(sub).fields == (("FirstName", "Ann"),)


def test_the_body_wins_over_the_query_string() -> None:
    sub = parse(b"vid=18&reference=body", FORM, [("vid", "99"), ("reference", "query")])
    assert sub.credentials.vid == "18"
    assert only_lead(sub).reference == "body"


def test_an_empty_body_value_is_filled_from_the_query_string() -> None:
    sub = parse(b"vid=&lid=&aid=&password=&FirstName=Ann", FORM, [("VID", "18"), ("lid", "1")])
    assert (sub.credentials.vid, sub.credentials.lid) == ("18", "1")


def test_the_first_non_empty_repeated_value_wins() -> None:
    sub = parse(b"vid=&vid=18&vid=19", FORM)
    assert sub.credentials.vid == "18"


def test_query_fields_follow_the_body_fields() -> None:
    sub = parse(b"FirstName=Ann", FORM, [("Source", "web"), ("LastName", "Lee")])
    fields = (("FirstName", "Ann"), ("Source", "web"), ("LastName", "Lee"))
    assert only_lead(sub).fields == fields


def test_a_query_field_the_body_also_has_is_dropped() -> None:
    sub = parse(b"FirstName=Ann", FORM, [("firstname", "Query"), ("City", "Reno")])
    assert only_lead(sub).fields == (("FirstName", "Ann"), ("City", "Reno"))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"Name=Ann+Lee", "Ann Lee"),
        (b"Name=Ann%20Lee", "Ann Lee"),
        (b"Name=a%2Bb%26c%3Dd", "a+b&c=d"),
        (b"Name=Jos%C3%A9", "José"),
        ("Name=José".encode(), "José"),
        (b"Name=Jos%E9", "José"),
        (b"Name=Jos\xe9", "José"),
        (b"Name=100%", "100%"),
        (b"Name=", ""),
        (b"Name", ""),
        (b"Name=a=b", "a=b"),
    ],
)
def test_form_values_are_decoded(body: bytes, expected: str) -> None:
    assert only_lead(parse(body, FORM)).fields == (("Name", expected),)


def test_the_windows_1252_fallback_is_per_value() -> None:
    sub = parse(b"A=Jos%E9&B=Jos%C3%A9", FORM)
    assert only_lead(sub).fields == (("A", "José"), ("B", "José"))


def test_form_names_are_decoded_too() -> None:
    sub = parse(b"First+Name=Ann&Stra%C3%9Fe=1", FORM)
    assert only_lead(sub).fields == (("First Name", "Ann"), ("Straße", "1"))


def test_a_trailing_newline_is_not_part_of_the_last_value() -> None:
    assert only_lead(parse(b"A=1&B=2\r\n", FORM)).fields == (("A", "1"), ("B", "2"))


def test_empty_pairs_and_empty_names_are_dropped() -> None:
    assert only_lead(parse(b"&A=1&&=x&B=2&", FORM)).fields == (("A", "1"), ("B", "2"))


def test_form_values_are_not_trimmed() -> None:
    assert only_lead(parse(b"A=+1+", FORM)).fields == (("A", " 1 "),)


def test_a_form_post_is_always_one_lead() -> None:
    assert parse(b"vid=18", FORM).leads == (Lead(),)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("on", True),
        (" true ", True),
        ("false", False),
        ("0", False),
        ("no", False),
        ("", False),
        ("maybe", False),
    ],
)
def test_nosell_reads_common_true_values(value: str, expected: bool) -> None:
    assert only_lead(parse(f"nosell={value}".encode(), FORM)).no_sell is expected


# -- XML ----------------------------------------------------------------------------------------


def test_an_xml_post_is_read() -> None:
    body = (
        b'<Leads vid="18" lid="1" aid="23" password="secret" returnurl="https://e.com/d"'
        b' senddelay="2"><Lead reference="ref-1" nosell="true">'
        b"<FirstName>Ann</FirstName><LastName>Lee</LastName></Lead></Leads>"
    )
    sub = parse(body, XML, bearer_key="key")
    assert sub.credentials == Credentials("18", "1", "23", "secret", "key")
    assert (sub.return_url, sub.send_delay_hours) == ("https://e.com/d", "2")
    assert only_lead(sub) == Lead(reference="ref-1", no_sell=True, fields=ANN_LEE)


def test_several_xml_leads_are_read_in_order() -> None:
    body = (
        b'<Leads vid="18"><Lead reference="a"><N>1</N></Lead>'
        b'<Lead reference="b"><N>2</N></Lead><Lead reference="c"><N>3</N></Lead></Leads>'
    )
    leads = parse(body, XML).leads
    assert [(lead.reference, lead.fields) for lead in leads] == [
        ("a", (("N", "1"),)),
        ("b", (("N", "2"),)),
        ("c", (("N", "3"),)),
    ]


def test_xml_reserved_names_ignore_case() -> None:
    body = (
        b'<LEADS VID="18" Lid="1" aID="23" PassWord="secret" ReturnURL="u" SendDelay="2">'
        b'<lead Reference="r" NoSell="1"><A>x</A></lead></LEADS>'
    )
    sub = parse(body, XML)
    assert sub.credentials == Credentials("18", "1", "23", "secret")
    assert (sub.return_url, sub.send_delay_hours) == ("u", "2")
    assert only_lead(sub) == Lead(reference="r", no_sell=True, fields=(("A", "x"),))


def test_xml_field_text_is_trimmed_and_an_empty_element_is_an_empty_value() -> None:
    body = b"<Leads><Lead><FirstName>\n   Ann  \n</FirstName><City /><State></State></Lead></Leads>"
    assert only_lead(parse(body, XML)).fields == (
        ("FirstName", "Ann"),
        ("City", ""),
        ("State", ""),
    )


@pytest.mark.parametrize(
    ("element", "expected"),
    [
        (b"<A>Tom &amp; Jerry</A>", "Tom & Jerry"),
        (b"<A>&lt;b&gt; &quot;q&quot; &apos;s&apos;</A>", "<b> \"q\" 's'"),
        (b"<A>Jos&#233; &#x263A;</A>", "José ☺"),
        (b"<A><![CDATA[<b>bold</b> & co]]></A>", "<b>bold</b> & co"),
        (b"<A>one<!-- note -->two</A>", "onetwo"),
        (b"<A>Main <B>St</B> 5</A>", "Main St 5"),
    ],
)
def test_xml_field_text_is_decoded(element: bytes, expected: str) -> None:
    body = b"<Leads><Lead>" + element + b"</Lead></Leads>"
    assert only_lead(parse(body, XML)).fields == (("A", expected),)


def test_xml_credentials_fall_back_to_the_query_string() -> None:
    query = [("vid", "18"), ("lid", "1"), ("aid", "23"), ("password", "secret")]
    sub = parse(b'<Leads aid=""><Lead><A>x</A></Lead></Leads>', XML, query)
    assert sub.credentials == Credentials("18", "1", "23", "secret")


def test_xml_attributes_win_over_the_query_string() -> None:
    sub = parse(b'<Leads vid="18"><Lead/></Leads>', XML, [("vid", "99")])
    assert sub.credentials.vid == "18"


def test_query_fields_are_not_added_to_xml_leads() -> None:
    sub = parse(b"<Leads><Lead><A>x</A></Lead></Leads>", XML, [("B", "y"), ("reference", "r")])
    assert only_lead(sub) == Lead(fields=(("A", "x"),))


def test_xml_request_values_may_be_child_elements_of_leads() -> None:
    body = b"<Leads><Vid>18</Vid><password> secret </password><Lead><A>x</A></Lead></Leads>"
    sub = parse(body, XML)
    assert (sub.credentials.vid, sub.credentials.password) == ("18", "secret")
    assert only_lead(sub).fields == (("A", "x"),)


def test_reserved_child_elements_of_a_lead_are_not_fields() -> None:
    body = (
        b"<Leads><Lead><vid>18</vid><Reference>r</Reference><NoSell>true</NoSell>"
        b"<OrderID>o</OrderID><A>x</A></Lead></Leads>"
    )
    sub = parse(body, XML)
    assert sub.credentials.vid == "18"
    assert only_lead(sub) == Lead(reference="r", no_sell=True, fields=(("A", "x"),))


def test_a_lead_attribute_wins_over_its_child_element() -> None:
    body = b'<Leads><Lead reference="attr"><reference>child</reference></Lead></Leads>'
    assert only_lead(parse(body, XML)).reference == "attr"


def test_other_lead_attributes_are_not_fields() -> None:
    body = b'<Leads><Lead id="7" reference="r"><A>x</A></Lead></Leads>'
    assert only_lead(parse(body, XML)).fields == (("A", "x"),)


def test_other_children_of_leads_are_ignored() -> None:
    body = b"<Leads><Note>hi</Note><Lead><A>x</A></Lead></Leads>"
    assert only_lead(parse(body, XML)).fields == (("A", "x"),)


def test_a_bare_lead_root_is_one_lead() -> None:
    body = b'<Lead vid="18" reference="r"><A>x</A></Lead>'
    sub = parse(body, XML)
    assert sub.credentials.vid == "18"
    assert only_lead(sub) == Lead(reference="r", fields=(("A", "x"),))


def test_leads_without_lead_elements_is_no_leads() -> None:
    sub = parse(b'<Leads vid="18" />', XML)
    assert (sub.parse_error, sub.leads, sub.credentials.vid) == ("", (), "18")


def test_another_root_element_is_an_error() -> None:
    sub = parse(b"<Customer><A>x</A></Customer>", XML)
    assert sub.parse_error == "XML error: the root element must be <Leads>, not <Customer>"
    assert sub.leads == ()


def test_namespace_prefixes_are_dropped() -> None:
    body = (
        b'<l:Leads xmlns:l="urn:x" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        b'l:vid="18"><l:Lead><l:FirstName>Ann</l:FirstName></l:Lead></l:Leads>'
    )
    sub = parse(body, XML)
    assert sub.credentials.vid == "18"
    assert only_lead(sub).fields == (("FirstName", "Ann"),)


def test_an_xml_declaration_and_processing_instructions_are_fine() -> None:
    body = b'<?xml version="1.0" encoding="utf-8"?>\n<?app x?>\n' + SPEC_XML
    assert only_lead(parse(body, XML)).fields == ANN_LEE


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<Leads><Lead></Leads>", "XML error at line 1, column 16: mismatched tag"),
        (
            b'<Leads vid="1">\n  <Lead>\n    <A>x</B>\n  </Lead>\n</Leads>',
            "XML error at line 3, column 11: mismatched tag",
        ),
        (b"<Leads>&nbsp;</Leads>", "XML error at line 1, column 8: undefined entity"),
        (b"<Leads", "XML error at line 1, column 1: unclosed token"),
        (b"<Leads a=1/>", "XML error at line 1, column 10: not well-formed (invalid token)"),
        (b"<Leads/><Leads/>", "XML error at line 1, column 9: junk after document element"),
    ],
)
def test_malformed_xml_is_reported_with_its_line_and_column(body: bytes, expected: str) -> None:
    sub = parse(body, XML)
    assert (sub.request_format, sub.parse_error, sub.leads) == ("xml", expected, ())


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Leads><Lead><FirstName>&lol9;</FirstName></Lead></Leads>"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # expanded, this would be 10**9 "lol"s: refused at the DTD, before any entity is read
        (BILLION_LAUGHS, "XML error at line 2, column 16: DTDs and entities are not allowed"),
        (
            b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b"<Leads><Lead><A>&e;</A></Lead></Leads>",
            "XML error at line 1, column 13: DTDs and entities are not allowed",
        ),
        (
            b'<!DOCTYPE Leads SYSTEM "http://example.com/leads.dtd"><Leads/>',
            "XML error at line 1, column 54: DTDs and entities are not allowed",
        ),
        (
            b'<!DOCTYPE x [<!ENTITY % p SYSTEM "http://example.com/p.dtd"> %p;]><Leads/>',
            "XML error at line 1, column 13: DTDs and entities are not allowed",
        ),
        (
            b"<!DOCTYPE Leads><Leads/>",
            "XML error at line 1, column 16: DTDs and entities are not allowed",
        ),
    ],
    ids=["billion-laughs", "external-entity", "external-dtd", "parameter-entity", "bare-doctype"],
)
def test_dtds_and_entities_are_refused(body: bytes, expected: str) -> None:
    sub = parse(body, XML)
    assert (sub.parse_error, sub.leads) == (expected, ())


def test_a_dtd_is_refused_when_sniffed_too() -> None:
    sub = parse(BILLION_LAUGHS, None)
    assert sub.request_format == "xml"
    assert "DTDs and entities are not allowed" in sub.parse_error


CITY_JOSE = "<Leads><Lead><City>José</City></Lead></Leads>"


@pytest.mark.parametrize(
    "body",
    [
        CITY_JOSE.encode("latin-1"),
        b'<?xml version="1.0" encoding="utf-8"?>' + CITY_JOSE.encode("latin-1"),
        b'<?xml version="1.0" encoding="ISO-8859-1"?>' + CITY_JOSE.encode("latin-1"),
        CITY_JOSE.encode(),
        ('<?xml version="1.0" encoding="utf-16"?>' + CITY_JOSE).encode("utf-16"),
    ],
    ids=["latin-1", "latin-1-declared-utf-8", "declared-latin-1", "utf-8", "utf-16"],
)
def test_xml_text_is_decoded_with_a_windows_1252_fallback(body: bytes) -> None:
    assert only_lead(parse(body, XML)).fields == (("City", "José"),)


def test_a_latin_1_body_with_a_real_error_reports_the_original_error() -> None:
    sub = parse(b"<Leads><Lead><City>Jos\xe9</City></Leads>", XML)
    assert sub.parse_error.startswith("XML error at line 1, column ")
    assert sub.leads == ()


def test_a_field_nested_up_to_the_limit_is_read_as_its_text() -> None:
    depth = MAX_NESTING - 3  # inside <Leads><Lead><A>
    body = b"<Leads><Lead><A>" + b"<b>" * depth + b"x" + b"</b>" * depth + b"</A></Lead></Leads>"
    assert only_lead(parse(body, XML)).fields == (("A", "x"),)


@pytest.mark.parametrize("depth", [MAX_NESTING - 2, 50_000])
def test_xml_nested_past_the_limit_is_an_error_where_it_goes_too_deep(depth: int) -> None:
    body = b"<Leads><Lead><A>" + b"<b>" * depth + b"x" + b"</b>" * depth + b"</A></Lead></Leads>"
    column = len(b"<Leads><Lead><A>") + 3 * (MAX_NESTING - 3) + 1
    assert parse(body, XML).parse_error == (
        f"XML error at line 1, column {column}: elements are nested deeper than "
        f"{MAX_NESTING} levels"
    )


@pytest.mark.parametrize(
    ("declared", "reason"),
    [
        ("n", "unknown encoding: n"),
        ("rot13", "'rot13' is not a text encoding; use codecs.decode() to handle arbitrary codecs"),
        ("utf-7", "multi-byte encodings are not supported"),
    ],
)
def test_an_xml_encoding_expat_cannot_read_is_named_in_the_error(
    declared: str, reason: str
) -> None:
    body = f'<?xml version="1.0" encoding="{declared}"?><Leads><Lead/></Leads>'.encode()
    assert parse(body, XML).parse_error == (
        f"XML error: the declared encoding cannot be read ({reason})"
    )


# -- multipart/form-data ------------------------------------------------------------------------

MULTIPART = "multipart/form-data; boundary=XyZ"


def multipart(*parts: tuple[str, bytes], filename: str = "") -> bytes:
    file = f'; filename="{filename}"' if filename else ""
    body = b"".join(
        b'--XyZ\r\nContent-Disposition: form-data; name="%s"%s\r\n\r\n%s\r\n'
        % (name.encode(), file.encode(), value)
        for name, value in parts
    )
    return body + b"--XyZ--\r\n"


def test_a_multipart_form_is_read_as_a_url_encoded_one() -> None:
    body = multipart(
        ("vid", b"18"), ("password", b"secret"), ("reference", b"r"), ("FirstName", b"Ren\xc3\xa9")
    )
    sub = parse(body, MULTIPART, query=[("lid", "1"), ("City", "Reno")])
    assert sub.request_format == "urlencoded"
    assert sub.credentials == Credentials("18", "1", "", "secret")
    assert only_lead(sub) == Lead(reference="r", fields=(("FirstName", "René"), ("City", "Reno")))


def test_multipart_values_keep_their_lines_and_fall_back_to_windows_1252() -> None:
    body = multipart(("Notes", b"one\r\ntwo"), ("Name", b"Ren\xe9"), filename="notes.txt")
    assert only_lead(parse(body, MULTIPART)).fields == (("Notes", "one\r\ntwo"), ("Name", "René"))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (multipart(("vid", b"18"))[:-9], "the body ends before its closing boundary"),
        (b"vid=18&lid=1", "Expected boundary character"),
    ],
)
def test_a_multipart_body_that_does_not_parse_is_unreadable(body: bytes, expected: str) -> None:
    sub = parse(body, MULTIPART)
    assert sub.parse_error.startswith("multipart/form-data error: ")
    assert expected in sub.parse_error and sub.leads == ()


def test_multipart_without_a_boundary_is_sniffed() -> None:
    sub = parse(b"vid=18&FirstName=Ann", "multipart/form-data")
    assert (sub.credentials.vid, only_lead(sub).fields) == ("18", (("FirstName", "Ann"),))


# -- text that is not UTF-8 ----------------------------------------------------------------------

# quotes and a dash: Windows-1252's 0x92, 0x96, 0x93 and 0x94, which Latin-1 lacks
O_BRIEN = "O\u2019Brien \u2013 \u201cJr.\u201d"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"Name=" + quote_from_bytes(O_BRIEN.encode("cp1252")).encode(), FORM),
        (b'{"Name": "' + O_BRIEN.encode("cp1252") + b'"}', JSON),
        (b"<Lead><Name>" + O_BRIEN.encode("cp1252") + b"</Name></Lead>", XML),
        (
            b'<?xml version="1.0" encoding="ISO-8859-1"?><Lead><Name>'
            + O_BRIEN.encode("cp1252")
            + b"</Name></Lead>",
            XML,
        ),
        (
            b"<?xml version='1.0' encoding='latin1'?><Lead><Name>"
            + O_BRIEN.encode("cp1252")
            + b"</Name></Lead>",
            XML,
        ),
        (multipart(("Name", O_BRIEN.encode("cp1252"))), MULTIPART),
    ],
    ids=["form", "json", "xml", "xml-declared-iso-8859-1", "xml-declared-latin1", "multipart"],
)
def test_text_that_is_not_utf_8_is_read_as_windows_1252(body: bytes, content_type: str) -> None:
    """Windows programs (classic ASP, .NET with a code page) write their text so, and label it
    Latin-1 as often as not: read as Latin-1, its quotes would be stored as control characters."""
    assert only_lead(parse(body, content_type)).fields == (("Name", O_BRIEN),)


def test_the_five_bytes_windows_1252_leaves_unassigned_are_read_as_latin_1() -> None:
    assert only_lead(parse(b"Name=%81%8D%8F%90%9D%92", FORM)).fields == (
        ("Name", "\x81\x8d\x8f\x90\x9d\u2019"),
    )


# -- JSON ---------------------------------------------------------------------------------------


def test_a_json_post_is_read() -> None:
    sub = parse(SPEC_JSON, JSON, bearer_key="key")
    assert sub.credentials == Credentials("18", "1", "23", "secret", "key")
    assert (sub.send_delay_hours, sub.return_url) == ("2", "https://example.com/done")
    assert only_lead(sub) == Lead(reference="ref-1", no_sell=False, fields=ANN_LEE)


def test_several_json_leads_are_read_in_order() -> None:
    body = b"""{"source": {"vid": 18}, "leads": [
        {"properties": {"reference": "a"}, "fields": {"N": "1"}},
        {"properties": {"reference": "b", "noSell": true}, "fields": {"N": "2"}},
        {"fields": {"N": "3"}}
    ]}"""
    leads = parse(body, JSON).leads
    assert leads == (
        Lead(reference="a", fields=(("N", "1"),)),
        Lead(reference="b", no_sell=True, fields=(("N", "2"),)),
        Lead(fields=(("N", "3"),)),
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"source": {"returnURL": "u", "sendDelay": 2}, "leads": []}',
        b'{"source": {"returnUrl": "u", "senddelay": 2}, "leads": []}',
        b'{"source": {"returnurl": "u", "SENDDELAY": 2}, "leads": []}',
        b'{"Source": {"ReturnURL": "u", "SendDelay": 2}, "Leads": []}',
    ],
)
def test_json_keys_ignore_case(body: bytes) -> None:
    sub = parse(body, JSON)
    assert (sub.return_url, sub.send_delay_hours, sub.parse_error) == ("u", "2", "")


def test_json_lead_keys_ignore_case() -> None:
    body = b'{"LEADS": [{"Properties": {"Reference": "r", "NOSELL": true}, "FIELDS": {"a": "x"}}]}'
    assert only_lead(parse(body, JSON)) == Lead(reference="r", no_sell=True, fields=(("a", "x"),))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"18", "18"),
        (b"18.0", "18"),
        (b'"18"', "18"),
        (b'" 18 "', " 18 "),
        (b"-3", "-3"),
        (b"1.5", "1.5"),
        (b"null", ""),
        (b'""', ""),
        (b"true", "true"),
    ],
)
def test_json_identifiers_may_be_numbers_or_strings(value: bytes, expected: str) -> None:
    body = b'{"source": {"vid": ' + value + b', "lid": ' + value + b', "aid": ' + value + b"}}"
    assert parse(body, JSON).credentials == Credentials(expected, expected, expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b'"Ann"', "Ann"),
        (b'"  padded  "', "  padded  "),
        (b'"Jos\\u00e9 \\ud83d\\ude00"', "José 😀"),
        (b"25", "25"),
        (b"-7", "-7"),
        (b"25.0", "25"),
        (b"12.50", "12.5"),
        (b"0.1", "0.1"),
        (b"-0.0", "0"),
        (b"1e3", "1000"),
        (b"1.5E-3", "0.0015"),
        (b"12345678901234567890123", "12345678901234567890123"),
        (b"1e100", "1e100"),
        (b"true", "true"),
        (b"false", "false"),
        (b"null", ""),
    ],
)
def test_json_field_values_become_text(value: bytes, expected: str) -> None:
    body = b'{"leads": [{"fields": {"A": ' + value + b"}}]}"
    assert only_lead(parse(body, JSON)).fields == (("A", expected),)


@pytest.mark.parametrize(
    ("value", "kind"),
    [(b'[1, 2.50, "a"]', "an array"), (b"[]", "an array"), (b'{"a": [true]}', "an object")],
)
def test_a_json_field_holding_an_array_or_an_object_is_refused_by_name(
    value: bytes, kind: str
) -> None:
    body = b'{"leads": [{"fields": {"FirstName": "Ann", "Address": ' + value + b"}}]}"
    sub = parse(body, JSON)
    assert sub.parse_error == f"JSON error: {NOT_A_VALUE}: Address is {kind}"
    assert sub.leads == ()


def test_every_json_field_holding_no_value_is_named_with_its_lead() -> None:
    body = (
        b'{"leads": [{"fields": {"A": "x", "Tags": ["a"]}}, '
        b'{"fields": {"Home": {"Zip": "89101"}, "Work": []}}]}'
    )
    assert parse(body, JSON).parse_error == (
        f"JSON error: {NOT_A_VALUE}: Tags (lead 1) is an array; Home (lead 2) is an object; "
        "Work (lead 2) is an array"
    )


def test_source_and_property_values_holding_json_are_still_read_as_its_text() -> None:
    body = b'{"source": {"vid": [18]}, "leads": [{"properties": {"reference": {"a": 1}}}]}'
    sub = parse(body, JSON)
    assert (sub.parse_error, sub.credentials.vid, only_lead(sub).reference) == (
        "",
        "[18]",
        '{"a":1}',
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"true", True),
        (b"false", False),
        (b"1", True),
        (b"0", False),
        (b"0.0", False),
        (b'"true"', True),
        (b'"yes"', True),
        (b'"false"', False),
        (b"null", False),
        (b"{}", False),
    ],
)
def test_json_no_sell_reads_booleans_numbers_and_strings(value: bytes, expected: bool) -> None:
    body = b'{"leads": [{"properties": {"noSell": ' + value + b"}}]}"
    assert only_lead(parse(body, JSON)).no_sell is expected


def test_json_fields_keep_their_order_and_repeated_keys() -> None:
    body = b'{"leads": [{"fields": {"Zeta": "1", "alpha": "2", "Zeta": "3"}}]}'
    assert only_lead(parse(body, JSON)).fields == (("Zeta", "1"), ("alpha", "2"), ("Zeta", "3"))


def test_reserved_names_in_json_fields_are_not_fields() -> None:
    body = b"""{"source": {"vid": 18}, "leads": [{"fields":
        {"vid": 99, "Password": "secret", "reference": "r", "noSell": true, "A": "x"}}]}"""
    sub = parse(body, JSON)
    assert (sub.credentials.vid, sub.credentials.password) == ("18", "secret")
    assert only_lead(sub) == Lead(reference="r", no_sell=True, fields=(("A", "x"),))


def test_json_credentials_fall_back_to_the_query_string() -> None:
    query = [("vid", "18"), ("lid", "1"), ("password", "secret"), ("FirstName", "ignored")]
    sub = parse(b'{"source": {"vid": null, "aid": 23}, "leads": [{}]}', JSON, query)
    assert sub.credentials == Credentials("18", "1", "23", "secret")
    assert only_lead(sub) == Lead()


def test_a_top_level_json_array_is_the_leads() -> None:
    body = b'[{"fields": {"N": "1"}}, {"fields": {"N": "2"}}]'
    assert [lead.fields for lead in parse(body, JSON).leads] == [(("N", "1"),), (("N", "2"),)]


def test_a_json_object_with_fields_is_one_lead() -> None:
    body = b'{"properties": {"reference": "r"}, "fields": {"N": "1"}}'
    assert only_lead(parse(body, JSON)) == Lead(reference="r", fields=(("N", "1"),))


def test_a_flat_json_object_is_one_lead_read_as_a_form_is() -> None:
    body = (
        b'{"vid": 18, "LID": "1", "aid": 23, "password": "secret", "returnURL": "u",'
        b' "reference": "r", "noSell": true, "FirstName": "Ann", "Age": 30, "Note": null}'
    )
    sub = parse(body, "text/plain")  # a browser's fetch() without headers sends this type
    assert sub.request_format == "json"
    assert (sub.credentials, sub.return_url) == (Credentials("18", "1", "23", "secret"), "u")
    assert only_lead(sub) == Lead(
        reference="r", no_sell=True, fields=(("FirstName", "Ann"), ("Age", "30"), ("Note", ""))
    )


def test_an_array_of_flat_json_leads_is_read_in_order() -> None:
    body = b'[{"vid": 18, "N": "1"}, {"N": "2", "reference": "b"}]'
    sub = parse(body, JSON)
    assert sub.credentials.vid == "18"
    assert sub.leads == (Lead(fields=(("N", "1"),)), Lead(reference="b", fields=(("N", "2"),)))


def test_a_flat_json_field_holding_an_array_or_an_object_is_refused_by_name() -> None:
    body = b'[{"vid": 18, "Phone": ["1"]}, {"Home": {"Zip": "89101"}}]'
    assert parse(body, JSON).parse_error == (
        f"JSON error: {NOT_A_VALUE}: Phone (lead 1) is an array; Home (lead 2) is an object"
    )


def test_a_flat_v2_json_lead_reads_its_tags_and_offer() -> None:
    body = b'{"vid": 18, "tags": ["a", "b"], "offer": {"id": "7", "consent": true}, "N": "1"}'
    lead = parse_submission(body, JSON, [], "key", v2=True).leads[0]
    assert (lead.tags, lead.fields) == (("a", "b"), (("N", "1"),))
    assert ("consent", "true") in lead.offer


def test_a_json_object_with_a_source_and_no_leads_is_not_read_flat() -> None:
    sub = parse(b'{"source": {"vid": 18}, "FirstName": "Ann"}', JSON)
    assert (sub.credentials.vid, sub.leads) == ("18", ())


@pytest.mark.parametrize("body", [b"{}", b'{"source": {"vid": 18}}', b'{"leads": []}', b"[]"])
def test_json_without_leads_is_no_leads(body: bytes) -> None:
    sub = parse(body, JSON)
    assert (sub.parse_error, sub.leads) == ("", ())


def test_other_json_properties_are_ignored() -> None:
    body = b'{"leads": [{"properties": {"reference": "r", "priority": 1}, "extra": {"A": 1}}]}'
    assert only_lead(parse(body, JSON)) == Lead(reference="r")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"source": {"vid": 18,}}',
            "JSON error at line 1, column 23: Expecting property name enclosed in double quotes",
        ),
        (
            b'{\n  "leads": [\n    {"fields": {"A": 1,}}\n  ]\n}',
            "JSON error at line 3, column 24: Expecting property name enclosed in double quotes",
        ),
        (b'{"a": "b"', "JSON error at line 1, column 10: Expecting ',' delimiter"),
        (b'{"a": "b"} x', "JSON error at line 1, column 12: Extra data"),
        (b"{\"a\": 'b'}", "JSON error at line 1, column 7: Expecting value"),
    ],
)
def test_malformed_json_is_reported_with_its_line_and_column(body: bytes, expected: str) -> None:
    sub = parse(body, JSON)
    assert (sub.request_format, sub.parse_error, sub.leads) == ("json", expected, ())


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'"text"', 'the body must be an object with "source" and "leads"'),
        (b"5", 'the body must be an object with "source" and "leads"'),
        (b'{"source": [], "leads": []}', '"source" must be an object'),
        (b'{"leads": {}}', '"leads" must be an array'),
        (b'{"leads": "x"}', '"leads" must be an array'),
        (b'{"leads": [1]}', 'each lead in "leads" must be an object'),
        (b'{"leads": [{"fields": []}]}', '"fields" must be an object'),
        (b'{"leads": [{"properties": "x"}]}', '"properties" must be an object'),
    ],
)
def test_json_of_the_wrong_shape_is_an_error(body: bytes, expected: str) -> None:
    sub = parse(body, JSON)
    assert (sub.parse_error, sub.leads) == (f"JSON error: {expected}", ())


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 100_000])
def test_json_nested_past_the_limit_is_an_error_not_a_crash(depth: int) -> None:
    sub = parse(b"[" * depth + b"]" * depth, JSON)
    assert sub.parse_error == (
        f"JSON error: objects and arrays are nested deeper than {MAX_NESTING} levels"
    )


def test_a_json_field_value_nested_up_to_the_limit_is_refused_as_no_value() -> None:
    inner = "[" * (MAX_NESTING - 4) + "]" * (MAX_NESTING - 4)  # inside {"leads": [{"fields"
    body = f'{{"leads": [{{"fields": {{"A": {inner}}}}}]}}'.encode()
    assert parse(body, JSON).parse_error == f"JSON error: {NOT_A_VALUE}: A is an array"


@pytest.mark.parametrize(
    "body",
    [
        '{"leads": [{"fields": {"City": "José"}}]}'.encode(),
        codecs.BOM_UTF8 + '{"leads": [{"fields": {"City": "José"}}]}'.encode(),
        '{"leads": [{"fields": {"City": "José"}}]}'.encode("utf-16-le"),
        '{"leads": [{"fields": {"City": "José"}}]}'.encode("utf-16"),
        '{"leads": [{"fields": {"City": "José"}}]}'.encode("latin-1"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le", "utf-16-bom", "latin-1"],
)
def test_json_text_is_decoded_with_a_latin_1_fallback(body: bytes) -> None:
    assert only_lead(parse(body, JSON)).fields == (("City", "José"),)


def test_lone_surrogates_in_json_are_replaced() -> None:
    body = b'{"source": {"password": "a\\ud800"}, "leads": [{"fields": {"N\\udfff": "x\\ud800"}}]}'
    sub = parse(body, JSON)
    assert sub.credentials.password == "a?"
    assert only_lead(sub).fields == (("N?", "x?"),)
    assert to_request(sub, body, "").SerializeToString()


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("0", "0"),
        ("-12", "-12"),
        ("2.0", "2"),
        ("2.50", "2.5"),
        ("1E+2", "100"),
        ("1.5e-7", "0.00000015"),
        ("1e41", "1e41"),
        ("1e-41", "1e-41"),
    ],
)
def test_number_text_is_shortest_and_exact(literal: str, expected: str) -> None:
    assert number_text(literal) == expected


# -- the gRPC request ---------------------------------------------------------------------------


def test_a_submission_becomes_a_submit_leads_request() -> None:
    sub = parse(SPEC_JSON, JSON, bearer_key="lr_abc_def")
    request = to_request(sub, SPEC_JSON, "203.0.113.7")
    credentials = request.credentials
    assert (credentials.vid, credentials.lid, credentials.aid) == ("18", "1", "23")
    assert (credentials.password, credentials.api_key) == ("secret", "lr_abc_def")
    assert request.send_delay_hours == "2"
    assert request.return_url == "https://example.com/done"
    assert request.remote_ip == "203.0.113.7"
    assert request.request_format == "json"
    assert request.raw_request == SPEC_JSON
    assert request.parse_error == ""
    [lead] = request.leads
    assert (lead.reference, lead.no_sell) == ("ref-1", False)
    assert [(f.name, f.value) for f in lead.fields] == list(ANN_LEE)


def test_several_leads_keep_their_order_in_the_request() -> None:
    body = b'<Leads><Lead reference="a" nosell="1"/><Lead reference="b"/></Leads>'
    request = to_request(parse(body, XML), body, "")
    assert [(lead.reference, lead.no_sell) for lead in request.leads] == [("a", True), ("b", False)]


def test_a_parse_error_reaches_the_request() -> None:
    body = b"<Leads>"
    request = to_request(parse(body, XML), body, "")
    assert request.parse_error == "XML error at line 1, column 8: no element found"
    assert (request.request_format, len(request.leads), request.raw_request) == ("xml", 0, body)


def test_secrets_are_left_out_of_a_submissions_repr() -> None:
    sub = parse(b"password=hunter2", FORM, bearer_key="lr_abc_secretpart")
    assert "hunter2" not in repr(sub)
    assert "secretpart" not in repr(sub)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer lr_abc_def", "lr_abc_def"),
        ("bearer lr_abc_def", "lr_abc_def"),
        ("  Bearer   lr_abc_def  ", "lr_abc_def"),
        ("Basic dXNlcjpwYXNz", ""),
        ("Bearer", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_the_api_key_is_the_bearer_token(header: str | None, expected: str) -> None:
    assert api_key_from_authorization(header) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"authorization": "Bearer lr_a"}, "lr_a"),
        ({"access_token": "lr_b"}, "lr_b"),
        ({"access-token": " lr_b "}, "lr_b"),
        ({"api-key": "lr_c"}, "lr_c"),
        ({"api_key": "Bearer lr_c"}, "lr_c"),
        ({"authorization": "Bearer lr_a", "api-key": "lr_c"}, "lr_a"),
        ({"authorization": "Basic dTpw", "access_token": "lr_b"}, "lr_b"),
        ({"access_token": "", "api-key": "lr_c"}, "lr_c"),
        ({"x-api-key": "lr_d"}, ""),
        ({}, ""),
    ],
)
def test_the_api_key_is_the_bearer_token_else_an_access_token_or_api_key_header(
    headers: dict[str, str], expected: str
) -> None:
    assert api_key_from_headers(headers) == expected


# -- call data (the calldata endpoint) ----------------------------------------------------------

CALL_FORM = (
    b"vid=18&lid=1&password=secret&FirstName=Ann&ivrnumber=8005550100&callduration=95"
    b"&callresult=Sold&calldate=11%2F13%2F2020+12%3A15+PM"
)
ANN_CALL = CallData("8005550100", "95", "Sold", "11/13/2020 12:15 PM")


def test_call_data_is_read_from_a_form_as_lead_properties() -> None:
    sub = parse_submission(CALL_FORM, FORM, [], "", call_data=True)
    assert only_lead(sub) == Lead(fields=(("FirstName", "Ann"),), call=ANN_CALL)


def test_call_data_may_come_in_the_query_string() -> None:
    query = [("IVRNumber", "8005550100"), ("CallDuration", "95")]
    sub = parse_submission(b"vid=18&FirstName=Ann", FORM, query, "", call_data=True)
    assert only_lead(sub).call == CallData("8005550100", "95")
    assert only_lead(sub).fields == (("FirstName", "Ann"),)


def test_call_data_is_read_from_xml_lead_elements() -> None:
    body = b"""<Leads vid="18" lid="1"><Lead reference="r">
      <IVRNumber>8005550100</IVRNumber><CallDuration>95</CallDuration>
      <CallResult>Sold</CallResult><CallDate>11/13/2020 12:15 PM</CallDate>
      <FirstName>Ann</FirstName></Lead></Leads>"""
    lead = only_lead(parse_submission(body, XML, [], "", call_data=True))
    assert lead == Lead(reference="r", fields=(("FirstName", "Ann"),), call=ANN_CALL)


def test_call_data_is_read_from_json_properties() -> None:
    body = b"""{"source": {"vid": 18, "lid": 1}, "leads": [{"properties": {"reference": "",
      "noSell": false, "ivrNumber": "8005550100", "callDuration": 95, "callResult": "Sold",
      "callDate": "11/13/2020 12:15 PM"}, "fields": {"FirstName": "Ann"}}]}"""
    lead = only_lead(parse_submission(body, JSON, [], "", call_data=True))
    assert lead == Lead(fields=(("FirstName", "Ann"),), call=ANN_CALL)


def test_call_data_names_are_fields_on_other_endpoints() -> None:
    lead = only_lead(parse(CALL_FORM, FORM))
    assert lead.call is None
    assert ("callduration", "95") in lead.fields


def test_call_data_reaches_the_request() -> None:
    request = to_request(parse_submission(CALL_FORM, FORM, [], "", call_data=True), b"", "")
    call = request.leads[0].call
    assert (call.ivr_number, call.call_duration, call.call_result, call.call_date) == (
        "8005550100",
        "95",
        "Sold",
        "11/13/2020 12:15 PM",
    )
    assert not to_request(parse(CALL_FORM, FORM), b"", "").leads[0].HasField("call")


def test_an_update_reads_lead_uid_and_process_delivery_from_json_properties() -> None:
    body = b"""{"source": {"vid": 18, "lid": 1}, "leads": [{"properties":
      {"leadUID": 1234567, "processDelivery": true}, "fields": {"LastName": "Lee"}}]}"""
    sub = parse(body, JSON)
    assert (sub.lead_uid, sub.process_delivery) == ("1234567", True)
    assert only_lead(sub).fields == (("LastName", "Lee"),)
