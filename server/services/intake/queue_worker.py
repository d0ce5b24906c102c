"""Processing queued posts: the /async insert URLs' posts, on a leased-work runner of their own.

Each post is leased to one worker (the process that queued it starts it at once; any
process's poll takes posts whose reservation or lease ran out), processed as its synchronous
URL would process it (PostLeads, with the request as stored: same checks, same answer, same
distribution), and finished: the answer that URL would have given, written as the async URL
asked, is stored with the state change in one statement guarded by the lease (with the
callback queued, for a post with a returnurl). When the answer waits for no delivery, the
transaction that stores the post's last lead finishes it; otherwise a transaction of its own
does, after the deliveries. A lease held longer than a third of `lease_seconds` is renewed
while the post is processed.

Crash safety: each lead's answer is recorded, under the lease, in the very transaction that
stores the lead (`record`). A worker whose lease was taken over (it stalled) stores nothing
more; a post taken over after its worker died goes on from the first lead not stored, and
the leads stored before are answered, not stored again. A post whose processing fails is
tried again with backoff; past `max_attempts` its leads not stored are answered as not
processed.

A queued ping (a ping's /async URL) is processed as PingLead, its order made then; its answer
is kept, and its callback queued, in the transaction that stores its order and logs it, so
that a worker that dies before that commit leaves no order behind, and one that dies after
leaves the ping processed: a ping is never answered twice.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from server.domain.intake.queueing import DEFAULT_MAX_QUEUED, not_processed
from server.domain.intake.screening import ResponseType, Step
from server.services.intake.identify import micros
from server.services.intake.ping import PingLead
from server.services.intake.posting import LeadAnswer, PostAnswer, PostLeads, answer_deadline
from server.services.intake.queueing import AnswerForm, QueuedRequest, queued_request
from server.services.intake.requests import PingAnswer, PostOutcome
from server.services.intake.submit import Record
from server.services.runner import Backoff, LeasedRunner, RunnerSettings
from server.storage import queued_posts as queue_store
from server.storage.database import Connection, Pool, statements, transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueSettings:
    # how long a worker holds a queued post before another process may take it over (it is
    # renewed while processing lasts): the recovery time after a crash
    lease_seconds: float = 30.0
    max_queued: int = DEFAULT_MAX_QUEUED  # posts an account may have waiting
    connections: int = 4  # the worker's own database connections, per process
    batch: int = 32  # posts leased per poll
    concurrency: int = 32  # posts processed at once by one process
    handed_max: int = 10_000  # posts queued here waiting in memory for room
    poll_seconds: float = 0.2  # how often an idle worker looks for other processes' posts
    max_attempts: int = 5  # attempts at a post whose processing fails
    retry_base_seconds: float = 2.0  # backoff: base * 2^(attempt-1)
    # the time a synchronous post is given (the receiver waits 30 s for the lead service):
    # a queued one is processed within the same, so that it gets the same answer
    answer_seconds: float = 30.0


@dataclass(frozen=True)
class WrittenAnswer:
    """An answer as the receiver writes it: its media type and bytes."""

    content_type: str
    body: bytes


# Writes a processed post's answer as its synchronous URL would have written it: the
# answer, how its async URL asked for it, the request's format (JSON, XML, URL-encoded) and
# its leads' noSell flags (a V2 answer says a noSell lead was stored and not distributed).
WriteAnswer = Callable[[PostAnswer, AnswerForm, str, Sequence[bool]], WrittenAnswer]
# Writes a processed ping's answer (its PingResponse) as its synchronous URL would have.
WritePing = Callable[[PingAnswer, AnswerForm], WrittenAnswer]


@dataclass(frozen=True)
class ProcessedPost:
    """A queued post just processed whose source gave a `returnurl`: what its callback
    carries."""

    account_id: int
    source_id: int
    post_id: str  # the queued post's PostID
    return_url: str
    content_type: str
    body: bytes  # the answer its synchronous URL would have given


# Called in the transaction that records a post processed, for a post with a returnurl.
OnProcessed = Callable[[Connection, ProcessedPost], Awaitable[None]]


class LeaseLost(Exception):
    """Another worker took the queued post over: this one writes nothing more of it."""


class QueueWorker:
    """Processes queued posts, this process's and (through the poll) any other's."""

    def __init__(
        self,
        pool: Pool,
        post: PostLeads,
        write: WriteAnswer,
        settings: QueueSettings | None = None,
        *,
        ping: tuple[PingLead, WritePing] | None = None,
        on_processed: OnProcessed | None = None,
        on_committed: Callable[[], None] = lambda: None,
    ) -> None:
        """`ping`: what processes queued pings and writes their answers (None: a queued
        ping fails, and is given up as not processed); `on_processed`: queues a processed
        post's callback, in its transaction; `on_committed`: called once such a transaction
        is committed (the callbacks' wake)."""
        self._pool = pool
        self._post = post
        self._write = write
        self._ping = ping
        self._on_processed = on_processed
        self._on_committed = on_committed
        self._settings = settings = settings or QueueSettings()
        self._backoff = Backoff(settings.retry_base_seconds, settings.max_attempts)
        self.runner = LeasedRunner(
            lambda room: self._poll(room),
            RunnerSettings(
                settings.batch, settings.concurrency, settings.handed_max, settings.poll_seconds
            ),
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Lease and process queued posts until `stop` is set; then finish those under way."""
        await self.runner.run(stop)

    def queued(self, account_id: int, post_id: str) -> None:
        """A post this process just queued: start it while there is room, else keep it in
        memory for room; past that (or once its reservation runs out) a poll finds it."""
        self.runner.hand(functools.partial(self._start, account_id, post_id))

    async def _poll(self, room: int) -> int:
        async with statements(self._pool) as conn:
            claimed = await queue_store.claim_due(conn, self._settings.lease_seconds, room)
        for leased in claimed:
            self.runner.start(self._process(leased))
        return len(claimed)

    async def _start(self, account_id: int, post_id: str) -> None:
        async with statements(self._pool) as conn:
            leased = await queue_store.start(
                conn, account_id, post_id, self._settings.lease_seconds
            )
        if leased is not None:  # else a poll took it over meanwhile
            await self._process(leased)

    async def _process(self, leased: queue_store.LeasedPost) -> None:
        """Process a leased post as its synchronous URL would, and store its answer."""
        lease = leased.lease
        started = time.perf_counter()
        answered = [_outcome(a) for a in leased.answered]
        if lease.attempt > self._settings.max_attempts:
            await self._give_up(leased, answered)
            return
        keeper = asyncio.create_task(self._keep(lease))
        try:
            request = queued_request(leased.request, leased.credentials, lease.post_id)
            if request.ping:
                await self._process_ping(leased, request, started)
                return
            no_sell = [lead.no_sell for lead in request.submission.leads]
            request_format = request.submission.request_format

            async def finish(conn: Connection, answer: PostAnswer) -> None:
                finished = self._finished(leased, request_format, answer, started, no_sell)
                await self._store(conn, leased, *finished)

            keep = functools.partial(self._record, lease)
            recorder = _Recorder(request, answered, keep, finish)
            answer = await self._post.post(
                request.submission,
                wait_for_sends=request.wait_for_sends,
                return_url=request.return_url,
                deadline=answer_deadline(self._settings.answer_seconds),
                answered=answered,
                record=recorder.record,
            )
            if recorder.finished:
                if self._calls_back(leased):
                    self._on_committed()
                return
            await self._kept(
                leased, *self._finished(leased, request_format, answer, started, no_sell)
            )
        except LeaseLost:
            log.warning("queued post %s: taken over by another worker", lease.post_id)
        except Exception:
            delay = self._backoff.delay(lease.attempt) or 0.0
            failed = (lease.post_id, lease.attempt, delay)
            log.exception("queued post %s: attempt %d failed; next in %g s", *failed)
            async with statements(self._pool) as conn:
                await queue_store.release(conn, lease, delay)
        finally:
            keeper.cancel()

    async def _process_ping(
        self, leased: queue_store.LeasedPost, request: QueuedRequest, started: float
    ) -> None:
        """Ping as the synchronous URL would; its answer kept (and its callback queued) in
        the transaction that stores its order and logs it."""
        if self._ping is None:
            raise RuntimeError("this worker was given no PingLead for queued pings")
        pinging, write = self._ping
        form = AnswerForm(leased.endpoint, leased.response_format, leased.receiver_url)

        async def keep(conn: Connection, answer: PingAnswer) -> None:
            finished = _ping_finished(leased, write(answer, form), answer, started)
            await self._store(conn, leased, *finished)

        await pinging.ping(request.submission, keep)
        if self._calls_back(leased):
            self._on_committed()

    async def _record(
        self,
        lease: queue_store.Lease,
        conn: Connection,
        first: int,
        outcomes: Sequence[PostOutcome],
    ) -> None:
        """Keep the answers of leads just stored or refused, in their transaction: once the
        lease is lost, the transaction is rolled back and the leads are not stored."""
        if not await queue_store.record(conn, lease, first, [_answered(o) for o in outcomes]):
            raise LeaseLost(lease.post_id)

    async def _keep(self, lease: queue_store.Lease) -> None:
        """Renew the lease while the post is processed."""
        seconds = self._settings.lease_seconds
        while True:
            await asyncio.sleep(seconds / 3)
            try:
                async with statements(self._pool) as conn:
                    if not await queue_store.renew(conn, lease, seconds):
                        return
            except Exception:
                log.exception("queued post %s: renewing the lease failed", lease.post_id)

    async def _give_up(self, leased: queue_store.LeasedPost, answered: list[PostOutcome]) -> None:
        """A post whose attempts are used up: the leads stored are answered as they were,
        the others as not processed."""
        post_id = leased.lease.post_id
        attempts = leased.lease.attempt - 1
        log.error("queued post %s: given up after %d attempts", post_id, attempts)
        try:
            request = queued_request(leased.request, leased.credentials, post_id)
            submission, ping = request.submission, request.ping
            leads, request_format = len(submission.leads), submission.request_format
            no_sell = [lead.no_sell for lead in submission.leads]
        except (ValueError, KeyError, TypeError):  # a request this version cannot read
            leads, request_format, no_sell, ping = len(answered), "", [], False
        details = not_processed(attempts)
        missing = max(1, leads) - len(answered)
        lost = [PostOutcome("", ResponseType.Data_Errors, details) for _ in range(missing)]
        answer = PostAnswer([LeadAnswer(o) for o in [*answered, *lost]], redirect_to="")
        try:
            if ping and self._ping is not None:
                refused = PingAnswer("", False, ResponseType.Data_Errors, details)
                form = AnswerForm(leased.endpoint, leased.response_format, leased.receiver_url)
                written = self._ping[1](refused, form)
                finished = _ping_finished(leased, written, refused, time.perf_counter())
                await self._kept(leased, *finished)
                return
            finished = self._finished(leased, request_format, answer, time.perf_counter(), no_sell)
            await self._kept(leased, *finished)
        except LeaseLost:
            log.warning("queued post %s: taken over by another worker", leased.lease.post_id)

    def _finished(
        self,
        leased: queue_store.LeasedPost,
        request_format: str,
        answer: PostAnswer,
        started: float,
        no_sell: Sequence[bool],
    ) -> tuple[queue_store.Finished, WrittenAnswer]:
        """The answer written as the async URL asked, and what the post's log entry shows,
        for `_kept` (or `_store`, in the last lead's transaction) to store with the state
        change, guarded by the lease."""
        form = AnswerForm(leased.endpoint, leased.response_format, leased.receiver_url)
        written = self._write(answer, form, request_format, no_sell)
        first = answer.leads[0].outcome
        summary = "; ".join(
            f"post {a.outcome.post_id or '-'}: {a.outcome.response.name}"
            + (f", lead {a.outcome.lead_id}" if a.outcome.lead_id else "")
            for a in answer.leads[:20]
        )
        finished = queue_store.Finished(
            answer_type=written.content_type,
            answer=written.body,
            first=_answered(first),
            first_accepted=first.accepted,
            step=Step("process", "passed", summary, micros(started)),
        )
        return finished, written

    def _calls_back(self, leased: queue_store.LeasedPost) -> bool:
        return bool(leased.return_url) and self._on_processed is not None

    async def _kept(
        self, leased: queue_store.LeasedPost, finished: queue_store.Finished, written: WrittenAnswer
    ) -> None:
        """Keep the answer on its own: one statement, unless a callback is queued with it
        (then one transaction)."""
        calls_back = self._calls_back(leased)
        async with (transaction if calls_back else statements)(self._pool) as conn:
            await self._store(conn, leased, finished, written)
        if calls_back:
            self._on_committed()

    async def _store(
        self,
        conn: Connection,
        leased: queue_store.LeasedPost,
        finished: queue_store.Finished,
        written: WrittenAnswer,
    ) -> None:
        """Store the answer with the state change, guarded by the lease, and hand a post with
        a returnurl to its callback, on `conn`."""
        if not await queue_store.finish(conn, leased.lease, finished):
            raise LeaseLost(leased.lease.post_id)
        await self._answered(conn, leased, written)

    async def _answered(
        self, conn: Connection, leased: queue_store.LeasedPost, written: WrittenAnswer
    ) -> None:
        """The post is processed and has a returnurl: its callback is queued here, in the
        transaction that records the post processed (`on_processed`), with the answer its
        synchronous URL would have given, as its async URL asked for it."""
        if not leased.return_url or self._on_processed is None:
            return
        await self._on_processed(
            conn,
            ProcessedPost(
                account_id=leased.lease.account_id,
                source_id=leased.source_id,
                post_id=leased.lease.post_id,
                return_url=leased.return_url,
                content_type=written.content_type,
                body=written.body,
            ),
        )


class _Recorder:
    """Keeps the answers of a queued post's leads in the transactions that store them
    (`keep`); the transaction of its last lead, when the answer waits for no delivery,
    finishes the post instead (`finish`: its answer stored, its callback queued), one
    transaction fewer per post."""

    def __init__(
        self,
        request: QueuedRequest,
        answered: Sequence[PostOutcome],
        keep: Record,
        finish: Callable[[Connection, PostAnswer], Awaitable[None]],
    ) -> None:
        self._request = request
        self._outcomes = list(answered)
        self._keep = keep
        self._finish = finish
        self.finished = False  # the post was finished in its last lead's transaction

    async def record(self, conn: Connection, first: int, outcomes: Sequence[PostOutcome]) -> None:
        submission = self._request.submission
        self._outcomes[first:] = outcomes
        answer = None
        if len(self._outcomes) >= max(1, len(submission.leads)):
            answer = PostLeads.answer_at_once(
                submission, self._outcomes, wait_for_sends=self._request.wait_for_sends
            )
        if answer is None:
            await self._keep(conn, first, outcomes)
            return
        await self._finish(conn, answer)
        self.finished = True


def _ping_finished(
    leased: queue_store.LeasedPost, written: WrittenAnswer, answer: PingAnswer, started: float
) -> tuple[queue_store.Finished, WrittenAnswer]:
    """A processed ping's answer, and what its queued post's log entry shows: the ping's
    answer and a `process` step naming its RequestID and order."""
    summary = f"ping {answer.request_id or '-'}: {answer.response.name}"
    details = answer.details
    if answer.order_id:
        summary += f", order {answer.order_id}"
        details = f"{details}: order {answer.order_id}"
    first = queue_store.AnsweredLead(
        post_id=answer.request_id,
        response_type=int(answer.response),
        details=details,
        campaign_id=answer.campaign_id,
        price=answer.price if answer.will_accept else Decimal("0"),
        account_id=leased.lease.account_id,
    )
    finished = queue_store.Finished(
        answer_type=written.content_type,
        answer=written.body,
        first=first,
        first_accepted=answer.will_accept,
        step=Step("process", "passed", summary, micros(started)),
    )
    return finished, written


def _answered(outcome: PostOutcome) -> queue_store.AnsweredLead:
    return queue_store.AnsweredLead(
        post_id=outcome.post_id,
        response_type=int(outcome.response),
        details=outcome.details,
        lead_id=outcome.lead_id,
        campaign_id=outcome.campaign_id,
        price=outcome.price,
        pending_qc=outcome.pending_qc,
        account_id=outcome.account_id,
    )


def _outcome(lead: queue_store.AnsweredLead) -> PostOutcome:
    return PostOutcome(
        post_id=lead.post_id,
        response=ResponseType(lead.response_type),
        details=lead.details,
        lead_id=lead.lead_id,
        campaign_id=lead.campaign_id,
        price=lead.price,
        pending_qc=lead.pending_qc,
        account_id=lead.account_id,
    )
