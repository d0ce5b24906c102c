"""Delivery: rendering requests, masking them for the log, reading answers, validation."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit
from xml.etree import ElementTree

import pytest

from server.domain.delivery.answers import interpret
from server.domain.delivery.formats import format_kind, format_value
from server.domain.delivery.render import form_encode, render
from server.domain.delivery.send_log import describe
from server.domain.delivery.spec import (
    AuthType,
    DeliverySpec,
    DeliveryType,
    EmailRequest,
    FieldMapping,
    FtpUpload,
    HttpRequest,
    LeadPayload,
    ResponseRules,
)
from server.domain.delivery.validation import validate_delivery
from server.errors import Violation

FIELDS = ("FirstName", "LastName", "Email", "Phone", "DOB", "Income", "State")
TRICKY = 'Ann "Nan" <&> O\'Neil'


def lead(**values: str) -> LeadPayload:
    stored = {
        "FirstName": "Ann",
        "LastName": "Lee",
        "Email": "ann@example.com",
        "Phone": "+1 (555) 123-4567",
        "DOB": "1980-03-04T00:00:00+00:00",
        "Income": "52000.5",
        "State": "tx",
    }
    stored.update(values)
    return LeadPayload(lead_id=7, send_id=42, price=Decimal("12.50"), values=stored)


def spec(kind: DeliveryType = DeliveryType.HttpPost, **overrides: object) -> DeliverySpec:
    settings: dict[str, object] = {
        "type": kind,
        "address": "https://buyer.example/leads",
        "mappings": (
            FieldMapping("first_name", "FirstName"),
            FieldMapping("phone", "phone", format="##########"),
        ),
    }
    if kind is DeliveryType.Email:
        settings.update(address="", email_to="sales@buyer.example", smtp_host="smtp.example")
    if kind is DeliveryType.Ftp:
        settings.update(address="ftp://files.buyer.example:2121/incoming")
    settings.update(overrides)
    return DeliverySpec(**settings)  # type: ignore[arg-type]


def http(delivery: DeliverySpec, payload: LeadPayload | None = None) -> HttpRequest:
    rendered = render(delivery, payload or lead())
    assert isinstance(rendered, HttpRequest)
    return rendered


def email(delivery: DeliverySpec, payload: LeadPayload | None = None) -> EmailRequest:
    rendered = render(delivery, payload or lead())
    assert isinstance(rendered, EmailRequest)
    return rendered


def ftp(delivery: DeliverySpec, payload: LeadPayload | None = None) -> FtpUpload:
    rendered = render(delivery, payload or lead())
    assert isinstance(rendered, FtpUpload)
    return rendered


def problems(delivery: DeliverySpec) -> list[Violation]:
    return validate_delivery(delivery, FIELDS, "buyer")


def paths(delivery: DeliverySpec) -> list[str]:
    return [problem.path for problem in problems(delivery)]


# --- HTTP rendering ------------------------------------------------------------------------


def test_http_post_sends_a_form_body() -> None:
    request = http(spec())
    assert (request.method, request.body) == ("POST", b"first_name=Ann&phone=5551234567")


def test_http_post_declares_a_form_content_type() -> None:
    assert dict(http(spec()).headers)["Content-Type"] == "application/x-www-form-urlencoded"


def test_http_post_url_encodes_values() -> None:
    request = http(spec(), lead(FirstName="a&b=c d"))
    assert parse_qsl(request.body.decode())[0] == ("first_name", "a&b=c d")


def test_http_get_appends_the_query_keeping_the_existing_one() -> None:
    request = http(spec(DeliveryType.HttpGet, address="https://buyer.example/in?src=lr"))
    assert request.method == "GET"
    assert parse_qsl(urlsplit(request.url).query) == [
        ("src", "lr"),
        ("first_name", "Ann"),
        ("phone", "5551234567"),
    ]


def test_http_get_sends_no_body() -> None:
    request = http(spec(DeliveryType.HttpGet))
    assert (request.body, request.content_type) == (b"", "")


def test_json_post_without_template_sends_an_object_of_the_mappings() -> None:
    request = http(spec(DeliveryType.JsonPost))
    assert json.loads(request.body) == {"first_name": "Ann", "phone": "5551234567"}
    assert request.content_type == "application/json"


def test_xml_post_without_template_sends_a_lead_element() -> None:
    request = http(spec(DeliveryType.XmlPost))
    assert request.body == (
        b'<?xml version="1.0" encoding="utf-8"?><Lead><first_name>Ann</first_name>'
        b"<phone>5551234567</phone></Lead>"
    )


def test_xml_post_without_template_escapes_values() -> None:
    request = http(spec(DeliveryType.XmlPost), lead(FirstName=TRICKY))
    assert ElementTree.fromstring(request.body).findtext("first_name") == TRICKY


def test_empty_mappings_send_every_field_under_its_own_name() -> None:
    request = http(spec(DeliveryType.JsonPost, mappings=()))
    assert json.loads(request.body) == dict(lead().values)


def test_a_constant_mapping_sends_its_value() -> None:
    request = http(spec(mappings=(FieldMapping("source", constant="leadrouter"),)))
    assert request.body == b"source=leadrouter"


def test_a_constant_stands_in_for_an_empty_field() -> None:
    mapping = FieldMapping("state", "State", constant="CA")
    request = http(spec(mappings=(mapping,)), lead(State=""))
    assert request.body == b"state=CA"


def test_a_missing_field_is_sent_empty() -> None:
    request = http(spec(mappings=(FieldMapping("middle", "MiddleName"),)))
    assert request.body == b"middle="


def test_mapping_fields_match_ignoring_case() -> None:
    request = http(spec(mappings=(FieldMapping("n", "FIRSTNAME"),)))
    assert request.body == b"n=Ann"


def test_mappings_may_take_the_reserved_values() -> None:
    mappings = (FieldMapping("id", "lead_id"), FieldMapping("cost", "price"))
    assert http(spec(mappings=mappings)).body == b"id=7&cost=12.50"


def test_requests_carry_an_idempotency_key_from_the_send() -> None:
    assert dict(http(spec()).headers)["Idempotency-Key"] == "leadrouter-send-42"


def test_requests_identify_leadrouter() -> None:
    assert dict(http(spec()).headers)["User-Agent"] == "leadrouter"


def test_custom_headers_are_sent() -> None:
    request = http(spec(headers=(("X-Source", "lr"),)))
    assert ("X-Source", "lr") in request.headers


def test_a_custom_content_type_replaces_the_default() -> None:
    request = http(spec(DeliveryType.XmlPost, headers=(("content-type", "text/xml"),)))
    assert [v for n, v in request.headers if n.casefold() == "content-type"] == ["text/xml"]


def test_basic_auth_sets_the_authorization_header() -> None:
    request = http(spec(auth=AuthType.Basic, username="acme", password="s3cret"))
    expected = "Basic " + base64.b64encode(b"acme:s3cret").decode()
    assert dict(request.headers)["Authorization"] == expected


def test_bearer_auth_sends_the_token() -> None:
    request = http(spec(auth=AuthType.Bearer, password="tok-123"))
    assert dict(request.headers)["Authorization"] == "Bearer tok-123"


def test_no_auth_sends_no_authorization_header() -> None:
    assert "Authorization" not in dict(http(spec()).headers)


def test_post_follows_no_redirects() -> None:
    assert http(spec()).follow_redirects is False


def test_the_timeout_travels_with_the_request() -> None:
    assert http(spec(timeout_seconds=7.5)).timeout_seconds == 7.5


def test_in_testing_sends_to_the_test_address() -> None:
    delivery = spec(in_testing=True, test_address="https://sandbox.buyer.example/leads")
    assert http(delivery).url == "https://sandbox.buyer.example/leads"


def test_an_unspecified_type_cannot_be_rendered() -> None:
    with pytest.raises(ValueError, match="Unspecified"):
        render(spec(DeliveryType.Unspecified), lead())


# --- templates -----------------------------------------------------------------------------


def test_json_template_escapes_values_inside_strings() -> None:
    template = '{"name": "{{FirstName}}"}'
    request = http(spec(DeliveryType.JsonPost, template=template), lead(FirstName=TRICKY))
    assert json.loads(request.body) == {"name": TRICKY}


@pytest.mark.parametrize(
    "value", ["plain text", 'a "quote"', "back\\slash", "tab\there", "nul\x00", "\x7f", "é\u2028"]
)
def test_json_template_strings_read_back_as_posted(value: str) -> None:
    request = http(
        spec(DeliveryType.JsonPost, template='{"n": "{{FirstName}}"}'), lead(FirstName=value)
    )
    assert json.loads(request.body) == {"n": value}
    assert request.log_body == request.body  # nothing secret: logged as sent


def test_json_template_placeholders_match_ignoring_case() -> None:
    request = http(spec(DeliveryType.JsonPost, template='{"n": "{{ firstNAME }}"}'))
    assert json.loads(request.body) == {"n": "Ann"}


def test_json_template_fills_the_reserved_values() -> None:
    template = '{"lead": {{lead_id}}, "send": "{{SEND_ID}}", "price": {{price}}}'
    request = http(spec(DeliveryType.JsonPost, template=template))
    assert json.loads(request.body) == {"lead": 7, "send": "42", "price": 12.5}


def test_json_template_quotes_a_bare_placeholder_that_is_not_a_number() -> None:
    template = '{"name": {{FirstName}}}'
    request = http(spec(DeliveryType.JsonPost, template=template), lead(FirstName=TRICKY))
    assert json.loads(request.body) == {"name": TRICKY}


def test_template_placeholders_may_name_a_mapping_for_its_format() -> None:
    template = '{"phone": "{{phone}}"}'
    request = http(spec(DeliveryType.JsonPost, template=template), lead(Phone="555.123.4567"))
    assert json.loads(request.body) == {"phone": "5551234567"}


def test_xml_template_escapes_values() -> None:
    template = '<lead><name a="{{FirstName}}">{{FirstName}}</name></lead>'
    request = http(spec(DeliveryType.XmlPost, template=template), lead(FirstName=TRICKY))
    element = ElementTree.fromstring(request.body).find("name")
    assert element is not None
    assert (element.text, element.get("a")) == (TRICKY, TRICKY)


def test_xml_template_drops_characters_xml_cannot_hold() -> None:
    template = "<lead>{{FirstName}}</lead>"
    request = http(spec(DeliveryType.XmlPost, template=template), lead(FirstName="A\x00\x07B"))
    assert request.body == b"<lead>AB</lead>"


def test_xml_post_has_an_xml_content_type() -> None:
    assert http(spec(DeliveryType.XmlPost)).content_type == "application/xml"


# --- formats -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "value", "expected"),
    [
        ("MM/dd/yyyy", "1980-03-04T00:00:00+00:00", "03/04/1980"),
        ("yyyy-MM-dd", "1980-03-04T00:00:00+00:00", "1980-03-04"),
        ("M/d/yy", "2007-03-04T00:00:00+00:00", "3/4/07"),
        ("hh:mm:ss tt", "2024-07-04T15:05:09+00:00", "03:05:09 PM"),
        ("HH:mm", "2024-07-04T09:05:00+00:00", "09:05"),
        ("yyyy-MM-ddTHH:mm:ssZ", "2024-07-04T15:05:09+00:00", "2024-07-04T15:05:09Z"),
        ("dddd, MMMM d 'at' h tt", "2024-07-04T00:30:00+00:00", "Thursday, July 4 at 12 AM"),
        ("MMM dd", "2024-12-25T00:00:00+00:00", "Dec 25"),
        ("(###) ###-####", "+1 555 123 4567", "(555) 123-4567"),
        ("###-###-####", "5551234567", "555-123-4567"),
        ("##########", "1-555-123-4567", "5551234567"),
        ("upper", "tx", "TX"),
        ("lower", "TX", "tx"),
        ("digits", "a1b2-3", "123"),
        ("0.00", "52000.5", "52000.50"),
        ("0.00", "$1,234.565", "1234.57"),
        ("0", "12.5", "13"),
        ("#,##0.00", "1234567.8", "1,234,567.80"),
    ],
)
def test_format_value(fmt: str, value: str, expected: str) -> None:
    assert format_value(fmt, value) == expected


@pytest.mark.parametrize(
    ("fmt", "value"),
    [
        ("", "as is"),
        ("nonsense", "as is"),
        ("MM/dd/yyyy", "not a date"),
        ("##########", "555-1234"),
        ("0.00", "ten"),
        ("0.00", "1e100"),  # more digits than decimal's context holds
        ("#,##0.00", "1" + "0" * 40),
    ],
)
def test_format_value_leaves_what_it_cannot_format(fmt: str, value: str) -> None:
    assert format_value(fmt, value) == value


def test_a_date_format_accepts_the_us_forms_sources_post() -> None:
    assert format_value("yyyy-MM-dd", "03/04/1980") == "1980-03-04"


@pytest.mark.parametrize(
    ("fmt", "kind"),
    [
        ("Upper", "upper"),
        ("0.000", "money"),
        ("+1 (###) ###-####", "phone"),
        ("MM/dd/yyyy", "date"),
        ("yyy", "unknown"),
        ("colour", "unknown"),
        ("'unclosed", "unknown"),
    ],
)
def test_format_kind(fmt: str, kind: str) -> None:
    assert format_kind(fmt) == kind


def test_a_mapping_format_is_applied() -> None:
    mapping = FieldMapping("dob", "DOB", format="MM/dd/yyyy")
    assert http(spec(mappings=(mapping,))).body == b"dob=03%2F04%2F1980"


# --- email ---------------------------------------------------------------------------------


def test_email_without_template_lists_param_value_lines() -> None:
    message = email(spec(DeliveryType.Email)).message
    assert message.get_content() == "first_name: Ann\nphone: 5551234567\n"


def test_email_template_fills_placeholders_unescaped() -> None:
    delivery = spec(DeliveryType.Email, template="Name: {{firstname}}\nLead {{lead_id}}")
    message = email(delivery, lead(FirstName=TRICKY)).message
    assert message.get_content() == f"Name: {TRICKY}\nLead 7\n"


def test_email_subject_fills_placeholders() -> None:
    delivery = spec(DeliveryType.Email, email_subject="New lead {{lead_id}} from {{State}}")
    assert email(delivery).message["Subject"] == "New lead 7 from tx"


def test_email_subject_stays_on_one_line() -> None:
    delivery = spec(DeliveryType.Email, email_subject="Lead {{FirstName}}")
    assert email(delivery, lead(FirstName="A\r\nBcc: x@evil.example")).message["Subject"] == (
        "Lead A Bcc: x@evil.example"
    )


def test_email_recipients_include_to_cc_and_bcc() -> None:
    delivery = spec(
        DeliveryType.Email,
        email_to="a@b.example, c@d.example",
        email_cc="e@f.example",
        email_bcc="g@h.example",
    )
    rendered = email(delivery)
    assert rendered.recipients == ("a@b.example", "c@d.example", "e@f.example", "g@h.example")


def test_email_bcc_is_not_a_header() -> None:
    message = email(spec(DeliveryType.Email, email_bcc="g@h.example")).message
    assert message["Bcc"] is None


def test_email_message_id_comes_from_the_send() -> None:
    assert email(spec(DeliveryType.Email)).message["Message-ID"] == (
        "<leadrouter-send-42@leadrouter>"
    )


def test_email_carries_the_idempotency_key_of_the_send() -> None:
    assert email(spec(DeliveryType.Email)).message["Idempotency-Key"] == "leadrouter-send-42"


def test_email_sender_may_carry_a_display_name() -> None:
    rendered = email(spec(DeliveryType.Email, email_from="Acme Leads <leads@acme.example>"))
    assert (rendered.sender, rendered.message["From"]) == (
        "leads@acme.example",
        "Acme Leads <leads@acme.example>",
    )


def test_email_carries_the_smtp_settings() -> None:
    delivery = spec(
        DeliveryType.Email,
        smtp_host="mail.example",
        smtp_port=587,
        smtp_username="u",
        smtp_password="p",
        smtp_starttls=True,
    )
    rendered = email(delivery)
    assert (rendered.smtp_host, rendered.smtp_port, rendered.starttls) == (
        "mail.example",
        587,
        True,
    )
    assert (rendered.smtp_username, rendered.smtp_password) == ("u", "p")


def test_email_in_testing_goes_only_to_the_test_address() -> None:
    delivery = spec(
        DeliveryType.Email, email_cc="e@f.example", in_testing=True, test_address="qa@lr.example"
    )
    rendered = email(delivery)
    assert (rendered.recipients, rendered.message["To"]) == (("qa@lr.example",), "qa@lr.example")


def test_email_body_with_non_ascii_survives() -> None:
    message = email(spec(DeliveryType.Email), lead(FirstName="Zoë")).message
    assert "first_name: Zoë" in message.get_content()


# --- FTP -----------------------------------------------------------------------------------


def test_ftp_upload_targets_the_address() -> None:
    upload = ftp(spec(DeliveryType.Ftp))
    assert (upload.host, upload.port, upload.directory) == (
        "files.buyer.example",
        2121,
        "incoming",
    )


def test_ftp_port_defaults_to_21() -> None:
    assert ftp(spec(DeliveryType.Ftp, address="ftp://files.example")).port == 21


def test_ftp_csv_has_a_header_row_and_one_row() -> None:
    upload = ftp(spec(DeliveryType.Ftp), lead(FirstName='Ann, "A"'))
    assert upload.content == b'first_name,phone\r\n"Ann, ""A""",5551234567\r\n'
    assert upload.filename == "lead-7-send-42.csv"


def test_ftp_xml_uses_the_lead_element() -> None:
    upload = ftp(spec(DeliveryType.Ftp, ftp_file_format="xml"))
    assert upload.filename == "lead-7-send-42.xml"
    assert ElementTree.fromstring(upload.content).findtext("phone") == "5551234567"


def test_ftp_credentials_travel_with_the_upload() -> None:
    upload = ftp(spec(DeliveryType.Ftp, ftp_username="acme", ftp_password="pw"))
    assert (upload.username, upload.password) == ("acme", "pw")


def test_ftp_in_testing_goes_to_the_test_address() -> None:
    delivery = spec(DeliveryType.Ftp, in_testing=True, test_address="ftp://qa.example/tmp")
    assert (ftp(delivery).host, ftp(delivery).directory) == ("qa.example", "tmp")


# --- the send log --------------------------------------------------------------------------


def test_describe_shows_the_request() -> None:
    text = describe(http(spec()))
    assert text.startswith("POST https://buyer.example/leads\n")
    assert text.endswith("\n\nfirst_name=Ann&phone=5551234567")


def test_describe_masks_the_authorization_header() -> None:
    text = describe(http(spec(auth=AuthType.Bearer, password="tok-123")))
    assert "Authorization: Bearer ***" in text
    assert "tok-123" not in text


def test_describe_masks_secret_looking_headers() -> None:
    text = describe(http(spec(headers=(("X-Api-Key", "k-999"),))))
    assert "X-Api-Key: ***" in text
    assert "k-999" not in text


@pytest.mark.parametrize("param", ["password", "api_key", "ApiKey", "auth_token", "client_secret"])
def test_describe_masks_secret_looking_params(param: str) -> None:
    delivery = spec(mappings=(FieldMapping(param, constant="hunter2"),))
    assert "hunter2" not in describe(http(delivery))
    assert f"{param}=hunter2".encode() in http(delivery).body  # masked in the log only


def test_describe_masks_secret_params_in_the_query() -> None:
    delivery = spec(DeliveryType.HttpGet, mappings=(FieldMapping("token", constant="hunter2"),))
    request = http(delivery)
    assert "hunter2" in request.url
    assert "hunter2" not in describe(request)


def test_describe_masks_secret_placeholders_in_templates() -> None:
    delivery = spec(
        DeliveryType.JsonPost,
        mappings=(FieldMapping("api_key", constant="hunter2"),),
        template='{"key": "{{api_key}}", "lead": {{lead_id}}}',
    )
    request = http(delivery)
    assert json.loads(request.body)["key"] == "hunter2"
    assert json.loads(describe(request).split("\n\n", 1)[1]) == {"key": "***", "lead": 7}


def test_describe_keeps_the_request_sendable() -> None:
    delivery = spec(mappings=(FieldMapping("password", constant="hunter2"),))
    assert http(delivery).body == b"password=hunter2"


def test_describe_masks_the_smtp_password() -> None:
    delivery = spec(DeliveryType.Email, smtp_username="mailer", smtp_password="smtp-pw")
    text = describe(email(delivery))
    assert "smtp-pw" not in text
    assert "mailer" in text


def test_describe_masks_secret_params_in_email_bodies() -> None:
    delivery = spec(DeliveryType.Email, mappings=(FieldMapping("api_key", constant="hunter2"),))
    text = describe(email(delivery))
    assert "api_key: ***" in text
    assert "hunter2" not in text


def test_describe_masks_the_ftp_password() -> None:
    delivery = spec(DeliveryType.Ftp, ftp_username="acme", ftp_password="ftp-pw")
    text = describe(ftp(delivery))
    assert "ftp-pw" not in text
    assert "lead-7-send-42.csv" in text


# --- interpreting answers ------------------------------------------------------------------


def test_an_empty_search_accepts_any_2xx() -> None:
    assert interpret(ResponseRules(), 204, "").accepted


def test_a_non_2xx_status_is_never_accepted() -> None:
    outcome = interpret(ResponseRules(search="accepted"), 500, "accepted")
    assert (outcome.accepted, outcome.reason) == (False, "HTTP 500")


def test_a_redirect_status_is_not_accepted() -> None:
    assert not interpret(ResponseRules(), 302, "").accepted


def test_search_matches_a_substring_ignoring_case() -> None:
    assert interpret(ResponseRules(search="accepted"), 200, "<Status>ACCEPTED</Status>").accepted


def test_a_missing_search_text_rejects_with_a_reason() -> None:
    outcome = interpret(ResponseRules(search="accepted"), 200, "rejected")
    assert (outcome.accepted, outcome.reason) == (False, 'response did not contain "accepted"')


def test_search_text_is_not_a_regex_unless_asked() -> None:
    assert not interpret(ResponseRules(search="ok.*"), 200, "ok then").accepted


def test_a_regex_search_accepts_a_match() -> None:
    rules = ResponseRules(search=r"status\W+(ok|accepted)", use_regex=True)
    assert interpret(rules, 200, '{"status": "accepted"}').accepted


def test_a_regex_search_rejects_without_a_match() -> None:
    rules = ResponseRules(search=r"^ok$", use_regex=True)
    outcome = interpret(rules, 200, "not ok")
    assert (outcome.accepted, outcome.reason) == (False, "response did not match /^ok$/")


def test_the_price_comes_from_the_first_group() -> None:
    rules = ResponseRules(price_search=r"<price>([^<]*)</price>")
    assert interpret(rules, 200, "<price>$1,234.50</price>").price == Decimal("1234.50")


def test_the_price_comes_from_the_whole_match_without_a_group() -> None:
    rules = ResponseRules(price_search=r"\d+\.\d\d")
    assert interpret(rules, 200, "paid 3.25 today").price == Decimal("3.25")


def test_an_unreadable_price_is_none() -> None:
    rules = ResponseRules(price_search=r"price=(\w+)")
    assert interpret(rules, 200, "price=free").price is None


def test_the_redirect_url_is_captured() -> None:
    rules = ResponseRules(redirect_search=r"<url>(.*?)</url>")
    body = "<url>https://buyer.example/thanks?a=1&amp;b=2</url>"
    assert interpret(rules, 200, body).redirect_url == "https://buyer.example/thanks?a=1&b=2"


def test_the_captured_reason_explains_a_rejection() -> None:
    rules = ResponseRules(search="accepted", reason_search=r'"reason":\s*"([^"]*)"')
    outcome = interpret(rules, 200, '{"status": "rejected", "reason": "duplicate lead"}')
    assert (outcome.accepted, outcome.reason) == (False, "duplicate lead")


def test_the_captured_reason_joins_a_bad_status() -> None:
    rules = ResponseRules(reason_search=r"error: (.*)")
    assert interpret(rules, 400, "error: missing zip").reason == "HTTP 400: missing zip"


def test_a_rejection_carries_no_price() -> None:
    rules = ResponseRules(search="accepted", price_search=r"(\d+)")
    assert interpret(rules, 200, "rejected 5").price is None


def test_no_status_is_no_answer() -> None:
    outcome = interpret(ResponseRules(), None, "")
    assert (outcome.accepted, outcome.reason) == (False, "no response")


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    [
        DeliveryType.HttpPost,
        DeliveryType.HttpGet,
        DeliveryType.JsonPost,
        DeliveryType.XmlPost,
        DeliveryType.Email,
        DeliveryType.Ftp,
    ],
)
def test_a_sound_delivery_has_no_problems(kind: DeliveryType) -> None:
    assert problems(spec(kind)) == []


def test_the_type_is_required() -> None:
    assert paths(spec(DeliveryType.Unspecified)) == ["buyer.type"]


def test_an_http_delivery_needs_an_address() -> None:
    assert paths(spec(address="")) == ["buyer.address"]


@pytest.mark.parametrize(
    "address",
    [
        "ftp://buyer.example/in",
        "buyer.example/leads",
        "https://",
        "https://buyer.example:99999/",
        "https://user:pw@buyer.example/",
        "https://buyer.example/a b",
    ],
)
def test_an_http_address_must_be_a_plain_http_url(address: str) -> None:
    assert paths(spec(address=address)) == ["buyer.address"]


def test_an_ftp_delivery_needs_an_ftp_url() -> None:
    assert paths(spec(DeliveryType.Ftp, address="https://files.example/")) == ["buyer.address"]


def test_an_ftp_file_format_is_csv_or_xml() -> None:
    assert paths(spec(DeliveryType.Ftp, ftp_file_format="xlsx")) == ["buyer.ftp_file_format"]


def test_an_email_delivery_needs_a_recipient() -> None:
    assert paths(spec(DeliveryType.Email, email_to=" , ")) == ["buyer.email_to"]


def test_email_addresses_must_look_like_addresses() -> None:
    assert paths(spec(DeliveryType.Email, email_cc="ok@x.example, nope")) == ["buyer.email_cc"]


def test_an_email_delivery_needs_an_smtp_host() -> None:
    assert paths(spec(DeliveryType.Email, smtp_host="")) == ["buyer.smtp_host"]


def test_in_testing_needs_a_test_address() -> None:
    assert paths(spec(in_testing=True)) == ["buyer.test_address"]


def test_a_test_address_must_fit_the_type() -> None:
    assert paths(spec(in_testing=True, test_address="mailto:x@y")) == ["buyer.test_address"]


def test_an_email_test_address_is_an_email_address() -> None:
    delivery = spec(DeliveryType.Email, in_testing=True, test_address="https://x.example")
    assert paths(delivery) == ["buyer.test_address"]


def test_a_mapping_must_name_a_known_field() -> None:
    delivery = spec(mappings=(FieldMapping("x", "Nickname"),))
    assert problems(delivery) == [
        Violation("buyer.mappings[0].field", "'Nickname' is not a field of the lead type")
    ]


def test_a_mapping_field_matches_ignoring_case() -> None:
    assert problems(spec(mappings=(FieldMapping("x", "firstname"),))) == []


def test_a_mapping_needs_a_field_or_a_constant() -> None:
    assert paths(spec(mappings=(FieldMapping("x"),))) == ["buyer.mappings[0]"]


def test_a_mapping_needs_a_param() -> None:
    assert paths(spec(mappings=(FieldMapping("", "FirstName"),))) == ["buyer.mappings[0].param"]


def test_a_mapping_format_must_be_known() -> None:
    delivery = spec(mappings=(FieldMapping("x", "DOB", format="dd.mm.yyy"),))
    assert paths(delivery) == ["buyer.mappings[0].format"]


def test_xml_params_must_be_element_names() -> None:
    delivery = spec(DeliveryType.XmlPost, mappings=(FieldMapping("first name", "FirstName"),))
    assert paths(delivery) == ["buyer.mappings[0].param"]


def test_a_template_placeholder_must_name_a_field() -> None:
    delivery = spec(DeliveryType.JsonPost, template='{"a": "{{Nickname}}"}')
    assert paths(delivery) == ["buyer.template"]


def test_a_template_placeholder_may_name_a_mapping_or_reserved_value() -> None:
    template = '{"a": "{{first_name}}", "b": {{lead_id}}, "c": {{price}}, "d": {{send_id}}}'
    assert problems(spec(DeliveryType.JsonPost, template=template)) == []


def test_an_email_subject_placeholder_must_name_a_field() -> None:
    delivery = spec(DeliveryType.Email, email_subject="Lead {{Nickname}}")
    assert paths(delivery) == ["buyer.email_subject"]


def test_a_json_template_must_be_json() -> None:
    delivery = spec(DeliveryType.JsonPost, template='{"a": "{{FirstName}}",}')
    assert paths(delivery) == ["buyer.template"]


def test_a_json_template_may_hold_bare_placeholders() -> None:
    delivery = spec(DeliveryType.JsonPost, template='{"income": {{Income}}}')
    assert problems(delivery) == []


def test_an_xml_template_must_be_well_formed() -> None:
    delivery = spec(DeliveryType.XmlPost, template="<lead>{{FirstName}}</led>")
    assert paths(delivery) == ["buyer.template"]


def test_an_xml_template_may_not_declare_entities() -> None:
    template = '<!DOCTYPE l [<!ENTITY e "x">]><lead>&e;</lead>'
    found = problems(spec(DeliveryType.XmlPost, template=template))
    assert [p.path for p in found] == ["buyer.template"]
    assert "DTD" in found[0].reason


def test_a_template_is_only_for_json_xml_and_email() -> None:
    assert paths(spec(template="a={{FirstName}}")) == ["buyer.template"]


@pytest.mark.parametrize("attribute", ["price_search", "redirect_search", "reason_search"])
def test_a_capture_pattern_must_be_a_regex(attribute: str) -> None:
    delivery = spec(response=ResponseRules(**{attribute: "(unclosed"}))
    assert paths(delivery) == [f"buyer.{attribute}"]


def test_a_regex_search_must_be_a_regex() -> None:
    delivery = spec(response=ResponseRules(search="[a-", use_regex=True))
    assert paths(delivery) == ["buyer.response_search"]


def test_a_plain_search_need_not_be_a_regex() -> None:
    assert problems(spec(response=ResponseRules(search="[a-"))) == []


@pytest.mark.parametrize("name", ["Bad Name", "X-Ok:", ""])
def test_a_header_name_must_be_a_token(name: str) -> None:
    assert paths(spec(headers=((name, "v"),))) == ["buyer.headers[0]"]


def test_a_header_the_transport_sets_is_refused() -> None:
    assert paths(spec(headers=(("Content-Length", "5"),))) == ["buyer.headers[0]"]


def test_a_header_value_may_not_break_lines() -> None:
    assert paths(spec(headers=(("X-A", "a\r\nX-B: b"),))) == ["buyer.headers[0]"]


@pytest.mark.parametrize("seconds", [0, -1, 120.5, float("nan")])
def test_the_timeout_must_be_within_bounds(seconds: float) -> None:
    assert paths(spec(timeout_seconds=seconds)) == ["buyer.timeout_seconds"]


def test_a_timeout_of_120_seconds_is_allowed() -> None:
    assert problems(spec(timeout_seconds=120)) == []


def test_basic_auth_needs_a_user_name() -> None:
    assert paths(spec(auth=AuthType.Basic, password="p")) == ["buyer.username"]


def test_bearer_auth_needs_a_token() -> None:
    assert paths(spec(auth=AuthType.Bearer)) == ["buyer.password"]


def test_every_problem_is_reported() -> None:
    delivery = replace(spec(address=""), timeout_seconds=0, mappings=(FieldMapping("x"),))
    assert paths(delivery) == ["buyer.address", "buyer.mappings[0]", "buyer.timeout_seconds"]


def test_a_price_reads_with_two_decimal_places_at_least() -> None:
    from server.domain.delivery.render import money

    assert [money(Decimal(v)) for v in ("20.0000", "12.3450", "7", "0.5", "1E+1")] == [
        "20.00",
        "12.345",
        "7.00",
        "0.50",
        "10.00",
    ]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Ann",
        "ann@example.com",
        "a b",
        "a+b",
        "50%",
        "x&y=z",
        "~._-",
        "Zoë",
        "日本",
        "\n\t",
        "/?#",
    ],
)
def test_form_encoding_is_urlencodes(value: str) -> None:
    items = [("first name", value), (value, "1"), ("email", value)]
    assert form_encode(items) == urlencode(items)
