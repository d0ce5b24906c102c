"""Lead field definitions, coercion and the cleaning of posted values."""

from __future__ import annotations

import pytest

from server.domain.catalog.fields import (
    DataType,
    FieldSpec,
    SpecialField,
    clean_lead_values,
    coerce,
    enum_by_name,
    validate_field_spec,
    validate_field_specs,
)


def phone_field(**overrides: object) -> FieldSpec:
    settings: dict[str, object] = {
        "name": "Phone",
        "data_type": DataType.Varchar,
        "required": True,
        "invalid_chars": "[^0-9]",
        "validation": "^[0-9]{10}$",
        "special": SpecialField.PrimaryPhone,
    }
    settings.update(overrides)
    return FieldSpec(**settings)  # type: ignore[arg-type]


def paths(problems: list) -> list[str]:
    return [p.path for p in problems]


# --- enum_by_name --------------------------------------------------------------------------


def test_enum_by_name_ignores_case() -> None:
    assert enum_by_name(DataType, "money") is DataType.Money


def test_enum_by_name_returns_none_for_unknown_name() -> None:
    assert enum_by_name(SpecialField, "Nickname") is None


# --- coerce --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data_type", "text", "expected"),
    [
        (DataType.Int, "42", 42),
        (DataType.Int, "-7", -7),
        (DataType.Int, "2147483647", 2**31 - 1),
        (DataType.Bigint, "9223372036854775807", 2**63 - 1),
        (DataType.Bit, "Yes", True),
        (DataType.Bit, "off", False),
        (DataType.Bit, "0", False),
        (DataType.Money, "$1,234.50", "1234.50"),
        (DataType.Decimal, "0.125", "0.125"),
        (DataType.Float, "2.5", 2.5),
        (DataType.DateTime, "2026-11-22", "2026-11-22T00:00:00+00:00"),
        (DataType.DateTime, "2026-11-22T14:30:00-05:00", "2026-11-22T14:30:00-05:00"),
        (DataType.DateTime, "11/22/2026 2:30 PM", "2026-11-22T14:30:00+00:00"),
        (DataType.DateTime, "11/22/2026 14:30:15", "2026-11-22T14:30:15+00:00"),
        (DataType.DateTime, "11/22/2026", "2026-11-22T00:00:00+00:00"),
        (DataType.Varchar, "anything at all", "anything at all"),
    ],
)
def test_coerce_converts_text_to_the_data_type(
    data_type: DataType, text: str, expected: object
) -> None:
    value = coerce(data_type, text)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("data_type", "text", "reason"),
    [
        (DataType.Int, "12.5", "whole number"),
        (DataType.Int, "ten", "whole number"),
        (DataType.Int, "2147483648", "between"),
        (DataType.Int, "-2147483649", "between"),
        (DataType.Bigint, "9223372036854775808", "between"),
        (DataType.Bit, "maybe", "true/false"),
        (DataType.Money, "12 dollars", "number"),
        (DataType.Money, "NaN", "finite"),
        (DataType.Money, "1e999999999", "at most 40 digits"),
        (DataType.Decimal, "1e-999999999", "at most 40 digits"),
        (DataType.Decimal, "0e-999999999", "at most 40 digits"),
        (DataType.Int, "9" * 5000, "between"),
        (DataType.Bigint, "-" + "9" * 20, "between"),
        (DataType.Float, "nan", "finite"),
        (DataType.Float, "inf", "finite"),
        (DataType.Float, "one", "number"),
        (DataType.DateTime, "22/11/2026", "date"),
        (DataType.DateTime, "tomorrow", "date"),
    ],
)
def test_coerce_rejects_text_that_is_not_of_the_data_type(
    data_type: DataType, text: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        coerce(data_type, text)


# --- clean_lead_values ---------------------------------------------------------------------


def test_invalid_characters_are_removed_before_validation() -> None:
    cleaned = clean_lead_values([phone_field()], {"Phone": "(702) 555-0100"})
    assert cleaned.problems == []
    assert cleaned.values == {"Phone": "7025550100"}


def test_validation_expression_failure_is_reported() -> None:
    cleaned = clean_lead_values([phone_field()], {"Phone": "555-0100"})
    assert paths(cleaned.problems) == ["Phone"]
    assert "fails validation" in cleaned.problems[0].reason
    assert "Phone" not in cleaned.values


def test_required_field_missing_is_reported() -> None:
    cleaned = clean_lead_values([phone_field()], {})
    assert not cleaned.ok
    assert [(p.path, p.reason) for p in cleaned.problems] == [("Phone", "is required")]


def test_required_field_made_empty_by_invalid_char_removal_is_reported() -> None:
    cleaned = clean_lead_values([phone_field()], {"Phone": "(---)"})
    assert [(p.path, p.reason) for p in cleaned.problems] == [("Phone", "is required")]


def test_optional_field_missing_is_left_out_without_a_problem() -> None:
    cleaned = clean_lead_values([FieldSpec("City")], {"City": "   "})
    assert cleaned.ok
    assert cleaned.values == {}


def test_posted_value_is_stripped_and_coerced_to_its_type() -> None:
    cleaned = clean_lead_values(
        [FieldSpec("Age", DataType.Int), FieldSpec("Budget", DataType.Money)],
        {"Age": " 34 ", "Budget": "$1,234.50"},
    )
    assert cleaned.values == {"Age": 34, "Budget": "1234.50"}


def test_coercion_failure_is_reported_with_the_reason() -> None:
    cleaned = clean_lead_values([FieldSpec("Age", DataType.Int)], {"Age": "thirty"})
    assert paths(cleaned.problems) == ["Age"]
    assert "whole number" in cleaned.problems[0].reason


def test_enumeration_matches_ignoring_case_and_returns_canonical_value() -> None:
    spec = FieldSpec("CreditRating", enumerations=("Excellent", "Good", "Fair"))
    cleaned = clean_lead_values([spec], {"CreditRating": "gOOd"})
    assert cleaned.values == {"CreditRating": "Good"}


def test_value_outside_enumeration_is_reported_with_allowed_values() -> None:
    spec = FieldSpec("CreditRating", enumerations=("Excellent", "Good"))
    cleaned = clean_lead_values([spec], {"CreditRating": "Superb"})
    assert paths(cleaned.problems) == ["CreditRating"]
    assert "Excellent, Good" in cleaned.problems[0].reason


def test_every_bad_field_is_reported_at_once() -> None:
    specs = [
        phone_field(),
        FieldSpec("Email", required=True),
        FieldSpec("Age", DataType.Int),
        FieldSpec("Tier", enumerations=("Gold", "Silver")),
        FieldSpec("City"),
    ]
    posted = {"Phone": "12", "Age": "old", "Tier": "Bronze", "City": "Reno"}
    cleaned = clean_lead_values(specs, posted)
    assert paths(cleaned.problems) == ["Phone", "Email", "Age", "Tier"]
    assert cleaned.values == {"City": "Reno"}


def test_posted_names_match_fields_ignoring_case() -> None:
    cleaned = clean_lead_values([FieldSpec("FirstName", required=True)], {"firstname": "Ada"})
    assert cleaned.ok
    assert cleaned.values == {"FirstName": "Ada"}
    assert cleaned.extras == {}


def test_unknown_posted_names_go_to_extras() -> None:
    cleaned = clean_lead_values([FieldSpec("FirstName")], {"FirstName": "Ada", "utm_source": "x"})
    assert cleaned.extras == {"utm_source": "x"}
    assert "utm_source" not in cleaned.values


# --- validate_field_spec(s) ----------------------------------------------------------------


def test_well_formed_field_spec_has_no_problems() -> None:
    assert validate_field_spec(phone_field(enumerations=("7025550100",))) == []


@pytest.mark.parametrize("name", ["", "1stName", "First Name", "First-Name", "a" * 65])
def test_bad_field_names_are_reported(name: str) -> None:
    assert paths(validate_field_spec(FieldSpec(name), "f")) == ["f.name"]


@pytest.mark.parametrize("name", ["_x", "FirstName", "a" * 64])
def test_good_field_names_are_accepted(name: str) -> None:
    assert validate_field_spec(FieldSpec(name)) == []


def test_field_name_with_trailing_newline_is_rejected() -> None:
    assert paths(validate_field_spec(FieldSpec("Email\n"), "f")) == ["f.name"]


def test_missing_data_type_is_reported() -> None:
    spec = FieldSpec("Age", DataType.No_DataType)
    assert paths(validate_field_spec(spec, "f")) == ["f.type"]


def test_a_layout_in_whole_numbers_from_0_is_accepted() -> None:
    assert validate_field_spec(FieldSpec("Notes", col_span=2, width=300, height=80)) == []


@pytest.mark.parametrize("value", [-1, 2**31])
@pytest.mark.parametrize("attribute", ["col_span", "width", "height"])
def test_a_layout_below_0_or_past_int32_is_reported(attribute: str, value: int) -> None:
    spec = FieldSpec("Notes", **{attribute: value})  # type: ignore[arg-type]
    assert paths(validate_field_spec(spec, "f")) == [f"f.{attribute}"]


@pytest.mark.parametrize("attribute", ["validation", "invalid_chars"])
def test_bad_regular_expressions_are_reported(attribute: str) -> None:
    spec = FieldSpec("Zip", **{attribute: "[0-9"})  # type: ignore[arg-type]
    problems = validate_field_spec(spec, "f")
    assert paths(problems) == [f"f.{attribute}"]
    assert "bad regular expression" in problems[0].reason


def test_repeated_and_empty_enumeration_values_are_reported() -> None:
    spec = FieldSpec("Tier", enumerations=("Gold", " ", "Gold"))
    assert paths(validate_field_spec(spec, "f")) == ["f.enumerations[1]", "f.enumerations[2]"]


def test_enumeration_values_that_do_not_coerce_to_the_type_are_reported() -> None:
    spec = FieldSpec("Age", DataType.Int, enumerations=("18", "adult", "65"))
    problems = validate_field_spec(spec, "f")
    assert paths(problems) == ["f.enumerations[1]"]
    assert "whole number" in problems[0].reason


def test_field_names_duplicated_ignoring_case_are_reported() -> None:
    problems = validate_field_specs([FieldSpec("Email"), FieldSpec("City"), FieldSpec("EMAIL")])
    assert paths(problems) == ["fields[2].name"]
    assert "fields[0]" in problems[0].reason


def test_same_special_on_two_fields_is_reported() -> None:
    specs = [
        FieldSpec("Email", special=SpecialField.Email),
        FieldSpec("Email2", special=SpecialField.Email),
    ]
    problems = validate_field_specs(specs, "lt.fields")
    assert paths(problems) == ["lt.fields[1].special"]
    assert "lt.fields[0]" in problems[0].reason


def test_fields_without_a_special_may_share_no_special_bit() -> None:
    assert validate_field_specs([FieldSpec("A"), FieldSpec("B"), FieldSpec("C")]) == []


def test_a_value_or_name_holding_nul_is_a_problem_and_kept_nowhere() -> None:
    """PostgreSQL text cannot hold NUL: such a lead could not be stored."""
    cleaned = clean_lead_values(
        [phone_field(), FieldSpec("City")], {"Phone": "555\x001234", "Odd\x00": "x", "City": "Reno"}
    )
    assert [str(p) for p in cleaned.problems] == [
        "Phone: holds a NUL character",  # not also "is required"
        "Odd\\x00: holds a NUL character",
    ]
    assert (cleaned.values, cleaned.extras) == ({"City": "Reno"}, {})
