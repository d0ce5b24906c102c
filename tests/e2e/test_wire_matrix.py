"""Every criterion operator, automation type, cap, schedule, response rule and HTTP delivery
type through the real wire: config applied with ApplyConfig over gRPC, leads posted with
SubmitLeads (or scanned with DryRun), buyers as the real HTTP buyer server on loopback."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import grpc
import pytest
from leadrouter.v1 import admin_pb2, distribution_pb2, leads_pb2, leads_pb2_grpc

from clients.client import distribution_async, struct
from tests.support.buyers import BuyerServer, Received

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "acme.json").read_text())
S = distribution_pb2.SendStatus
FINISHED = (S.SEND_STATUS_SOLD, S.SEND_STATUS_REJECTED, S.SEND_STATUS_FAILED)
LEAD = {
    "FirstName": "Ann",
    "LastName": "Lee",
    "Email": "ann@example.com",
    "Phone": "7025550100",
    "Zip": "89101",
    "State": "NV",
    "Age": "30",
}


def buyer(key: str, buyers: BuyerServer, **settings: Any) -> dict[str, Any]:
    """A buyer with one HTTP POST delivery and one account. `delivery` and `account` update
    those; every other setting is the buyer's own (automation, priority, weight, ...)."""
    delivery = {
        "key": "post",
        "type": "http_post",
        "lead_type": "auto-insurance",
        "address": buyers.address(key),
        "response_search": "accepted",
        "timeout_seconds": 2,
        **settings.pop("delivery", {}),
    }
    account = {"key": "main", "delivery": "post", "price": "20", **settings.pop("account", {})}
    return {
        "key": key,
        "name": f"Buyer {key}",
        "deliveries": [delivery],
        "accounts": [account],
        **settings,
    }


class Wire:
    """One tenant: the example lead source with a date field added, and the given buyers."""

    def __init__(self, address: str, key: str, ids: Any) -> None:
        self.address, self.key, self.ids = address, key, ids
        self.posted = 0

    async def post(self, **fields: str) -> int:
        """A distinct lead (its own Email and Phone), posted over gRPC; its id."""
        self.posted += 1
        n = self.posted
        values = {**LEAD, "Email": f"w{n}@example.com", "Phone": f"702555{n:04d}", **fields}
        request = leads_pb2.SubmitLeadsRequest(
            credentials=leads_pb2.Credentials(
                vid=str(self.ids.sources["acme-media"]),
                lid=str(self.ids.lead_types["auto-insurance"]),
                aid=str(self.ids.campaigns["acme-auto-web"]),
                password="acme-secret",
            ),
            leads=[
                leads_pb2.LeadInput(
                    fields=[leads_pb2.FieldValue(name=k, value=v) for k, v in values.items()]
                )
            ],
        )
        async with grpc.aio.insecure_channel(self.address) as channel:
            answer = await leads_pb2_grpc.LeadServiceStub(channel).SubmitLeads(request)
        result = answer.results[0]
        assert result.response_type == leads_pb2.ResponseType.NO_ERROR, result.response_details
        return int(result.lead_id)

    async def settled(self, lead_id: int, count: int = 1) -> list[Any]:
        """The lead's sends once `count` of them are finished."""
        sends: list[Any] = []
        for _ in range(200):
            async with distribution_async(self.address, self.key) as stub:
                found = await stub.ListSends(distribution_pb2.ListSendsRequest(lead_id=lead_id))
            sends = list(found.sends)
            if sum(s.status in FINISHED for s in sends) >= count:
                return sends
            await asyncio.sleep(0.05)
        raise AssertionError(f"lead {lead_id} has sends {sends}")

    async def winner(self, **fields: str) -> str:
        """The key of the buyer that bought a new lead."""
        sends = await self.settled(await self.post(**fields))
        sold = [s.client_name for s in sends if s.status == S.SEND_STATUS_SOLD]
        assert len(sold) == 1, sends
        return str(sold[0]).removeprefix("Buyer ")

    async def scan_log(self, lead_id: int) -> str:
        async with distribution_async(self.address, self.key) as stub:
            found = await stub.GetLeadScanLog(
                distribution_pb2.GetLeadScanLogRequest(lead_id=lead_id)
            )
        return "\n".join(e.log for e in found.entries)

    async def dry_run(self, fields: dict[str, str]) -> dict[str, Any]:
        """DryRun of field values without a lead: the scanned accounts by buyer key."""
        async with distribution_async(self.address, self.key) as stub:
            scan = await stub.DryRun(
                distribution_pb2.DryRunRequest(
                    lead_type_id=self.ids.lead_types["auto-insurance"],
                    fields=[leads_pb2.FieldValue(name=k, value=v) for k, v in fields.items()],
                )
            )
        return {str(a.client_name).removeprefix("Buyer "): a for a in scan.accounts}


WireFactory = Callable[..., Any]


@pytest.fixture
def wire(grpc_address: str, new_account: Any, stub_for: Any) -> WireFactory:
    async def create(clients: list[dict[str, Any]], max_sell: int = 1) -> Wire:
        document = copy.deepcopy(EXAMPLE)
        document["lead_types"][0]["fields"].append({"name": "BirthDate", "type": "DateTime"})
        document["sources"][0]["campaigns"][0]["max_sell"] = max_sell
        document["clients"] = clients
        tenant = await new_account("Wire")
        async with stub_for(tenant.api_key) as stub:
            ids = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))
        return Wire(grpc_address, tenant.api_key, ids)

    return create


# -- criteria ----------------------------------------------------------------------------------


def _years_ago(years: int) -> str:
    today = datetime.now(ZoneInfo("America/Los_Angeles")).date()
    return date(today.year - years, 1, 1).isoformat() if years else today.isoformat()


def _field(name: str, operator: str, value: str) -> dict[str, str]:
    return {"field": name, "operator": operator, "value": value}


# (criterion, fields of a passing lead, fields of a failing lead)
CRITERIA: dict[str, tuple[dict[str, str], dict[str, str], dict[str, str]]] = {
    "Equal": (_field("State", "Equal", "NV"), {"State": "nv"}, {"State": "CA"}),
    "NotEqual": (_field("State", "NotEqual", "NV"), {"State": "CA"}, {"State": "Nv"}),
    "Greater": (_field("Age", "Greater", "30"), {"Age": "31"}, {"Age": "30"}),
    "Less": (_field("Age", "Less", "30"), {"Age": "29"}, {"Age": "30"}),
    "GreaterOrEqual": (_field("Age", "GreaterOrEqual", "30"), {"Age": "30"}, {"Age": "29"}),
    "LessOrEqual": (_field("Age", "LessOrEqual", "30"), {"Age": "30"}, {"Age": "31"}),
    "Between": (_field("Age", "Between", "25,35"), {"Age": "35"}, {"Age": "36"}),
    "In": (_field("State", "In", "CA, NV"), {"State": "nv"}, {"State": "AZ"}),
    "NotIn": (_field("State", "NotIn", "CA,NV"), {"State": "AZ"}, {"State": "ca"}),
    "In on an enumeration": (
        _field("CreditRating", "In", "Excellent,Good"),
        {"CreditRating": "Good"},
        {"CreditRating": "Poor"},
    ),
    "Equal on a Bit": (
        _field("ContactConsent", "Equal", "true"),
        {"ContactConsent": "yes"},
        {"ContactConsent": "no"},
    ),
    "DateCompare": (
        _field("BirthDate", "DateCompare", ">=18y"),
        {"BirthDate": _years_ago(40)},
        {"BirthDate": _years_ago(0)},
    ),
    "Distance_Compare": (
        _field("Zip", "Distance_Compare", "89101,50"),
        {"Zip": "89102"},  # Las Vegas
        {"Zip": "90001"},  # Los Angeles, some 230 miles away
    ),
    "Contains": (
        _field("Email", "Contains", "@EXAMPLE."),
        {"Email": "ann@example.com"},
        {"Email": "ann@test.org"},
    ),
    "Doesnt_Contain": (
        _field("Email", "Doesnt_Contain", "spam"),
        {"Email": "ann@example.com"},
        {"Email": "spam@example.com"},
    ),
    "Expression": (
        {"type": "Expression", "expression": 'Age >= 21 and State in ("NV", "AZ")'},
        {"Age": "30", "State": "AZ"},
        {"Age": "30", "State": "CA"},
    ),
    "Expression with an operator": (
        {"type": "Expression", "expression": "Age * 2", "operator": "Greater", "value": "50"},
        {"Age": "26"},
        {"Age": "25"},
    ),
    "Function": (
        {
            "type": "Function",
            "field": "LastName",
            "expression": "len",
            "operator": "GreaterOrEqual",
            "value": "3",
        },
        {"LastName": "Lee"},
        {"LastName": "Li"},
    ),
}


@pytest.mark.parametrize(("criterion", "passing", "failing"), CRITERIA.values(), ids=CRITERIA)
async def test_a_criterion_passes_one_lead_and_fails_another(
    wire: WireFactory,
    buyers: BuyerServer,
    criterion: dict[str, str],
    passing: dict[str, str],
    failing: dict[str, str],
) -> None:
    w = await wire([buyer("picky", buyers, account={"criteria": [criterion]})])
    good = (await w.dry_run({**LEAD, **passing}))["picky"]
    bad = (await w.dry_run({**LEAD, **failing}))["picky"]
    assert (good.eligible, good.rank) == (True, 1), good.reason
    assert (bad.eligible, bad.rank) == (False, 0)
    assert bad.reason.startswith("criteria failed: "), bad.reason
    assert (criterion.get("field") or "expression") in bad.reason
    assert buyers.received == []


# -- automation --------------------------------------------------------------------------------

# (automation, secondary, each buyer's settings in creation order, the waterfall order)
ORDERS: dict[str, tuple[str, str, dict[str, dict[str, Any]], list[str]]] = {
    "Price: highest first": (
        "Price",
        "none",
        {"a": {"price": "10"}, "b": {"price": "30"}, "c": {"price": "20"}},
        ["b", "c", "a"],
    ),
    "Priority: 1 first": (
        "Priority",
        "none",
        {"a": {"priority": 3}, "b": {"priority": 1, "price": "5"}, "c": {"priority": 2}},
        ["b", "c", "a"],
    ),
    "a Priority tie without a secondary: created first": (
        "Priority",
        "none",
        {"a": {"price": "10"}, "b": {"price": "30"}},
        ["a", "b"],
    ),
    "a Priority tie broken by secondary Price": (
        "Priority",
        "Price",
        {"a": {"price": "10"}, "b": {"price": "30"}},
        ["b", "a"],
    ),
    "a Price tie broken by secondary Priority": (
        "Price",
        "Priority",
        {"a": {"priority": 2}, "b": {"priority": 1}},
        ["b", "a"],
    ),
}


def _competitor(
    key: str, buyers: BuyerServer, automation: str, secondary: str, settings: dict[str, Any]
) -> dict[str, Any]:
    settings = dict(settings)
    account = {"price": settings.pop("price", "20")}
    return buyer(
        key,
        buyers,
        automation=automation,
        secondary_automation=secondary,
        account=account,
        **settings,
    )


@pytest.mark.parametrize(
    ("automation", "secondary", "market", "order"), ORDERS.values(), ids=ORDERS
)
async def test_the_waterfall_follows_the_automation(
    wire: WireFactory,
    buyers: BuyerServer,
    automation: str,
    secondary: str,
    market: dict[str, dict[str, Any]],
    order: list[str],
) -> None:
    """Every buyer rejects, so the lead is offered to each in turn: the sends are the order."""
    for key in market:
        buyers.behave(key, answer="rejected")
    w = await wire([_competitor(k, buyers, automation, secondary, s) for k, s in market.items()])
    sends = await w.settled(await w.post(), len(market))
    assert [s.client_name.removeprefix("Buyer ") for s in sends] == order
    assert {s.status for s in sends} == {S.SEND_STATUS_REJECTED}
    assert [r.buyer for r in buyers.received] == order


# (automation, secondary, each buyer's settings in creation order, the winners of leads in turn)
SEQUENCES: dict[str, tuple[str, str, dict[str, dict[str, Any]], str]] = {
    "RoundRobin": ("RoundRobin", "none", {"a": {}, "b": {}, "c": {"price": "90"}}, "abcabc"),
    # served/weight lowest first, ties to the buyer created first: 0/2=0/1 a, 1/2>0/1 b,
    # 1/2<1/1 a, 2/2=1/1 a, 3/2>1/1 b, 3/2<2/1 a.
    "Weighted 2:1": ("Weighted", "none", {"a": {"weight": 2}, "b": {"weight": 1}}, "abaaba"),
    # served/total - target lowest first, ties to the buyer created first.
    "Percentage 75:25": (
        "Percentage",
        "none",
        {"a": {"weight": 75}, "b": {"weight": 25}},
        "abaaabaa",
    ),
    "Priority tie taken in turn by secondary RoundRobin": (
        "Priority",
        "RoundRobin",
        {"a": {"price": "10"}, "b": {"price": "30"}},
        "ababab",
    ),
}


@pytest.mark.parametrize(
    ("automation", "secondary", "market", "winners"), SEQUENCES.values(), ids=SEQUENCES
)
async def test_leads_in_turn_go_where_the_automation_says(
    wire: WireFactory,
    buyers: BuyerServer,
    automation: str,
    secondary: str,
    market: dict[str, dict[str, Any]],
    winners: str,
) -> None:
    w = await wire([_competitor(k, buyers, automation, secondary, s) for k, s in market.items()])
    got = [await w.winner() for _ in winners]
    assert "".join(got) == winners


# -- caps and schedules ------------------------------------------------------------------------


@pytest.mark.parametrize(("cap", "period"), [("hour_max", "hour"), ("month_max", "month")])
async def test_a_cap_passes_a_buyer_over_once_reached(
    wire: WireFactory, buyers: BuyerServer, cap: str, period: str
) -> None:
    w = await wire(
        [
            buyer("capped", buyers, account={"price": "90", cap: 2}),
            buyer("rest", buyers, account={"price": "10"}),
        ]
    )
    assert [await w.winner() for _ in range(3)] == ["capped", "capped", "rest"]
    lead_id = await w.post()
    await w.settled(lead_id)
    assert f"{period} cap 2 reached" in await w.scan_log(lead_id)
    assert len(buyers.of("capped")) == 2


async def test_a_closed_delivery_schedule_passes_a_buyer_over(
    wire: WireFactory, buyers: BuyerServer
) -> None:
    zone = "America/New_York"
    today = datetime.now(ZoneInfo(zone)).weekday()
    # Yesterday, today and tomorrow, all day: open now even if the day turns during the test.
    open_days = [{"weekday": (today + d) % 7, "start": "00:00", "end": "24:00"} for d in (-1, 0, 1)]
    closed_days = [{"weekday": (today + 3) % 7, "start": "00:00", "end": "24:00"}]
    w = await wire(
        [
            buyer(
                "closed",
                buyers,
                time_zone=zone,
                delivery={"days": closed_days},
                account={"price": "90"},
            ),
            buyer(
                "open",
                buyers,
                time_zone=zone,
                delivery={"days": open_days},
                account={"price": "10"},
            ),
        ]
    )
    lead_id = await w.post()
    sends = await w.settled(lead_id)
    assert [(s.client_name, s.status) for s in sends] == [("Buyer open", S.SEND_STATUS_SOLD)]
    assert "delivery schedule closed" in await w.scan_log(lead_id)
    scan = await w.dry_run(LEAD)
    assert (scan["closed"].eligible, scan["closed"].reason) == (False, "delivery schedule closed")
    assert scan["open"].eligible
    assert buyers.of("closed") == []


# -- response rules ----------------------------------------------------------------------------

# (delivery settings, the buyer's answer, the send's (status, price, redirect_url, reason))
RESPONSES: dict[str, tuple[dict[str, Any], str, tuple[int, str, str, str]]] = {
    "regex accepts": (
        {"response_search": r"^ok-\d+$", "use_regex": True},
        "ok-4711",
        (S.SEND_STATUS_SOLD, "20", "", ""),
    ),
    "regex refuses": (
        {"response_search": r"^ok-\d+$", "use_regex": True},
        "ok-none",
        (S.SEND_STATUS_REJECTED, "20", "", r"response did not match /^ok-\d+$/"),
    ),
    "price_search sets the price": (
        {"price_search": r"price=\$?([\d.,]+)"},
        "accepted price=$12.75",
        (S.SEND_STATUS_SOLD, "12.75", "", ""),
    ),
    "redirect_search gives the redirect": (
        {"redirect_search": "<redirect>(.*?)</redirect>"},
        "accepted <redirect>https://b.example/go?a=1&amp;b=2</redirect>",
        (S.SEND_STATUS_SOLD, "20", "https://b.example/go?a=1&b=2", ""),
    ),
    "reason_search gives the reason of a rejection": (
        {"reason_search": "reason: (.*)"},
        "rejected reason: out of   area",
        (S.SEND_STATUS_REJECTED, "20", "", "out of area"),
    ),
}


@pytest.mark.parametrize(("delivery", "answer", "outcome"), RESPONSES.values(), ids=RESPONSES)
async def test_a_buyers_answer_is_read_by_the_response_rules(
    wire: WireFactory,
    buyers: BuyerServer,
    delivery: dict[str, Any],
    answer: str,
    outcome: tuple[int, str, str, str],
) -> None:
    buyers.behave("b", answer=answer)
    w = await wire([buyer("b", buyers, delivery=delivery)])
    [send] = await w.settled(await w.post())
    assert (send.status, send.price, send.redirect_url, send.reason) == outcome
    assert send.valid == (outcome[0] == S.SEND_STATUS_SOLD)
    assert send.response == answer


# -- delivery types ----------------------------------------------------------------------------

MAPPINGS = [
    {"field": "FirstName", "param": "first"},
    {"field": "LastName", "param": "last"},
    {"field": "Phone", "param": "phone", "format": "(###) ###-####"},
    {"constant": "acme", "param": "source"},
]
JSON_TEMPLATE = '{"name": "{{FirstName}} {{LastName}}", "age": {{Age}}, "lead": {{lead_id}}}'
XML_TEMPLATE = "<lead><name>{{LastName}}</name><age>{{Age}}</age><id>{{lead_id}}</id></lead>"


def _get(got: Received, lead_id: int) -> None:
    assert (got.method, got.body) == ("GET", b"")
    assert parse_qs(got.query) == {
        "first": ["Ann"],
        "last": ["Lee & Co"],
        "phone": ["(702) 555-0001"],
        "source": ["acme"],
    }


def _json_template(got: Received, lead_id: int) -> None:
    assert (got.method, got.headers["content-type"]) == ("POST", "application/json")
    assert json.loads(got.body) == {"name": "Ann Lee & Co", "age": 30, "lead": lead_id}


def _json_mapped(got: Received, lead_id: int) -> None:
    assert (got.method, got.headers["content-type"]) == ("POST", "application/json")
    assert json.loads(got.body) == {
        "first": "Ann",
        "last": "Lee & Co",
        "phone": "(702) 555-0001",
        "source": "acme",
    }


def _xml_template(got: Received, lead_id: int) -> None:
    assert (got.method, got.headers["content-type"]) == ("POST", "application/xml")
    root = ElementTree.fromstring(got.body)
    assert root.tag == "lead"
    assert {e.tag: e.text for e in root} == {"name": "Lee & Co", "age": "30", "id": str(lead_id)}


def _xml_mapped(got: Received, lead_id: int) -> None:
    assert (got.method, got.headers["content-type"]) == ("POST", "application/xml")
    root = ElementTree.fromstring(got.body)
    assert root.tag == "Lead"
    assert [(e.tag, e.text) for e in root] == [
        ("first", "Ann"),
        ("last", "Lee & Co"),
        ("phone", "(702) 555-0001"),
        ("source", "acme"),
    ]


DELIVERIES: dict[str, tuple[dict[str, Any], Callable[[Received, int], None]]] = {
    "http_get": ({"type": "http_get", "mappings": MAPPINGS}, _get),
    "json_post template": ({"type": "json_post", "template": JSON_TEMPLATE}, _json_template),
    "json_post mapped": ({"type": "json_post", "mappings": MAPPINGS}, _json_mapped),
    "xml_post template": ({"type": "xml_post", "template": XML_TEMPLATE}, _xml_template),
    "xml_post mapped": ({"type": "xml_post", "mappings": MAPPINGS}, _xml_mapped),
}


@pytest.mark.parametrize(("delivery", "check"), DELIVERIES.values(), ids=DELIVERIES)
async def test_each_http_delivery_type_delivers(
    wire: WireFactory,
    buyers: BuyerServer,
    delivery: dict[str, Any],
    check: Callable[[Received, int], None],
) -> None:
    w = await wire([buyer("b", buyers, delivery=delivery)])
    lead_id = await w.post(LastName="Lee & Co")
    [send] = await w.settled(lead_id)
    assert send.status == S.SEND_STATUS_SOLD, send
    [got] = buyers.of("b")
    check(got, lead_id)
    assert got.headers["idempotency-key"] == f"leadrouter-send-{send.id}"
