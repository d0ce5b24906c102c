"""Partial updates. An update that names the fields it changes (a gRPC FieldMask, as
service.asmx's AddEdit methods send, whose types carry only some of an entity's settings)
takes those attributes from what was sent and keeps the rest as stored."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any, TypeVar

Spec = TypeVar("Spec")


def masked(stored: Spec, posted: Spec, changed: frozenset[str] | None) -> Spec:
    """`posted` when every field changes (`changed` is None); else `stored` with the
    `changed` attributes taken from `posted`."""
    if changed is None:
        return posted
    known = {f.name for f in fields(stored)}  # type: ignore[arg-type]
    unknown = changed - known
    if unknown:
        raise ValueError(f"not attributes of {type(stored).__name__}: {sorted(unknown)}")
    updates: dict[str, Any] = {name: getattr(posted, name) for name in changed}
    return replace(stored, **updates)  # type: ignore[type-var]
