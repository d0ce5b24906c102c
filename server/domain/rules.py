"""Campaign rules: criteria a posted lead must meet to be accepted (LeadExec CriteriaOperator)."""

from __future__ import annotations

import enum
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from server.domain.fields import DataType, FieldSpec, Value, coerce
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


def _sortable(data_type: DataType, value: Value) -> Decimal | datetime | str | float | int | bool:
    if data_type in (DataType.Money, DataType.Decimal) and isinstance(value, str):
        return Decimal(value)
    if data_type is DataType.DateTime and isinstance(value, str):
        return datetime.fromisoformat(value)
    assert value is not None
    return value


def rule_passes(rule: Rule, spec: FieldSpec, value: Value) -> bool:
    """Whether a lead's typed value (None when absent) meets a rule that validated."""
    if rule.operator is Operator.Doesnt_Contain:
        return value is None or rule.value.casefold() not in str(value).casefold()
    if rule.operator is Operator.NotIn:
        return value is None or not _matches_any(spec, value, split_list(rule.value))
    if rule.operator is Operator.NotEqual:
        return value is None or not _matches_any(spec, value, [rule.value])
    if value is None:
        return False
    if rule.operator is Operator.Contains:
        return rule.value.casefold() in str(value).casefold()
    if rule.operator is Operator.Equal:
        return _matches_any(spec, value, [rule.value])
    if rule.operator is Operator.In:
        return _matches_any(spec, value, split_list(rule.value))
    mine = _sortable(spec.data_type, value)
    if rule.operator is Operator.Between:
        low, high = (
            _sortable(spec.data_type, coerce(spec.data_type, o)) for o in split_list(rule.value)
        )
        return bool(low <= mine <= high)  # type: ignore[operator]
    other = _sortable(spec.data_type, coerce(spec.data_type, rule.value.strip()))
    compare = {
        Operator.Greater: operator.gt,
        Operator.Less: operator.lt,
        Operator.GreaterOrEqual: operator.ge,
        Operator.LessOrEqual: operator.le,
    }[rule.operator]
    return bool(compare(mine, other))


def _matches_any(spec: FieldSpec, value: Value, operands: list[str]) -> bool:
    mine = _sortable(spec.data_type, value)
    for operand in operands:
        try:
            other = _sortable(spec.data_type, coerce(spec.data_type, operand.strip()))
        except ValueError:
            continue
        if isinstance(mine, str) and isinstance(other, str):
            if mine.casefold() == other.casefold():
                return True
        elif mine == other:
            return True
    return False
