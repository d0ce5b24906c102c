"""The posting instructions page escapes what comes from configuration."""

from __future__ import annotations

from gateways.receiver.instructions_page import render
from server.domain.buyers.offers import StaticOffer
from server.domain.catalog.fields import FieldSpec
from server.domain.catalog.instructions import posting_instructions
from server.domain.catalog.specs import CampaignSpec
from server.domain.intake.offers import Offered


def page(description: str) -> str:
    doc = posting_instructions(
        receiver_url="https://leads.example.com",
        source_id=1,
        source_name="<b>Acme</b>",
        campaign_id=2,
        campaign=CampaignSpec(name="Web & Co"),
        lead_type_id=3,
        lead_type_name="Auto",
        fields=(FieldSpec("Email", required=True, description=description),),
        has_password=True,
    )
    return render(doc)


def test_configuration_text_is_escaped() -> None:
    text = page("<script>alert(1)</script>")
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "&lt;b&gt;Acme&lt;/b&gt;" in text and "Web &amp; Co" in text


def test_the_page_shows_identifiers_and_examples() -> None:
    text = page("the lead's email")
    assert "<code>vid</code> (lead source): 1" in text and "<h3>JSON</h3>" in text


def test_backquoted_text_is_code_and_escaped() -> None:
    text = page("x")
    assert "<code>password</code>" in text and "<code>Authorization: Bearer KEY</code>" in text
    assert "<h3>duplicate check</h3>" in text and "<code>GET</code>" in text


def test_a_campaign_returning_offers_shows_them_escaped() -> None:
    offered = Offered(31, 5, 2, "West <Auto>", StaticOffer("W & Co", tcpa_consent_text="I <agree>"))
    doc = posting_instructions(
        receiver_url="https://leads.example.com",
        source_id=1,
        source_name="Acme",
        campaign_id=2,
        campaign=CampaignSpec(name="Web", return_client_offers=True),
        lead_type_id=3,
        lead_type_name="Auto",
        fields=(FieldSpec("Email", required=True),),
        has_password=True,
        offers=[offered],
    )
    text = render(doc)
    assert "<h2>Offers and 1-to-1 consent</h2>" in text
    assert "<code>POST https://leads.example.com/v2/insert/general/{json|xml}</code>" in text
    assert "<code>POST https://leads.example.com/v2/insert/ping/{json|xml}</code>" in text
    assert "<td><code>31</code></td><td>West &lt;Auto&gt;</td><td>W &amp; Co</td>" in text
    assert "I &lt;agree&gt;" in text and "&quot;consent&quot;: true" in text
    assert "Offers and 1-to-1" not in page("x")
