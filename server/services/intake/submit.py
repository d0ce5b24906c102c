"""Submitting leads: identify the request, screen each lead, enforce the campaign's status, caps
and duplicates, store it, and log every post, accepted or not.

Each lead runs the pure screening steps; an accepted one is stored after locking its campaign
row when the campaign has a cap (so hour/day/month caps are exact under concurrency, across
processes) and then an advisory lock on its duplicate key (so two identical leads at the same
instant give one lead and one Duplicate_Lead).

A request is identified, and its first lead screened, stored and logged, in one transaction:
a single post costs one commit. A lead due for distribution now gets its first distribution
step in that transaction too, and this process's engine delivers it once it commits.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from server.domain.caps import NOTHING_COUNTED, cap_reached, cap_windows
from server.domain.catalog.fields import Value
from server.domain.catalog.specs import Channel, PricingModel, Status
from server.domain.intake.call_data import screening_values
from server.domain.intake.contacts import contact_keys
from server.domain.intake.duplicates import duplicate_key
from server.domain.intake.limits import MAX_LEADS_PER_REQUEST
from server.domain.intake.offers import Chosen, Offered, choose
from server.domain.intake.ping import (
    OrderRefusal,
    changed_fields,
    changed_refusal,
    eligibility_values,
    malformed_order_refusal,
    missing_order_refusal,
    order_refusal,
    parse_order_id,
)
from server.domain.intake.screening import ResponseType, Screening, Step, ZipLookup, screen
from server.domain.visits import valid_visit_id
from server.services.distribution.engine import Distributor
from server.services.distribution.step import NewJob, Reserved, ReservedBuyer
from server.services.intake import post_log
from server.services.intake.identify import Identifier, Refused, Target, micros
from server.services.intake.offers import EligibleOffers, reserved_offers
from server.services.intake.requests import PostOutcome, Submission
from server.storage import buyers as buyer_store
from server.storage import leads as lead_store
from server.storage import orders as orders_store
from server.storage import ping_orders as ping_store
from server.storage.database import Connection, Pool, rolled_back, transaction

log = logging.getLogger(__name__)

# what a stored lead's first distribution step reserved, to deliver once it commits
FirstStep = list[Reserved] | None
# Told, in the transaction that stores or refuses them, the answers of the leads from an
# index on, before it commits (SubmitLeads.submit).
Record = Callable[[Connection, int, Sequence[PostOutcome]], Awaitable[None]]


class SubmitLeads:
    """Stores posted leads (SubmitLeads), and hands each accepted one to the engine."""

    def __init__(
        self,
        pool: Pool,
        identifier: Identifier,
        zip_lookup: ZipLookup,
        engine: Distributor | None = None,
        offers: EligibleOffers | None = None,
    ) -> None:
        """`engine`: this process's distribution engine. It takes each accepted lead's first
        step in the transaction that stores the lead, and hears of each lead once committed,
        to deliver and walk it at once. Without one, leads wait for a worker's poll.
        `offers`: finds the offers of a lead posted to a campaign returning client offers;
        without it such a post is refused."""
        self._pool = pool
        self._identifier = identifier
        self._zip_lookup = zip_lookup
        self._engine = engine
        self._offers = offers

    async def submit(
        self,
        submission: Submission,
        deadline: float | None = None,
        *,
        start: int = 0,
        record: Record | None = None,
    ) -> list[PostOutcome]:
        """One outcome per posted lead, in order (one outcome when the request had none).

        The request is identified, and its first lead screened, stored and logged, in one
        transaction (a refusal is logged in it too); each further lead has one of its own.
        Once `deadline` (time.monotonic()) is past, the leads not started are answered as not
        processed: nothing of them is stored, and the source may post them again.

        `start`: the leads before it were answered already (a queued post taken over after a
        crash) and are skipped. `record`: called in each of those transactions with the
        answers it gives, before it commits (a queued post's worker keeps them, guarded by
        its lease: raising rolls the transaction back).
        """
        target = Target()
        async with transaction(self._pool) as conn:
            refused = await identified(conn, self._identifier, submission, target)
            if refused is not None:
                refusals = await refuse(conn, submission, target, refused, start)
                if record is not None:
                    await record(conn, start, refusals)
                return refusals
            outcome, first = await self._receive(conn, submission, target, start, identified=True)
            if record is not None:
                await record(conn, start, [outcome])
        outcomes = [outcome]
        self._hand_over(outcome, first)
        for index in range(start + 1, len(submission.leads)):
            if deadline is not None and time.monotonic() >= deadline:
                outcomes += _not_processed(submission, target, index)
                break
            async with transaction(self._pool) as conn:
                outcome, first = await self._receive(conn, submission, target, index)
                if record is not None:
                    await record(conn, index, [outcome])
            outcomes.append(outcome)
            self._hand_over(outcome, first)
        return outcomes

    def _hand_over(self, outcome: PostOutcome, first: FirstStep) -> None:
        """Once a lead's transaction committed: this process's engine delivers the sends its
        first step reserved, or walks it (no need to wait for a poll)."""
        if self._engine is None or not outcome.lead_id or outcome.pending_qc:
            return
        if first is None:
            self._engine.accepted([(outcome.account_id, outcome.lead_id)])
        else:
            self._engine.deliver_first(outcome.account_id, outcome.lead_id, first)

    async def _receive(
        self,
        conn: Connection,
        submission: Submission,
        target: Target,
        index: int,
        *,
        identified: bool = False,
    ) -> tuple[PostOutcome, FirstStep]:
        """Screen, store and log one lead in the caller's transaction. `identified`: the
        request was identified in this transaction too, so the campaign's status was read in
        it."""
        assert target.campaign is not None and target.campaign_id is not None
        campaign = target.campaign
        lead = submission.leads[index]
        posted = dict(lead.fields)
        call = dict(lead.call) if submission.sale_kind.takes_call_data else None
        screening = screen(
            campaign,
            target.fields,
            posted,
            self._zip_lookup,
            call,
            lead.reference,
            now=datetime.now(UTC),
        )
        steps = [*target.steps, *screening.steps]
        post_id = str(uuid.uuid4())
        post_log.unknown_fields(post_id, screening.extras)
        if not screening.accepted:
            outcome = PostOutcome(
                post_id, screening.response, screening.details, campaign_id=target.campaign_id
            )
            await post_log.log(conn, submission, target, index, outcome, steps)
            return outcome, None
        consent = None
        if campaign.return_client_offers or not lead.offer.empty:
            consent = await self._consent(conn, submission, target, index, screening, steps)
            if consent.refusal:
                outcome = PostOutcome(
                    post_id,
                    ResponseType.Data_Errors,
                    consent.refusal,
                    campaign_id=target.campaign_id,
                    offers=consent.offered,
                )
                await post_log.log(conn, submission, target, index, outcome, steps)
                return outcome, None
        outcome, first = await self._store(
            conn, submission, target, index, post_id, screening, steps, identified, consent
        )
        if not outcome.accepted:
            await post_log.log(conn, submission, target, index, outcome, steps)
        return outcome, first

    async def _store(
        self,
        conn: Connection,
        submission: Submission,
        target: Target,
        index: int,
        post_id: str,
        screening: Screening,
        steps: list[Step],
        identified: bool,
        consent: _Consent | None = None,
    ) -> tuple[PostOutcome, FirstStep]:
        """Check the campaign's status, caps and duplicates, then store the lead and log its
        post in one statement; a refusal here is left to the caller to log.

        Only a campaign with a cap is locked, so that posts to it take their turn and its
        counts stay exact; others are not, and their posts run side by side. The status of an
        uncapped campaign was read in this transaction when it identified the request, else it
        is read again here.
        """
        assert target.campaign is not None and target.campaign_id is not None
        campaign, campaign_id = target.campaign, target.campaign_id
        lead = submission.leads[index]
        values = screening.values
        clock = time.perf_counter()
        status, counts = campaign.status, NOTHING_COUNTED
        if campaign.caps.any:
            assert target.time_zone is not None
            windows = cap_windows(target.time_zone, datetime.now(UTC))
            status, counts = await lead_store.lock_campaign_counting(
                conn, target.account_id, campaign_id, windows, count_returns=campaign.count_returns
            )
        elif not identified:
            status = await lead_store.campaign_status(conn, target.account_id, campaign_id)
        if status != Status.Active:
            steps.append(Step("campaign_status", "failed", "disabled meanwhile", micros(clock)))
            outcome = PostOutcome(
                post_id,
                ResponseType.Account_Disabled,
                "The campaign is disabled",
                campaign_id=campaign_id,
            )
            return outcome, None
        over = cap_reached(campaign.caps, counts)
        steps.append(Step("caps", "failed" if over else "passed", over, micros(clock)))
        if over:
            outcome = PostOutcome(
                post_id,
                ResponseType.Post_Over_Max,
                f"The campaign's {over}",
                campaign_id=campaign_id,
            )
            return outcome, None
        clock = time.perf_counter()
        key = duplicate_key(target.lead_type_id or 0, target.fields, values)
        if key is not None and campaign.dup_day_max > 0:
            earlier = await lead_store.lock_duplicate_key(
                conn, target.account_id, target.lead_type_id or 0, key, campaign.dup_day_max
            )
            if earlier is not None:
                detail = (
                    f"duplicate of lead {earlier.id}"
                    if earlier.source_id == target.source_id
                    else "duplicate of an earlier lead"
                )
                steps.append(Step("duplicate_check", "failed", detail, micros(clock)))
                outcome = PostOutcome(
                    post_id,
                    ResponseType.Duplicate_Lead,
                    f"Duplicate lead: {detail} within {campaign.dup_day_max} days",
                    campaign_id=campaign_id,
                )
                return outcome, None
            steps.append(Step("duplicate_check", "passed", "", micros(clock)))
        else:
            skipped = (
                "no duplicate fields posted" if key is None else "the campaign checks no duplicates"
            )
            steps.append(Step("duplicate_check", "skipped", skipped, micros(clock)))
        order: ping_store.LockedOrder | None = None
        if submission.order_id.strip() or campaign.channel is Channel.PingPost:
            clock = time.perf_counter()
            order, refusal = await _ping_order(conn, target, submission.order_id, values)
            if refusal is not None:
                steps.append(Step("ping_order", "failed", refusal.details, micros(clock)))
                outcome = PostOutcome(
                    post_id, refusal.response, refusal.details, campaign_id=campaign_id
                )
                return outcome, None
            assert order is not None
            held = f"order {order.order.id}: {len(order.reservations)} buyers reserved"
            steps.append(Step("ping_order", "passed", held, micros(clock)))
        price = (
            campaign.pricing.amount
            if campaign.pricing.model is PricingModel.PerLead
            else Decimal("0")
        )
        accepted = PostOutcome(
            post_id,
            ResponseType.No_Error,
            "Lead was accepted",
            campaign_id=campaign_id,
            price=price,
            pending_qc=campaign.use_qc_bin,
            account_id=target.account_id,
            offers=consent.offered if consent else (),
        )
        send_delay = _send_delay(submission.send_delay_hours)
        kinds = submission.sale_kind.account_types
        types = None if kinds is None else [int(t) for t in kinds]
        new = lead_store.NewLead(
            post=post_log.entry(submission, target, index, accepted, steps),
            reference=lead.reference,
            no_sell=lead.no_sell,
            send_delay_hours=send_delay,
            fields=values,
            extras=screening.extras,
            duplicate_key=key,
            pricing_model=campaign.pricing.model,
            pending_qc=campaign.use_qc_bin,
            max_sells=campaign.max_sell,
            call_data=screening.call_data,
            account_types=types,
            contact_keys=contact_keys(target.fields, values),
            tags=lead.tags,
            consented_accounts=consent.chosen.consented if consent else None,
            consent=consent.chosen.records if consent else (),
            visit_id=lead.visit_id.strip() if valid_visit_id(lead.visit_id.strip()) else "",
        )
        # a lead distributed now gets its first step here, after a savepoint sent with it
        stepping = (
            self._engine is not None
            and not lead.no_sell
            and not campaign.use_qc_bin
            and send_delay == 0
        )
        stored = await lead_store.insert_lead(conn, new, savepoint=stepping)
        steps.append(Step("store", "passed", f"lead {stored.id}"))  # as insert_lead logs it
        first = None
        if stepping and stored.queued:
            job = NewJob(
                account_id=target.account_id,
                lead_id=stored.id,
                lead_type_id=target.lead_type_id or 0,
                fields=values,
                call_data=screening.call_data,
                max_sells=campaign.max_sell,
                account_types=types,
                now=stored.now,
                buyer_version=stored.buyer_version,
                consented=consent.chosen.consented if consent else None,
                lead_category_id=campaign.lead_category_id or 0,
            )
            first = await self._first_step(conn, job, order)
        if order is not None:  # after the step's savepoint: kept if the step is undone
            await ping_store.use(conn, target.account_id, order.order.id, stored.id)
        return replace(accepted, lead_id=stored.id), first

    async def _consent(
        self,
        conn: Connection,
        submission: Submission,
        target: Target,
        index: int,
        screening: Screening,
        steps: list[Step],
    ) -> _Consent:
        """The offers of a lead posted to a campaign returning client offers, and what its
        offer block chose, with the post log's offers step; a refusal when the block names an
        offer not offered, or names offers on a campaign that returns none."""
        assert target.campaign is not None
        clock = time.perf_counter()
        lead = submission.leads[index]
        refusal = ""
        if not target.campaign.return_client_offers:
            refusal = "The campaign does not return client offers: the post may not name offers"
        elif self._offers is None:  # a use case built without the buyer cache
            refusal = "Offers are not available on this server: the lead was not stored"
        if refusal or self._offers is None:
            steps.append(Step("offers", "failed", refusal, micros(clock)))
            return _Consent((), Chosen(refusal))
        kinds = submission.sale_kind.account_types
        reserved = await _reserved_offers(conn, target, submission.order_id)
        if reserved is not None:  # a post with its ping's order: among the ping's offers
            offered = tuple(reserved)
        else:
            offered = tuple(
                await self._offers.offered(
                    conn,
                    target.account_id,
                    target.lead_type_id or 0,
                    screening_values(screening.values, screening.call_data),
                    datetime.now(UTC),
                    None if kinds is None else frozenset(kinds),
                )
            )
        chosen = choose(offered, lead.offer, datetime.now(UTC))
        detail = chosen.refusal or (
            f"{len(offered)} offered; consent to {len(chosen.consented)} "
            f"({', '.join(str(i) for i in sorted(chosen.consented)) or 'none'})"
        )
        steps.append(
            Step("offers", "failed" if chosen.refusal else "passed", detail, micros(clock))
        )
        return _Consent(offered, chosen)

    async def _first_step(
        self, conn: Connection, job: NewJob, order: ping_store.LockedOrder | None
    ) -> FirstStep:
        """The lead's first distribution step in its acceptance transaction; the sends it
        reserved, or None when the walk is left to take it. A step that fails is undone back
        to its savepoint and the lead stays accepted: a deadlock with another walker (whose
        waterfall locks the same accounts in another order) is expected now and then; any
        other failure is logged, and the walk meets it again."""
        assert self._engine is not None
        try:
            if order is not None:
                reserved = [
                    ReservedBuyer(
                        r.client_id,
                        r.delivery_account_id,
                        r.price,
                        r.order_id,
                        r.order_item_id,
                        r.reference,
                    )
                    for r in order.reservations
                ]
                return await self._engine.first_reserved(conn, job, reserved)
            return await self._engine.first_step(conn, job)
        except Exception as problem:
            if rolled_back(problem):
                log.info("lead %s: first step rolled back (%s); walking it", job.lead_id, problem)
            else:
                log.exception("lead %s: first step failed; walking it", job.lead_id)
            await lead_store.rollback_first_step(conn)
            return None


@dataclass(frozen=True)
class _Consent:
    """A 1-to-1 lead's offers, and what its offer block chose among them."""

    offered: tuple[Offered, ...]
    chosen: Chosen

    @property
    def refusal(self) -> str:
        return self.chosen.refusal


async def _reserved_offers(conn: Connection, target: Target, posted: str) -> list[Offered] | None:
    """The offers of the buyers the order a post names reserved (their dynamic offers in
    place of static ones); None when it names none of its campaign's (the order's own checks
    then refuse it, later in the transaction)."""
    order_id = parse_order_id(posted) if posted.strip() else None
    if order_id is None or target.campaign_id is None:
        return None
    return await reserved_offers(conn, target.account_id, order_id, target.campaign_id)


async def _ping_order(
    conn: Connection, target: Target, posted: str, values: Mapping[str, Value]
) -> tuple[ping_store.LockedOrder | None, OrderRefusal | None]:
    """The ping's order a post names, locked with its reserved buyers' accounts and orders,
    or why the post cannot use it. The accounts are locked in the order's order, as the ping
    locked them, before its expiry is read by the clock: a ping that counted it as expired
    has committed by then, so the order's buyers are never over their caps."""
    assert target.campaign is not None and target.campaign_id is not None
    missing = missing_order_refusal(target.campaign.channel, posted)
    if missing is not None:
        return None, missing
    order_id = parse_order_id(posted)
    if order_id is None:
        return None, malformed_order_refusal(posted)
    locked = await ping_store.lock(conn, target.account_id, order_id)
    stored = None if locked is None else replace(locked.order, live=True)
    refusal = order_refusal(order_id, stored, target.campaign_id)
    if refusal is not None or locked is None:
        return None, refusal
    for reserved in locked.reservations:
        await buyer_store.lock_for_send(conn, target.account_id, reserved.delivery_account_id)
        if reserved.order_item_id is not None:
            await orders_store.lock_client_orders(conn, target.account_id, reserved.client_id)
    live = await ping_store.live(conn, target.account_id, order_id)
    refusal = order_refusal(order_id, replace(locked.order, live=live), target.campaign_id)
    if refusal is None:
        posted_values = eligibility_values(target.fields, values)
        refusal = changed_refusal(order_id, changed_fields(locked.order.values, posted_values))
    return (None, refusal) if refusal is not None else (locked, None)


async def identified(
    conn: Connection, identifier: Identifier, submission: Submission, target: Target
) -> Refused | None:
    """Identify a request and check it can be read, on the caller's connection, with the
    post log's identify step; why it is refused, or None."""
    started = time.perf_counter()
    refused = await identifier.identified(conn, submission, target)
    target.steps.append(
        Step(
            "identify",
            "failed" if refused else "passed",
            refused.details if refused else "",
            micros(started),
        )
    )
    return refused


async def refuse(
    conn: Connection, submission: Submission, target: Target, refused: Refused, start: int = 0
) -> list[PostOutcome]:
    """Log and answer a refusal of the whole request: each lead is answered, from `start` on,
    one answer standing for a request of none or too many."""
    count = len(submission.leads)
    count = 1 if not 0 < count <= MAX_LEADS_PER_REQUEST else count
    return [
        await post_log.log_refusal(conn, submission, target, index, refused)
        for index in range(start, max(count, start + 1))
    ]


def _send_delay(text: str) -> Decimal:
    try:
        hours = Decimal(text.strip() or "0")
    except InvalidOperation:
        return Decimal("0")
    return hours if hours.is_finite() and 0 <= hours < 100_000 else Decimal("0")


def _not_processed(submission: Submission, target: Target, start: int) -> list[PostOutcome]:
    """The answers of the leads from `start` on, which the request's time left no room for."""
    total = len(submission.leads)
    details = (
        f"Not processed: the request ran out of time after {start} of {total} leads; "
        "nothing was stored for this lead, post it again"
    )
    campaign_id = target.campaign_id or 0
    return [
        PostOutcome("", ResponseType.Data_Errors, details, campaign_id=campaign_id)
        for _ in range(start, total)
    ]
