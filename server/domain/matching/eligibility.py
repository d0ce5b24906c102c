"""Screening delivery accounts for a lead: the eligibility checks that need no database.

An `DeliveryAccountView` is one delivery account as the engine caches it: its buyer's settings, its
delivery method and its compiled criteria. `screen` says why an account cannot take a lead
now ('' when it can); caps, orders and earlier sales are checked by the engine against the
database, under a lock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import NamedTuple
from zoneinfo import ZoneInfo

from server.domain.buyers.schedule import DayWindow, is_open
from server.domain.buyers.specs import AccountType, ClientStatus
from server.domain.caps import Caps
from server.domain.catalog.fields import Value
from server.domain.catalog.specs import Status
from server.domain.delivery.ping import ping_delivery
from server.domain.delivery.spec import DeliverySpec
from server.domain.matching.criteria import CompiledCriteria, EvalContext
from server.domain.matching.selection import Automation, Candidate


@dataclass(frozen=True)
class DeliveryAccountView:
    id: int
    key: str
    description: str
    client_id: int
    client_name: str
    client_status: ClientStatus
    tz: ZoneInfo
    automation: Automation
    secondary: Automation
    priority: int
    weight: int
    use_tiers: bool
    status: Status
    automation_enabled: bool
    price: Decimal
    caps: Caps
    delivery_delay_seconds: int
    redirect_url: str
    account_type: AccountType
    agent_name: str
    agent_phone: str
    delivery_id: int
    delivery_name: str
    delivery_enabled: bool
    delivery: DeliverySpec
    windows: tuple[DayWindow, ...]
    criteria: CompiledCriteria
    email_field: str = ""  # the lead type's Email field (a consumer email goes to its value)
    contact_fields: frozenset[str] = frozenset()  # casefolded: what a ping never carries

    @cached_property
    def ping_request(self) -> DeliverySpec | None:
        """The settings its delivery method's ping is rendered with (None: it does not
        ping), made once."""
        ping = self.delivery.ping
        return None if ping is None else ping_delivery(self.delivery, ping)

    @cached_property
    def label(self) -> str:
        name = self.description or self.key or f"account {self.id}"
        return f"{self.client_name} / {name} (account {self.id})"

    def candidate(self, rr_position: int | None, served_count: int) -> Candidate:
        """The account as the waterfall orders it, given its buyer's rotation state. The last
        one made is kept (as `cached_property` keeps a value) and given again while that state
        is unchanged, which is most leads: a frozen dataclass is slow to make."""
        kept: Candidate | None = self.__dict__.get("_candidate")
        if kept and kept.rr_position == rr_position and kept.served_count == served_count:
            return kept
        made = Candidate(
            account_id=self.id,
            client_id=self.client_id,
            client_created=self.client_id,
            automation=self.automation,
            secondary=self.secondary,
            price=self.price,
            priority=self.priority,
            weight=self.weight,
            rr_position=rr_position,
            served_count=served_count,
            use_tiers=self.use_tiers,
        )
        self.__dict__["_candidate"] = made
        return made


# Screened and ScanEntry are made for every account and every lead: named tuples, as immutable
# as a frozen dataclass and several times cheaper to create.
class Screened(NamedTuple):
    """One account screened for a lead."""

    view: DeliveryAccountView
    reason: str  # '' = eligible so far


class ScanEntry(NamedTuple):
    """One account as a scan left it: its place in the waterfall, or why it was passed over."""

    view: DeliveryAccountView
    rank: int  # 1-based position in the waterfall; 0 = passed over
    reason: str  # the ranking explanation, or why it was passed over


SCHEDULE_CLOSED = "delivery schedule closed"
CRITERIA_FAILED = "criteria failed: "


def standing(view: DeliveryAccountView, *, automated_only: bool = True) -> str:
    """Why an account can take no lead at all ('' when it can): what does not depend on the
    lead or the time."""
    if view.client_status is not ClientStatus.Active:
        return f"buyer is {view.client_status.name}"
    if view.status is not Status.Active:
        return "account is disabled"
    if not view.delivery_enabled:
        return "delivery method is disabled"
    if automated_only and not view.automation_enabled:
        return "automation is off for this account"
    return ""


def screen(
    view: DeliveryAccountView,
    values: Mapping[str, Value],
    context: EvalContext,
    *,
    automated_only: bool = True,
) -> Screened:
    """Whether an account may take this lead now, before caps and earlier sales; `values` are
    the lead's typed values keyed by casefolded field name. (`DeliveryAccountIndex` screens many
    accounts at once, with the same outcome.)"""
    reason = standing(view, automated_only=automated_only)
    if reason:
        return Screened(view, reason)
    if not is_open(view.windows, view.tz, context.now):
        return Screened(view, SCHEDULE_CLOSED)
    verdict = view.criteria.check(values, EvalContext(context.now, view.tz, context.distance_miles))
    if not verdict.passed:
        return Screened(view, CRITERIA_FAILED + verdict.reason)
    return Screened(view, "")


def scan_report(lead_id: int, now: datetime, max_sells: int, entries: Sequence[ScanEntry]) -> str:
    """The scan log entry: every account considered and why it was taken or passed over."""
    ranked = sorted((e for e in entries if e.rank), key=lambda e: e.rank)
    lines = [
        f"Scan of lead {lead_id} at {now:%Y-%m-%d %H:%M:%S} UTC: {len(entries)} accounts "
        f"considered, {len(ranked)} eligible, max sells {max_sells}",
        *(e.reason for e in ranked),
        *(f"- {e.view.label}: passed over: {e.reason}" for e in entries if not e.rank),
    ]
    if not ranked:
        lines.append("No buyer can take this lead now.")
    return "\n".join(lines)
