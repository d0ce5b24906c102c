"""Call data: the pseudo-fields, their parsing and stored form, and the values criteria see."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.domain.catalog.fields import DataType, FieldSpec, clean_lead_values
from server.domain.catalog.rules import Operator
from server.domain.catalog.specs import CampaignSpec
from server.domain.intake.call_data import (
    CALL_FIELDS,
    PACIFIC,
    criteria_values,
    pacific_to_utc,
    parse_call_data,
)
from server.domain.intake.screening import ResponseType, screen
from server.domain.matching.criteria import Criterion, CriterionType, EvalContext, compile_criteria

CALL = {
    "IvrNumber": "(800) 555-0100",
    "CallDuration": "95",
    "CallResult": " Sold ",
    "CallDate": "11/13/2020 12:15 PM",
}


def test_the_pseudo_fields_are_named_and_typed() -> None:
    assert [(f.name, f.data_type, f.required) for f in CALL_FIELDS] == [
        ("IvrNumber", DataType.Varchar, True),
        ("CallDuration", DataType.Int, True),
        ("CallResult", DataType.Varchar, False),
        ("CallDate", DataType.DateTime, False),
    ]


def test_call_data_is_typed_into_its_stored_form() -> None:
    parsed = parse_call_data(CALL)
    assert parsed.ok
    assert parsed.values == {
        "IvrNumber": "8005550100",
        "CallDuration": 95,
        "CallResult": "Sold",
        "CallDate": "2020-11-13T20:15:00+00:00",  # 12:15 PST is 20:15 UTC
    }


def test_names_match_ignoring_case() -> None:
    parsed = parse_call_data({"ivrnumber": "8005550100", "CALLDURATION": "0"})
    assert parsed.values == {"IvrNumber": "8005550100", "CallDuration": 0}


def test_the_number_called_and_the_duration_are_required() -> None:
    parsed = parse_call_data({"CallResult": "Sold"})
    assert [(p.path, p.reason) for p in parsed.problems] == [
        ("IvrNumber", "is required"),
        ("CallDuration", "is required"),
    ]


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("CallDuration", "ninety", "'ninety' must be a whole number"),
        ("CallDuration", "12.5", "'12.5' must be a whole number"),
        ("CallDuration", "-3", "'-3' must be 0 or more"),
        ("IvrNumber", "555-01", "'55501' fails validation"),
        ("CallDate", "yesterday", "'yesterday' must be a date"),
        ("CallResult", "x" * 256, "is longer than 255 characters"),
        ("CallDate", "12/31/9999 11:59 PM", "'12/31/9999 11:59 PM' is out of range in UTC"),
        ("CallDate", "0001-01-01T00:00:00+14:00", "'0001-01-01T00:00:00+14:00' is out of range"),
    ],
)
def test_an_invalid_value_is_named_with_its_reason(name: str, value: str, reason: str) -> None:
    parsed = parse_call_data({**CALL, name: value})
    [problem] = parsed.problems
    assert problem.path == name and problem.reason.startswith(reason)
    assert name not in parsed.values


def test_every_bad_value_is_reported_at_once() -> None:
    parsed = parse_call_data({"IvrNumber": "", "CallDuration": "x", "CallDate": "never"})
    assert [p.path for p in parsed.problems] == ["IvrNumber", "CallDuration", "CallDate"]


@pytest.mark.parametrize(
    ("posted", "utc"),
    [
        ("11/13/2020 12:15 PM", datetime(2020, 11, 13, 20, 15, tzinfo=UTC)),  # PST, UTC-8
        ("2021-07-04 09:30", datetime(2021, 7, 4, 16, 30, tzinfo=UTC)),  # PDT, UTC-7
        ("07/04/2021", datetime(2021, 7, 4, 7, 0, tzinfo=UTC)),
        ("2021-07-04T09:30:00Z", datetime(2021, 7, 4, 9, 30, tzinfo=UTC)),  # its own offset
        ("2021-07-04T09:30:00-05:00", datetime(2021, 7, 4, 14, 30, tzinfo=UTC)),
        ("11/07/2021 01:30 AM", datetime(2021, 11, 7, 8, 30, tzinfo=UTC)),  # repeated hour: PDT
    ],
)
def test_the_call_date_is_read_in_pacific_time_and_kept_in_utc(posted: str, utc: datetime) -> None:
    assert pacific_to_utc(posted) == utc


def test_other_names_are_ignored() -> None:
    parsed = parse_call_data({**CALL, "FirstName": "Ann"})
    assert parsed.ok and "FirstName" not in parsed.values and parsed.extras == {}


def test_criteria_values_read_the_stored_form_back_typed_as_fields_are() -> None:
    stored = parse_call_data(CALL).values
    typed = criteria_values(stored)
    assert typed == stored
    as_fields = clean_lead_values(
        [FieldSpec("CallDuration", DataType.Int), FieldSpec("CallDate", DataType.DateTime)],
        {"CallDuration": "95", "CallDate": "2020-11-13T20:15:00Z"},
    )
    assert typed["CallDuration"] == as_fields.values["CallDuration"]
    assert typed["CallDate"] == as_fields.values["CallDate"]


def test_criteria_values_leave_out_what_is_absent_or_unreadable() -> None:
    stored = {"CallDuration": "long", "CallResult": None, "IvrNumber": True, "Other": 1}
    assert criteria_values(stored) == {}
    assert criteria_values({}) == {}


def test_criteria_can_screen_call_data_like_fields() -> None:
    compiled = compile_criteria(
        [
            Criterion(CriterionType.FieldValue, "CallDuration", Operator.GreaterOrEqual, "90"),
            Criterion(CriterionType.FieldValue, "CallResult", Operator.Equal, "sold"),
            Criterion(CriterionType.FieldValue, "CallDate", Operator.DateCompare, "<=1d"),
        ],
        {f.name.casefold(): f for f in CALL_FIELDS},
    )
    context = EvalContext(datetime(2020, 11, 14, tzinfo=UTC), PACIFIC, lambda a, b: None)
    values = {k.casefold(): v for k, v in criteria_values(parse_call_data(CALL).values).items()}
    assert compiled.check(values, context).passed
    short = compiled.check({**values, "callduration": 30}, context)
    assert not short.passed and "CallDuration" in short.reason


def test_a_call_lead_is_screened_with_its_call_data() -> None:
    fields = [FieldSpec("FirstName", required=True)]
    screening = screen(CampaignSpec(name="Calls"), fields, {"FirstName": "Ann"}, no_zip, CALL)
    assert screening.accepted
    assert screening.call_data["CallDuration"] == 95


def test_bad_call_data_is_a_data_error_listed_with_the_fields() -> None:
    fields = [FieldSpec("FirstName", required=True)]
    screening = screen(
        CampaignSpec(name="Calls"), fields, {}, no_zip, {**CALL, "CallDuration": "soon"}
    )
    assert screening.response is ResponseType.Data_Errors
    assert "FirstName: is required" in screening.details
    assert "CallDuration: 'soon' must be a whole number" in screening.details


def test_a_lead_without_call_data_is_screened_as_before() -> None:
    screening = screen(CampaignSpec(name="Web"), [], {}, no_zip)
    assert screening.accepted and screening.call_data == {}


def no_zip(code: str) -> None:
    return None
