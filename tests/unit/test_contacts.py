"""Contact keys of leads (server/domain/intake/contacts.py)."""

from __future__ import annotations

from server.domain.catalog.fields import FieldSpec, SpecialField
from server.domain.intake.contacts import (
    address_key,
    contact_keys,
    email_key,
    phone_key,
    search_keys,
)


def test_keys_as_people_write_them() -> None:
    assert email_key(" Ann@Example.COM ") == email_key("ann@example.com") == "e:ann@example.com"
    assert phone_key("(702) 555-0100") == phone_key("+1 702.555.0100") == "p:7025550100"
    assert address_key("  1 Main   St ") == address_key("1 MAIN ST") == "a:1 main st"
    assert email_key(" ") == phone_key("n/a") == address_key("") == ""


def test_a_leads_keys_come_from_its_contact_fields() -> None:
    fields = [
        FieldSpec("Mail", special=SpecialField.Email),
        FieldSpec("Tel", special=SpecialField.PrimaryPhone),
        FieldSpec("Street", special=SpecialField.Address),
        FieldSpec("City", special=SpecialField.City),
    ]
    values = {"Mail": "A@B.C", "Tel": "702-555-0100", "City": "Reno", "Street": " "}
    assert contact_keys(fields, values) == ["e:a@b.c", "p:7025550100"]


def test_a_search_asks_for_every_value_given() -> None:
    assert search_keys("A@B.C", "", "(702) 555-0100") == ["e:a@b.c", "p:7025550100"]
    assert search_keys("", " ", "") == []
