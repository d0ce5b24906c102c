"""Computed fields (LeadExec's Computed and ComputedExpr): a lead field whose value is worked out
from the lead's other fields by an expression, in the language of buyer criteria
(server/domain/matching/expressions.py). Sources do not post a computed field: a value posted
for one is ignored, and the field is worked out again whenever the lead is posted or updated.

An expression names only fields that are not computed themselves, so the order of the fields
does not matter. A value that cannot be worked out (a field it needs is missing, a division by
zero, a result the field's type cannot hold) leaves the field empty and says why; it never
refuses the lead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from server.domain.catalog.fields import DataType, FieldSpec, Value, coerce
from server.domain.matching.expressions import (
    EvaluationError,
    Expression,
    ExpressionError,
    compile_expression,
    kind_of,
    show,
)
from server.errors import Violation

UTC_ZONE = ZoneInfo("UTC")  # hour(), weekday() and ages in a computed field are in UTC


def computed_problems(specs: Sequence[FieldSpec], path: str = "fields") -> list[Violation]:
    """Problems with the computed fields of a lead type's field list."""
    problems: list[Violation] = []
    for index, spec in enumerate(specs):
        if not spec.computed:
            continue
        where = f"{path}[{index}]"
        if spec.required:
            problems.append(
                Violation(
                    f"{where}.required", "a computed field is not posted: it cannot be required"
                )
            )
        try:
            expression = _compiled(spec, tuple(specs))
        except ExpressionError as exc:
            problems.append(Violation(f"{where}.computed", str(exc)))
            continue
        wanted = kind_of(spec.data_type)
        if spec.data_type is not DataType.Varchar and expression.kind is not wanted:
            problems.append(
                Violation(
                    f"{where}.computed",
                    f"gives {expression.kind.value} where a {spec.data_type.name} field holds "
                    f"{wanted.value}",
                )
            )
    return problems


@dataclass(frozen=True)
class Computed:
    """The computed fields' values for one lead, and a line on each."""

    values: dict[str, Value]
    detail: str


def compute_fields(
    specs: Sequence[FieldSpec], values: Mapping[str, Value], now: datetime
) -> Computed | None:
    """The computed fields of `specs` worked out from the lead's `values` (by field name);
    None when the lead type has none. A field that cannot be worked out is None."""
    computed = [spec for spec in specs if spec.computed]
    if not computed:
        return None
    folded = {name.casefold(): value for name, value in values.items()}
    found: dict[str, Value] = {}
    lines: list[str] = []
    for spec in computed:
        try:
            result = _compiled(spec, tuple(specs)).evaluate(folded, now, UTC_ZONE)
            text = "" if result is None else show(result)
            found[spec.name] = coerce(spec.data_type, text) if text else None
            lines.append(f"{spec.name}={text or 'missing'}")
        except (ExpressionError, EvaluationError, ValueError) as exc:
            found[spec.name] = None
            lines.append(f"{spec.name} left empty: {exc}")
    return Computed(found, "; ".join(lines))


def set_computed(values: dict[str, Value], computed: Computed) -> None:
    """Put a lead's computed values into its `values`; one left empty is removed."""
    for name, value in computed.values.items():
        if value is None:
            values.pop(name, None)
        else:
            values[name] = value


@lru_cache(maxsize=512)
def _compiled(spec: FieldSpec, specs: tuple[FieldSpec, ...]) -> Expression:
    """`spec`'s expression compiled against the fields it may name (the lead type's fields
    that are not computed), once per field list."""
    others = {s.name.casefold(): s for s in specs if not s.computed}
    return compile_expression(spec.computed, others)
