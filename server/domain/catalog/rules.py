"""Campaign rules: criteria a posted lead must meet to be accepted (LeadExec CriteriaOperator)."""

from __future__ import annotations

import enum
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from server.domain.catalog.fields import DataType, FieldSpec, Value, coerce, field_named
from server.errors import Violation


class Operator(enum.IntEnum):
    """Values are the proto's numbers; names are LeadExec's."""

    Unspecified = 0
    Equal = 1
    NotEqual = 2
    Greater = 3
    Less = 4
    GreaterOrEqual = 5
    LessOrEqual = 6
    Between = 7
    In = 8
    NotIn = 9
    DateCompare = 10
    Distance_Compare = 11
    Contains = 12
    Doesnt_Contain = 13


ORDERED = frozenset(
    {Operator.Greater, Operator.Less, Operator.GreaterOrEqual, Operator.LessOrEqual}
)
ORDERABLE_TYPES = frozenset(
    {
        DataType.Int,
        DataType.Bigint,
        DataType.Money,
        DataType.Decimal,
        DataType.Float,
        DataType.DateTime,
    }
)
# Both need reference data (dates relative to receipt, ZIP centroids) that arrives with buyer
# criteria; until then a campaign rule using them is refused when saved, never half-evaluated.
NOT_YET_FOR_CAMPAIGNS = frozenset({Operator.DateCompare, Operator.Distance_Compare})


@dataclass(frozen=True)
class Rule:
    field: str
    operator: Operator
    value: str
    field_id: int = 0  # names the field by id when `field` is empty (LeadExec's LeadFieldUID)


def rules_by_name(
    rules: Sequence[Rule], fields: Sequence[FieldSpec], where: str
) -> tuple[tuple[Rule, ...], list[Violation]]:
    """The rules with every field named by name, as stored (see field_named)."""
    named: list[Rule] = []
    problems: list[Violation] = []
    for i, rule in enumerate(rules):
        name, problem = field_named(rule.field_id, rule.field, fields, f"{where}[{i}].field_id")
        if problem:
            problems.append(problem)
        named.append(Rule(name, rule.operator, rule.value))
    return tuple(named), problems


def split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def validate_rule(rule: Rule, fields: Mapping[str, FieldSpec], where: str) -> list[Violation]:
    """Problems with a rule against the lead type's fields (keyed by casefolded name)."""
    spec = fields.get(rule.field.casefold())
    if spec is None:
        return [Violation(f"{where}.field", f"{rule.field!r} is not a field of the lead type")]
    if rule.operator is Operator.Unspecified:
        return [Violation(f"{where}.operator", "an operator is required")]
    if rule.operator in NOT_YET_FOR_CAMPAIGNS:
        return [
            Violation(
                f"{where}.operator",
                f"{rule.operator.name} is not available for campaign rules",
            )
        ]
    if rule.operator in ORDERED | {Operator.Between} and spec.data_type not in ORDERABLE_TYPES:
        return [
            Violation(
                f"{where}.operator",
                f"{rule.operator.name} needs a numeric or date field; {spec.name} is "
                f"{spec.data_type.name}",
            )
        ]
    operands = _operands(rule)
    if isinstance(operands, Violation):
        return [Violation(f"{where}.value", operands.reason)]
    if rule.operator in (Operator.Contains, Operator.Doesnt_Contain):
        return []
    problems = []
    for operand in operands:
        try:
            coerce(spec.data_type, operand)
        except ValueError as exc:
            problems.append(Violation(f"{where}.value", f"{operand!r} {exc} for {spec.name}"))
    if not problems and rule.operator is Operator.Between:
        low, high = (_sortable(spec.data_type, coerce(spec.data_type, o)) for o in operands)
        if operator.gt(low, high):
            problems.append(Violation(f"{where}.value", "the low bound is above the high bound"))
    return problems


def _operands(rule: Rule) -> list[str] | Violation:
    if rule.operator in (Operator.In, Operator.NotIn):
        items = split_list(rule.value)
        return items or Violation("", "a comma-separated list of values is required")
    if rule.operator is Operator.Between:
        items = split_list(rule.value)
        if len(items) != 2:
            return Violation("", "Between needs two values: low,high")
        return items
    if not rule.value.strip():
        return Violation("", "a value is required")
    return [rule.value.strip()]


Sortable = Decimal | datetime | str | float | int | bool


def _sortable(data_type: DataType, value: Value) -> Sortable:
    return _sorter(data_type)(value)


def _sorter(data_type: DataType) -> Callable[[Value], Sortable]:
    """How values of a data type compare: money and decimals as Decimal, dates as datetime."""
    if data_type in (DataType.Money, DataType.Decimal):
        return _decimal
    if data_type is DataType.DateTime:
        return _datetime
    return _present


def _decimal(value: Value) -> Sortable:
    return Decimal(value) if isinstance(value, str) else _present(value)


def _datetime(value: Value) -> Sortable:
    return datetime.fromisoformat(value) if isinstance(value, str) else _present(value)


def _present(value: Value) -> Sortable:
    assert value is not None
    return value


def rule_passes(rule: Rule, spec: FieldSpec, value: Value) -> bool:
    """Whether a lead's typed value (None when absent) meets a rule that validated."""
    return rule_predicate(rule, spec)(value)


def rule_predicate(rule: Rule, spec: FieldSpec) -> Callable[[Value], bool]:
    """`rule_passes` for one rule, with its operands converted once: for checking many leads.

    Operands that do not convert are handled as `rule_passes` always did: list items are
    skipped, and a single bad bound raises ValueError when a present value is tested.
    """
    op = rule.operator
    if op in (Operator.Contains, Operator.Doesnt_Contain):
        needle = rule.value.casefold()
        if op is Operator.Contains:
            return lambda value: value is not None and needle in str(value).casefold()
        return lambda value: value is None or needle not in str(value).casefold()
    if op in (Operator.Equal, Operator.NotEqual, Operator.In, Operator.NotIn):
        single = op in (Operator.Equal, Operator.NotEqual)
        matches = _matcher(spec, [rule.value] if single else split_list(rule.value))
        if op in (Operator.NotEqual, Operator.NotIn):
            return lambda value: value is None or not matches(value)
        return lambda value: value is not None and matches(value)
    data_type, sort = spec.data_type, _sorter(spec.data_type)
    try:
        if op is Operator.Between:
            low, high = (sort(coerce(data_type, o)) for o in split_list(rule.value))

            def between(value: Value) -> bool:
                if value is None:
                    return False
                return bool(low <= sort(value) <= high)  # type: ignore[operator]

            return between
        other = sort(coerce(data_type, rule.value.strip()))
    except ValueError as exc:
        return partial(_refuse_present, exc)
    compare = _ORDERINGS.get(op)
    if compare is None:
        return partial(_refuse_present, ValueError(f"{op.name} is not a rule operator"))
    return lambda value: value is not None and bool(compare(sort(value), other))


_ORDERINGS: dict[Operator, Callable[[Any, Any], Any]] = {
    Operator.Greater: operator.gt,
    Operator.Less: operator.lt,
    Operator.GreaterOrEqual: operator.ge,
    Operator.LessOrEqual: operator.le,
}


def _refuse_present(error: ValueError, value: Value) -> bool:
    if value is None:
        return False
    raise error


def _matcher(spec: FieldSpec, operands: list[str]) -> Callable[[Value], bool]:
    """Whether a present value equals one of the operands: text ignoring case, else by value."""
    texts: set[str] = set()
    others: set[Sortable] = set()
    sort = _sorter(spec.data_type)
    for operand in operands:
        try:
            other = sort(coerce(spec.data_type, operand.strip()))
        except ValueError:
            continue
        if isinstance(other, str):
            texts.add(other.casefold())
        else:
            others.add(other)

    def matches(value: Value) -> bool:
        mine = sort(value)
        if isinstance(mine, str):
            return mine.casefold() in texts
        return mine in others

    return matches
