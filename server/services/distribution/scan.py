"""The scan: where a lead would go now and why. Every delivery account of the lead type is
screened (status, automation, schedule, criteria), then checked against what needs the
database (the account types the lead sells to, distribution lists, orders, caps, earlier
sales, a prepaid buyer's balance), and the eligible ones are put in the order their buyers'
automation gives (server/domain/matching/selection.py). A step plans its lead's waterfall
from it; the read-only operations (GetClientsForLead, DryRun) show it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from server.adapters import zip_codes
from server.domain.billing.ledger import billing_hold, cents
from server.domain.buyers.specs import AccountType
from server.domain.caps import NOTHING_COUNTED, cap_reached, cap_windows
from server.domain.catalog.fields import Value
from server.domain.intake.offers import NO_CONSENT
from server.domain.matching.criteria import EvalContext
from server.domain.matching.eligibility import DeliveryAccountView, ScanEntry, scan_report
from server.domain.matching.lists import excluded_by, restrictions
from server.domain.matching.selection import (
    Automation,
    Candidate,
    explain_order,
    order_candidates,
    plan_waterfall,
)
from server.domain.sales.operations import HeldSend
from server.domain.sales.orders import Pick, choose_order
from server.services.distribution.buyer_cache import Snapshot
from server.services.distribution.orders import order_fit
from server.storage import buyers as buyer_store
from server.storage import ledger as ledger_store
from server.storage import orders as order_store
from server.storage import sends as send_store
from server.storage.database import Connection

ROTATING = frozenset({Automation.RoundRobin, Automation.Weighted, Automation.Percentage})
UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class Scan:
    lead_id: int
    entries: list[ScanEntry]
    max_sells: int
    report: str
    orders: dict[int, Pick]  # delivery account -> the order and item a send would count on
    candidates: dict[int, Candidate]  # delivery account -> as ordered (ranked accounts only)
    total_served: int  # leads served through the share window (the Percentage key)

    @property
    def ranked(self) -> list[ScanEntry]:
        return sorted((e for e in self.entries if e.rank), key=lambda e: e.rank)


def context(now: datetime) -> EvalContext:
    """What criteria are evaluated against: the moment, and ZIP code distances."""
    return EvalContext(now, UTC_ZONE, zip_codes.distance_miles, zip_codes.location)


def rotating(view: DeliveryAccountView) -> bool:
    return view.automation in ROTATING or view.secondary in ROTATING


async def scan(
    conn: Connection,
    account_id: int,
    lead_id: int,
    snapshot: Snapshot,
    values: Mapping[str, Value],
    max_sells: int,
    now: datetime,
    *,
    automated_only: bool = True,
    allow_over_max: bool = False,
    account_types: frozenset[AccountType] | None = None,
    held: Sequence[HeldSend] | None = None,
    consented: frozenset[int] | None = None,
    lead_category_id: int = 0,
) -> Scan:
    """Screen, check and order every account for a lead; `held` are the lead's sends that
    hold or made a sale when the caller read them already (`lead_id` 0: no lead, none).
    `consented`: a 1-to-1 lead's accounts whose offer was chosen with consent; the others
    are passed over. `lead_category_id`: the lead's (its campaign's; 0 none), which a lead
    pack's order may ask for."""
    folded = {name.casefold(): value for name, value in values.items()}
    screening = snapshot.index.screen(folded, context(now), automated_only=automated_only)
    passed_over: dict[int, str] = {}
    names = snapshot.client_names
    limits = restrictions(snapshot.lists, folded, names)
    for view in screening.passing:
        if consented is not None and view.id not in consented:
            passed_over[view.id] = NO_CONSENT
        elif account_types is not None and view.account_type not in account_types:
            takes = " or ".join(t.name for t in sorted(account_types))
            passed_over[view.id] = (
                f"a {view.account_type.name} account; this lead was posted for {takes} "
                "accounts only"
            )
        elif limits:
            why = excluded_by(limits, view.client_id)
            if why:
                passed_over[view.id] = why
    passing = [v for v in screening.passing if v.id not in passed_over]
    picks: dict[int, Pick] = {}
    by_order = [v for v in passing if v.id in snapshot.use_order]
    if by_order:
        clients = sorted({v.client_id for v in by_order})
        orders = await order_store.order_states(conn, account_id, clients)
        for view in by_order:
            fit = order_fit(snapshot.order_filters, view, folded, lead_category_id, now)
            choice = choose_order(orders.get(view.client_id, []), view.id, now, fit)
            if choice.pick is None:
                passed_over[view.id] = choice.reason
            else:
                picks[view.id] = choice.pick
        passing = [v for v in passing if v.id not in passed_over]
    if held is None and lead_id:
        held = await send_store.held(conn, account_id, lead_id)
    sold_clients = {s.client_id for s in held or ()}
    capped = [(v.id, cap_windows(v.tz, now)) for v in passing if v.caps.any]
    counts = await send_store.cap_counts(conn, account_id, capped)
    for view in passing:
        over = cap_reached(view.caps, counts.get(view.id, NOTHING_COUNTED))
        if over:
            passed_over[view.id] = over
        elif view.client_id in sold_clients:
            passed_over[view.id] = "already sold to this buyer"
    eligible = [v for v in passing if v.id not in passed_over]
    checked = [
        v
        for v in eligible
        if (v.client_id in snapshot.prepaid or v.client_id in snapshot.held)
        and not _paid_by_pack(picks.get(v.id), snapshot)
    ]
    if checked:  # a prepaid buyer's balance must cover the lead (checked again at send time)
        prepaid = sorted({v.client_id for v in checked if v.client_id in snapshot.prepaid})
        available = await ledger_store.prepaid_available(conn, account_id, prepaid)
        for view in checked:
            funds = available.get(view.client_id)
            why = billing_hold(
                paid_by_pack=False,
                held=view.client_id in snapshot.held,
                available=None if funds is None else funds.available,
                price=cents(view.price),
                stop_at_zero=funds is None or funds.stop_at_zero,
            )
            if why:
                passed_over[view.id] = why
        eligible = [v for v in eligible if v.id not in passed_over]
    rotating_clients = sorted({v.client_id for v in eligible if rotating(v)})
    states = await buyer_store.rotation_states(conn, account_id, rotating_clients)
    candidates = [v.candidate(*states.get(v.client_id, (None, 0))) for v in eligible]
    total = sum(states.get(c, (None, 0))[1] for c in {v.client_id for v in eligible})
    ordered = order_candidates(candidates, total)
    if not allow_over_max:
        ordered = plan_waterfall(ordered, max_sells, sold_clients)
    ranked = explain_order(ordered, names, total)
    rank_of = {c.account_id: i for i, c in enumerate(ordered, start=1)}
    for view in eligible:
        if view.id not in rank_of:
            passed_over[view.id] = "the lead's max sell count is reached"
    entries = [
        ScanEntry(
            view,
            rank_of.get(view.id, 0),
            reason or passed_over.get(view.id) or ranked[rank_of[view.id] - 1],
        )
        for view, reason in zip(screening.views, screening.reasons(), strict=True)
    ]
    report = scan_report(lead_id, now, max_sells, entries)
    kept = {c.account_id: c for c in ordered}
    return Scan(lead_id, entries, max_sells, report, picks, kept, total)


def _paid_by_pack(pick: Pick | None, snapshot: Snapshot) -> bool:
    """Whether a send against this order pick fills a lead pack's order (paid for with it)."""
    return pick is not None and pick.order_id in snapshot.pack_orders
