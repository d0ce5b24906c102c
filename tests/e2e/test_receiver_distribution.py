"""The receiver's distributing endpoints over real HTTP: transfer, manualredirect,
autoredirect, calldata, and an update that processes delivery again. Buyers are real HTTP
servers on loopback; the lead service and its distribution worker run behind the receiver."""

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
from leadrouter.v1 import admin_pb2

from clients.client import struct
from server.bootstrap import receiver
from server.config import Settings
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
CALL = {
    "ivrnumber": "(800) 555-0100",
    "callduration": "95",
    "callresult": "Sold",
    "calldate": "11/13/2020 12:15 PM",
}


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


def buyer(
    key: str,
    buyers: BuyerServer,
    *,
    price: str = "20",
    account_type: str = "standard",
    criteria: list[dict[str, str]] | None = None,
    **account: Any,
) -> dict[str, Any]:
    """A buyer with one HTTP POST delivery method and one delivery account of a type."""
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
                "redirect_search": r"url=(\S+)",
                "timeout_seconds": 2,
            }
        ],
        "accounts": [
            {
                "key": "main",
                "delivery": "post",
                "price": price,
                "account_type": account_type,
                "criteria": criteria or [],
                **account,
            }
        ],
    }


class Tenant:
    """An account with the example lead source and some buyers, posting over HTTP."""

    def __init__(self, stub_for: Any, key: str, max_sell: int) -> None:
        self.stub_for, self.key, self.max_sell = stub_for, key, max_sell
        self.ids: Any = None

    async def apply(self, clients: list[dict[str, Any]]) -> None:
        document = copy.deepcopy(EXAMPLE)
        document["sources"][0]["campaigns"][0]["max_sell"] = self.max_sell
        document["clients"] = clients
        async with self.stub_for(self.key) as stub:
            self.ids = await stub.ApplyConfig(
                admin_pb2.ApplyConfigRequest(document=struct(document))
            )

    def credentials(self) -> dict[str, str]:
        return {
            "vid": str(self.ids.sources["acme-media"]),
            "lid": str(self.ids.lead_types["auto-insurance"]),
            "aid": str(self.ids.campaigns["acme-auto-web"]),
            "password": "acme-secret",
        }

    def posted(self, **extra: str) -> dict[str, str]:
        return {**self.credentials(), **LEAD, **extra}


@pytest.fixture
def tenant(new_account: Any, stub_for: Any) -> Any:
    async def create(clients: list[dict[str, Any]], max_sell: int = 1) -> Tenant:
        account = await new_account("Receiver market")
        made = Tenant(stub_for, account.api_key, max_sell)
        await made.apply(clients)
        return made

    return create


async def received(buyers: BuyerServer, key: str, count: int = 1) -> list[Any]:
    """What buyer `key` received, once it received `count` leads."""
    for _ in range(200):
        if len(buyers.of(key)) >= count:
            return buyers.of(key)
        await asyncio.sleep(0.05)
    raise AssertionError(f"buyer {key} received {buyers.of(key)}")


async def stored_lead(pool: Any, lead_id: int) -> dict[str, Any]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT l.call_data, j.account_types FROM leads l"
            " LEFT JOIN distribution_jobs j ON j.account_id = l.account_id AND j.lead_id = l.id"
            " WHERE l.id = %s",
            [lead_id],
        )
        row = await cursor.fetchone()
    assert row is not None
    return dict(row)


# -- transfer ---------------------------------------------------------------------------------


def transfer_buyer(key: str, buyers: BuyerServer, agent: str, phone: str, **kw: Any) -> Any:
    return buyer(
        key, buyers, account_type="live_transfer", agent_name=agent, agent_phone=phone, **kw
    )


async def test_transfer_lists_the_agents_that_took_the_lead(
    tenant: Any, buyers: BuyerServer, http: httpx.AsyncClient, pool: Any
) -> None:
    buyers.behave("busy", answer="rejected: no agent free")
    t = await tenant(
        [
            transfer_buyer("busy", buyers, "Rita Busy", "7025550001", price="40"),
            transfer_buyer("demo", buyers, "John Smith", "7025551212", price="30"),
            transfer_buyer("acme", buyers, "Bob McCarthy", "6025551212", price="20"),
        ],
        max_sell=2,
    )
    answer = await http.post("/processor/insert/transfer/json", data=t.posted())
    body = answer.json()
    assert answer.status_code == 200 and body["ResponseType"] == "No_Error"
    assert body["ClientInfos"] == [
        {
            "ClientUID": t.ids.clients["demo"],
            "ClientName": "Buyer demo",
            "AgentName": "John Smith",
            "AgentPhone": "7025551212",
        },
        {
            "ClientUID": t.ids.clients["acme"],
            "ClientName": "Buyer acme",
            "AgentName": "Bob McCarthy",
            "AgentPhone": "6025551212",
        },
    ]
    assert "Sends" not in body
    assert (await stored_lead(pool, body["LeadIdentifier"]))["account_types"] == [2]


async def test_transfer_in_xml_holds_client_info_elements(
    tenant: Any, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    t = await tenant([transfer_buyer("demo", buyers, "John Smith", "7025551212")])
    answer = await http.post("/processor/insert/transfer/xml", data=t.posted())
    root = ElementTree.fromstring(answer.text)
    assert root.findtext("ResponseType") == "No_Error"
    [info] = root.find("ClientInfos") or []
    assert info.tag == "ClientInfo"
    assert {child.tag: child.text for child in info} == {
        "ClientUID": str(t.ids.clients["demo"]),
        "ClientName": "Buyer demo",
        "AgentName": "John Smith",
        "AgentPhone": "7025551212",
    }


async def test_transfer_sells_only_to_live_transfer_accounts(
    tenant: Any, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    """Waits on the engine passing over accounts whose type the job does not allow."""
    t = await tenant(
        [
            buyer("standard", buyers, price="90"),
            buyer("redirect", buyers, price="80", account_type="redirect"),
            transfer_buyer("agent", buyers, "John Smith", "7025551212", price="10"),
        ],
        max_sell=3,
    )
    body = (await http.post("/processor/insert/transfer/json", data=t.posted())).json()
    assert [c["ClientName"] for c in body["ClientInfos"]] == ["Buyer agent"]
    assert buyers.of("standard") == [] and buyers.of("redirect") == []


async def test_a_transfer_nobody_took_is_accepted_with_no_agents(
    tenant: Any, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    buyers.behave("busy", answer="rejected")
    t = await tenant([transfer_buyer("busy", buyers, "Rita Busy", "7025550001")])
    body = (await http.post("/processor/insert/transfer/json", data=t.posted())).json()
    assert (body["ResponseType"], body["ClientInfos"]) == ("No_Error", [])
    assert len(buyers.of("busy")) == 1


# -- redirects ----------------------------------------------------------------------------------


def redirect_buyer(key: str, buyers: BuyerServer, **kw: Any) -> Any:
    return buyer(key, buyers, account_type="redirect", **kw)


async def test_manualredirect_answers_with_the_url_the_buyer_gave(
    tenant: Any, buyers: BuyerServer, http: httpx.AsyncClient, pool: Any
) -> None:
    buyers.behave("lander", answer="accepted url=https://lander.example/offer?id=7&amp;s=2")
    t = await tenant([redirect_buyer("lander", buyers, redirect_url="https://lander.example/")])
    answer = await http.post("/processor/insert/manualredirect/json", data=t.posted())
    body = answer.json()
    assert answer.status_code == 200 and body["ResponseType"] == "No_Error"
    assert body["RedirectURL"] == "https://lander.example/offer?id=7&s=2"
    assert (await stored_lead(pool, body["LeadIdentifier"]))["account_types"] == [1]


async def test_manualredirect_falls_back_to_the_accounts_redirect_url(
    tenant: Any, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    t = await tenant([redirect_buyer("plain", buyers, redirect_url="https://plain.example/thanks")])
    answer = await http.post("/processor/insert/manualredirect/xml", data=t.posted())
    root = ElementTree.fromstring(answer.text)
    assert root.findtext("RedirectURL") == "https://plain.example/thanks"


async def test_redirect_endpoints_sell_only_to_redirect_accounts(
    tenant: Any, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    """Waits on the engine passing over accounts whose type the job does not allow."""
    t = await tenant(
        [
            buyer("standard", buyers, price="90", redirect_url="https://standard.example/"),
            redirect_buyer("lander", buyers, price="10", redirect_url="https://lander.example/"),
        ]
    )
    body = (await http.post("/processor/insert/manualredirect/json", data=t.posted())).json()
    assert body["RedirectURL"] == "https://lander.example/"
    assert buyers.of("standard") == []


async def test_autoredirect_sends_the_visitor_to_the_buyer(
    tenant: Any, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    buyers.behave("lander", answer="accepted url=https://lander.example/offer?id=7")
    t = await tenant([redirect_buyer("lander", buyers)])
    answer = await http.post(
        "/processor/insert/autoredirect/json",
        data=t.posted(returnurl="https://source.example/sorry"),
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "https://lander.example/offer?id=7"
    body = answer.json()
    assert (body["ResponseType"], body["RedirectURL"]) == (
        "No_Error",
        "https://lander.example/offer?id=7",
    )


async def test_autoredirect_with_no_buyer_goes_to_the_return_url(
    tenant: Any, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    buyers.behave("lander", answer="rejected")
    t = await tenant([redirect_buyer("lander", buyers, redirect_url="https://lander.example/")])
    answer = await http.post(
        "/processor/insert/autoredirect",
        data=t.posted(returnurl="https://source.example/sorry?x=1"),
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "https://source.example/sorry?x=1"
    assert "<RedirectURL />" in answer.text  # a URL-encoded post without /json: XML


async def test_autoredirect_of_a_refused_lead_goes_to_the_return_url(
    tenant: Any, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    t = await tenant([redirect_buyer("lander", buyers)])
    answer = await http.post(
        "/processor/insert/autoredirect/json",
        data=t.posted(Age="12", returnurl="https://source.example/sorry"),
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "https://source.example/sorry"
    assert answer.json()["ResponseType"] == "Outside_Criteria"
    assert buyers.received == []


@pytest.mark.parametrize("return_url", ["", "javascript:alert(1)", "/relative/page"])
async def test_autoredirect_without_a_usable_url_answers_the_body(
    tenant: Any, buyers: BuyerServer, http: httpx.AsyncClient, return_url: str
) -> None:
    buyers.behave("lander", answer="rejected")
    t = await tenant([redirect_buyer("lander", buyers)])
    answer = await http.post(
        "/processor/insert/autoredirect/xml", data=t.posted(returnurl=return_url)
    )
    assert answer.status_code == 200 and "location" not in answer.headers
    root = ElementTree.fromstring(answer.text)
    assert (root.findtext("ResponseType"), root.findtext("RedirectURL")) == ("No_Error", "")


# -- calldata -----------------------------------------------------------------------------------


async def test_call_data_is_stored_typed_with_the_lead(
    tenant: Any, buyers: BuyerServer, http: httpx.AsyncClient, pool: Any
) -> None:
    t = await tenant([buyer("any", buyers)])
    answer = await http.post("/processor/insert/calldata/json", data=t.posted(**CALL))
    body = answer.json()
    assert answer.status_code == 200 and body["ResponseType"] == "No_Error"
    stored = await stored_lead(pool, body["LeadIdentifier"])
    assert stored["call_data"] == {
        "IvrNumber": "8005550100",
        "CallDuration": 95,
        "CallResult": "Sold",
        "CallDate": "2020-11-13T20:15:00+00:00",
    }
    assert stored["account_types"] is None
    [got] = await received(buyers, "any")
    assert b"ivrnumber" not in got.body.lower()  # call data are not lead fields


async def test_call_data_in_json_properties_and_xml_elements(
    tenant: Any, buyers: BuyerServer, http: httpx.AsyncClient, pool: Any
) -> None:
    t = await tenant([])
    document = {
        "source": t.credentials(),
        "leads": [
            {
                "properties": {"ivrNumber": "8005550100", "callDuration": 61},
                "fields": {**LEAD, "Email": "json@example.com", "Phone": "7025550111"},
            }
        ],
    }
    # a JSON body's answer on calldata is an array, as the document's JSON example shows
    [as_json] = (await http.post("/processor/insert/calldata/json", json=document)).json()
    attrs = " ".join(f'{k}="{v}"' for k, v in t.credentials().items())
    fields = {**LEAD, "Email": "xml@example.com", "Phone": "7025550112"}
    xml = (
        f"<Leads {attrs}><Lead><IVRNumber>8005550100</IVRNumber><CallDuration>62</CallDuration>"
        + "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
        + "</Lead></Leads>"
    )
    as_xml = await http.post(
        "/processor/insert/calldata/json", content=xml, headers={"content-type": "text/xml"}
    )
    durations = []
    for body in (as_json, as_xml.json()):
        assert body["ResponseType"] == "No_Error", body
        durations.append((await stored_lead(pool, body["LeadIdentifier"]))["call_data"])
    assert [d["CallDuration"] for d in durations] == [61, 62]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"callduration": "ninety"}, "CallDuration: 'ninety' must be a whole number"),
        ({"callduration": "-1"}, "CallDuration: '-1' must be 0 or more"),
        ({"ivrnumber": ""}, "IvrNumber: is required"),
        ({"calldate": "31/31/2020"}, "CallDate: '31/31/2020' must be a date"),
    ],
)
async def test_bad_call_data_is_a_data_error_naming_the_field(
    tenant: Any, buyers: BuyerServer, http: httpx.AsyncClient, change: dict[str, str], named: str
) -> None:
    t = await tenant([buyer("any", buyers)])
    answer = await http.post("/processor/insert/calldata/xml", data=t.posted(**{**CALL, **change}))
    root = ElementTree.fromstring(answer.text)
    assert (root.findtext("isValidPost"), root.findtext("ResponseType")) == (
        "false",
        "Data_Errors",
    )
    assert named in (root.findtext("ResponseDetails") or "")
    assert buyers.received == []


async def test_a_buyer_criterion_can_read_the_call_data(
    tenant: Any, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    """Waits on the engine screening call data and criteria validation knowing CallDuration."""
    t = await tenant(
        [
            buyer(
                "long-calls",
                buyers,
                price="50",
                criteria=[{"field": "CallDuration", "operator": "GreaterOrEqual", "value": "90"}],
            ),
            buyer("rest", buyers, price="5"),
        ]
    )
    for duration, email in (("95", "long@example.com"), ("30", "short@example.com")):
        posted = t.posted(**{**CALL, "callduration": duration}, Email=email)
        posted["Phone"] = f"70255501{duration}"
        body = (await http.post("/processor/insert/calldata/json", data=posted)).json()
        assert body["ResponseType"] == "No_Error", body
    assert len(await received(buyers, "long-calls")) == 1
    assert len(await received(buyers, "rest")) == 1


# -- UpdateLead with processDelivery --------------------------------------------------------------


def update_form(t: Tenant, lead_id: int, **fields: str) -> dict[str, str]:
    return {
        "vid": t.credentials()["vid"],
        "lid": t.credentials()["lid"],
        "password": "acme-secret",
        "lpleaduid": str(lead_id),
        "processDelivery": "true",
        **fields,
    }


async def test_process_delivery_distributes_an_unsold_lead_again(
    tenant: Any, buyers: BuyerServer, http: httpx.AsyncClient, idle: Any
) -> None:
    california = [{"field": "State", "operator": "Equal", "value": "CA"}]
    t = await tenant([buyer("west", buyers, criteria=california)])
    posted = (await http.post("/processor/insert/returnsends/json", data=t.posted())).json()
    assert posted["ResponseType"] == "No_Error" and posted["Sends"] == []

    await t.apply([buyer("west", buyers), buyer("late", buyers, price="5")])
    answer = await http.post(
        "/processor/update/json", data=update_form(t, posted["LeadIdentifier"], Age="31")
    )
    body = answer.json()
    assert body["ResponseType"] == "No_Error"
    assert "delivery will be processed again" in body["ResponseDetails"]
    [got] = await received(buyers, "west")
    assert b"Age=31" in got.body  # the updated lead was sent
    await idle()
    assert buyers.of("late") == []  # max sell count 1: sold once is enough


async def test_process_delivery_skips_buyers_that_have_the_lead(
    tenant: Any, buyers: BuyerServer, http: httpx.AsyncClient, idle: Any
) -> None:
    t = await tenant([buyer("first", buyers)], max_sell=2)
    posted = (await http.post("/processor/insert/returnsends/json", data=t.posted())).json()
    assert [s["ClientName"] for s in posted["Sends"]] == ["Buyer first"]

    await t.apply([buyer("first", buyers), buyer("second", buyers)])
    json_update = {
        "source": {k: t.credentials()[k] for k in ("vid", "lid", "password")},
        "leads": [
            {
                "properties": {"leadUID": posted["LeadIdentifier"], "processDelivery": True},
                "fields": {},
            }
        ],
    }
    body = (await http.post("/processor/update/json", json=json_update)).json()
    assert body["ResponseType"] == "No_Error", body
    await received(buyers, "second")
    await idle()
    assert len(buyers.of("first")) == 1


async def test_process_delivery_leaves_a_no_sell_lead_alone(
    tenant: Any, buyers: BuyerServer, http: httpx.AsyncClient, idle: Any
) -> None:
    t = await tenant([buyer("any", buyers)])
    posted = (await http.post("/processor/insert/general/json", data=t.posted(nosell="1"))).json()
    body = (
        await http.post(
            "/processor/update/json", data=update_form(t, posted["LeadIdentifier"], Age="40")
        )
    ).json()
    assert body["ResponseType"] == "No_Error"
    assert "not distributed, the lead is noSell" in body["ResponseDetails"]
    await idle()
    assert buyers.received == []


async def test_an_update_without_process_delivery_does_not_distribute(
    tenant: Any, buyers: BuyerServer, http: httpx.AsyncClient, idle: Any
) -> None:
    aged_31 = [{"field": "Age", "operator": "Equal", "value": "31"}]
    t = await tenant([buyer("west", buyers, criteria=aged_31)])
    posted = (await http.post("/processor/insert/returnsends/json", data=t.posted())).json()
    assert posted["Sends"] == []
    form = update_form(t, posted["LeadIdentifier"], Age="31")
    del form["processDelivery"]
    body = (await http.post("/processor/update/json", data=form)).json()
    assert body["ResponseDetails"] == "Lead information updated"
    await idle()
    assert buyers.received == []
