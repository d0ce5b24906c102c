"""The service.asmx methods of distribution and manual operations through zeep, on the served
WSDL: each answers as the gRPC service does, and refuses what the service refuses."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from lxml import etree

from tests.e2e.test_distribution import client
from tests.e2e.test_operations import build, lead  # noqa: F401  (build is a fixture)
from tests.support.buyers import BuyerServer
from tests.support.soap import fault, soap

Build = Any
TNS = "{http://tempuri.org/}"


@pytest.fixture
async def market(build: Build, buyers: BuyerServer) -> Any:  # noqa: F811
    west = client(
        "west", buyers, price="40", criteria=[{"field": "State", "operator": "In", "value": "CA"}]
    )
    west["contact_first_name"], west["email"] = "Wes", "wes@west.example"
    west["website"] = "https://west.example"
    return await build([west, client("any", buyers, price="30")], max_sell=2)


async def test_scan_log_and_clients_for_lead(
    soap_client: Any, market: Any, buyers: BuyerServer
) -> None:
    posted = await market.post(lead(1, Zip="90210"), no_sell=True)
    key = market.key
    found = await soap(
        soap_client,
        "GetClientsForLead",
        Key=key,
        LeadUID=posted.lead_id,
        Automated=True,
        AllowOverMax=False,
    )
    assert [c.ClientUID for c in found] == [market.ids.clients["west"], market.ids.clients["any"]]
    assert found[0].ClientAccountUID == market.ids.accounts["west/main"]
    assert found[0].Automation is True
    for_send = await soap(soap_client, "GetClientsForSend", Key=key, LeadUID=posted.lead_id)
    assert [(c.ClientName, c.Price) for c in for_send] == [
        ("Buyer west", 40.0),
        ("Buyer any", 30.0),
    ]
    assert (for_send[0].ContactFirstName, for_send[0].Email) == ("Wes", "wes@west.example")
    # zeep reads an empty array as None
    assert not await soap(soap_client, "GetClientsForRedirect", Key=key, LeadUID=posted.lead_id)
    assert not await soap(soap_client, "GetClientsForTransfer", Key=key, LeadUID=posted.lead_id)
    for method in (
        "GetClientsForLead",
        "GetClientsForSend",
        "GetClientsForRedirect",
        "GetClientsForTransfer",
        "GetLeadScanLog",
    ):
        params = (
            {"Automated": False, "AllowOverMax": False} if method == "GetClientsForLead" else {}
        )
        refused = await fault(soap_client, method, Key=key, LeadUID=1 << 40, **params)
        assert refused.code.endswith("Client"), method


async def test_a_lead_sold_by_hand_logged_confirmed_and_resent(
    soap_client: Any, market: Any, buyers: BuyerServer
) -> None:
    posted = await market.post(lead(2, Zip="90210"), no_sell=True)
    key, ids = market.key, market.ids
    sent = await soap(
        soap_client,
        "ProcessClientDelivery",
        Key=key,
        LeadUID=posted.lead_id,
        ClientUID=ids.clients["any"],
        ClientAccountUID=ids.accounts["any/main"],
        ClientOrderUID=0,
        Notes="by hand",
    )
    assert (sent.isValid, sent.Status) == (True, "Sold")
    assert "accepted" in sent.Response
    again = await fault(
        soap_client,
        "ProcessClientDelivery",
        Key=key,
        LeadUID=posted.lead_id,
        ClientUID=ids.clients["any"],
        ClientAccountUID=ids.accounts["any/main"],
        ClientOrderUID=0,
        Notes="",
    )
    assert again.code.endswith("Client")
    assert (
        await soap(
            soap_client,
            "ConfirmSale",
            Key=key,
            LeadUID=posted.lead_id,
            ClientUID=ids.clients["any"],
        )
        is None
    )
    refused = await fault(
        soap_client, "ConfirmSale", Key=key, LeadUID=posted.lead_id, ClientUID=ids.clients["west"]
    )
    assert refused.code.endswith("Client")
    # a noSell lead is not distributed; its log has the manual send and the confirmation
    log = await soap(soap_client, "GetLeadScanLog", Key=key, LeadUID=posted.lead_id)
    assert {entry.LeadUID for entry in log} == {posted.lead_id}
    assert "sale confirmed" in log[-1].Log and "Buyer any" in log[-1].Log
    await soap(
        soap_client,
        "LogClientSend",
        Key=key,
        ClientUID=ids.clients["west"],
        LeadUID=posted.lead_id,
        DeliveryUID=0,
        PostString="first_name=Ann",
        Response="ok",
        ClientOrderUID=0,
        ClientOrderItemUID=0,
        ClientAccountUID=ids.accounts["west/main"],
    )
    sends = await market.sends(posted.lead_id)
    assert {s.client_name for s in sends} == {"Buyer any", "Buyer west"}
    logged = next(s for s in sends if s.client_name == "Buyer west")
    assert (logged.request, logged.response) == ("first_name=Ann", "ok")
    refused = await fault(
        soap_client,
        "LogClientSend",
        Key=key,
        ClientUID=ids.clients["west"],
        LeadUID=1 << 40,
        DeliveryUID=0,
        PostString="",
        Response="",
        ClientOrderUID=0,
        ClientOrderItemUID=0,
        ClientAccountUID=ids.accounts["west/main"],
    )
    assert refused.code.endswith("Client")


async def test_a_rejected_send_is_resent(
    soap_client: Any, market: Any, buyers: BuyerServer
) -> None:
    posted = await market.post(lead(4, Zip="90210"), no_sell=True)
    ids = market.ids
    buyers.behave("west", answer="nope")
    sent = await soap(
        soap_client,
        "ProcessClientDelivery",
        Key=market.key,
        LeadUID=posted.lead_id,
        ClientUID=ids.clients["west"],
        ClientAccountUID=ids.accounts["west/main"],
        ClientOrderUID=0,
        Notes="",
    )
    assert (sent.isValid, sent.Status) == (False, "Rejected")
    buyers.behave("west", answer="accepted")
    rejected = (await market.sends(posted.lead_id))[0]
    await soap(soap_client, "ResendLead", key=market.key, leadSendUid=rejected.id)
    sends = await market.sends(posted.lead_id)
    assert [s.resend_of for s in sends] == [0, rejected.id]
    refused = await fault(soap_client, "ResendLead", key=market.key, leadSendUid=1 << 40)
    assert refused.code.endswith("Client")


async def test_redirect_status_notify_is_stored_on_its_send(
    soap_client: Any,
    build: Build,  # noqa: F811
    buyers: BuyerServer,
) -> None:
    url = "https://a.example/welcome"
    m = await build([client("a", buyers, account_type="redirect", redirect_url=url)])
    posted = await m.post(lead(9))
    [sold] = await m.settled(posted.lead_id)
    scans = await soap(soap_client, "GetLeadScanLog", Key=m.key, LeadUID=posted.lead_id)
    assert {s.LeadUID for s in scans} == {posted.lead_id}
    assert any("Buyer a" in s.Log for s in scans)
    offers = await soap(soap_client, "GetClientsForRedirect", Key=m.key, LeadUID=posted.lead_id)
    assert not offers  # sold already: max sell 1
    await soap(soap_client, "RedirectStatusNotify", Key=m.key, LeadUID=posted.lead_id,
               Redirect=url, isValid=True, Response="landed")  # fmt: skip
    [notified] = await m.sends(posted.lead_id)
    assert (notified.id, notified.redirect_valid, notified.redirect_response) == (
        sold.id, True, "landed"
    )  # fmt: skip


async def test_redirect_status_notify_needs_a_redirect_send(soap_client: Any, market: Any) -> None:
    posted = await market.post(lead(3, Zip="90210"), no_sell=True)
    refused = await fault(
        soap_client,
        "RedirectStatusNotify",
        Key=market.key,
        LeadUID=posted.lead_id,
        Redirect="https://example.com/x",
        isValid=True,
        Response="arrived",
    )
    assert refused.code.endswith("Client")
    assert "redirect" in refused.message.lower()


async def test_clients_for_criteria_over_soap_and_the_http_forms(
    soap_client: Any, soap_url: str, market: Any
) -> None:
    lid = market.ids.lead_types["auto-insurance"]
    found = await soap(
        soap_client,
        "GetClientsforCriteriaAdvanced",
        Key=market.key,
        LeadTypeUID=lid,
        Criteria={"CriteriaItemType": [{"Name": "State", "Value": "CA"}]},
    )
    assert [(c.ClientName, c.Price) for c in found] == [("Buyer west", 40.0), ("Buyer any", 30.0)]
    assert (found[0].ContactFirstName, found[0].Website) == ("Wes", "https://west.example")
    refused = await fault(
        soap_client,
        "GetClientsforCriteriaAdvanced",
        Key=market.key,
        LeadTypeUID=lid,
        Criteria={"CriteriaItemType": [{"Name": "Age", "Value": "old"}]},
    )
    assert refused.code.endswith("Client")
    async with httpx.AsyncClient() as http:
        got = await http.get(
            f"{soap_url}/GetClientsforCriteria",
            params={"key": market.key, "lid": lid, "State": "NV"},
        )
        posted = await http.post(
            f"{soap_url}/GetClientsforCriteria", data={"key": market.key, "lid": lid, "State": "CA"}
        )
        missing = await http.get(
            f"{soap_url}/GetClientsforCriteria", params={"key": market.key, "lid": 1 << 40}
        )
    assert got.status_code == 200, got.text
    names = [e.text for e in etree.fromstring(got.content).iter(f"{TNS}ClientName")]
    assert names == ["Buyer any"]
    assert etree.fromstring(posted.content).tag == f"{TNS}ArrayOfClientCriteriaMatchType"
    assert [e.text for e in etree.fromstring(posted.content).iter(f"{TNS}ClientName")] == [
        "Buyer west",
        "Buyer any",
    ]
    assert missing.status_code == 404
