"""The engine's choice of buyers for a lead not stored yet, reserved without delivering: what
an inbound ping runs (server/services/intake/ping.py).

The lead is scanned as a step scans a stored one (scan.py: status, schedules, criteria,
lists, orders, caps, max sell) and reserved in the engine's lock order: the lead type's
rotation lock first when a rotation is involved, then each capped delivery account's row
lock with its caps counted again, then the buyer's order locks. Round robin moves on as a
send would move it. The caller stores the reservations in the same transaction, and they
count against the caps and orders from then on (server/storage/ping_orders.py), so the
choice is exact across processes.

Without an auction the accounts are reserved down the waterfall at their fixed prices. When
an eligible buyer pings first, the caller runs the lead's auction between two transactions
(`bidders` in the first, `Distributor.auctions.run` with no transaction open, `choose` in the
second): the second scan's eligible accounts are then reserved in the auction's rank order
(winners, then standbys in place of a winner no longer eligible), each at its net price with
its ping reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from server.domain.caps import cap_reached, cap_windows
from server.domain.catalog.fields import Value
from server.domain.matching.eligibility import DeliveryAccountView
from server.domain.matching.selection import Automation
from server.domain.sales.orders import Pick
from server.services.distribution.auction import Auctioned, Entrant
from server.services.distribution.buyer_cache import Snapshot
from server.services.distribution.orders import order_fit, take_order
from server.services.distribution.scan import Scan, rotating, scan
from server.storage import buyers as buyer_store
from server.storage import jobs as job_store
from server.storage import sends as send_store
from server.storage.database import Connection


@dataclass(frozen=True)
class Bidding:
    """A ping's auction to run: its entrants (every eligible account, pinging or not) and
    what the Percentage tie-break needs."""

    entrants: list[Entrant]
    total_served: int


async def bidders(
    conn: Connection,
    account_id: int,
    snapshot: Snapshot,
    values: Mapping[str, Value],
    max_sells: int,
    now: datetime,
    lead_category_id: int = 0,
) -> Bidding | None:
    """The auction's entrants for these values when an eligible account's method pings;
    None: no auction (the choice is the waterfall's)."""
    if not snapshot.pings:
        return None
    found = await _scan_ping(conn, account_id, snapshot, values, max_sells, now, lead_category_id)
    ranked = found.ranked
    if not any(e.view.delivery.ping is not None for e in ranked):
        return None
    entrants = [Entrant(e.view, found.candidates[e.view.id]) for e in ranked]
    return Bidding(entrants, found.total_served)


async def _scan_ping(
    conn: Connection,
    account_id: int,
    snapshot: Snapshot,
    values: Mapping[str, Value],
    max_sells: int,
    now: datetime,
    lead_category_id: int,
) -> Scan:
    """The scan of a ping's values: no lead yet (id 0), nothing of it held."""
    return await scan(
        conn,
        account_id,
        0,
        snapshot,
        values,
        max_sells,
        now,
        held=(),
        lead_category_id=lead_category_id,
    )


@dataclass(frozen=True)
class Chosen:
    """A buyer's delivery account the choice reserved, at its price."""

    view: DeliveryAccountView
    price: Decimal
    pick: Pick | None  # the buyer's order item it counts on
    reference: str = ""  # its ping reference, when the auction priced it


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
    auctioned: Auctioned | None = None,
    lead_category_id: int = 0,
) -> Choice:
    """Scan and reserve up to `max_sells` buyers for these values, in the caller's
    transaction: down the waterfall at their fixed prices, or in `auctioned`'s rank order at
    its net prices. Nothing is written but what a send would move too (the rotation's
    position, an order renewed into its next period); the caller stores the reservations.
    `lead_category_id`: the ping's campaign's, which a lead pack's order may ask for."""
    if any(rotating(v) for v in snapshot.views):
        await job_store.lock_rotation(conn, account_id, lead_type_id)
    found = await _scan_ping(conn, account_id, snapshot, values, max_sells, now, lead_category_id)
    folded = {name.casefold(): value for name, value in values.items()}
    notes = [found.report.replace("Scan of lead 0", "Scan of the ping", 1)]
    eligible = {e.view.id: e.view for e in found.ranked}
    order: list[tuple[DeliveryAccountView, Decimal, str]]
    if auctioned is None:
        order = [(e.view, e.view.price, "") for e in found.ranked]
    else:
        order = []
        for lot in auctioned.result.ranked:
            view = eligible.get(lot.account_id)
            if view is None:
                notes.append(f"- {lot.bidder.label}: passed over: no longer eligible")
            elif lot.net is not None:
                order.append((view, lot.net, lot.reference))
    chosen: list[Chosen] = []
    taken_clients: set[int] = set()
    need = max(max_sells, 1)
    for view, price, reference in order:
        if len(chosen) >= need:
            break
        if view.client_id in taken_clients and not view.use_tiers:
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
            fit = order_fit(snapshot.order_filters, view, folded, lead_category_id, now)
            pick, why = await take_order(conn, account_id, view, now, fit)
            if pick is None:
                notes.append(f"- {view.label}: passed over when reserving: {why}")
                continue
            if why:
                notes.append(why)
        if Automation.RoundRobin in (view.automation, view.secondary):
            await buyer_store.advance_rotation(conn, account_id, view.client_id)
        chosen.append(Chosen(view, price, pick, reference))
        taken_clients.add(view.client_id)
        notes.append(f"- {view.label}: reserved at {price:.2f}")
    return Choice(chosen, "\n".join(notes))
