"""Computed fields: which expressions a lead type may hold, and what they give a lead."""

from __future__ import annotations

from datetime import UTC, datetime

from server.domain.catalog.computed import compute_fields, computed_problems, set_computed
from server.domain.catalog.fields import DataType, FieldSpec, clean_lead_values

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
AGE = FieldSpec("Age", DataType.Int)
NAME = FieldSpec("Name")


def computed(name: str, data_type: DataType, expression: str, **more: object) -> FieldSpec:
    return FieldSpec(name, data_type, computed=expression, **more)  # type: ignore[arg-type]


def test_a_sound_expression_has_no_problem() -> None:
    specs = [AGE, NAME, computed("Next", DataType.Int, "age + 1")]
    assert computed_problems(specs) == []


def test_problems_name_the_field_and_why() -> None:
    specs = [
        AGE,
        computed("A", DataType.Int, "Age +"),
        computed("B", DataType.Int, "Missing * 2"),
        computed("C", DataType.Bit, "Age + 1"),
        computed("D", DataType.Int, "A + 1"),  # another computed field
        computed("E", DataType.Varchar, "Age", required=True),
    ]
    found = {(p.path, p.reason.split(" ")[0]) for p in computed_problems(specs)}
    assert ("fields[1].computed", "syntax") in found
    assert {p.path for p in computed_problems(specs)} == {
        "fields[1].computed",
        "fields[2].computed",
        "fields[3].computed",
        "fields[4].computed",
        "fields[5].required",
    }


def test_a_text_field_takes_any_kind_of_result() -> None:
    assert computed_problems([AGE, computed("Shown", DataType.Varchar, "Age * 2")]) == []


def test_values_are_worked_out_and_typed_by_the_field() -> None:
    specs = [
        AGE,
        NAME,
        computed("Next", DataType.Int, "Age + 1"),
        computed("Hi", DataType.Varchar, "'Hi ' + Name"),
    ]
    found = compute_fields(specs, {"Age": 30, "Name": "Ann"}, NOW)
    assert found is not None
    assert found.values == {"Next": 31, "Hi": "Hi Ann"}
    assert found.detail == "Next=31; Hi=Hi Ann"


def test_what_cannot_be_worked_out_is_empty_and_said() -> None:
    specs = [
        AGE,
        computed("Half", DataType.Int, "Age / 2"),
        computed("Inverse", DataType.Decimal, "1 / Age"),
    ]
    found = compute_fields(specs, {"Age": 0}, NOW)
    assert found is not None
    assert found.values == {"Half": 0, "Inverse": None}
    odd = compute_fields(specs, {"Age": 3}, NOW)
    assert odd is not None and odd.values["Half"] is None  # 1.5 is no Int
    assert "Half left empty" in odd.detail
    missing = compute_fields(specs, {}, NOW)
    assert missing is not None and missing.values == {"Half": None, "Inverse": None}


def test_a_lead_type_without_computed_fields_computes_nothing() -> None:
    assert compute_fields([AGE, NAME], {"Age": 1}, NOW) is None


def test_set_computed_removes_what_is_now_empty() -> None:
    values: dict[str, object] = {"Age": 3, "Half": 1}
    found = compute_fields([AGE, computed("Half", DataType.Int, "Age / 2")], values, NOW)  # type: ignore[arg-type]
    assert found is not None
    set_computed(values, found)  # type: ignore[arg-type]
    assert values == {"Age": 3}


def test_a_value_posted_for_a_computed_field_is_dropped() -> None:
    specs = [AGE, computed("Next", DataType.Int, "Age + 1", required=False)]
    cleaned = clean_lead_values(specs, {"Age": "30", "next": "99"})
    assert cleaned.ok and cleaned.values == {"Age": 30} and cleaned.extras == {}
