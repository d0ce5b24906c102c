"""Delivery method settings as the buyer edits by id read them: mappings naming their field by
id."""

from __future__ import annotations

from server.domain.buyers.specs import mappings_by_name
from server.domain.catalog.fields import FieldSpec

FIELDS = (FieldSpec("Email", id=11), FieldSpec("State", id=12))


def test_a_mapping_naming_its_field_by_id_is_stored_by_name() -> None:
    settings = {"address": "https://b.example", "mappings": [{"param": "st", "field_id": 12}]}
    named, problems = mappings_by_name(settings, FIELDS, "delivery")
    assert problems == []
    assert named == {
        "address": "https://b.example",
        "mappings": [{"param": "st", "field": "State"}],
    }


def test_an_id_and_the_same_name_agree_and_the_name_takes_the_fields_spelling() -> None:
    settings = {"mappings": [{"param": "e", "field": "email", "field_id": 11, "format": "upper"}]}
    named, problems = mappings_by_name(settings, FIELDS, "delivery")
    assert problems == []
    assert named["mappings"] == [{"param": "e", "field": "Email", "format": "upper"}]


def test_mappings_by_name_or_constant_are_left_as_they_are() -> None:
    mappings = [{"param": "e", "field": "Email"}, {"param": "src", "constant": "lr"}]
    named, problems = mappings_by_name({"mappings": mappings}, FIELDS, "delivery")
    assert (named, problems) == ({"mappings": mappings}, [])


def test_an_id_of_no_field_of_the_lead_type_is_refused_at_its_path() -> None:
    settings = {"mappings": [{"param": "e", "field": "Email"}, {"param": "x", "field_id": 99}]}
    _, problems = mappings_by_name(settings, FIELDS, "delivery")
    assert [(p.path, p.reason) for p in problems] == [
        ("delivery.mappings[1].field_id", "no field 99 in the lead type")
    ]


def test_an_id_naming_another_field_than_the_name_is_refused() -> None:
    settings = {"mappings": [{"param": "e", "field": "Email", "field_id": 12}]}
    _, problems = mappings_by_name(settings, FIELDS, "delivery")
    assert [p.path for p in problems] == ["delivery.mappings[0].field_id"]
    assert "'State'" in problems[0].reason


def test_settings_without_mappings_stay_without() -> None:
    assert mappings_by_name({"address": "x"}, FIELDS, "delivery") == ({"address": "x"}, [])
