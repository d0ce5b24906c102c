"""The distribution engine of one process: walks leads' waterfalls on the leased-work runner.

A walk takes a step (server/services/distribution/step.py), delivers the sends it reserved
(deliver.py), and takes the next step once their answers woke the job, until the job waits
on nothing this process delivers. Walks start from three places: a lead accepted here is
handed over at once (its first step was usually taken in the transaction that accepted it);
the synchronous insert URLs walk their lead before answering (`deliver_now`); and the
runner's poll leases due jobs and sends from the database: scheduled sends, retries, and
work a process that died left behind. The notices sales queue are sent on a runner of their
own (notices.py).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from server.adapters.delivery import Transports
from server.adapters.delivery.pings import Pinger
from server.domain.sales.sends import Send
from server.services.distribution.auction import Auctions
from server.services.distribution.buyer_cache import BuyerCache
from server.services.distribution.deliver import Deliveries
from server.services.distribution.notices import Notices
from server.services.distribution.step import NewJob, Reserved, ReservedBuyer, Steps
from server.services.distribution.views import DistributionViews
from server.services.runner import Backoff, LeasedRunner, RunnerSettings
from server.storage import jobs as job_store
from server.storage import sends as send_store
from server.storage.database import Connection, Pool, transaction
from server.storage.send_outcomes import OutcomeWriter


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
    # notices (the emails a sale sends beside its delivery): backoff 15 s, 30 s, ... for about
    # half an hour, since a mail server may be down longer than a buyer; a sale in this
    # process wakes the notices' runner, so its poll only finds other processes' and retries
    notice_max_attempts: int = 8
    notice_retry_base_seconds: float = 15.0
    notice_concurrency: int = 16
    notice_poll_seconds: float = 1.0


class Distributor:
    """Walks leads' waterfalls: from the runner's poll, or at once for leads accepted here."""

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
        self._settings = settings = settings or EngineSettings()
        self.cache = cache = BuyerCache()  # compiled buyers: shared with pings and offers
        self.views = DistributionViews(pool, cache)
        self.pinger = Pinger(transports.http)
        self.auctions = Auctions(self.pinger)
        self.steps = Steps(pool, cache, settings.lease_seconds, self.auctions)
        self.notices = Notices(
            pool,
            transports,
            Backoff(settings.notice_retry_base_seconds, settings.notice_max_attempts),
            settings.lease_seconds,
            RunnerSettings(
                settings.notice_concurrency,
                settings.notice_concurrency,
                poll_seconds=settings.notice_poll_seconds,
            ),
        )
        self.deliveries = Deliveries(
            pool,
            cache,
            transports,
            OutcomeWriter(outcomes_pool or pool),
            Backoff(settings.retry_base_seconds, settings.max_attempts),
            on_notices=self.notices.wake,
        )
        self.runner = LeasedRunner(
            lambda room: self._poll(room),  # looked up at each poll (tests count them)
            RunnerSettings(
                settings.batch, settings.concurrency, settings.handed_max, settings.poll_seconds
            ),
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Lease and walk due work, and send due notices, until `stop` is set; then finish
        what runs, and stop waiting for pings' late answers."""
        await asyncio.gather(self.runner.run(stop), self.notices.run(stop))
        await self.pinger.aclose()

    async def idle(self) -> None:
        """Return once all the work due now is done, notices included (tests wait on it)."""
        await self.runner.idle()
        await self.notices.idle()

    def wake(self) -> None:
        """New work was committed in this process: look for it now rather than at the next poll."""
        self.runner.wake()

    def accepted(self, leads: Iterable[tuple[int, int]]) -> None:
        """Leads (account id, lead id) whose jobs this process just committed: walk them now,
        each leasing its own job, while there is room; the rest wait in memory, in order, for
        room (up to `handed_max`; past that, for the poll). A job another process leased
        meanwhile is simply skipped by its walk here; a job lost with this process is in the
        database, for the poll."""
        for account_id, lead_id in leads:
            if not self.runner.hand(
                functools.partial(self._walk, account_id, lead_id, leased=False)
            ):
                return

    async def _poll(self, room: int) -> int:
        """Lease due sends and jobs, up to `room` of each, and start them; how many."""
        lease = self._settings.lease_seconds
        async with transaction(self._pool) as conn:
            sends = await send_store.claim_due(conn, lease, room)
            jobs = await job_store.claim_due(conn, lease, room)
        for account_id, send_id in sends:
            self.runner.start(self._deliver_and_continue(account_id, send_id))
        for account_id, lead_id in jobs:
            self.runner.start(self._walk(account_id, lead_id))
        return len(sends) + len(jobs)

    # -- walking one lead

    async def deliver_now(
        self, account_id: int, lead_id: int, wait_seconds: float = 25.0
    ) -> list[Send]:
        """Walk a just-accepted lead's waterfall to the end and list its sends (returnsends).

        The walk happens here, or in whichever worker leased the job first; either way this
        waits until no delivery is in flight, for at most `wait_seconds`. Sends a delivery
        delay or a retry backoff holds back, a lead whose source delayed it, and a walk still
        going when the time is up (it goes on, on the runner), are listed as they stand.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        while True:
            walk = self.runner.start(self._walk(account_id, lead_id, leased=False))
            await asyncio.wait([walk], timeout=max(0.0, deadline - loop.time()))
            if not walk.done():
                return await self.views.list_sends(account_id, lead_id)
            async with transaction(self._pool) as conn:
                job = await job_store.progress(conn, account_id, lead_id)
            if (
                job is None
                or job.state == "done"
                or (job.state == "pending" and not job.due)
                or (job.state == "waiting" and not job.in_flight)
                or asyncio.get_running_loop().time() > deadline
            ):
                return await self.views.list_sends(account_id, lead_id)
            await asyncio.sleep(0.01)

    async def _walk(self, account_id: int, lead_id: int, *, leased: bool = True) -> None:
        """Steps of a job until it waits on nothing this process delivers. The first step
        leases the job itself unless the poll leased it already; each later step leases it
        again (the answers to the last step's sends woke it), unless another process did."""
        while True:
            sends = await self.steps.take(account_id, lead_id, lease=not leased)
            if not sends:
                return
            jobs = await asyncio.gather(*(self.deliveries.execute(account_id, s) for s in sends))
            if "done" in jobs:  # the answers completed the lead: no step left to take
                return
            leased = False

    async def first_step(self, conn: Connection, job: NewJob) -> list[Reserved] | None:
        """The first step of a just-stored lead, in the caller's transaction that accepts it;
        the sends to deliver once it commits (`deliver_first`), or None to leave the step to
        the lead's walk (server/services/distribution/step.py Steps.first)."""
        return await self.steps.first(conn, job)

    async def first_reserved(
        self, conn: Connection, job: NewJob, reserved: Sequence[ReservedBuyer]
    ) -> list[Reserved]:
        """The sends to the buyers a ping's order reserved, for a just-stored lead posted with
        it, in the caller's transaction (Steps.first_reserved); delivered once it commits."""
        return await self.steps.first_reserved(conn, job, reserved)

    def deliver_first(self, account_id: int, lead_id: int, sends: Sequence[Reserved]) -> None:
        """Deliver the sends a committed first step reserved (`first_step`), then walk on.
        They are on their way at once, whatever the engine's room: each holds a lease that
        another process would take over if they waited past it."""
        if sends:
            self.runner.start(self._continue(account_id, lead_id, sends))

    async def _continue(self, account_id: int, lead_id: int, sends: Sequence[Reserved]) -> None:
        jobs = await asyncio.gather(*(self.deliveries.execute(account_id, s) for s in sends))
        if "done" not in jobs:
            await self._walk(account_id, lead_id, leased=False)

    async def _deliver_and_continue(self, account_id: int, send_id: int) -> None:
        """A send leased by the poll (scheduled, retried or taken over): deliver it; the job it
        wakes is picked up by the next poll."""
        await self.deliveries.deliver_leased(account_id, send_id)
        self.wake()

    async def deliver_send(self, account_id: int, send_id: int) -> None:
        """Deliver one send reserved in flight (a manual send) now, as the worker would: the
        buyer's answer finishes it; a transport failure schedules its retry."""
        await self.deliveries.deliver_leased(account_id, send_id)
