"""Buyers as the edits by id read them: a state named by id, and delivery method mappings
naming their field by id."""

from __future__ import annotations

import pytest

from server.domain.buyers.specs import ClientSpec, client_with_state_id, mappings_by_name
from server.domain.catalog.fields import FieldSpec
from server.domain.geo import State, States
from server.errors import InvalidArgument

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


STATES = States([State(6, "California", "CA"), State(32, "Nevada", "NV")])


def test_a_buyer_state_given_by_id_takes_its_abbreviation_beside_its_contact() -> None:
    buyer = ClientSpec(name="B", contact={"city": "Reno"})
    assert client_with_state_id(buyer, 32, STATES).contact == {"city": "Reno", "state": "NV"}
    assert client_with_state_id(buyer, 0, STATES) == buyer
    named = ClientSpec(name="B", contact={"state": "nevada"})
    assert client_with_state_id(named, 32, STATES) == named  # kept as written


def test_a_buyer_state_named_both_ways_must_be_the_same_state() -> None:
    with pytest.raises(InvalidArgument) as refused:
        client_with_state_id(ClientSpec(name="B", contact={"state": "CA"}), 32, STATES)
    assert [v.path for v in refused.value.violations] == ["client.state"]
