"""Outbound ping-post over real HTTP: buyers on loopback answer pings (JSON, XML, regex) and
posts; a lead posted to the receiver is auctioned, sold to the winners at their net prices
with their ping references, a failing winner replaced by the next bid, and the scan log
says why each buyer won or lost."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from leadrouter.v1 import admin_pb2, distribution_pb2

from clients.client import distribution_async, struct
from server.bootstrap import receiver
from server.config import Settings
from server.services.distribution.engine import Distributor
from tests.support.buyers import BuyerServer, buyer_server

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "acme.json").read_text())
LEAD = {
    "FirstName": "Ann",
    "LastName": "Lee",
    "Email": "ann@example.com",
    "Phone": "(702) 555-0100",
    "Zip": "89101",
    "Age": "30",
}
S = distribution_pb2.SendStatus


@pytest.fixture
async def buyers() -> AsyncIterator[BuyerServer]:
    async with buyer_server() as server:
        yield server


@pytest.fixture
async def http(grpc_address: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = replace(Settings(), receiver_address="127.0.0.1:0")
    async with (
        receiver(settings, grpc_address) as address,
        httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as client,
    ):
        yield client


ANSWERS = {
    "json": {
        "format": "json",
        "accepted": "$.result.accepted",
        "price": "$.result.bid",
        "reference": "$.result.id",
        "reason": "$.result.message",
    },
    "xml": {
        "format": "xml",
        "accepted": "/Bid/Status",
        "accepted_value": "BUY",
        "price": "/Bid/Price",
        "reference": "string(/Bid/@ref)",
    },
    "regex": {
        "format": "regex",
        "accepted": "^OK",
        "price": r"price=([\d.]+)",
        "reference": r"ref=(\w+)",
    },
}


def bidder(
    key: str, buyers: BuyerServer, answer: str, *, price: str = "0", **ping: Any
) -> dict[str, Any]:
    """A buyer whose JSON post delivery pings first (at /buy/KEY-ping), reading the answer as
    ANSWERS[answer] says; the post maps the ping reference."""
    return {
        "key": key,
        "name": f"Buyer {key}",
        "deliveries": [
            {
                "key": "post",
                "type": "json_post",
                "lead_type": "auto-insurance",
                "address": buyers.address(key),
                "template": '{"ref": "{{ping_reference}}", "email": "{{Email}}", '
                '"price": {{price}}}',
                "response_search": "accepted",
                "timeout_seconds": 2,
                "ping": {
                    "type": "json_post",
                    "address": buyers.address(f"{key}-ping"),
                    "mappings": [
                        {"param": "zip", "field": "Zip"},
                        {"param": "age", "field": "Age"},
                        {"param": "email", "field": "Email"},
                    ],
                    "answer": ANSWERS[answer],
                    "timeout_ms": 4000,  # answers come at once: roomy on a busy machine
                    **ping,
                },
            }
        ],
        "accounts": [{"key": "main", "delivery": "post", "price": price}],
    }


def fixed(key: str, buyers: BuyerServer, price: str) -> dict[str, Any]:
    """A buyer that takes leads at a fixed price, without a ping."""
    return {
        "key": key,
        "name": f"Buyer {key}",
        "deliveries": [
            {
                "key": "post",
                "type": "http_post",
                "lead_type": "auto-insurance",
                "address": buyers.address(key),
                "response_search": "accepted",
                "timeout_seconds": 2,
            }
        ],
        "accounts": [{"key": "main", "delivery": "post", "price": price}],
    }


async def apply(
    stub_for: Any, key: str, clients: list[dict[str, Any]], max_sell: int = 2, **auction: Any
) -> Any:
    document = copy.deepcopy(EXAMPLE)
    campaign = document["sources"][0]["campaigns"][0]
    campaign["max_sell"] = max_sell
    campaign["auction"] = {"deadline_ms": 5000, **auction}
    document["clients"] = clients
    async with stub_for(key) as stub:
        return await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))


def posted(ids: Any) -> dict[str, str]:
    return {
        "vid": str(ids.sources["acme-media"]),
        "lid": str(ids.lead_types["auto-insurance"]),
        "aid": str(ids.campaigns["acme-auto-web"]),
        "password": "acme-secret",
        **LEAD,
    }


async def test_an_auction_picks_the_right_winners_and_explains_each(
    new_account: Any,
    stub_for: Any,
    grpc_address: str,
    buyers: BuyerServer,
    http: httpx.AsyncClient,
    idle: Any,
) -> None:
    # nets with a 10% margin, at least 1.00, and a floor of 8.00:
    # high 40 -> 36 (its post fails), mid 30 -> 27, fixed 20 (no margin), low 15 -> 13.50,
    # cheap 8 -> 7 (under the floor), picky 30 -> 27 under its own floor 28, slow times out
    buyers.behave("high-ping", answer='{"result": {"accepted": true, "bid": 40, "id": "H-1"}}')
    buyers.behave("high", answer="rejected: duplicate")
    buyers.behave("mid-ping", answer='<Bid ref="M-2"><Status>BUY</Status><Price>30</Price></Bid>')
    buyers.behave("low-ping", answer="OK price=15.00 ref=L3")
    buyers.behave("cheap-ping", answer='{"result": {"accepted": true, "bid": "8.00"}}')
    buyers.behave("picky-ping", answer='{"result": {"accepted": true, "bid": 30, "id": "P"}}')
    buyers.behave("slow-ping", answer='{"result": {"accepted": true, "bid": 99}}', delay=0.8)
    buyers.behave("no-ping", answer='{"result": {"accepted": false, "message": "not in NV"}}')
    account = await new_account("Auction house")
    ids = await apply(
        stub_for,
        account.api_key,
        [
            bidder("high", buyers, "json"),
            bidder("mid", buyers, "xml"),
            fixed("fixed", buyers, "20"),
            bidder("low", buyers, "regex"),
            bidder("cheap", buyers, "json"),
            bidder("picky", buyers, "json", floor="28"),
            bidder("slow", buyers, "json", timeout_ms=200),
            bidder("no", buyers, "json"),
        ],
        margin_percent="10",
        min_margin="1.00",
        floor="8",
    )

    answer = (await http.post("/processor/insert/returnsends/json", data=posted(ids))).json()
    assert answer["ResponseType"] == "No_Error", answer
    lead_id = answer["LeadIdentifier"]
    await idle()

    async with distribution_async(grpc_address, account.api_key) as stub:
        sends = (await stub.ListSends(distribution_pb2.ListSendsRequest(lead_id=lead_id))).sends
        log = "\n".join(
            e.log
            for e in (
                await stub.GetLeadScanLog(distribution_pb2.GetLeadScanLogRequest(lead_id=lead_id))
            ).entries
        )
    by_buyer = {s.client_name: s for s in sends}
    assert {n: s.ping_reference for n, s in by_buyer.items()} == {
        "Buyer high": "H-1",
        "Buyer mid": "M-2",
        "Buyer fixed": "",
    }
    assert {name: (s.status, Decimal(s.price)) for name, s in by_buyer.items()} == {
        "Buyer high": (S.SEND_STATUS_REJECTED, Decimal(36)),
        "Buyer mid": (S.SEND_STATUS_SOLD, Decimal(27)),
        "Buyer fixed": (S.SEND_STATUS_SOLD, Decimal(20)),
    }

    # every bidder was pinged, without the lead's contact fields
    for key in ("high", "mid", "low", "cheap", "picky", "slow", "no"):
        [ping] = buyers.of(f"{key}-ping")
        assert json.loads(ping.body) == {"zip": "89101", "age": "30", "email": ""}
    # the winners' posts carry their ping references and net prices
    [mid_post] = buyers.of("mid")
    assert json.loads(mid_post.body) == {"ref": "M-2", "email": "ann@example.com", "price": 27.0}
    [high_post] = buyers.of("high")
    assert json.loads(high_post.body)["ref"] == "H-1"
    for key in ("low", "cheap", "picky", "slow", "no"):
        assert buyers.of(key) == [], key

    assert "Buyer high / main" in log
    lines = {line.split(" / ")[0].removeprefix("- "): line for line in log.splitlines()}
    assert lines["Buyer high"].endswith("bid 40.00, margin 4.00, net 36.00: won #1")
    assert lines["Buyer mid"].endswith("bid 30.00, margin 3.00, net 27.00: won #2")
    assert "fixed price 20.00, net 20.00: lost: outbid; stands by #1" in lines["Buyer fixed"]
    assert "bid 15.00, margin 1.50, net 13.50: lost: outbid; stands by #2" in lines["Buyer low"]
    assert "net 7.00: lost: below the campaign's floor 8.00" in lines["Buyer cheap"]
    assert "net 27.00: lost: below the buyer's floor 28.00" in lines["Buyer picky"]
    assert "no bid: lost: no answer within 200 ms" in lines["Buyer slow"]
    assert "no bid: lost: declined: not in NV" in lines["Buyer no"]


async def test_ping_and_auction_settings_read_back_and_update_over_the_api(
    new_account: Any, stub_for: Any, grpc_address: str, buyers: BuyerServer
) -> None:
    account = await new_account("Auction settings")
    ids = await apply(
        stub_for,
        account.api_key,
        [bidder("b", buyers, "xml", floor="12.5", timeout_ms=300)],
        deadline_ms=800,
        margin_percent="10",
    )
    async with stub_for(account.api_key) as stub:
        method = await stub.GetDelivery(admin_pb2.GetDeliveryRequest(id=ids.deliveries["b/post"]))
    ping = method.ping
    assert (ping.address, ping.timeout_ms, ping.floor) == (buyers.address("b-ping"), 300, "12.5")
    assert (ping.answer.format, ping.answer.accepted_value) == ("xml", "BUY")
    assert [(m.param, m.field) for m in ping.mappings][:2] == [("zip", "Zip"), ("age", "Age")]

    campaign = ids.campaigns["acme-auto-web"]
    async with distribution_async(grpc_address, account.api_key) as stub:
        read = await stub.GetCampaignAuction(
            distribution_pb2.GetCampaignAuctionRequest(campaign_id=campaign)
        )
        updated = await stub.UpdateCampaignAuction(
            distribution_pb2.UpdateCampaignAuctionRequest(
                auction=distribution_pb2.CampaignAuction(
                    campaign_id=campaign, floor="4.25", fresh_seconds=30
                )
            )
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.UpdateCampaignAuction(
                distribution_pb2.UpdateCampaignAuctionRequest(
                    auction=distribution_pb2.CampaignAuction(
                        campaign_id=campaign, margin_percent="150"
                    )
                )
            )
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.GetCampaignAuction(
                distribution_pb2.GetCampaignAuctionRequest(campaign_id=campaign + 10_000)
            )
        kept = await stub.GetCampaignAuction(
            distribution_pb2.GetCampaignAuctionRequest(campaign_id=campaign)
        )
    assert (read.deadline_ms, Decimal(read.margin_percent), read.fresh_seconds) == (
        800,
        Decimal(10),
        60,
    )
    assert (updated.deadline_ms, Decimal(updated.floor), updated.fresh_seconds) == (
        1000,
        Decimal("4.25"),
        30,
    )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert kept == updated


async def test_a_process_that_dies_mid_auction_loses_no_lead_and_sells_once(
    new_account: Any,
    stub_for: Any,
    buyers: BuyerServer,
    http: httpx.AsyncClient,
    distributor: Distributor,
    pool: Any,
    idle: Any,
) -> None:
    """The walk dies after its buyers answered their pings and before any send is reserved;
    once its lease runs out, the engine auctions the lead again and sells it once."""
    buyers.behave("a-ping", answer='{"result": {"accepted": true, "bid": 30, "id": "A"}}')
    buyers.behave("b-ping", answer='{"result": {"accepted": true, "bid": 20, "id": "B"}}')
    auctions = distributor.auctions
    run = auctions.run
    died: list[int] = []

    async def dies_once(lead_id: int, *args: Any, **kwargs: Any) -> Any:
        result = await run(lead_id, *args, **kwargs)
        if not died:
            died.append(lead_id)
            raise RuntimeError("the process died here")
        return result

    auctions.run = dies_once  # type: ignore[method-assign]
    account = await new_account("Crash auction")
    ids = await apply(
        stub_for, account.api_key, [bidder("a", buyers, "json"), bidder("b", buyers, "json")]
    )
    answer = (await http.post("/processor/insert/general/json", data=posted(ids))).json()
    assert answer["ResponseType"] == "No_Error", answer
    lead_id = answer["LeadIdentifier"]
    for _ in range(200):
        if died:
            break
        await asyncio.sleep(0.02)
    assert died == [lead_id]
    assert buyers.of("a") == [] and buyers.of("b") == []  # nothing reserved, nothing posted
    async with pool.connection() as conn:  # the dead process's lease runs out
        await conn.execute(
            "UPDATE distribution_jobs SET lease_until = now() - interval '1 second'"
            " WHERE lead_id = %s",
            [lead_id],
        )
    distributor.wake()
    for _ in range(200):
        if buyers.of("a") and buyers.of("b"):
            break
        await asyncio.sleep(0.02)
    await idle()
    assert len(buyers.of("a-ping")) == 2 and len(buyers.of("b-ping")) == 2  # auctioned again
    assert [json.loads(r.body)["ref"] for r in buyers.of("a")] == ["A"]
    assert [json.loads(r.body)["ref"] for r in buyers.of("b")] == ["B"]
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) AS sends, count(*) FILTER (WHERE status = 3) AS sold"
            " FROM sends WHERE lead_id = %s",
            [lead_id],
        )
        row = await cursor.fetchone()
    assert row is not None and (row["sends"], row["sold"]) == (2, 2)


async def test_a_standby_bid_past_its_freshness_is_passed_over(
    new_account: Any,
    stub_for: Any,
    grpc_address: str,
    buyers: BuyerServer,
    http: httpx.AsyncClient,
    idle: Any,
) -> None:
    """The winner rejects the lead after the auction went stale: the standby bidder is
    passed over, and the fixed-price buyer, whose price does not expire, takes its place."""
    buyers.behave("first-ping", answer='{"result": {"accepted": true, "bid": 40, "id": "F"}}')
    buyers.behave("first", answer="rejected", delay=1.5)  # longer than fresh_seconds
    buyers.behave("second-ping", answer='{"result": {"accepted": true, "bid": 30, "id": "S"}}')
    account = await new_account("Stale auction")
    first = bidder("first", buyers, "json")
    first["deliveries"][0]["timeout_seconds"] = 5
    ids = await apply(
        stub_for,
        account.api_key,
        [first, bidder("second", buyers, "json"), fixed("fixed", buyers, "5")],
        max_sell=1,
        fresh_seconds=1,
    )
    answer = (await http.post("/processor/insert/general/json", data=posted(ids))).json()
    lead_id = answer["LeadIdentifier"]
    for _ in range(300):
        if buyers.of("fixed"):
            break
        await asyncio.sleep(0.02)
    await idle()
    async with distribution_async(grpc_address, account.api_key) as stub:
        sends = (await stub.ListSends(distribution_pb2.ListSendsRequest(lead_id=lead_id))).sends
        log = "\n".join(
            e.log
            for e in (
                await stub.GetLeadScanLog(distribution_pb2.GetLeadScanLogRequest(lead_id=lead_id))
            ).entries
        )
    assert buyers.of("second") == []
    assert {s.client_name: s.status for s in sends} == {
        "Buyer first": S.SEND_STATUS_REJECTED,
        "Buyer fixed": S.SEND_STATUS_SOLD,
    }
    assert "Buyer second / main (account" in log and "its bid expired at" in log
