"""Offers and 1-to-1 consent: a static offer's checks, the offer block's rules
(server/domain/intake/offers.py), how the V2 receiver reads tags and the offer block
(gateways/receiver/forms.py) and writes offers (responses.py), and a queued V2 request."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from leadrouter.v1 import leads_pb2

from gateways.receiver import responses
from gateways.receiver.forms import parse_submission, to_request
from server.domain.buyers.offers import StaticOffer, validate_offer
from server.domain.config.buyers_section import read_clients
from server.domain.intake.offers import (
    NO_OFFER,
    OfferChoice,
    Offered,
    choose,
    consent_time,
)
from server.errors import Violation
from server.services.intake.queueing import QueuedRequest, queued_request, request_document
from server.services.intake.requests import PostedLead, Submission

RECEIVED = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
ALPHA = StaticOffer(company_name="Alpha", tcpa_consent_text="I agree to Alpha.")
BETA = StaticOffer(company_name="Beta", tcpa_consent_text="I agree to Beta.")
OFFERED = (Offered(11, 101, 1, "Buyer a", ALPHA), Offered(12, 102, 2, "Buyer b", BETA))


# -- a static offer ---------------------------------------------------------------------------


def test_a_complete_offer_has_no_problems() -> None:
    offer = StaticOffer(
        company_name="Alpha",
        company_phone="(702) 555-0199",
        name="Quote",
        url="https://alpha.example",
        image_url="https://alpha.example/logo.png",
        privacy_url="https://alpha.example/privacy",
        terms_url="http://alpha.example/terms",
        duration="30 days",
        amount=Decimal("19.99"),
        tcpa_consent_text="I agree.",
    )
    assert validate_offer(offer, "offer") == []


def test_an_offer_needs_a_company_and_a_consent_text() -> None:
    paths = [v.path for v in validate_offer(StaticOffer(), "a.offer")]
    assert paths == ["a.offer.company_name", "a.offer.tcpa_consent_text"]


@pytest.mark.parametrize("name", ["url", "image_url", "privacy_url", "terms_url"])
def test_an_offer_url_must_be_http(name: str) -> None:
    offer = StaticOffer(**{**ALPHA.__dict__, name: "javascript:alert(1)"})
    assert [(v.path, v.reason) for v in validate_offer(offer, "o")] == [
        (f"o.{name}", "must be an http(s) URL")
    ]


@pytest.mark.parametrize(
    ("amount", "reason"),
    [("-1", "must be a number, not negative"), ("1.00001", "at most 4 decimal places")],
)
def test_an_offer_amount_is_money(amount: str, reason: str) -> None:
    offer = StaticOffer(**{**ALPHA.__dict__, "amount": Decimal(amount)})
    assert [v.reason for v in validate_offer(offer, "o")] == [reason]


def test_config_as_code_reads_every_offer_field() -> None:
    fields = {
        "company_name": "Alpha",
        "company_phone": "1",
        "name": "n",
        "description": "d",
        "url": "https://a.example",
        "image_url": "https://a.example/i",
        "privacy_url": "https://a.example/p",
        "terms_url": "https://a.example/t",
        "duration": "30 days",
        "amount": "2.50",
        "tcpa_consent_text": "I agree.",
    }
    document = {
        "key": "a",
        "name": "A",
        "deliveries": [{"key": "d", "type": "http_post", "lead_type": "t", "address": "http://x"}],
        "accounts": [{"key": "m", "delivery": "d", "offer": {**fields, "colour": "red"}}],
    }
    problems: list[Violation] = []
    entries = read_clients([document], problems)
    assert [(v.path, v.reason) for v in problems] == [
        ("clients[0].accounts[0].offer.colour", "is not a known setting")
    ]
    offer = entries[0].delivery_accounts[0].spec.offer
    assert offer == StaticOffer(**{**fields, "amount": Decimal("2.50")})  # type: ignore[arg-type]


# -- the offer block ----------------------------------------------------------------------------


def test_no_offer_chosen_gives_no_consent_and_no_evidence() -> None:
    chosen = choose(OFFERED, NO_OFFER, RECEIVED)
    assert chosen.refusal == "" and chosen.consented == frozenset() and chosen.records == ()


def test_an_offer_chosen_with_consent_lets_its_delivery_account_receive_the_lead() -> None:
    choice = OfferChoice(
        offer_ids=("12", "12 "),
        consent=True,
        ip_address="203.0.113.7",
        trusted_form_cert="https://cert.trustedform.com/x",
    )
    chosen = choose(OFFERED, choice, RECEIVED)
    assert chosen.consented == frozenset({102})
    [record] = chosen.records
    assert (record.offer_id, record.client_id, record.consent) == (12, 2, True)
    assert record.consent_text == "I agree to Beta."  # the offer's, never the post's
    assert record.consented_at == RECEIVED and record.ip_address == "203.0.113.7"
    assert record.trusted_form_cert == "https://cert.trustedform.com/x"


def test_offers_chosen_without_consent_are_recorded_but_receive_nothing() -> None:
    chosen = choose(OFFERED, OfferChoice(offer_ids=("11", "12")), RECEIVED)
    assert chosen.consented == frozenset()
    assert [(r.offer_id, r.consent) for r in chosen.records] == [(11, False), (12, False)]


@pytest.mark.parametrize("offer_id", ["13", "x", "", "-11"])
def test_an_offer_not_offered_refuses_the_choice(offer_id: str) -> None:
    chosen = choose(OFFERED, OfferChoice(offer_ids=("11", offer_id), consent=True), RECEIVED)
    assert chosen.refusal == f"Offer {offer_id!r} was not offered for this lead (offered: 11, 12)"
    assert chosen.consented == frozenset() and chosen.records == ()


def test_nothing_offered_says_so() -> None:
    chosen = choose((), OfferChoice(offer_ids=("11",)), RECEIVED)
    assert chosen.refusal == "Offer '11' was not offered for this lead (offered: none)"


def test_a_posted_consent_time_is_kept_in_utc() -> None:
    choice = OfferChoice(offer_ids=("11",), consent=True, consented_at="2026-12-01T02:15:00-08:00")
    [record] = choose(OFFERED, choice, RECEIVED).records
    assert record.consented_at == datetime(2026, 12, 1, 10, 15, tzinfo=UTC)
    assert consent_time("2026-12-01T10:15:00") == datetime(2026, 12, 1, 10, 15, tzinfo=UTC)


def test_a_bad_consent_time_or_too_long_evidence_refuses_the_choice() -> None:
    late = OfferChoice(offer_ids=("11",), consented_at="yesterday")
    assert choose(OFFERED, late, RECEIVED).refusal.startswith("offer.consentedAt must be")
    long = OfferChoice(offer_ids=("11",), user_agent="x" * 2049)
    assert choose(OFFERED, long, RECEIVED).refusal == "offer.user_agent is over 2048 characters"


# -- the V2 receiver's reading and writing -------------------------------------------------------


def _v2(body: bytes, content_type: str) -> leads_pb2.SubmitLeadsRequest:
    submission = parse_submission(body, content_type, [], "key", v2=True)
    return to_request(submission, body, "")


def test_v2_json_reads_tags_and_the_offer_block_and_not_as_fields() -> None:
    body = {
        "leads": [
            {
                "properties": {
                    "reference": "r",
                    "Tags": ["a", 7],
                    "offer": {"IDs": [11, "12"], "consent": True, "pageUrl": "https://p"},
                },
                "fields": {"Email": "a@b.c"},
            }
        ]
    }
    lead = _v2(json.dumps(body).encode(), "application/json").leads[0]
    assert list(lead.tags) == ["a", "7"] and lead.reference == "r"
    assert list(lead.offer.offer_ids) == ["11", "12"] and lead.offer.consent
    assert lead.offer.page_url == "https://p"
    assert [f.name for f in lead.fields] == ["Email"]


def test_v2_xml_reads_tags_and_the_offer_block_from_attributes_and_children() -> None:
    body = (
        b'<Leads><Lead reference="r"><Tags><Tag>a</Tag><Tag>b</Tag></Tags>'
        b'<Offer consent="yes" ipAddress="1.2.3.4"><Id>11</Id><id>12</id>'
        b"<JornayaLeadId>J</JornayaLeadId></Offer><Email>a@b.c</Email></Lead></Leads>"
    )
    lead = _v2(body, "application/xml").leads[0]
    assert list(lead.tags) == ["a", "b"]
    assert list(lead.offer.offer_ids) == ["11", "12"] and lead.offer.consent
    assert (lead.offer.ip_address, lead.offer.jornaya_lead_id) == ("1.2.3.4", "J")
    assert [f.name for f in lead.fields] == ["Email"]


def test_an_unknown_offer_name_makes_the_v2_body_unreadable() -> None:
    body = json.dumps({"leads": [{"properties": {"offer": {"colour": "red"}}}]}).encode()
    assert _v2(body, "application/json").parse_error.startswith("JSON error: offer: 'colour'")
    xml = b"<Lead><Offer><Colour>red</Colour></Offer></Lead>"
    assert _v2(xml, "application/xml").parse_error.startswith("XML error: offer: 'Colour'")


def test_the_legacy_receiver_reads_tags_and_offer_as_fields() -> None:
    body = b"<Lead><Tags>a</Tags><Offer>11</Offer></Lead>"
    submission = parse_submission(body, "application/xml", [], "")
    assert submission.leads[0].fields == (("Tags", "a"), ("Offer", "11"))


def test_a_v2_answer_lists_the_offers_and_says_when_a_lead_is_not_distributed() -> None:
    result = leads_pb2.PostResult(
        is_valid_post=True,
        response_details="Lead was accepted",
        offers=[leads_pb2.Offer(id="11", company_name="Alpha & Co", amount="2.5")],
    )
    body = responses.post_results_v2([result], [""], [True], "json")
    assert isinstance(body, dict)
    assert body["ResponseDetails"] == "Lead was accepted (noSell: stored, not distributed)"
    assert body["Offers"] == [{**responses.offer_json(result.offers[0]), "Amount": 2.5}]
    xml = responses.post_results_v2([result], [""], [False], "xml")
    assert isinstance(xml, str)
    assert "<Offers>\n    <Offer>\n      <OfferID>11</OfferID>" in xml
    assert "<CompanyName>Alpha &amp; Co</CompanyName>" in xml


def test_a_queued_v2_request_keeps_its_tags_offer_block_and_key_requirement() -> None:
    choice = OfferChoice(offer_ids=("11",), consent=True, user_agent="UA")
    submission = Submission(
        vid="1", leads=(PostedLead(tags=("a",), offer=choice), PostedLead()), v2=True
    )
    document, credentials = request_document(QueuedRequest(submission))
    read = queued_request(document, credentials, "post-1").submission
    assert read.v2 and read.leads[0].tags == ("a",) and read.leads[0].offer == choice
    assert read.leads[1].offer == NO_OFFER


def test_the_example_documents_offer_block_is_the_one_docs_show() -> None:
    """docs/receiver.md's V2 example body reads as a V2 post with its offer block."""
    text = (Path(__file__).parents[2] / "docs" / "receiver.md").read_text()
    example = text.split("<!-- v2-example -->")[1].split("```json")[1].split("```")[0]
    lead = _v2(example.encode(), "application/json").leads[0]
    assert list(lead.offer.offer_ids) == ["31"] and lead.offer.consent
    assert list(lead.tags) == ["spring-promo"]
