"""Posting instructions: complete, honest about authentication, and examples that pass."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from server.domain.catalog.fields import DataType, FieldSpec, SpecialField, clean_lead_values
from server.domain.catalog.instructions import (
    PASSWORD_PLACEHOLDER,
    posting_instructions,
    to_markdown,
)
from server.domain.catalog.rules import Operator, Rule
from server.domain.catalog.specs import CampaignSpec, Pricing, PricingModel

FIELDS = (
    FieldSpec(
        "Email",
        required=True,
        special=SpecialField.Email,
        validation=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$",
    ),
    FieldSpec(
        "Phone",
        required=True,
        special=SpecialField.PrimaryPhone,
        invalid_chars="[^0-9]",
        validation="^[0-9]{10}$",
    ),
    FieldSpec("Zip", required=True, special=SpecialField.Zip, validation="^[0-9]{5}$"),
    FieldSpec("Age", data_type=DataType.Int, required=True),
    FieldSpec("Credit", required=True, enumerations=("Good", "Fair")),
    FieldSpec("Notes", description="free text"),
)
CAMPAIGN = CampaignSpec(
    name="Web",
    pricing=Pricing(PricingModel.PerLead, amount=__import__("decimal").Decimal("12.50")),
    rules=(Rule("Age", Operator.GreaterOrEqual, "18"),),
)


def document(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "receiver_url": "https://leads.example.com/",
        "source_id": 7,
        "source_name": "Acme",
        "campaign_id": 3,
        "campaign": CAMPAIGN,
        "lead_type_id": 2,
        "lead_type_name": "Auto",
        "fields": FIELDS,
        "has_password": True,
    }
    values.update(overrides)
    return posting_instructions(**values)


def test_every_field_is_listed_with_its_checks() -> None:
    listed = {f["name"]: f for f in document()["fields"]}
    assert list(listed) == [f.name for f in FIELDS]
    assert listed["Zip"]["validation"] == "^[0-9]{5}$" and listed["Zip"]["required"]
    assert listed["Credit"]["allowed_values"] == ["Good", "Fair"]


def test_the_example_values_pass_the_fields_own_checks() -> None:
    examples = {f["name"]: f["example"] for f in document()["fields"]}
    assert clean_lead_values(FIELDS, examples).ok


def test_the_json_example_carries_the_identifiers_and_a_password_placeholder() -> None:
    example = document()["examples"]["json"]
    body = json.loads(re.search(r"-d '(.+)'$", example)[1])  # type: ignore[index]
    assert body["source"] == {"vid": 7, "lid": 2, "aid": 3, "password": PASSWORD_PLACEHOLDER}
    assert set(body["leads"][0]["fields"]) == {"Email", "Phone", "Zip", "Age", "Credit"}


def test_no_password_means_no_password_in_the_examples() -> None:
    made = document(has_password=False)
    assert PASSWORD_PLACEHOLDER not in json.dumps(made["examples"])
    assert "no password is set" in made["authentication"]


def test_a_required_api_key_is_said_to_be_required() -> None:
    made = document(campaign=replace(CAMPAIGN, require_api_key=True))
    assert "(required)" in made["authentication"]


def test_urls_use_the_receivers_public_address() -> None:
    endpoints = document()["endpoints"]
    assert endpoints["insert"] == "https://leads.example.com/processor/insert/general/{json|xml}"


def test_the_markdown_names_identifiers_fields_rules_and_examples() -> None:
    text = to_markdown(document())
    for expected in (
        "`vid` (lead source): 7",
        "`aid` (campaign): 3",
        "| Zip | Varchar | yes |",
        "Age GreaterOrEqual 18",
        "$12.50 per accepted lead",
        "```sh",
    ):
        assert expected in text


def test_the_examples_meet_the_campaigns_rules() -> None:
    strict = replace(
        CAMPAIGN, rules=(Rule("Age", Operator.Less, "18"), Rule("Notes", Operator.In, "a,b"))
    )
    example = document(campaign=strict)["examples"]["json"]
    fields = json.loads(re.search(r"-d '(.+)'$", example)[1])["leads"][0]["fields"]  # type: ignore[index]
    assert int(fields["Age"]) < 18 and fields["Notes"] in ("a", "b")
