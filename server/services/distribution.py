"""The distribution engine: choosing buyers for stored leads and delivering to them.

Accepting a lead writes its distribution job in the same transaction (the outbox; see
`insert_lead`), and for a lead due now, its first step too (`first_step`). Workers lease
due jobs and walk each lead's waterfall one step at a time:

1. The first step scans every delivery account of the lead type (status, automation,
   schedule, criteria, caps, earlier sales), orders the eligible ones by their buyers'
   automation (server/domain/matching/selection.py), stores that plan on the job and writes the scan
   log. Rotation-based automations take a per-lead-type lock for that step, so round robin and
   shares stay exact across processes.
2. Each step reserves as many sends as the lead still needs sales (its max sell count less
   the sales made and the sends outstanding), taking each delivery account's row lock and
   re-counting its caps: caps hold exactly across processes. A reserved send counts against
   the caps until the buyer rejects it or it fails.
3. Sends are delivered outside any transaction. A buyer's answer finishes the send (sold or
   rejected) and wakes the job for its next step; a transport failure reschedules the send
   with backoff, up to a limit, and then fails it.

Every send and job is leased: a process that dies mid-delivery leaves leases that run out,
and another process (or the same one restarted) takes the work over. A send delivered again
that way carries the same `Idempotency-Key`, so the buyer can tell.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
from collections import deque
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from psycopg.types.json import Jsonb

from server.adapters import zip_codes
from server.adapters.delivery import Transports
from server.domain.buyers.specs import (
    AccountType,
    ClientStatus,
    DeliveryMethod,
    delivery_spec,
    delivery_windows,
)
from server.domain.caps import CapCounts, Caps, cap_reached, cap_windows
from server.domain.catalog.fields import FieldSpec, Value, clean_lead_values
from server.domain.catalog.specs import Status
from server.domain.delivery.answers import interpret
from server.domain.delivery.render import render, storable
from server.domain.delivery.send_log import describe
from server.domain.delivery.spec import DeliveryType, LeadPayload
from server.domain.intake.call_data import criteria_fields, screening_values
from server.domain.matching.account_index import AccountIndex
from server.domain.matching.criteria import (
    CompiledCriteria,
    EvalContext,
    broken_criteria,
    compile_criteria,
)
from server.domain.matching.eligibility import AccountView, ScanEntry, scan_report
from server.domain.matching.lists import DistributionList, excluded_by, restrictions
from server.domain.matching.selection import (
    Automation,
    explain_order,
    order_candidates,
    plan_waterfall,
)
from server.domain.sales.orders import (
    ItemState,
    OrderState,
    OrderStatus,
    Pick,
    Renewal,
    choose_order,
)
from server.domain.sales.sends import SendStatus
from server.errors import InvalidArgument, NotFound, RolledBack
from server.storage import catalog as catalog_store
from server.storage.buyers import criterion_from_json
from server.storage.database import Connection, Pool, transaction
from server.storage.queries import q
from server.storage.send_outcomes import Outcome, OutcomeWriter

log = logging.getLogger(__name__)

ROTATING = frozenset({Automation.RoundRobin, Automation.Weighted, Automation.Percentage})
UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class EngineSettings:
    # how long a step may hold a job, and a send may outlast its delivery timeout, before
    # another process takes the work over
    lease_seconds: float = 30.0
    max_attempts: int = 5  # delivery attempts of one send before it fails
    retry_base_seconds: float = 2.0  # backoff: base * 2^(attempt-1)
    batch: int = 32  # jobs and sends leased per poll
    concurrency: int = 64  # jobs walked at once by one worker
    handed_max: int = 10_000  # accepted leads waiting in memory for room, past which the poll
    poll_seconds: float = 0.2  # how often an idle worker looks for work from other processes


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- the cached view of the buyers -----------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """A lead type's buyers as the engine sees them, compiled once per configuration."""

    views: list[AccountView]
    by_id: dict[int, AccountView]
    lists: list[DistributionList]
    use_order: frozenset[int]  # delivery accounts that take leads only against orders
    index: (
        AccountIndex  # screens every account for a lead (server/domain/matching/account_index.py)
    )
    client_names: dict[int, str]


class BuyerCache:
    """Each lead type's delivery accounts, compiled once per buyer configuration version."""

    def __init__(self) -> None:
        self._entries: dict[tuple[int, int], tuple[int, Snapshot]] = {}

    def cached(self, account_id: int, lead_type_id: int, version: int) -> Snapshot | None:
        """The lead type's snapshot when it is compiled at this buyer version, else None."""
        cached = self._entries.get((account_id, lead_type_id))
        return cached[1] if cached is not None and cached[0] == version else None

    async def snapshot(
        self, conn: Connection, account_id: int, lead_type_id: int, version: int | None = None
    ) -> Snapshot:
        """The lead type's snapshot; `version` is the account's buyer version when the caller's
        own query already read it (saving a round trip), else it is read here."""
        if version is None:
            cursor = await conn.execute(q("buyer_version"), {"account_id": account_id})
            row = await cursor.fetchone()
            version = int(row["version"]) if row else 0
        found = self.cached(account_id, lead_type_id, version)
        if found is not None:
            return found
        scope = {"account_id": account_id, "lead_type_id": lead_type_id}
        cursor = await conn.execute(q("buyer_snapshot"), scope)
        rows = await cursor.fetchall()
        fields = await catalog_store.list_fields(conn, account_id, lead_type_id)
        by_name = criteria_fields(f.spec for f in fields)
        cursor = await conn.execute(q("lists_for_lead_type"), scope)
        lists = [
            DistributionList(
                id=r["id"],
                name=r["name"],
                field=r["field_name"].casefold(),
                default_client_id=r["default_client_id"],
                depend_field=r["depend_field"].casefold(),
                depend_value=r["depend_value"],
                assigned=dict(r["assigned"]),
            )
            for r in await cursor.fetchall()
        ]
        # compiling 10,000 accounts takes seconds of CPU: off the event loop, so requests and
        # deliveries go on meanwhile
        snapshot = await asyncio.to_thread(_build, rows, by_name, lists)
        self._entries[(account_id, lead_type_id)] = (version, snapshot)
        # A big snapshot is hundreds of thousands of long-lived objects: keep the cyclic
        # garbage collector from walking them on every full collection (a 10,000-account
        # snapshot made each one take 0.6 s). Replaced snapshots are still freed by reference
        # counting.
        gc.freeze()
        return snapshot


def _build(
    rows: Sequence[Mapping[str, Any]],
    fields: Mapping[str, FieldSpec],
    lists: list[DistributionList],
) -> Snapshot:
    views = [_view(r, fields) for r in rows]
    return Snapshot(
        views,
        {v.id: v for v in views},
        lists,
        frozenset(r["id"] for r in rows if r["use_order"]),
        AccountIndex(views),
        {v.client_id: v.client_name for v in views},
    )


def _compiled(row: Mapping[str, Any], fields: Mapping[str, FieldSpec]) -> CompiledCriteria:
    criteria = [criterion_from_json(c) for c in row["criteria"]]
    try:
        return compile_criteria(criteria, fields)
    except ValueError as problem:
        log.warning("delivery account %s: %s", row["id"], problem)
        return broken_criteria(str(problem))


def _view(row: Mapping[str, Any], fields: Mapping[str, FieldSpec]) -> AccountView:
    method = DeliveryMethod(
        type=DeliveryType(row["delivery_type"]),
        lead_type_id=0,
        settings=row["settings"],
        name=row["delivery_name"],
        enabled=row["delivery_enabled"],
    )
    return AccountView(
        id=row["id"],
        key=row["key"] or "",
        description=row["description"],
        client_id=row["client_id"],
        client_name=row["client_name"],
        client_status=ClientStatus(row["client_status"]),
        tz=ZoneInfo(row["time_zone"]),
        automation=Automation(row["automation"]),
        secondary=Automation(row["secondary_automation"]),
        priority=row["priority"],
        weight=row["weight"],
        use_tiers=row["use_delivery_tiers"],
        status=Status(row["status"]),
        automation_enabled=row["automation_enabled"],
        price=row["price"],
        caps=Caps(row["hour_max"], row["day_max"], row["month_max"]),
        delivery_delay_seconds=row["delivery_delay_seconds"],
        redirect_url=row["redirect_url"],
        account_type=AccountType(row["account_type"]),
        agent_name=row["agent_name"],
        agent_phone=row["agent_phone"],
        delivery_id=row["delivery_id"],
        delivery_name=row["delivery_name"],
        delivery_enabled=row["delivery_enabled"],
        delivery=delivery_spec(method),
        windows=delivery_windows(row["settings"]),
        criteria=_compiled(row, fields),
    )


# -- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scan:
    lead_id: int
    entries: list[ScanEntry]
    max_sells: int
    report: str
    orders: dict[int, Pick]  # delivery account -> the order and item a send would count on

    @property
    def ranked(self) -> list[ScanEntry]:
        return sorted((e for e in self.entries if e.rank), key=lambda e: e.rank)


@dataclass(frozen=True)
class Reserved:
    """A send this process holds in flight, with what delivering it needs."""

    id: int
    lead_id: int
    view: AccountView
    price: Decimal
    attempts: int
    fields: Mapping[str, Value]

    def as_row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "lead_id": self.lead_id,
            "delivery_account_id": self.view.id,
            "price": self.price,
            "attempts": self.attempts,
        }


@dataclass(frozen=True)
class NewJob:
    """A lead's distribution job as the transaction accepting the lead just wrote it, with
    what its first step needs (`Distributor.first_step`)."""

    account_id: int
    lead_id: int
    lead_type_id: int
    fields: Mapping[str, Value]
    call_data: Mapping[str, Any]
    max_sells: int
    account_types: Sequence[int] | None
    now: datetime  # the transaction's clock
    buyer_version: int


@dataclass(frozen=True)
class _JobAfter:
    """A job as a step leaves it: its state, plan, position in the plan and scan log entries."""

    state: str
    plan: list[dict[str, int]]
    cursor: int
    logs: list[str]


@dataclass(frozen=True)
class _Pending:
    """A send a step decided on, not yet inserted; `note_at` is where its "scheduled" note
    goes in the step's notes when it is delayed."""

    view: AccountView
    pick: Pick | None
    note_at: int

    @property
    def status(self) -> SendStatus:
        return (
            SendStatus.SCHEDULED if self.view.delivery_delay_seconds > 0 else SendStatus.IN_FLIGHT
        )


# -- the engine --------------------------------------------------------------------------------


class Distributor:
    """Walks leads' waterfalls: from the worker loop, or at once for the synchronous inserts."""

    def __init__(
        self,
        pool: Pool,
        transports: Transports,
        settings: EngineSettings | None = None,
        *,
        outcomes_pool: Pool | None = None,
    ) -> None:
        """`outcomes_pool`: where delivery outcomes are written, when not in `pool`; a
        connection of their own keeps buyers' answers from queueing behind posts for one."""
        self._pool = pool
        self._transports = transports
        self._settings = settings or EngineSettings()
        self._cache = BuyerCache()
        self._outcomes = OutcomeWriter(outcomes_pool or pool)
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._handed: deque[tuple[int, int]] = deque()  # accepted here, waiting for room

    def wake(self) -> None:
        """New work was committed in this process: look for it now rather than at the next poll."""
        self._wake.set()

    def accepted(self, leads: Iterable[tuple[int, int]]) -> None:
        """Leads (account id, lead id) whose jobs this process just committed: walk them now,
        each leasing its own job, while there is room; the rest wait in memory, in order, for
        room (up to `handed_max`; past that, for the poll). Waiting here costs the database
        nothing, where finding them again would cost a poll per freed slot. A job another
        process leased meanwhile is simply skipped by its walk here; a job lost with this
        process is in the database, for the poll."""
        for account_id, lead_id in leads:
            if len(self._running) < self._settings.concurrency and not self._handed:
                self._spawn(self._walk(account_id, lead_id, leased=False))
            elif len(self._handed) < self._settings.handed_max:
                self._handed.append((account_id, lead_id))
                self.wake()
            else:
                self.wake()
                return

    # -- the worker loop

    async def run(self, stop: asyncio.Event) -> None:
        """Lease and process due jobs and sends until `stop` is set; then finish what runs.
        At most `concurrency` pieces of work run at once; the rest stay in the database, or
        for leads accepted here, wait in memory too (`accepted`)."""
        loop = asyncio.get_running_loop()
        polled_at = -math.inf
        while not stop.is_set():
            room = min(self._settings.batch, self._settings.concurrency - len(self._running))
            # Leads handed over fill the room, but for a poll every poll_seconds: scheduled
            # sends, retries and other processes' leads are not held back behind them.
            if room > 0 and self._handed and loop.time() - polled_at < self._settings.poll_seconds:
                while room > 0 and self._handed:
                    self._spawn(self._walk(*self._handed.popleft(), leased=False))
                    room -= 1
            if room <= 0:
                await asyncio.wait(
                    self._running,
                    timeout=self._settings.poll_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                continue
            polled_at = loop.time()
            try:
                found = await self._poll(room)
            except Exception:
                log.exception("distribution poll failed; retrying")
                found = 0
            if found or self._handed:
                continue
            self._wake.clear()
            waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            _, pending = await asyncio.wait(
                waits, timeout=self._settings.poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in pending:
                waiter.cancel()
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def _poll(self, room: int) -> int:
        async with transaction(self._pool) as conn:
            cursor = await conn.execute(
                q("claim_sends"), {"lease": self._settings.lease_seconds, "limit": room}
            )
            sends = [(r["account_id"], r["id"]) for r in await cursor.fetchall()]
            cursor = await conn.execute(
                q("claim_jobs"), {"lease": self._settings.lease_seconds, "limit": room}
            )
            jobs = [(r["account_id"], r["lead_id"]) for r in await cursor.fetchall()]
        for account_id, send_id in sends:
            self._spawn(self._deliver_and_continue(account_id, send_id))
        for account_id, lead_id in jobs:
            self._spawn(self._walk(account_id, lead_id))
        return len(sends) + len(jobs)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        async def guarded() -> None:
            try:
                await work
            except Exception:
                log.exception("distribution work failed; its lease will run out and retry")

        task = asyncio.create_task(guarded())
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    # -- walking one lead

    async def deliver_now(
        self, account_id: int, lead_id: int, wait_seconds: float = 25.0
    ) -> list[dict[str, Any]]:
        """Walk a just-accepted lead's waterfall to the end and list its sends (returnsends).

        The walk happens here, or in whichever worker leased the job first; either way this
        waits until no delivery is in flight. Sends a delivery delay or a retry backoff holds
        back, and a lead whose source delayed it, are listed as they stand.
        """
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while True:
            await self.distribute_now(account_id, lead_id)
            async with transaction(self._pool) as conn:
                cursor = await conn.execute(
                    q("job_progress"), {"account_id": account_id, "lead_id": lead_id}
                )
                job = await cursor.fetchone()
            if (
                job is None
                or job["state"] == "done"
                or (job["state"] == "pending" and not job["due"])
                or (job["state"] == "waiting" and not job["in_flight"])
                or asyncio.get_running_loop().time() > deadline
            ):
                return await list_sends(self._pool, account_id, lead_id)
            await asyncio.sleep(0.01)

    async def distribute_now(self, account_id: int, lead_id: int) -> None:
        """Walk a lead's waterfall here, unless its job is not due or another walker holds it."""
        await self._walk(account_id, lead_id, leased=False)

    async def _walk(self, account_id: int, lead_id: int, *, leased: bool = True) -> None:
        """Steps of a job until it waits on nothing this process delivers. The first step
        leases the job itself unless the poll leased it already; each later step leases it
        again (the answers to the last step's sends woke it), unless another process did."""
        while True:
            sends = await self._step_retrying(account_id, lead_id, lease=not leased)
            if not sends:
                return
            jobs = await asyncio.gather(*(self._execute(account_id, s) for s in sends))
            if "done" in jobs:  # the answers completed the lead: no step left to take
                return
            leased = False

    async def _deliver_and_continue(self, account_id: int, send_id: int) -> None:
        """A send leased by the poll (scheduled, retried or taken over): deliver it; the job it
        wakes is picked up by the next poll."""
        await self._deliver(account_id, send_id)
        self.wake()

    async def _step_retrying(
        self, account_id: int, lead_id: int, *, lease: bool = False
    ) -> list[Reserved]:
        """A step, taken again when PostgreSQL broke a lock cycle between two walkers by
        rolling this one back (their waterfalls lock the same accounts in other orders)."""
        for attempt in range(1, 4):
            try:
                return await self._step(account_id, lead_id, lease=lease)
            except RolledBack:
                if attempt == 3:
                    raise
                log.info("lead %s: step rolled back by a deadlock; taking it again", lead_id)
        return []

    async def _step(self, account_id: int, lead_id: int, *, lease: bool) -> list[Reserved]:
        """One step of a lead's waterfall, in one transaction: lease the job if asked (no step
        when it is not due or another process holds it), plan it if needed, then reserve the
        sends it needs. Returns the sends to deliver now."""
        async with transaction(self._pool) as conn:
            if lease:
                cursor = await conn.execute(
                    q("claim_job"),
                    {
                        "account_id": account_id,
                        "lead_id": lead_id,
                        "lease": self._settings.lease_seconds,
                    },
                )
            else:
                cursor = await conn.execute(
                    q("lock_job"), {"account_id": account_id, "lead_id": lead_id}
                )
            job = await cursor.fetchone()
            if job is None or job["state"] == "done":
                return []
            snapshot = await self._cache.snapshot(
                conn, account_id, job["lead_type_id"], job["buyer_version"]
            )
            cursor = await conn.execute(
                q("lead_sends"), {"account_id": account_id, "lead_id": lead_id}
            )
            held = await cursor.fetchall()
            return await self._advance(conn, account_id, lead_id, snapshot, job, held)

    async def first_step(self, conn: Connection, job: NewJob) -> list[Reserved] | None:
        """The first step of a just-stored lead's waterfall, in the transaction that accepts
        it (the caller's), so its deliveries are decided and committed with the lead; the sends
        to deliver once it commits (`deliver_first`). None, with nothing written, when the
        lead type's buyers are not compiled at the account's buyer version yet: compiling
        may take seconds, which the post should not wait for; its walk takes the step."""
        snapshot = self._cache.cached(job.account_id, job.lead_type_id, job.buyer_version)
        if snapshot is None:
            return None
        row = {  # as lock_job reads a job
            "state": "pending",
            "plan": None,
            "cursor": 0,
            "max_sells": job.max_sells,
            "account_types": job.account_types,
            "lead_type_id": job.lead_type_id,
            "fields": job.fields,
            "call_data": job.call_data,
            "now": job.now,
        }
        return await self._advance(conn, job.account_id, job.lead_id, snapshot, row, ())

    def deliver_first(self, account_id: int, lead_id: int, sends: Sequence[Reserved]) -> None:
        """Deliver the sends a committed first step reserved (`first_step`), then walk on.
        They are on their way at once, whatever the engine's room: each holds a lease that
        another process would take over if they waited past it."""
        if sends:
            self._spawn(self._continue(account_id, lead_id, sends))

    async def _continue(self, account_id: int, lead_id: int, sends: Sequence[Reserved]) -> None:
        jobs = await asyncio.gather(*(self._execute(account_id, s) for s in sends))
        if "done" not in jobs:
            await self._walk(account_id, lead_id, leased=False)

    async def _advance(
        self,
        conn: Connection,
        account_id: int,
        lead_id: int,
        snapshot: Snapshot,
        job: Mapping[str, Any],
        held: Sequence[Mapping[str, Any]],
    ) -> list[Reserved]:
        """Plan the job if it has no plan yet (scan, order, scan log), reserve the sends it
        needs next and save it; the sends to deliver now. `held`: the lead's sends that hold
        or made a sale."""
        now = job["now"]
        plan: list[dict[str, int]] | None = job["plan"]
        logs: list[str] = []
        if plan is None:
            if any(v.automation in ROTATING or v.secondary in ROTATING for v in snapshot.views):
                await conn.execute(
                    q("lock_rotation"),
                    {"account_id": account_id, "lead_type_id": job["lead_type_id"]},
                )
            scan = await self._scan(
                conn,
                account_id,
                lead_id,
                snapshot,
                screening_values(job["fields"], job["call_data"]),
                job["max_sells"],
                now,
                account_types=_types(job["account_types"]),
                held=held,
            )
            plan = [{"account": e.view.id, "client": e.view.client_id} for e in scan.ranked]
            logs.append(scan.report)
        to_deliver, pending, cursor_at, outstanding, notes = await self._reserve(
            conn, account_id, lead_id, snapshot, job, plan, now, held
        )
        if any(p.status == SendStatus.SCHEDULED for p in pending):  # their notes name their ids
            to_deliver += await self._write_step(conn, account_id, lead_id, job, pending, notes)
            pending = []
        logs.append("\n".join(notes))
        job_after = _JobAfter("waiting" if outstanding else "done", plan, cursor_at, logs)
        to_deliver += await self._write_step(
            conn, account_id, lead_id, job, pending, notes, job_after
        )
        return to_deliver

    async def _reserve(
        self,
        conn: Connection,
        account_id: int,
        lead_id: int,
        snapshot: Snapshot,
        job: Mapping[str, Any],
        plan: list[dict[str, int]],
        now: datetime,
        held: Sequence[Mapping[str, Any]],
    ) -> tuple[list[Reserved], list[_Pending], int, int, list[str]]:
        """Reserve sends down the plan until the lead has what it needs: the sends inserted
        and to deliver now, those decided and left for the caller to insert, the plan position
        reached, the sends outstanding, and notes for the scan log."""
        sold = sum(1 for s in held if s["status"] == SendStatus.SOLD)
        outstanding = len(held) - sold
        taken_clients = {s["client_id"] for s in held}
        taken_accounts = {s["delivery_account_id"] for s in held}
        need = max(job["max_sells"], 1) - sold - outstanding
        position = job["cursor"]
        by_id = snapshot.by_id
        context = EvalContext(now, UTC_ZONE, zip_codes.distance_miles, zip_codes.location)
        folded = screening_values(job["fields"], job["call_data"])
        deliver_now: list[Reserved] = []
        pending: list[_Pending] = []
        notes: list[str] = []
        while need > 0 and position < len(plan):
            entry = plan[position]
            position += 1
            view = by_id.get(entry["account"])
            if view is None:
                notes.append(f"- account {entry['account']}: passed over at send time: removed")
                continue
            if view.id in taken_accounts or (
                view.client_id in taken_clients and not view.use_tiers
            ):
                continue
            again = snapshot.index.check(view, folded, context)
            if again.reason:
                notes.append(f"- {view.label}: passed over at send time: {again.reason}")
                continue
            if _capped(view):  # nothing to hold exact for an account without caps
                await conn.execute(
                    q("lock_delivery_account"), {"account_id": account_id, "id": view.id}
                )
                counts = (await _cap_counts(conn, account_id, [view], now))[view.id]
                over = cap_reached(view.caps, counts)
                if over:
                    notes.append(f"- {view.label}: passed over at send time: {over}")
                    continue
            pick = None
            if view.id in snapshot.use_order:
                # the order's count must see this lead's sends reserved so far
                deliver_now.extend(
                    await self._write_step(conn, account_id, lead_id, job, pending, notes)
                )
                pending = []
                pick, why = await self._take_order(conn, account_id, view, now)
                if pick is None:
                    notes.append(f"- {view.label}: passed over at send time: {why}")
                    continue
                if why:
                    notes.append(why)
            if Automation.RoundRobin in (view.automation, view.secondary):
                await conn.execute(
                    q("advance_rotation"), {"account_id": account_id, "id": view.client_id}
                )
            pending.append(_Pending(view, pick, len(notes)))
            if view.delivery_delay_seconds > 0:
                notes.append("")  # "scheduled" note, once the send has its id
            taken_clients.add(view.client_id)
            taken_accounts.add(view.id)
            outstanding += 1
            need -= 1
        return deliver_now, pending, position, outstanding, notes

    async def _write_step(
        self,
        conn: Connection,
        account_id: int,
        lead_id: int,
        job: Mapping[str, Any],
        pending: Sequence[_Pending],
        notes: list[str],
        job_after: _JobAfter | None = None,
    ) -> list[Reserved]:
        """Reserve the sends decided so far, and save the job as `job_after` says when given,
        in one statement; the sends to deliver now."""
        if not pending and job_after is None:
            return []
        after = job_after or _JobAfter("", [], 0, [])
        timeout_margin = self._settings.lease_seconds
        cursor = await conn.execute(
            q("write_step"),
            {
                "account_id": account_id,
                "lead_id": lead_id,
                "save": job_after is not None,
                "state": after.state,
                "plan": Jsonb(after.plan),
                "cursor": after.cursor,
                "logs": after.logs,
                "sends": Jsonb(
                    [
                        {
                            "client_id": p.view.client_id,
                            "delivery_account_id": p.view.id,
                            "delivery_id": p.view.delivery_id,
                            "status": p.status,
                            "price": str(p.view.price),
                            "delay": p.view.delivery_delay_seconds,
                            "lease": p.view.delivery.timeout_seconds + timeout_margin,
                            "order_id": p.pick.order_id if p.pick else None,
                            "order_item_id": p.pick.item_id if p.pick else None,
                        }
                        for p in pending
                    ]
                ),
            },
        )
        ids = {row["delivery_account_id"]: int(row["id"]) for row in await cursor.fetchall()}
        now_due: list[Reserved] = []
        for p in pending:
            send_id = ids[p.view.id]
            if p.status == SendStatus.IN_FLIGHT:
                now_due.append(Reserved(send_id, lead_id, p.view, p.view.price, 0, job["fields"]))
            else:
                notes[p.note_at] = (
                    f"- {p.view.label}: send {send_id} scheduled in "
                    f"{p.view.delivery_delay_seconds} s"
                )
        return now_due

    async def _take_order(
        self, conn: Connection, account_id: int, view: AccountView, now: datetime
    ) -> tuple[Pick | None, str]:
        """The order a send to this account counts against, under the buyer's order locks,
        renewing it first when its period is over; or None and why there is none."""
        await conn.execute(
            q("lock_client_orders"), {"account_id": account_id, "client_id": view.client_id}
        )
        states = await _order_states(conn, account_id, [view.client_id])
        choice = choose_order(states.get(view.client_id, []), view.id, now)
        pick = choice.pick
        if pick is None:
            return None, choice.reason
        return pick, await _renewed(conn, account_id, view, pick)

    async def _scan(
        self,
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
        held: Sequence[Mapping[str, Any]] | None = None,
    ) -> Scan:
        """Screen, check and order every account for a lead; `held` are the lead's sends that
        hold or made a sale when the caller read them already."""
        context = EvalContext(now, UTC_ZONE, zip_codes.distance_miles, zip_codes.location)
        folded = {name.casefold(): value for name, value in values.items()}
        screening = snapshot.index.screen(folded, context, automated_only=automated_only)
        passed_over: dict[int, str] = {}
        names = snapshot.client_names
        limits = restrictions(snapshot.lists, folded, names)
        for view in screening.passing:
            if account_types is not None and view.account_type not in account_types:
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
            orders = await _order_states(conn, account_id, sorted({v.client_id for v in by_order}))
            for view in by_order:
                choice = choose_order(orders.get(view.client_id, []), view.id, now)
                if choice.pick is None:
                    passed_over[view.id] = choice.reason
                else:
                    picks[view.id] = choice.pick
            passing = [v for v in passing if v.id not in passed_over]
        if held is None and lead_id:
            cursor = await conn.execute(
                q("lead_sends"), {"account_id": account_id, "lead_id": lead_id}
            )
            held = await cursor.fetchall()
        sold_clients = {s["client_id"] for s in held or ()}
        counts = await _cap_counts(conn, account_id, [v for v in passing if _capped(v)], now)
        for view in passing:
            over = cap_reached(view.caps, counts.get(view.id, NOTHING_COUNTED))
            if over:
                passed_over[view.id] = over
            elif view.client_id in sold_clients:
                passed_over[view.id] = "already sold to this buyer"
        eligible = [v for v in passing if v.id not in passed_over]
        rotating = {
            v.client_id for v in eligible if v.automation in ROTATING or v.secondary in ROTATING
        }
        states = await _client_states(conn, account_id, rotating)
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
        return Scan(lead_id, entries, max_sells, report, picks)

    async def _log(self, conn: Connection, account_id: int, lead_id: int, text: str) -> None:
        await conn.execute(
            q("insert_scan_log"), {"account_id": account_id, "lead_id": lead_id, "log": text}
        )

    # -- delivering one send

    async def _deliver(self, account_id: int, send_id: int) -> None:
        """Deliver a send leased by the poll: read it back first."""
        async with transaction(self._pool) as conn:
            cursor = await conn.execute(
                q("get_send_for_delivery"), {"account_id": account_id, "id": send_id}
            )
            row = await cursor.fetchone()
            if row is None:
                return
            snapshot = await self._cache.snapshot(
                conn, account_id, row["lead_type_id"], row["buyer_version"]
            )
        view = snapshot.by_id.get(row["delivery_account_id"])
        if view is None:
            await self._finish(
                account_id, row, SendStatus.FAILED, "", "", "delivery account removed", 0.0
            )
            return
        await self._execute(
            account_id,
            Reserved(send_id, row["lead_id"], view, row["price"], row["attempts"], row["fields"]),
        )

    async def _execute(self, account_id: int, reserved: Reserved) -> str | None:
        """One delivery attempt of a send this process holds, and its outcome recorded; the
        state that left the lead's job in (None: not touched)."""
        view = reserved.view
        send = reserved.as_row()
        payload = LeadPayload(
            lead_id=reserved.lead_id,
            send_id=reserved.id,
            price=reserved.price,
            values={name: _text(value) for name, value in reserved.fields.items()},
        )
        rendered = render(view.delivery, payload)
        request_text = describe(rendered)
        result = await self._transports.send(rendered)
        if result.failed:
            attempts = send["attempts"] + 1
            if attempts < self._settings.max_attempts:
                retry_in = self._settings.retry_base_seconds * 2 ** (attempts - 1)
                return await self._finish(
                    account_id,
                    send,
                    SendStatus.SCHEDULED,
                    request_text,
                    result.body,
                    f"transport failure (attempt {attempts}): {result.error}; "
                    f"retry in {retry_in:g} s",
                    result.elapsed_ms,
                    retry_in=retry_in,
                )
            else:
                return await self._finish(
                    account_id,
                    send,
                    SendStatus.FAILED,
                    request_text,
                    result.body,
                    f"transport failure after {attempts} attempts: {result.error}",
                    result.elapsed_ms,
                    label=view.label,
                )
        outcome = interpret(view.delivery.response, result.status, result.body)
        price = outcome.price if outcome.price is not None else send["price"]
        return await self._finish(
            account_id,
            send,
            SendStatus.SOLD if outcome.accepted else SendStatus.REJECTED,
            request_text,
            result.body,
            outcome.reason,
            result.elapsed_ms,
            redirect_url=outcome.redirect_url or view.redirect_url,
            price=price,
            label=view.label,
        )

    async def _finish(
        self,
        account_id: int,
        send: Mapping[str, Any],
        status: SendStatus,
        request: str,
        response: str,
        reason: str,
        elapsed_ms: float,
        *,
        retry_in: float = 0.0,
        redirect_url: str = "",
        price: Decimal | None = None,
        label: str = "",
    ) -> str | None:
        """Record the attempt; the state it left the lead's job in (None: not touched)."""
        # a buyer's answer may hold NUL, which the database refuses: kept as U+FFFD
        request, response = storable(request), storable(response)
        reason, redirect_url = storable(reason), storable(redirect_url)
        entry = ""
        if status != SendStatus.SCHEDULED:
            word = status.word
            detail = f"{word} at {price if price is not None else send['price']}"
            if reason:
                detail += f": {reason}"
            entry = (
                f"Send {send['id']} to {label or 'account ' + str(send['delivery_account_id'])}: "
                f"{detail} ({elapsed_ms:.0f} ms)"
            )
        # one statement, shared with whatever other outcomes are waiting: the outcome, its
        # scan log entry and the job's wake-up (or its end)
        return await self._outcomes.write(
            Outcome(
                account_id=account_id,
                lead_id=send["lead_id"],
                send_id=send["id"],
                status=status,
                request=request,
                response=response[:65536],
                reason=reason,
                redirect_url=redirect_url,
                price=send["price"] if price is None else price,
                elapsed_ms=elapsed_ms,
                retry_in=retry_in,
                log=entry,
            )
        )

    # -- read-only operations

    async def scan_lead(
        self,
        account_id: int,
        lead_id: int,
        *,
        automated_only: bool = True,
        allow_over_max: bool = False,
        account_types: frozenset[AccountType] | None = None,
    ) -> Scan:
        """Where this stored lead would go now and why; nothing is reserved or logged.
        `account_types` limits the scan to those types (GetClientsForRedirect/Transfer)
        instead of the types the lead's endpoint sells to."""
        async with transaction(self._pool) as conn:
            cursor = await conn.execute(
                q("get_lead_for_scan"), {"account_id": account_id, "id": lead_id}
            )
            lead = await cursor.fetchone()
            if lead is None:
                raise NotFound(f"no lead {lead_id}")
            snapshot = await self._cache.snapshot(
                conn, account_id, lead["lead_type_id"], lead["buyer_version"]
            )
            return await self._scan(
                conn,
                account_id,
                lead_id,
                snapshot,
                screening_values(lead["fields"], lead["call_data"]),
                lead["max_sell"],
                utcnow(),
                automated_only=automated_only,
                allow_over_max=allow_over_max,
                account_types=account_types or _types(lead["account_types"]),
            )

    async def scan_fields(
        self, account_id: int, lead_type_id: int, posted: Sequence[tuple[str, str]]
    ) -> Scan:
        """Where a lead with these field values would go now, without a lead
        (GetClientsForCriteria): values are typed by the lead type's fields, none required."""
        async with transaction(self._pool) as conn:
            fields = await catalog_store.list_fields(conn, account_id, lead_type_id)
            if not fields:
                raise NotFound(f"no lead type {lead_type_id} with fields")
            specs = [replace(f.spec, required=False) for f in fields]
            cleaned = clean_lead_values(specs, dict(posted))
            if not cleaned.ok:
                raise InvalidArgument(cleaned.problems)
            snapshot = await self._cache.snapshot(conn, account_id, lead_type_id)
            return await self._scan(
                conn, account_id, 0, snapshot, cleaned.values, 1, utcnow(), allow_over_max=True
            )

    # -- manual operations (server/services/operations.py; docs/operations.md)

    async def account_view(
        self, conn: Connection, account_id: int, lead_type_id: int, delivery_account_id: int
    ) -> tuple[AccountView, bool] | None:
        """A delivery account of this lead type as the engine sees it, and whether it takes
        leads only against orders; None when the lead type has no such account."""
        snapshot = await self._cache.snapshot(conn, account_id, lead_type_id)
        view = snapshot.by_id.get(delivery_account_id)
        return None if view is None else (view, view.id in snapshot.use_order)

    async def take_order(
        self,
        conn: Connection,
        account_id: int,
        view: AccountView,
        now: datetime,
        *,
        order_id: int,
        uses_order: bool,
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
            pick, why = await self._take_order(conn, account_id, view, now)
            if pick is None:
                return None, f"{view.label} takes leads only against orders: {why}"
            return pick, why
        await conn.execute(
            q("lock_client_orders"), {"account_id": account_id, "client_id": view.client_id}
        )
        states = await _order_states(conn, account_id, [view.client_id])
        named = [o for o in states.get(view.client_id, []) if o.id == order_id]
        if not named:
            return None, f"{view.client_name} has no order {order_id}"
        choice = choose_order(named, view.id, now)
        pick = choice.pick
        if pick is None:
            return None, f"order {order_id} cannot take this send: {choice.reason}"
        return pick, await _renewed(conn, account_id, view, pick)

    def send_lease_seconds(self, view: AccountView) -> float:
        """How long a send to this account, reserved in flight, is held before another
        process takes it over: its delivery timeout plus the lease margin."""
        return view.delivery.timeout_seconds + self._settings.lease_seconds

    async def deliver_send(self, account_id: int, send_id: int) -> None:
        """Deliver one send reserved in flight (a manual send) now, as the worker would: the
        buyer's answer finishes it; a transport failure schedules its retry."""
        await self._deliver(account_id, send_id)


async def _renewed(conn: Connection, account_id: int, view: AccountView, pick: Pick) -> str:
    """Move the picked order to its next period when its pick says so; the scan log's note
    of it, or '' when it needs none."""
    if pick.renew_to is None:
        return ""
    await conn.execute(
        q("renew_order"),
        {
            "account_id": account_id,
            "id": pick.order_id,
            "period_start": pick.renew_to.start,
            "period_end": pick.renew_to.end,
        },
    )
    return (
        f"- order {pick.order_id} of {view.client_name} renewed: "
        f"{pick.renew_to.start:%Y-%m-%d %H:%M} to {pick.renew_to.end:%Y-%m-%d %H:%M} UTC"
    )


async def _cap_counts(
    conn: Connection, account_id: int, views: Sequence[AccountView], now: datetime
) -> dict[int, CapCounts]:
    if not views:
        return {}
    windows = [cap_windows(v.tz, now) for v in views]
    cursor = await conn.execute(
        q("cap_counts"),
        {
            "account_id": account_id,
            "ids": [v.id for v in views],
            "hour_starts": [w.hour_start for w in windows],
            "day_starts": [w.day_start for w in windows],
            "month_starts": [w.month_start for w in windows],
        },
    )
    return {r["id"]: CapCounts(r["hour"], r["day"], r["month"]) for r in await cursor.fetchall()}


async def _order_states(
    conn: Connection, account_id: int, client_ids: Sequence[int]
) -> dict[int, list[OrderState]]:
    """The buyers' orders with the sends held against each item in its current period."""
    cursor = await conn.execute(
        q("list_orders"), {"account_id": account_id, "client_ids": list(client_ids)}
    )
    found: dict[int, list[OrderState]] = {}
    for row in await cursor.fetchall():
        items = tuple(
            ItemState(i["id"], i["quantity"], i["account_id"], i["held"]) for i in row["items"]
        )
        found.setdefault(row["client_id"], []).append(
            OrderState(
                id=row["id"],
                client_id=row["client_id"],
                status=OrderStatus(row["status"]),
                renewal=Renewal(row["renewal"]),
                start=row["start_at"],
                end=row["end_at"],
                period_start=row["period_start"],
                period_end=row["period_end"],
                sold=sum(i["sold"] for i in row["items"]),
                items=items,
            )
        )
    return found


NOTHING_COUNTED = CapCounts(0, 0, 0)


def _capped(view: AccountView) -> bool:
    caps = view.caps
    return caps.hour_max >= 0 or caps.day_max >= 0 or caps.month_max >= 0


def _types(stored: Sequence[int] | None) -> frozenset[AccountType] | None:
    return None if stored is None else frozenset(AccountType(t) for t in stored)


async def _client_states(
    conn: Connection, account_id: int, client_ids: set[int]
) -> dict[int, tuple[int | None, int]]:
    if not client_ids:
        return {}
    cursor = await conn.execute(
        q("client_states"), {"account_id": account_id, "ids": sorted(client_ids)}
    )
    return {r["id"]: (r["rr_position"], r["served"]) for r in await cursor.fetchall()}


def _text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


# -- reports -----------------------------------------------------------------------------------


async def list_sends(pool: Pool, account_id: int, lead_id: int) -> list[dict[str, Any]]:
    """A lead's sends, oldest first (an unknown lead has none)."""
    async with transaction(pool) as conn:
        cursor = await conn.execute(q("list_sends"), {"account_id": account_id, "lead_id": lead_id})
        return await cursor.fetchall()


async def scan_log(pool: Pool, account_id: int, lead_id: int) -> list[dict[str, Any]]:
    """A lead's scan log entries, oldest first; NotFound for a lead not in the account."""
    async with transaction(pool) as conn:
        cursor = await conn.execute(
            q("get_lead_for_scan"), {"account_id": account_id, "id": lead_id}
        )
        if await cursor.fetchone() is None:
            raise NotFound(f"no lead {lead_id}")
        cursor = await conn.execute(
            q("list_scan_logs"), {"account_id": account_id, "lead_id": lead_id}
        )
        return await cursor.fetchall()
