"""Inbound ping-post over real HTTP: a ping reserves the buyers the engine chooses under an
order, the post naming the order is delivered to exactly those buyers at their reserved
prices, an expired order releases their capacity, and a post that cannot use its order is
refused with nothing changed. Buyers are real HTTP servers on loopback; the lead service and
its engine run behind the receiver."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from leadrouter.v1 import admin_pb2, distribution_pb2

from clients.client import distribution_async, struct
from server.bootstrap import receiver
from server.config import Settings
from tests.e2e.test_orders_lists import order as buyer_order
from tests.e2e.test_receiver_async import processed
from tests.support.buyers import BuyerServer

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "acme.json").read_text())
# what a ping sends: the eligibility fields, no contact fields
PING = {"Zip": "89101", "Age": "30", "CreditRating": "Good"}
CONTACT = {
    "FirstName": "Ann",
    "LastName": "Lee",
    "Email": "ann@example.com",
    "Phone": "(702) 555-0100",
}
S = distribution_pb2


@pytest.fixture
async def http(grpc_address: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = replace(Settings(), receiver_address="127.0.0.1:0")
    async with (
        receiver(settings, grpc_address) as address,
        httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as client,
    ):
        yield client


def buyer(key: str, buyers: BuyerServer, price: str, **account: Any) -> dict[str, Any]:
    """A buyer with one HTTP POST delivery method and one delivery account."""
    return {
        "key": key,
        "name": f"Buyer {key}",
        "automation": "Price",
        "deliveries": [
            {
                "key": "post",
                "type": "http_post",
                "lead_type": "auto-insurance",
                "address": buyers.address(key),
                "response_search": "accepted",
                "timeout_seconds": 2,
                "mappings": [
                    {"field": "FirstName", "param": "first_name"},
                    {"field": "Email", "param": "email"},
                ],
            }
        ],
        "accounts": [{"key": "main", "delivery": "post", "price": price, **account}],
    }


def document(
    clients: list[dict[str, Any]],
    *,
    max_sell: int = 1,
    channel: str = "ping-post",
    order_seconds: int | None = None,
    **settings: Any,
) -> dict[str, Any]:
    made = copy.deepcopy(EXAMPLE)
    campaign = made["sources"][0]["campaigns"][0]
    campaign.update(max_sell=max_sell, channel=channel, **settings)
    if order_seconds is not None:
        campaign["ping_order_seconds"] = order_seconds
    made["clients"] = clients
    return made


class Market:
    """An account with the example lead source and these buyers, pinging and posting."""

    def __init__(self, http: httpx.AsyncClient, address: str, key: str, ids: Any) -> None:
        self.http, self.address, self.key, self.ids = http, address, key, ids

    def credentials(self) -> dict[str, str]:
        return {
            "vid": str(self.ids.sources["acme-media"]),
            "lid": str(self.ids.lead_types["auto-insurance"]),
            "aid": str(self.ids.campaigns["acme-auto-web"]),
            "password": "acme-secret",
        }

    async def ping(self, **fields: str) -> dict[str, Any]:
        answer = await self.http.post(
            "/processor/insert/ping/json", data={**self.credentials(), **PING, **fields}
        )
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    async def post(self, order_id: str | None, **fields: str) -> dict[str, Any]:
        extra = {} if order_id is None else {"orderid": order_id}
        data = {**self.credentials(), **PING, **CONTACT, **extra, **fields}
        answer = await self.http.post("/processor/insert/general/json", data=data)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    async def sends(self, lead_id: int) -> list[Any]:
        async with distribution_async(self.address, self.key) as stub:
            found = await stub.ListSends(distribution_pb2.ListSendsRequest(lead_id=lead_id))
        return list(found.sends)

    async def settled(self, lead_id: int, count: int = 1) -> list[Any]:
        """The lead's sends, once `count` of them are finished."""
        for _ in range(200):
            sends = await self.sends(lead_id)
            done = [s for s in sends if s.status not in (S.SEND_STATUS_IN_FLIGHT,)]
            if len(done) >= count:
                return sends
            await asyncio.sleep(0.05)
        raise AssertionError(f"lead {lead_id}: sends {await self.sends(lead_id)}")


@pytest.fixture
def market(new_account: Any, stub_for: Any, http: httpx.AsyncClient, grpc_address: str) -> Any:
    async def create(clients: list[dict[str, Any]], **settings: Any) -> Market:
        account = await new_account("Ping market")
        async with stub_for(account.api_key) as stub:
            ids = await stub.ApplyConfig(
                admin_pb2.ApplyConfigRequest(document=struct(document(clients, **settings)))
            )
        return Market(http, grpc_address, account.api_key, ids)

    return create


async def test_a_ping_reserves_and_its_post_goes_to_exactly_the_reserved_buyers(
    market: Any, buyers: BuyerServer
) -> None:
    m = await market(
        [
            buyer("high", buyers, "40"),
            buyer("mid", buyers, "30"),
            buyer("low", buyers, "20"),
        ],
        max_sell=2,
    )
    pinged = await m.ping()
    assert pinged["WillAccept"] is True, pinged
    assert pinged["Response"] == "Coverage found, please supply Order ID in POST"
    assert pinged["EstimatedPrice"] == "12.5"  # the campaign pays 12.50 per lead
    assert pinged["OrderID"] and pinged["RequestID"] and pinged["OrderExpiresOn"]
    assert buyers.received == []  # a ping delivers nothing
    posted = await m.post(pinged["OrderID"])
    assert posted["ResponseType"] == "No_Error", posted
    sends = await m.settled(posted["LeadIdentifier"], 2)
    assert sorted((s.client_name, s.price, s.status) for s in sends) == [
        ("Buyer high", "40", S.SEND_STATUS_SOLD),
        ("Buyer mid", "30", S.SEND_STATUS_SOLD),
    ]
    assert sorted(r.buyer for r in buyers.received) == ["high", "mid"]


async def leads_of(pool: Any, campaign_id: int) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) AS n FROM leads WHERE campaign_id = %s", [campaign_id]
        )
        row = await cursor.fetchone()
    assert row is not None
    return int(row["n"])


async def test_a_ping_in_xml_is_answered_with_a_ping_response(
    market: Any, buyers: BuyerServer
) -> None:
    m = await market([buyer("only", buyers, "25")])
    fields = "".join(f"<{k}>{v}</{k}>" for k, v in PING.items())
    creds = " ".join(f'{k}="{v}"' for k, v in m.credentials().items())
    body = f"<Leads {creds}><Lead>{fields}</Lead></Leads>"
    answer = await m.http.post(
        "/processor/insert/ping/xml", content=body, headers={"content-type": "text/xml"}
    )
    root = ElementTree.fromstring(answer.text)
    assert root.tag == "PingResponse"
    assert [child.tag for child in root] == [
        "WillAccept",
        "RequestID",
        "OrderID",
        "EstimatedPrice",
        "OrderExpiresOn",
        "Response",
    ]
    assert root.findtext("WillAccept") == "true"
    assert root.findtext("EstimatedPrice") == "12.5"


async def test_a_json_ping_without_coverage_is_answered_and_logged(
    market: Any, buyers: BuyerServer, pool: Any
) -> None:
    adults = [{"field": "Age", "operator": "GreaterOrEqual", "value": "65"}]
    m = await market([buyer("seniors", buyers, "25", criteria=adults)])
    body = {"source": m.credentials(), "leads": [{"fields": {**PING, **CONTACT}}]}
    answer = await m.http.post("/processor/insert/ping", json=body)
    found = answer.json()
    assert found["WillAccept"] is False
    assert found["OrderID"] == "" and found["OrderExpiresOn"] is None
    assert found["Response"] == "No coverage: no buyer can take this lead now"
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT request_body, response_details, steps FROM posts WHERE id = %s",
            [found["RequestID"]],
        )
        logged = await cursor.fetchone()
    assert logged is not None
    assert logged["response_details"] == found["Response"]
    kept = bytes(logged["request_body"]).decode()
    assert "Age=30" in kept and "ann" not in kept.lower()  # contact fields are not kept
    [choice] = [s for s in logged["steps"] if s["name"] == "choose_buyers"]
    assert "Buyer seniors" in choice["detail"] and "criteria failed" in choice["detail"]


async def test_a_ping_checks_its_fields_as_a_post_does(market: Any, buyers: BuyerServer) -> None:
    m = await market([buyer("only", buyers, "25")])
    found = await m.ping(Age="seventeen")
    assert found["WillAccept"] is False
    assert "Age" in found["Response"]


async def test_a_used_order_is_refused_and_changes_nothing(
    market: Any, buyers: BuyerServer, pool: Any
) -> None:
    m = await market([buyer("only", buyers, "25")])
    order = (await m.ping())["OrderID"]
    first = await m.post(order)
    assert first["ResponseType"] == "No_Error"
    await m.settled(first["LeadIdentifier"])
    again = await m.post(order, Email="other@example.com", Phone="7025550101")
    assert again["ResponseType"] == "Duplicate_Lead"
    assert again["ResponseDetails"] == f"Order {order} was used by an earlier post"
    assert again["LeadIdentifier"] == 0
    assert await leads_of(pool, m.ids.campaigns["acme-auto-web"]) == 1
    assert len(buyers.of("only")) == 1


async def test_unknown_and_malformed_orders_are_refused(
    market: Any, buyers: BuyerServer, pool: Any
) -> None:
    m = await market([buyer("only", buyers, "25")])
    unknown = "7cef1c61-916c-4ea8-b79f-5572e73c4602"
    found = await m.post(unknown)
    assert found["ResponseType"] == "Data_Errors"
    assert found["ResponseDetails"] == f"Unknown order {unknown} for this campaign; ping again"
    found = await m.post("not-an-order")
    assert found["ResponseType"] == "Data_Errors"
    assert found["ResponseDetails"] == "orderid 'not-an-order' is not an order id"
    assert await leads_of(pool, m.ids.campaigns["acme-auto-web"]) == 0
    assert buyers.received == []


async def test_a_post_whose_fields_differ_from_its_ping_is_refused_and_changes_nothing(
    market: Any, buyers: BuyerServer, pool: Any
) -> None:
    m = await market([buyer("only", buyers, "25")])
    order = (await m.ping())["OrderID"]
    changed = await m.post(order, Age="31")
    assert changed["ResponseType"] == "Outside_Criteria"
    assert changed["ResponseDetails"] == (
        f"The post's fields differ from the ping of order {order}: Age; ping again"
    )
    assert await leads_of(pool, m.ids.campaigns["acme-auto-web"]) == 0
    posted = await m.post(order)  # the order is still there, unused
    assert posted["ResponseType"] == "No_Error", posted
    await m.settled(posted["LeadIdentifier"])
    assert len(buyers.of("only")) == 1


async def test_a_ping_post_campaign_refuses_a_post_without_an_order(
    market: Any, buyers: BuyerServer, pool: Any
) -> None:
    m = await market([buyer("only", buyers, "25")])
    found = await m.post(None)
    assert found["ResponseType"] == "Data_Errors"
    assert found["ResponseDetails"] == (
        "This campaign is ping-post: ping first and post with the orderid it answers"
    )
    assert await leads_of(pool, m.ids.campaigns["acme-auto-web"]) == 0


async def test_a_post_campaign_takes_posts_with_or_without_an_order(
    market: Any, buyers: BuyerServer
) -> None:
    m = await market([buyer("only", buyers, "25")], channel="post", max_sell=1)
    plain = await m.post(None)
    assert plain["ResponseType"] == "No_Error"
    order = (await m.ping(Age="40"))["OrderID"]
    ordered = await m.post(order, Age="40", Email="b@example.com", Phone="7025550102")
    assert ordered["ResponseType"] == "No_Error", ordered


async def test_an_order_holds_a_day_cap_until_it_is_used(market: Any, buyers: BuyerServer) -> None:
    m = await market([buyer("capped", buyers, "25", day_max=1)])
    held = await m.ping()
    assert held["WillAccept"] is True
    assert (await m.ping())["WillAccept"] is False  # the cap is reserved
    posted = await m.post(held["OrderID"])
    sends = await m.settled(posted["LeadIdentifier"])
    assert [(s.client_name, s.price) for s in sends] == [("Buyer capped", "25")]
    assert (await m.ping())["WillAccept"] is False  # and now sold


async def test_an_expired_order_releases_its_capacity(
    market: Any, buyers: BuyerServer, pool: Any
) -> None:
    """Waits on real time: an order living one second."""
    m = await market([buyer("capped", buyers, "25", day_max=1)], order_seconds=1)
    held = await m.ping()
    assert held["WillAccept"] is True
    await asyncio.sleep(1.2)
    assert (await m.ping())["WillAccept"] is True  # the expired order released the cap
    late = await m.post(held["OrderID"])
    assert late["ResponseType"] == "Data_Errors"
    assert late["ResponseDetails"] == f"Order {held['OrderID']} has expired; ping again"
    assert await leads_of(pool, m.ids.campaigns["acme-auto-web"]) == 0
    assert buyers.received == []


async def test_the_post_pays_the_reserved_price_when_the_buyers_price_changed_since(
    market: Any, buyers: BuyerServer, stub_for: Any
) -> None:
    m = await market([buyer("only", buyers, "25")], channel="post")
    order = (await m.ping())["OrderID"]
    repriced = document([buyer("only", buyers, "35")], channel="post")
    async with stub_for(m.key) as stub:
        await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(repriced)))
    posted = await m.post(order)
    sends = await m.settled(posted["LeadIdentifier"])
    assert [(s.client_name, s.price) for s in sends] == [("Buyer only", "25")]
    later = await m.post(None, Email="c@example.com", Phone="7025550103")
    sends = await m.settled(later["LeadIdentifier"])
    assert [(s.client_name, s.price) for s in sends] == [("Buyer only", "35")]


async def test_an_order_holds_a_buyers_order_item(
    market: Any, buyers: BuyerServer, pool: Any
) -> None:
    made = buyer("ordered", buyers, "25", use_order=True)
    made["orders"] = [buyer_order("n", 1)]
    m = await market([made])
    held = await m.ping()
    assert held["WillAccept"] is True
    assert (await m.ping())["WillAccept"] is False  # the order's one lead is reserved
    posted = await m.post(held["OrderID"])
    assert posted["ResponseType"] == "No_Error", posted
    sends = await m.settled(posted["LeadIdentifier"])
    assert [(s.client_name, s.status) for s in sends] == [("Buyer ordered", S.SEND_STATUS_SOLD)]
    assert sends[0].order_id != 0


async def test_an_async_post_uses_its_order_once_processed(
    market: Any, buyers: BuyerServer
) -> None:
    m = await market([buyer("high", buyers, "40"), buyer("low", buyers, "20")])
    order = (await m.ping())["OrderID"]
    data = {**m.credentials(), **PING, **CONTACT, "orderid": order}
    queued = (await m.http.post("/processor/insert/general/json/async", data=data)).json()
    assert queued["QueueSuccessful"] is True, queued
    status = await processed(m.http, queued["StatusURL"])
    answer = status.json()["Response"]
    assert answer["ResponseType"] == "No_Error", answer
    sends = await m.settled(answer["LeadIdentifier"])
    assert [(s.client_name, s.price) for s in sends] == [("Buyer high", "40")]


async def test_a_ping_to_a_campaign_over_its_cap_is_refused(
    market: Any, buyers: BuyerServer
) -> None:
    m = await market([buyer("only", buyers, "25")], day_max=0)
    found = await m.ping()
    assert (found["WillAccept"], found["Response"]) == (False, "The campaign's day cap 0 reached")


async def test_a_post_to_a_campaign_disabled_since_its_ping_is_refused_and_keeps_its_order(
    market: Any, buyers: BuyerServer, stub_for: Any
) -> None:
    clients = [buyer("only", buyers, "25")]
    m = await market(clients)
    order = (await m.ping())["OrderID"]

    async def apply(**settings: Any) -> None:
        made = document(clients, **settings)
        async with stub_for(m.key) as stub:
            await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(made)))

    await apply(status="disabled")
    refused = await m.post(order)
    assert (refused["ResponseType"], refused["ResponseDetails"]) == (
        "Account_Disabled",
        "The campaign is disabled",
    )
    async with distribution_async(m.address, m.key) as stub:
        log = await stub.GetPingLog(S.GetPingLogRequest(id=order))
    assert not log.HasField("order_used_at") and log.lead_id == 0  # the order is unused
    # enabled again while the order lives: the order is still good, for its reserved buyer
    await apply(status="active")
    posted = await m.post(order)
    assert posted["ResponseType"] == "No_Error", posted
    sends = await m.settled(posted["LeadIdentifier"])
    assert [(s.client_name, s.price) for s in sends] == [("Buyer only", "25")]
