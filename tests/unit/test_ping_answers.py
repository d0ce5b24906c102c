"""Reading named values from buyers' answers by JSON path, XPath and regex, a ping's bid, and
the ping request (server/domain/delivery/extract.py and ping.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from server.domain.delivery.extract import AnswerFormat, parse_json_path, path_problem, read_values
from server.domain.delivery.ping import read_bid, render_ping
from server.domain.delivery.spec import (
    AuthType,
    DeliverySpec,
    DeliveryType,
    FieldMapping,
    PingAnswerRules,
    PingSpec,
)

JSON, XML, REGEX = AnswerFormat.JSON, AnswerFormat.XML, AnswerFormat.REGEX


def ping(**answer: str) -> PingSpec:
    return PingSpec(DeliveryType.JsonPost, "http://buyer/ping", answer=PingAnswerRules(**answer))


def test_json_paths() -> None:
    body = '{"result": {"bids": [{"price": 12.5, "ok": true}], "id": "r-1", "a b": 3}}'
    found = read_values(
        JSON,
        body,
        {
            "price": "$.result.bids[0].price",
            "ok": "result.bids[0].ok",
            "id": "$['result']['id']",
            "spaced": "$.result['a b']",
            "missing": "$.result.nope",
            "object": "$.result",
        },
    )
    assert found == {
        "price": "12.5",
        "ok": "true",
        "id": "r-1",
        "spaced": "3",
        "missing": None,
        "object": None,
    }


def test_json_path_steps() -> None:
    assert parse_json_path("$.a[2]['b c'].d") == ("a", 2, "b c", "d")
    with pytest.raises(ValueError):
        parse_json_path("$")


def test_not_json_reads_nothing() -> None:
    assert read_values(JSON, "<x/>", {"price": "$.price"}) == {"price": None}


def test_xpath() -> None:
    body = '<?xml version="1.0"?><Bid status="ok"><Price>7.25</Price><Ref>A9</Ref></Bid>'
    found = read_values(
        XML,
        body,
        {
            "price": "/Bid/Price",
            "ref": "//Ref/text()",
            "status": "string(/Bid/@status)",
            "no": "//X",
        },
    )
    assert found == {"price": "7.25", "ref": "A9", "status": "ok", "no": None}


def test_an_answer_with_a_dtd_reads_as_nothing() -> None:
    body = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x><p>&e;</p><q>1</q></x>'
    assert read_values(XML, body, {"p": "/x/p", "q": "/x/q"}) == {"p": None, "q": None}


def test_regex_reads_the_first_group() -> None:
    found = read_values(REGEX, "bid=3.50;ref=Q7", {"price": r"bid=([\d.]+)", "all": r"ref=\w+"})
    assert found == {"price": "3.50", "all": "ref=Q7"}


def test_path_problems() -> None:
    assert path_problem(JSON, "$.a") == ""
    assert path_problem(XML, "//a[") != ""
    assert path_problem(REGEX, "(") != ""


def test_a_json_bid() -> None:
    rules = ping(accepted="$.accepted", price="$.bid", reference="$.id", reason="$.msg")
    bid = read_bid(rules, 200, '{"accepted": true, "bid": "$1,012.30", "id": "abc", "msg": ""}')
    assert (bid.accepted, bid.price, bid.reference) == (True, Decimal("1012.3000"), "abc")


def test_a_json_refusal_keeps_its_reason() -> None:
    rules = ping(accepted="$.accepted", price="$.bid", reason="$.msg")
    bid = read_bid(rules, 200, '{"accepted": false, "msg": "no  coverage"}')
    assert (bid.accepted, bid.reason) == (False, "no coverage")


def test_accepted_value_must_match() -> None:
    rules = ping(accepted="$.status", accepted_value="BUY", price="$.bid")
    assert read_bid(rules, 200, '{"status": "buy", "bid": 3}').accepted
    assert not read_bid(rules, 200, '{"status": "pass", "bid": 3}').accepted


def test_without_an_accepted_path_a_price_is_a_bid() -> None:
    rules = ping(price="$.bid")
    assert read_bid(rules, 200, '{"bid": 3}').accepted
    assert read_bid(rules, 200, "{}").reason == "no bid price in the answer"


def test_an_xml_bid() -> None:
    rules = ping(format="xml", accepted="/r/ok", price="/r/price", reference="/r/ref")
    bid = read_bid(rules, 200, "<r><ok>yes</ok><price>4</price><ref>z</ref></r>")
    assert (bid.accepted, bid.price, bid.reference) == (True, Decimal("4.0000"), "z")


def test_a_regex_bid() -> None:
    rules = ping(format="regex", accepted="ACCEPT", price=r"price=([\d.]+)", reference=r"id=(\w+)")
    bid = read_bid(rules, 200, "ACCEPT price=2.75 id=k1")
    assert (bid.accepted, bid.price, bid.reference) == (True, Decimal("2.7500"), "k1")
    assert not read_bid(rules, 200, "REJECT").accepted


def test_a_non_2xx_answer_is_no_bid() -> None:
    assert read_bid(ping(price="$.bid"), 503, '{"bid": 3}').reason == "HTTP 503"


def test_a_negative_bid_is_no_bid() -> None:
    assert not read_bid(ping(price="$.bid"), 200, '{"bid": -1}').accepted


def test_the_ping_carries_no_contact_field_and_uses_the_methods_auth() -> None:
    spec = DeliverySpec(
        type=DeliveryType.JsonPost,
        address="http://buyer/post",
        auth=AuthType.Bearer,
        password="tok",
        headers=(("X-Account", "7"),),
        ping=PingSpec(
            DeliveryType.JsonPost,
            "http://buyer/ping",
            mappings=(FieldMapping("zip", "ZipCode"), FieldMapping("email", "Email")),
            headers=(("X-Ping", "1"),),
        ),
    )
    request = render_ping(spec, 9, {"ZipCode": "89101", "Email": "a@b.c"}, contact_fields={"email"})
    assert request.url == "http://buyer/ping"
    assert request.body == b'{"zip": "89101", "email": ""}'
    headers = dict(request.headers)
    assert headers["Authorization"] == "Bearer tok"
    assert headers["X-Account"] == "7" and headers["X-Ping"] == "1"
    assert "Idempotency-Key" not in headers
    assert request.timeout_seconds == 0.5
