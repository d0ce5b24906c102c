"""A delivery method's ping and a campaign's auction as config as code reads them, as the API
carries them, and the problems a save reports."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from leadrouter.v1 import distribution_pb2

from server.domain.buyers.records import StoredDelivery
from server.domain.buyers.specs import DeliveryMethod, delivery_spec, validate_method
from server.domain.config.buyers_section import read_clients
from server.domain.config.document import read_document
from server.domain.delivery.spec import DeliveryType, FieldMapping, PingAnswerRules, PingSpec
from server.domain.sales.auction import AuctionSettings
from server.errors import Violation
from server.rpc import convert

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "acme.json").read_text())
FIELDS = ["Zip", "Age", "Email"]
PING = {
    "type": "xml_post",
    "address": "https://buyer.example/ping",
    "mappings": [{"param": "zip", "field": "Zip"}, {"param": "age", "field": "Age"}],
    "headers": {"X-Ping": "1"},
    "timeout_ms": 300,
    "answer": {
        "format": "xml",
        "accepted": "/Bid/Status",
        "accepted_value": "BUY",
        "price": "/Bid/Price",
        "reference": "string(/Bid/@ref)",
        "reason": "/Bid/Why",
    },
    "margin_percent": 12.5,
    "min_margin": "1.00",
    "floor": "10",
}


def delivery(**changes: Any) -> dict[str, Any]:
    return {
        "key": "post",
        "type": "json_post",
        "lead_type": "auto",
        "address": "https://buyer.example/post",
        "template": '{"ref": "{{ping_reference}}"}',
        "ping": {**PING, **changes},
    }


def method(data: dict[str, Any]) -> tuple[DeliveryMethod, list[Violation]]:
    problems: list[Violation] = []
    [entry] = read_clients([{"key": "c", "name": "C", "deliveries": [data]}], problems)
    return entry.deliveries[0].method, problems


def test_a_ping_reads_into_its_settings_and_spec() -> None:
    found, problems = method(delivery())
    assert problems == []
    assert found.settings["ping"]["margin_percent"] == "12.5"
    assert delivery_spec(found).ping == PingSpec(
        type=DeliveryType.XmlPost,
        address="https://buyer.example/ping",
        mappings=(FieldMapping("zip", "Zip"), FieldMapping("age", "Age")),
        headers=(("X-Ping", "1"),),
        timeout_ms=300,
        answer=PingAnswerRules(
            "xml", "/Bid/Status", "BUY", "/Bid/Price", "string(/Bid/@ref)", "/Bid/Why"
        ),
        margin_percent=Decimal("12.5"),
        min_margin=Decimal("1.00"),
        floor=Decimal("10"),
    )
    assert validate_method(found, FIELDS, "d") == []


def test_a_method_without_a_ping_has_none() -> None:
    data = delivery()
    del data["ping"]
    assert delivery_spec(method(data)[0]).ping is None


def test_a_ping_takes_its_defaults() -> None:
    found, problems = method(
        {**delivery(), "ping": {"address": "http://b/ping", "answer": {"price": "$.bid"}}}
    )
    assert problems == []
    ping = delivery_spec(found).ping
    assert ping is not None
    assert (ping.type, ping.timeout_ms, ping.answer.format) == (DeliveryType.JsonPost, 500, "json")


def test_a_ping_survives_the_api_both_ways() -> None:
    found, _ = method(delivery())
    stored = StoredDelivery(1, 2, found, datetime(2026, 12, 4, tzinfo=UTC))
    message = convert.delivery_message(stored)
    assert message.ping.answer.reference == "string(/Bid/@ref)"
    assert message.ping.margin_percent == "12.5"
    assert convert.delivery_method(message).settings["ping"] == found.settings["ping"]


def test_ping_problems_are_named_by_path() -> None:
    found, _ = method(
        delivery(
            address="ftp://nope",
            mappings=[{"param": "x", "field": "Nope"}],
            timeout_ms=0,
            answer={"format": "xml", "price": "//Price[", "reference": "/a"},
            margin_percent="100",
            floor="-1",
        )
    )
    paths = {v.path for v in validate_method(found, FIELDS, "d")}
    assert paths == {
        "d.ping.address",
        "d.ping.mappings[0].field",
        "d.ping.timeout_ms",
        "d.ping.answer.price",
        "d.ping.margin_percent",
        "d.ping.floor",
    }


def test_a_ping_needs_a_price_path() -> None:
    found, _ = method(delivery(answer={"format": "json"}))
    assert [v.path for v in validate_method(found, FIELDS, "d")] == ["d.ping.answer.price"]


def test_an_email_delivery_cannot_ping() -> None:
    data = {
        **delivery(),
        "type": "email",
        "email_to": "a@b.c",
        "smtp_host": "mail",
        "template": "",
    }
    data.pop("address")
    found, _ = method(data)
    problems = validate_method(found, FIELDS, "d")
    assert [v.reason for v in problems if v.path == "d.ping"] == [
        "only HTTP deliveries can ping before they post"
    ]


def test_an_unknown_answer_format_is_refused() -> None:
    _, problems = method(delivery(answer={"format": "yaml", "price": "x"}))
    assert [v.path for v in problems] == ["clients[0].deliveries[0].ping.answer.format"]


def campaign_document(auction: Any) -> dict[str, Any]:
    document = copy.deepcopy(EXAMPLE)
    document["sources"][0]["campaigns"][0]["auction"] = auction
    return document


def test_a_campaigns_auction_is_read_from_config() -> None:
    doc = read_document(
        campaign_document(
            {"deadline_ms": 800, "margin_percent": "10", "min_margin": 1, "floor": "5.50"}
        )
    )
    assert doc.problems == []
    assert doc.sources[0].campaigns[0].auction == AuctionSettings(
        800, Decimal("10"), Decimal("1"), Decimal("5.50"), 60
    )


def test_a_campaign_without_an_auction_takes_the_defaults() -> None:
    document = copy.deepcopy(EXAMPLE)
    assert read_document(document).sources[0].campaigns[0].auction == AuctionSettings()


def test_bad_auction_settings_are_named() -> None:
    doc = read_document(
        campaign_document({"deadline_ms": 0, "margin_percent": 100, "fresh_seconds": 0})
    )
    where = "sources[0].campaigns[0].auction"
    assert {v.path for v in doc.problems} == {
        f"{where}.deadline_ms",
        f"{where}.margin_percent",
        f"{where}.fresh_seconds",
    }


def test_auction_settings_survive_the_api_both_ways() -> None:
    settings = AuctionSettings(700, Decimal("7.5"), Decimal("0.25"), Decimal("3"), 90)
    message = convert.auction_message(4, settings)
    assert convert.auction_settings(message, "auction") == settings
    assert convert.auction_settings(distribution_pb2.CampaignAuction(), "a") == AuctionSettings()


def test_a_ping_cannot_map_what_only_a_post_knows() -> None:
    found, _ = method(
        delivery(
            mappings=[{"param": "r", "field": "ping_reference"}, {"param": "p", "field": "price"}]
        )
    )
    assert [v.path for v in validate_method(found, FIELDS, "d")] == [
        "d.ping.mappings[0].field",
        "d.ping.mappings[1].field",
    ]
    assert validate_method(found, [*FIELDS, "Price"], "d")[0].path == "d.ping.mappings[0].field"
    assert len(validate_method(found, [*FIELDS, "Price"], "d")) == 1
