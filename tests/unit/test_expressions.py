"""Buyer criteria expressions: the safe subset, its values, functions, errors and limits."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from server.domain.catalog.fields import DataType, FieldSpec, Value, coerce
from server.domain.matching.expressions import (
    MAX_LENGTH,
    EvaluationError,
    ExpressionError,
    Kind,
    Result,
    calendar_date,
    compile_expression,
    compile_function,
    elapsed,
    show,
)

SPECS = (
    FieldSpec("LoanAmount", DataType.Money),
    FieldSpec("Rate", DataType.Decimal),
    FieldSpec("Value", DataType.Int),
    FieldSpec("Phone", DataType.Bigint),
    FieldSpec("Score", DataType.Float),
    FieldSpec("State"),
    FieldSpec("Email"),
    FieldSpec("Zip"),
    FieldSpec("Pattern"),
    FieldSpec("DOB", DataType.DateTime),
    FieldSpec("Consent", DataType.Bit),
)
FIELDS = {spec.name.casefold(): spec for spec in SPECS}
# 20:00 UTC is 12:00 on Sunday 1 March 2026 in Las Vegas.
NOW = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
TZ = ZoneInfo("America/Los_Angeles")


def lead(**posted: str) -> dict[str, Value]:
    return {
        name.casefold(): coerce(FIELDS[name.casefold()].data_type, text)
        for name, text in posted.items()
    }


LEAD = lead(
    LoanAmount="90000.00",
    Rate="4.25",
    Value="100000",
    Phone="7025550123",
    Score="2.5",
    State="NV",
    Zip="89101-1234",
    DOB="2008-03-02",
    Consent="yes",
)


def evaluate(text: str, values: dict[str, Value] | None = None, now: datetime = NOW) -> Result:
    return compile_expression(text, FIELDS).evaluate(LEAD if values is None else values, now, TZ)


def compile_error(text: str) -> str:
    with pytest.raises(ExpressionError) as info:
        compile_expression(text, FIELDS)
    return str(info.value)


def evaluation_error(text: str, values: dict[str, Value] | None = None) -> str:
    expression = compile_expression(text, FIELDS)
    with pytest.raises(EvaluationError) as info:
        expression.evaluate(LEAD if values is None else values, NOW, TZ)
    return str(info.value)


# --- values ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2", Decimal(3)),
        ("7 - 10", Decimal(-3)),
        ("2 * 3.5", Decimal(7)),
        ("1 / 4", Decimal("0.25")),
        ("7 % 3", Decimal(1)),
        ("-7 % 3", Decimal(-1)),
        ("(1 + 2) * 3", Decimal(9)),
        ("1 + 2 * 3", Decimal(7)),
        ("-(2)", Decimal(-2)),
        ("+2", Decimal(2)),
        ("1_000 + 1", Decimal(1001)),
    ],
)
def test_arithmetic(text: str, expected: Decimal) -> None:
    assert evaluate(text) == expected


def test_numbers_are_decimals_not_floats() -> None:
    result = evaluate("0.1 + 0.2")
    assert isinstance(result, Decimal)
    assert result == Decimal("0.3")


def test_division_keeps_28_significant_digits() -> None:
    assert evaluate("10 / 3") == Decimal("3.333333333333333333333333333")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LoanAmount", Decimal("90000.00")),
        ("Rate", Decimal("4.25")),
        ("Value", Decimal(100000)),
        ("Phone", Decimal(7025550123)),
        ("Score", Decimal("2.5")),
        ("State", "NV"),
        ("Consent", True),
        ("DOB", "2008-03-02T00:00:00+00:00"),
    ],
)
def test_fields_are_read_by_data_type(text: str, expected: Result) -> None:
    assert evaluate(text) == expected


@pytest.mark.parametrize("text", ["loanamount", "LOANAMOUNT", "LoanAmount"])
def test_field_names_ignore_case(text: str) -> None:
    assert evaluate(text) == Decimal("90000.00")


@pytest.mark.parametrize(
    ("text", "expected"), [("true", True), ("FALSE", False), ("True", True), ("False", False)]
)
def test_true_and_false(text: str, expected: bool) -> None:
    assert evaluate(text) is expected


def test_money_arithmetic_is_exact() -> None:
    assert evaluate("LoanAmount / Value * 100") == Decimal(90)


def test_texts_join_with_plus() -> None:
    assert evaluate("State + '-' + Zip") == "NV-89101-1234"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Value + 1", Kind.NUMBER),
        ("State", Kind.TEXT),
        ("DOB", Kind.TEXT),
        ("Value > 1", Kind.BOOL),
        ("Consent", Kind.BOOL),
        ("len(State)", Kind.NUMBER),
        ("'a' if Consent else 'b'", Kind.TEXT),
    ],
)
def test_the_kind_of_a_result_is_known_when_compiled(text: str, kind: Kind) -> None:
    assert compile_expression(text, FIELDS).kind is kind


# --- comparisons and logic -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("State == 'nv'", True),
        ("State == 'CA'", False),
        ("State != 'nv'", False),
        ("State != 'CA'", True),
        ("'abc' < 'ABD'", True),
        ("Value > 99999", True),
        ("Value >= 100000", True),
        ("Value < 100000", False),
        ("Value <= 100000", True),
        ("LoanAmount == 90000", True),
        ("Score == 2.50", True),
        ("1 < Value < 200000", True),
        ("1 < Value < 50", False),
        ("Consent == true", True),
        ("Consent != true", False),
    ],
)
def test_comparisons(text: str, expected: bool) -> None:
    assert evaluate(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("State in ('nv', 'AZ')", True),
        ("State in ['CA', 'AZ']", False),
        ("State not in ('NV',)", False),
        ("State not in ('CA',)", True),
        ("Value in (100000, 5)", True),
        ("Value in (1.0e5,)", True),
        ("-1 in (-1, 2)", True),
        ("Value in ()", False),
        ("Consent in (true,)", True),
    ],
)
def test_membership_in_a_literal_list(text: str, expected: bool) -> None:
    assert evaluate(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Value > 1 and State == 'NV'", True),
        ("Value > 1 and State == 'CA'", False),
        ("Value < 1 or State == 'NV'", True),
        ("Value < 1 or State == 'CA'", False),
        ("not Consent", False),
        ("not (Value < 1)", True),
        ("'big' if Value > 50000 else 'small'", "big"),
        ("'big' if Value > 500000 else 'small'", "small"),
    ],
)
def test_logic(text: str, expected: Result) -> None:
    assert evaluate(text) == expected


def test_and_stops_at_the_first_false() -> None:
    assert evaluate("false and Value / (Value - 100000) > 1") is False


def test_or_stops_at_the_first_true() -> None:
    assert evaluate("true or Email == 'x' and Value / (Value - 100000) > 1") is True


def test_a_chained_comparison_stops_at_the_first_false() -> None:
    assert evaluate("Value < 1 < Value / (Value - 100000)") is False


# --- missing values ---------------------------------------------------------------------------


def test_a_missing_field_is_none() -> None:
    assert evaluate("Email") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Email == 'x'", False),
        ("Email != 'x'", True),
        ("Email in ('x', 'y')", False),
        ("Email not in ('x', 'y')", True),
        ("Email == Email", True),
    ],
)
def test_a_missing_value_equals_nothing_present(text: str, expected: bool) -> None:
    assert evaluate(text) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Value + 1", "Value missing"),
        ("1 - Value", "Value missing"),
        ("-Value", "Value missing"),
        ("Value > 1", "Value missing"),
        ("1 < Value", "Value missing"),
        ("not Consent", "Consent missing"),
        ("Consent and true", "Consent missing"),
        ("1 if Consent else 2", "Consent missing"),
        ("lower(Email)", "Email missing"),
        ("max(1, Value)", "Value missing"),
    ],
)
def test_using_a_missing_value_is_an_evaluation_error(text: str, message: str) -> None:
    assert evaluation_error(text, {}) == message


def test_a_bad_stored_value_is_an_evaluation_error() -> None:
    assert evaluation_error("Value + 1", {"value": "many"}) == "Value: 'many' is not a number"


# --- division ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["LoanAmount / (Value - 100000)", "LoanAmount % (Value - 100000)"])
def test_dividing_by_zero_is_an_evaluation_error(text: str) -> None:
    assert evaluation_error(text) == "division by zero (Value - 100000 is 0)"


@pytest.mark.parametrize("text", ["Value / 0", "Value % 0.0"])
def test_dividing_by_a_literal_zero_is_refused_when_compiled(text: str) -> None:
    assert compile_error(text).startswith("division by zero")


# --- functions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("len(State)", Decimal(2)),
        ("len(Value)", Decimal(6)),
        ("len('')", Decimal(0)),
        ("lower(State)", "nv"),
        ("upper('ab')", "AB"),
        ("digits(Zip)", "891011234"),
        ("digits('(702) 555-0123')", "7025550123"),
        ("left(Zip, 5)", "89101"),
        ("left(Zip, 0)", ""),
        ("left(Zip, 50)", "89101-1234"),
        ("right(Zip, 4)", "1234"),
        ("right(Zip, 0)", ""),
        ("left(Phone, 3)", "702"),
        ("contains(State, 'v')", True),
        ("contains(State, 'x')", False),
        ("startswith(Zip, '891')", True),
        ("startswith(Zip, '1')", False),
        ("endswith(State + 'A@X.COM', 'a@x.com')", True),
        ("matches(Zip, '^\\d{5}-\\d{4}$')", True),
        ("matches(Zip, r'^\\d{5}$')", False),
        ("matches(State, '(?i)^nv$')", True),
        ("number('$1,234.50')", Decimal("1234.50")),
        ("number(Value)", Decimal(100000)),
        ("number(left(Zip, 5)) + 1", Decimal(89102)),
        ("abs(-2.5)", Decimal("2.5")),
        ("min(3, Value, 2)", Decimal(2)),
        ("max(3, Value, 2)", Decimal(100000)),
        ("round(2.5)", Decimal(3)),
        ("round(-2.5)", Decimal(-3)),
        ("round(1.005, 2)", Decimal("1.01")),
        ("round(Rate, 1)", Decimal("4.3")),
        ("round(1234, -2)", Decimal(1200)),
        ("LOWER(State)", "nv"),
    ],
)
def test_functions(text: str, expected: Result) -> None:
    assert evaluate(text) == expected


def test_matches_takes_a_pattern_from_a_field() -> None:
    values = {**LEAD, "pattern": "^89"}
    assert evaluate("matches(Zip, Pattern)", values) is True


def test_a_bad_pattern_from_a_field_is_an_evaluation_error() -> None:
    assert "bad regular expression" in evaluation_error(
        "matches(Zip, Pattern)", {**LEAD, "pattern": "("}
    )


def test_a_long_pattern_from_a_field_is_an_evaluation_error() -> None:
    values = {**LEAD, "pattern": "a" * 201}
    assert "longer than 200" in evaluation_error("matches(Zip, Pattern)", values)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("number(State)", "number(State): 'NV' is not a number"),
        ("age_years(State)", "age_years(State): 'NV' is not a date"),
        ("left(State, Value - 100001)", "count must be a whole number"),
        ("round(Value * 1e30, 2)", "too many digits to round"),
    ],
)
def test_function_evaluation_errors(text: str, message: str) -> None:
    assert message in evaluation_error(text)


@pytest.mark.parametrize(
    ("dob", "years", "days"),
    [
        ("2008-03-01", 18, 6574),
        ("2008-03-02", 17, 6573),
        ("2026-03-01", 0, 0),
        ("2026-03-05", -1, -4),
    ],
)
def test_ages_count_whole_years_and_days_to_the_buyers_today(
    dob: str, years: int, days: int
) -> None:
    values = lead(DOB=dob)
    assert evaluate("age_years(DOB)", values) == years
    assert evaluate("age_days(DOB)", values) == days


def test_hour_and_weekday_are_in_the_buyers_time_zone() -> None:
    expression = compile_expression("hour() * 10 + weekday()", FIELDS)
    assert expression.evaluate({}, NOW, TZ) == Decimal(126)  # 12:00 Sunday in Las Vegas
    assert expression.evaluate({}, NOW, ZoneInfo("Asia/Tokyo")) == Decimal(50)  # 05:00 Monday


def test_ages_use_the_date_in_the_buyers_time_zone() -> None:
    early = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)  # still 28 February in Las Vegas
    expression = compile_expression("age_years(DOB)", FIELDS)
    assert expression.evaluate(lead(DOB="2008-03-01"), early, TZ) == 17
    assert expression.evaluate(lead(DOB="2008-03-01"), early, ZoneInfo("UTC")) == 18


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("since", "until", "unit", "expected"),
    [
        (date(2026, 2, 1), date(2026, 3, 1), "d", 28),
        (date(2024, 2, 1), date(2024, 3, 1), "d", 29),
        (date(2026, 1, 15), date(2026, 2, 14), "m", 0),
        (date(2026, 1, 15), date(2026, 2, 15), "m", 1),
        (date(2026, 1, 31), date(2026, 2, 27), "m", 0),
        (date(2026, 1, 31), date(2026, 2, 28), "m", 1),
        (date(2024, 1, 31), date(2024, 2, 29), "m", 1),
        (date(2026, 1, 31), date(2026, 3, 30), "m", 1),
        (date(2026, 1, 31), date(2026, 3, 31), "m", 2),
        (date(2008, 2, 29), date(2026, 2, 27), "y", 17),
        (date(2008, 2, 29), date(2026, 2, 28), "y", 18),
        (date(2008, 2, 29), date(2028, 2, 28), "y", 19),
        (date(2008, 2, 29), date(2028, 2, 29), "y", 20),
        (date(2000, 12, 31), date(2001, 12, 30), "y", 0),
        (date(2000, 12, 31), date(2001, 12, 31), "y", 1),
        (date(2026, 3, 5), date(2026, 3, 1), "y", -1),
        (date(2026, 3, 5), date(2026, 3, 1), "m", -1),
    ],
)
def test_elapsed_counts_whole_calendar_units(
    since: date, until: date, unit: str, expected: int
) -> None:
    assert elapsed(since, until, unit) == expected


@pytest.mark.parametrize("tz", ["America/Los_Angeles", "Asia/Tokyo"])
def test_a_date_without_a_time_keeps_its_day_in_any_time_zone(tz: str) -> None:
    assert calendar_date("2008-03-01T00:00:00+00:00", ZoneInfo(tz)) == date(2008, 3, 1)


def test_a_timestamp_is_dated_in_the_buyers_time_zone() -> None:
    assert calendar_date("2026-03-01T03:00:00+00:00", TZ) == date(2026, 2, 28)


# --- refused syntax ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("State.__class__", "attribute access"),
        ("().__class__", "attribute access"),
        ("(1).__class__.__bases__", "attribute access"),
        ("State.lower()", "attribute access"),
        ("State[0]", "indexing"),
        ("State[0:1]", "indexing"),
        ("lambda: 1", "lambda"),
        ("Value ** 2", "** is not allowed"),
        ("Value // 2", "// is not allowed"),
        ("Value << 1", "<< is not allowed"),
        ("Value & 1", "& is not allowed"),
        ("Value | 1", "| is not allowed"),
        ("~Value", "~ is not allowed"),
        ("[x for x in (1, 2)]", "comprehension"),
        ("len(x for x in (1, 2))", "comprehension"),
        ("f'{State}'", "f-string"),
        ("(x := 1)", "assignment"),
        ("len(*State)", "starred"),
        ("len(x=State)", "keyword arguments"),
        ("len(**State)", "keyword arguments"),
        ("{1: 2}", "dict"),
        ("{1}", "set"),
        ("None", "constant None"),
        ("b'x'", "constant b'x'"),
        ("1j", "constant 1j"),
        ("...", "constant ..."),
        ("(1, 2)", "a list"),
        ("[1]", "a list"),
        ("State is 'x'", "'is' is not allowed"),
        ("Email is not None", "'is not' is not allowed"),
        ("eval('1')", "unknown function 'eval'"),
        ("__import__('os').system('ls')", "attribute access"),
        ("__import__('os')", "unknown function '__import__'"),
        ("open('x')", "unknown function 'open'"),
        ("len(State)(1)", "only functions called by name"),
        ("len", "unknown field 'len'"),
        ("__builtins__", "unknown field '__builtins__'"),
        ("Income > 1", "unknown field 'Income'"),
        ("1e999", "too large"),
        ("State if true", "syntax error"),
        ("State; 1", "syntax error"),
        ("import os", "syntax error"),
        ("", "an expression is required"),
        ("   ", "an expression is required"),
    ],
)
def test_refused_syntax_is_an_expression_error(text: str, message: str) -> None:
    assert message in compile_error(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("State + 1", "+ needs two numbers or two texts, not text and number"),
        ("State * 2", "* needs two numbers, not text and number"),
        ("-State", "unary - needs number, not text"),
        ("State == 1", "cannot compare text with number; number() converts text"),
        ("Consent == 1", "cannot compare true/false with number"),
        ("Consent < true", "< needs numbers or texts, not true/false"),
        ("not Value", "not needs true/false, not number"),
        ("Value and true", "and needs true/false, not number"),
        ("1 if Value else 2", "if needs true/false"),
        ("1 if true else 'a'", "both sides of if/else must be of one kind"),
        ("State in (1, 2)", "cannot look for text among number values"),
        ("State in ('a', 1)", "cannot look for text among number values"),
        ("State in State", "in / not in needs a list of values"),
        ("State in (Email,)", "the list may hold only literal values, not Email"),
        ("Value == 1 in (1,)", "cannot be chained"),
        ("abs(State)", "abs() argument 1 must be a number, not text"),
        ("age_years(Value)", "age_years() argument 1 must be a text, not number"),
        ("left(State, '1')", "left() argument 2 must be a number, not text"),
    ],
)
def test_kind_mismatches_are_refused_when_compiled(text: str, message: str) -> None:
    assert message in compile_error(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("len()", "len() takes 1 argument, got 0"),
        ("len(State, State)", "len() takes 1 argument, got 2"),
        ("left(State)", "left() takes 2 arguments, got 1"),
        ("min(1)", "min() takes at least 2 arguments, got 1"),
        ("round()", "round() takes 1 to 2 arguments, got 0"),
        ("round(1, 2, 3)", "round() takes 1 to 2 arguments, got 3"),
        ("hour(1)", "hour() takes 0 arguments, got 1"),
    ],
)
def test_wrong_arity_is_refused(text: str, message: str) -> None:
    assert message in compile_error(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("round(1, 21)", "must be a whole number from -20 to 20"),
        ("round(1, 0.5)", "must be a whole number"),
        ("left(State, -1)", "must be a whole number from 0"),
        ("right(State, 1.5)", "must be a whole number from 0"),
    ],
)
def test_bad_literal_counts_are_refused_when_compiled(text: str, message: str) -> None:
    assert message in compile_error(text)


def test_a_bad_literal_regex_is_refused_when_compiled() -> None:
    message = compile_error("matches(State, '(')")
    assert message.startswith("bad regular expression for matches() at column 1:")


def test_a_literal_regex_over_200_characters_is_refused() -> None:
    assert "longer than 200" in compile_error(f"matches(State, '{'a' * 201}')")


def test_a_literal_regex_of_200_characters_is_accepted() -> None:
    assert evaluate(f"matches(State, '{'a' * 200}')") is False


def test_text_over_the_length_limit_is_refused() -> None:
    text = "State == '" + "x" * (MAX_LENGTH - 10) + "'"
    assert len(text) == MAX_LENGTH + 1
    assert "too long" in compile_error(text)


def test_text_at_the_length_limit_is_accepted() -> None:
    text = "State == '" + "x" * (MAX_LENGTH - 11) + "'"
    assert evaluate(text) is False


def test_more_than_200_parts_are_refused() -> None:
    assert "too complex (201 parts" in compile_error(" + ".join(["1"] * 101))


def test_200_parts_are_accepted() -> None:
    assert evaluate(" + ".join(["1"] * 99) + " + -1") == Decimal(98)


@pytest.mark.parametrize(
    "text", ["(" * 300 + "1" + ")" * 300, "-" * 500 + "1", "not " * 240 + "true"]
)
def test_deep_nesting_is_refused(text: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(text, FIELDS)


def test_errors_name_the_column() -> None:
    assert compile_error("Value + 1 > Income") == "unknown field 'Income' at column 13"


def test_errors_name_the_line_after_the_first() -> None:
    assert compile_error("(State == 'NV' and\n  Income > 1)") == (
        "unknown field 'Income' at line 2, column 3"
    )


def test_syntax_errors_name_the_column() -> None:
    assert compile_error("Value > > 1").startswith("syntax error at column")


# --- compiled expressions ---------------------------------------------------------------------


def test_a_compiled_expression_is_reusable_across_leads() -> None:
    expression = compile_expression("Value * 2", FIELDS)
    assert expression.evaluate(lead(Value="1"), NOW, TZ) == 2
    assert expression.evaluate(lead(Value="5"), NOW, TZ) == 10


def test_a_compiled_expression_is_immutable() -> None:
    expression = compile_expression("Value * 2", FIELDS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        expression.text = "Value"  # type: ignore[misc]


def test_compile_function_applies_a_function_to_a_field() -> None:
    expression = compile_function("AGE_YEARS", FIELDS["dob"])
    assert expression.text == "age_years(DOB)"
    assert expression.evaluate(LEAD, NOW, TZ) == 17


def test_compile_function_needs_no_parseable_field_name() -> None:
    keyword = FieldSpec("class")
    assert compile_function("upper", keyword).evaluate({"class": "a"}, NOW, TZ) == "A"


def test_compile_function_refuses_an_unknown_function() -> None:
    with pytest.raises(ExpressionError, match="unknown function 'eval'"):
        compile_function("eval", FIELDS["state"])


def test_compile_function_refuses_a_mismatched_field() -> None:
    with pytest.raises(ExpressionError, match="must be a number, not text"):
        compile_function("abs", FIELDS["state"])


# --- showing values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("90000.00"), "90000"),
        (Decimal("1E+2"), "100"),
        (Decimal("-0.50"), "-0.5"),
        (Decimal("81.818181818181"), "81.818182"),
        (True, "true"),
        (False, "false"),
        ("NV", "NV"),
        (None, "missing"),
    ],
)
def test_show(value: Result, shown: str) -> None:
    assert show(value) == shown
