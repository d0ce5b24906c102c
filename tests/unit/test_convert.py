"""Between messages and specs: decimals on the wire as plain text; buyers saved by id read as
the same specs config as code reads; update masks; a buyer's portal settings as stored."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from leadrouter.v1 import buyers_pb2, catalog_pb2

from server.domain.buyers.records import StoredDelivery
from server.domain.buyers.specs import ClientStatus, DeliveryMethod, PortalSettings
from server.domain.caps import NO_LIMIT
from server.domain.config.buyers_section import read_clients
from server.domain.matching.criteria import CriterionType
from server.domain.matching.selection import Automation
from server.errors import InvalidArgument, Violation
from server.rpc import convert
from server.rpc.convert import decimal_text
from server.storage.buyers import portal_from_json, portal_json


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("10.0000", "10"),
        ("12.5000", "12.5"),
        ("0.0000", "0"),
        ("1000", "1000"),
        ("0.0050", "0.005"),
    ],
)
def test_a_stored_amount_reads_as_plain_text(stored: str, shown: str) -> None:
    assert decimal_text(Decimal(stored)) == shown


# -- buyers saved by id: the same specs config as code reads -----------------------------------

DOCUMENT_DELIVERY = {
    "key": "mail",
    "type": "email",
    "lead_type": "auto",
    "name": "Mail",
    "email_to": "buyer@example.com",
    "email_subject": "Lead {{lead_id}}",
    "smtp_host": "127.0.0.1",
    "smtp_port": 2525,
    "smtp_starttls": True,
    "smtp_password": "pw",
    "email_notify": True,
    "notify_email": "ops@example.com",
    "client_email": "Subject: Thanks\nHi {{FirstName}}",
    "timeout_seconds": 5,
    "mappings": [{"param": "name", "field": "FirstName", "format": "upper"}],
    "days": [{"weekday": 0, "start": "09:00", "end": "17:00"}],
}


def _document_method() -> DeliveryMethod:
    problems: list[Violation] = []
    [entry] = read_clients([{"key": "c", "name": "C", "deliveries": [DOCUMENT_DELIVERY]}], problems)
    assert problems == []
    return entry.deliveries[0].method


def test_a_delivery_message_has_the_settings_config_as_code_stores() -> None:
    message = buyers_pb2.Delivery(
        key="mail",
        name="Mail",
        type=buyers_pb2.DELIVERY_TYPE_EMAIL,
        enabled=True,
        email_to="buyer@example.com",
        email_subject="Lead {{lead_id}}",
        smtp_host="127.0.0.1",
        smtp_port=2525,
        smtp_starttls=True,
        smtp_password="pw",
        email_notify=True,
        notify_email="ops@example.com",
        client_email="Subject: Thanks\nHi {{FirstName}}",
        timeout_seconds=5,
        mappings=[buyers_pb2.FieldMapping(param="name", field="FirstName", format="upper")],
        days=[buyers_pb2.DayWindow(weekday=0, start="09:00", end="17:00")],
    )
    method = convert.delivery_method(message)
    assert method.settings == _document_method().settings
    assert {k: method.settings[k] for k in ("email_notify", "notify_email")} == {
        "email_notify": True,
        "notify_email": "ops@example.com",
    }


def test_a_stored_delivery_answers_its_notice_settings() -> None:
    added = datetime(2026, 12, 4, tzinfo=UTC)
    stored = StoredDelivery(id=4, client_id=2, method=_document_method(), created_at=added)
    message = convert.delivery_message(stored)
    assert (message.email_notify, message.notify_email, message.client_email) == (
        True,
        "ops@example.com",
        "Subject: Thanks\nHi {{FirstName}}",
    )
    assert convert.delivery_method(message).settings["client_email"] == message.client_email


def test_an_unset_delivery_secret_is_none_so_the_stored_one_is_kept() -> None:
    message = buyers_pb2.Delivery(type=buyers_pb2.DELIVERY_TYPE_FTP, ftp_password="")
    settings = convert.delivery_method(message).settings
    assert settings["password"] is None and settings["smtp_password"] is None
    assert "ftp_password" not in settings  # given empty: cleared, not kept
    assert settings["timeout_seconds"] == 10.0


def test_a_client_message_takes_the_documents_defaults_for_unspecified_enums() -> None:
    spec = convert.client_spec(buyers_pb2.Client(name="C", email="a@example.com"))
    assert (spec.status, spec.automation, spec.secondary_automation) == (
        ClientStatus.Active,
        Automation.Price,
        Automation.Unspecified,
    )
    assert (spec.key, spec.password, dict(spec.contact)) == (None, None, {"email": "a@example.com"})
    assert spec.time_zone == "America/Los_Angeles"


MORE_CONTACT = {
    "phone_ext": "12",
    "alternate_phone": "702-555-0101",
    "alternate_phone_ext": "3",
    "fax": "702-555-0102",
    "job_title": "Buyer",
    "website": "https://acme.example",
    "mobile_phone": "702-555-0103",
}


def test_a_buyers_contact_details_read_alike_from_a_message_and_config_as_code() -> None:
    problems: list[Violation] = []
    [entry] = read_clients([{"key": "c", "name": "C", **MORE_CONTACT}], problems)
    from_message = convert.client_spec(buyers_pb2.Client(key="c", name="C", **MORE_CONTACT))
    assert problems == []
    assert dict(from_message.contact) == dict(entry.spec.contact) == MORE_CONTACT


def test_portal_settings_cross_a_client_message_both_ways() -> None:
    spec = convert.client_spec(
        buyers_pb2.Client(
            name="C", portal=buyers_pb2.PortalSettings(show_lead_grade=True, allow_reassign=True)
        )
    )
    assert spec.portal == PortalSettings(show_lead_grade=True, allow_reassign=True)
    assert convert.client_spec(buyers_pb2.Client(name="C")).portal == PortalSettings()


def test_an_update_mask_may_name_one_setting_of_a_message_field() -> None:
    client = buyers_pb2.Client()
    paths = ["portal.allow_calls", "portal", "name"]
    assert convert.mask_paths(FieldMask(paths=paths), client, "update_mask") == paths
    for bad in ("portal.nope", "name.first", "accounts.price", "created_at.seconds"):
        with pytest.raises(InvalidArgument) as refused:
            convert.mask_paths(FieldMask(paths=[bad]), client, "update_mask")
        assert bad in refused.value.violations[0].reason


def test_a_mask_naming_state_id_sets_the_state_from_the_posted_message() -> None:
    stored = buyers_pb2.Client(name="C", city="Reno", state="NV")
    posted = buyers_pb2.Client(state_id=6)
    merge = convert.merge_for(FieldMask(paths=["state_id"]), posted, lambda m: m, lambda m: m)
    assert merge is not None
    merged = merge(stored)
    assert (merged.name, merged.city, merged.state, merged.state_id) == ("C", "Reno", "", 6)
    assert convert.state_id(posted, FieldMask(paths=["state_id"])) == 6
    assert convert.state_id(posted, FieldMask()) == 6  # no mask: the whole message
    assert convert.state_id(posted, FieldMask(paths=["state"])) == 0  # left out: not read


def test_a_mask_of_spec_attributes_names_no_setting_within_a_setting() -> None:
    assert convert.changed_fields(FieldMask(paths=["city"]), catalog_pb2.Source(), "m") == {"city"}
    with pytest.raises(InvalidArgument):
        convert.changed_fields(FieldMask(paths=["portal.allow_calls"]), buyers_pb2.Client(), "m")


def test_an_account_message_without_caps_has_no_limits() -> None:
    spec = convert.delivery_account_spec(
        buyers_pb2.DeliveryAccount(
            price="12.50", criteria=[buyers_pb2.Criterion(field="Age", value="1")]
        )
    )
    assert (spec.hour_max, spec.day_max, spec.month_max) == (NO_LIMIT, NO_LIMIT, NO_LIMIT)
    assert spec.automation_enabled is True and spec.price == Decimal("12.50")
    assert spec.criteria[0].type is CriterionType.FieldValue


def test_an_unknown_enum_number_is_refused_at_its_path() -> None:
    message = buyers_pb2.DeliveryAccount(criteria=[buyers_pb2.Criterion(operator=99)])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument) as raised:
        convert.delivery_account_spec(message)
    assert [v.path for v in raised.value.violations] == ["account.criteria[0].operator"]


def test_an_order_without_dates_reads_them_as_missing() -> None:
    edit = convert.order_edit(buyers_pb2.Order(id=-1, items=[buyers_pb2.OrderItem(id=-1)]))
    assert (edit.start, edit.end, edit.items[0].id) == (None, None, 0)


# -- portal settings as stored ------------------------------------------------------------------


def test_portal_settings_are_stored_as_the_ones_that_are_on() -> None:
    settings = PortalSettings(show_campaign=True, override_reassign=True)
    stored = portal_json(settings)
    assert stored == {"show_campaign": True, "override_reassign": True}
    assert portal_from_json(stored) == settings
    assert portal_json(PortalSettings()) == {}
    assert portal_from_json({}) == PortalSettings()  # the buyers stored before they were kept
