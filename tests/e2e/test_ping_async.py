"""The async ping over real HTTP (/processor/insert/ping[/json|/xml]/async and the V2 ping's
/v2/insert/ping[/json|/xml]/async): queued and answered at once with a LeadQueueResponse,
processed by the queue's worker exactly as the synchronous ping (its order made then), its
PingResponse kept for the queue status URL and called back, signed, to its returnurl; the
post naming its order goes to the buyers it reserved. Buyers and the source's callback
receiver are real HTTP servers on loopback."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from leadrouter.v1 import admin_pb2, callbacks_pb2, distribution_pb2

from clients.client import distribution_async, struct
from tests.e2e.test_async_callbacks import http_with_callbacks
from tests.e2e.test_ping_post import CONTACT, PING, Market, buyer, document, http, market
from tests.e2e.test_receiver_async import processed, stored_answer
from tests.e2e.test_receiver_v2 import three_buyers
from tests.e2e.test_v2_ping import PING as V2_PING
from tests.e2e.test_v2_ping import PingMarket, ping_market
from tests.support.buyers import BuyerServer
from tests.support.callbacks import callback_receiver, documented_verify

__all__ = ["http", "http_with_callbacks", "market", "ping_market"]  # fixtures

pytestmark = pytest.mark.asyncio


def queued(answer: httpx.Response) -> dict[str, Any]:
    """The LeadQueueResponse of a queued ping (JSON)."""
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    assert found["QueueSuccessful"] is True, found
    assert found["ResponseDetails"] == "Lead has been queued for processing"
    return found


async def test_an_async_ping_is_processed_as_a_ping_and_its_order_used_by_a_post(
    market: Any, buyers: BuyerServer, pool: Any
) -> None:
    m: Market = await market([buyer("high", buyers, "40"), buyer("low", buyers, "20")])
    data = {**m.credentials(), **PING, **CONTACT}  # the contact fields are posted, not kept
    answer = queued(await m.http.post("/processor/insert/ping/json/async", data=data))
    status = (await processed(m.http, answer["StatusURL"])).json()
    assert status["QueueStatus"] == "Processed" and status["PostID"] == answer["PostID"]
    pinged = status["Response"]
    assert set(pinged) == {
        "WillAccept", "RequestID", "OrderID", "EstimatedPrice", "OrderExpiresOn", "Response",
    }  # fmt: skip
    assert pinged["WillAccept"] is True and pinged["OrderID"], pinged
    assert pinged["Response"] == "Coverage found, please supply Order ID in POST"
    assert pinged["RequestID"] != answer["PostID"]  # the ping's own post log entry
    assert buyers.received == []  # a ping delivers nothing
    # the ping's log, by its RequestID: it names the queued post's entry, which holds the body
    async with distribution_async(m.address, m.key) as stub:
        log = await stub.GetPingLog(distribution_pb2.GetPingLogRequest(id=pinged["RequestID"]))
    assert log.order_id == pinged["OrderID"]
    assert [r.client_name for r in log.reserved] == ["Buyer high"]
    assert b"Zip=89101" in log.request and b"ann" not in log.request.lower()
    # a ping's contact data is never stored, queued or not
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT request_body, ping FROM posts WHERE id = %s", (answer["PostID"],)
        )
        row = await cursor.fetchone()
        cursor = await conn.execute(
            "SELECT request FROM queued_posts WHERE post_id = %s", (answer["PostID"],)
        )
        request = (await cursor.fetchone())["request"]
    body = bytes(row["request_body"]).decode()
    assert "Zip=89101" in body and "ann" not in body.lower() and "555" not in body
    assert row["ping"] is True
    assert bytes(request) == b""  # dropped once processed
    posted = await m.post(pinged["OrderID"])
    assert posted["ResponseType"] == "No_Error", posted
    sends = await m.settled(posted["LeadIdentifier"])
    assert [(s.client_name, s.price) for s in sends] == [("Buyer high", "40")]


async def test_an_async_ping_in_xml_is_kept_as_the_xml_ping_response(
    market: Any, buyers: BuyerServer
) -> None:
    m: Market = await market([buyer("only", buyers, "25")])
    data = {**m.credentials(), **PING}
    sent = await m.http.post("/Processor/Insert/Ping/XML/Async/", data=data)
    assert sent.status_code == 200 and sent.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(sent.content)
    assert root.tag == "LeadQueueResponse" and root.findtext("QueueSuccessful") == "true"
    status = await processed(m.http, root.findtext("StatusURL") or "")
    kept = ElementTree.fromstring(stored_answer(status, "xml").encode())
    assert kept.tag == "PingResponse"
    assert kept.findtext("WillAccept") == "true" and kept.findtext("OrderID")
    assert kept.findtext("EstimatedPrice") == "12.5"  # the example campaign's price per lead


async def test_an_async_ping_without_coverage_is_processed_and_answered_so(
    market: Any, buyers: BuyerServer
) -> None:
    seniors = [{"field": "Age", "operator": "GreaterOrEqual", "value": "65"}]
    m: Market = await market([buyer("only", buyers, "25", criteria=seniors)])
    data = {**m.credentials(), **PING}
    answer = queued(await m.http.post("/processor/insert/ping/Json/async/", data=data))
    pinged = (await processed(m.http, answer["StatusURL"])).json()["Response"]
    assert (pinged["WillAccept"], pinged["OrderID"], pinged["OrderExpiresOn"]) == (
        False,
        "",
        None,
    )
    assert pinged["Response"] == "No coverage: no buyer can take this lead now"


async def test_an_async_ping_refused_before_queuing_is_answered_as_the_ping_is(
    market: Any, buyers: BuyerServer
) -> None:
    m: Market = await market([buyer("only", buyers, "25")])
    data = {**m.credentials(), **PING, "password": "wrong"}
    answer = await m.http.post("/processor/insert/ping/json/async", data=data)
    synchronous = await m.http.post("/processor/insert/ping/json", data=data)
    refused, sync = answer.json(), synchronous.json()
    assert answer.status_code == 200 and "QueueSuccessful" not in refused
    assert refused["WillAccept"] is False and refused["OrderID"] == ""
    assert refused["Response"] == sync["Response"] and refused["Response"]
    # a returnurl that is no absolute http(s) URL is refused at once too
    bad = await m.http.post(
        "/processor/insert/ping/json/async",
        data={**m.credentials(), **PING, "returnurl": "ftp://example.com/x"},
    )
    assert bad.json()["WillAccept"] is False and "returnurl" in bad.json()["Response"]
    async with distribution_async(m.address, m.key) as stub:
        log = await stub.GetPingLog(distribution_pb2.GetPingLogRequest(id=refused["RequestID"]))
    assert log.response == refused["Response"]


async def test_an_async_ping_calls_its_returnurl_back_signed(
    http_with_callbacks: Any, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    http, address = http_with_callbacks
    account = await new_account("Async ping callbacks")
    async with stub_for(account.api_key) as stub:
        made = document([buyer("only", buyers, "25")])
        ids = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(made)))
        allow = callbacks_pb2.AccountSettings(allow_private_callbacks=True)
        await stub.UpdateAccountSettings(callbacks_pb2.UpdateAccountSettingsRequest(settings=allow))
        secret = await stub.CreateSigningSecret(
            callbacks_pb2.CreateSigningSecretRequest(source_id=ids.sources["acme-media"])
        )
    m = Market(http, address, account.api_key, ids)
    async with callback_receiver() as source:
        data = {**m.credentials(), **PING, "returnurl": source.url()}
        answer = queued(await http.post("/processor/insert/ping/json/async", data=data))
        status = await processed(http, answer["StatusURL"])
        await asyncio.wait_for(source.arrived.wait(), 30)
        [call] = source.received
    assert call.headers["content-type"].startswith("application/json")
    assert json.loads(call.body) == status.json()["Response"]
    assert json.loads(call.body)["WillAccept"] is True
    verify = documented_verify()
    assert verify(secret.secret, call.headers["x-leadrouter-signature"], call.body)
    assert not verify("another secret", call.headers["x-leadrouter-signature"], call.body)


async def test_a_v2_async_ping_keeps_its_offers_and_its_post_chooses_among_them(
    ping_market: Any, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    m: PingMarket = await ping_market(three_buyers(buyers))
    body = {"source": m.source(), "leads": [{"fields": V2_PING}]}
    answer = queued(await http.post("/v2/insert/ping/json/async", json=body, headers=m.headers()))
    pinged = (await processed(http, answer["StatusURL"])).json()["Response"]
    assert pinged["WillAccept"] is True, pinged
    assert sorted(o["CompanyName"] for o in pinged["Offers"]) == ["Alpha", "Beta"]
    alpha = next(o for o in pinged["Offers"] if o["CompanyName"] == "Alpha")
    chosen = {"ids": [alpha["OfferID"]], "consent": True}
    posted = await m.post(http, pinged["OrderID"], chosen)
    assert posted["ResponseType"] == "No_Error", posted
    # the V2 async ping needs the key and a JSON or XML body, as the V2 ping does
    keyless = await http.post("/v2/insert/ping/async", json=body)
    assert keyless.status_code == 401
    encoded = await http.post("/v2/insert/ping/async", data={"lid": "1"}, headers=m.headers())
    assert encoded.status_code == 415
