"""A ping (/processor/insert/ping): the lead's eligibility data screened as a post's is, the
engine's choice of buyers run and reserved under an order, without storing a lead or
delivering. One transaction identifies, screens, checks the campaign's caps, chooses and
reserves (server/services/distribution/choice.py), stores the order with its reservations
and logs the ping like a post (its steps, with the scan and each buyer's reason).

When an eligible buyer's delivery method pings first, the ping runs the lead's auction
(`Distributor.auctions.run`, the engine's): the first transaction ends after the scan, the
buyers are pinged with no transaction open (no row lock held while they answer), and a
second transaction scans again and reserves the auction's winners in rank order, each at its
net price with its ping reference, then stores the order and logs the ping.

A queued ping (its /async URL) is processed by the queue's worker through the same `ping`,
which hands its answer to the worker (`on_answered`) in the transaction that logs it, so that
the order and the queued post's answer are committed together or not at all.

The rules are in server/domain/intake/ping.py; the post that uses the order is
server/services/intake/submit.py (`orderid`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlencode

from server.domain.caps import NOTHING_COUNTED, cap_reached, cap_windows
from server.domain.catalog.fields import Value
from server.domain.catalog.specs import Status
from server.domain.intake.offers import Offered
from server.domain.intake.ping import (
    COVERAGE,
    eligibility_values,
    estimated_price,
    ping_fields,
    without_contact,
)
from server.domain.intake.screening import ResponseType, Step, ZipLookup, screen
from server.domain.sales.auction import AuctionSettings
from server.errors import RolledBack
from server.services.distribution.auction import Auctioned, Auctions
from server.services.distribution.buyer_cache import BuyerCache
from server.services.distribution.choice import Bidding, bidders, choose
from server.services.intake import post_log
from server.services.intake.identify import Identifier, Refused, Target, micros
from server.services.intake.offers import reserved_offers
from server.services.intake.requests import PingAnswer, PostOutcome, Submission
from server.services.intake.submit import identified
from server.storage import auctions as auction_store
from server.storage import leads as lead_store
from server.storage import ping_orders as order_store
from server.storage.database import Connection, Pool, transaction

log = logging.getLogger(__name__)

ATTEMPTS = 3  # a ping's transaction rolled back by a deadlock is taken again, up to this
NO_COVERAGE = "No coverage: no buyer can take this lead now"

# Called with a ping's answer in the transaction that logs it (a queued ping's worker keeps
# the answer there); an exception rolls the order and the log back.
OnAnswered = Callable[[Connection, PingAnswer], Awaitable[None]]


async def _nothing(conn: Connection, answer: PingAnswer) -> None:
    return None


@dataclass
class _Screened:
    """A ping past its screening and the campaign's caps: what choosing its buyers needs."""

    request_id: str
    steps: list[Step]
    values: dict[str, Value]  # the screened values, contact fields included when posted
    kept: dict[str, Value]  # its eligibility values: what the order keeps
    auction: Bidding | None = None  # its auction, when an eligible buyer pings first
    settings: AuctionSettings | None = None
    clock: tuple[datetime, int] | None = None  # the first transaction's clock, buyer version


class PingLead:
    """Answers pings, reserving the chosen buyers under an order."""

    def __init__(
        self,
        pool: Pool,
        identifier: Identifier,
        zip_lookup: ZipLookup,
        cache: BuyerCache,
        auctions: Auctions | None = None,
    ) -> None:
        """`cache`: the engine's compiled buyers; `auctions`: the engine's auctions, which
        price buyers that ping first (None: every buyer at its fixed price)."""
        self._pool = pool
        self._identifier = identifier
        self._zip_lookup = zip_lookup
        self._cache = cache
        self._auctions = auctions

    async def ping(self, submission: Submission, on_answered: OnAnswered = _nothing) -> PingAnswer:
        """The first lead's answer; the request is logged whatever it is answered, and the
        answer handed to `on_answered` in the transaction that logs it. Each of its
        transactions is taken again when PostgreSQL rolls it back (a deadlock with another
        ping or a step reserving the same buyers in another order); the buyers are pinged
        once."""
        request_id = str(uuid.uuid4())
        for attempt in range(1, ATTEMPTS + 1):
            try:
                target, first = await self._first(submission, request_id, on_answered)
                break
            except RolledBack:
                if attempt == ATTEMPTS:
                    raise
                log.info("ping %s rolled back by a deadlock; taking it again", request_id)
        if isinstance(first, PingAnswer):
            return first
        screened = first
        assert self._auctions is not None and screened.settings is not None
        assert screened.auction is not None  # else answered by the first transaction
        clock = time.perf_counter()
        auctioned = await self._auctions.run(
            0,
            screened.values,
            screened.auction.entrants,
            screened.settings,
            target.campaign.max_sell if target.campaign else 1,
            screened.auction.total_served,
        )
        outcome = "passed" if auctioned.result.winners else "failed"
        screened.steps.append(Step("auction", outcome, auctioned.report(), micros(clock)))
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with transaction(self._pool) as conn:
                    taking = replace(screened, steps=list(screened.steps))
                    answer, steps = await self._reserve(conn, target, taking, auctioned)
                    await _log(conn, submission, target, answer, steps)
                    await on_answered(conn, answer)
                    return answer
            except RolledBack:
                if attempt == ATTEMPTS:
                    raise
                log.info("ping %s rolled back by a deadlock; taking it again", request_id)
        raise AssertionError("unreachable")

    async def _first(
        self, submission: Submission, request_id: str, on_answered: OnAnswered
    ) -> tuple[Target, PingAnswer | _Screened]:
        """The ping identified, screened and, when no buyer pings first, answered (its
        order stored) in one transaction; else what its auction needs."""
        target = Target()
        async with transaction(self._pool) as conn:
            refused = await identified(conn, self._identifier, submission, target)
            if refused is not None:
                answer = await refuse_ping(conn, submission, target, refused, request_id)
                await on_answered(conn, answer)
                return target, answer
            screened = await self._screen(conn, submission, target, request_id)
            if isinstance(screened, tuple):
                await _log(conn, submission, target, *screened)
                await on_answered(conn, screened[0])
                return target, screened[0]
            if screened.auction is None:
                answer, steps = await self._reserve(conn, target, screened, None)
                await _log(conn, submission, target, answer, steps)
                await on_answered(conn, answer)
                return target, answer
        return target, screened

    async def _screen(
        self, conn: Connection, submission: Submission, target: Target, request_id: str
    ) -> _Screened | tuple[PingAnswer, list[Step]]:
        """Screen the ping and check the campaign's caps, then find its auction's bidders;
        or the refusal."""
        assert target.campaign is not None and target.campaign_id is not None
        campaign, campaign_id = target.campaign, target.campaign_id
        lead = submission.leads[0]
        now = datetime.now(UTC)
        fields = ping_fields(target.fields)
        screening = screen(
            campaign, fields, dict(lead.fields), self._zip_lookup, None, lead.reference, now=now
        )
        steps = [*target.steps, *screening.steps]
        post_log.unknown_fields(request_id, screening.extras)

        def refusal(response: ResponseType, details: str) -> tuple[PingAnswer, list[Step]]:
            return PingAnswer(request_id, False, response, details, campaign_id=campaign_id), steps

        if not screening.accepted:
            return refusal(screening.response, screening.details)
        clock = time.perf_counter()
        status, counts = campaign.status, NOTHING_COUNTED
        if campaign.caps.any:
            assert target.time_zone is not None
            windows = cap_windows(target.time_zone, now)
            status, counts = await lead_store.campaign_counting(
                conn, target.account_id, campaign_id, windows, count_returns=campaign.count_returns
            )
        if status != Status.Active:
            steps.append(Step("campaign_status", "failed", "disabled meanwhile", micros(clock)))
            return refusal(ResponseType.Account_Disabled, "The campaign is disabled")
        over = cap_reached(campaign.caps, counts)
        steps.append(Step("caps", "failed" if over else "passed", over, micros(clock)))
        if over:
            return refusal(ResponseType.Post_Over_Max, f"The campaign's {over}")
        values = dict(screening.values)
        screened = _Screened(
            request_id, steps, values, eligibility_values(target.fields, screening.values)
        )
        if self._auctions is None:
            return screened
        db_now, version = await order_store.clock(conn, target.account_id)
        screened.clock = db_now, version
        snapshot = await self._cache.snapshot(
            conn, target.account_id, target.lead_type_id or 0, version
        )
        screened.auction = await bidders(
            conn,
            target.account_id,
            snapshot,
            _keyed(screened.kept),
            campaign.max_sell,
            db_now,
            lead_category_id=campaign.lead_category_id or 0,
        )
        if screened.auction is not None:
            screened.settings = await auction_store.for_campaign(
                conn, target.account_id, campaign_id
            )
        return screened

    async def _reserve(
        self,
        conn: Connection,
        target: Target,
        screened: _Screened,
        auctioned: Auctioned | None,
    ) -> tuple[PingAnswer, list[Step]]:
        """Choose and reserve the buyers (in `auctioned`'s order when the ping was
        auctioned), store the order; the answer."""
        assert target.campaign is not None and target.campaign_id is not None
        campaign, campaign_id = target.campaign, target.campaign_id
        request_id, steps = screened.request_id, screened.steps
        clock = time.perf_counter()
        lead_type_id = target.lead_type_id or 0
        if auctioned is None and screened.clock is not None:
            db_now, version = screened.clock  # the same transaction: read once
        else:
            db_now, version = await order_store.clock(conn, target.account_id)
        snapshot = await self._cache.snapshot(conn, target.account_id, lead_type_id, version)
        values = screened.kept
        choice = await choose(
            conn,
            target.account_id,
            lead_type_id,
            snapshot,
            _keyed(values),
            campaign.max_sell,
            db_now,
            auctioned,
            lead_category_id=campaign.lead_category_id or 0,
        )
        chosen = choice.chosen
        steps.append(
            Step("choose_buyers", "passed" if chosen else "failed", choice.log, micros(clock))
        )
        if not chosen:
            answer = PingAnswer(
                request_id, False, ResponseType.Outside_Criteria, NO_COVERAGE,
                campaign_id=campaign_id,
            )  # fmt: skip
            return answer, steps
        price = estimated_price(campaign.pricing, [c.price for c in chosen])
        order_id = str(uuid.uuid4())
        # the reserved buyers' dynamic offers, kept with the order for the V2 ping and the post
        dynamic = {}
        if auctioned is not None and campaign.return_client_offers:
            dynamic = auctioned.offers
        clock = time.perf_counter()
        expires_at = await order_store.insert(
            conn,
            target.account_id,
            order_store.NewOrder(
                id=order_id,
                request_id=request_id,
                source_id=target.source_id or 0,
                campaign_id=campaign_id,
                lead_type_id=lead_type_id,
                values=values,
                price=price,
                seconds=campaign.ping_order_seconds,
                reservations=[
                    order_store.Reservation(
                        client_id=c.view.client_id,
                        delivery_account_id=c.view.id,
                        price=c.price,
                        order_id=c.pick.order_id if c.pick else None,
                        order_item_id=c.pick.item_id if c.pick else None,
                        reference=c.reference,
                        offer=dynamic.get(c.view.id),
                    )
                    for c in chosen
                ],
            ),
        )
        steps.append(Step("reserve", "passed", f"order {order_id}", micros(clock)))
        offers: list[Offered] = []
        if campaign.return_client_offers:
            offers = await reserved_offers(conn, target.account_id, order_id, campaign_id) or []
        answer = PingAnswer(
            request_id,
            True,
            ResponseType.No_Error,
            COVERAGE,
            order_id=order_id,
            price=price,
            expires_at=expires_at,
            campaign_id=campaign_id,
            offers=tuple(offers),
        )
        return answer, steps


async def refuse_ping(
    conn: Connection, submission: Submission, target: Target, refused: Refused, request_id: str
) -> PingAnswer:
    """Log and answer a ping refused before its screening (who pings, for which campaign,
    with which credentials; or a queued ping's `returnurl`)."""
    answer = PingAnswer(
        request_id, False, refused.response, refused.details, campaign_id=target.campaign_id or 0
    )
    await _log(conn, submission, target, answer, target.steps)
    return answer


def without_contact_fields(submission: Submission, target: Target) -> Submission:
    """A ping's request as it may be kept (a queued ping's): each lead without its contact
    fields, and the body as its remaining fields, URL-encoded (nothing before the lead type's
    fields are known)."""
    known = bool(target.fields)
    leads = tuple(
        replace(lead, fields=tuple(without_contact(target.fields, lead.fields)) if known else ())
        for lead in submission.leads
    )
    kept = list(leads[0].fields) if leads else []
    return replace(
        submission, leads=leads, raw_request=urlencode(kept).encode(), request_format="urlencoded"
    )


def _keyed(values: dict[str, Value]) -> dict[str, Value]:
    """Values by casefolded name, as the scan reads them."""
    return {name.casefold(): value for name, value in values.items()}


async def _log(
    conn: Connection,
    submission: Submission,
    target: Target,
    answer: PingAnswer,
    steps: list[Step],
) -> None:
    """The ping's post log entry: the answer, each step and the request; once its fields
    are known, the request is kept as its posted fields without the contact fields, in
    URL-encoded form (nothing before they are known), since a ping's contact data is never
    stored."""
    submission = without_contact_fields(submission, target)
    outcome = PostOutcome(
        answer.request_id,
        answer.response,
        answer.details if not answer.will_accept else f"{answer.details}: order {answer.order_id}",
        campaign_id=answer.campaign_id,
        price=answer.price if answer.will_accept else Decimal("0"),
    )
    entry = post_log.entry(submission, target, 0, outcome, steps)
    await post_log.keep(conn, target, replace(entry, ping=True))
