"""An inbound ping priced by the auction, over real HTTP: buyers on loopback answer the pings
leadrouter sends them (JSON, XML), the ping's order reserves the auction's winners at their
net prices with their ping references, the source is told the price that follows, and the
post with the order delivers to exactly those winners. A buyer that declines or answers late
is passed over with its reason in the ping's log; a ping whose buyers all decline is not
accepted."""

from __future__ import annotations

import asyncio
import copy
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from leadrouter.v1 import admin_pb2, distribution_pb2

from clients.client import distribution_async, struct
from server.errors import RolledBack
from server.services.intake import ping as ping_module
from tests.e2e.test_auction import bidder, fixed
from tests.e2e.test_ping_post import CONTACT, Market, document
from tests.e2e.test_ping_post import http as http  # the receiver fixture
from tests.support.buyers import BuyerServer

S = distribution_pb2.SendStatus


async def auction_market(
    new_account: Any,
    stub_for: Any,
    http: httpx.AsyncClient,
    grpc_address: str,
    clients: list[dict[str, Any]],
    *,
    max_sell: int,
    **auction: Any,
) -> Market:
    """An account whose ping-post campaign pays the source half of what its buyers pay
    (revenue share), auctioning its leads with these settings."""
    made = document(clients, max_sell=max_sell)
    campaign = made["sources"][0]["campaigns"][0]
    del campaign["price_per_lead"]
    campaign["revenue_share_percent"] = "50"
    campaign["auction"] = {"deadline_ms": 5000, **auction}
    account = await new_account("Ping auction")
    async with stub_for(account.api_key) as stub:
        ids = await stub.ApplyConfig(
            admin_pb2.ApplyConfigRequest(document=struct(copy.deepcopy(made)))
        )
    return Market(http, grpc_address, account.api_key, ids)


async def ping_log(m: Market, ping_id: str) -> Any:
    async with distribution_async(m.address, m.key) as stub:
        return await stub.GetPingLog(distribution_pb2.GetPingLogRequest(id=ping_id))


def lines_of(detail: str) -> dict[str, str]:
    """A log's lines by buyer name."""
    return {
        line.split(" / ")[0].removeprefix("- "): line
        for line in detail.splitlines()
        if line.startswith("- ")
    }


async def test_a_ping_reserves_the_auctions_winners_and_its_post_sells_to_them(
    new_account: Any,
    stub_for: Any,
    http: httpx.AsyncClient,
    grpc_address: str,
    buyers: BuyerServer,
) -> None:
    # nets with a 10% margin, at least 1.00, and a floor of 8.00:
    # high 40 -> 36, mid 30 -> 27, fixed 20 (no margin), low 15 -> 13.50, cheap 8 -> 7
    # (under the floor), slow times out, no declines
    buyers.behave("high-ping", answer='{"result": {"accepted": true, "bid": 40, "id": "H-1"}}')
    buyers.behave("mid-ping", answer='<Bid ref="M-2"><Status>BUY</Status><Price>30</Price></Bid>')
    buyers.behave("low-ping", answer='{"result": {"accepted": true, "bid": 15, "id": "L-3"}}')
    buyers.behave("cheap-ping", answer='{"result": {"accepted": true, "bid": "8.00"}}')
    buyers.behave("slow-ping", answer='{"result": {"accepted": true, "bid": 99}}', delay=0.8)
    buyers.behave("no-ping", answer='{"result": {"accepted": false, "message": "not in NV"}}')
    m = await auction_market(
        new_account,
        stub_for,
        http,
        grpc_address,
        [
            bidder("high", buyers, "json"),
            bidder("mid", buyers, "xml"),
            fixed("fixed", buyers, "20"),
            bidder("low", buyers, "json"),
            bidder("cheap", buyers, "json"),
            bidder("slow", buyers, "json", timeout_ms=200),
            bidder("no", buyers, "json"),
        ],
        max_sell=2,
        margin_percent="10",
        min_margin="1.00",
        floor="8",
    )

    pinged = await m.ping()
    assert pinged["WillAccept"] is True, pinged
    # half of what the two winners pay: (36 + 27) / 2
    assert Decimal(pinged["EstimatedPrice"]) == Decimal("31.50")
    for key in ("high", "mid", "low", "cheap", "slow", "no"):
        [ping] = buyers.of(f"{key}-ping")
        assert json.loads(ping.body) == {"zip": "89101", "age": "30", "email": ""}
    assert [r.buyer for r in buyers.received if not r.buyer.endswith("-ping")] == []

    log = await ping_log(m, pinged["RequestID"])
    assert [(r.client_name, Decimal(r.price), r.ping_reference) for r in log.reserved] == [
        ("Buyer high", Decimal(36), "H-1"),
        ("Buyer mid", Decimal(27), "M-2"),
    ]
    [auction] = [s for s in log.steps if s.name == "auction"]
    lines = lines_of(auction.detail)
    assert lines["Buyer high"].endswith("bid 40.00, margin 4.00, net 36.00: won #1")
    assert lines["Buyer mid"].endswith("bid 30.00, margin 3.00, net 27.00: won #2")
    assert "fixed price 20.00, net 20.00: lost: outbid" in lines["Buyer fixed"]
    assert "bid 15.00, margin 1.50, net 13.50: lost: outbid" in lines["Buyer low"]
    assert "net 7.00: lost: below the campaign's floor 8.00" in lines["Buyer cheap"]
    assert "no bid: lost: no answer within 200 ms" in lines["Buyer slow"]
    assert "no bid: lost: declined: not in NV" in lines["Buyer no"]

    posted = await m.post(pinged["OrderID"])
    assert posted["ResponseType"] == "No_Error", posted
    sends = await m.settled(posted["LeadIdentifier"], 2)
    assert sorted((s.client_name, Decimal(s.price), s.ping_reference, s.status) for s in sends) == [
        ("Buyer high", Decimal(36), "H-1", S.SEND_STATUS_SOLD),
        ("Buyer mid", Decimal(27), "M-2", S.SEND_STATUS_SOLD),
    ]
    [high_post] = buyers.of("high")
    [mid_post] = buyers.of("mid")
    assert json.loads(high_post.body) == {"ref": "H-1", "email": CONTACT["Email"], "price": 36.0}
    assert json.loads(mid_post.body) == {"ref": "M-2", "email": CONTACT["Email"], "price": 27.0}
    for key in ("fixed", "low", "cheap", "slow", "no"):
        assert buyers.of(key) == [], key
    # the post pinged nobody again: one ping per buyer, the ping's
    assert len(buyers.of("high-ping")) == 1


async def test_a_buyer_that_declines_is_passed_over_for_the_next_bid(
    new_account: Any,
    stub_for: Any,
    http: httpx.AsyncClient,
    grpc_address: str,
    buyers: BuyerServer,
) -> None:
    buyers.behave("a-ping", answer='{"result": {"accepted": false, "message": "capped today"}}')
    buyers.behave("b-ping", answer='{"result": {"accepted": true, "bid": 22, "id": "B-9"}}')
    m = await auction_market(
        new_account,
        stub_for,
        http,
        grpc_address,
        [bidder("a", buyers, "json"), bidder("b", buyers, "json")],
        max_sell=1,
        margin_percent="0",
        min_margin="2",
    )
    pinged = await m.ping()
    assert pinged["WillAccept"] is True, pinged
    assert Decimal(pinged["EstimatedPrice"]) == Decimal("10.00")  # half of 22 - 2
    log = await ping_log(m, pinged["OrderID"])
    lines = lines_of(next(s.detail for s in log.steps if s.name == "auction"))
    assert "no bid: lost: declined: capped today" in lines["Buyer a"]
    assert lines["Buyer b"].endswith("bid 22.00, margin 2.00, net 20.00: won #1")
    assert [(r.client_name, r.ping_reference) for r in log.reserved] == [("Buyer b", "B-9")]


def rolled_back_once(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The next ping's first log write fails as a deadlock victim's would, rolling its
    transaction back; the calls counted."""
    real = ping_module._log
    calls: list[int] = []

    async def log_once(*args: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RolledBack("deadlock detected (in a test)")
        await real(*args)

    monkeypatch.setattr(ping_module, "_log", log_once)
    return calls


async def test_a_ping_rolled_back_after_its_auction_is_reserved_again_without_pinging_again(
    new_account: Any,
    stub_for: Any,
    http: httpx.AsyncClient,
    grpc_address: str,
    buyers: BuyerServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buyers.behave("b-ping", answer='{"result": {"accepted": true, "bid": 22, "id": "B-9"}}')
    m = await auction_market(
        new_account, stub_for, http, grpc_address, [bidder("b", buyers, "json")], max_sell=1
    )
    calls = rolled_back_once(monkeypatch)
    pinged = await m.ping()
    assert pinged["WillAccept"] is True, pinged
    assert len(calls) == 2  # rolled back once, then taken again
    assert len(buyers.of("b-ping")) == 1  # the buyer was pinged once
    log = await ping_log(m, pinged["OrderID"])
    assert [s.name for s in log.steps].count("auction") == 1
    assert [(r.client_name, r.ping_reference) for r in log.reserved] == [("Buyer b", "B-9")]
    posted = await m.post(pinged["OrderID"])
    assert posted["ResponseType"] == "No_Error", posted


async def test_a_ping_rolled_back_in_its_only_transaction_is_taken_again(
    new_account: Any,
    stub_for: Any,
    http: httpx.AsyncClient,
    grpc_address: str,
    buyers: BuyerServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    m = await auction_market(
        new_account, stub_for, http, grpc_address, [fixed("f", buyers, "20")], max_sell=1
    )
    calls = rolled_back_once(monkeypatch)
    pinged = await m.ping()
    assert pinged["WillAccept"] is True, pinged
    assert len(calls) == 2
    log = await ping_log(m, pinged["OrderID"])
    assert [r.client_name for r in log.reserved] == ["Buyer f"]
    posted = await m.post(pinged["OrderID"])
    assert posted["ResponseType"] == "No_Error", posted


async def test_a_ping_whose_buyers_all_decline_is_not_accepted(
    new_account: Any,
    stub_for: Any,
    http: httpx.AsyncClient,
    grpc_address: str,
    buyers: BuyerServer,
) -> None:
    buyers.behave("a-ping", answer='{"result": {"accepted": false, "message": "no"}}')
    buyers.behave("b-ping", answer="busy", status=503)
    m = await auction_market(
        new_account,
        stub_for,
        http,
        grpc_address,
        [bidder("a", buyers, "json"), bidder("b", buyers, "json")],
        max_sell=2,
    )
    pinged = await m.ping()
    assert pinged["WillAccept"] is False, pinged
    assert pinged["Response"] == "No coverage: no buyer can take this lead now"
    assert not pinged.get("OrderID")
    log = await ping_log(m, pinged["RequestID"])
    assert not log.order_id and list(log.reserved) == []
    [auction] = [s for s in log.steps if s.name == "auction"]
    assert auction.outcome == "failed"
    lines = lines_of(auction.detail)
    assert "no bid: lost: declined: no" in lines["Buyer a"]
    assert "no bid: lost" in lines["Buyer b"]


async def test_no_transaction_is_open_while_the_buyers_answer(
    new_account: Any,
    stub_for: Any,
    http: httpx.AsyncClient,
    grpc_address: str,
    buyers: BuyerServer,
    pool: Any,
) -> None:
    buyers.behave(
        "slow-ping", answer='{"result": {"accepted": true, "bid": 30, "id": "S"}}', delay=1.5
    )
    m = await auction_market(
        new_account, stub_for, http, grpc_address, [bidder("slow", buyers, "json")], max_sell=1
    )
    pinging = asyncio.create_task(m.ping())
    for _ in range(1000):  # until the buyer has the ping
        if buyers.of("slow-ping"):
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.5)  # the buyer is still answering
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
            " AND state LIKE 'idle in transaction%%' AND xact_start < now() - interval '0.3 s'"
        )
        row = await cursor.fetchone()
    assert row is not None and row["n"] == 0
    pinged = await pinging
    assert pinged["WillAccept"] is True, pinged
