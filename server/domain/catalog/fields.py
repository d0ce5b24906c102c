"""Lead fields: their definitions, and the cleaning and validation of posted values.

Pure functions over plain data; the receiver runs `clean_lead_values` on every posted lead.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from server.errors import Violation

FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
LAYOUT = ("col_span", "width", "height")  # a field's layout in detail views, whole numbers
MAX_DIGITS = 40  # of a Money or Decimal value, before and after the point
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on", "t"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "off", "f"})
DATETIME_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%Y%m%d",
)


class DataType(enum.IntEnum):
    """LeadExec DataType; values are LeadExec's (and the proto's) numbers."""

    No_DataType = 0
    Int = 1
    Bigint = 2
    Bit = 3
    Money = 4
    Decimal = 5
    Float = 6
    DateTime = 7
    Varchar = 8


class SpecialField(enum.IntEnum):
    """LeadExec LeadFieldSpecialBit: which system meaning a field carries."""

    No_SpecialBit = 0
    FirstName = 1
    LastName = 2
    Email = 3
    PrimaryPhone = 4
    Address = 5
    City = 6
    State = 7
    Zip = 8
    MobilePhone = 9
    IPAddress = 10
    DirectTrackAffiliateID = 11
    DirectTrackCampaignID = 12
    ClientSendNotes = 13
    IndexDate = 14
    Address2 = 15
    SubSource = 16
    ForceID = 17
    SubSourceCategory = 18
    SubCategory = 19
    StandardAddress = 20
    StandardCity = 21
    StandardState = 22
    StandardZip = 23
    Comments = 24
    Country = 25
    MobileCheck = 26
    ContactConsent = 27
    OrigFirstName = 28
    OrigLastName = 29
    OrigAddress = 30
    OrigCity = 31
    OrigState = 32
    OrigPostalCode = 33
    OrigCountry = 34
    OrigPhoneNumber = 35
    IPLat = 36
    IPLong = 37
    OrigIP = 38
    ConsentText = 39
    Status = 40
    LastAction = 41
    CurrentWorkflow = 42
    DateClosed = 43
    PipelineOneTimeFees = 44
    PipelineRecurringFees = 45


# How to reach the consumer: names, email, phones and street address lines. What an inbound
# ping need not carry and is never stored from it, and what a ping to a buyer never sends.
# City, state, ZIP and country stay eligibility fields: criteria and schedules select on them.
CONTACT_SPECIALS = frozenset(
    {
        SpecialField.FirstName,
        SpecialField.LastName,
        SpecialField.Email,
        SpecialField.PrimaryPhone,
        SpecialField.MobilePhone,
        SpecialField.Address,
        SpecialField.Address2,
        SpecialField.StandardAddress,
        SpecialField.OrigFirstName,
        SpecialField.OrigLastName,
        SpecialField.OrigAddress,
        SpecialField.OrigPhoneNumber,
    }
)

E = TypeVar("E", bound=enum.Enum)


def enum_by_name(kind: type[E], name: str) -> E | None:
    """The member of `kind` whose name equals `name` ignoring case, or None."""
    folded = name.casefold()
    for member in kind:
        if member.name.casefold() == folded:
            return member
    return None


@dataclass(frozen=True)
class FieldSpec:
    """The definition of one lead field, as stored and as posted against."""

    name: str
    data_type: DataType = DataType.Varchar
    required: bool = False
    validation: str = ""
    invalid_chars: str = ""
    enumerations: tuple[str, ...] = ()
    format_string: str = ""
    special: SpecialField = SpecialField.No_SpecialBit
    description: str = ""
    duplicate_check: bool = False
    id: int = 0
    # how detail views lay the field out (LeadExec's ColSpan, Width, Height); 0 = the default
    col_span: int = 0
    width: int = 0
    height: int = 0
    # a computed field's expression (LeadExec's ComputedExpr, computed.py); "" = posted
    computed: str = ""


Value = int | bool | str | float | None


def coerce(data_type: DataType, text: str) -> Value:
    """Convert a cleaned, non-empty posted string to the field's type; ValueError says why not."""
    if data_type in (DataType.Int, DataType.Bigint):
        low, high = INT32 if data_type is DataType.Int else INT64
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError("must be a whole number")
        if len(text.lstrip("+-0")) > 19:  # past int()'s 4,300-digit limit, its own words
            raise ValueError(f"must be between {low} and {high}")
        number = int(text)
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}")
        return number
    if data_type is DataType.Bit:
        word = text.casefold()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError("must be 1/0, true/false or yes/no")
    if data_type in (DataType.Money, DataType.Decimal):
        try:
            amount = Decimal(text.replace(",", "").removeprefix("$"))
        except InvalidOperation:
            raise ValueError("must be a number") from None
        if not amount.is_finite():
            raise ValueError("must be a finite number")
        exponent = amount.as_tuple().exponent
        too_small = isinstance(exponent, int) and exponent < -MAX_DIGITS
        if too_small or (amount and amount.adjusted() >= MAX_DIGITS):
            # written out, 1e999999999 takes a gigabyte
            raise ValueError(f"must have at most {MAX_DIGITS} digits before and after the point")
        return f"{amount:f}"
    if data_type is DataType.Float:
        try:
            real = float(text)
        except ValueError:
            raise ValueError("must be a number") from None
        if not math.isfinite(real):
            raise ValueError("must be a finite number")
        return real
    if data_type is DataType.DateTime:
        return parse_datetime(text).isoformat()
    return text


def parse_datetime(text: str) -> datetime:
    """ISO 8601 or the US forms LeadExec sources send (MM/DD/YYYY[ hh:mm[:ss][ AM]])."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        for pattern in DATETIME_FORMATS:
            try:
                moment = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
        else:
            raise ValueError("must be a date such as 2026-11-22 or 11/22/2026 14:30") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def validate_field_specs(specs: Sequence[FieldSpec], path: str = "fields") -> list[Violation]:
    """Every problem with a lead type's field list: names, regexes, enumerations, specials."""
    problems: list[Violation] = []
    seen_names: dict[str, int] = {}
    seen_specials: dict[SpecialField, int] = {}
    for index, spec in enumerate(specs):
        where = f"{path}[{index}]"
        problems.extend(validate_field_spec(spec, where))
        folded = spec.name.casefold()
        if folded in seen_names:
            problems.append(
                Violation(f"{where}.name", f"duplicates {path}[{seen_names[folded]}] ({spec.name})")
            )
        seen_names.setdefault(folded, index)
        if spec.special is not SpecialField.No_SpecialBit:
            if spec.special in seen_specials:
                other = seen_specials[spec.special]
                problems.append(
                    Violation(
                        f"{where}.special",
                        f"{spec.special.name} is already the special of {path}[{other}]",
                    )
                )
            seen_specials.setdefault(spec.special, index)
    return problems


def validate_field_spec(spec: FieldSpec, where: str = "field") -> list[Violation]:
    """Problems with one field definition taken alone."""
    problems: list[Violation] = []
    if not FIELD_NAME.fullmatch(spec.name):
        problems.append(
            Violation(
                f"{where}.name",
                f"{spec.name!r} is not a valid field name (a letter or _, then letters, digits"
                " or _, at most 64)",
            )
        )
    if spec.data_type is DataType.No_DataType:
        problems.append(Violation(f"{where}.type", "a data type is required"))
    for attribute in LAYOUT:
        if not 0 <= getattr(spec, attribute) <= INT32[1]:
            problems.append(Violation(f"{where}.{attribute}", f"must be 0 to {INT32[1]}"))
    for attribute in ("validation", "invalid_chars"):
        pattern = getattr(spec, attribute)
        if pattern:
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.append(Violation(f"{where}.{attribute}", f"bad regular expression: {exc}"))
    seen: set[str] = set()
    for index, value in enumerate(spec.enumerations):
        if value.casefold() in seen:
            problems.append(Violation(f"{where}.enumerations[{index}]", f"{value!r} is repeated"))
        seen.add(value.casefold())
        if not value.strip():
            problems.append(Violation(f"{where}.enumerations[{index}]", "must not be empty"))
        elif spec.data_type is not DataType.No_DataType:
            try:
                coerce(spec.data_type, value)
            except ValueError as exc:
                problems.append(Violation(f"{where}.enumerations[{index}]", f"{value!r} {exc}"))
    return problems


NUL = "\x00"


@dataclass
class CleanedLead:
    """The outcome of cleaning a posted lead: typed values, unknown extras and every problem."""

    values: dict[str, Value] = field(default_factory=dict)
    extras: dict[str, str] = field(default_factory=dict)
    problems: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def clean_lead_values(specs: Iterable[FieldSpec], posted: Mapping[str, str]) -> CleanedLead:
    """Apply each field's rules to the posted values, in LeadExec's order.

    Names match case-insensitively. For each field: remove invalid characters, then check
    required, coerce to the data type, match the validation expression and the enumerated
    values. Every failing field is reported, not only the first. Computed fields are left out
    (computed.py), and a value posted for one is dropped.
    """
    result = CleanedLead()
    held = [name for name, value in posted.items() if NUL in name or NUL in value]
    for name in held:  # PostgreSQL text cannot hold NUL: such a lead could not be stored
        result.problems.append(Violation(name.replace(NUL, "\\x00"), "holds a NUL character"))
    known: set[str] = {name.casefold() for name in held}
    by_name = {name.casefold(): value for name, value in posted.items() if name not in held}
    for spec in specs:
        key = spec.name.casefold()
        if key in known:  # held NUL: reported above
            continue
        known.add(key)
        if spec.computed:  # worked out, not posted (computed.py): a posted value is ignored
            continue
        raw = by_name.get(key)
        text = (raw or "").strip()
        if text and spec.invalid_chars:
            text = re.sub(spec.invalid_chars, "", text)
        if not text:
            if spec.required:
                result.problems.append(Violation(spec.name, "is required"))
            continue
        try:
            value = coerce(spec.data_type, text)
        except ValueError as exc:
            result.problems.append(Violation(spec.name, f"{text!r} {exc}"))
            continue
        if spec.validation and not re.search(spec.validation, text):
            result.problems.append(Violation(spec.name, f"{text!r} fails validation"))
            continue
        if spec.enumerations:
            canonical = _enumerated(spec, text)
            if canonical is None:
                allowed = ", ".join(spec.enumerations)
                result.problems.append(Violation(spec.name, f"{text!r} is not one of: {allowed}"))
                continue
            if isinstance(value, str) and spec.data_type is DataType.Varchar:
                value = canonical
        result.values[spec.name] = value
    for name, value in posted.items():
        if name.casefold() not in known:
            result.extras[name] = value
    return result


def _enumerated(spec: FieldSpec, text: str) -> str | None:
    """The allowed value `text` names (ignoring case), or None."""
    folded = text.casefold()
    return next((allowed for allowed in spec.enumerations if allowed.casefold() == folded), None)


def field_named(
    field_id: int, name: str, fields: Sequence[FieldSpec], path: str
) -> tuple[str, Violation | None]:
    """The name of the field a rule or criterion names by id (LeadExec's LeadFieldUID), or
    `name` when it gives none. An id that is no field of the lead type, or that names
    another field than `name`, is a violation at `path`."""
    if not field_id:
        return name, None
    found = next((f.name for f in fields if f.id == field_id), None)
    if found is None:
        return name, Violation(path, f"no field {field_id} in the lead type")
    if name and name.casefold() != found.casefold():
        return name, Violation(path, f"names field {found!r}, not {name!r}")
    return found, None
