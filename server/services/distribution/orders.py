"""The order a send counts against: a buyer's orders read under their locks, the one the
domain's rules choose (server/domain/sales/orders.py), renewed first when its period is over.
An order bought from a lead pack takes only the leads meeting the pack's terms, which the
buyer snapshot holds compiled (`order_fit`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from server.adapters import zip_codes
from server.domain.matching.criteria import EvalContext, Values
from server.domain.matching.eligibility import DeliveryAccountView
from server.domain.sales.orders import (
    FIT_NOT_LOADED,
    OrderFilter,
    OrderFit,
    OrderState,
    Pick,
    choose_order,
)
from server.storage import orders as order_store
from server.storage.database import Connection


def order_fit(
    filters: Mapping[int, OrderFilter],
    view: DeliveryAccountView,
    values: Values,
    lead_category_id: int,
    now: datetime,
) -> OrderFit:
    """Why each lead pack's order of this account's buyer does not take a lead ('' when it
    does): `values` keyed by casefolded field name, `lead_category_id` the lead's campaign's.
    Criteria are checked in the buyer's time zone, as the account's own are."""
    ctx = EvalContext(now, view.tz, zip_codes.distance_miles)

    def fit(order_id: int) -> str:
        found = filters.get(order_id)
        return FIT_NOT_LOADED if found is None else found.refusal(values, lead_category_id, ctx)

    return fit


async def take_order(
    conn: Connection,
    account_id: int,
    view: DeliveryAccountView,
    now: datetime,
    fit: OrderFit | None = None,
) -> tuple[Pick | None, str]:
    """The order a send to this account counts against, under the buyer's order locks,
    renewed first when its period is over; or None and why there is none. `fit`: whether a
    lead pack's order takes the lead (without it none does)."""
    choice = choose_order(await _locked_orders(conn, account_id, view.client_id), view.id, now, fit)
    pick = choice.pick
    if pick is None:
        return None, choice.reason
    return pick, await _renewed(conn, account_id, view, pick)


async def take_named_order(
    conn: Connection,
    account_id: int,
    view: DeliveryAccountView,
    now: datetime,
    *,
    order_id: int,
    uses_order: bool,
    fit: OrderFit | None = None,
) -> tuple[Pick | None, str]:
    """The order a manual send to this account counts against, under the buyer's order
    locks, renewed first when its period is over. Named (`order_id`): that order of the
    buyer, when it is open, current and has quantity left on an item the account may use;
    else, for an account using orders, the one the waterfall would take. Returns the pick
    and a note for the scan log, (None, '') when no order applies, or (None, why) when the
    send cannot be made."""
    if not order_id:
        if not uses_order:
            return None, ""
        pick, why = await take_order(conn, account_id, view, now, fit)
        if pick is None:
            return None, f"{view.label} takes leads only against orders: {why}"
        return pick, why
    orders = await _locked_orders(conn, account_id, view.client_id)
    named = [o for o in orders if o.id == order_id]
    if not named:
        return None, f"{view.client_name} has no order {order_id}"
    choice = choose_order(named, view.id, now, fit)
    pick = choice.pick
    if pick is None:
        return None, f"order {order_id} cannot take this send: {choice.reason}"
    return pick, await _renewed(conn, account_id, view, pick)


async def _locked_orders(conn: Connection, account_id: int, client_id: int) -> list[OrderState]:
    """A buyer's orders, locked so their quantities hold across processes."""
    await order_store.lock_client_orders(conn, account_id, client_id)
    states = await order_store.order_states(conn, account_id, [client_id])
    return states.get(client_id, [])


async def _renewed(conn: Connection, account_id: int, view: DeliveryAccountView, pick: Pick) -> str:
    """Move the picked order to its next period when its pick says so; the scan log's note
    of it, or '' when it needs none."""
    if pick.renew_to is None:
        return ""
    await order_store.renew(conn, account_id, pick.order_id, pick.renew_to)
    return (
        f"- order {pick.order_id} of {view.client_name} renewed: "
        f"{pick.renew_to.start:%Y-%m-%d %H:%M} to {pick.renew_to.end:%Y-%m-%d %H:%M} UTC"
    )
