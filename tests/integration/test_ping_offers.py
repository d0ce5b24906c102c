"""Dynamic offers over real HTTP on loopback: a bidding buyer's ping answer carries its offer,
read by its method's offer paths into the ping's result and the auction's lots
(server/adapters/delivery/pings.py, server/domain/sales/auction.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from server.adapters.delivery import HttpTransport
from server.adapters.delivery.pings import PingCall, Pinger
from server.domain.buyers.offers import StaticOffer
from server.domain.delivery.ping import render_ping
from server.domain.delivery.spec import DeliverySpec, DeliveryType, PingAnswerRules, PingSpec
from server.domain.sales.auction import Heard
from tests.support.buyers import BuyerServer, buyer_server

ANSWER = PingAnswerRules(
    price="$.bid",
    accepted="$.ok",
    offer=(
        ("company_name", "$.offer.company"),
        ("tcpa_consent_text", "$.offer.tcpa"),
        ("amount", "$.offer.amount"),
    ),
)


@pytest.fixture
async def buyers() -> AsyncIterator[BuyerServer]:
    async with buyer_server() as server:
        yield server


@pytest.fixture
async def pinger() -> AsyncIterator[Pinger]:
    http = HttpTransport(allow_private=True)
    made = Pinger(http)
    try:
        yield made
    finally:
        await made.aclose()
        await http.aclose()


def call(buyers: BuyerServer, key: str, account: int) -> PingCall:
    ping = PingSpec(DeliveryType.JsonPost, buyers.address(key), timeout_ms=2000, answer=ANSWER)
    spec = DeliverySpec(DeliveryType.JsonPost, "http://unused/post", ping=ping)
    return PingCall(account, f"buyer {key}", render_ping(spec, 7, {"Zip": "89101"}, set()), ping)


async def test_a_bidding_answer_carries_its_offer_and_a_declining_or_bare_one_none(
    buyers: BuyerServer, pinger: Pinger
) -> None:
    offer = '{"company": "Alpha Inc.", "tcpa": "I agree to Alpha.", "amount": 5}'
    buyers.behave("bids", answer=f'{{"ok": true, "bid": 20, "offer": {offer}}}')
    buyers.behave("declines", answer=f'{{"ok": false, "bid": 20, "offer": {offer}}}')
    buyers.behave("bare", answer='{"ok": true, "bid": 18, "offer": {"company": "Beta"}}')
    calls = [call(buyers, "bids", 1), call(buyers, "declines", 2), call(buyers, "bare", 3)]
    results = await pinger.ping_all(7, calls, deadline_ms=5000)
    assert [results[n].heard for n in (1, 2, 3)] == [Heard.ANSWERED] * 3
    assert results[1].offer == StaticOffer(
        company_name="Alpha Inc.", tcpa_consent_text="I agree to Alpha.", amount=Decimal("5")
    )
    assert results[2].offer is None  # no bid, no offer
    assert results[3].bid is not None and results[3].bid.accepted
    assert results[3].offer is None  # no consent text: not an offer that can be shown
