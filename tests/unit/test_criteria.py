"""Buyer criteria: validation when an account is saved, and checking leads against them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from server.domain.catalog.fields import DataType, FieldSpec, Value, coerce
from server.domain.catalog.rules import Operator
from server.domain.matching.criteria import (
    CompiledCriteria,
    Criterion,
    CriterionType,
    EvalContext,
    Verdict,
    compile_criteria,
    distance_failure,
    keep_criterion_ids,
    lead_zip,
    match_criterion_ids,
    membership_key,
    validate_criteria,
    validate_criterion,
)

SPECS = (
    FieldSpec("State"),
    FieldSpec("Email"),
    FieldSpec("Zip"),
    FieldSpec("ZipNumber", DataType.Int),
    FieldSpec("LoanAmount", DataType.Money),
    FieldSpec("Rate", DataType.Decimal),
    FieldSpec("Value", DataType.Int),
    FieldSpec("Phone", DataType.Bigint),
    FieldSpec("Score", DataType.Float),
    FieldSpec("DOB", DataType.DateTime),
    FieldSpec("LastSeen", DataType.DateTime),
    FieldSpec("Consent", DataType.Bit),
)
FIELDS = {spec.name.casefold(): spec for spec in SPECS}
# 20:00 UTC is 12:00 on Sunday 1 March 2026 in Las Vegas.
NOW = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
TZ = ZoneInfo("America/Los_Angeles")
CENTRE = "89101"
DISTANCES = {"89101": 0.0, "89052": 14.2, "89003": 50.0, "89004": 50.04, "10001": 2451.0}
KNOWN_ZIPS = frozenset(DISTANCES) | {"01001"}

Kind = CriterionType
Op = Operator


def distance_miles(zip_a: str, zip_b: str) -> float | None:
    if zip_b != CENTRE:
        return None
    return DISTANCES.get(zip_a)


def context(now: datetime = NOW, tz: ZoneInfo = TZ) -> EvalContext:
    return EvalContext(now, tz, distance_miles)


def lead(**posted: str) -> dict[str, Value]:
    return {
        name.casefold(): coerce(FIELDS[name.casefold()].data_type, text)
        for name, text in posted.items()
    }


def field(name: str, operator: Operator, value: str) -> Criterion:
    return Criterion(Kind.FieldValue, name, operator, value)


def expression(text: str, operator: Operator = Op.Unspecified, value: str = "") -> Criterion:
    return Criterion(Kind.Expression, "", operator, value, text)


def function(name: str, field_name: str, operator: Operator, value: str) -> Criterion:
    return Criterion(Kind.Function, field_name, operator, value, name)


def check(
    criteria: Criterion | list[Criterion],
    values: dict[str, Value],
    now: datetime = NOW,
    tz: ZoneInfo = TZ,
) -> Verdict:
    listed = criteria if isinstance(criteria, list) else [criteria]
    assert validate_criteria(listed, FIELDS, KNOWN_ZIPS.__contains__) == []
    return compile_criteria(listed, FIELDS).check(values, context(now, tz))


def passes(
    criterion: Criterion, values: dict[str, Value], now: datetime = NOW, tz: ZoneInfo = TZ
) -> bool:
    return check(criterion, values, now, tz).passed


def reason(criterion: Criterion, values: dict[str, Value]) -> str:
    verdict = check(criterion, values)
    assert not verdict.passed
    return verdict.reason


def problems_of(criterion: Criterion) -> list[tuple[str, str]]:
    found = validate_criterion(criterion, FIELDS, "criteria[0]", KNOWN_ZIPS.__contains__)
    return [(problem.path, problem.reason) for problem in found]


# --- FieldValue: the campaign-rule operators ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "operator", "value", "posted", "expected"),
    [
        ("State", Op.Equal, "nv", "NV", True),
        ("State", Op.Equal, "NV", "CA", False),
        ("State", Op.NotEqual, "nv", "NV", False),
        ("State", Op.NotEqual, "NV", "CA", True),
        ("State", Op.In, "nv, az", "AZ", True),
        ("State", Op.In, "NV,AZ", "CA", False),
        ("State", Op.NotIn, "NV,AZ", "ca", True),
        ("State", Op.NotIn, "nv,AZ", "NV", False),
        ("State", Op.Contains, "VAD", "Nevada", True),
        ("State", Op.Contains, "x", "Nevada", False),
        ("State", Op.Doesnt_Contain, "VAD", "Nevada", False),
        ("State", Op.Doesnt_Contain, "x", "Nevada", True),
        ("Value", Op.Equal, "100000", "+100000", True),
        ("Value", Op.Greater, "99999", "100000", True),
        ("Value", Op.Greater, "100000", "100000", False),
        ("Value", Op.Less, "100000", "99999", True),
        ("Value", Op.GreaterOrEqual, "100000", "100000", True),
        ("Value", Op.LessOrEqual, "100000", "100001", False),
        ("Value", Op.Between, "18,65", "65", True),
        ("Value", Op.Between, "18,65", "66", False),
        ("Value", Op.In, "1, 2, 3", "2", True),
        ("Phone", Op.Contains, "555", "7025550123", True),
        ("LoanAmount", Op.Greater, "$1,000", "1000.01", True),
        ("LoanAmount", Op.Equal, "90000", "$90,000.00", True),
        ("LoanAmount", Op.Between, "10000, 100000.00", "90000", True),
        ("LoanAmount", Op.In, "100, 200.5", "200.50", True),
        ("Rate", Op.LessOrEqual, "4.25", "4.250", True),
        ("Rate", Op.Less, "4.25", "4.25", False),
        ("Score", Op.GreaterOrEqual, "2.5", "2.49", False),
        ("DOB", Op.Less, "2000-01-01", "12/31/1999", True),
        ("DOB", Op.Greater, "2000-01-01", "1999-12-31", False),
        ("Consent", Op.Equal, "true", "yes", True),
        ("Consent", Op.Equal, "1", "no", False),
        ("Consent", Op.NotEqual, "yes", "0", True),
    ],
)
def test_field_value_operators_compare_by_data_type(
    name: str, operator: Operator, value: str, posted: str, expected: bool
) -> None:
    assert passes(field(name, operator, value), lead(**{name: posted})) is expected


@pytest.mark.parametrize(
    ("operator", "value"),
    [
        (Op.Equal, "x"),
        (Op.In, "x,y"),
        (Op.Contains, "x"),
        (Op.Greater, "1"),
        (Op.Between, "1,2"),
    ],
)
def test_a_missing_field_fails_positive_operators(operator: Operator, value: str) -> None:
    name = "Value" if operator in (Op.Greater, Op.Between) else "Email"
    assert reason(field(name, operator, value), {}) == f"{name} missing"


@pytest.mark.parametrize(
    ("operator", "value"), [(Op.NotEqual, "x"), (Op.NotIn, "x,y"), (Op.Doesnt_Contain, "x")]
)
def test_a_missing_field_passes_negative_operators(operator: Operator, value: str) -> None:
    assert passes(field("Email", operator, value), {}) is True


@pytest.mark.parametrize(
    ("criterion", "posted", "expected"),
    [
        (field("State", Op.In, "NV, AZ"), {"State": "CA"}, "State=CA not in NV,AZ"),
        (field("State", Op.NotIn, "CA,NY"), {"State": "ca"}, "State=ca is excluded (CA,NY)"),
        (field("State", Op.Equal, "NV"), {"State": "CA"}, "State=CA is not NV"),
        (field("State", Op.NotEqual, "NV"), {"State": "NV"}, "State=NV must not be NV"),
        (
            field("LoanAmount", Op.Greater, "100000"),
            {"LoanAmount": "90000.00"},
            "LoanAmount=90000 not greater than 100000",
        ),
        (field("Value", Op.Less, "10"), {"Value": "10"}, "Value=10 not less than 10"),
        (field("Value", Op.GreaterOrEqual, "18"), {"Value": "17"}, "Value=17 not at least 18"),
        (field("Rate", Op.LessOrEqual, "4.5"), {"Rate": "4.75"}, "Rate=4.75 not at most 4.5"),
        (field("Value", Op.Between, "18, 65"), {"Value": "70"}, "Value=70 not between 18 and 65"),
        (field("Email", Op.Contains, "@"), {"Email": "bob"}, "Email=bob does not contain @"),
        (
            field("Email", Op.Doesnt_Contain, "test"),
            {"Email": "test@x.com"},
            "Email=test@x.com contains test",
        ),
        (field("Consent", Op.Equal, "yes"), {"Consent": "no"}, "Consent=false is not yes"),
        (field("Email", Op.Equal, "x"), {}, "Email missing"),
    ],
)
def test_field_value_reasons(criterion: Criterion, posted: dict[str, str], expected: str) -> None:
    assert reason(criterion, lead(**posted)) == expected


def test_a_long_value_is_clipped_in_the_reason() -> None:
    found = reason(field("Email", Op.Equal, "x"), lead(Email="a" * 100))
    assert found == "Email=" + "a" * 59 + "… is not x"


def test_field_names_in_criteria_ignore_case() -> None:
    assert passes(field("STATE", Op.Equal, "NV"), lead(State="NV")) is True


# --- FieldValue: DateCompare ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dob", "value", "expected"),
    [
        ("2008-03-01", ">=18y", True),
        ("2008-03-02", ">=18y", False),
        ("2008-03-02", "<18y", True),
        ("2008-03-01", "=18y", True),
        ("2008-03-01", "!=18y", False),
        ("2008-03-01", ">18y", False),
        ("2008-03-01", "<=18y", True),
        ("2025-09-01", ">=6m", True),
        ("2025-09-02", ">=6m", False),
        ("2026-02-01", "<=30d", True),
        ("2026-02-01", "=28d", True),
        ("2026-01-01", "<=30d", False),
        ("2026-01-30", ">30d", False),
        ("2026-01-29", ">30d", True),
        ("2026-03-01", "=0d", True),
        ("2026-03-05", ">=0d", False),
        ("03/01/2008", " >= 18 Y ", True),
    ],
)
def test_date_compare_counts_whole_units_to_now(dob: str, value: str, expected: bool) -> None:
    assert passes(field("DOB", Op.DateCompare, value), lead(DOB=dob)) is expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 2, 27, 20, tzinfo=UTC), False),
        (datetime(2026, 2, 28, 20, tzinfo=UTC), True),
        (datetime(2026, 3, 1, 20, tzinfo=UTC), True),
    ],
)
def test_date_compare_a_leap_day_birthday_counts_at_the_end_of_february(
    now: datetime, expected: bool
) -> None:
    criterion = field("DOB", Op.DateCompare, ">=18y")
    assert passes(criterion, lead(DOB="2008-02-29"), now=now) is expected


@pytest.mark.parametrize(
    ("seen", "now", "value", "expected"),
    [
        ("2026-01-31", datetime(2026, 2, 27, 20, tzinfo=UTC), ">=1m", False),
        ("2026-01-31", datetime(2026, 2, 28, 20, tzinfo=UTC), ">=1m", True),
        ("2024-01-31", datetime(2024, 2, 29, 20, tzinfo=UTC), "=1m", True),
        ("2025-12-31", datetime(2026, 1, 31, 20, tzinfo=UTC), "=1m", True),
        ("2026-03-31", datetime(2026, 4, 30, 20, tzinfo=UTC), "=1m", True),
        ("2026-03-31", datetime(2026, 4, 29, 20, tzinfo=UTC), "=0m", True),
    ],
)
def test_date_compare_months_reach_the_end_of_a_shorter_month(
    seen: str, now: datetime, value: str, expected: bool
) -> None:
    criterion = field("LastSeen", Op.DateCompare, value)
    assert passes(criterion, lead(LastSeen=seen), now=now) is expected


def test_date_compare_uses_the_buyers_time_zone() -> None:
    early = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)  # still 28 February in Las Vegas
    criterion, values = field("DOB", Op.DateCompare, ">=18y"), lead(DOB="2008-03-01")
    assert passes(criterion, values, now=early) is False
    assert passes(criterion, values, now=early, tz=ZoneInfo("UTC")) is True


def test_date_compare_dates_a_timestamp_in_the_buyers_time_zone() -> None:
    # 03:00 UTC on 1 March is the evening of 28 February in Las Vegas: a day before noon 1 March.
    criterion = field("LastSeen", Op.DateCompare, "=1d")
    assert passes(criterion, lead(LastSeen="2026-03-01T03:00:00Z")) is True


def test_date_compare_reason_gives_the_count_found() -> None:
    criterion = field("DOB", Op.DateCompare, ">=18y")
    assert reason(criterion, lead(DOB="2008-03-02")) == "DOB: 17y, needs >=18y"


def test_date_compare_reason_for_days() -> None:
    criterion = field("LastSeen", Op.DateCompare, " <= 30D ")
    assert reason(criterion, lead(LastSeen="2026-01-01")) == "LastSeen: 59d, needs <=30d"


@pytest.mark.parametrize("value", [">=18y", "!=18y", "<18y"])
def test_date_compare_fails_on_a_missing_date(value: str) -> None:
    assert reason(field("DOB", Op.DateCompare, value), {}) == "DOB missing"


def test_date_compare_fails_on_an_unreadable_stored_date() -> None:
    assert reason(field("DOB", Op.DateCompare, ">=18y"), {"dob": "soon"}) == (
        "DOB=soon is not a date"
    )


# --- FieldValue: Distance_Compare -------------------------------------------------------------


@pytest.mark.parametrize(
    ("zip_code", "expected"),
    [
        ("89101", True),
        ("89052", True),
        ("89003", True),
        ("89004", False),
        ("10001", False),
        ("89052-1234", True),
        ("890521234", True),
    ],
)
def test_distance_compare_passes_within_the_radius(zip_code: str, expected: bool) -> None:
    assert passes(field("Zip", Op.Distance_Compare, "89101,50"), lead(Zip=zip_code)) is expected


def test_distance_compare_radius_may_be_fractional() -> None:
    criterion = field("Zip", Op.Distance_Compare, " 89101 , 14.5 ")
    assert passes(criterion, lead(Zip="89052")) is True


def test_distance_compare_reason_gives_the_distance() -> None:
    criterion = field("Zip", Op.Distance_Compare, "89101,50")
    assert reason(criterion, lead(Zip="10001")) == "Zip=10001 is 2451 mi from 89101 (max 50)"


def test_distance_compare_reason_keeps_a_tenth_of_a_mile() -> None:
    criterion = field("Zip", Op.Distance_Compare, "89101,10")
    assert reason(criterion, lead(Zip="89052")) == "Zip=89052 is 14.2 mi from 89101 (max 10)"


def test_distance_compare_fails_on_an_unknown_zip() -> None:
    criterion = field("Zip", Op.Distance_Compare, "89101,50")
    assert reason(criterion, lead(Zip="00000")) == "Zip=00000 is not a known ZIP"


def test_distance_compare_fails_on_a_missing_zip() -> None:
    assert reason(field("Zip", Op.Distance_Compare, "89101,50"), {}) == "Zip missing"


def test_distance_compare_restores_leading_zeros_of_a_numeric_zip() -> None:
    asked: list[tuple[str, str]] = []

    def recording(zip_a: str, zip_b: str) -> float | None:
        asked.append((zip_a, zip_b))
        return 10.0

    compiled = compile_criteria([field("ZipNumber", Op.Distance_Compare, "89101,50")], FIELDS)
    assert compiled.check(lead(ZipNumber="01001"), EvalContext(NOW, TZ, recording)).passed
    assert asked == [("01001", "89101")]


# --- Expression -------------------------------------------------------------------------------

LTV = "LoanAmount / Value * 100"


def test_a_true_expression_passes() -> None:
    values = lead(LoanAmount="70000", Value="100000")
    assert passes(expression(f"{LTV} <= 80"), values) is True


def test_a_false_expression_fails_with_its_text() -> None:
    values = lead(LoanAmount="90000", Value="100000")
    assert reason(expression(f"{LTV} <= 80"), values) == f"expression {LTV} <= 80 is false"


def test_division_by_zero_fails_the_criterion_with_a_reason() -> None:
    values = lead(LoanAmount="90000", Value="0")
    assert reason(expression(f"{LTV} <= 80"), values) == (
        f"expression {LTV} <= 80: division by zero (Value is 0)"
    )


def test_an_expression_using_a_missing_field_fails_with_a_reason() -> None:
    values = lead(LoanAmount="90000")
    assert reason(expression(f"{LTV} <= 80"), values) == f"expression {LTV} <= 80: Value missing"


def test_a_missing_true_false_field_fails_an_expression() -> None:
    assert reason(expression("Consent"), {}) == "expression Consent gave no value"


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        (Op.LessOrEqual, "90", True),
        (Op.LessOrEqual, "89.99", False),
        (Op.Less, "90.01", True),
        (Op.Greater, "90", False),
        (Op.GreaterOrEqual, "$90", True),
        (Op.Equal, "90.000", True),
        (Op.NotEqual, "90", False),
        (Op.Between, "80, 95", True),
        (Op.Between, "91, 95", False),
        (Op.In, "80, 90", True),
        (Op.NotIn, "80, 90", False),
        (Op.Contains, "9", True),
        (Op.Doesnt_Contain, "9", False),
    ],
)
def test_an_expression_number_is_compared_as_a_number(
    operator: Operator, value: str, expected: bool
) -> None:
    values = lead(LoanAmount="90000", Value="100000")
    assert passes(expression(LTV, operator, value), values) is expected


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        (Op.Equal, "nv-89101", True),
        (Op.NotEqual, "NV-89101", False),
        (Op.In, "az-1, NV-89101", True),
        (Op.Contains, "v-8", True),
        (Op.Doesnt_Contain, "V-8", False),
    ],
)
def test_an_expression_text_is_compared_ignoring_case(
    operator: Operator, value: str, expected: bool
) -> None:
    values = lead(State="NV", Zip="89101")
    assert passes(expression("State + '-' + Zip", operator, value), values) is expected


@pytest.mark.parametrize(("value", "expected"), [("yes", True), ("0", False)])
def test_an_expression_true_false_can_be_compared(value: str, expected: bool) -> None:
    criterion = expression("Value > 10", Op.Equal, value)
    assert passes(criterion, lead(Value="11")) is expected


def test_an_expression_comparison_reason_gives_the_result() -> None:
    values = lead(LoanAmount="90000", Value="110000")
    assert reason(expression(LTV, Op.LessOrEqual, "80"), values) == (
        f"expression {LTV} gave 81.818182, not at most 80"
    )


def test_an_expression_with_no_value_passes_only_negative_operators() -> None:
    assert passes(expression("Email", Op.NotEqual, "x"), {}) is True
    assert reason(expression("Email", Op.Equal, "x"), {}) == "expression Email gave no value"


def test_an_expression_error_fails_a_negative_operator_too() -> None:
    criterion = expression("LoanAmount / Value", Op.NotEqual, "1")
    assert passes(criterion, lead(LoanAmount="1", Value="0")) is False


def test_expressions_see_the_buyers_clock() -> None:
    criterion = expression("hour() >= 9 and hour() < 17 and weekday() < 5")
    monday_noon = datetime(2026, 3, 2, 20, tzinfo=UTC)
    assert passes(criterion, {}, now=monday_noon) is True
    assert reason(criterion, {}) == f"expression {criterion.expression} is false"  # Sunday


# --- Function ---------------------------------------------------------------------------------


def test_a_function_criterion_applies_the_function_to_the_field() -> None:
    criterion = function("age_years", "DOB", Op.GreaterOrEqual, "21")
    assert passes(criterion, lead(DOB="2005-03-01")) is True


def test_a_function_criterion_reason_gives_the_result() -> None:
    criterion = function("age_years", "DOB", Op.GreaterOrEqual, "21")
    assert reason(criterion, lead(DOB="2008-03-02")) == "age_years(DOB)=17 not at least 21"


@pytest.mark.parametrize(
    ("name", "field_name", "operator", "value", "posted", "expected"),
    [
        ("len", "Zip", Op.Equal, "5", "89101", True),
        ("len", "Zip", Op.Equal, "5", "89101-1234", False),
        ("LEN", "Phone", Op.Equal, "10", "7025550123", True),
        ("lower", "State", Op.In, "nv, az", "NV", True),
        ("upper", "State", Op.Equal, "NV", "nv", True),
        ("digits", "Zip", Op.Equal, "891011234", "89101-1234", True),
        ("number", "Zip", Op.Between, "89000, 89199", "89101", True),
        ("abs", "Value", Op.LessOrEqual, "5", "-4", True),
        ("age_days", "LastSeen", Op.Less, "7", "2026-02-25", True),
        ("age_days", "LastSeen", Op.Less, "7", "2026-02-20", False),
    ],
)
def test_function_criteria(
    name: str,
    field_name: str,
    operator: Operator,
    value: str,
    posted: str,
    expected: bool,
) -> None:
    criterion = function(name, field_name, operator, value)
    assert passes(criterion, lead(**{field_name: posted})) is expected


def test_a_function_criterion_on_a_missing_field_fails_positive_operators() -> None:
    assert reason(function("len", "Email", Op.Equal, "3"), {}) == "Email missing"


def test_a_function_criterion_on_a_missing_field_passes_negative_operators() -> None:
    assert passes(function("len", "Email", Op.NotEqual, "3"), {}) is True


def test_a_function_error_fails_the_criterion_with_a_reason() -> None:
    criterion = function("number", "Zip", Op.Greater, "1")
    assert reason(criterion, lead(Zip="n/a")) == "number(Zip): 'n/a' is not a number"


# --- all criteria -----------------------------------------------------------------------------


def test_no_criteria_pass_every_lead() -> None:
    assert compile_criteria([], FIELDS).check({}, context()) == Verdict(True, "no criteria")


def test_passing_criteria_are_counted() -> None:
    criteria = [field("State", Op.Equal, "NV"), field("Value", Op.Greater, "1")]
    assert check(criteria, lead(State="NV", Value="2")) == Verdict(True, "criteria passed (2)")


def test_every_criterion_must_pass() -> None:
    criteria = [field("State", Op.Equal, "NV"), field("Value", Op.Greater, "1")]
    assert check(criteria, lead(State="NV", Value="1")).passed is False


def test_the_reason_explains_the_first_failing_criterion() -> None:
    criteria = [
        field("State", Op.Equal, "NV"),
        field("Value", Op.Greater, "10"),
        field("Email", Op.Contains, "@"),
    ]
    verdict = check(criteria, lead(State="NV", Value="1"))
    assert verdict == Verdict(False, "Value=1 not greater than 10")


def test_compiled_criteria_are_reusable_across_leads() -> None:
    compiled = compile_criteria([field("Value", Op.Greater, "10")], FIELDS)
    assert compiled.check(lead(Value="11"), context()).passed is True
    assert compiled.check(lead(Value="9"), context()).passed is False
    assert compiled.check(lead(Value="12"), context()).passed is True


@pytest.mark.parametrize(
    "values",
    [
        lead(State="NV", Value="11", DOB="2000-01-01", Zip="89052"),
        lead(State="CA", Value="11", DOB="2000-01-01", Zip="89052"),
        lead(State="NV", Value="0", DOB="2000-01-01", Zip="89052"),
        lead(State="NV", Value="11", DOB="2010-01-01", Zip="89052"),
        lead(State="NV", Value="11", DOB="2000-01-01", Zip="10001"),
        lead(State="NV", DOB="2000-01-01", Zip="89052"),
        {},
    ],
)
def test_passes_agrees_with_check(values: dict[str, Value]) -> None:
    compiled: CompiledCriteria = compile_criteria(
        [
            field("State", Op.In, "NV,AZ"),
            expression("10 / Value < 1"),
            field("DOB", Op.DateCompare, ">=18y"),
            field("Zip", Op.Distance_Compare, "89101,50"),
            function("age_years", "DOB", Op.GreaterOrEqual, "21"),
        ],
        FIELDS,
    )
    assert compiled.passes(values, context()) is compiled.check(values, context()).passed


def test_compiling_an_invalid_criterion_is_refused() -> None:
    with pytest.raises(ValueError, match="not a field of the lead type"):
        compile_criteria([field("Income", Op.Equal, "1")], FIELDS)


def test_compiling_a_bad_expression_is_refused() -> None:
    with pytest.raises(ValueError, match="attribute access"):
        compile_criteria([expression("State.__class__ == 1")], FIELDS)


# --- validate_criterion -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "criterion",
    [
        field("State", Op.In, "NV,AZ"),
        field("Value", Op.Between, "18,65"),
        field("Email", Op.Doesnt_Contain, "test"),
        field("DOB", Op.DateCompare, ">=18y"),
        field("Zip", Op.Distance_Compare, "89101,50"),
        field("ZipNumber", Op.Distance_Compare, "89101,50"),
        expression("LoanAmount / Value * 100 <= 80"),
        expression("LoanAmount / Value * 100", Op.LessOrEqual, "80"),
        expression("lower(State)", Op.In, "nv,az"),
        function("age_years", "DOB", Op.GreaterOrEqual, "21"),
        function(" Len ", "Zip", Op.Equal, "5"),
    ],
)
def test_valid_criteria_have_no_problems(criterion: Criterion) -> None:
    assert problems_of(criterion) == []


@pytest.mark.parametrize(
    ("criterion", "path", "message"),
    [
        (Criterion(Kind.Unspecified, "State", Op.Equal, "NV"), "type", "a criterion type"),
        (field("Income", Op.Equal, "1"), "field", "'Income' is not a field of the lead type"),
        (function("len", "Income", Op.Equal, "1"), "field", "not a field of the lead type"),
        (field("State", Op.Unspecified, "NV"), "operator", "an operator is required"),
        (field("State", Op.Greater, "M"), "operator", "needs a numeric or date field"),
        (field("State", Op.DateCompare, ">=18y"), "operator", "DateCompare needs a date field"),
        (field("LoanAmount", Op.Distance_Compare, "89101,5"), "operator", "needs a ZIP field"),
        (field("Value", Op.Greater, "many"), "value", "must be a whole number"),
        (field("Value", Op.Between, "65,18"), "value", "low bound is above the high bound"),
        (field("State", Op.In, " , "), "value", "comma-separated list"),
        (field("Zip", Op.Distance_Compare, "89102,50"), "value", "89102 is not a known ZIP"),
        (expression(""), "expression", "an expression is required"),
        (expression("Income > 1"), "expression", "unknown field 'Income' at column 1"),
        (expression("State.__class__"), "expression", "attribute access"),
        (expression("matches(State, '(')"), "expression", "bad regular expression"),
        (expression("Value * 2"), "operator", "gives a number, not true/false"),
        (expression("Value", Op.DateCompare, ">=1d"), "operator", "not available"),
        (expression("Value", Op.Distance_Compare, "89101,5"), "operator", "not available"),
        (expression("Value", Op.Greater, "many"), "value", "must be a number"),
        (expression("State", Op.Greater, "M"), "operator", "needs a number"),
        (expression("Value > 1", Op.Equal, "maybe"), "value", "must be 1/0"),
        (function("matches", "State", Op.Equal, "1"), "expression", "not a criteria function"),
        (function("left", "State", Op.Equal, "1"), "expression", "not a criteria function"),
        (function("eval", "State", Op.Equal, "1"), "expression", "not a criteria function"),
        (function("", "State", Op.Equal, "1"), "expression", "not a criteria function"),
        (function("abs", "State", Op.Equal, "1"), "expression", "must be a number, not text"),
        (function("len", "State", Op.Unspecified, ""), "operator", "gives a number"),
        (function("len", "State", Op.Equal, "five"), "value", "must be a number"),
        (function("len", "State", Op.DateCompare, ">=1d"), "operator", "not available"),
    ],
)
def test_save_time_problems_are_reported(criterion: Criterion, path: str, message: str) -> None:
    problems = problems_of(criterion)
    assert [found_path for found_path, _ in problems] == [f"criteria[0].{path}"]
    assert message in problems[0][1]


@pytest.mark.parametrize(
    "value", ["18y", ">=18", ">=18w", ">=-1y", "=>18y", ">=1.5y", "", ">= y", ">=1234567d"]
)
def test_bad_date_compare_values_are_reported(value: str) -> None:
    problems = problems_of(field("DOB", Op.DateCompare, value))
    assert [path for path, _ in problems] == ["criteria[0].value"]
    assert "not a date comparison such as >=18y" in problems[0][1]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("89101", "not CENTRE_ZIP,MILES"),
        ("89101,50,1", "not CENTRE_ZIP,MILES"),
        ("8910,50", "'8910' is not a 5-digit ZIP code"),
        ("89101-1234,50", "is not a 5-digit ZIP code"),
        ("89101,", "'' is not a number of miles"),
        ("89101,far", "'far' is not a number of miles"),
        ("89101,0", "not a positive number of miles"),
        ("89101,-5", "not a positive number of miles"),
        ("89101,inf", "not a positive number of miles"),
    ],
)
def test_bad_distance_compare_values_are_reported(value: str, message: str) -> None:
    problems = problems_of(field("Zip", Op.Distance_Compare, value))
    assert [path for path, _ in problems] == ["criteria[0].value"]
    assert message in problems[0][1]


def test_validate_criteria_reports_each_criterion_by_index() -> None:
    criteria = [
        field("State", Op.Equal, "NV"),
        field("Income", Op.Equal, "1"),
        expression("1 +"),
    ]
    problems = validate_criteria(criteria, FIELDS, KNOWN_ZIPS.__contains__, "accounts[3].criteria")
    assert [problem.path for problem in problems] == [
        "accounts[3].criteria[1].field",
        "accounts[3].criteria[2].expression",
    ]


# --- what an account index reads ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("criterion", "posted"),
    [
        (field("State", Op.In, "NV, az ,CA"), ["NV", "nv", "AZ", "TX", "N V"]),
        (field("State", Op.NotEqual, " nv"), ["NV", "Nv", "CA"]),
        (field("ZipNumber", Op.In, "89101,+89052"), ["89101", "89052", "089052", "10001"]),
        (field("LoanAmount", Op.In, "100,$2,500.50"), ["100.00", "2500.5", "2500.51", "$100"]),
        (field("Score", Op.NotIn, "1.5,2"), ["1.5", "2.0", "2.25"]),
        (field("Consent", Op.Equal, "yes"), ["1", "true", "no", "0"]),
        (field("DOB", Op.In, "1990-05-17,01/02/2000"), ["1990-05-17", "2000-01-02", "2000-02-01"]),
    ],
)
def test_a_membership_takes_exactly_the_values_its_check_passes(
    criterion: Criterion, posted: list[str]
) -> None:
    (compiled,) = compile_criteria([criterion], FIELDS).checks
    membership = compiled.membership
    assert membership is not None and compiled.radius is None
    spec = membership.spec
    for text in posted:
        values = lead(**{spec.name: text})
        taken = membership_key(spec.data_type, values[spec.name.casefold()]) in membership.keys
        assert compiled.passes(values, context()) == (taken != membership.excludes), text
    assert compiled.passes({}, context()) == membership.excludes  # a missing value


def test_a_distance_compare_names_its_centre_and_explains_as_its_check() -> None:
    (compiled,) = compile_criteria([field("Zip", Op.Distance_Compare, "89101,50.0")], FIELDS).checks
    radius = compiled.radius
    assert radius is not None and (radius.centre, radius.miles) == ("89101", 50.0)
    for values in (lead(Zip="89003"), lead(Zip="10001-1234"), lead(Zip="00000"), {}):
        zip_code = lead_zip(values["zip"]) if values else None
        distance = distance_miles(zip_code, "89101") if zip_code else None
        assert distance_failure(radius, zip_code, distance) == compiled.explain(values, context())


def test_other_criteria_share_a_key_only_when_they_say_the_same() -> None:
    def key(criterion: Criterion) -> object:
        return compile_criteria([criterion], FIELDS).checks[0].key

    assert key(field("Value", Op.Greater, "5")) == key(field("value", Op.Greater, "5"))
    assert key(field("Value", Op.Greater, "5")) != key(field("Value", Op.Greater, "05"))
    assert key(expression("Value > 5")) != key(expression("Value >5"))
    assert compile_criteria([expression("Value > 5")], FIELDS).checks[0].zoned


# --- criterion ids (LeadExec's ClientCriteriaUID) ---------------------------------------------


def numbered(criterion: Criterion, criterion_id: int) -> Criterion:
    return replace(criterion, id=criterion_id)


STORED = (numbered(field("State", Op.In, "CA,NV"), 7), numbered(field("Zip", Op.Equal, "89101"), 8))


def ids(criteria: tuple[Criterion, ...]) -> list[int]:
    return [c.id for c in criteria]


def test_a_criterion_saved_with_its_id_keeps_it_whatever_it_now_says() -> None:
    changed = numbered(field("State", Op.Equal, "OR"), 7)
    assert keep_criterion_ids([changed, STORED[1]], STORED) == (changed, STORED[1])


@pytest.mark.parametrize("given", [0, -1, 9, 12345])
def test_an_id_that_is_none_of_the_accounts_criteria_is_a_new_criterion(given: int) -> None:
    kept = keep_criterion_ids([numbered(field("State", Op.Equal, "OR"), given)], STORED)
    assert ids(kept) == [0]


def test_an_id_given_twice_is_kept_once_and_the_repeat_is_new() -> None:
    assert ids(keep_criterion_ids([STORED[0], STORED[0], STORED[1]], STORED)) == [7, 0, 8]


def test_a_new_account_has_no_ids_to_keep() -> None:
    assert ids(keep_criterion_ids(STORED, ())) == [0, 0]


def test_config_criteria_take_the_ids_of_the_stored_criteria_they_equal_in_any_order() -> None:
    document = [field("Zip", Op.Equal, "89101"), field("State", Op.In, "CA,NV")]
    assert ids(match_criterion_ids(document, STORED)) == [8, 7]


def test_a_changed_or_added_config_criterion_is_new_and_each_stored_id_is_used_once() -> None:
    document = [
        field("State", Op.In, "CA,NV"),
        field("State", Op.In, "CA,NV"),
        field("Zip", Op.Equal, "89102"),
    ]
    assert ids(match_criterion_ids(document, STORED)) == [7, 0, 0]
