"""The database-free acceptance steps, in LeadExec's order, with fakes for reference data."""

from __future__ import annotations

import logging
from dataclasses import asdict, replace

import pytest

from server.domain.catalog.fields import DataType, FieldSpec, SpecialField
from server.domain.catalog.rules import Operator, Rule
from server.domain.catalog.specs import CampaignSpec, Status
from server.domain.intake.screening import ResponseType, Step, screen, visitor_redirect
from server.services.intake import post_log
from server.storage.leads import step_json

FIELDS = (
    FieldSpec("Email", required=True, validation=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"),
    FieldSpec("Phone", required=True, invalid_chars="[^0-9]", validation="^[0-9]{10}$"),
    FieldSpec("Zip", special=SpecialField.Zip, validation="^[0-9]{5}$"),
    FieldSpec("City", special=SpecialField.City),
    FieldSpec("State", special=SpecialField.State),
    FieldSpec("Age", data_type=DataType.Int),
)
CAMPAIGN = CampaignSpec(name="Web", rules=(Rule("Age", Operator.GreaterOrEqual, "18"),))
GOOD = {"email": "a@b.com", "Phone": "(702) 555-0100", "Zip": "89101", "Age": "30"}


def fake_zips(zip_code: str) -> tuple[str, str] | None:
    return {"89101": ("Las Vegas", "NV")}.get(zip_code)


def test_a_good_lead_passes_every_step_in_order() -> None:
    result = screen(CAMPAIGN, FIELDS, GOOD, fake_zips)
    assert result.response is ResponseType.No_Error
    assert [s.name for s in result.steps] == [
        "validate_fields",
        "campaign_rules",
        "campaign_status",
    ]
    assert result.values["Phone"] == "7025550100"


def test_every_bad_field_is_named_in_one_data_errors_response() -> None:
    result = screen(CAMPAIGN, FIELDS, {"Email": "nope", "Zip": "1"}, fake_zips)
    assert result.response is ResponseType.Data_Errors
    for name in ("Email", "Phone", "Zip"):
        assert name in result.details
    assert result.steps[-1].outcome == "failed"


def test_data_errors_come_before_rules() -> None:
    result = screen(CAMPAIGN, FIELDS, {**GOOD, "Email": "x", "Age": "12"}, fake_zips)
    assert result.response is ResponseType.Data_Errors


def test_a_failing_rule_is_outside_criteria_and_says_which() -> None:
    result = screen(CAMPAIGN, FIELDS, {**GOOD, "Age": "17"}, fake_zips)
    assert result.response is ResponseType.Outside_Criteria
    assert "Age=17" in result.details and "GreaterOrEqual 18" in result.details


def test_a_missing_value_fails_a_rule_that_needs_it() -> None:
    result = screen(CAMPAIGN, FIELDS, {k: v for k, v in GOOD.items() if k != "Age"}, fake_zips)
    assert result.response is ResponseType.Outside_Criteria


def test_rules_come_before_the_campaign_status() -> None:
    disabled = replace(CAMPAIGN, status=Status.Disabled)
    assert screen(disabled, FIELDS, {**GOOD, "Age": "5"}, fake_zips).response is (
        ResponseType.Outside_Criteria
    )


def test_a_disabled_campaign_is_account_disabled() -> None:
    disabled = replace(CAMPAIGN, status=Status.Disabled)
    assert screen(disabled, FIELDS, GOOD, fake_zips).response is ResponseType.Account_Disabled


def test_city_and_state_are_appended_from_the_zip_when_asked() -> None:
    appending = replace(CAMPAIGN, append_city_state_from_zip=True)
    result = screen(appending, FIELDS, GOOD, fake_zips)
    assert (result.values["City"], result.values["State"]) == ("Las Vegas", "NV")
    assert ("append_city_state", "changed") in [(s.name, s.outcome) for s in result.steps]


def test_posted_city_and_state_are_kept() -> None:
    appending = replace(CAMPAIGN, append_city_state_from_zip=True)
    result = screen(appending, FIELDS, {**GOOD, "City": "Henderson", "State": "NV"}, fake_zips)
    assert result.values["City"] == "Henderson"


def test_nothing_is_appended_unless_the_campaign_asks() -> None:
    result = screen(CAMPAIGN, FIELDS, GOOD, fake_zips)
    assert "City" not in result.values


def test_an_unknown_zip_appends_nothing_and_is_recorded() -> None:
    appending = replace(CAMPAIGN, append_city_state_from_zip=True)
    result = screen(appending, FIELDS, {**GOOD, "Zip": "00000"}, fake_zips)
    assert result.accepted and "City" not in result.values
    assert ("append_city_state", "skipped") in [(s.name, s.outcome) for s in result.steps]


def test_unknown_posted_names_are_kept_as_extras() -> None:
    result = screen(CAMPAIGN, FIELDS, {**GOOD, "utm_source": "google"}, fake_zips)
    assert result.extras == {"utm_source": "google"}


@pytest.mark.parametrize(
    ("urls", "return_url", "target"),
    [
        (["https://buyer.example/a"], "https://source.example/", "https://buyer.example/a"),
        ([""], "https://source.example/sorry", "https://source.example/sorry"),
        ([""], "", ""),
        (["javascript:alert(1)"], "https://source.example/", ""),
        (["/relative"], "", ""),
        (["https://buyer.example/a", ""], "https://source.example/", ""),  # two leads
        ([], "https://source.example/", ""),
    ],
)
def test_a_redirect_post_sends_its_visitor_to_the_buyer_else_the_return_url(
    urls: list[str], return_url: str, target: str
) -> None:
    assert visitor_redirect(urls, return_url) == target


def test_a_step_is_logged_with_every_field_of_its_dataclass() -> None:
    step = Step("duplicate_check", "failed", "duplicate of lead 7", 120)
    assert step_json(step) == asdict(step)


def test_a_reference_holding_nul_is_a_data_error() -> None:
    result = screen(CAMPAIGN, FIELDS, GOOD, fake_zips, reference="ref\x00")
    assert result.response is ResponseType.Data_Errors
    assert result.details == "Invalid or missing fields: reference: holds a NUL character"


def test_unknown_fields_are_logged_on_one_line_with_the_post_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    names = ["Evil\nline", "x" * 100, *(f"Extra{i}" for i in range(23))]
    with caplog.at_level(logging.INFO, logger="server.services.intake.post_log"):
        post_log.unknown_fields("p-1", names)
        post_log.unknown_fields("p-2", [])
    [record] = caplog.records
    message = record.getMessage()
    assert "\n" not in message
    assert message.startswith("post p-1: 25 unknown fields ignored: 'Evil\\nline', 'xxx")
    assert f"'{'x' * 64}'," in message and "'Extra17'" in message and "'Extra18'" not in message
    assert message.endswith(" and 5 more")
