"""Choosing the order a send counts against, and when an order renews."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from server.domain.catalog.fields import DataType, FieldSpec
from server.domain.catalog.rules import Operator
from server.domain.matching.criteria import (
    Criterion,
    CriterionType,
    EvalContext,
    compile_criteria,
)
from server.domain.sales.orders import (
    ItemState,
    OrderFilter,
    OrderState,
    OrderStatus,
    Period,
    Renewal,
    choose_order,
    renewed_period,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def order(
    id: int = 1,
    *,
    status: OrderStatus = OrderStatus.Open,
    renewal: Renewal = Renewal.No_Renewal,
    start: datetime = NOW - DAY,
    end: datetime = NOW + DAY,
    period: tuple[datetime, datetime] | None = None,
    sold: int = 0,
    items: tuple[ItemState, ...] = (ItemState(10, 5, None, 0),),
) -> OrderState:
    period_start, period_end = period or (start, end)
    return OrderState(id, 7, status, renewal, start, end, period_start, period_end, sold, items)


def test_an_open_order_with_room_is_picked_on_its_first_item_with_room() -> None:
    items = (ItemState(10, 2, None, 2), ItemState(11, 3, None, 1))
    choice = choose_order([order(items=items)], delivery_account_id=3, now=NOW)
    assert choice.pick is not None and (choice.pick.order_id, choice.pick.item_id) == (1, 11)
    assert choice.pick.renew_to is None and choice.reason == ""


def test_an_item_for_another_account_is_skipped() -> None:
    items = (ItemState(10, 5, 4, 0), ItemState(11, 5, 3, 0))
    assert choose_order([order(items=items)], 3, NOW).pick.item_id == 11  # type: ignore[union-attr]
    assert choose_order([order(items=items[:1])], 3, NOW).pick is None


def test_the_order_ending_first_is_used_first() -> None:
    later = order(1, end=NOW + 3 * DAY)
    sooner = order(2, end=NOW + 2 * DAY)
    assert choose_order([later, sooner], 3, NOW).pick.order_id == 2  # type: ignore[union-attr]


def test_no_pick_says_why_for_each_order() -> None:
    orders = [
        order(1, status=OrderStatus.OnHold),
        order(2, start=NOW + DAY, end=NOW + 2 * DAY),
        order(3, start=NOW - 2 * DAY, end=NOW - DAY),
        order(4, sold=4, items=(ItemState(10, 5, None, 5),)),
    ]
    choice = choose_order(orders, 3, NOW)
    assert choice.pick is None
    assert choice.reason == (
        "no order with quantity left: order 3 ended 2026-11-21 12:00 UTC; order 1 is OnHold; "
        "order 4 is full (4 sold, 1 pending, of 5); order 2 starts 2026-11-23 12:00 UTC"
    )
    assert choose_order([], 3, NOW).reason == "uses orders and its buyer has no open order"


def test_on_end_date_moves_the_period_forward_by_whole_spans() -> None:
    ended = order(
        renewal=Renewal.On_End_Date,
        start=NOW - 10 * DAY,
        end=NOW - 8 * DAY,
        items=(ItemState(10, 5, None, 5),),
        sold=5,
    )
    # spans of 2 days from NOW-8d: the one covering NOW starts at NOW (8 = 4 spans)
    assert renewed_period(ended, NOW) == Period(NOW, NOW + 2 * DAY)
    assert renewed_period(ended, NOW + DAY) == Period(NOW, NOW + 2 * DAY)
    choice = choose_order([ended], 3, NOW + DAY)
    assert choice.pick is not None and choice.pick.renew_to == Period(NOW, NOW + 2 * DAY)


def test_on_qty_fill_starts_a_new_period_when_the_sold_count_reaches_the_quantity() -> None:
    full = order(renewal=Renewal.On_Qty_Fill, sold=5, items=(ItemState(10, 5, None, 5),))
    assert renewed_period(full, NOW) == Period(NOW, NOW + 2 * DAY)
    pending = order(renewal=Renewal.On_Qty_Fill, sold=4, items=(ItemState(10, 5, None, 5),))
    assert renewed_period(pending, NOW) is None
    assert choose_order([pending], 3, NOW).pick is None


def test_no_renewal_never_moves_and_a_closed_order_never_renews() -> None:
    full = order(sold=5, items=(ItemState(10, 5, None, 5),))
    assert renewed_period(full, NOW) is None
    closed = order(status=OrderStatus.Closed, renewal=Renewal.On_End_Date, end=NOW - DAY / 2)
    assert renewed_period(closed, NOW) is None


# -- a lead pack's order takes only the leads meeting the pack's terms -------------------------


def state_is(value: str) -> OrderFilter:
    fields = {"state": FieldSpec(name="State", data_type=DataType.Varchar)}
    criteria = compile_criteria(
        [Criterion(CriterionType.FieldValue, "State", Operator.Equal, value)],
        fields,
    )
    return OrderFilter(order_id=1, pack_id=9, lead_category_id=0, criteria=criteria)


CTX = EvalContext(NOW, ZoneInfo("UTC"), lambda a, b: None)


def test_a_pack_filter_says_why_a_lead_does_not_fit() -> None:
    ca = state_is("CA")
    assert ca.refusal({"state": "CA"}, 0, CTX) == ""
    assert "lead pack 9" in ca.refusal({"state": "NY"}, 0, CTX)
    homes = replace(ca, lead_category_id=4)
    assert homes.refusal({"state": "CA"}, 4, CTX) == ""
    assert homes.refusal({"state": "CA"}, 0, CTX) == (
        "takes leads of category 4 only (lead pack 9); the lead has no category"
    )


def test_a_lead_fills_the_open_order_whose_pack_it_fits() -> None:
    pack = replace(order(1, end=NOW + DAY), filtered=True)
    plain = order(2, end=NOW + 2 * DAY)
    refuse = {1: "does not take the lead (criteria failed)"}
    choice = choose_order([pack, plain], 3, NOW, lambda order_id: refuse.get(order_id, ""))
    assert choice.pick is not None and choice.pick.order_id == 2
    fits = choose_order([pack, plain], 3, NOW, lambda order_id: "")
    assert fits.pick is not None and fits.pick.order_id == 1


def test_no_pack_order_fitting_says_so() -> None:
    pack = replace(order(1), filtered=True)
    choice = choose_order([pack], 3, NOW, lambda order_id: "does not take the lead (x)")
    assert choice.pick is None
    assert choice.reason == "no order takes the lead: order 1 does not take the lead (x)"
    # without a fit (a manual send) a pack's order takes nothing
    assert choose_order([pack], 3, NOW).pick is None
