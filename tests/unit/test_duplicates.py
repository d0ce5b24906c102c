"""The duplicate key (server/domain/intake/duplicates.py): which leads count as the same."""

from __future__ import annotations

from datetime import UTC, datetime

from server.domain.catalog.fields import DataType, FieldSpec
from server.domain.intake.duplicates import duplicate_key

FIELDS = [
    FieldSpec("Email", duplicate_check=True),
    FieldSpec("Phone", duplicate_check=True),
    FieldSpec("FirstName"),
]


def test_same_checked_values_give_the_same_key() -> None:
    first = duplicate_key(7, FIELDS, {"Email": "a@b.example", "Phone": "5550100"})
    second = duplicate_key(7, FIELDS, {"Email": "a@b.example", "Phone": "5550100"})
    assert first is not None and first == second


def test_values_compare_without_blanks_and_case() -> None:
    first = duplicate_key(7, FIELDS, {"Email": "A@B.example ", "Phone": "5550100"})
    second = duplicate_key(7, FIELDS, {"Email": " a@b.EXAMPLE", "Phone": "5550100"})
    assert first == second


def test_a_field_not_checked_does_not_count() -> None:
    first = duplicate_key(7, FIELDS, {"Email": "a@b.example", "FirstName": "Ann"})
    second = duplicate_key(7, FIELDS, {"Email": "a@b.example", "FirstName": "Bob"})
    assert first == second


def test_a_different_checked_value_gives_another_key() -> None:
    first = duplicate_key(7, FIELDS, {"Email": "a@b.example", "Phone": "5550100"})
    second = duplicate_key(7, FIELDS, {"Email": "a@b.example", "Phone": "5550101"})
    assert first != second


def test_another_lead_type_gives_another_key() -> None:
    values = {"Email": "a@b.example"}
    assert duplicate_key(7, FIELDS, values) != duplicate_key(8, FIELDS, values)


def test_a_lead_with_no_checked_value_has_no_key() -> None:
    assert duplicate_key(7, FIELDS, {"FirstName": "Ann", "Email": "  "}) is None


def test_a_lead_type_checking_nothing_has_no_key() -> None:
    assert duplicate_key(7, [FieldSpec("Email")], {"Email": "a@b.example"}) is None


def test_dates_compare_by_their_iso_text() -> None:
    fields = [FieldSpec("Born", DataType.DateTime, duplicate_check=True)]
    when = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    assert duplicate_key(7, fields, {"Born": when}) == duplicate_key(7, fields, {"Born": when})
    later = datetime(2026, 1, 2, 3, 5, tzinfo=UTC)
    assert duplicate_key(7, fields, {"Born": when}) != duplicate_key(7, fields, {"Born": later})
