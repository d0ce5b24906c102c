"""The rules of a profit-and-loss report: its range, its filters, its totals and margin."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from server.domain.reports import (
    MAX_DAYS,
    ProfitAndLoss,
    ReportQuery,
    check_query,
    reason_name,
    total,
)
from server.errors import InvalidArgument


def test_margin_is_net_revenue_less_net_source_cost() -> None:
    row = ProfitAndLoss(
        revenue=Decimal("100.50"),
        credits=Decimal("20"),
        source_cost=Decimal("40.25"),
        source_credits=Decimal("12.5"),
    )
    assert row.margin == Decimal("52.75")


def test_the_total_sums_every_figure_and_the_refusals_by_reason() -> None:
    rows = [
        ProfitAndLoss(accepted=2, refused=1, refusals={"Duplicate_Lead": 1}, revenue=Decimal("5")),
        ProfitAndLoss(
            accepted=1,
            refused=3,
            refusals={"Duplicate_Lead": 2, "Data_Errors": 1},
            source_cost=Decimal("1.5"),
        ),
    ]
    summed = total(rows)
    assert (summed.received, summed.accepted, summed.refused) == (7, 3, 4)
    assert summed.refusals == {"Data_Errors": 1, "Duplicate_Lead": 3}
    assert summed.margin == Decimal("3.5") and summed.day is None


def test_a_refusal_reason_is_named_by_leadexecs_response_type() -> None:
    assert reason_name(6) == "Duplicate_Lead"
    assert reason_name(77) == "77"


@pytest.mark.parametrize(
    ("since", "until", "field"),
    [
        (date(2026, 2, 1), date(2026, 1, 31), "to_day"),
        (date(2024, 1, 1), date(2024, 1, 1).replace(year=2027), "to_day"),
    ],
)
def test_a_range_backwards_or_too_long_is_refused(since: date, until: date, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_query(ReportQuery(since, until))
    assert [v.path for v in caught.value.violations] == [field]


def test_the_longest_range_and_a_negative_filter() -> None:
    start = date(2026, 1, 1)
    check_query(ReportQuery(start, start.fromordinal(start.toordinal() + MAX_DAYS - 1)))
    with pytest.raises(InvalidArgument) as caught:
        check_query(ReportQuery(start, start, campaign_id=-1))
    assert [v.path for v in caught.value.violations] == ["campaign_id"]
