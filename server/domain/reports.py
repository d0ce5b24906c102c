"""Profit and loss: what a report asks for, the rows it answers with, and their margin.

Every figure counts on the UTC day its lead was received (docs/reports.md): a sale, a return
or a settlement made days later changes that day's row. Pure data and rules; the aggregates
are kept by server/storage/reports.py.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from server.domain.intake.screening import ResponseType
from server.errors import InvalidArgument, Violation

MAX_DAYS = 366 * 2  # one request's range of days


class Dimension(enum.IntEnum):
    """What a report may group by; values are the proto's ReportDimension numbers."""

    DAY = 1
    SOURCE = 2
    CAMPAIGN = 3
    BUYER = 4
    LEAD_TYPE = 5


@dataclass(frozen=True)
class ReportQuery:
    """A profit-and-loss report: UTC days `since`..`until`, grouped by `by` (nothing: one
    total row), filtered by ids (0: any). A buyer filter keeps only sales: leads, their cost
    and refusals belong to no buyer."""

    since: date
    until: date
    by: frozenset[Dimension] = frozenset({Dimension.DAY})
    source_id: int = 0
    campaign_id: int = 0
    buyer_id: int = 0
    lead_type_id: int = 0


def check_range(since: date, until: date) -> None:
    """InvalidArgument unless `since`..`until` is a range of at most MAX_DAYS days."""
    if until < since:
        raise InvalidArgument([Violation("to_day", f"{until} is before {since}")])
    if (until - since).days + 1 > MAX_DAYS:
        raise InvalidArgument([Violation("to_day", f"a report spans at most {MAX_DAYS} days")])


def check_query(query: ReportQuery) -> None:
    """InvalidArgument for a range `check_range` refuses or a negative id."""
    check_range(query.since, query.until)
    ids = {
        "source_id": query.source_id,
        "campaign_id": query.campaign_id,
        "buyer_id": query.buyer_id,
        "lead_type_id": query.lead_type_id,
    }
    bad = [Violation(name, "must not be negative") for name, value in ids.items() if value < 0]
    if bad:
        raise InvalidArgument(bad)


def reason_name(code: int) -> str:
    """A refusal's ResponseType by name (its number when LeadExec names none)."""
    try:
        return ResponseType(code).name
    except ValueError:
        return str(code)


@dataclass(frozen=True)
class ProfitAndLoss:
    """One row of a report: the group's keys (None where not grouped by) and its figures.

    Revenue is what buyers paid for sales, credits what returned sales gave back; source cost
    is what the account owes the sources (per lead at intake, per sale and revenue share when
    a sale is confirmed), source credits what returns to the source took back.
    """

    day: date | None = None
    source_id: int | None = None
    source_name: str = ""
    campaign_id: int | None = None
    campaign_name: str = ""
    buyer_id: int | None = None
    buyer_name: str = ""
    lead_type_id: int | None = None
    lead_type_name: str = ""
    accepted: int = 0
    refused: int = 0
    refusals: dict[str, int] = field(default_factory=dict)  # reason name -> count
    sold: int = 0
    sends: int = 0
    revenue: Decimal = Decimal("0")
    source_cost: Decimal = Decimal("0")
    returns: int = 0
    credits: Decimal = Decimal("0")
    source_credits: Decimal = Decimal("0")

    @property
    def received(self) -> int:
        return self.accepted + self.refused

    @property
    def net_revenue(self) -> Decimal:
        return self.revenue - self.credits

    @property
    def net_cost(self) -> Decimal:
        return self.source_cost - self.source_credits

    @property
    def margin(self) -> Decimal:
        return self.net_revenue - self.net_cost


def total(rows: list[ProfitAndLoss]) -> ProfitAndLoss:
    """The figures of `rows` summed, with no keys."""
    refusals: dict[str, int] = {}
    for row in rows:
        for reason, count in row.refusals.items():
            refusals[reason] = refusals.get(reason, 0) + count
    return ProfitAndLoss(
        accepted=sum(r.accepted for r in rows),
        refused=sum(r.refused for r in rows),
        refusals=dict(sorted(refusals.items())),
        sold=sum(r.sold for r in rows),
        sends=sum(r.sends for r in rows),
        revenue=sum((r.revenue for r in rows), Decimal("0")),
        source_cost=sum((r.source_cost for r in rows), Decimal("0")),
        returns=sum(r.returns for r in rows),
        credits=sum((r.credits for r in rows), Decimal("0")),
        source_credits=sum((r.source_credits for r in rows), Decimal("0")),
    )
