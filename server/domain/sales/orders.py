"""Buyers' orders: a quantity of leads over a period, split into items, with renewal.

A delivery account that uses orders takes a lead only against an open order of its buyer
whose current period covers now and that has quantity left on an item the account may use.
An order counts the sends made against it in its current period (scheduled, in flight and
sold, like caps; a rejected or failed send frees its place again), so the count stays exact
under the order's row lock.

An order bought from a lead pack carries the pack's terms as they were bought (`OrderFilter`:
its criteria and lead category); it takes only the leads that meet them.

Renewal moves the period instead of copying the order, so the order keeps its id and key:
- No_Renewal: one period, from start to end; a filled or ended order takes no more leads.
- On_End_Date: when the period ends the next one starts where it ended, lasting as long.
- On_Qty_Fill: when the period's sold count reaches the quantity, a new period starts then,
  lasting as long as the order's start-to-end span.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from server.domain.matching.criteria import CompiledCriteria, EvalContext, Values
from server.errors import Violation


class OrderStatus(enum.IntEnum):
    """LeadExec OrderStatus (named on the wire; the numbers are this project's)."""

    Unspecified = 0
    Open = 1
    Closed = 2
    OnHold = 3


class Renewal(enum.IntEnum):
    """LeadExec OrderRenewal."""

    No_Renewal = 0
    On_End_Date = 1
    On_Qty_Fill = 2


@dataclass(frozen=True)
class OrderItemSpec:
    key: str | None
    description: str
    quantity: int
    account_key: str = ""  # the delivery account the item is for; '' = any of the buyer's


@dataclass(frozen=True)
class OrderSpec:
    key: str | None
    start: datetime
    end: datetime
    status: OrderStatus
    renewal: Renewal
    auto_charge: bool
    items: tuple[OrderItemSpec, ...]

    @property
    def quantity(self) -> int:
        return sum(i.quantity for i in self.items)


def validate_order(spec: OrderSpec, path: str) -> list[Violation]:
    problems: list[Violation] = []
    if spec.start.tzinfo is None or spec.end.tzinfo is None:
        problems.append(Violation(path, "start and end need a time zone"))
    elif spec.end <= spec.start:
        problems.append(Violation(f"{path}.end", "must be after start"))
    if not spec.items:
        problems.append(Violation(f"{path}.items", "an order needs at least one item"))
    for index, item in enumerate(spec.items):
        if item.quantity < 1:
            problems.append(Violation(f"{path}.items[{index}].quantity", "must be 1 or more"))
    return problems


# -- orders as stored, and as edited by id -----------------------------------------------------


@dataclass(frozen=True)
class StoredOrderItem:
    """An order's item as stored, with the sends counted against it in the order's period."""

    id: int
    key: str | None
    description: str
    quantity: int
    delivery_account_id: int | None  # None = any of the buyer's delivery accounts
    held: int  # sends in the current period: scheduled, in flight and sold
    sold: int  # sold sends in the current period


@dataclass(frozen=True)
class StoredOrder:
    """A buyer's order as stored: as configured, its current period, and its items."""

    id: int
    client_id: int
    key: str | None
    start: datetime  # as configured
    end: datetime
    status: OrderStatus
    renewal: Renewal
    auto_charge: bool
    period_start: datetime
    period_end: datetime
    renewals: int
    items: tuple[StoredOrderItem, ...]
    filtered: bool = False  # bought from a lead pack: takes only leads meeting its terms


@dataclass(frozen=True)
class OrderItemEdit:
    """An order's item as an edit by id gives it."""

    id: int  # 0 = a new item
    key: str | None
    description: str
    quantity: int
    delivery_account_id: int  # the buyer's delivery account it is for; 0 = any


@dataclass(frozen=True)
class OrderEdit:
    """An order as an edit by id gives it, with its complete item list."""

    id: int
    client_id: int
    key: str | None
    start: datetime | None  # None when not given (refused)
    end: datetime | None
    status: OrderStatus
    renewal: Renewal
    auto_charge: bool
    items: tuple[OrderItemEdit, ...]

    def spec(self) -> OrderSpec:
        """The order as config as code validates it; a missing date is replaced by one that
        raises no second complaint."""
        start = self.start or (self.end - timedelta(seconds=1) if self.end else _EPOCH)
        end = self.end or start + timedelta(seconds=1)
        return OrderSpec(
            key=self.key,
            start=start,
            end=end,
            status=self.status,
            renewal=self.renewal,
            auto_charge=self.auto_charge,
            items=tuple(
                OrderItemSpec(i.key, i.description, i.quantity, str(i.delivery_account_id or ""))
                for i in self.items
            ),
        )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# -- the state the engine reads under the order's lock ----------------------------------------


@dataclass(frozen=True)
class ItemState:
    id: int
    quantity: int
    delivery_account_id: int | None  # None = any of the buyer's delivery accounts using orders
    held: int  # sends in the current period: scheduled, in flight and sold


@dataclass(frozen=True)
class OrderState:
    id: int
    client_id: int
    status: OrderStatus
    renewal: Renewal
    start: datetime  # as configured
    end: datetime
    period_start: datetime
    period_end: datetime
    sold: int  # sold sends in the current period
    items: tuple[ItemState, ...]
    filtered: bool = False  # bought from a lead pack: takes only leads meeting its terms

    @property
    def quantity(self) -> int:
        return sum(i.quantity for i in self.items)

    @property
    def held(self) -> int:
        return sum(i.held for i in self.items)


def order_state(stored: StoredOrder) -> OrderState:
    """A stored order as the rules choosing one read it."""
    return OrderState(
        id=stored.id,
        client_id=stored.client_id,
        status=stored.status,
        renewal=stored.renewal,
        start=stored.start,
        end=stored.end,
        period_start=stored.period_start,
        period_end=stored.period_end,
        sold=sum(i.sold for i in stored.items),
        items=tuple(
            ItemState(i.id, i.quantity, i.delivery_account_id, i.held) for i in stored.items
        ),
        filtered=stored.filtered,
    )


# -- a lead pack's terms on the order bought from it ----------------------------------------


@dataclass(frozen=True)
class OrderFilter:
    """The leads an order bought from a lead pack takes: the pack's criteria (compiled) and
    lead category as they were when it was bought."""

    order_id: int
    pack_id: int
    lead_category_id: int  # 0: any
    criteria: CompiledCriteria

    def refusal(self, values: Values, lead_category_id: int, ctx: EvalContext) -> str:
        """Why the order does not take this lead ('' when it does); `values` keyed by
        casefolded field name, `lead_category_id` the lead's (its campaign's; 0: none)."""
        if self.lead_category_id and lead_category_id != self.lead_category_id:
            got = f"category {lead_category_id}" if lead_category_id else "no category"
            return (
                f"takes leads of category {self.lead_category_id} only "
                f"(lead pack {self.pack_id}); the lead has {got}"
            )
        verdict = self.criteria.check(values, ctx)
        if not verdict.passed:
            return (
                f"does not take the lead (lead pack {self.pack_id}'s criteria failed: "
                f"{verdict.reason})"
            )
        return ""


# Why a filtered order does not take the lead at hand ('' when it does), by order id.
OrderFit = Callable[[int], str]
FIT_NOT_LOADED = "carries a lead pack's terms this process has not loaded yet"
PACK_ORDER_ENGINE_ONLY = "is a lead pack's order, which only the engine fills"


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime


def renewed_period(order: OrderState, now: datetime) -> Period | None:
    """The period an order moves to now, or None when it stays where it is."""
    span = order.end - order.start
    if order.status is not OrderStatus.Open or span.total_seconds() <= 0:
        return None
    if order.renewal is Renewal.On_End_Date and now >= order.period_end:
        passed = (now - order.period_end) // span + 1
        start = order.period_end + span * (passed - 1)
        return Period(start, start + span)
    if order.renewal is Renewal.On_Qty_Fill and order.quantity and order.sold >= order.quantity:
        return Period(now, now + span)
    return None


@dataclass(frozen=True)
class Pick:
    order_id: int
    item_id: int
    renew_to: Period | None  # the period the order must move to before this send


@dataclass(frozen=True)
class OrderChoice:
    pick: Pick | None
    reason: str  # why there is no pick ('' when there is one)


def choose_order(
    orders: Sequence[OrderState],
    delivery_account_id: int,
    now: datetime,
    fit: OrderFit | None = None,
) -> OrderChoice:
    """The order and item a send to this delivery account counts against: the open order
    whose period ends first that takes the lead (`fit` says why a lead pack's order does
    not; without it, as for a manual send, such an order takes no lead), its first item for
    this account with quantity left."""
    if not orders:
        return OrderChoice(None, "uses orders and its buyer has no open order")
    reasons: list[str] = []
    refusals = 0
    ranked = sorted(orders, key=lambda o: (o.period_end, o.id))
    for order in ranked:
        if order.status is not OrderStatus.Open:
            reasons.append(f"order {order.id} is {order.status.name}")
            continue
        renew_to = renewed_period(order, now)
        start = renew_to.start if renew_to else order.period_start
        end = renew_to.end if renew_to else order.period_end
        if now < start:
            reasons.append(f"order {order.id} starts {start:%Y-%m-%d %H:%M} UTC")
            continue
        if now >= end:
            reasons.append(f"order {order.id} ended {end:%Y-%m-%d %H:%M} UTC")
            continue
        if order.filtered:
            refused = fit(order.id) if fit is not None else PACK_ORDER_ENGINE_ONLY
            if refused:
                reasons.append(f"order {order.id} {refused}")
                refusals += 1
                continue
        for item in order.items:
            if item.delivery_account_id not in (None, delivery_account_id):
                continue
            held = 0 if renew_to else item.held
            if held < item.quantity:
                return OrderChoice(Pick(order.id, item.id, renew_to), "")
        sold = 0 if renew_to else order.sold
        reasons.append(
            f"order {order.id} is full ({sold} sold, "
            f"{(0 if renew_to else order.held) - sold} pending, of {order.quantity})"
        )
    lead = "no order takes the lead" if refusals else "no order with quantity left"
    return OrderChoice(None, f"{lead}: " + "; ".join(reasons))
