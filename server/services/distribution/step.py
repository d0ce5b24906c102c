"""One step of a lead's waterfall, in one transaction.

The first step scans the lead (server/services/distribution/scan.py), stores the eligible
accounts in waterfall order as the job's plan and writes the scan log; rotation-based
automations take a per-lead-type lock for it, so round robin and shares stay exact across
processes. Each step then reserves as many sends down the plan as the lead still needs (its
max sell count less the sales made and the sends outstanding), taking each capped delivery
account's row lock and counting its caps again, so caps hold exactly across processes; an
account using orders takes its order under the buyer's order locks; then a prepaid buyer's
send, unless it fills a lead pack's order, is checked under its balance row's lock against
its balance less its sends under way, and a buyer a declined auto-charge holds is passed
over (docs/billing.md). A reserved send counts against the caps until the buyer rejects it or it
fails. The sends, the job's new state and
the step's scan log entries are written by one statement.

A lead whose eligible buyers include one whose delivery method pings is auctioned before its
plan is made (docs/ping_post.md): a first transaction scans it and commits holding the job's
lease; the buyers are pinged outside any transaction (auction.py); a second transaction scans
again and plans the auction's winners, then its standbys, each at its net price with its ping
reference, standbys only while the auction is fresh. A process that dies between the two
leaves the job leased and unplanned: the process that takes it over auctions it again, and
no send exists yet to sell twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from server.domain.billing.ledger import billing_hold, cents
from server.domain.caps import cap_reached, cap_windows
from server.domain.catalog.fields import Value
from server.domain.intake.call_data import screening_values
from server.domain.intake.offers import NO_CONSENT
from server.domain.matching.eligibility import DeliveryAccountView
from server.domain.matching.selection import Automation
from server.domain.sales.auction import AuctionSettings
from server.domain.sales.operations import HeldSend
from server.domain.sales.orders import Pick
from server.domain.sales.sends import SendStatus
from server.errors import RolledBack
from server.services.distribution.auction import Auctioned, Auctions, Entrant
from server.services.distribution.buyer_cache import BuyerCache, Snapshot
from server.services.distribution.orders import order_fit, take_order
from server.services.distribution.scan import Scan, context, rotating, scan
from server.storage import auctions as auction_store
from server.storage import buyers as buyer_store
from server.storage import jobs as job_store
from server.storage import ledger as ledger_store
from server.storage import sends as send_store
from server.storage.database import Connection, Pool, transaction

log = logging.getLogger(__name__)

STEP_ATTEMPTS = 3  # a step PostgreSQL rolled back to break a lock cycle is taken again


@dataclass(frozen=True)
class Reserved:
    """A send this process holds in flight, with what delivering it needs."""

    id: int
    lead_id: int
    view: DeliveryAccountView
    price: Decimal
    attempts: int
    fields: Mapping[str, Value]
    ping_reference: str = ""


@dataclass(frozen=True)
class _AuctionDue:
    """A lead to auction before its plan is made: what the auction needs, read by the first
    transaction."""

    entrants: list[Entrant]
    settings: AuctionSettings
    max_sells: int
    total_served: int
    fields: Mapping[str, Value]


@dataclass(frozen=True)
class ReservedBuyer:
    """A buyer a ping's order reserved for the lead posted with it."""

    client_id: int
    delivery_account_id: int
    price: Decimal
    order_id: int | None
    order_item_id: int | None
    reference: str = ""  # its ping reference, when the ping's auction priced it


@dataclass(frozen=True)
class NewJob:
    """A lead's distribution job as the transaction accepting the lead just wrote it, with
    what its first step needs (`Steps.first`)."""

    account_id: int
    lead_id: int
    lead_type_id: int
    fields: Mapping[str, Value]
    call_data: Mapping[str, Value]
    max_sells: int
    account_types: Sequence[int] | None
    now: datetime  # the transaction's clock
    buyer_version: int
    consented: frozenset[int] | None = None  # 1-to-1: the accounts it may go to
    lead_category_id: int = 0  # its campaign's (0: none)


@dataclass(frozen=True)
class _Pending:
    """A send a step decided on, not yet inserted; `note_at` is where its "scheduled" note
    goes in the step's notes when it is delayed."""

    view: DeliveryAccountView
    pick: Pick | None
    note_at: int
    price: Decimal
    reference: str = ""

    @property
    def status(self) -> SendStatus:
        delayed = self.view.delivery_delay_seconds > 0
        return SendStatus.SCHEDULED if delayed else SendStatus.IN_FLIGHT


class Steps:
    """Takes waterfall steps for the engine of one process."""

    def __init__(
        self,
        pool: Pool,
        cache: BuyerCache,
        lease_seconds: float,
        auctions: Auctions | None = None,
    ) -> None:
        """`auctions`: runs the auctions of leads whose buyers ping (None: no buyer is
        pinged; their methods post as any other)."""
        self._pool = pool
        self._cache = cache
        self._lease_seconds = lease_seconds
        self._auctions = auctions

    def send_lease_seconds(self, view: DeliveryAccountView) -> float:
        """How long a send to this account, reserved in flight, is held before another
        process takes it over: its delivery timeout plus the lease margin."""
        return view.delivery.timeout_seconds + self._lease_seconds

    async def take(self, account_id: int, lead_id: int, *, lease: bool) -> list[Reserved]:
        """One step of the lead's waterfall; the sends to deliver now. `lease`: lease the job
        first (no step when it is not due or another process holds it); else the caller holds
        its lease. A step PostgreSQL rolled back to break a lock cycle between two walkers
        (their waterfalls lock the same accounts in other orders) is taken again."""
        auctioned: Auctioned | None = None
        for attempt in range(1, STEP_ATTEMPTS + 1):
            try:
                taken = await self._take(account_id, lead_id, lease=lease, auctioned=auctioned)
                if isinstance(taken, _AuctionDue):
                    assert self._auctions is not None
                    auctioned = await self._auctions.run(
                        lead_id,
                        taken.fields,
                        taken.entrants,
                        taken.settings,
                        taken.max_sells,
                        taken.total_served,
                    )
                    lease = False  # the first transaction leased the job
                    taken = await self._take(account_id, lead_id, lease=False, auctioned=auctioned)
                assert not isinstance(taken, _AuctionDue)
                return taken
            except RolledBack:
                if attempt == STEP_ATTEMPTS:
                    raise
                log.info("lead %s: step rolled back by a deadlock; taking it again", lead_id)
        return []

    async def _take(
        self, account_id: int, lead_id: int, *, lease: bool, auctioned: Auctioned | None
    ) -> list[Reserved] | _AuctionDue:
        async with transaction(self._pool) as conn:
            if lease:
                job = await job_store.claim(conn, account_id, lead_id, self._lease_seconds)
            else:
                job = await job_store.lock(conn, account_id, lead_id)
            if job is None or job.state == "done":
                return []
            snapshot = await self._cache.snapshot(
                conn, account_id, job.lead_type_id, job.buyer_version
            )
            held = await send_store.held(conn, account_id, lead_id)
            if job.plan is None and auctioned is None and snapshot.pings and self._auctions:
                due = await self._auction_due(conn, account_id, lead_id, snapshot, job, held)
                if due is not None:
                    return due  # committed with the job's lease held
            return await self._advance(conn, account_id, lead_id, snapshot, job, held, auctioned)

    async def _auction_due(
        self,
        conn: Connection,
        account_id: int,
        lead_id: int,
        snapshot: Snapshot,
        job: job_store.Job,
        held: Sequence[HeldSend],
    ) -> _AuctionDue | None:
        """What the lead's auction needs, when an eligible buyer pings; else None."""
        # a 1-to-1 lead pings only the buyers it may go to (the job's consent)
        found = await _scan_job(conn, account_id, lead_id, snapshot, job, held)
        ranked = found.ranked
        if not any(e.view.delivery.ping is not None for e in ranked):
            return None
        entrants = [Entrant(e.view, found.candidates[e.view.id]) for e in ranked]
        settings = await auction_store.for_lead(conn, account_id, lead_id)
        sold = len({s.client_id for s in held if s.status is SendStatus.SOLD})
        return _AuctionDue(
            entrants, settings, max(job.max_sells, 1) - sold, found.total_served, job.fields
        )

    async def first(self, conn: Connection, new: NewJob) -> list[Reserved] | None:
        """The first step of a just-stored lead's waterfall, in the transaction that accepts
        it (the caller's), so its deliveries are decided and committed with the lead; the
        sends to deliver once it commits. None, with nothing written, when the lead type's
        buyers are not compiled at the account's buyer version yet: compiling may take
        seconds, which the post should not wait for; or when one of them pings, since an
        auction waits on buyers; its walk takes the step."""
        snapshot = self._cache.cached(new.account_id, new.lead_type_id, new.buyer_version)
        if snapshot is None or (snapshot.pings and self._auctions is not None):
            return None  # an auction pings buyers: never inside the lead's transaction
        job = _new_job(new)
        return await self._advance(conn, new.account_id, new.lead_id, snapshot, job, ())

    async def first_reserved(
        self, conn: Connection, new: NewJob, reserved: Sequence[ReservedBuyer]
    ) -> list[Reserved]:
        """The first and only plan of a lead posted with a ping's order, in the transaction
        that accepts it: a send to each buyer the order reserved, at its reserved price and on
        its reserved order item, in the order's order; nothing else is tried after them (the
        plan is the reservations, its position past them). The caller held the reservations
        under the accounts' locks, so caps and orders are not counted again. The lead type's
        buyers are compiled here when this process has not yet (the ping compiled them, in
        some process)."""
        snapshot = await self._cache.snapshot(
            conn, new.account_id, new.lead_type_id, new.buyer_version
        )
        job = _new_job(new)
        notes = [f"Lead {new.lead_id} posted with a ping's order: its reserved buyers"]
        pending: list[_Pending] = []
        for buyer in reserved:
            view = snapshot.by_id.get(buyer.delivery_account_id)
            if view is None:
                notes.append(f"- account {buyer.delivery_account_id}: passed over: removed")
                continue
            if new.consented is not None and view.id not in new.consented:
                notes.append(f"- {view.label}: passed over: {NO_CONSENT}")
                continue
            pick = None
            if buyer.order_id is not None and buyer.order_item_id is not None:
                pick = Pick(buyer.order_id, buyer.order_item_id, None)
            pending.append(_Pending(view, pick, len(notes), buyer.price, buyer.reference))
            notes.append(
                f"- {view.label}: reserved at {buyer.price:.2f}"
                + ("" if view.delivery_delay_seconds <= 0 else " (scheduled)")
            )
        plan = [
            job_store.PlanEntry(b.delivery_account_id, b.client_id, b.price, b.reference)
            for b in reserved
        ]
        state = "waiting" if pending else "done"
        after = job_store.JobAfter(state, plan, len(plan), ["\n".join(notes)])
        return await self._write(conn, new.account_id, new.lead_id, job, pending, notes, after)

    async def _advance(
        self,
        conn: Connection,
        account_id: int,
        lead_id: int,
        snapshot: Snapshot,
        job: job_store.Job,
        held: Sequence[HeldSend],
        auctioned: Auctioned | None = None,
    ) -> list[Reserved]:
        """Plan the job if it has no plan yet (scan, order, scan log), reserve the sends it
        needs next and save it; the sends to deliver now. `held`: the lead's sends that hold
        or made a sale; `auctioned`: the lead's auction, which orders and prices the plan."""
        plan = job.plan
        logs: list[str] = []
        if plan is None:
            if any(rotating(v) for v in snapshot.views):
                await job_store.lock_rotation(conn, account_id, job.lead_type_id)
            found = await _scan_job(conn, account_id, lead_id, snapshot, job, held)
            plan = [job_store.PlanEntry(e.view.id, e.view.client_id) for e in found.ranked]
            logs.append(found.report)
            if auctioned is not None:
                plan = _auction_plan(auctioned, {e.view.id for e in found.ranked}, job.now)
                logs.append(auctioned.report())
        to_deliver, pending, cursor_at, outstanding, notes = await self._reserve(
            conn, account_id, lead_id, snapshot, job, plan, held
        )
        if any(p.status is SendStatus.SCHEDULED for p in pending):  # their notes name their ids
            to_deliver += await self._write(conn, account_id, lead_id, job, pending, notes)
            pending = []
        logs.append("\n".join(notes))
        after = job_store.JobAfter("waiting" if outstanding else "done", plan, cursor_at, logs)
        to_deliver += await self._write(conn, account_id, lead_id, job, pending, notes, after)
        return to_deliver

    async def _reserve(
        self,
        conn: Connection,
        account_id: int,
        lead_id: int,
        snapshot: Snapshot,
        job: job_store.Job,
        plan: Sequence[job_store.PlanEntry],
        held: Sequence[HeldSend],
    ) -> tuple[list[Reserved], list[_Pending], int, int, list[str]]:
        """Reserve sends down the plan until the lead has what it needs: the sends inserted
        and to deliver now, those decided and left for the caller to insert, the plan position
        reached, the sends outstanding, and notes for the scan log."""
        now = job.now
        sold = sum(1 for s in held if s.status is SendStatus.SOLD)
        outstanding = len(held) - sold
        taken_clients = {s.client_id for s in held}
        taken_accounts = {s.delivery_account_id for s in held}
        need = max(job.max_sells, 1) - sold - outstanding
        position = job.cursor
        by_id = snapshot.by_id
        evaluated = context(now)
        folded = screening_values(job.fields, job.call_data)
        deliver_now: list[Reserved] = []
        pending: list[_Pending] = []
        notes: list[str] = []
        while need > 0 and position < len(plan):
            entry = plan[position]
            planned_id = entry.account
            position += 1
            view = by_id.get(planned_id)
            if view is None:
                notes.append(f"- account {planned_id}: passed over at send time: removed")
                continue
            if view.id in taken_accounts or (
                view.client_id in taken_clients and not view.use_tiers
            ):
                continue
            if entry.until is not None and now > entry.until:
                notes.append(
                    f"- {view.label}: passed over at send time: its bid expired at "
                    f"{entry.until:%H:%M:%S} UTC (the auction's fresh_seconds)"
                )
                continue
            again = snapshot.index.check(view, folded, evaluated)
            if again.reason:
                notes.append(f"- {view.label}: passed over at send time: {again.reason}")
                continue
            if view.caps.any:  # nothing to hold exact for an account without caps
                await buyer_store.lock_for_send(conn, account_id, view.id)
                counts = await send_store.cap_counts(
                    conn, account_id, [(view.id, cap_windows(view.tz, now))]
                )
                over = cap_reached(view.caps, counts[view.id])
                if over:
                    notes.append(f"- {view.label}: passed over at send time: {over}")
                    continue
            price = view.price if entry.price is None else entry.price
            pick, renewed = None, ""
            if view.id in snapshot.use_order:
                # the order's count must see this lead's sends reserved so far
                deliver_now.extend(
                    await self._write(conn, account_id, lead_id, job, pending, notes)
                )
                pending = []
                fit = order_fit(snapshot.order_filters, view, folded, job.lead_category_id, now)
                pick, why = await take_order(conn, account_id, view, now, fit)
                if pick is None:
                    notes.append(f"- {view.label}: passed over at send time: {why}")
                    continue
                renewed = why
            if view.client_id in snapshot.prepaid or view.client_id in snapshot.held:
                # after the order: a send filling a lead pack's order was paid for with it
                short = await _billing_hold(conn, account_id, view, snapshot, pick, price)
                if short:
                    notes.append(f"- {view.label}: passed over at send time: {short}")
                    continue
            if renewed:
                notes.append(renewed)
            if Automation.RoundRobin in (view.automation, view.secondary):
                await buyer_store.advance_rotation(conn, account_id, view.client_id)
            pending.append(_Pending(view, pick, len(notes), price, entry.reference))
            if view.delivery_delay_seconds > 0:
                notes.append("")  # "scheduled" note, once the send has its id
            taken_clients.add(view.client_id)
            taken_accounts.add(view.id)
            outstanding += 1
            need -= 1
        return deliver_now, pending, position, outstanding, notes

    async def _write(
        self,
        conn: Connection,
        account_id: int,
        lead_id: int,
        job: job_store.Job,
        pending: Sequence[_Pending],
        notes: list[str],
        after: job_store.JobAfter | None = None,
    ) -> list[Reserved]:
        """Reserve the sends decided so far, and save the job as `after` says when given, in
        one statement; the sends to deliver now."""
        if not pending and after is None:
            return []
        sends = [
            job_store.NewSend(
                client_id=p.view.client_id,
                delivery_account_id=p.view.id,
                delivery_id=p.view.delivery_id,
                status=p.status,
                price=p.price,
                delay_seconds=p.view.delivery_delay_seconds,
                lease_seconds=self.send_lease_seconds(p.view),
                order_id=p.pick.order_id if p.pick else None,
                order_item_id=p.pick.item_id if p.pick else None,
                ping_reference=p.reference,
            )
            for p in pending
        ]
        ids = await job_store.write_step(conn, account_id, lead_id, sends, after)
        now_due: list[Reserved] = []
        for p in pending:
            send_id = ids[p.view.id]
            if p.status is SendStatus.IN_FLIGHT:
                now_due.append(
                    Reserved(send_id, lead_id, p.view, p.price, 0, job.fields, p.reference)
                )
            else:
                notes[p.note_at] = (
                    f"- {p.view.label}: send {send_id} scheduled in "
                    f"{p.view.delivery_delay_seconds} s"
                )
        return now_due


def _auction_plan(
    auctioned: Auctioned, eligible: set[int], now: datetime
) -> list[job_store.PlanEntry]:
    """The plan an auction gives: its winners then its standbys, those still eligible, each
    at its net price with its ping reference; a bid holds while the auction is fresh (a fixed
    price always)."""
    until = now + timedelta(seconds=auctioned.settings.fresh_seconds)
    return [
        job_store.PlanEntry(
            lot.account_id,
            lot.bidder.candidate.client_id,
            lot.net,
            lot.reference,
            until if lot.bidder.ping is not None else None,
        )
        for lot in auctioned.result.ranked
        if lot.account_id in eligible
    ]


def _new_job(new: NewJob) -> job_store.Job:
    """A just-stored lead's job as its first step reads it: pending, with no plan yet."""
    return job_store.Job(
        state="pending",
        plan=None,
        cursor=0,
        max_sells=new.max_sells,
        account_types=job_store.account_types(new.account_types),
        lead_type_id=new.lead_type_id,
        fields=new.fields,
        call_data=new.call_data,
        now=new.now,
        buyer_version=new.buyer_version,
        consented=new.consented,
        lead_category_id=new.lead_category_id,
    )


async def _scan_job(
    conn: Connection,
    account_id: int,
    lead_id: int,
    snapshot: Snapshot,
    job: job_store.Job,
    held: Sequence[HeldSend],
) -> Scan:
    """The scan of a job's lead, as its values, sales and 1-to-1 consent stand."""
    return await scan(
        conn,
        account_id,
        lead_id,
        snapshot,
        screening_values(job.fields, job.call_data),
        job.max_sells,
        job.now,
        account_types=job.account_types,
        held=held,
        consented=job.consented,
        lead_category_id=job.lead_category_id,
    )


async def _billing_hold(
    conn: Connection,
    account_id: int,
    view: DeliveryAccountView,
    snapshot: Snapshot,
    pick: Pick | None,
    price: Decimal,
) -> str:
    """Why a prepaid or held buyer may not take this send, or "": a prepaid buyer's balance
    is read under its balance row lock, counting its sends under way."""
    paid_by_pack = pick is not None and pick.order_id in snapshot.pack_orders
    funds = None
    if not paid_by_pack and view.client_id in snapshot.prepaid:
        funds = await ledger_store.lock_prepaid(conn, account_id, view.client_id)
    return billing_hold(
        paid_by_pack=paid_by_pack,
        held=view.client_id in snapshot.held,
        available=None if funds is None else funds.available,
        price=cents(price),
        stop_at_zero=funds is None or funds.stop_at_zero,
    )
