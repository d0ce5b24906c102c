"""Pings to two real `leadrouter serve` processes on one database reserve exactly: 40 pings
at once, alternately to each process's receiver, against a buyer with a day cap of 5, get 5
orders; the 5 posts naming them are delivered to that buyer, and nothing more."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from leadrouter.v1 import admin_pb2

from clients.client import admin_async, struct
from tests.e2e.test_cli import RECEIVER_READY, Serve, leadrouter, succeeded
from tests.e2e.test_ping_post import CONTACT, Market, S, buyer, document
from tests.support.buyers import BuyerServer

pytestmark = pytest.mark.slow  # starts server processes


@dataclass(frozen=True)
class Pair:
    """Two serve processes sharing one data folder (and so one embedded PostgreSQL)."""

    grpc: str
    receivers: tuple[str, str]
    data_dir: Path


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    data_dir = tmp_path_factory.mktemp("ping-two")
    first = Serve(data_dir)
    second: Serve | None = None
    try:
        address = first.wait_ready()
        first_receiver = first.wait_line(RECEIVER_READY)[1]
        second = Serve(data_dir)  # shares the first one's database
        second.wait_ready()
        second_receiver = second.wait_line(RECEIVER_READY)[1]
        yield Pair(address, (first_receiver, second_receiver), data_dir)
    finally:
        statuses = [second.terminate() if second else 0, first.terminate()]
    assert statuses == [0, 0], f"serve exit statuses {statuses}:\n{first.text()}"


async def test_forty_pings_at_once_reserve_a_day_cap_of_five_exactly(
    pair: Pair, buyers: BuyerServer
) -> None:
    account = succeeded(leadrouter("accounts", "create", "Pings", "--data-dir", pair.data_dir))
    made = document([buyer("capped", buyers, "25", day_max=5)])
    async with admin_async(pair.grpc, account["api_key"]) as stub:
        ids = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(made)))
    async with (
        httpx.AsyncClient(base_url=pair.receivers[0], timeout=30) as one,
        httpx.AsyncClient(base_url=pair.receivers[1], timeout=30) as two,
    ):
        markets = [Market(http, pair.grpc, account["api_key"], ids) for http in (one, two)]

        async def ping(i: int) -> dict[str, Any]:
            return await markets[i % 2].ping()

        answers = await asyncio.gather(*(ping(i) for i in range(40)))
        orders = [a["OrderID"] for a in answers if a["WillAccept"]]
        assert len(orders) == 5, answers
        refused = {a["Response"] for a in answers if not a["WillAccept"]}
        assert refused == {"No coverage: no buyer can take this lead now"}

        async def post(i: int, order: str) -> dict[str, Any]:
            contact = {**CONTACT, "Email": f"p{i}@example.com", "Phone": f"702555{i:04d}"}
            return await markets[i % 2].post(order, **contact)

        posted = await asyncio.gather(*(post(i, o) for i, o in enumerate(orders)))
        assert [p["ResponseType"] for p in posted] == ["No_Error"] * 5, posted
        for p in posted:
            sends = await markets[0].settled(p["LeadIdentifier"])
            assert [(s.client_name, s.price, s.status) for s in sends] == [
                ("Buyer capped", "25", S.SEND_STATUS_SOLD)
            ]
        assert (await markets[0].ping())["WillAccept"] is False  # the cap is now sold
    assert len(buyers.of("capped")) == 5


async def test_leadrouter_ping_shows_a_pings_log_and_its_order(
    pair: Pair, buyers: BuyerServer
) -> None:
    account = succeeded(leadrouter("accounts", "create", "Logs", "--data-dir", pair.data_dir))
    key = account["api_key"]
    made = document([buyer("west", buyers, "30"), buyer("east", buyers, "20", day_max=0)])
    async with admin_async(pair.grpc, key) as stub:
        ids = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(made)))
    async with httpx.AsyncClient(base_url=pair.receivers[1], timeout=30) as http:
        pinged = await Market(http, pair.grpc, key, ids).ping()
    assert pinged["WillAccept"] is True
    options = ("--grpc", pair.grpc, "--key", key)
    shown = leadrouter("ping", pinged["OrderID"], *options)
    assert shown.returncode == 0, shown.stderr
    assert f"Ping {pinged['RequestID']}" in shown.stdout
    assert "Buyer east / main" in shown.stdout and "day cap 0 reached" in shown.stdout
    assert f"Order {pinged['OrderID']}, estimated price 12.5" in shown.stdout
    assert "Buyer west account" in shown.stdout and "at 30" in shown.stdout
    as_json = succeeded(leadrouter("ping", pinged["RequestID"], "--json", *options))
    assert as_json["orderId"] == pinged["OrderID"]
    assert [r["clientName"] for r in as_json["reserved"]] == ["Buyer west"]
    unknown = leadrouter("ping", "7cef1c61-916c-4ea8-b79f-5572e73c4602", *options)
    assert unknown.returncode == 1 and "no ping" in unknown.stderr
