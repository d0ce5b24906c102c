"""Dynamic offers through the V2 ping, over real HTTP: a buyer that pings first answers its
bid with an offer, the ping's order keeps that offer with the buyer's reservation, the V2 ping
answers it (under an id of its own) in place of the buyer's static offer, and the post naming
the order chooses among the order's offers: its consent evidence copies the dynamic offer's
consent text. Buyers are real HTTP servers on loopback."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from leadrouter.v1 import admin_pb2

from clients.client import struct
from tests.e2e.test_auction import ANSWERS, bidder
from tests.e2e.test_receiver_v2 import EXAMPLE, buyer, offer, received
from tests.e2e.test_v2_ping import PingMarket, http, ping_market
from tests.support.buyers import BuyerServer

__all__ = ["http", "ping_market"]  # fixtures

pytestmark = pytest.mark.asyncio

DYNAMIC = (
    '{"result": {"accepted": true, "bid": 40, "id": "D-1", '
    '"offer": {"company": "Delta Direct", "tcpa": "I agree to be called by Delta today.", '
    '"title": "Delta same-day quote", "amount": "4.99"}}}'
)


def dynamic_bidder(buyers: BuyerServer) -> dict[str, Any]:
    """A buyer pinging first whose answer carries its offer; its account has a static offer
    too, which the dynamic one stands in for."""
    made = bidder("d", buyers, "json")
    made["deliveries"][0]["ping"]["answer"] = {
        **ANSWERS["json"],
        "offer": {
            "company_name": "$.result.offer.company",
            "tcpa_consent_text": "$.result.offer.tcpa",
            "name": "$.result.offer.title",
            "amount": "$.result.offer.amount",
        },
    }
    made["accounts"][0]["offer"] = offer("Static Delta", "I agree to Delta's static words.")
    return made


async def dynamic_market(ping_market: Any, buyers: BuyerServer) -> PingMarket:
    """Buyer d bids with a dynamic offer; buyer e takes leads at a fixed price with its static
    offer; the campaign returns client offers and sells to both."""
    buyers.behave("d-ping", answer=DYNAMIC)
    clients = [
        dynamic_bidder(buyers),
        buyer("e", buyers, offer=offer("Echo", "I agree to be called by Echo.")),
    ]
    m: PingMarket = await ping_market(clients)
    document = copy.deepcopy(EXAMPLE)
    campaign = document["sources"][0]["campaigns"][0]
    campaign.update(return_client_offers=True, max_sell=2, auction={"deadline_ms": 5000})
    document["clients"] = clients
    async with m.stub_for(m.key) as stub:
        await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))
    return m


async def test_the_v2_ping_answers_a_buyers_dynamic_offer_and_the_post_chooses_it(
    ping_market: Any, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    m = await dynamic_market(ping_market, buyers)
    static_d = await m.offer_id("d")
    pinged = await m.ping(http)
    assert pinged["WillAccept"] is True, pinged
    offers = {o["CompanyName"]: o for o in pinged["Offers"]}
    assert sorted(offers) == ["Delta Direct", "Echo"]  # d's static offer is not answered
    delta = offers["Delta Direct"]
    assert delta["ClientUID"] == m.ids.clients["d"] and delta["Buyer"] == "Buyer d"
    assert delta["Name"] == "Delta same-day quote" and delta["Amount"] == 4.99
    assert delta["TCPAConsentText"] == "I agree to be called by Delta today."
    assert delta["OfferID"] not in (str(static_d), offers["Echo"]["OfferID"])
    assert offers["Echo"]["OfferID"] == str(await m.offer_id("e"))

    # d's static offer is not among the order's: refused, and the order stays usable
    refused = await m.post(http, pinged["OrderID"], {"ids": [str(static_d)], "consent": True})
    assert refused["ResponseType"] == "Data_Errors", refused
    assert refused["ResponseDetails"].startswith(f"Offer '{static_d}' was not offered")

    chosen = {"ids": [delta["OfferID"]], "consent": True, "ipAddress": "203.0.113.7"}
    posted = await m.post(http, pinged["OrderID"], chosen)
    assert posted["ResponseType"] == "No_Error", posted
    assert len(await received(buyers, "d")) == 1
    assert buyers.of("e") == []  # reserved, but its offer was not chosen with consent
    evidence = await m.consent(posted["LeadIdentifier"])
    [record] = evidence.records
    assert (record.offer_id, record.delivery_account_id) == (
        int(delta["OfferID"]),
        m.ids.accounts["d/main"],
    )
    assert record.consent_text == "I agree to be called by Delta today."
    assert record.consent and record.ip_address == "203.0.113.7"


async def test_each_ping_gives_a_dynamic_offer_an_id_of_its_own(
    ping_market: Any, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    m = await dynamic_market(ping_market, buyers)
    first = await m.ping(http)
    second = await m.ping(http, "/v2/insert/ping/json")
    ids = [
        next(o["OfferID"] for o in answer["Offers"] if o["CompanyName"] == "Delta Direct")
        for answer in (first, second)
    ]
    assert ids[0] != ids[1]
    # an order's dynamic offer is not another order's
    answer = await m.post(http, second["OrderID"], {"ids": [ids[0]], "consent": True})
    assert answer["ResponseType"] == "Data_Errors", answer
    assert f"Offer '{ids[0]}' was not offered" in answer["ResponseDetails"]
