"""Campaign rules: validation against a lead type's fields, and evaluation against a lead."""

from __future__ import annotations

import pytest

from server.domain.catalog.fields import DataType, FieldSpec, Value, coerce
from server.domain.catalog.rules import Operator, Rule, rule_passes, validate_rule

AGE = FieldSpec("Age", DataType.Int)
BUDGET = FieldSpec("Budget", DataType.Money)
SCORE = FieldSpec("Score", DataType.Float)
STATE = FieldSpec("State", DataType.Varchar)
CONSENT = FieldSpec("Consent", DataType.Bit)
WHEN = FieldSpec("When", DataType.DateTime)
FIELDS = {spec.name.casefold(): spec for spec in (AGE, BUDGET, SCORE, STATE, CONSENT, WHEN)}


def problems_of(field: str, operator: Operator, value: str) -> list[tuple[str, str]]:
    found = validate_rule(Rule(field, operator, value), FIELDS, "rules[0]")
    return [(p.path, p.reason) for p in found]


def passes(spec: FieldSpec, operator: Operator, rule_value: str, posted: str | None) -> bool:
    value: Value = None if posted is None else coerce(spec.data_type, posted)
    return rule_passes(Rule(spec.name, operator, rule_value), spec, value)


# --- validate_rule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "operator", "value"),
    [
        ("Age", Operator.GreaterOrEqual, "18"),
        ("age", Operator.Between, "18,65"),
        ("Budget", Operator.Less, "$1,000.00"),
        ("Score", Operator.In, "1.5, 2.5"),
        ("State", Operator.NotIn, "NV,CA"),
        ("State", Operator.Contains, "V"),
        ("Age", Operator.Doesnt_Contain, "abc"),
        ("Consent", Operator.Equal, "yes"),
        ("When", Operator.Greater, "11/22/2026"),
    ],
)
def test_valid_rules_have_no_problems(field: str, operator: Operator, value: str) -> None:
    assert problems_of(field, operator, value) == []


def test_rule_on_unknown_field_is_reported() -> None:
    problems = problems_of("Income", Operator.Equal, "1")
    assert [path for path, _ in problems] == ["rules[0].field"]
    assert "not a field" in problems[0][1]


def test_rule_without_operator_is_reported() -> None:
    assert problems_of("Age", Operator.Unspecified, "1") == [
        ("rules[0].operator", "an operator is required")
    ]


@pytest.mark.parametrize("operator", [Operator.DateCompare, Operator.Distance_Compare])
def test_operators_needing_reference_data_are_refused_for_campaign_rules(
    operator: Operator,
) -> None:
    problems = problems_of("When", operator, "1")
    assert [path for path, _ in problems] == ["rules[0].operator"]
    assert "not available for campaign rules" in problems[0][1]


@pytest.mark.parametrize(
    ("field", "operator", "value"),
    [
        ("State", Operator.Greater, "M"),
        ("Consent", Operator.LessOrEqual, "1"),
        ("State", Operator.Between, "A,M"),
    ],
)
def test_ordering_operators_need_a_numeric_or_date_field(
    field: str, operator: Operator, value: str
) -> None:
    problems = problems_of(field, operator, value)
    assert [path for path, _ in problems] == ["rules[0].operator"]
    assert "needs a numeric or date field" in problems[0][1]


@pytest.mark.parametrize(
    ("field", "operator", "value", "reason"),
    [
        ("Age", Operator.Equal, "  ", "a value is required"),
        ("State", Operator.Contains, "", "a value is required"),
        ("Age", Operator.In, " , ", "comma-separated list"),
        ("Age", Operator.Between, "18", "two values"),
        ("Age", Operator.Between, "18,30,65", "two values"),
        ("Age", Operator.Between, "65,18", "low bound is above the high bound"),
        ("Budget", Operator.Between, "100.50,20", "low bound is above the high bound"),
        ("Age", Operator.Greater, "eighteen", "whole number"),
        ("Score", Operator.Equal, "nan", "finite"),
    ],
)
def test_bad_rule_values_are_reported(
    field: str, operator: Operator, value: str, reason: str
) -> None:
    problems = problems_of(field, operator, value)
    assert [path for path, _ in problems] == ["rules[0].value"]
    assert reason in problems[0][1]


def test_each_bad_list_item_is_reported() -> None:
    problems = problems_of("Age", Operator.In, "18, x, 30, y")
    assert [reason.split()[0] for _, reason in problems] == ["'x'", "'y'"]


# --- rule_passes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "operator", "rule_value", "posted", "expected"),
    [
        (STATE, Operator.Equal, "nv", "NV", True),
        (STATE, Operator.Equal, "NV", "CA", False),
        (AGE, Operator.Equal, "18", "+18", True),
        (BUDGET, Operator.Equal, "12.5", "$12.50", True),
        (STATE, Operator.NotEqual, "NV", "nv", False),
        (STATE, Operator.NotEqual, "NV", "CA", True),
        (AGE, Operator.Greater, "18", "19", True),
        (AGE, Operator.Greater, "18", "18", False),
        (AGE, Operator.GreaterOrEqual, "18", "18", True),
        (AGE, Operator.Less, "18", "17", True),
        (AGE, Operator.LessOrEqual, "18", "19", False),
        (BUDGET, Operator.Greater, "$1,000", "1000.01", True),
        (BUDGET, Operator.Less, "9.5", "9", True),
        (SCORE, Operator.GreaterOrEqual, "2.5", "2.49", False),
        (WHEN, Operator.Greater, "11/22/2026", "2026-11-23", True),
    ],
)
def test_comparison_operators(
    spec: FieldSpec, operator: Operator, rule_value: str, posted: str, expected: bool
) -> None:
    assert passes(spec, operator, rule_value, posted) is expected


@pytest.mark.parametrize(
    ("spec", "rule_value", "posted", "expected"),
    [
        (AGE, "18,65", "18", True),
        (AGE, "18,65", "65", True),
        (AGE, "18,65", "66", False),
        (AGE, "18,65", "17", False),
        (BUDGET, "10.00, 99.99", "$99.99", True),
        (BUDGET, "10.00, 99.99", "100", False),
        (SCORE, "0.5,1.5", "1.0", True),
    ],
)
def test_between_is_inclusive_on_numbers_and_money(
    spec: FieldSpec, rule_value: str, posted: str, expected: bool
) -> None:
    assert passes(spec, Operator.Between, rule_value, posted) is expected


@pytest.mark.parametrize(
    ("spec", "rule_value", "posted", "expected_in"),
    [
        (AGE, "18, 21, 25", "21", True),
        (AGE, "18, 21, 25", "22", False),
        (BUDGET, "10, 20.5", "20.50", True),
        (BUDGET, "10, 20.5", "20.05", False),
        (STATE, "NV, CA", "ca", True),
        (STATE, "NV, CA", "AZ", False),
    ],
)
def test_in_and_not_in_are_opposites(
    spec: FieldSpec, rule_value: str, posted: str, expected_in: bool
) -> None:
    assert passes(spec, Operator.In, rule_value, posted) is expected_in
    assert passes(spec, Operator.NotIn, rule_value, posted) is not expected_in


@pytest.mark.parametrize(
    ("spec", "rule_value", "posted", "expected_contains"),
    [
        (STATE, "vada", "NEVADA", True),
        (STATE, "xyz", "Nevada", False),
        (AGE, "23", "1234", True),
        (AGE, "5", "1234", False),
        (BUDGET, "34.5", "$1,234.50", True),
        (BUDGET, "99", "1234.50", False),
    ],
)
def test_contains_and_doesnt_contain_are_opposites(
    spec: FieldSpec, rule_value: str, posted: str, expected_contains: bool
) -> None:
    assert passes(spec, Operator.Contains, rule_value, posted) is expected_contains
    assert passes(spec, Operator.Doesnt_Contain, rule_value, posted) is not expected_contains


@pytest.mark.parametrize(
    ("operator", "rule_value"),
    [
        (Operator.Equal, "18"),
        (Operator.Greater, "18"),
        (Operator.Between, "18,65"),
        (Operator.In, "18,21"),
        (Operator.Contains, "1"),
    ],
)
def test_absent_value_fails_positive_operators(operator: Operator, rule_value: str) -> None:
    assert passes(AGE, operator, rule_value, None) is False


@pytest.mark.parametrize(
    ("operator", "rule_value"),
    [(Operator.NotEqual, "18"), (Operator.NotIn, "18,21"), (Operator.Doesnt_Contain, "1")],
)
def test_absent_value_passes_negative_operators(operator: Operator, rule_value: str) -> None:
    assert passes(AGE, operator, rule_value, None) is True


def test_equal_money_with_thousands_separator_matches_the_amount() -> None:
    rule = Rule("Budget", Operator.Equal, "1,234.50")
    assert validate_rule(rule, FIELDS, "r") == []
    assert rule_passes(rule, BUDGET, coerce(DataType.Money, "1234.50")) is True


def test_equal_string_containing_a_comma_does_not_match_a_part_of_it() -> None:
    assert passes(STATE, Operator.Equal, "Reno, NV", "NV") is False


def test_datetime_comparison_respects_utc_offsets() -> None:
    assert passes(WHEN, Operator.Greater, "2026-11-22T12:00:00", "2026-11-22T10:00:00-08:00")


def test_datetime_between_bounds_with_offsets_are_ordered_by_instant() -> None:
    # 10:00+05:00 is 05:00 UTC, before 06:00 UTC.
    assert problems_of("When", Operator.Between, "2026-01-01T10:00+05:00,2026-01-01T06:00") == []
