"""Notices, the emails a sale sends beside its delivery: what they say, to whom, and the
save-time checks of their settings."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from server.domain.delivery.notices import (
    CONSUMER_SUBJECT,
    Notice,
    NoticeKind,
    Sale,
    consumer_address,
    notice_email,
    sale_notices,
)
from server.domain.delivery.spec import DeliverySpec, DeliveryType, FieldMapping
from server.domain.delivery.validation import validate_delivery
from tests.unit.test_delivery import FIELDS, lead, spec

NOTIFYING = {
    "email_notify": True,
    "notify_email": "ops@router.example, Desk <desk@router.example>",
    "email_from": "Leads <leads@router.example>",
    "smtp_host": "smtp.router.example",
}


def sale(consumer: str = "ann@example.com", **values: str) -> Sale:
    return Sale(lead(**values), "Buyer West", "Buyer West / main (account 5)", consumer)


def notices(delivery: DeliverySpec, sold: Sale | None = None) -> dict[NoticeKind, Notice]:
    found = sale_notices(delivery, sold or sale())
    return {notice.kind: notice for notice in found}


def problems(delivery: DeliverySpec) -> list[tuple[str, str]]:
    return [(v.path, v.reason) for v in validate_delivery(delivery, FIELDS, "delivery")]


# -- the notification ----------------------------------------------------------------------


def test_a_method_without_notices_sends_none() -> None:
    assert sale_notices(spec(), sale()) == ()


def test_the_notification_says_which_lead_went_to_which_account_at_what_price() -> None:
    sold = Sale(replace(lead(), price=Decimal("20")), "Buyer West", "West / main (account 5)", "")
    notification = notices(spec(**NOTIFYING), sold)[NoticeKind.NOTIFICATION]
    assert notification.sender == "Leads <leads@router.example>"
    assert notification.recipients == ("ops@router.example", "Desk <desk@router.example>")
    assert notification.subject == "Lead 7 delivered to Buyer West"
    assert notification.body.splitlines() == [
        "Lead 7 was delivered to West / main (account 5) and sold at 20.00.",
        "",
        "Lead: 7",
        "Send: 42",
        "Buyer: Buyer West",
        "Delivery account: West / main (account 5)",
        "Price: 20.00",
        "",
        "Fields as sent:",
        "first_name: Ann",
        "phone: 5551234567",
    ]


def test_the_notification_masks_secret_looking_parameters_as_the_send_log_does() -> None:
    mappings = (FieldMapping("first_name", "FirstName"), FieldMapping("api_key", constant="s3"))
    body = notices(spec(mappings=mappings, **NOTIFYING))[NoticeKind.NOTIFICATION].body
    assert "api_key: ***" in body.splitlines() and "s3" not in body


def test_the_notification_says_when_the_method_is_in_testing() -> None:
    delivery = spec(in_testing=True, test_address="https://test.example/", **NOTIFYING)
    assert "in testing" in notices(delivery)[NoticeKind.NOTIFICATION].body


def test_no_notification_when_email_notify_is_off() -> None:
    assert notices(spec(**{**NOTIFYING, "email_notify": False})) == {}


# -- the consumer email ----------------------------------------------------------------------


def test_the_consumer_email_fills_its_placeholders_and_goes_to_the_leads_email() -> None:
    delivery = spec(client_email="Hi {{FirstName}},\nLead {{lead_id}}, {{first_name}}.\n")
    consumer = notices(delivery)[NoticeKind.CONSUMER]
    assert consumer.recipients == ("ann@example.com",)
    assert consumer.sender == "leadrouter@localhost"  # no email_from
    assert (consumer.subject, consumer.body) == (CONSUMER_SUBJECT, "Hi Ann,\nLead 7, Ann.\n")


def test_a_subject_line_first_is_the_consumer_emails_subject() -> None:
    delivery = spec(client_email="Subject: Thanks, {{FirstName}}\r\n\r\nWe got it.\n")
    consumer = notices(delivery)[NoticeKind.CONSUMER]
    assert (consumer.subject, consumer.body) == ("Thanks, Ann", "We got it.\n")


def test_a_value_cannot_break_the_subject_onto_two_lines() -> None:
    delivery = spec(client_email="Subject: Hi {{FirstName}}\nBody")
    consumer = notices(delivery, sale(FirstName="Ann\nBcc: all@example.com"))[NoticeKind.CONSUMER]
    message = notice_email(consumer, 3, delivery).message
    assert message["Subject"] == "Hi Ann Bcc: all@example.com" and message["Bcc"] is None


def test_no_consumer_email_without_an_email_value() -> None:
    assert notices(spec(client_email="Thanks"), sale(consumer="")) == {}


def test_no_consumer_email_to_a_value_that_is_not_one_address() -> None:
    for value in ("not an address", "a@example.com, b@example.com", "a@example.com\nb"):
        assert consumer_address(value) == ""
        assert notices(spec(client_email="Thanks"), sale(consumer=value)) == {}


def test_no_consumer_email_while_the_method_is_in_testing() -> None:
    delivery = spec(client_email="Thanks", in_testing=True, test_address="https://t.example/")
    assert notices(delivery) == {}


def test_a_blank_client_email_sends_none() -> None:
    assert notices(spec(client_email="  \n")) == {}


# -- the email that sends a notice ---------------------------------------------------------


def test_a_notice_email_goes_over_the_methods_smtp_settings_with_its_own_key() -> None:
    delivery = spec(smtp_port=2525, smtp_username="u", smtp_password="p", **NOTIFYING)
    notification = notices(delivery)[NoticeKind.NOTIFICATION]
    request = notice_email(notification, 9, delivery)
    assert (request.smtp_host, request.smtp_port, request.smtp_username) == (
        "smtp.router.example",
        2525,
        "u",
    )
    assert request.sender == "leads@router.example"
    assert request.recipients == ("ops@router.example", "desk@router.example")
    message = request.message
    assert message["Message-ID"] == "<leadrouter-notice-9@leadrouter>"
    assert message["Idempotency-Key"] == "leadrouter-notice-9"
    assert message["To"] == "ops@router.example, Desk <desk@router.example>"
    assert message.get_content() == notification.body


# -- validation ------------------------------------------------------------------------------


def test_notices_with_their_settings_pass() -> None:
    assert problems(spec(client_email="Subject: Hi {{FirstName}}\nThanks", **NOTIFYING)) == []


def test_notifying_needs_an_address() -> None:
    assert problems(spec(**{**NOTIFYING, "notify_email": ""})) == [
        ("delivery.notify_email", "at least one address is required to notify")
    ]


def test_notify_addresses_must_be_addresses() -> None:
    assert problems(spec(**{**NOTIFYING, "notify_email": "ops@router.example, nobody"})) == [
        ("delivery.notify_email", "'nobody' is not an email address")
    ]


def test_notices_need_an_smtp_host_and_a_valid_from_address_whatever_the_type() -> None:
    delivery = spec(
        DeliveryType.JsonPost,
        client_email="Thanks",
        email_from="not-an-address",
        smtp_port=0,
    )
    assert problems(delivery) == [
        ("delivery.email_from", "'not-an-address' is not an email address"),
        ("delivery.smtp_host", "is required to send notices"),
        ("delivery.smtp_port", "must be between 1 and 65535"),
    ]


def test_an_email_methods_smtp_settings_are_checked_once() -> None:
    delivery = spec(DeliveryType.Email, smtp_host="", client_email="Thanks")
    assert problems(delivery) == [("delivery.smtp_host", "is required")]


def test_a_client_email_placeholder_must_name_a_field_or_mapping() -> None:
    delivery = spec(client_email="Subject: {{Nickname}}\nHi {{first_name}} {{LastName}}")
    assert problems(delivery) == [
        ("delivery.client_email", "{{Nickname}} names no field, mapping or lead_id/send_id/price"),
        ("delivery.smtp_host", "is required to send notices"),
    ]


def test_settings_for_notices_left_off_need_no_smtp_host() -> None:
    assert problems(spec(notify_email="ops@router.example")) == []
