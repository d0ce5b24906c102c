"""Call data: the details of the phone call a call lead came from (/processor/insert/calldata).

LeadExec's call lead carries four values beside its fields: the number the lead called
(`ivrnumber`), the call's duration in seconds (`callduration`), its result (`callresult`) and
when it took place (`calldate`, in Pacific time). They are defined here as pseudo-fields, so
they are cleaned and typed by the same rules as lead fields (server/domain/catalog/fields.py),
and so delivery account criteria can name them like fields:

| pseudo-field   | type     | required | stored as                                    |
| -------------- | -------- | -------- | -------------------------------------------- |
| `IvrNumber`    | Varchar  | yes      | its digits, 7 to 15 of them: `"8005550100"`  |
| `CallDuration` | Int      | yes      | whole seconds, 0 or more: `95`               |
| `CallResult`   | Varchar  | no       | as posted, trimmed, at most 255 characters   |
| `CallDate`     | DateTime | no       | ISO 8601 in UTC: `"2020-11-13T20:15:00+00:00"` |

The stored form (`leads.call_data`, jsonb) is the mapping `parse_call_data` returns: the
pseudo-field names to the typed values `clean_lead_values` gives fields of those types; a
value not posted is absent. `criteria_values` reads it back in that typed form.

`CallDate` is posted in Pacific time (America/Los_Angeles, daylight saving included), in any
form a DateTime field accepts; a posted UTC offset (`Z`, `-05:00`) is honoured instead. An
ambiguous time (the repeated hour in November) is read as the first, daylight-saving one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from server.domain.catalog.fields import (
    CleanedLead,
    DataType,
    FieldSpec,
    Value,
    clean_lead_values,
    coerce,
    parse_datetime,
)
from server.errors import Violation

PACIFIC = ZoneInfo("America/Los_Angeles")
MAX_RESULT_LENGTH = 255

IVR_NUMBER = FieldSpec(
    "IvrNumber",
    DataType.Varchar,
    required=True,
    invalid_chars="[^0-9]",
    validation=r"^[0-9]{7,15}$",
    description="The phone number the lead called (digits only are kept)",
)
CALL_DURATION = FieldSpec(
    "CallDuration",
    DataType.Int,
    required=True,
    description="How long the call lasted, in whole seconds",
)
CALL_RESULT = FieldSpec(
    "CallResult",
    DataType.Varchar,
    description="The result of the call",
)
CALL_DATE = FieldSpec(
    "CallDate",
    DataType.DateTime,
    description="When the call took place (posted in Pacific time, stored in UTC)",
)
CALL_FIELDS: tuple[FieldSpec, ...] = (IVR_NUMBER, CALL_DURATION, CALL_RESULT, CALL_DATE)


def parse_call_data(posted: Mapping[str, str]) -> CleanedLead:
    """Clean and type posted call data, keyed by pseudo-field name (matched ignoring case).

    `values` is the stored form; `problems` names every bad or missing value, each under its
    pseudo-field's name. Names that are not call data are ignored.
    """
    by_name = {name.casefold(): value for name, value in posted.items()}
    date_text = (by_name.pop(CALL_DATE.name.casefold(), None) or "").strip()
    cleaned = clean_lead_values(CALL_FIELDS[:3], by_name)
    result = CleanedLead(problems=list(cleaned.problems))
    result.values = dict(cleaned.values)
    duration = result.values.get(CALL_DURATION.name)
    if isinstance(duration, int) and duration < 0:
        del result.values[CALL_DURATION.name]
        result.problems.append(Violation(CALL_DURATION.name, f"'{duration}' must be 0 or more"))
    call_result = result.values.get(CALL_RESULT.name)
    if isinstance(call_result, str) and len(call_result) > MAX_RESULT_LENGTH:
        del result.values[CALL_RESULT.name]
        result.problems.append(
            Violation(CALL_RESULT.name, f"is longer than {MAX_RESULT_LENGTH} characters")
        )
    if date_text:
        try:
            result.values[CALL_DATE.name] = pacific_to_utc(date_text).isoformat()
        except ValueError as exc:
            result.problems.append(Violation(CALL_DATE.name, f"{date_text!r} {exc}"))
    return result


def pacific_to_utc(text: str) -> datetime:
    """A posted date and time, read in Pacific time unless it carries its own offset, in UTC."""
    moment = parse_datetime(text)  # a time without an offset comes back marked UTC
    if not _has_offset(text):
        moment = moment.replace(tzinfo=PACIFIC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 12/31/9999 11:59 PM Pacific is in the year 10000 in UTC
        raise ValueError("is out of range in UTC") from None


def _has_offset(text: str) -> bool:
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False  # the US forms carry no offset


def criteria_values(stored: Mapping[str, object]) -> dict[str, Value]:
    """The typed values of a lead's stored call data, for screening criteria alongside its
    fields: the forms `clean_lead_values` gives (an int, a str, an ISO 8601 UTC string).

    Pseudo-fields not stored are absent; other keys and unreadable values are left out, so a
    criterion on them fails as on a missing field.
    """
    values: dict[str, Value] = {}
    for spec in CALL_FIELDS:
        raw = stored.get(spec.name)
        if raw is None or isinstance(raw, bool) or not isinstance(raw, int | str):
            continue
        try:
            values[spec.name] = coerce(spec.data_type, str(raw))
        except ValueError:
            continue
    return values


def criteria_fields(fields: Iterable[FieldSpec]) -> dict[str, FieldSpec]:
    """What delivery account criteria may name, keyed by case-folded name: the lead type's
    fields and the call data pseudo-fields (a lead field of the same name wins)."""
    found = {spec.name.casefold(): spec for spec in CALL_FIELDS}
    found.update((spec.name.casefold(), spec) for spec in fields)
    return found


def screening_values(
    fields: Mapping[str, Value], call_data: Mapping[str, object]
) -> dict[str, Value]:
    """A lead's values as criteria read them, keyed by case-folded name: its call data
    under its fields (a lead field of the same name wins)."""
    found = {name.casefold(): value for name, value in criteria_values(call_data).items()}
    found.update((name.casefold(), value) for name, value in fields.items())
    return found
