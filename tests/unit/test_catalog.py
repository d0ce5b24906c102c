"""Validation of lead types, sources, campaigns and pricing."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from server.domain.catalog.fields import DataType, FieldSpec
from server.domain.catalog.rules import Operator, Rule
from server.domain.catalog.specs import (
    CampaignSpec,
    Channel,
    LeadTypeSpec,
    Pricing,
    PricingModel,
    SourceSpec,
    Status,
    validate_campaign,
    validate_key,
    validate_lead_type,
    validate_pricing,
    validate_source,
    with_state_id,
)
from server.domain.geo import State, States
from server.errors import InvalidArgument

FIELDS = (FieldSpec("Age", DataType.Int), FieldSpec("State"))


def a_source(**changes: object) -> SourceSpec:
    base = SourceSpec(
        name="Acme Media", key="acme", email="ops@acme.example", username="acme-portal"
    )
    return dataclasses.replace(base, **changes)


def a_campaign(**changes: object) -> CampaignSpec:
    base = CampaignSpec(
        name="Acme Web",
        key="acme-web",
        pricing=Pricing(PricingModel.PerLead, Decimal("12.50")),
        rules=(Rule("age", Operator.GreaterOrEqual, "18"),),
    )
    return dataclasses.replace(base, **changes)


def paths(problems: list) -> list[str]:
    return [p.path for p in problems]


# --- keys ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "a", "auto-insurance", "v1.2_beta", "9" * 100])
def test_valid_keys_are_accepted(key: str | None) -> None:
    assert validate_key(key, "x.key") == []


@pytest.mark.parametrize("key", ["", "-lead", ".hidden", "has space", "slash/ed", "k" * 101])
def test_invalid_keys_are_reported_at_the_given_path(key: str) -> None:
    assert paths(validate_key(key, "x.key")) == ["x.key"]


def test_key_with_trailing_newline_is_rejected() -> None:
    assert paths(validate_key("acme\n", "x.key")) == ["x.key"]


# --- lead types ----------------------------------------------------------------------------


def test_valid_lead_type_has_no_problems() -> None:
    assert validate_lead_type(LeadTypeSpec("Auto", key="auto", fields=FIELDS)) == []


def test_lead_type_problems_include_key_name_and_fields() -> None:
    spec = LeadTypeSpec(" ", key="bad key", fields=(FieldSpec("ok"), FieldSpec("bad name")))
    assert paths(validate_lead_type(spec, "lead_types[0]")) == [
        "lead_types[0].key",
        "lead_types[0].name",
        "lead_types[0].fields[1].name",
    ]


# --- sources -------------------------------------------------------------------------------


def test_valid_source_has_no_problems() -> None:
    assert validate_source(a_source(password="long enough")) == []


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"name": ""}, "s.name"),
        ({"email": "ops@acme"}, "s.email"),
        ({"username": "ab"}, "s.username"),
        ({"username": "-acme"}, "s.username"),
        ({"password": "short"}, "s.password"),
        ({"status": Status.Unspecified}, "s.status"),
        ({"default_return_days": -1}, "s.default_return_days"),
    ],
)
def test_source_problems_are_reported_at_their_path(changes: dict, path: str) -> None:
    assert paths(validate_source(a_source(**changes), "s")) == [path]


@pytest.mark.parametrize("changes", [{"password": ""}, {"password": None}, {"username": None}])
def test_source_password_and_username_may_be_empty_or_kept(changes: dict) -> None:
    assert validate_source(a_source(**changes)) == []


# --- campaigns -----------------------------------------------------------------------------


def test_valid_campaign_has_no_problems() -> None:
    assert validate_campaign(a_campaign(), FIELDS) == []


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"key": "no spaces please"}, "c.key"),
        ({"name": " "}, "c.name"),
        ({"channel": Channel.Unspecified}, "c.channel"),
        ({"status": Status.Unspecified}, "c.status"),
        ({"hour_max": -2}, "c.hour_max"),
        ({"day_max": -5}, "c.day_max"),
        ({"month_max": -100}, "c.month_max"),
        ({"dup_day_max": -1}, "c.dup_day_max"),
        ({"max_sell": -1}, "c.max_sell"),
        ({"return_days": -1}, "c.return_days"),
        ({"pricing": Pricing(PricingModel.PerSale, Decimal("-1"))}, "c.price_per_sale"),
        ({"rules": (Rule("Income", Operator.Equal, "1"),)}, "c.rules[0].field"),
    ],
)
def test_campaign_problems_are_reported_at_their_path(changes: dict, path: str) -> None:
    assert paths(validate_campaign(a_campaign(**changes), FIELDS, "c")) == [path]


def test_campaign_limits_of_minus_one_mean_no_limit() -> None:
    campaign = a_campaign(hour_max=-1, day_max=-1, month_max=-1, dup_day_max=0, max_sell=0)
    assert validate_campaign(campaign, FIELDS) == []


def test_channel_labels() -> None:
    assert [c.label for c in Channel] == ["unspecified", "post", "ping-post", "redirect", "call"]


# --- pricing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "amount"),
    [
        (PricingModel.PerLead, "0"),
        (PricingModel.PerLead, "12.3456"),
        (PricingModel.PerSale, "9999999999.9999"),
        (PricingModel.RevenueShare, "100"),
    ],
)
def test_valid_prices_are_accepted(model: PricingModel, amount: str) -> None:
    assert validate_pricing(Pricing(model, Decimal(amount)), "c") == []


@pytest.mark.parametrize(
    ("model", "amount", "path", "reason"),
    [
        (PricingModel.PerLead, "-0.01", "c.price_per_lead", "zero or more"),
        (PricingModel.PerLead, "NaN", "c.price_per_lead", "zero or more"),
        (PricingModel.PerSale, "Infinity", "c.price_per_sale", "zero or more"),
        (PricingModel.PerLead, "1.23456", "c.price_per_lead", "4 decimal places"),
        (PricingModel.RevenueShare, "100.01", "c.revenue_share_percent", "between 0 and 100"),
        (PricingModel.PerSale, "1E+10", "c.price_per_sale", "too large"),
    ],
)
def test_invalid_prices_are_reported_at_the_model_field(
    model: PricingModel, amount: str, path: str, reason: str
) -> None:
    problems = validate_pricing(Pricing(model, Decimal(amount)), "c")
    assert paths(problems) == [path]
    assert reason in problems[0].reason


STATES = States([State(6, "California", "CA"), State(32, "Nevada", "NV")])


def test_a_source_state_given_by_id_takes_its_abbreviation() -> None:
    source = SourceSpec(name="S")
    assert with_state_id(source, 32, STATES).state == "NV"
    assert with_state_id(source, 0, STATES) == source
    assert with_state_id(SourceSpec(name="S", state="CA"), 0, STATES).state == "CA"


def test_a_state_named_both_ways_must_be_the_same_state() -> None:
    same = SourceSpec(name="S", state="nevada")
    assert with_state_id(same, 32, STATES) == same  # kept as written
    with pytest.raises(InvalidArgument) as refused:
        with_state_id(SourceSpec(name="S", state="CA"), 32, STATES)
    assert [v.path for v in refused.value.violations] == ["source.state"]


def test_an_unknown_state_id_is_refused() -> None:
    with pytest.raises(InvalidArgument) as refused:
        with_state_id(SourceSpec(name="S"), 99, STATES)
    assert [v.path for v in refused.value.violations] == ["source.state_id"]
