"""Screening a posted lead against its campaign: the acceptance steps that need no database.

LeadExec's order, each step recorded: clean the fields (invalid characters, types, required,
validation, enumerations: Data_Errors listing every bad field), append city and state from
the ZIP code when the campaign asks, campaign rules (Outside_Criteria), campaign status
(Account_Disabled). Caps and the duplicate check follow in the lead service, inside the
transaction that stores the lead.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from server.domain.catalog import CampaignSpec, Status
from server.domain.fields import FieldSpec, SpecialField, Value, clean_lead_values
from server.domain.rules import rule_passes

ZipLookup = Callable[[str], tuple[str, str] | None]  # ZIP -> (city, state abbreviation)


class ResponseType(enum.IntEnum):
    """LeadExec's ResponseType: names and numbers are part of the wire contract."""

    No_Error = 0
    System_ID_Missing = 1
    LeadType_ID_Missing = 2
    Vendor_ID_Missing = 3
    No_Account_Found = 4
    Outside_Criteria = 5
    Duplicate_Lead = 6
    Account_Disabled = 7
    Post_Over_Max = 8
    Data_Errors = 9


@dataclass(frozen=True)
class Step:
    """One pipeline step as recorded on the post log."""

    name: str
    outcome: str  # passed, failed, changed, skipped
    detail: str = ""
    micros: int = 0


@dataclass
class Screening:
    response: ResponseType = ResponseType.No_Error
    details: str = ""
    values: dict[str, Value] = field(default_factory=dict)
    extras: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.response is ResponseType.No_Error


class _Clock:
    def __init__(self) -> None:
        self._start = time.perf_counter()

    def micros(self) -> int:
        now = time.perf_counter()
        spent, self._start = int((now - self._start) * 1_000_000), now
        return spent


def screen(
    campaign: CampaignSpec,
    fields: Sequence[FieldSpec],
    posted: Mapping[str, str],
    zip_lookup: ZipLookup,
) -> Screening:
    """Run the database-free acceptance steps; the first failing step decides the response."""
    clock = _Clock()
    result = Screening()
    cleaned = clean_lead_values(fields, posted)
    result.values, result.extras = cleaned.values, cleaned.extras
    if not cleaned.ok:
        detail = "; ".join(str(p) for p in cleaned.problems)
        result.steps.append(Step("validate_fields", "failed", detail, clock.micros()))
        return _reject(result, ResponseType.Data_Errors, f"Invalid or missing fields: {detail}")
    result.steps.append(Step("validate_fields", "passed", "", clock.micros()))

    if campaign.append_city_state_from_zip:
        result.steps.append(_append_city_state(fields, result.values, zip_lookup, clock))

    by_name = {f.name.casefold(): f for f in fields}
    for rule in campaign.rules:
        spec = by_name[rule.field.casefold()]  # a field used by a rule cannot be deleted
        value = result.values.get(spec.name)
        if not rule_passes(rule, spec, value):
            shown = "(missing)" if value is None else str(value)
            detail = f"{spec.name}={shown} does not meet {rule.operator.name} {rule.value}"
            result.steps.append(Step("campaign_rules", "failed", detail, clock.micros()))
            return _reject(result, ResponseType.Outside_Criteria, f"Outside criteria: {detail}")
    if campaign.rules:
        result.steps.append(Step("campaign_rules", "passed", "", clock.micros()))

    if campaign.status is not Status.Active:
        result.steps.append(Step("campaign_status", "failed", campaign.status.name, clock.micros()))
        return _reject(result, ResponseType.Account_Disabled, "The campaign is disabled")
    result.steps.append(Step("campaign_status", "passed", "", clock.micros()))
    return result


def _reject(result: Screening, response: ResponseType, details: str) -> Screening:
    result.response, result.details = response, details
    return result


def _special(fields: Sequence[FieldSpec], special: SpecialField) -> FieldSpec | None:
    return next((f for f in fields if f.special is special), None)


def _append_city_state(
    fields: Sequence[FieldSpec], values: dict[str, Value], zip_lookup: ZipLookup, clock: _Clock
) -> Step:
    """Fill City and State from the ZIP code when they were not posted."""
    zip_field = _special(fields, SpecialField.Zip)
    targets = [
        (_special(fields, SpecialField.City), 0),
        (_special(fields, SpecialField.State), 1),
    ]
    zip_code = str(values.get(zip_field.name, "")) if zip_field else ""
    if not zip_code:
        return Step("append_city_state", "skipped", "no ZIP code", clock.micros())
    place = zip_lookup(zip_code[:5])
    if place is None:
        return Step("append_city_state", "skipped", f"unknown ZIP code {zip_code}", clock.micros())
    filled = []
    for target, index in targets:
        if target is not None and not values.get(target.name):
            values[target.name] = place[index]
            filled.append(f"{target.name}={place[index]}")
    if not filled:
        return Step("append_city_state", "skipped", "already posted", clock.micros())
    return Step("append_city_state", "changed", ", ".join(filled), clock.micros())
