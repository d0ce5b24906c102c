"""The posting instructions page escapes what comes from configuration."""

from __future__ import annotations

from gateways.receiver.instructions_page import render
from server.domain.catalog.fields import FieldSpec
from server.domain.catalog.instructions import posting_instructions
from server.domain.catalog.specs import CampaignSpec


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
