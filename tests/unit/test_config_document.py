"""Reading a whole config document: specs out, and every problem with its path."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from server.domain.catalog.fields import DataType, SpecialField
from server.domain.catalog.rules import Operator
from server.domain.catalog.specs import CampaignSpec, Channel, PricingModel
from server.domain.config.document import ConfigDocument, read_document

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme.json"


def a_document() -> dict[str, Any]:
    """A small valid document: one lead type, one source with one campaign."""
    return {
        "lead_types": [
            {
                "key": "auto",
                "name": "Auto",
                "fields": [
                    {"name": "Email", "required": True, "special": "Email"},
                    {"name": "Age", "type": "Int"},
                    {"name": "Budget", "type": "Money"},
                ],
            }
        ],
        "sources": [
            {
                "key": "acme",
                "name": "Acme",
                "campaigns": [{"key": "acme-web", "name": "Acme Web", "lead_type": "auto"}],
            }
        ],
    }


def with_campaign(**settings: Any) -> dict[str, Any]:
    document = a_document()
    document["sources"][0]["campaigns"][0].update(settings)
    return document


def paths(doc: ConfigDocument) -> list[str]:
    return [p.path for p in doc.problems]


def campaign_of(doc: ConfigDocument, source: int = 0, campaign: int = 0) -> CampaignSpec:
    return doc.sources[source].campaigns[campaign].spec


# --- the example ---------------------------------------------------------------------------


def test_example_document_reads_with_no_problems() -> None:
    doc = read_document(json.loads(EXAMPLE.read_text()))
    assert doc.problems == []


def test_example_document_yields_its_entities() -> None:
    doc = read_document(json.loads(EXAMPLE.read_text()))
    fields = doc.lead_types[0].spec.fields
    assert [f.name for f in fields if f.duplicate_check] == ["Email", "Phone"]
    assert fields[3].special is SpecialField.PrimaryPhone
    web, rev = doc.sources[0].campaigns
    assert (web.spec.pricing.model, web.spec.pricing.amount) == (
        PricingModel.PerLead,
        Decimal("12.50"),
    )
    assert (rev.spec.pricing.model, rev.spec.pricing.amount) == (
        PricingModel.RevenueShare,
        Decimal("40"),
    )
    assert web.spec.rules[0].operator is Operator.GreaterOrEqual
    assert (web.lead_type_key, web.path) == ("auto-insurance", "sources[0].campaigns[0]")


# --- reading -------------------------------------------------------------------------------


def test_small_document_reads_clean_with_defaults() -> None:
    doc = read_document(a_document())
    assert doc.problems == []
    campaign = campaign_of(doc)
    assert (campaign.channel, campaign.day_max, campaign.dup_day_max, campaign.max_sell) == (
        Channel.Post,
        -1,
        30,
        1,
    )
    assert campaign.password is None
    assert doc.lead_types[0].spec.fields[0].data_type is DataType.Varchar


def test_a_fields_layout_is_read_and_defaults_to_0() -> None:
    document = a_document()
    document["lead_types"][0]["fields"][1].update(col_span=2, width=120, height=40)
    doc = read_document(document)
    email, age, _ = doc.lead_types[0].spec.fields
    assert doc.problems == []
    assert (age.col_span, age.width, age.height) == (2, 120, 40)
    assert (email.col_span, email.width, email.height) == (0, 0, 0)


def test_a_negative_layout_is_reported_at_its_field() -> None:
    document = a_document()
    document["lead_types"][0]["fields"][1]["width"] = -5
    assert paths(read_document(document)) == ["lead_types[0].fields[1].width"]


def test_document_that_is_not_an_object_is_reported() -> None:
    doc = read_document(["not", "an", "object"])
    assert [(p.path, p.reason) for p in doc.problems] == [("", "must be an object")]


@pytest.mark.parametrize(
    ("place", "setting", "path"),
    [
        ((), "version", "version"),
        (("lead_types", 0), "colour", "lead_types[0].colour"),
        (("lead_types", 0, "fields", 1), "length", "lead_types[0].fields[1].length"),
        (("sources", 0), "website", "sources[0].website"),
        (("sources", 0, "campaigns", 0), "dayMax", "sources[0].campaigns[0].dayMax"),
    ],
)
def test_unknown_settings_are_reported_with_their_path(
    place: tuple, setting: str, path: str
) -> None:
    document = a_document()
    target: Any = document
    for step in place:
        target = target[step]
    target[setting] = 1
    doc = read_document(document)
    assert [(p.path, p.reason) for p in doc.problems] == [(path, "is not a known setting")]


def test_every_error_is_listed_at_once_with_its_path() -> None:
    document = a_document()
    document["lead_types"][0]["fields"][1]["type"] = "Integer"
    document["lead_types"][0]["fields"][2]["special"] = "Nickname"
    document["sources"][0]["email"] = "not-an-email"
    document["sources"][0]["campaigns"][0].update(
        {"day_max": -5, "max_sell": "three", "channel": "fax", "price_per_lead": "-1"}
    )
    assert sorted(paths(read_document(document))) == sorted(
        [
            "lead_types[0].fields[1].type",
            "lead_types[0].fields[2].special",
            "sources[0].email",
            "sources[0].campaigns[0].max_sell",
            "sources[0].campaigns[0].channel",
            "sources[0].campaigns[0].day_max",
            "sources[0].campaigns[0].price_per_lead",
        ]
    )


def test_missing_keys_are_required() -> None:
    document = a_document()
    del document["lead_types"][0]["key"]
    del document["sources"][0]["key"]
    del document["sources"][0]["campaigns"][0]["key"]
    del document["sources"][0]["campaigns"][0]["lead_type"]
    assert paths(read_document(document)) == [
        "lead_types[0].key",
        "sources[0].key",
        "sources[0].campaigns[0].key",
        "sources[0].campaigns[0].lead_type",
    ]


def test_empty_key_is_reported_as_required() -> None:
    document = a_document()
    document["lead_types"][0]["key"] = ""
    assert paths(read_document(document)) == ["lead_types[0].key"]


def test_campaign_without_lead_type_still_reports_its_other_errors() -> None:
    document = with_campaign(day_max=-5)
    del document["sources"][0]["campaigns"][0]["lead_type"]
    assert sorted(paths(read_document(document))) == [
        "sources[0].campaigns[0].day_max",
        "sources[0].campaigns[0].lead_type",
    ]


def test_two_pricing_fields_are_reported_at_the_campaign() -> None:
    doc = read_document(with_campaign(price_per_lead="10", revenue_share_percent="40"))
    assert paths(doc) == ["sources[0].campaigns[0]"]
    assert "price_per_lead" in doc.problems[0].reason
    assert "revenue_share_percent" in doc.problems[0].reason


@pytest.mark.parametrize(("given", "expected"), [("12.50", "12.50"), (12.5, "12.5"), (3, "3")])
def test_price_may_be_a_string_or_a_json_number(given: object, expected: str) -> None:
    doc = read_document(with_campaign(price_per_sale=given))
    assert doc.problems == []
    pricing = campaign_of(doc).pricing
    assert (pricing.model, pricing.amount) == (PricingModel.PerSale, Decimal(expected))


def test_price_that_is_not_a_number_is_reported() -> None:
    doc = read_document(with_campaign(price_per_lead="twelve"))
    assert paths(doc) == ["sources[0].campaigns[0].price_per_lead"]


@pytest.mark.parametrize(
    ("section", "path"),
    [
        ("lead_types", "lead_types[1].key"),
        ("sources", "sources[1].key"),
    ],
)
def test_duplicate_keys_are_reported_at_the_second_use(section: str, path: str) -> None:
    document = a_document()
    twin = copy.deepcopy(document[section][0])
    if section == "sources":
        twin["campaigns"] = []
    document[section].append(twin)
    doc = read_document(document)
    assert paths(doc) == [path]
    assert f"{section}[0]" in doc.problems[0].reason


def test_duplicate_campaign_keys_across_sources_are_reported() -> None:
    document = a_document()
    other = copy.deepcopy(document["sources"][0])
    other["key"] = "other"
    document["sources"].append(other)
    assert paths(read_document(document)) == ["sources[1].campaigns[0].key"]


def test_keys_differing_only_in_case_are_distinct() -> None:
    document = a_document()
    document["sources"].append({"key": "ACME", "name": "Acme again"})
    assert read_document(document).problems == []


def test_duplicate_usernames_are_reported_ignoring_case() -> None:
    document = a_document()
    document["sources"][0]["username"] = "acme-portal"
    document["sources"].append({"key": "other", "name": "Other", "username": "ACME-Portal"})
    assert paths(read_document(document)) == ["sources[1].username"]


def test_campaign_rule_against_field_not_in_lead_type_is_reported() -> None:
    rules = [{"field": "Income", "operator": "Greater", "value": "1"}]
    doc = read_document(with_campaign(rules=rules))
    assert paths(doc) == ["sources[0].campaigns[0].rules[0].field"]


def test_unknown_rule_operator_is_reported() -> None:
    rules = [{"field": "Age", "operator": "Roughly", "value": "18"}]
    doc = read_document(with_campaign(rules=rules))
    assert "sources[0].campaigns[0].rules[0].operator" in paths(doc)


def test_rule_value_given_as_json_number_is_accepted() -> None:
    rules = [{"field": "age", "operator": "greaterorequal", "value": 18}]
    doc = read_document(with_campaign(rules=rules))
    assert doc.problems == []
    rule = campaign_of(doc).rules[0]
    assert (rule.operator, rule.value) == (Operator.GreaterOrEqual, "18")


def test_rule_value_of_another_type_is_reported() -> None:
    rules = [{"field": "Age", "operator": "In", "value": [18, 21]}]
    doc = read_document(with_campaign(rules=rules))
    assert "sources[0].campaigns[0].rules[0].value" in paths(doc)


def test_rule_value_given_as_whole_float_is_accepted_for_int_field() -> None:
    rules = [{"field": "Age", "operator": "GreaterOrEqual", "value": 18.0}]
    assert read_document(with_campaign(rules=rules)).problems == []


def test_integers_given_as_whole_floats_are_accepted() -> None:
    doc = read_document(with_campaign(day_max=1000.0, max_sell=3.0))
    assert doc.problems == []
    campaign = campaign_of(doc)
    assert (campaign.day_max, campaign.max_sell) == (1000, 3)
    assert type(campaign.day_max) is int


@pytest.mark.parametrize("given", [1000.5, "1000", True])
def test_integer_settings_reject_other_values(given: object) -> None:
    doc = read_document(with_campaign(day_max=given))
    assert [(p.path, p.reason) for p in doc.problems] == [
        ("sources[0].campaigns[0].day_max", "must be a whole number")
    ]


@pytest.mark.parametrize("given", [float("nan"), float("inf")])
def test_non_finite_integer_setting_is_reported_not_raised(given: float) -> None:
    doc = read_document(with_campaign(day_max=given))
    assert paths(doc) == ["sources[0].campaigns[0].day_max"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [("ping-post", Channel.PingPost), ("PingPost", Channel.PingPost), ("CALL", Channel.Call)],
)
def test_channel_names_are_read_ignoring_case(given: str, expected: Channel) -> None:
    doc = read_document(with_campaign(channel=given))
    assert doc.problems == []
    assert campaign_of(doc).channel is expected


def test_campaign_return_days_default_to_the_source_default() -> None:
    document = a_document()
    document["sources"][0]["default_return_days"] = 7
    assert campaign_of(read_document(document)).return_days == 7


def test_duplicate_fields_naming_an_unknown_field_is_reported() -> None:
    document = a_document()
    document["lead_types"][0]["duplicate_fields"] = ["email", "Phone"]
    doc = read_document(document)
    assert paths(doc) == ["lead_types[0].duplicate_fields"]
    assert [f.duplicate_check for f in doc.lead_types[0].spec.fields] == [True, False, False]
