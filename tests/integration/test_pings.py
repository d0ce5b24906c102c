"""Pinging buyers over real HTTP on loopback (server/adapters/delivery/pings.py): at once,
each within its timeout inside the deadline, a late answer logged and ignored."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.adapters.delivery import HttpTransport
from server.adapters.delivery.pings import PingCall, Pinger
from server.domain.delivery.ping import render_ping
from server.domain.delivery.spec import (
    AuthType,
    DeliverySpec,
    DeliveryType,
    FieldMapping,
    PingAnswerRules,
    PingSpec,
)
from server.domain.sales.auction import Heard
from tests.support.buyers import BuyerServer, buyer_server

ANSWER = PingAnswerRules(price="$.bid", reference="$.id")


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


def call(buyers: BuyerServer, key: str, account: int, timeout_ms: int = 500) -> PingCall:
    ping = PingSpec(
        DeliveryType.JsonPost,
        buyers.address(key),
        mappings=(FieldMapping("zip", "Zip"), FieldMapping("name", "FirstName")),
        timeout_ms=timeout_ms,
        answer=ANSWER,
    )
    spec = DeliverySpec(
        DeliveryType.JsonPost,
        "http://unused/post",
        auth=AuthType.Basic,
        username="u",
        password="p",
        ping=ping,
    )
    request = render_ping(spec, 7, {"Zip": "89101", "FirstName": "Ann"}, {"firstname"})
    return PingCall(account, f"buyer {key}", request, ping)


async def test_pings_answer_in_parallel_and_a_late_one_is_logged_and_ignored(
    buyers: BuyerServer, pinger: Pinger, caplog: Any
) -> None:
    buyers.behave("a", answer='{"bid": 12.5, "id": "A1"}', delay=0.3)
    buyers.behave("b", answer='{"bid": 9}', delay=0.3)
    buyers.behave("late", answer='{"bid": 99}', delay=0.6)
    buyers.behave("gone", status=503, answer="busy")
    calls = [
        call(buyers, "a", 1),
        call(buyers, "b", 2),
        call(buyers, "late", 3, timeout_ms=200),
        call(buyers, "gone", 4),
    ]
    caplog.set_level(logging.INFO, logger="server.adapters.delivery.pings")
    results = await pinger.ping_all(7, calls, deadline_ms=1000)

    assert results[1].heard is Heard.ANSWERED and results[1].bid is not None
    assert (results[1].bid.price, results[1].bid.reference) == (12.5, "A1")
    assert results[2].bid is not None and results[2].bid.price == 9
    assert (results[3].heard, results[3].timeout_ms) == (Heard.TIMED_OUT, 200)
    assert results[4].bid is not None and not results[4].bid.accepted
    assert results[4].bid.reason == "HTTP 503"
    assert [json.loads(r.body) for r in buyers.of("a")] == [{"zip": "89101", "name": ""}]
    assert buyers.of("a")[0].headers["authorization"].startswith("Basic ")

    for _ in range(100):  # the late answer comes after 0.6 s, and is only logged
        if "late ping answer ignored" in caplog.text:
            break
        await asyncio.sleep(0.02)
    assert "lead 7: late ping answer ignored: buyer late answered after" in caplog.text
    assert "(bid 99.0000), past its 200 ms" in caplog.text


async def test_the_deadline_cuts_every_pings_timeout(buyers: BuyerServer, pinger: Pinger) -> None:
    buyers.behave("slow", answer='{"bid": 5}', delay=0.5)
    results = await pinger.ping_all(7, [call(buyers, "slow", 1, timeout_ms=2000)], deadline_ms=100)
    assert (results[1].heard, results[1].timeout_ms) == (Heard.TIMED_OUT, 100)


async def test_a_refused_connection_is_a_failed_ping(pinger: Pinger) -> None:
    closed = BuyerServer(url="http://127.0.0.1:9")
    results = await pinger.ping_all(7, [call(closed, "x", 1)], deadline_ms=1000)
    assert results[1].heard is Heard.FAILED and results[1].error
