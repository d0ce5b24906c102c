"""The queued posts' worker on the real database, driven through its use cases: a post whose
processing keeps failing is tried again with backoff and answered as not processed after its
attempts; a worker whose lease was taken over stores no lead; a post taken over after its
leads were stored goes on without storing them again; a queued ping whose worker lost its
lease leaves no order behind, and the ping is answered with one order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest

from server.bootstrap import receiver_answer, receiver_ping_answer
from server.domain.intake.queueing import QueueState
from server.services.config_apply import ConfigApply
from server.services.distribution.engine import Distributor
from server.services.intake.identify import Identifier
from server.services.intake.ping import OnAnswered, PingLead
from server.services.intake.posting import PostAnswer, PostLeads
from server.services.intake.queue_worker import QueueSettings, QueueWorker
from server.services.intake.queueing import AnswerForm, QueuedRequest, QueueLeads
from server.services.intake.requests import PingAnswer, PostedLead, PostOutcome, Submission
from server.services.intake.submit import Record, SubmitLeads
from server.services.leads import Leads
from tests.e2e.conftest import EXAMPLE, QUEUE
from tests.e2e.test_ping_post import buyer, document
from tests.support.buyers import BuyerServer

FIELDS = (
    ("FirstName", "Ann"),
    ("LastName", "Lee"),
    ("Email", "worker@example.com"),
    ("Phone", "7025550100"),
    ("Zip", "89101"),
    ("Age", "30"),
)
FORM = AnswerForm("general", "json", "http://receiver.example/")


def request(ids: dict[str, str], leads: int = 1) -> QueuedRequest:
    posted = tuple(
        PostedLead(
            reference=f"worker-{n}",
            fields=tuple((k, f"w{n}{v}" if k == "Email" else v) for k, v in FIELDS),
        )
        for n in range(leads)
    )
    submission = Submission(
        vid=ids["vid"], lid=ids["lid"], aid=ids["aid"], password=ids["password"], leads=posted
    )
    return QueuedRequest(submission)


class Failing(PostLeads):
    """PostLeads failing its first `failures` calls."""

    def __init__(self, real: PostLeads, failures: int) -> None:
        self._real, self.failures, self.calls = real, failures, 0

    async def post(self, submission: Submission, **options: Any) -> PostAnswer:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError("processing failed")
        return await self._real.post(submission, **options)


class Stalled(PostLeads):
    """PostLeads whose first lead's transaction stalls, its lead written but not yet recorded
    nor committed, until released (as a process that stopped answering would)."""

    def __init__(self, real: PostLeads) -> None:
        self._real = real
        self.stalled = asyncio.Event()
        self.release = asyncio.Event()

    async def post(
        self, submission: Submission, *, record: Record | None = None, **options: Any
    ) -> PostAnswer:
        async def recorded(conn: Any, first: int, outcomes: Sequence[PostOutcome]) -> None:
            assert record is not None
            if first == 0 and not self.release.is_set():
                self.stalled.set()
                await self.release.wait()
            await record(conn, first, outcomes)

        return await self._real.post(submission, record=recorded, **options)


class StalledPing(PingLead):
    """A PingLead whose first ping stalls in the transaction that stores its order, the
    order written but the answer not yet kept nor committed, until released; later pings (a
    poll of the same worker may take the ping over too) go through."""

    def __init__(self, real: PingLead) -> None:
        self._real = real
        self.calls = 0
        self.stalled = asyncio.Event()
        self.release = asyncio.Event()

    async def ping(self, submission: Submission, on_answered: OnAnswered | None = None) -> Any:
        self.calls += 1
        first = self.calls == 1

        async def answered(conn: Any, answer: PingAnswer) -> None:
            assert on_answered is not None
            if first:
                self.stalled.set()
                await self.release.wait()
            await on_answered(conn, answer)

        return await self._real.ping(submission, answered)


class Observed(PostLeads):
    """PostLeads noting the states of the queued posts when its leads are stored and, for a
    post that waits for its sends, delivered: before the worker does anything more."""

    def __init__(self, real: PostLeads, pool: Any) -> None:
        self._real, self._pool = real, pool
        self.states: list[list[str]] = []

    async def post(self, submission: Submission, **options: Any) -> PostAnswer:
        answer = await self._real.post(submission, **options)
        async with self._pool.connection() as conn:
            cursor = await conn.execute("SELECT state FROM queued_posts ORDER BY queued_at")
            self.states.append([row["state"] for row in await cursor.fetchall()])
        return answer


class Unrenewed(QueueWorker):
    """A worker that does not renew its lease: it runs out while the worker is stalled."""

    async def _keep(self, lease: Any) -> None:
        return None


@pytest.fixture
async def ids(pool: Any, new_account: Any) -> dict[str, str]:
    """The example config applied to a fresh account, without a server (whose own worker
    would process the posts too)."""
    tenant = await new_account()
    applied = await ConfigApply(pool).apply(tenant.account_id, EXAMPLE)
    return {
        "vid": str(applied.sources["acme-media"]),
        "lid": str(applied.lead_types["auto-insurance"]),
        "aid": str(applied.campaigns["acme-auto-web"]),
        "password": "acme-secret",
    }


@pytest.fixture
def sync_post(pool: Any, distributor: Distributor) -> PostLeads:
    return PostLeads(SubmitLeads(pool, Identifier(), lambda _: None, distributor), distributor)


@asynccontextmanager
async def running(
    pool: Any,
    post: PostLeads,
    settings: QueueSettings,
    kind: type[QueueWorker] = QueueWorker,
    ping: PingLead | None = None,
) -> AsyncIterator[QueueLeads]:
    """A worker processing with `post` (and queued pings with `ping`), running until the
    block ends, and the use case that queues posts for it."""
    pinging = None if ping is None else (ping, receiver_ping_answer)
    worker = kind(pool, post, receiver_answer, settings, ping=pinging)
    queue = QueueLeads(
        pool,
        Identifier(),
        worker.queued,
        max_queued=settings.max_queued,
        reserve_seconds=settings.lease_seconds,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield queue
    finally:
        stop.set()
        await task


async def standing(pool: Any, post_id: str) -> Any:
    found = await Leads(pool).post_status(post_id)
    assert found is not None and found.queue is not None
    return found


async def until_processed(pool: Any, post_id: str, seconds: float = 20) -> Any:
    for _ in range(int(seconds / 0.05)):
        found = await standing(pool, post_id)
        if found.queue.state is QueueState.Processed:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"post {post_id} not processed: {found}")


async def lead_count(pool: Any) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT count(*) AS n FROM leads")
        return int((await cursor.fetchone())["n"])


async def test_a_post_whose_processing_fails_is_tried_again_then_answered(
    pool: Any, ids: Any, sync_post: PostLeads
) -> None:
    failing = Failing(sync_post, failures=1)
    settings = replace(QUEUE, retry_base_seconds=0.05)
    async with running(pool, failing, settings) as queue:
        queued = await queue.queue(request(ids), FORM)
        found = await until_processed(pool, queued.post_id)
    assert failing.calls == 2
    assert b'"ResponseType":"No_Error"' in found.queue.answer
    assert await lead_count(pool) == 1


async def test_a_post_that_keeps_failing_is_answered_as_not_processed(
    pool: Any, ids: Any, sync_post: PostLeads
) -> None:
    failing = Failing(sync_post, failures=100)
    settings = replace(QUEUE, retry_base_seconds=0.05, max_attempts=3)
    async with running(pool, failing, settings) as queue:
        queued = await queue.queue(request(ids, leads=2), FORM)
        found = await until_processed(pool, queued.post_id)
    assert failing.calls == 3
    answer = found.queue.answer.decode()
    assert answer.count("Not processed: processing the queued post failed 3 times") == 2
    assert found.queue.answer_type.startswith("application/json")
    assert await lead_count(pool) == 0


async def test_a_post_answered_without_waiting_is_finished_by_its_last_leads_transaction(
    pool: Any, ids: Any, sync_post: PostLeads
) -> None:
    """A post whose answer waits for no delivery is processed (answered) by the very
    transaction that stores its last lead; one that waits for its sends (returnsends) is
    finished after them."""
    observed = Observed(sync_post, pool)
    async with running(pool, observed, QUEUE) as queue:
        first = await queue.queue(request(ids, leads=2), FORM)
        answered = await until_processed(pool, first.post_id)
        assert observed.states == [["processed"]]
        one = request(ids)
        fields = tuple((k, "later@example.com" if k == "Email" else v) for k, v in FIELDS)
        lead = replace(one.submission.leads[0], fields=fields)
        submission = replace(one.submission, leads=(lead,))
        second = await queue.queue(replace(one, submission=submission, wait_for_sends=True), FORM)
        await until_processed(pool, second.post_id)
    assert observed.states == [["processed"], ["processed", "processing"]]
    assert answered.queue.answer.decode().count('"ResponseType":"No_Error"') == 2
    assert await lead_count(pool) == 3


async def test_a_worker_whose_lease_was_taken_over_stores_nothing_and_the_post_is_done_once(
    pool: Any, ids: Any, sync_post: PostLeads
) -> None:
    """A worker stalls in its first lead's transaction past its lease; a poll (of either
    worker) takes the post over; released, each stalled attempt finds its lease gone and rolls
    its lead back, and the post's lead is stored and answered once."""
    stalled = Stalled(sync_post)
    settings = replace(QUEUE, lease_seconds=0.6)
    async with running(pool, stalled, settings, Unrenewed) as queue:
        queued = await queue.queue(request(ids), FORM)
        await asyncio.wait_for(stalled.stalled.wait(), 10)
        async with running(pool, sync_post, settings):
            await asyncio.sleep(1.5)  # the lease runs out; the second worker takes the post
            assert (await standing(pool, queued.post_id)).queue.state is QueueState.Processing
            stalled.release.set()
            found = await until_processed(pool, queued.post_id)
    assert await lead_count(pool) == 1
    assert b'"ResponseType":"No_Error"' in found.queue.answer


async def test_a_queued_ping_whose_worker_lost_its_lease_leaves_no_order_behind(
    pool: Any, new_account: Any, buyers: BuyerServer, sync_post: PostLeads, distributor: Any
) -> None:
    """A worker stalls in the ping's last transaction, its order written, past its lease;
    another worker takes the ping over and answers it with an order; released, the stalled
    attempt finds its lease gone and rolls its order back: the ping has one order, the one
    its kept answer names."""
    tenant = await new_account()
    applied = await ConfigApply(pool).apply(
        tenant.account_id, document([buyer("only", buyers, "25")], channel="post")
    )
    ids = {
        "vid": str(applied.sources["acme-media"]),
        "lid": str(applied.lead_types["auto-insurance"]),
        "aid": str(applied.campaigns["acme-auto-web"]),
        "password": "acme-secret",
    }
    real = PingLead(pool, Identifier(), lambda _: None, distributor.cache, distributor.auctions)
    stalled = StalledPing(real)
    settings = replace(QUEUE, lease_seconds=0.6)
    pinged = replace(request(ids), ping=True)
    async with running(pool, sync_post, settings, Unrenewed, stalled) as queue:
        try:
            form = AnswerForm("ping", "json", "http://receiver.example/")
            queued = await queue.queue(pinged, form)
            await asyncio.wait_for(stalled.stalled.wait(), 10)
            async with running(pool, sync_post, settings, ping=real):
                found = await until_processed(pool, queued.post_id)
        finally:
            stalled.release.set()  # the stalled attempt finds its lease gone
    answer = found.queue.answer.decode()
    assert '"WillAccept":true' in answer
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT id FROM ping_orders WHERE account_id = %s", [tenant.account_id]
        )
        orders = [str(row["id"]) for row in await cursor.fetchall()]
    assert len(orders) == 1 and f'"OrderID":"{orders[0]}"' in answer


class FailingPing(PingLead):
    """A PingLead whose every ping fails."""

    def __init__(self) -> None:
        self.calls = 0

    async def ping(self, submission: Submission, on_answered: OnAnswered | None = None) -> Any:
        self.calls += 1
        raise RuntimeError("pinging failed")


async def test_a_queued_ping_that_keeps_failing_is_answered_as_a_ping_not_processed(
    pool: Any, ids: Any, sync_post: PostLeads
) -> None:
    failing = FailingPing()
    settings = replace(QUEUE, retry_base_seconds=0.05, max_attempts=2)
    pinged = replace(request(ids), ping=True)
    async with running(pool, sync_post, settings, ping=failing) as queue:
        queued = await queue.queue(pinged, AnswerForm("ping", "xml", "http://receiver.example/"))
        found = await until_processed(pool, queued.post_id)
    assert failing.calls == 2
    answer = found.queue.answer.decode()
    assert answer.startswith('<?xml version="1.0" encoding="utf-8"?>\n<PingResponse ')
    assert "<WillAccept>false</WillAccept>" in answer
    assert "Not processed: processing the queued post failed 2 times" in answer
