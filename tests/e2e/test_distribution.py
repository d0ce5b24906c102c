"""Distribution end to end: leads posted over gRPC, buyers as real HTTP servers on loopback,
the outcome read back through DistributionService."""

from __future__ import annotations

import asyncio
import copy
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from xml.etree import ElementTree

import grpc
import httpx
import pytest
from leadrouter.v1 import admin_pb2, catalog_pb2, distribution_pb2, leads_pb2, leads_pb2_grpc

from clients.client import admin_async, distribution_async, struct, violations
from server.bootstrap import receiver
from server.config import Settings
from tests.support.buyers import BuyerServer

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "acme.json").read_text())
R = leads_pb2.ResponseType
S = distribution_pb2.SendStatus
LEAD = {
    "FirstName": "Ann",
    "LastName": "Lee",
    "Email": "ann@example.com",
    "Phone": "(702) 555-0100",
    "Zip": "89101",
    "Age": "30",
}


def client(
    key: str,
    buyers: BuyerServer,
    *,
    price: str = "20",
    automation: str = "Price",
    criteria: list[dict[str, str]] | None = None,
    **account: Any,
) -> dict[str, Any]:
    """A buyer with one HTTP POST delivery method and one delivery account."""
    return {
        "key": key,
        "name": f"Buyer {key}",
        "automation": automation,
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
                    {"field": "State", "param": "state"},
                ],
            }
        ],
        "accounts": [
            {
                "key": "main",
                "delivery": "post",
                "price": price,
                "criteria": criteria or [],
                **account,
            }
        ],
    }


class Market:
    """A tenant with the example lead source and some buyers, posting over gRPC."""

    def __init__(self, address: str, key: str, ids: Any) -> None:
        self.address, self.key, self.ids = address, key, ids

    async def post(
        self,
        fields: dict[str, str] | None = None,
        *,
        wait: bool = False,
        no_sell: bool = False,
        send_delay_hours: str = "",
    ) -> Any:
        lead = leads_pb2.LeadInput(
            no_sell=no_sell,
            fields=[leads_pb2.FieldValue(name=k, value=v) for k, v in (fields or LEAD).items()],
        )
        request = leads_pb2.SubmitLeadsRequest(
            credentials=leads_pb2.Credentials(
                vid=str(self.ids.sources["acme-media"]),
                lid=str(self.ids.lead_types["auto-insurance"]),
                aid=str(self.ids.campaigns["acme-auto-web"]),
                password="acme-secret",
            ),
            leads=[lead],
            wait_for_sends=wait,
            send_delay_hours=send_delay_hours,
        )
        async with grpc.aio.insecure_channel(self.address) as channel:
            answer = await leads_pb2_grpc.LeadServiceStub(channel).SubmitLeads(request)
        result = answer.results[0]
        assert result.response_type == R.NO_ERROR, result.response_details
        return result

    async def sends(self, lead_id: int) -> list[Any]:
        async with distribution_async(self.address, self.key) as stub:
            found = await stub.ListSends(distribution_pb2.ListSendsRequest(lead_id=lead_id))
        return list(found.sends)

    async def settled(self, lead_id: int, count: int = 1) -> list[Any]:
        """The lead's sends once `count` of them are finished (sold, rejected or failed)."""
        for _ in range(200):
            sends = await self.sends(lead_id)
            done = [
                s
                for s in sends
                if s.status in (S.SEND_STATUS_SOLD, S.SEND_STATUS_REJECTED, S.SEND_STATUS_FAILED)
            ]
            if len(done) >= count:
                return sends
            await asyncio.sleep(0.05)
        raise AssertionError(f"lead {lead_id} has sends {sends}")

    async def scan_log(self, lead_id: int) -> str:
        async with distribution_async(self.address, self.key) as stub:
            found = await stub.GetLeadScanLog(
                distribution_pb2.GetLeadScanLogRequest(lead_id=lead_id)
            )
        return "\n".join(e.log for e in found.entries)


MarketFactory = Callable[..., Any]


@pytest.fixture
def market(grpc_address: str, new_account: Any, stub_for: Any) -> MarketFactory:
    async def create(clients: list[dict[str, Any]], max_sell: int = 1) -> Market:
        document = copy.deepcopy(EXAMPLE)
        document["sources"][0]["campaigns"][0]["max_sell"] = max_sell
        document["clients"] = clients
        tenant = await new_account("Market")
        async with stub_for(tenant.api_key) as stub:
            ids = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))
        return Market(grpc_address, tenant.api_key, ids)

    return create


def form(received: Any) -> dict[str, list[str]]:
    return parse_qs(received.body.decode())


async def test_a_lead_goes_to_the_highest_paying_buyer(
    market: MarketFactory, buyers: BuyerServer
) -> None:
    m = await market([client("low", buyers, price="10"), client("high", buyers, price="30")])
    lead = await m.post()
    sends = await m.settled(lead.lead_id)
    assert [(s.client_name, s.status, s.price) for s in sends] == [
        ("Buyer high", S.SEND_STATUS_SOLD, "30")
    ]
    assert buyers.of("low") == []
    [got] = buyers.of("high")
    assert form(got) == {"first_name": ["Ann"], "email": ["ann@example.com"], "state": ["NV"]}
    assert got.headers["idempotency-key"] == f"leadrouter-send-{sends[0].id}"


async def test_criteria_send_a_lead_only_to_buyers_that_want_it(
    market: MarketFactory, buyers: BuyerServer
) -> None:
    m = await market(
        [
            client(
                "west",
                buyers,
                price="50",
                criteria=[{"field": "State", "operator": "In", "value": "CA,OR"}],
            ),
            client(
                "nevada",
                buyers,
                price="5",
                criteria=[{"field": "State", "operator": "Equal", "value": "NV"}],
            ),
        ]
    )
    lead = await m.post()
    sends = await m.settled(lead.lead_id)
    assert [s.client_name for s in sends] == ["Buyer nevada"]
    log = await m.scan_log(lead.lead_id)
    assert "criteria failed: State=NV not in CA,OR" in log
    assert "Send" in log and "sold" in log


async def test_a_rejected_lead_falls_to_the_next_buyer(
    market: MarketFactory, buyers: BuyerServer
) -> None:
    buyers.behave("first", answer="rejected: no coverage")
    m = await market([client("first", buyers, price="40"), client("second", buyers, price="20")])
    lead = await m.post()
    sends = await m.settled(lead.lead_id, 2)
    assert [(s.client_name, s.status) for s in sends] == [
        ("Buyer first", S.SEND_STATUS_REJECTED),
        ("Buyer second", S.SEND_STATUS_SOLD),
    ]
    assert sends[0].response == "rejected: no coverage"


@pytest.mark.slow  # waits for retries or delays in real time
async def test_a_transport_failure_is_retried_then_the_next_buyer_gets_the_lead(
    market: MarketFactory, buyers: BuyerServer
) -> None:
    buyers.behave("flaky", answer="oops", status=503)
    dead = client("dead", buyers, price="60")
    dead["deliveries"][0]["address"] = "http://127.0.0.1:9/buy"  # nothing listens on port 9
    m = await market([dead, client("backup", buyers, price="10")])
    lead = await m.post()
    sends = await m.settled(lead.lead_id, 2)
    assert [(s.client_name, s.status) for s in sends] == [
        ("Buyer dead", S.SEND_STATUS_FAILED),
        ("Buyer backup", S.SEND_STATUS_SOLD),
    ]
    assert sends[0].attempts == 5 and "transport failure after 5 attempts" in sends[0].reason


async def test_an_answer_holding_nul_is_recorded_with_the_nul_replaced(
    market: MarketFactory, buyers: BuyerServer
) -> None:
    """PostgreSQL text cannot hold NUL: refused, the outcome was never recorded and the send
    went to the buyer again each time its lease ran out."""
    buyers.behave("odd", answer="accepted\x00 ref\x00 42")
    odd = client("odd", buyers)
    odd["deliveries"][0]["reason_search"] = "(ref.*)"
    m = await market([odd])
    lead = await m.post()
    [send] = await m.settled(lead.lead_id)
    assert send.status == S.SEND_STATUS_SOLD
    assert (send.response, send.reason) == ("accepted\ufffd ref\ufffd 42", "ref\ufffd 42")
    assert len(buyers.of("odd")) == 1


async def test_an_error_status_is_a_rejection_not_a_retry(
    market: MarketFactory, buyers: BuyerServer
) -> None:
    buyers.behave("broken", answer="accepted", status=500)
    m = await market([client("broken", buyers, price="60"), client("ok", buyers, price="1")])
    lead = await m.post()
    sends = await m.settled(lead.lead_id, 2)
    assert [(s.status, s.attempts) for s in sends] == [
        (S.SEND_STATUS_REJECTED, 1),
        (S.SEND_STATUS_SOLD, 1),
    ]


async def test_a_day_cap_passes_a_buyer_over_once_reached(
    market: MarketFactory, buyers: BuyerServer
) -> None:
    m = await market([client("capped", buyers, price="90", day_max=2), client("rest", buyers)])
    winners = []
    for i in range(3):
        lead = await m.post({**LEAD, "Email": f"p{i}@example.com", "Phone": f"702555{i:04d}"})
        winners.append((await m.settled(lead.lead_id))[0].client_name)
    assert winners == ["Buyer capped", "Buyer capped", "Buyer rest"]
    assert "day cap 2 reached" in await m.scan_log(lead.lead_id)


async def test_round_robin_takes_buyers_in_turn(market: MarketFactory, buyers: BuyerServer) -> None:
    m = await market([client(k, buyers, automation="RoundRobin") for k in ("a", "b", "c")])
    winners = []
    for i in range(6):
        lead = await m.post({**LEAD, "Email": f"p{i}@example.com", "Phone": f"702555{i:04d}"})
        winners.append((await m.settled(lead.lead_id))[0].client_name[-1])
    assert winners == ["a", "b", "c", "a", "b", "c"]


async def test_a_lead_sold_up_to_its_max_sell_count(
    market: MarketFactory, buyers: BuyerServer, idle: Any
) -> None:
    m = await market(
        [client(k, buyers, price=p) for k, p in (("x", "5"), ("y", "7"), ("z", "9"))], max_sell=2
    )
    lead = await m.post()
    sends = await m.settled(lead.lead_id, 2)
    await idle()
    sends = await m.sends(lead.lead_id)
    assert sorted(s.client_name for s in sends) == ["Buyer y", "Buyer z"]


async def test_a_no_sell_lead_is_stored_and_not_sent(
    market: MarketFactory, buyers: BuyerServer, pool: Any
) -> None:
    m = await market([client("any", buyers)])
    result = await m.post(no_sell=True, wait=True)
    assert result.lead_id and list(result.sends) == []
    assert buyers.of("any") == []


async def test_waiting_for_sends_answers_with_them(
    market: MarketFactory, buyers: BuyerServer
) -> None:
    buyers.behave("picky", answer="rejected")
    m = await market([client("picky", buyers, price="50"), client("easy", buyers, price="25")])
    result = await m.post(wait=True)
    assert [(s.client_name, s.valid, s.price) for s in result.sends] == [
        ("Buyer picky", False, "50"),
        ("Buyer easy", True, "25"),
    ]


async def test_a_dry_run_explains_without_sending(
    market: MarketFactory, buyers: BuyerServer
) -> None:
    m = await market(
        [
            client(
                "nv",
                buyers,
                price="30",
                criteria=[{"field": "State", "operator": "Equal", "value": "NV"}],
            ),
            client("ca", buyers, criteria=[{"field": "State", "operator": "Equal", "value": "CA"}]),
        ]
    )
    async with distribution_async(m.address, m.key) as stub:
        scan = await stub.DryRun(
            distribution_pb2.DryRunRequest(
                lead_type_id=m.ids.lead_types["auto-insurance"],
                fields=[leads_pb2.FieldValue(name="State", value="ca")],
            )
        )
    assert [(a.client_name, a.eligible, a.rank) for a in scan.accounts] == [
        ("Buyer ca", True, 1),
        ("Buyer nv", False, 0),
    ]
    assert "State=ca" in scan.accounts[1].reason
    assert buyers.received == []


async def test_clients_for_a_lead_leave_out_buyers_that_have_it(
    market: MarketFactory, buyers: BuyerServer
) -> None:
    m = await market([client(k, buyers, price=p) for k, p in (("a", "3"), ("b", "4"), ("c", "2"))])
    lead = await m.post()
    await m.settled(lead.lead_id)

    async def ask(allow_over_max: bool) -> list[tuple[str, str]]:
        async with distribution_async(m.address, m.key) as stub:
            found = await stub.GetClientsForLead(
                distribution_pb2.GetClientsForLeadRequest(
                    lead_id=lead.lead_id, allow_over_max=allow_over_max
                )
            )
        return [(c.client_name, c.price) for c in found.clients]

    assert await ask(allow_over_max=False) == []  # sold once: its max sell count is reached
    assert await ask(allow_over_max=True) == [("Buyer a", "3"), ("Buyer c", "2")]


async def test_another_accounts_lead_is_not_found(
    market: MarketFactory, buyers: BuyerServer
) -> None:
    mine = await market([client("a", buyers)])
    theirs = await market([client("b", buyers)])
    lead = await mine.post()
    async with distribution_async(theirs.address, theirs.key) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetLeadScanLog(distribution_pb2.GetLeadScanLogRequest(lead_id=lead.lead_id))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert await theirs.sends(lead.lead_id) == []


async def test_many_leads_at_once_respect_a_cap_exactly(
    market: MarketFactory, buyers: BuyerServer
) -> None:
    m = await market([client("capped", buyers, price="90", day_max=5), client("rest", buyers)])
    leads = await asyncio.gather(
        *(
            m.post({**LEAD, "Email": f"q{i}@example.com", "Phone": f"702556{i:04d}"})
            for i in range(30)
        )
    )
    winners: Counter[str] = Counter()
    for lead in leads:
        winners[(await m.settled(lead.lead_id))[0].client_name] += 1
    assert winners == {"Buyer capped": 5, "Buyer rest": 25}


@pytest.fixture
async def http(grpc_address: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = replace(Settings(), receiver_address="127.0.0.1:0")
    async with (
        receiver(settings, grpc_address) as address,
        httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as http_client,
    ):
        yield http_client


def posted(m: Market) -> dict[str, str]:
    return {
        "vid": str(m.ids.sources["acme-media"]),
        "lid": str(m.ids.lead_types["auto-insurance"]),
        "aid": str(m.ids.campaigns["acme-auto-web"]),
        "password": "acme-secret",
        **LEAD,
    }


async def test_returnsends_lists_the_sends_in_json(
    market: MarketFactory, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    buyers.behave("picky", answer="rejected")
    m = await market([client("picky", buyers, price="50"), client("easy", buyers, price="25")])
    answer = await http.post("/processor/insert/returnsends/json", data=posted(m))
    body = answer.json()
    assert answer.status_code == 200 and body["ResponseType"] == "No_Error"
    assert body["Sends"] == [
        {
            "ClientUID": m.ids.clients["picky"],
            "ClientName": "Buyer picky",
            "RedirectURL": "",
            "Valid": False,
            "Price": 50,
        },
        {
            "ClientUID": m.ids.clients["easy"],
            "ClientName": "Buyer easy",
            "RedirectURL": "",
            "Valid": True,
            "Price": 25,
        },
    ]


async def test_returnsends_lists_the_sends_in_xml(
    market: MarketFactory, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    m = await market([client("easy", buyers, price="25.50")])
    answer = await http.post("/processor/insert/returnsends/xml", data=posted(m))
    root = ElementTree.fromstring(answer.text)
    [info] = root.find("Sends") or []
    assert info.tag == "SendInfo"
    assert {child.tag: child.text for child in info} == {
        "ClientUID": str(m.ids.clients["easy"]),
        "ClientName": "Buyer easy",
        "RedirectURL": None,
        "Valid": "true",
        "Price": "25.5",
    }


async def test_returnsends_of_a_refused_lead_has_no_sends(
    market: MarketFactory, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    m = await market([client("easy", buyers)])
    answer = await http.post("/processor/insert/returnsends/json", data={**posted(m), "Age": "12"})
    body = answer.json()
    assert body["ResponseType"] == "Outside_Criteria" and body["Sends"] == []
    assert buyers.received == []


async def test_a_send_delay_holds_the_lead_back(
    market: MarketFactory, buyers: BuyerServer, pool: Any
) -> None:
    m = await market([client("any", buyers)])
    result = await m.post(send_delay_hours="2", wait=True)
    lead_id = result.lead_id
    assert lead_id and list(result.sends) == []
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT run_at - l.received_at AS wait FROM distribution_jobs j"
            " JOIN leads l ON l.account_id = j.account_id AND l.id = j.lead_id"
            " WHERE j.lead_id = %s",
            [lead_id],
        )
        row = await cursor.fetchone()
    assert row is not None and row["wait"].total_seconds() == 7200
    assert buyers.received == []


@pytest.mark.slow  # waits for retries or delays in real time
@pytest.mark.parametrize("taken_by", ["walk", "first step"])
async def test_an_accounts_delivery_delay_schedules_its_send(
    market: MarketFactory, buyers: BuyerServer, taken_by: str
) -> None:
    """The delay is a scheduled send, not a sleep: the post is answered with the send waiting
    for its time, and the worker delivers it then. The first lead after the buyers change is
    walked by the worker; later ones get their first step as they are accepted."""
    m = await market([client("late", buyers, delivery_delay_seconds=1)])
    if taken_by == "first step":
        earlier = await m.post({**LEAD, "Email": "early@example.com", "Phone": "7025550177"})
        await m.settled(earlier.lead_id)
        buyers.received.clear()
    lead = await m.post()
    sends = await m.sends(lead.lead_id)  # a first step reserved it with the lead
    for _ in range(100 if taken_by == "walk" else 0):  # a walk may not have yet
        if sends:
            break
        await asyncio.sleep(0.02)
        sends = await m.sends(lead.lead_id)
    assert [s.status for s in sends] == [S.SEND_STATUS_SCHEDULED]
    assert buyers.of("late") == []
    assert f"send {sends[0].id} scheduled in 1 s" in await m.scan_log(lead.lead_id)
    [sold] = await m.settled(lead.lead_id)
    assert sold.status == S.SEND_STATUS_SOLD and len(buyers.of("late")) == 1


async def post_across(m: Market, other: str, count: int) -> list[int]:
    """`count` distinct leads posted at once, alternately to each server."""

    async def one(i: int) -> int:
        address, m.address = m.address, (other if i % 2 else m.address)
        try:
            return int(
                (
                    await m.post({**LEAD, "Email": f"x{i}@example.com", "Phone": f"70257{i:05d}"})
                ).lead_id
            )
        finally:
            m.address = address

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def test_two_servers_keep_a_cap_exact(
    market: MarketFactory, buyers: BuyerServer, second_server: str
) -> None:
    m = await market([client("capped", buyers, price="90", day_max=5), client("rest", buyers)])
    leads = await post_across(m, second_server, 30)
    winners = Counter([(await m.settled(lead))[0].client_name for lead in leads])
    assert winners == {"Buyer capped": 5, "Buyer rest": 25}


async def test_two_servers_keep_round_robin_exact(
    market: MarketFactory, buyers: BuyerServer, second_server: str
) -> None:
    m = await market([client(k, buyers, automation="RoundRobin") for k in ("a", "b", "c")])
    leads = await post_across(m, second_server, 30)
    winners = Counter([(await m.settled(lead))[0].client_name for lead in leads])
    assert winners == {"Buyer a": 10, "Buyer b": 10, "Buyer c": 10}


async def test_two_servers_keep_the_max_sell_count_exact(
    market: MarketFactory, buyers: BuyerServer, second_server: str, idle: Any
) -> None:
    m = await market(
        [client(k, buyers, price=str(i)) for i, k in enumerate("abcd", start=1)], max_sell=2
    )
    leads = await post_across(m, second_server, 20)
    for lead in leads:
        await m.settled(lead, 2)
    await idle()
    counts: Counter[str] = Counter()
    for lead in leads:
        sends = await m.sends(lead)
        assert [s.status for s in sends] == [S.SEND_STATUS_SOLD] * 2
        counts.update(s.client_name for s in sends)
    assert counts == {"Buyer d": 20, "Buyer c": 20}


async def test_a_bad_expression_is_refused_when_saved(
    new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    document = copy.deepcopy(EXAMPLE)
    bad = client(
        "x",
        buyers,
        criteria=[
            {"type": "Expression", "expression": "Age.__class__ > 1"},
            {"field": "Nope", "operator": "Equal", "value": "1"},
            {"field": "Zip", "operator": "Distance_Compare", "value": "00000,5"},
        ],
    )
    bad["deliveries"][0]["mappings"].append({"field": "Missing", "param": "m"})
    document["clients"] = [bad]
    tenant = await new_account("Strict")
    async with stub_for(tenant.api_key) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))
        listed = await stub.ListClients(admin_pb2.ListClientsRequest())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    paths = {path for path, _ in violations(caught.value)}
    assert {
        "clients[0].accounts[0].criteria[0].expression",
        "clients[0].accounts[0].criteria[1].field",
        "clients[0].accounts[0].criteria[2].value",
    } <= paths
    assert any(p.startswith("clients[0].deliveries[0].mappings") for p in paths)
    assert list(listed.clients) == []  # nothing was written


async def test_a_buyer_reads_back_without_its_secrets(
    market: MarketFactory, buyers: BuyerServer
) -> None:
    buyer = client("secretive", buyers)
    buyer["deliveries"][0].update(auth="basic", username="u", password="s3cret")
    m = await market([buyer])
    async with admin_async(m.address, m.key) as stub:
        found = await stub.GetClient(admin_pb2.GetClientRequest(key="secretive"))
    [delivery] = found.deliveries
    assert delivery.has_password and not delivery.HasField("password")
    assert delivery.username == "u" and delivery.address == buyers.address("secretive")
    assert [a.key for a in found.accounts] == ["main"]
    assert "s3cret" not in str(found)


async def test_a_change_to_the_lead_types_fields_reloads_the_engines_buyers(
    market: MarketFactory, buyers: BuyerServer, pool: Any
) -> None:
    """The engine caches accounts compiled against the fields; every field write bumps the
    account's buyer version, so no process keeps criteria compiled against old fields."""
    m = await market([client("a", buyers)])
    lead_type_id = m.ids.lead_types["auto-insurance"]

    async def version() -> int:
        async with pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT v.version FROM buyer_versions v JOIN lead_types t"
                " ON t.account_id = v.account_id WHERE t.id = %s",
                (lead_type_id,),
            )
            row = await cursor.fetchone()
            return int(row[0] if isinstance(row, tuple) else row["version"])

    before = await version()
    async with admin_async(m.address, m.key) as stub:
        field = catalog_pb2.LeadField(
            lead_type_id=lead_type_id, name="Vehicle", data_type=catalog_pb2.DATA_TYPE_VARCHAR
        )
        created = await stub.CreateLeadField(admin_pb2.CreateLeadFieldRequest(field=field))
        assert await version() == before + 1
        created.description = "the car"
        await stub.UpdateLeadField(admin_pb2.UpdateLeadFieldRequest(field=created))
        assert await version() == before + 2
        await stub.UpdateLeadField(admin_pb2.UpdateLeadFieldRequest(field=created))
        assert await version() == before + 2  # nothing changed
        await stub.DeleteLeadField(admin_pb2.DeleteLeadFieldRequest(id=created.id))
        assert await version() == before + 3


async def test_criteria_that_no_longer_fit_the_fields_pass_over_their_account_only(
    market: MarketFactory, buyers: BuyerServer
) -> None:
    """Renaming a field a criterion reads does not stop distribution: that account is passed
    over with the reason, the others still buy."""
    m = await market(
        [
            client(
                "adults",
                buyers,
                price="50",
                criteria=[{"field": "Age", "operator": "GreaterOrEqual", "value": "18"}],
            ),
            client("anyone", buyers, price="10"),
        ]
    )
    lead_type_id = m.ids.lead_types["auto-insurance"]
    async with admin_async(m.address, m.key) as stub:
        found = await stub.GetLeadType(admin_pb2.GetLeadTypeRequest(id=lead_type_id))
        [age] = [f for f in found.fields if f.name == "Age"]
        age.name = "AgeYears"
        await stub.UpdateLeadField(admin_pb2.UpdateLeadFieldRequest(field=age))
    posted = await m.post({**{k: v for k, v in LEAD.items() if k != "Age"}, "AgeYears": "30"})
    assert [s.client_name for s in await m.settled(posted.lead_id)] == ["Buyer anyone"]
    log = await m.scan_log(posted.lead_id)
    assert "criteria no longer fit the lead type's fields" in log
