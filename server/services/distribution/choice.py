"""The engine's choice of buyers for a lead not stored yet, reserved without delivering: what
an inbound ping runs (server/services/intake/ping.py).

The lead is scanned as a step scans a stored one (scan.py: status, schedules, criteria,
lists, orders, caps, max sell), priced by one function (`Pricer`), and reserved down the
waterfall in the engine's lock order: the lead type's rotation lock first when a rotation is
involved, then each capped delivery account's row lock with its caps counted again, then the
buyer's order locks. Round robin moves on as a send would move it. The caller stores the
reservations in the same transaction, and they count against the caps and orders from then
on (server/storage/ping_orders.py), so the choice is exact across processes.

The seam for the outbound auction: `Pricer` takes the eligible accounts in waterfall order
and answers, per account, a price or a refusal. `fixed_prices` prices every account as the
engine does (its delivery account's fixed price); an auction answers the bids, net of
margin, of the buyers that ping first and refuses those that decline or time out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from server.domain.caps import cap_reached, cap_windows
from server.domain.catalog.fields import Value
from server.domain.intake.ping import Offer, Priced, fixed_prices
from server.domain.matching.eligibility import DeliveryAccountView
from server.domain.matching.selection import Automation
from server.domain.sales.orders import Pick
from server.services.distribution.buyer_cache import Snapshot
from server.services.distribution.orders import take_order
from server.services.distribution.scan import rotating, scan
from server.storage import buyers as buyer_store
from server.storage import jobs as job_store
from server.storage import sends as send_store
from server.storage.database import Connection

# Prices the eligible accounts, in waterfall order: one answer per offer.
Pricer = Callable[[Sequence[Offer]], Awaitable[list[Priced]]]


async def fixed(offers: Sequence[Offer]) -> list[Priced]:
    """The engine's pricing today: every account at its fixed price."""
    return fixed_prices(offers)


@dataclass(frozen=True)
class Chosen:
    """A buyer's delivery account the choice reserved, at its price."""

    view: DeliveryAccountView
    price: Decimal
    pick: Pick | None  # the buyer's order item it counts on


@dataclass(frozen=True)
class Choice:
    chosen: list[Chosen]
    log: str  # the scan report and what reserving found, for the ping's log


async def choose(
    conn: Connection,
    account_id: int,
    lead_type_id: int,
    snapshot: Snapshot,
    values: Mapping[str, Value],
    max_sells: int,
    now: datetime,
    pricer: Pricer = fixed,
) -> Choice:
    """Scan, price and reserve up to `max_sells` buyers for these values, in the caller's
    transaction. Nothing is written but what a send would move too (the rotation's position,
    an order renewed into its next period); the caller stores the reservations."""
    if any(rotating(v) for v in snapshot.views):
        await job_store.lock_rotation(conn, account_id, lead_type_id)
    found = await scan(conn, account_id, 0, snapshot, values, max_sells, now, held=())
    ranked = found.ranked
    offers = [Offer(e.view.id, e.view.client_id, e.view.price) for e in ranked]
    prices = {p.delivery_account_id: p for p in await pricer(offers)}
    notes = [found.report.replace("Scan of lead 0", "Scan of the ping", 1)]
    chosen: list[Chosen] = []
    taken_clients: set[int] = set()
    need = max(max_sells, 1)
    for entry in ranked:
        if len(chosen) >= need:
            break
        view = entry.view
        if view.client_id in taken_clients and not view.use_tiers:
            continue
        priced = prices.get(view.id)
        if priced is None or priced.refused:
            why = priced.refused if priced else "no price"
            notes.append(f"- {view.label}: passed over: {why}")
            continue
        if view.caps.any:
            await buyer_store.lock_for_send(conn, account_id, view.id)
            counts = await send_store.cap_counts(
                conn, account_id, [(view.id, cap_windows(view.tz, now))]
            )
            over = cap_reached(view.caps, counts[view.id])
            if over:
                notes.append(f"- {view.label}: passed over when reserving: {over}")
                continue
        pick = None
        if view.id in snapshot.use_order:
            pick, why = await take_order(conn, account_id, view, now)
            if pick is None:
                notes.append(f"- {view.label}: passed over when reserving: {why}")
                continue
            if why:
                notes.append(why)
        if Automation.RoundRobin in (view.automation, view.secondary):
            await buyer_store.advance_rotation(conn, account_id, view.client_id)
        chosen.append(Chosen(view, priced.price, pick))
        taken_clients.add(view.client_id)
        notes.append(f"- {view.label}: reserved at {priced.price:.2f}")
    return Choice(chosen, "\n".join(notes))
