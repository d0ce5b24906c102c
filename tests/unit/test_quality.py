"""The QC review and return rules, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from server.domain.sales.quality import (
    MAX_REASON,
    QcState,
    Sale,
    reason_text,
    return_refusal,
    return_window_days,
    returnable,
    review_refusal,
    source_credit,
)
from server.domain.sales.sends import SendStatus
from server.errors import FailedPrecondition, InvalidArgument

SOLD_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SOLD, REJECTED, IN_FLIGHT = SendStatus.SOLD, SendStatus.REJECTED, SendStatus.IN_FLIGHT


def test_the_campaigns_return_days_are_the_window() -> None:
    assert return_window_days(7, 30) == 7


def test_a_campaign_without_return_days_takes_its_sources_default() -> None:
    assert return_window_days(0, 30) == 30


def test_no_days_anywhere_means_no_returns() -> None:
    assert return_window_days(0, 0) == 0


def test_a_sale_can_be_returned_until_the_window_closes() -> None:
    sale = Sale(1, SOLD, SOLD_AT)
    assert return_refusal(sale, 5, SOLD_AT + timedelta(days=5)) is None


def test_a_sale_cannot_be_returned_after_the_window() -> None:
    sale = Sale(1, SOLD, SOLD_AT)
    refusal = return_refusal(sale, 5, SOLD_AT + timedelta(days=5, seconds=1))
    assert refusal == (
        "the return window of send 1 (5 days after its sale) closed at 2026-03-06 12:00:00 UTC"
    )


def test_no_return_is_taken_when_the_campaign_takes_none() -> None:
    refusal = return_refusal(Sale(1, SOLD, SOLD_AT), 0, SOLD_AT)
    assert refusal is not None and "accepts no returns" in refusal


def test_only_a_sale_can_be_returned() -> None:
    refusal = return_refusal(Sale(2, REJECTED, SOLD_AT), 5, SOLD_AT)
    assert refusal == "send 2 is rejected, not sold: only a sale can be returned"


def test_a_sale_is_returned_once() -> None:
    sale = Sale(3, SOLD, SOLD_AT, SOLD_AT + timedelta(hours=1), "bad phone")
    refusal = return_refusal(sale, 5, SOLD_AT + timedelta(hours=2))
    assert refusal == "send 3 was already returned at 2026-03-01 13:00:00 UTC (bad phone)"


def test_returnable_keeps_the_sales_that_may_be_returned() -> None:
    sales = [
        Sale(1, SOLD, SOLD_AT, SOLD_AT, "earlier"),
        Sale(2, SOLD, SOLD_AT),
        Sale(3, REJECTED, SOLD_AT),
    ]
    assert [s.send_id for s in returnable(sales, 5, SOLD_AT)] == [2]


def test_returnable_refuses_with_a_sales_reason_first() -> None:
    sales = [Sale(1, REJECTED, SOLD_AT), Sale(2, SOLD, SOLD_AT, SOLD_AT, "dup")]
    with pytest.raises(FailedPrecondition, match="send 2 was already returned"):
        returnable(sales, 5, SOLD_AT)


def test_returnable_refuses_a_buyer_that_bought_nothing() -> None:
    with pytest.raises(FailedPrecondition, match="send 4 is in flight"):
        returnable([Sale(4, IN_FLIGHT, SOLD_AT)], 5, SOLD_AT)


def test_a_source_is_credited_only_when_the_campaign_counts_returns() -> None:
    assert source_credit(True, Decimal("12.50")) == Decimal("12.50")
    assert source_credit(False, Decimal("12.50")) == Decimal("0")


def test_a_waiting_lead_can_be_reviewed() -> None:
    assert review_refusal(QcState(9, True, None, False)) is None


def test_an_approved_lead_cannot_be_reviewed_again() -> None:
    refusal = review_refusal(QcState(9, False, SOLD_AT, False))
    assert refusal == "lead 9 was already approved at 2026-03-01 12:00:00 UTC; a review is final"


def test_a_rejected_lead_cannot_be_reviewed_again() -> None:
    refusal = review_refusal(QcState(9, False, SOLD_AT, True))
    assert refusal is not None and refusal.startswith("lead 9 was rejected in QC review")


def test_a_lead_never_held_is_not_in_the_bin() -> None:
    refusal = review_refusal(QcState(9, False, None, False))
    assert refusal == "lead 9 is not in the QC bin: its campaign did not hold it for review"


def test_a_reason_is_trimmed() -> None:
    assert reason_text("  wrong number \n", "reason", required=True) == "wrong number"


def test_a_blank_reason_is_refused_when_required() -> None:
    with pytest.raises(InvalidArgument) as caught:
        reason_text("   ", "reason", required=True)
    assert [(v.path, v.reason) for v in caught.value.violations] == [
        ("reason", "a reason is required")
    ]


def test_a_note_may_be_empty() -> None:
    assert reason_text("", "note", required=False) == ""


def test_a_reason_has_a_length_limit() -> None:
    reason_text("x" * MAX_REASON, "reason", required=True)
    with pytest.raises(InvalidArgument):
        reason_text("x" * (MAX_REASON + 1), "reason", required=True)
