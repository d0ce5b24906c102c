"""Queuing posts, as the /async insert URLs do (QueueLeads).

A post is checked as its synchronous URL checks it before any lead: who posts it, for which
lead type and campaign, with which credentials, whether it can be read and is within the
limits; and its `returnurl`. A refusal is logged and answered at once, as the synchronous URL
answers it. Otherwise the post is written with its post log entry and its queue entry in one
transaction (with the posts queued at the same moment: group commit), within the account's
limit of posts waiting, and handed to this process's worker
(queue_worker.py), which processes it as the synchronous URL would.

The request is stored as the lead service reads it (`request_document`), without its body
(the post log entry keeps that, as for any post) and with its password and API key apart,
dropped once the post is processed.

A ping's /async URL queues the ping the same way, without its contact fields (a ping's
contact data is never stored: its post log entry keeps the rest, URL-encoded, as a ping's
does); the worker processes it as PingLead, and its order is made then.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from server.domain.intake.offers import NO_OFFER, OfferChoice
from server.domain.intake.queueing import QUEUED, queue_full, return_url_refusal
from server.domain.intake.screening import ResponseType, SaleKind, Step
from server.errors import InvalidArgument, Violation
from server.services.intake import post_log
from server.services.intake.identify import Identifier, Refused, Target, micros
from server.services.intake.ping import refuse_ping, without_contact_fields
from server.services.intake.requests import PingAnswer, PostedLead, PostOutcome, Submission
from server.services.intake.submit import identified, refuse
from server.storage import queued_posts as queue_store
from server.storage.database import Pool, statements, transaction

RESPONSE_FORMATS = ("json", "xml")
_DOCUMENT_VERSION = 1


@dataclass(frozen=True)
class AnswerForm:
    """How a queued post's answer is written once processed, as its async URL asked: the
    insert URL's name (general, returnsends, ...), json or xml, and the receiver's base URL
    (for the answer's StatusURL). The lead service keeps it for the receiver's writer."""

    endpoint: str
    response_format: str
    receiver_url: str


@dataclass(frozen=True)
class QueuedRequest:
    """A queued post's request, as processing it needs it: what SubmitLeads takes, and what
    the insert URL asked of PostLeads."""

    submission: Submission
    wait_for_sends: bool = False
    return_url: str = ""
    ping: bool = False  # a ping's: processed as PingLead


@dataclass(frozen=True)
class QueueAnswer:
    """What an async post is answered at once."""

    queued: bool  # QueueSuccessful
    post_id: str
    details: str
    # a request refused before queuing: the answers its synchronous URL gives, one per lead
    refused: tuple[PostOutcome, ...] = ()
    refused_ping: PingAnswer | None = None  # or, a ping's: the answer PingLead gives it


class QueueLeads:
    """Checks and queues the async URLs' posts, and hands each to this process's worker."""

    def __init__(
        self,
        pool: Pool,
        identifier: Identifier,
        on_queued: Callable[[int, str], None],
        *,
        max_queued: int,
        reserve_seconds: float,
    ) -> None:
        """`on_queued(account_id, post_id)`: a post was committed to the queue (this process's
        worker starts it). `max_queued`: posts an account may have waiting unless it set
        its own limit. For
        `reserve_seconds` only this process may start a post it queued; then any may."""
        self._pool = pool
        self._identifier = identifier
        self._on_queued = on_queued
        self._max_queued = max_queued
        self._writer = queue_store.QueueWriter(
            pool, max_queued=max_queued, reserve_seconds=reserve_seconds
        )

    async def queue(self, request: QueuedRequest, form: AnswerForm) -> QueueAnswer:
        """Check the post, and queue it with its post log entry in one statement unless it
        is refused (answered as its synchronous URL would) or the account's queue is full
        (not queued, and said why).

        The checks only read: they run without BEGIN and COMMIT. Posts are queued in groups,
        one transaction for every post that arrives while the group before is written
        (`QueueWriter`). The refusals of a request's leads are logged in one transaction."""
        if form.response_format not in RESPONSE_FORMATS:
            wrong = f"must be json or xml, got {form.response_format!r}"
            raise InvalidArgument([Violation("answer.response_type", wrong)])
        submission = request.submission
        target = Target()
        async with statements(self._pool) as conn:
            refused = await identified(conn, self._identifier, submission, target)
            reason = return_url_refusal(request.return_url) if refused is None else ""
            if reason:
                refused = Refused(ResponseType.Data_Errors, reason)
        if refused is not None and request.ping:
            async with transaction(self._pool) as conn:
                no = await refuse_ping(conn, submission, target, refused, str(uuid.uuid4()))
            return QueueAnswer(False, no.request_id, no.details, refused_ping=no)
        if refused is not None:
            async with transaction(self._pool) as conn:
                refusals = await refuse(conn, submission, target, refused)
            return QueueAnswer(False, refusals[0].post_id, refusals[0].details, tuple(refusals))
        answer = await self._enqueue(request, form, target)
        if answer.queued:
            self._on_queued(target.account_id, answer.post_id)
        return answer

    async def _enqueue(
        self, request: QueuedRequest, form: AnswerForm, target: Target
    ) -> QueueAnswer:
        """Queue an identified post with its post log entry, or log why the account's queue
        cannot take it."""
        assert target.source_id is not None
        if request.ping:
            kept = without_contact_fields(request.submission, target)
            request = replace(request, submission=kept)
        submission = request.submission
        clock = time.perf_counter()
        post_id = str(uuid.uuid4())
        campaign_id = target.campaign_id or 0
        document, credentials = request_document(request)
        queued = PostOutcome(post_id, ResponseType.No_Error, QUEUED, campaign_id=campaign_id)
        step = Step("queue", "passed", "", micros(clock))
        entry = post_log.entry(submission, target, 0, queued, [*target.steps, step])
        new = queue_store.NewQueuedPost(
            post=replace(entry, ping=request.ping),
            source_id=target.source_id,
            request=document,
            credentials=credentials,
            return_url=request.return_url,
            endpoint=form.endpoint,
            response_format=form.response_format,
            receiver_url=form.receiver_url,
        )
        if await self._writer.enqueue(new):
            return QueueAnswer(True, post_id, QUEUED)
        async with statements(self._pool) as conn:
            limit = await queue_store.queue_limit(conn, target.account_id, self._max_queued)
            full = queue_full(limit)
            over = PostOutcome(post_id, ResponseType.Post_Over_Max, full, campaign_id=campaign_id)
            step = Step("queue", "failed", full, micros(clock))
            steps = [*target.steps, step]
            await post_log.log(conn, submission, target, 0, over, steps, ping=request.ping)
        return QueueAnswer(False, post_id, full)


def request_document(request: QueuedRequest) -> tuple[bytes, bytes]:
    """A queued request as stored: the request without its body (JSON), and its password
    and API key apart (JSON). JSON text, not jsonb: a posted value may hold a NUL."""
    sub = request.submission
    document = {
        "v": _DOCUMENT_VERSION,
        "vid": sub.vid,
        "lid": sub.lid,
        "aid": sub.aid,
        "send_delay_hours": sub.send_delay_hours,
        "leads": [
            {
                "reference": lead.reference,
                "no_sell": lead.no_sell,
                "fields": [list(pair) for pair in lead.fields],
                "call": [list(pair) for pair in lead.call],
                "tags": list(lead.tags),
                "offer": None if lead.offer.empty else asdict(lead.offer),
            }
            for lead in sub.leads
        ],
        "v2": sub.v2,
        "remote_ip": sub.remote_ip,
        "request_format": sub.request_format,
        "sale_kind": int(sub.sale_kind),
        "order_id": sub.order_id,
        "wait_for_sends": request.wait_for_sends,
        "return_url": request.return_url,
        "ping": request.ping,
    }
    credentials = {"password": sub.password, "api_key": sub.api_key}
    return _json(document), _json(credentials)


def queued_request(document: bytes, credentials: bytes, post_id: str) -> QueuedRequest:
    """A stored request (`request_document`), as processing reads it: its leads' post log
    entries name the queued post's entry (`post_id`), which holds the body."""
    read: dict[str, Any] = json.loads(document)
    if read.get("v") != _DOCUMENT_VERSION:
        raise ValueError(f"queued post {post_id}: unknown request document {read.get('v')!r}")
    secret: dict[str, str] = json.loads(credentials) if credentials else {}
    submission = Submission(
        vid=read["vid"],
        lid=read["lid"],
        aid=read["aid"],
        password=secret.get("password", ""),
        api_key=secret.get("api_key", ""),
        send_delay_hours=read["send_delay_hours"],
        leads=tuple(
            PostedLead(
                reference=lead["reference"],
                no_sell=lead["no_sell"],
                fields=tuple((name, value) for name, value in lead["fields"]),
                call=tuple((name, value) for name, value in lead["call"]),
                tags=tuple(lead.get("tags", ())),
                offer=_offer(lead.get("offer")),
            )
            for lead in read["leads"]
        ),
        v2=read.get("v2", False),
        remote_ip=read["remote_ip"],
        request_format=read["request_format"],
        sale_kind=SaleKind(read["sale_kind"]),
        order_id=read.get("order_id", ""),  # absent from posts queued before ping-post
        request_post_id=post_id,
    )
    ping = read.get("ping", False)  # absent from posts queued before async pings
    return QueuedRequest(submission, read["wait_for_sends"], read["return_url"], ping)


def _offer(stored: dict[str, Any] | None) -> OfferChoice:
    if not stored:
        return NO_OFFER
    return OfferChoice(**{**stored, "offer_ids": tuple(stored["offer_ids"])})


def _json(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
