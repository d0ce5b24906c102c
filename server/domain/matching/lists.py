"""Distribution lists (LeadExec custom lists): a lead field's values assigned to buyers.

A list belongs to a lead type and reads one of its fields (e.g. ZipCode). Each item is one
value of that field, assigned to a buyer or left unassigned. For a lead the list applies to
(the list is active, and its depend field, when set, holds the depend value):
- the lead's value is assigned to a buyer: only that buyer may take the lead;
- the value is unassigned or not in the list: only the catch-all default buyer may take it,
  when the list has one; otherwise the list does not restrict the lead.
Several lists that apply must all allow a buyer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from server.domain.catalog.fields import Value
from server.domain.catalog.specs import Status
from server.errors import Violation


def list_value(value: Value | str) -> str:
    """How list items and lead values are compared: as trimmed, case-folded text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value).strip().casefold()


@dataclass(frozen=True)
class ListItemSpec:
    value: str
    client_key: str  # '' = unassigned


@dataclass(frozen=True)
class DistributionListSpec:
    key: str | None
    description: str
    field: str
    default_client_key: str  # '' = no catch-all buyer
    status: Status
    depend_field: str
    depend_value: str
    items: tuple[ListItemSpec, ...]


def validate_list(
    spec: DistributionListSpec, field_names: Sequence[str], path: str
) -> list[Violation]:
    """Problems with a list against its lead type's fields."""
    known = {name.casefold() for name in field_names}
    problems: list[Violation] = []
    if not spec.field:
        problems.append(Violation(f"{path}.field", "is required"))
    elif spec.field.casefold() not in known:
        problems.append(Violation(f"{path}.field", f"no field {spec.field!r} in the lead type"))
    if spec.depend_field and spec.depend_field.casefold() not in known:
        problems.append(
            Violation(f"{path}.depend_field", f"no field {spec.depend_field!r} in the lead type")
        )
    seen: set[str] = set()
    for index, item in enumerate(spec.items):
        value = list_value(item.value)
        if not value:
            problems.append(Violation(f"{path}.items[{index}].value", "is required"))
        elif value in seen:
            problems.append(Violation(f"{path}.items[{index}].value", f"{item.value!r} repeats"))
        seen.add(value)
    return problems


@dataclass(frozen=True)
class StoredListItem:
    """One value of a distribution list, as configured, and the buyer it is assigned to."""

    value: str  # as configured (shown), not as compared
    client_id: int | None  # None = unassigned
    id: int = 0  # CustomItemUID
    client_name: str = ""


@dataclass(frozen=True)
class StoredDistributionList:
    """A distribution list as stored, with its items in value order."""

    id: int
    key: str | None
    lead_type_id: int
    description: str
    field: str
    default_client_id: int | None  # None = no catch-all buyer
    status: Status
    depend_field: str
    depend_value: str  # compared-ready (list_value)
    items: tuple[StoredListItem, ...]
    field_id: int = 0  # the ids of `field` and `depend_field` in the lead type; 0 = none
    depend_field_id: int = 0
    default_client_name: str = ""


@dataclass(frozen=True)
class ListItemEdit:
    """One value of a distribution list as an edit by id gives it."""

    value: str
    client_id: int  # 0 = unassigned


@dataclass(frozen=True)
class ListEdit:
    """A distribution list as an edit by id gives it, with its complete item list."""

    id: int
    key: str | None
    lead_type_id: int
    description: str
    field: str
    default_client_id: int  # 0 = no catch-all buyer
    status: Status
    depend_field: str
    depend_value: str
    items: tuple[ListItemEdit, ...]

    def spec(self) -> DistributionListSpec:
        """The list as config as code validates it, its buyers named by id."""
        return DistributionListSpec(
            key=self.key,
            description=self.description,
            field=self.field,
            default_client_key=str(self.default_client_id or ""),
            status=self.status,
            depend_field=self.depend_field,
            depend_value=self.depend_value,
            items=tuple(ListItemSpec(i.value, str(i.client_id or "")) for i in self.items),
        )


@dataclass(frozen=True)
class DistributionList:
    """A list as the engine caches it: values already compared-ready."""

    id: int
    name: str
    field: str  # case-folded
    default_client_id: int | None
    depend_field: str  # case-folded; '' = always applies
    depend_value: str  # compared-ready
    assigned: Mapping[str, int | None]  # value -> buyer (None = unassigned)


@dataclass(frozen=True)
class Restriction:
    """What one list that applies to a lead says: the only buyer allowed, and why."""

    list_id: int
    client_id: int
    reason: str  # for the buyers it excludes


def restrictions(
    lists: Sequence[DistributionList],
    values: Mapping[str, Value],
    client_names: Mapping[int, str],
) -> list[Restriction]:
    """The restrictions the lists put on a lead; `values` are keyed by case-folded name."""
    found: list[Restriction] = []
    for dlist in lists:
        if dlist.depend_field and list_value(values.get(dlist.depend_field)) != dlist.depend_value:
            continue
        value = list_value(values.get(dlist.field))
        client_id = dlist.assigned.get(value)
        shown = value or "(empty)"
        if client_id is not None:
            why = f"assigns {dlist.field}={shown} to"
        elif dlist.default_client_id is not None:
            client_id = dlist.default_client_id
            why = f"has no buyer for {dlist.field}={shown}; its catch-all is"
        else:
            continue
        name = client_names.get(client_id, f"buyer {client_id}")
        found.append(
            Restriction(dlist.id, client_id, f"distribution list {dlist.name!r} {why} {name}")
        )
    return found


def excluded_by(restrictions_: Sequence[Restriction], client_id: int) -> str:
    """Why the lists keep this buyer from the lead ('' when they allow it)."""
    for restriction in restrictions_:
        if restriction.client_id != client_id:
            return restriction.reason
    return ""
