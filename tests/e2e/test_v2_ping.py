"""The V2 ping over real HTTP (/v2/insert/ping): the inbound ping read and refused as a V2
post is, answered with the offers of the buyers its order reserved; a post naming the order
chooses among those offers only, and only the reserved buyers chosen with consent receive
the lead, against real buyer servers on loopback."""

from __future__ import annotations

import copy
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from leadrouter.v1 import admin_pb2

from clients.client import struct
from server.domain.intake.offers import NO_CONSENT
from tests.e2e.test_receiver_v2 import (
    EXAMPLE,
    FIELDS,
    Market,
    buyer,
    http,
    lead_count,
    offer,
    received,
    three_buyers,
)
from tests.support.buyers import BuyerServer

__all__ = ["http"]  # the receiver fixture, shared with the V2 post's tests

PING = {"Zip": "89101", "Age": "30"}  # eligibility fields only, no contact fields


class PingMarket(Market):
    """The V2 market with the campaign's max sell count set, pinging and posting on V2."""

    async def sell_to(self, clients: list[dict[str, Any]], max_sell: int) -> None:
        document = copy.deepcopy(EXAMPLE)
        campaign = document["sources"][0]["campaigns"][0]
        campaign["return_client_offers"] = True
        campaign["max_sell"] = max_sell
        document["clients"] = clients
        async with self.stub_for(self.key) as stub:
            await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))

    def source(self, **extra: Any) -> dict[str, Any]:
        return {
            "lid": self.ids.lead_types["auto-insurance"],
            "aid": self.ids.campaigns["acme-auto-web"],
            **extra,
        }

    async def ping(self, http: httpx.AsyncClient, url: str = "/v2/insert/ping") -> Any:
        body = {"source": self.source(), "leads": [{"fields": PING}]}
        answer = await http.post(url, json=body, headers=self.headers())
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def post(self, http: httpx.AsyncClient, order_id: str, chosen: dict[str, Any]) -> Any:
        body = {
            "source": self.source(orderId=order_id),
            "leads": [{"properties": {"offer": chosen}, "fields": {**FIELDS, **PING}}],
        }
        answer = await http.post("/v2/insert/general/json", json=body, headers=self.headers())
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture
def ping_market(new_account: Any, stub_for: Any, grpc_address: str) -> Any:
    async def create(
        clients: list[dict[str, Any]], *, max_sell: int = 3, one_to_one: bool = True
    ) -> PingMarket:
        account = await new_account("V2 ping market")
        made = PingMarket(stub_for, grpc_address, account.api_key)
        await made.apply(clients, one_to_one=one_to_one)
        if max_sell != 3:
            await made.sell_to(clients, max_sell)
        return made

    return create


async def test_a_v2_ping_answers_the_offers_of_the_buyers_its_order_reserved(
    ping_market: Any, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    m = await ping_market(three_buyers(buyers))
    pinged = await m.ping(http, "/V2/Insert/Ping/JSON/")
    assert pinged["WillAccept"] is True and pinged["OrderID"], pinged
    assert pinged["Response"] == "Coverage found, please supply Order ID in POST"
    assert buyers.received == []  # a ping delivers nothing
    # c's criteria do not match: it is not reserved, and its offer is not answered
    assert sorted(o["CompanyName"] for o in pinged["Offers"]) == ["Alpha", "Beta"]
    alpha = next(o for o in pinged["Offers"] if o["CompanyName"] == "Alpha")
    assert alpha == {
        "OfferID": str(await m.offer_id("a")),
        "ClientUID": m.ids.clients["a"],
        "Buyer": "Buyer a",
        "CompanyName": "Alpha",
        "CompanyPhone": "(702) 555-0199",
        "Name": "Alpha quote",
        "Description": "A free auto insurance quote",
        "URL": "https://alpha.example",
        "ImageURL": "https://alpha.example/logo.png",
        "PrivacyURL": "https://alpha.example/privacy",
        "TermsURL": "https://alpha.example/terms",
        "Duration": "30 days",
        "Amount": 0.0,
        "TCPAConsentText": "I agree to be called by Alpha.",
    }


async def test_a_v2_ping_in_xml_lists_its_offers(
    ping_market: Any, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    m = await ping_market(three_buyers(buyers))
    document = (
        f'<Leads lid="{m.ids.lead_types["auto-insurance"]}" '
        f'aid="{m.ids.campaigns["acme-auto-web"]}"><Lead><Zip>89101</Zip><Age>30</Age>'
        "</Lead></Leads>"
    )
    answer = await http.post(
        "/v2/insert/ping/xml", content=document, headers={"content-type": "text/xml", **m.headers()}
    )
    root = ElementTree.fromstring(answer.text)
    assert root.tag == "PingResponse" and root.findtext("WillAccept") == "true", answer.text
    names = sorted(o.findtext("CompanyName") or "" for o in root.iter("Offer"))
    assert names == ["Alpha", "Beta"]


async def test_a_v2_ping_is_refused_as_a_v2_post_is(
    ping_market: Any, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    m = await ping_market(three_buyers(buyers))
    body = {"source": m.source(), "leads": [{"fields": PING}]}
    keyless = await http.post("/v2/insert/ping", json=body)
    assert keyless.status_code == 401 and keyless.json()["ResponseType"] == "No_Account_Found"
    wrong = await http.post("/v2/insert/ping", json=body, headers={"api-key": "lr_nope"})
    assert wrong.json()["WillAccept"] is False, wrong.text
    encoded = await http.post("/v2/insert/ping", data=PING, headers=m.headers())
    assert encoded.status_code == 415 and encoded.json()["ResponseType"] == "Data_Errors"
    other_type = await http.post("/v2/insert/ping/csv", json=body, headers=m.headers())
    assert other_type.status_code == 404
    assert (await m.ping(http))["WillAccept"] is True  # the same ping with its key is taken


async def test_a_v2_ping_to_a_campaign_without_offers_answers_none(
    ping_market: Any, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    m = await ping_market(three_buyers(buyers), one_to_one=False)
    answer = await m.ping(http)
    assert answer["WillAccept"] is True and answer["Offers"] == [], answer


async def test_a_post_naming_an_offer_its_order_did_not_reserve_is_refused_and_changes_nothing(
    ping_market: Any, buyers: BuyerServer, http: httpx.AsyncClient, pool: Any, idle: Any
) -> None:
    m = await ping_market(three_buyers(buyers), max_sell=1)
    pinged = await m.ping(http)
    [reserved] = pinged["Offers"]  # one buyer reserved: its offer only, though b matches too
    other = "Beta" if reserved["CompanyName"] == "Alpha" else "Alpha"
    other_id = str(await m.offer_id("b" if other == "Beta" else "a"))
    before = await lead_count(pool)
    refused = await m.post(http, pinged["OrderID"], {"ids": [other_id], "consent": True})
    assert refused["isValidPost"] is False and refused["ResponseType"] == "Data_Errors"
    assert refused["ResponseDetails"] == (
        f"Offer '{other_id}' was not offered for this lead (offered: {reserved['OfferID']})"
    )
    assert [o["OfferID"] for o in refused["Offers"]] == [reserved["OfferID"]]
    assert await lead_count(pool) == before
    # the order stays unused: a post choosing the reserved offer takes it
    chosen = {"ids": [reserved["OfferID"]], "consent": True, "ipAddress": "203.0.113.7"}
    posted = await m.post(http, pinged["OrderID"], chosen)
    assert posted["ResponseType"] == "No_Error", posted
    key = "a" if reserved["CompanyName"] == "Alpha" else "b"
    assert len(await received(buyers, key)) == 1
    await idle()
    assert len(buyers.received) == 1
    [record] = (await m.consent(posted["LeadIdentifier"])).records
    assert str(record.offer_id) == reserved["OfferID"] and record.consent
    assert record.ip_address == "203.0.113.7"


async def test_only_the_reserved_buyers_chosen_with_consent_receive_the_posted_lead(
    ping_market: Any, buyers: BuyerServer, http: httpx.AsyncClient, idle: Any
) -> None:
    clients = [*three_buyers(buyers), buyer("d", buyers)]  # d matches, has no offer
    m = await ping_market(clients)
    pinged = await m.ping(http)
    assert sorted(o["CompanyName"] for o in pinged["Offers"]) == ["Alpha", "Beta"], pinged
    beta = str(await m.offer_id("b"))
    posted = await m.post(http, pinged["OrderID"], {"ids": [beta], "consent": True})
    assert posted["ResponseType"] == "No_Error", posted
    assert len(await received(buyers, "b")) == 1
    await idle()
    assert buyers.of("a") == [] and buyers.of("c") == [] and buyers.of("d") == []
    log = await m.scan_log(posted["LeadIdentifier"])
    assert "posted with a ping's order" in log
    passed = [line for line in log.splitlines() if NO_CONSENT in line]
    assert sorted(line.split(" / ")[0] for line in passed) == ["- Buyer a", "- Buyer d"], log
    evidence = await m.consent(posted["LeadIdentifier"])
    assert evidence.one_to_one and [r.offer_id for r in evidence.records] == [int(beta)]
    # the order was used by the lead: posting it again is refused
    again = await m.post(http, pinged["OrderID"], {"ids": [beta], "consent": True})
    assert again["isValidPost"] is False


async def test_a_post_with_its_order_and_no_consent_goes_to_no_one(
    ping_market: Any, buyers: BuyerServer, http: httpx.AsyncClient, idle: Any
) -> None:
    m = await ping_market([buyer("a", buyers, offer=offer("Alpha", "I agree to Alpha."))])
    pinged = await m.ping(http)
    alpha = pinged["Offers"][0]["OfferID"]
    posted = await m.post(http, pinged["OrderID"], {"ids": [alpha], "consent": False})
    assert posted["ResponseType"] == "No_Error", posted
    await idle()
    assert buyers.received == []
    [record] = (await m.consent(posted["LeadIdentifier"])).records
    assert not record.consent
