"""Dynamic offers: the offer paths of a delivery method's ping answer, as config as code reads
them, as the API carries them and the problems a save reports, and the offer read from a
buyer's JSON or XML ping answer (server/domain/delivery/ping.py, `read_offer`)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from server.domain.buyers.offers import StaticOffer
from server.domain.buyers.records import StoredDelivery
from server.domain.buyers.specs import delivery_spec, validate_method
from server.domain.delivery.ping import Bid, DynamicOffer, read_offer
from server.domain.delivery.spec import DeliveryType, PingAnswerRules, PingSpec
from server.domain.sales.auction import AuctionSettings, Bidder, Heard, PingResult, run_auction
from server.rpc import convert
from server.services.distribution.auction import Auctioned
from tests.unit.test_auction import cand, fixed
from tests.unit.test_ping_settings import FIELDS, delivery, method

JSON_PATHS = {
    "company_name": "$.offer.company",
    "company_phone": "$.offer.phone",
    "name": "$.offer.title",
    "description": "$.offer.text",
    "url": "$.offer.links.site",
    "image_url": "$.offer.links.logo",
    "privacy_url": "$.offer.links.privacy",
    "terms_url": "$.offer.links.terms",
    "duration": "$.offer.duration",
    "amount": "$.offer.amount",
    "tcpa_consent_text": "$.offer.tcpa",
}
JSON_ANSWER = """{"bid": 30, "offer": {"company": "West Coast Auto Inc.", "phone": "(702) 555-0199",
 "title": "Free quote", "text": "A free   auto insurance quote", "duration": "30 days",
 "amount": "4.99", "tcpa": "I agree to be called by West Coast Auto.",
 "links": {"site": "https://westcoast.example", "logo": "https://westcoast.example/logo.png",
           "privacy": "https://westcoast.example/privacy",
           "terms": "https://westcoast.example/terms"}}}"""
WEST_COAST = StaticOffer(
    company_name="West Coast Auto Inc.",
    company_phone="(702) 555-0199",
    name="Free quote",
    description="A free auto insurance quote",
    url="https://westcoast.example",
    image_url="https://westcoast.example/logo.png",
    privacy_url="https://westcoast.example/privacy",
    terms_url="https://westcoast.example/terms",
    duration="30 days",
    amount=Decimal("4.99"),
    tcpa_consent_text="I agree to be called by West Coast Auto.",
)


def ping(fmt: str, paths: dict[str, str]) -> PingSpec:
    answer = PingAnswerRules(format=fmt, price="$.bid", offer=tuple(paths.items()))
    return PingSpec(DeliveryType.JsonPost, "http://buyer/ping", answer=answer)


def with_offer(offer: dict[str, Any], fmt: str = "json") -> dict[str, Any]:
    return delivery(answer={"format": fmt, "price": "$.bid", "offer": offer})


def test_an_offer_is_read_from_a_json_answer() -> None:
    assert read_offer(ping("json", JSON_PATHS), JSON_ANSWER) == DynamicOffer(WEST_COAST)


def test_an_offer_is_read_from_an_xml_answer() -> None:
    body = """<Bid price="30"><Offer id="7"><Company>Desert Insurance LLC</Company>
      <Consent>I agree to be called by Desert Insurance.</Consent><Amount>$12</Amount>
      <Site>https://desert.example</Site></Offer></Bid>"""
    paths = {
        "company_name": "/Bid/Offer/Company",
        "tcpa_consent_text": "//Consent/text()",
        "amount": "/Bid/Offer/Amount",
        "url": "string(/Bid/Offer/Site)",
        "name": "string(/Bid/Offer/@name)",  # absent: read as empty
    }
    found = read_offer(ping("xml", paths), body)
    assert found == DynamicOffer(
        StaticOffer(
            company_name="Desert Insurance LLC",
            url="https://desert.example",
            amount=Decimal("12.0000"),
            tcpa_consent_text="I agree to be called by Desert Insurance.",
        )
    )


def test_a_method_without_offer_paths_reads_no_offer() -> None:
    assert read_offer(ping("json", {}), JSON_ANSWER) == DynamicOffer(None)


def test_an_answer_without_a_company_or_consent_text_carries_no_offer() -> None:
    found = read_offer(ping("json", JSON_PATHS), '{"bid": 30, "offer": {"company": "X"}}')
    assert found.offer is None
    assert found.reason == "offer.tcpa_consent_text: is required"
    assert read_offer(ping("json", JSON_PATHS), "not json").offer is None


def test_an_answer_with_a_bad_url_or_amount_carries_no_offer() -> None:
    bad_url = JSON_ANSWER.replace("https://westcoast.example/terms", "javascript:alert(1)")
    found = read_offer(ping("json", JSON_PATHS), bad_url)
    assert found.offer is None and found.reason == "offer.terms_url: must be an http(s) URL"
    bad_amount = JSON_ANSWER.replace('"4.99"', '"free"')
    found = read_offer(ping("json", JSON_PATHS), bad_amount)
    assert found.offer is None and found.reason == "the offer's amount 'free' is not money"


def test_offer_paths_read_into_the_settings_and_spec_and_survive_the_api() -> None:
    found, problems = method(with_offer(JSON_PATHS))
    assert problems == []
    assert validate_method(found, FIELDS, "d") == []
    spec = delivery_spec(found).ping
    assert spec is not None and dict(spec.answer.offer) == JSON_PATHS
    stored = StoredDelivery(1, 2, found, datetime(2026, 12, 4, tzinfo=UTC))
    message = convert.delivery_message(stored)
    assert message.ping.answer.offer.tcpa_consent_text == "$.offer.tcpa"
    assert convert.delivery_method(message).settings["ping"] == found.settings["ping"]


def test_a_method_without_offer_paths_keeps_none_through_the_api() -> None:
    found, _ = method(delivery(answer={"format": "json", "price": "$.bid"}))
    assert "offer" not in found.settings["ping"]["answer"]
    message = convert.delivery_message(
        StoredDelivery(1, 2, found, datetime(2026, 12, 4, tzinfo=UTC))
    )
    assert not message.ping.answer.HasField("offer")
    assert "offer" not in convert.delivery_method(message).settings["ping"]["answer"]


def test_offer_path_problems_are_named_by_path() -> None:
    found, _ = method(with_offer({"company_name": "$.a[", "url": "$.u"}))
    paths = {v.path for v in validate_method(found, FIELDS, "d")}
    assert paths == {"d.ping.answer.offer.company_name", "d.ping.answer.offer.tcpa_consent_text"}
    xml, _ = method(
        delivery(
            answer={
                "format": "xml",
                "price": "/P",
                "offer": {"company_name": "//C[", "tcpa_consent_text": "/T"},
            }
        )
    )
    assert {v.path for v in validate_method(xml, FIELDS, "d")} == {
        "d.ping.answer.offer.company_name"
    }


def test_an_unknown_offer_field_is_refused_by_config() -> None:
    _, problems = method(with_offer({"company_name": "$.c", "logo": "$.l"}))
    assert [v.path for v in problems] == ["clients[0].deliveries[0].ping.answer.offer.logo"]


def test_the_auctions_lots_carry_their_bidders_dynamic_offers() -> None:
    offering = Bidder(
        cand(1), "buyer 1", PingResult(Heard.ANSWERED, Bid(True, Decimal("30")), offer=WEST_COAST)
    )
    bare = Bidder(cand(2), "buyer 2", PingResult(Heard.ANSWERED, Bid(True, Decimal("25"))))
    result = run_auction([offering, bare, fixed(3, "20")], AuctionSettings(), 3)
    assert {lot.account_id: lot.offer for lot in result.lots} == {1: WEST_COAST, 2: None, 3: None}
    assert Auctioned(result, AuctionSettings()).offers == {1: WEST_COAST}
