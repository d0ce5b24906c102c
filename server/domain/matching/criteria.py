"""Buyer (delivery account) criteria: which leads an account takes, as LeadExec defines them.

Criteria are validated when an account is saved (`validate_criterion`), compiled once per
account (`compile_criteria`) and checked against every lead the distribution engine offers the
account (`CompiledCriteria.check`); all of an account's criteria must pass.

- FieldValue: a lead field against `value`, as a campaign rule does (see rules.py), plus
  DateCompare (`value` such as `>=18y` or `<=30d`: whole days, months or years from the field's
  date to now, in the buyer's time zone) and Distance_Compare (`value` `CENTRE_ZIP,MILES`, such
  as `89101,50`: the lead's ZIP lies within MILES of the centre).
- Expression: `expression` (see expressions.py); with no operator it must be a true/false test,
  otherwise its result is compared with `value` by the operator.
- Function: `expression` names a one-argument function applied to the field `field`, and the
  result is compared with `value` by the operator (age_years on DOB, GreaterOrEqual 21).

A missing value passes only NotEqual, NotIn and Doesnt_Contain, as for campaign rules;
DateCompare and Distance_Compare fail on it, as does an expression that cannot be evaluated.
A date field without a time of day counts as written; a timestamp is dated in the buyer's zone.
"""

from __future__ import annotations

import enum
import operator
import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property
from zoneinfo import ZoneInfo

from server.domain.catalog.fields import DataType, FieldSpec, Value, coerce, field_named
from server.domain.catalog.rules import (
    ORDERED,
    Operator,
    Rule,
    _sorter,
    rule_predicate,
    split_list,
    validate_rule,
)
from server.domain.matching.expressions import (
    EvaluationError,
    Expression,
    ExpressionError,
    Kind,
    Result,
    calendar_date,
    compile_expression,
    compile_function,
    elapsed,
    reader,
    show,
)
from server.errors import Violation

# Operators that compare a value with `value` as campaign rules do.
COMPARISONS = frozenset(
    {
        Operator.Equal,
        Operator.NotEqual,
        Operator.Greater,
        Operator.Less,
        Operator.GreaterOrEqual,
        Operator.LessOrEqual,
        Operator.Between,
        Operator.In,
        Operator.NotIn,
        Operator.Contains,
        Operator.Doesnt_Contain,
    }
)
# The expression functions a Function criterion may apply to its field.
CRITERIA_FUNCTIONS = ("len", "lower", "upper", "digits", "number", "abs", "age_years", "age_days")
DISTANCE_TYPES = frozenset({DataType.Varchar, DataType.Int, DataType.Bigint})
SHOWN_CHARACTERS = 60
MIN_EARTH_RADIUS_MILES = 3949.9  # the polar radius, under any mean radius a distance uses

_DATE_COMPARE = re.compile(
    r"\s*(>=|<=|!=|=|>|<)\s*(\d{1,6})\s*([dmy])\s*", re.IGNORECASE | re.ASCII
)
_DATE_OPERATORS: Mapping[str, Callable[[int, int], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
}
_ZIP = re.compile(r"\d{5}", re.ASCII)
_ZIP_PLUS_4 = re.compile(r"(\d{5})(?:-?\d{4})?", re.ASCII)
_RESULT_TYPES = {
    Kind.NUMBER: DataType.Decimal,
    Kind.TEXT: DataType.Varchar,
    Kind.BOOL: DataType.Bit,
}
_FAILURES = {
    Operator.Equal: "is not {}",
    Operator.NotEqual: "must not be {}",
    Operator.Greater: "not greater than {}",
    Operator.Less: "not less than {}",
    Operator.GreaterOrEqual: "not at least {}",
    Operator.LessOrEqual: "not at most {}",
    Operator.Between: "not between {}",
    Operator.In: "not in {}",
    Operator.NotIn: "is excluded ({})",
    Operator.Contains: "does not contain {}",
    Operator.Doesnt_Contain: "contains {}",
}


class CriterionType(enum.IntEnum):
    """LeadExec's criterion types; values are the proto's numbers."""

    Unspecified = 0
    FieldValue = 1
    Expression = 2
    Function = 3


@dataclass(frozen=True)
class Criterion:
    """One criterion as stored; `expression` is the expression text, or a Function's name."""

    type: CriterionType
    field: str
    operator: Operator
    value: str
    expression: str = ""
    field_id: int = 0  # names the field by id when `field` is empty (LeadExec's LeadFieldUID)
    id: int = 0  # LeadExec's ClientCriteriaUID; 0: a new criterion, numbered when stored


def criteria_by_name(
    criteria: Sequence[Criterion], fields: Sequence[FieldSpec], where: str
) -> tuple[tuple[Criterion, ...], list[Violation]]:
    """The criteria with every field named by name, as stored (see field_named)."""
    named: list[Criterion] = []
    problems: list[Violation] = []
    for i, criterion in enumerate(criteria):
        path = f"{where}[{i}].field_id"
        name, problem = field_named(criterion.field_id, criterion.field, fields, path)
        if problem:
            problems.append(problem)
        named.append(replace(criterion, field=name, field_id=0))
    return tuple(named), problems


def keep_criterion_ids(
    criteria: Sequence[Criterion], stored: Sequence[Criterion]
) -> tuple[Criterion, ...]:
    """Criteria saved by id, with the ids they keep: an id of one of `stored` (the delivery
    account's criteria as stored), the first time it is given. Any other id (0, -1, a
    criterion of another account's, a repeat) becomes 0: a new criterion, which storage
    numbers when it writes it."""
    known = {c.id for c in stored if c.id > 0}
    kept: list[Criterion] = []
    for criterion in criteria:
        if criterion.id in known:
            known.discard(criterion.id)
            kept.append(criterion)
        else:
            kept.append(replace(criterion, id=0))
    return tuple(kept)


def match_criterion_ids(
    criteria: Sequence[Criterion], stored: Sequence[Criterion]
) -> tuple[Criterion, ...]:
    """Config as code's criteria, which carry no ids, with the ids of the stored criteria they
    equal in all else (each stored id given once), so that a document applied again keeps
    them; the others are new (0)."""
    free = list(stored)
    matched: list[Criterion] = []
    for criterion in criteria:
        same = replace(criterion, id=0)
        twin = next((s for s in free if replace(s, id=0) == same), None)
        if twin is None:
            matched.append(same)
        else:
            free.remove(twin)
            matched.append(replace(criterion, id=twin.id))
    return tuple(matched)


@dataclass(frozen=True)
class EvalContext:
    """What checking a lead needs besides its values: the time, and ZIP distances."""

    now: datetime  # aware, UTC
    tz: ZoneInfo  # the buyer's
    distance_miles: Callable[[str, str], float | None]  # None: a ZIP is unknown
    # Optional: where a ZIP lies, (latitude, longitude) in degrees, None when unknown. Given
    # only when `distance_miles` between two located ZIPs is None or at least their
    # great-circle distance on a sphere of radius `MIN_EARTH_RADIUS_MILES` (as
    # `zip_codes.location` is for `zip_codes.distance_miles`); it lets an account index rule
    # out far centres without measuring them.
    locate: Callable[[str], tuple[float, float] | None] | None = None

    @cached_property
    def today(self) -> date:
        """The date in the buyer's time zone."""
        return self.now.astimezone(self.tz).date()


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of checking a lead; `reason` is one short line for the scan log."""

    passed: bool
    reason: str


@dataclass(frozen=True)
class DateCondition:
    """A DateCompare value: `<op><count><unit>`, unit d, m or y."""

    op: str
    count: int
    unit: str

    def __str__(self) -> str:
        return f"{self.op}{self.count}{self.unit}"


@dataclass(frozen=True)
class DistanceCondition:
    """A Distance_Compare value: `CENTRE_ZIP,MILES`."""

    centre: str
    miles: Decimal


def parse_date_compare(value: str) -> DateCondition:
    """The DateCompare condition `value` states; ValueError says why it states none."""
    match = _DATE_COMPARE.fullmatch(value)
    if match is None:
        raise ValueError(
            f"{value!r} is not a date comparison such as >=18y or <=30d (an operator = != > < >= "
            "<=, a whole number, then d, m or y for days, months or years)"
        )
    op, count, unit = match.groups()
    return DateCondition(op, int(count), unit.lower())


def parse_distance(value: str) -> DistanceCondition:
    """The Distance_Compare condition `value` states; ValueError says why it states none."""
    parts = [part.strip() for part in value.split(",")]
    if len(parts) != 2:
        raise ValueError(f"{value!r} is not CENTRE_ZIP,MILES such as 89101,50")
    centre, miles_text = parts
    if not _ZIP.fullmatch(centre):
        raise ValueError(f"{centre!r} is not a 5-digit ZIP code")
    try:
        miles = Decimal(miles_text)
    except InvalidOperation:
        raise ValueError(f"{miles_text!r} is not a number of miles") from None
    if not miles.is_finite() or miles <= 0:
        raise ValueError(f"{miles_text!r} is not a positive number of miles")
    return DistanceCondition(centre, miles)


# --- validation --------------------------------------------------------------------------------


def validate_criteria(
    criteria: Sequence[Criterion],
    fields: Mapping[str, FieldSpec],
    zip_known: Callable[[str], bool],
    path: str = "criteria",
) -> list[Violation]:
    """Every problem with an account's criteria (paths such as `criteria[2].value`)."""
    problems: list[Violation] = []
    for index, criterion in enumerate(criteria):
        problems.extend(validate_criterion(criterion, fields, f"{path}[{index}]", zip_known))
    return problems


def validate_criterion(
    c: Criterion,
    fields: Mapping[str, FieldSpec],
    where: str,
    zip_known: Callable[[str], bool],
) -> list[Violation]:
    """Problems with one criterion against the lead type's fields (keyed by casefolded name)."""
    if c.type is CriterionType.FieldValue:
        return _validate_field_value(c, fields, where, zip_known)
    if c.type is CriterionType.Expression:
        try:
            expression = compile_expression(c.expression, fields)
        except ExpressionError as exc:
            return [Violation(f"{where}.expression", str(exc))]
        return _validate_result(c, expression, "the expression", where)
    if c.type is CriterionType.Function:
        spec = fields.get(c.field.casefold())
        if spec is None:
            return [_unknown_field(c, where)]
        name = c.expression.strip().casefold()
        if name not in CRITERIA_FUNCTIONS:
            allowed = ", ".join(CRITERIA_FUNCTIONS)
            return [
                Violation(
                    f"{where}.expression",
                    f"{c.expression!r} is not a criteria function (one of: {allowed})",
                )
            ]
        try:
            expression = compile_function(name, spec)
        except ExpressionError as exc:
            return [Violation(f"{where}.expression", str(exc))]
        return _validate_result(c, expression, expression.text, where)
    return [Violation(f"{where}.type", "a criterion type is required")]


def _unknown_field(c: Criterion, where: str) -> Violation:
    return Violation(f"{where}.field", f"{c.field!r} is not a field of the lead type")


def _validate_field_value(
    c: Criterion,
    fields: Mapping[str, FieldSpec],
    where: str,
    zip_known: Callable[[str], bool],
) -> list[Violation]:
    spec = fields.get(c.field.casefold())
    if spec is None:
        return [_unknown_field(c, where)]
    if c.operator is Operator.DateCompare:
        if spec.data_type is not DataType.DateTime:
            return [_needs(c, where, "a date field", spec)]
        try:
            parse_date_compare(c.value)
        except ValueError as exc:
            return [Violation(f"{where}.value", str(exc))]
        return []
    if c.operator is Operator.Distance_Compare:
        if spec.data_type not in DISTANCE_TYPES:
            return [_needs(c, where, "a ZIP field (text or a whole number)", spec)]
        try:
            centre = parse_distance(c.value).centre
        except ValueError as exc:
            return [Violation(f"{where}.value", str(exc))]
        if not zip_known(centre):
            return [Violation(f"{where}.value", f"{centre} is not a known ZIP code")]
        return []
    return validate_rule(Rule(c.field, c.operator, c.value), fields, where)


def _needs(c: Criterion, where: str, what: str, spec: FieldSpec) -> Violation:
    return Violation(
        f"{where}.operator",
        f"{c.operator.name} needs {what}; {spec.name} is {spec.data_type.name}",
    )


def _validate_result(
    c: Criterion, expression: Expression, label: str, where: str
) -> list[Violation]:
    """Problems comparing an expression's result with the criterion's value."""
    kind = expression.kind
    if c.operator is Operator.Unspecified:
        if kind is Kind.BOOL:
            return []
        return [
            Violation(
                f"{where}.operator",
                f"{label} gives a {kind.value}, not true/false: choose an operator and a value",
            )
        ]
    if c.operator not in COMPARISONS:
        return [
            Violation(
                f"{where}.operator",
                f"{c.operator.name} is not available for expressions and functions",
            )
        ]
    if c.operator in ORDERED | {Operator.Between} and kind is not Kind.NUMBER:
        return [
            Violation(
                f"{where}.operator", f"{c.operator.name} needs a number; {label} gives {kind.value}"
            )
        ]
    spec = FieldSpec(label, _RESULT_TYPES[kind])
    return validate_rule(Rule(label, c.operator, c.value), {label.casefold(): spec}, where)


# --- checking ----------------------------------------------------------------------------------

Values = Mapping[str, Value]


@dataclass(frozen=True)
class Membership:
    """An Equal or In criterion (NotEqual or NotIn when `excludes`) as the set of values it
    names, normalised by `membership_key`: a lead's value is looked up, not compared."""

    spec: FieldSpec
    keys: frozenset[Hashable]
    excludes: bool
    failure: str  # what failing means, e.g. `not in CA,OR`


@dataclass(frozen=True)
class Radius:
    """A Distance_Compare criterion: the lead's ZIP (`lead_zip` of the field) lies within
    `miles` of `centre`."""

    field: str  # casefolded
    name: str  # the field's
    centre: str
    miles: float
    shown: str  # the limit as the criterion states it


def distance_failure(radius: Radius, zip_code: str | None, distance: float | None) -> str:
    """Why a lead (its `lead_zip`, None when missing) `distance` miles away fails `radius`."""
    if zip_code is None:
        return f"{radius.name} missing"
    if distance is None:
        return f"{radius.name}={_clip(zip_code)} is not a known ZIP"
    miles = f"{distance:.1f}".removesuffix(".0")
    return f"{radius.name}={zip_code} is {miles} mi from {radius.centre} (max {radius.shown})"


@dataclass(frozen=True)
class Check:
    """One compiled criterion: a cheap test, and the explanation of a failure.

    Two checks with equal `key` (compiled against the same fields) give the same outcome and
    explanation for a lead, in one time zone when `zoned` (the outcome depends on the buyer's
    zone: dates, expressions, functions); otherwise in any. `membership` and `radius` describe
    the criteria an account index can look up instead of testing one account at a time.
    """

    passes: Callable[[Values, EvalContext], bool]
    explain: Callable[[Values, EvalContext], str]
    key: Hashable = None
    zoned: bool = False
    membership: Membership | None = None
    radius: Radius | None = None


@dataclass(frozen=True)
class CompiledCriteria:
    """An account's criteria ready to check leads: immutable, reusable across threads.

    `values` are a lead's typed values keyed by casefolded field name.
    """

    checks: tuple[Check, ...] = field(repr=False)
    passed: Verdict

    def passes(self, values: Values, ctx: EvalContext) -> bool:
        """Whether the lead meets every criterion, without explaining (the cheapest test)."""
        for check in self.checks:  # noqa: SIM110 - a loop is cheaper than all(generator)
            if not check.passes(values, ctx):
                return False
        return True

    def check(self, values: Values, ctx: EvalContext) -> Verdict:
        """Whether the lead meets every criterion; a failure explains the first one failed."""
        for check in self.checks:
            if not check.passes(values, ctx):
                return Verdict(False, check.explain(values, ctx))
        return self.passed


def compile_criteria(
    criteria: Sequence[Criterion], fields: Mapping[str, FieldSpec]
) -> CompiledCriteria:
    """Compile criteria that validated; ValueError for one that would not (ZIPs not rechecked)."""
    # An expression may read any field: its check's key names every field it was compiled
    # against, so checks from different lead types never share a key.
    expressions = any(c.type is CriterionType.Expression for c in criteria)
    signature = tuple(sorted(fields.items(), key=operator.itemgetter(0))) if expressions else ()
    checks = tuple(_compile(c, fields, signature) for c in criteria)
    passed = Verdict(True, f"criteria passed ({len(checks)})" if checks else "no criteria")
    return CompiledCriteria(checks, passed)


def broken_criteria(problem: str) -> CompiledCriteria:
    """Criteria that stopped compiling after they were saved (a field they read was renamed,
    retyped or dropped): no lead passes them, and the scan log says why."""
    reason = f"criteria no longer fit the lead type's fields: {problem}"
    check = Check(lambda values, ctx: False, lambda values, ctx: reason, ("broken", problem))
    return CompiledCriteria((check,), Verdict(False, reason))


def _compile(
    c: Criterion, fields: Mapping[str, FieldSpec], signature: tuple[tuple[str, FieldSpec], ...]
) -> Check:
    problems = validate_criterion(c, fields, "criterion", lambda centre: True)
    if problems:
        raise ValueError("; ".join(str(problem) for problem in problems))
    if c.type is CriterionType.Expression:
        key = ("expression", c.expression, c.operator, c.value, signature)
        return _expression_check(c, compile_expression(c.expression, fields), key)
    spec = fields[c.field.casefold()]
    if c.type is CriterionType.Function:
        return _function_check(c, spec, compile_function(c.expression.strip(), spec))
    if c.operator is Operator.DateCompare:
        return _date_check(spec, parse_date_compare(c.value))
    if c.operator is Operator.Distance_Compare:
        return _distance_check(spec, parse_distance(c.value))
    return _field_check(c, spec)


_MEMBERSHIPS = {
    Operator.Equal: False,
    Operator.In: False,
    Operator.NotEqual: True,
    Operator.NotIn: True,
}


def membership_key(data_type: DataType, value: Value) -> Hashable:
    """A present value as Equal/In criteria on a field of this type match it (the same
    normalisation as campaign rules: text ignoring case, numbers and dates by value)."""
    mine = _sorter(data_type)(value)
    return mine.casefold() if isinstance(mine, str) else mine


def _membership_keys(data_type: DataType, operands: Sequence[str]) -> frozenset[Hashable]:
    """The operands as `membership_key` gives them; one that does not convert matches nothing."""
    keys: set[Hashable] = set()
    for operand in operands:
        try:
            converted = coerce(data_type, operand.strip())
        except ValueError:
            continue
        keys.add(membership_key(data_type, converted))
    return frozenset(keys)


def describe_value(spec: FieldSpec, value: Value) -> str:
    """A lead's value of a field as a failure shows it, e.g. `State=NV` or `State missing`."""
    if value is None:
        return f"{spec.name} missing"
    try:
        shown = show(reader(spec.data_type)(value))
    except ValueError:
        shown = str(value)
    return f"{spec.name}={_clip(shown)}"


def _failure(op: Operator, value: str) -> str:
    """What failing `op` against `value` means, e.g. `not in NV,AZ`."""
    if op in (Operator.In, Operator.NotIn):
        shown = ",".join(split_list(value))
    elif op is Operator.Between:
        shown = " and ".join(split_list(value))
    else:
        shown = value.strip()
    return _FAILURES[op].format(shown)


def _clip(text: str) -> str:
    return text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 1] + "…"


def _field_check(c: Criterion, spec: FieldSpec) -> Check:
    key = spec.name.casefold()
    predicate = rule_predicate(Rule(spec.name, c.operator, c.value), spec)
    failure = _failure(c.operator, c.value)

    def explain(values: Values, ctx: EvalContext) -> str:
        value = values.get(key)
        described = describe_value(spec, value)
        return (
            described if value is None else f"{described} {failure}"
        )  # as DeliveryAccountIndex does

    membership = None
    excludes = _MEMBERSHIPS.get(c.operator)
    if excludes is not None:
        single = c.operator in (Operator.Equal, Operator.NotEqual)
        keys = _membership_keys(spec.data_type, [c.value] if single else split_list(c.value))
        membership = Membership(spec, keys, excludes, failure)
    return Check(
        lambda values, ctx: predicate(values.get(key)),
        explain,
        key=("field", spec, c.operator, c.value),
        membership=membership,
    )


def _date_check(spec: FieldSpec, condition: DateCondition) -> Check:
    key, name = spec.name.casefold(), spec.name
    compare, count, unit = _DATE_OPERATORS[condition.op], condition.count, condition.unit

    def measure(values: Values, ctx: EvalContext) -> int | str:
        """The whole units elapsed, or why there are none."""
        value = values.get(key)
        if value is None:
            return f"{name} missing"
        try:
            since = calendar_date(str(value), ctx.tz)
        except ValueError:
            return f"{name}={_clip(str(value))} is not a date"
        return elapsed(since, ctx.today, unit)

    def passes(values: Values, ctx: EvalContext) -> bool:
        found = measure(values, ctx)
        return isinstance(found, int) and compare(found, count)

    def explain(values: Values, ctx: EvalContext) -> str:
        found = measure(values, ctx)
        return found if isinstance(found, str) else f"{name}: {found}{unit}, needs {condition}"

    return Check(passes, explain, key=("date", spec, condition), zoned=True)


def lead_zip(value: Value) -> str:
    """The five-digit ZIP a Distance_Compare criterion measures from (ZIP+4 shortened)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:05d}"
    text = str(value).strip()
    match = _ZIP_PLUS_4.fullmatch(text)
    return match.group(1) if match else text


def _distance_check(spec: FieldSpec, condition: DistanceCondition) -> Check:
    key, centre, limit = spec.name.casefold(), condition.centre, float(condition.miles)
    radius = Radius(key, spec.name, centre, limit, show(condition.miles))

    def passes(values: Values, ctx: EvalContext) -> bool:
        value = values.get(key)
        if value is None:
            return False
        distance = ctx.distance_miles(lead_zip(value), centre)
        return distance is not None and distance <= limit

    def explain(values: Values, ctx: EvalContext) -> str:
        value = values.get(key)
        if value is None:
            return distance_failure(radius, None, None)
        zip_code = lead_zip(value)
        return distance_failure(radius, zip_code, ctx.distance_miles(zip_code, centre))

    identity = ("distance", spec, centre, str(condition.miles))
    return Check(passes, explain, key=identity, radius=radius)


def _as_value(result: Result) -> Value:
    """An expression's result as the typed value a rule compares (decimals as text)."""
    if isinstance(result, Decimal):
        return f"{result:f}"
    return result


def _result_predicate(c: Criterion, expression: Expression) -> Callable[[Result], bool]:
    spec = FieldSpec("result", _RESULT_TYPES[expression.kind])
    predicate = rule_predicate(Rule(spec.name, c.operator, c.value), spec)
    return lambda result: predicate(_as_value(result))


def _expression_check(c: Criterion, expression: Expression, key: Hashable) -> Check:
    label, evaluate = f"expression {expression.text}", expression.evaluate
    if c.operator is Operator.Unspecified:
        accepts: Callable[[Result], bool] = lambda result: result is True  # noqa: E731
        failure = "is false"
    else:
        accepts, failure = _result_predicate(c, expression), _failure(c.operator, c.value)

    def passes(values: Values, ctx: EvalContext) -> bool:
        try:
            return accepts(evaluate(values, ctx.now, ctx.tz))
        except EvaluationError:
            return False

    def explain(values: Values, ctx: EvalContext) -> str:
        try:
            result = evaluate(values, ctx.now, ctx.tz)
        except EvaluationError as exc:
            return f"{label}: {exc}"
        if result is None:
            return f"{label} gave no value"
        if c.operator is Operator.Unspecified:
            return f"{label} {failure}"
        return f"{label} gave {_clip(show(result))}, {failure}"

    return Check(passes, explain, key=key, zoned=True)


def _function_check(c: Criterion, spec: FieldSpec, expression: Expression) -> Check:
    key, name, label = spec.name.casefold(), spec.name, expression.text
    evaluate = expression.evaluate
    accepts, failure = _result_predicate(c, expression), _failure(c.operator, c.value)

    def passes(values: Values, ctx: EvalContext) -> bool:
        if values.get(key) is None:
            return accepts(None)
        try:
            return accepts(evaluate(values, ctx.now, ctx.tz))
        except EvaluationError:
            return False

    def explain(values: Values, ctx: EvalContext) -> str:
        if values.get(key) is None:
            return f"{name} missing"
        try:
            result = evaluate(values, ctx.now, ctx.tz)
        except EvaluationError as exc:
            return str(exc)
        return f"{label}={_clip(show(result))} {failure}"

    identity = ("function", spec, expression.text, c.operator, c.value)
    return Check(passes, explain, key=identity, zoned=True)
