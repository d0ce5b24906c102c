"""Screening a posted lead against its campaign: the acceptance steps that need no database.

LeadExec's order, each step recorded: clean the fields (invalid characters, types, required,
validation, enumerations: Data_Errors listing every bad field), append city and state from
the ZIP code when the campaign asks, campaign rules (Outside_Criteria), campaign status
(Account_Disabled). Caps and the duplicate check follow in the lead service, inside the
transaction that stores the lead.

Also here: what each insert endpoint's kind of sale allows (`SaleKind`), what a lead's sends
mean for the answer (`delivered`), and when an updated lead may be distributed again
(`redistribution_refusal`).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlsplit

from server.domain.buyers.specs import AccountType
from server.domain.catalog.computed import compute_fields, set_computed
from server.domain.catalog.fields import NUL, FieldSpec, SpecialField, Value, clean_lead_values
from server.domain.catalog.rules import rule_passes
from server.domain.catalog.specs import CampaignSpec, Status
from server.domain.intake.call_data import parse_call_data
from server.errors import Violation

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


class SaleKind(enum.IntEnum):
    """The kind of sale an insert endpoint asks for; values are the proto's SaleKind numbers."""

    General = 0  # /insert/general, returnsends
    LiveTransfer = 1  # /insert/transfer
    Redirect = 2  # /insert/manualredirect, autoredirect
    Call = 3  # /insert/calldata

    @property
    def account_types(self) -> tuple[AccountType, ...] | None:
        """The delivery account types the lead's waterfall may use; None = every type."""
        if self is SaleKind.LiveTransfer:
            return (AccountType.LiveTransfer,)
        if self is SaleKind.Redirect:
            return (AccountType.Redirect,)
        return None

    @property
    def delivers_before_answer(self) -> bool:
        """The answer needs the buyers' outcome: the agents to transfer to, the redirect URL."""
        return self in (SaleKind.LiveTransfer, SaleKind.Redirect)

    @property
    def takes_call_data(self) -> bool:
        return self is SaleKind.Call


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
    call_data: dict[str, Value] = field(default_factory=dict)
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
    call: Mapping[str, str] | None = None,
    reference: str = "",
    now: datetime | None = None,
) -> Screening:
    """Run the database-free acceptance steps; the first failing step decides the response.

    `call` is a call lead's call data, by pseudo-field name (server/domain/intake/call_data.py): it
    is checked with the fields, and its problems are listed with theirs, as are those of the
    lead's `reference`. `now` is when the lead came, for computed fields (computed.py).
    """
    clock = _Clock()
    result = Screening()
    cleaned = clean_lead_values(fields, posted)
    result.values, result.extras = cleaned.values, cleaned.extras
    problems = list(cleaned.problems)
    if call is not None:
        call_data = parse_call_data(call)
        result.call_data = call_data.values
        problems += call_data.problems
    if NUL in reference:
        problems.append(Violation("reference", "holds a NUL character"))
    if problems:
        detail = "; ".join(str(p) for p in problems)
        result.steps.append(Step("validate_fields", "failed", detail, clock.micros()))
        return _reject(result, ResponseType.Data_Errors, f"Invalid or missing fields: {detail}")
    result.steps.append(Step("validate_fields", "passed", "", clock.micros()))

    if campaign.append_city_state_from_zip:
        result.steps.append(_append_city_state(fields, result.values, zip_lookup, clock))
    computed = compute_fields(fields, result.values, now or datetime.now(UTC))
    if computed is not None:
        set_computed(result.values, computed)
        result.steps.append(Step("computed_fields", "changed", computed.detail, clock.micros()))

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


# -- after distribution -------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveredSend:
    """One send of a lead delivered before the answer, as the answer needs it."""

    client_id: int
    client_name: str
    sold: bool
    price: Decimal
    redirect_url: str = ""
    account_type: AccountType = AccountType.Standard
    agent_name: str = ""
    agent_phone: str = ""


@dataclass(frozen=True)
class Delivered:
    """What a lead's sends mean for the answer of the endpoint it was posted to."""

    redirect_url: str
    agents: tuple[DeliveredSend, ...]


def delivered(kind: SaleKind, sends: Sequence[DeliveredSend]) -> Delivered:
    """The redirect URL (the first buyer, in waterfall order, that took the lead and gave one)
    and, for a live transfer, the live-transfer accounts that took it.

    Only sends of the account types the kind of sale allows count, so a transfer never names
    an account that is not a live-transfer one.
    """
    allowed = kind.account_types
    taken = [s for s in sends if s.sold and (allowed is None or s.account_type in allowed)]
    redirect = next((s.redirect_url for s in taken if s.redirect_url), "")
    agents = tuple(taken) if kind is SaleKind.LiveTransfer else ()
    return Delivered(redirect, agents)


def visitor_redirect(redirect_urls: Sequence[str], return_url: str) -> str:
    """Where a redirect post sends its visitor: the buyer's redirect URL, or when no buyer
    gave one the posted `returnurl`; "" for anything but one lead, or when the URL found is
    not an absolute http(s) URL. `redirect_urls`: one per lead of the request."""
    if len(redirect_urls) != 1:
        return ""
    target = redirect_urls[0] or return_url
    return target if is_web_url(target) else ""


def is_web_url(url: str) -> bool:
    """Whether `url` is an absolute http or https URL (the only kind redirected or called)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def redistribution_refusal(
    *, no_sell: bool, pending_qc: bool, qc_reviewed: bool, qc_rejected: bool
) -> str:
    """Why an updated lead may not be distributed again ('' when it may)."""
    if no_sell:
        return "the lead is noSell"
    if qc_rejected:
        return "the lead was rejected in QC review"
    if pending_qc and not qc_reviewed:
        return "the lead is pending QC review"
    return ""
