"""Screening a lead against thousands of delivery accounts at once.

`DeliveryAccountIndex` is built once from a lead type's cached delivery accounts
(`DeliveryAccountView`s). Its `screen(values, context, automated_only=...)` gives exactly what
`screen` gives account by account: the same accounts eligible, the same reason for every
other one, in the same order. It does not test the accounts one by one:

- what does not depend on the lead (buyer not Active, account or delivery method disabled,
  automation off) is worked out when the index is built;
- each distinct schedule (time zone and windows) is opened once per lead;
- Equal/In and NotEqual/NotIn criteria are indexed by the values they name: the lead's value
  is looked up once per field, which rejects every account whose list excludes it;
- Distance_Compare criteria are grouped by centre ZIP and measured once per centre; when the
  context can locate ZIPs, centres too far north or south for any radius are not measured;
- any other criterion is tested once per lead for all the accounts sharing it (once per time
  zone for dates, expressions and functions, which depend on the buyer's zone).

A set of accounts is an int whose bit `i` stands for `views[i]`, so combining outcomes takes a
few big-integer operations rather than a call per account. Only the eligible accounts become a
list (`Screening.passing`); why the others were passed over is worked out when it is asked for
(`Screening.reasons`, or reading a `Screened`), from the outcomes already found.

When testing a criterion, a schedule or a ZIP lookup raises (a lead value not of its field's
type, say), the index screens that lead account by account, so it fails, or not, exactly as
`screen` does.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress
from typing import Final, overload
from zoneinfo import ZoneInfo

from server.domain.buyers.schedule import DayWindow, is_open
from server.domain.catalog.fields import FieldSpec, Value
from server.domain.matching.criteria import (
    MIN_EARTH_RADIUS_MILES,
    Check,
    EvalContext,
    Membership,
    Radius,
    describe_value,
    distance_failure,
    lead_zip,
    membership_key,
)
from server.domain.matching.eligibility import (
    CRITERIA_FAILED,
    SCHEDULE_CLOSED,
    DeliveryAccountView,
    Screened,
    screen,
    standing,
)

Locate = Callable[[str], tuple[float, float] | None]

_BITS: Final = bytes.maketrans(b"01", b"\x00\x01")
# Centres are ruled out beyond the largest radius plus this margin (for rounding).
_MARGIN_MILES: Final = 1.0
_MISSING: Final = object()  # a lead's missing value, where a membership key is kept


class _Unscreenable(Exception):
    """A criterion, schedule or ZIP lookup raised on this lead: `screen` decides, account by
    account, whether that is an error (it only tests what it reaches)."""


@dataclass
class _Slot:
    """The n-th Equal/In (or NotEqual/NotIn) criterion on one field of every account that has
    n of them: per value, the accounts naming it."""

    members: int = 0
    naming: dict[Hashable, int] = field(default_factory=dict)


@dataclass
class _Field:
    """The Equal/In and NotEqual/NotIn criteria on one field."""

    spec: FieldSpec
    takes: list[_Slot] = field(default_factory=list)  # Equal/In
    refuses: list[_Slot] = field(default_factory=list)  # NotEqual/NotIn
    positives: int = 0  # accounts with an Equal/In criterion: all fail a missing value

    def add(self, membership: Membership, bit: int, earlier: int) -> None:
        """Index an account's criterion, which has `earlier` ones of its kind on this field."""
        slots = self.refuses if membership.excludes else self.takes
        if earlier == len(slots):
            slots.append(_Slot())
        slot = slots[earlier]
        slot.members |= bit
        for key in membership.keys:
            slot.naming[key] = slot.naming.get(key, 0) | bit
        if not membership.excludes:
            self.positives |= bit

    def failing(self, key: Hashable, slot: tuple[bool, int]) -> int:
        """The accounts failing one slot's criterion for a lead value with this key."""
        excludes, number = slot
        if excludes:
            return 0 if key is _MISSING else self.refuses[number].naming.get(key, 0)
        taking = self.takes[number]
        return taking.members if key is _MISSING else taking.members ^ taking.naming.get(key, 0)


@dataclass
class _Centre:
    """The n-th Distance_Compare criterion of accounts, on one field, around one centre."""

    key: str  # the field, casefolded
    centre: str
    slot: int  # n
    by_limit: dict[float, int] = field(default_factory=dict)
    limits: list[float] = field(default_factory=list)  # ascending
    within: list[int] = field(default_factory=list)  # within[i]: accounts allowing limits[i]

    def seal(self) -> None:
        self.limits = sorted(self.by_limit)
        self.within = [0]
        for limit in reversed(self.limits):
            self.within.append(self.within[-1] | self.by_limit[limit])
        self.within.reverse()

    def passing(self, distance: float) -> int:
        """The accounts whose radius takes a lead this many miles away."""
        if distance != distance:  # NaN is within no radius
            return 0
        return self.within[bisect_left(self.limits, distance)]


@dataclass
class _Band:
    """One field's centres by latitude, as one `locate` places them."""

    locate: Locate
    latitudes: list[float]  # ascending
    longitudes: list[float]  # in that order
    centres: list[int]  # centre numbers, in that order
    unplaced: list[int]  # centres it cannot place: always measured
    reach: float  # the largest radius, plus a margin, as an angle (radians) on the sphere

    def near(self, latitude: float, longitude: float) -> list[int]:
        """The centres that may lie within `reach` of a place: a great-circle distance is at
        least the angle between the latitudes, and at least 2 asin(cos(φ) sin(Δλ / 2)) where
        φ is the largest latitude of the two, north or south."""
        degrees = math.degrees(self.reach)
        low = bisect_left(self.latitudes, latitude - degrees)
        high = bisect_right(self.latitudes, latitude + degrees)
        centres = self.centres[low:high]
        polar = abs(latitude) + degrees
        if polar >= 90.0:
            return centres + self.unplaced
        ratio = math.sin(self.reach / 2) / math.cos(math.radians(polar))
        if ratio >= 1.0:
            return centres + self.unplaced
        span = math.degrees(2 * math.asin(ratio))
        return [
            number
            for number, east in zip(centres, self.longitudes[low:high], strict=True)
            if abs((east - longitude + 180.0) % 360.0 - 180.0) <= span
        ] + self.unplaced


@dataclass
class _Shared:
    """One criterion (by `Check.key`), in one time zone when it depends on it."""

    check: Check
    tz: ZoneInfo | None
    members: int = 0


# How each criterion of an account is found among a lead's outcomes: (kind, number, check).
_MEMBER, _RADIUS, _SHARED = 0, 1, 2
_Step = tuple[int, int, Check]
_Group = tuple[int, bool, int]  # an Equal/In or NotEqual/NotIn slot: (field, excludes, slot)


@dataclass
class _Outcomes:
    """What screening one lead found, kept to explain failures when asked."""

    values: Mapping[str, Value]
    context: EvalContext
    keys: list[object]  # per field: the lead's membership key, or _MISSING
    zips: dict[str, str | None]  # per Distance_Compare field: the lead's ZIP
    distances: dict[int, float | None]  # per centre measured
    passed: list[bool]  # per shared criterion
    contexts: dict[ZoneInfo, EvalContext] = field(default_factory=dict)

    def zoned(self, tz: ZoneInfo | None) -> EvalContext:
        if tz is None:
            return self.context
        found = self.contexts.get(tz)
        if found is None:
            found = EvalContext(
                self.context.now, tz, self.context.distance_miles, self.context.locate
            )
            self.contexts[tz] = found
        return found


class DeliveryAccountIndex:
    """A lead type's delivery accounts, indexed for screening leads (see the module doc).

    Its accounts are fixed: build a new index when they change.
    """

    def __init__(self, views: Sequence[DeliveryAccountView]) -> None:
        self.views: tuple[DeliveryAccountView, ...] = tuple(views)
        self._count = len(self.views)
        self._all = (1 << self._count) - 1
        self._backwards = tuple(range(self._count - 1, -1, -1))
        self._reversed_views = self.views[::-1]
        self._standing = {
            automated: [standing(v, automated_only=automated) for v in self.views]
            for automated in (True, False)
        }
        self._refused = {
            automated: _mask(i for i, reason in enumerate(reasons) if reason)
            for automated, reasons in self._standing.items()
        }
        self._fields: list[_Field] = []
        self._centres: list[_Centre] = []
        self._radius_slots: list[int] = []  # per n: the accounts with n Distance_Compare
        self._shared: list[_Shared] = []
        self._steps: list[tuple[_Step, ...]] = []
        self._bands: dict[str, _Band] = {}  # per field, for the last `locate` seen
        # Accounts whose criteria begin with Equal/In or NotEqual/NotIn ones, for explaining
        # failures a field at a time: per step n, the accounts whose first n + 1 criteria are,
        # by the (n+1)th's (field number, excludes, slot number); and per step n, per account,
        # its failure text (" not in CA,OR").
        self._leading: list[dict[_Group, int]] = []
        self._tails: list[list[str]] = []
        schedules: dict[tuple[ZoneInfo, tuple[DayWindow, ...]], int] = {}
        numbers: dict[Hashable, int] = {}  # each field, centre and shared criterion's number
        for position, view in enumerate(self.views):
            bit = 1 << position
            if view.windows:
                schedule = (view.tz, tuple(view.windows))
                schedules[schedule] = schedules.get(schedule, 0) | bit
            self._steps.append(self._index(view, position, numbers))
        self._schedules = list(schedules.items())
        self._centres_by_field: dict[str, list[int]] = {}
        for number, centre in enumerate(self._centres):
            centre.seal()
            self._centres_by_field.setdefault(centre.key, []).append(number)

    def _index(
        self, view: DeliveryAccountView, position: int, numbers: dict[Hashable, int]
    ) -> tuple[_Step, ...]:
        """Add one account's criteria to the index: the steps to find their outcomes."""
        bit = 1 << position
        steps: list[_Step] = []
        earlier: dict[tuple[int, bool], int] = {}  # criteria of this account per field and kind
        radii = 0
        leading = True  # no criterion but Equal/In or NotEqual/NotIn so far
        for check in view.criteria.checks:
            membership, radius = check.membership, check.radius
            leading = leading and membership is not None
            if membership is not None:
                number = numbers.setdefault(("field", membership.spec), len(self._fields))
                if number == len(self._fields):
                    self._fields.append(_Field(membership.spec))
                kind = (number, membership.excludes)
                slot = earlier[kind] = earlier.get(kind, -1) + 1
                self._fields[number].add(membership, bit, slot)
                if leading:
                    group = (number, membership.excludes, slot)
                    self._lead_with(len(steps), group, position, membership.failure)
                steps.append((_MEMBER, number, check))
            elif radius is not None:
                where = ("centre", radius.field, radius.centre, radii)
                number = numbers.setdefault(where, len(self._centres))
                if number == len(self._centres):
                    self._centres.append(_Centre(radius.field, radius.centre, radii))
                centre = self._centres[number]
                centre.by_limit[radius.miles] = centre.by_limit.get(radius.miles, 0) | bit
                if radii == len(self._radius_slots):
                    self._radius_slots.append(0)
                self._radius_slots[radii] |= bit
                radii += 1
                steps.append((_RADIUS, number, check))
            else:
                tz = view.tz if check.zoned else None
                number = numbers.setdefault(("shared", check.key, tz), len(self._shared))
                if number == len(self._shared):
                    self._shared.append(_Shared(check, tz))
                self._shared[number].members |= bit
                steps.append((_SHARED, number, check))
        return tuple(steps)

    def _lead_with(self, step: int, group: _Group, position: int, failure: str) -> None:
        if step == len(self._leading):
            self._leading.append({})
            self._tails.append([""] * self._count)
        groups = self._leading[step]
        groups[group] = groups.get(group, 0) | 1 << position
        self._tails[step][position] = " " + failure

    def __len__(self) -> int:
        return self._count

    def screen(
        self, values: Mapping[str, Value], context: EvalContext, *, automated_only: bool = True
    ) -> Screening:
        """Every account screened for a lead, as `[screen(v, values, context,
        automated_only=...) for v in views]`; `values` are keyed by casefolded field name."""
        refused = self._refused[automated_only]
        try:
            closed = self._closed(context) & ~refused
            failed, outcomes = self._failed(values, context)
        except _Unscreenable:
            plain = [screen(v, values, context, automated_only=automated_only) for v in self.views]
            return Screening(self, 0, [s.reason for s in plain])
        eligible = self._all & ~(refused | closed | failed)
        failed &= ~(refused | closed)  # the reason is the first check failed
        reasons = _Reasons(self, self._standing[automated_only], closed, failed)
        return Screening(self, eligible, reasons, outcomes)

    def check(
        self,
        view: DeliveryAccountView,
        values: Mapping[str, Value],
        context: EvalContext,
        *,
        automated_only: bool = True,
    ) -> Screened:
        """One account screened, as `screen` does it (for re-checking a planned send)."""
        return screen(view, values, context, automated_only=automated_only)

    # -- one lead

    def _closed(self, context: EvalContext) -> int:
        closed = 0
        for (tz, windows), members in self._schedules:
            try:
                shut = not is_open(windows, tz, context.now)
            except Exception as exc:
                raise _Unscreenable from exc
            if shut:
                closed |= members
        return closed

    def _failed(self, values: Mapping[str, Value], context: EvalContext) -> tuple[int, _Outcomes]:
        """The accounts whose criteria the lead fails, and what was found on the way."""
        failed = 0
        keys: list[object] = []
        for index in self._fields:
            value = values.get(index.spec.name.casefold())
            if value is None:
                keys.append(_MISSING)
                failed |= index.positives
                continue
            try:
                key = membership_key(index.spec.data_type, value)
            except Exception as exc:  # a value not of the field's type
                raise _Unscreenable from exc
            keys.append(key)
            for taking in index.takes:
                failed |= taking.members ^ taking.naming.get(key, 0)
            for refusing in index.refuses:
                failed |= refusing.naming.get(key, 0)
        outcomes = _Outcomes(values, context, keys, {}, {}, [])
        if self._centres:
            failed |= self._far(outcomes)
        for criterion in self._shared:
            try:
                passed = criterion.check.passes(values, outcomes.zoned(criterion.tz))
            except Exception as exc:
                raise _Unscreenable from exc
            outcomes.passed.append(passed)
            if not passed:
                failed |= criterion.members
        return failed, outcomes

    def _far(self, outcomes: _Outcomes) -> int:
        """The accounts whose Distance_Compare criteria the lead fails."""
        passing = [0] * len(self._radius_slots)
        measure = outcomes.context.distance_miles
        for name, centres in self._centres_by_field.items():
            value = outcomes.values.get(name)
            zip_code = outcomes.zips[name] = None if value is None else lead_zip(value)
            if zip_code is None:
                continue
            for number in self._near(name, centres, zip_code, outcomes.context.locate):
                centre = self._centres[number]
                try:
                    distance = measure(zip_code, centre.centre)
                except Exception as exc:
                    raise _Unscreenable from exc
                outcomes.distances[number] = distance
                if distance is not None:
                    passing[centre.slot] |= centre.passing(distance)
        far = 0
        for members, near in zip(self._radius_slots, passing, strict=True):
            far |= members & ~near
        return far

    def _near(
        self, name: str, centres: list[int], zip_code: str, locate: Locate | None
    ) -> Sequence[int]:
        """Those of `centres` (on field `name`) that may lie within a radius of `zip_code`."""
        if locate is None:
            return centres
        band = self._bands.get(name)
        if band is None or band.locate is not locate:
            band = self._bands[name] = self._band(centres, locate)
        try:
            place = locate(zip_code)
        except Exception as exc:
            raise _Unscreenable from exc
        if place is None:
            return band.centres + band.unplaced
        return band.near(*place)

    def _band(self, centres: list[int], locate: Locate) -> _Band:
        placed: list[tuple[float, float, int]] = []
        unplaced: list[int] = []
        reach = 0.0
        for number in centres:
            centre = self._centres[number]
            reach = max(reach, centre.limits[-1])
            try:
                place = locate(centre.centre)
            except Exception as exc:
                raise _Unscreenable from exc
            if place is None:
                unplaced.append(number)
            else:
                placed.append((*place, number))
        placed.sort()
        return _Band(
            locate,
            [north for north, _, _ in placed],
            [east for _, east, _ in placed],
            [number for _, _, number in placed],
            unplaced,
            (reach + _MARGIN_MILES) / MIN_EARTH_RADIUS_MILES,
        )

    # -- sets of accounts

    def _members(self, mask: int) -> list[int]:
        """The positions of the accounts in `mask`, ascending."""
        found = list(compress(self._backwards, self._selectors(mask)))
        found.reverse()
        return found

    def _eligible(self, mask: int) -> list[DeliveryAccountView]:
        found = list(compress(self._reversed_views, self._selectors(mask)))
        found.reverse()
        return found

    def _selectors(self, mask: int) -> bytes:
        """One byte per account, last account first: 1 when it is in `mask`."""
        return format(mask, f"0{self._count}b").encode("ascii").translate(_BITS)

    # -- reasons

    def _explain(self, failed: int, outcomes: _Outcomes, reasons: list[str]) -> None:
        """Write why each account in `failed` failed its criteria: its first failing one."""
        heads: dict[int, str] = {}  # per field: "criteria failed: State=NV"
        keys = outcomes.keys
        # Most accounts fail an Equal/In criterion they begin with: a field at a time.
        for step, groups in enumerate(self._leading):
            tails = self._tails[step]
            for (number, excludes, slot), members in groups.items():
                candidates = members & failed
                if not candidates:
                    continue
                key = keys[number]
                refused = candidates & self._fields[number].failing(key, (excludes, slot))
                if not refused:
                    continue
                failed ^= refused
                head = self._head(number, outcomes, heads)
                if key is _MISSING:
                    for position in self._members(refused):
                        reasons[position] = head
                else:
                    for position in self._members(refused):
                        reasons[position] = head + tails[position]  # as the check words it
        self._explain_each(self._members(failed), outcomes, reasons, heads)

    def _head(self, number: int, outcomes: _Outcomes, heads: dict[int, str]) -> str:
        """`criteria failed: State=NV` (or `... State missing`) for field `number`."""
        head = heads.get(number)
        if head is None:
            spec = self._fields[number].spec
            described = describe_value(spec, outcomes.values.get(spec.name.casefold()))
            head = heads[number] = CRITERIA_FAILED + described
        return head

    def _explain_each(
        self, positions: list[int], outcomes: _Outcomes, reasons: list[str], heads: dict[int, str]
    ) -> None:
        """Write why each account at `positions` failed its criteria, an account at a time."""
        explained: dict[int, str] = {}  # per shared criterion
        keys, passed = outcomes.keys, outcomes.passed
        for position in positions:
            for kind, number, check in self._steps[position]:
                if kind == _MEMBER:
                    membership = check.membership
                    assert membership is not None
                    key = keys[number]
                    if key is _MISSING:
                        if membership.excludes:
                            continue
                    elif (key in membership.keys) is not membership.excludes:
                        continue
                    head = self._head(number, outcomes, heads)
                    # as the check's explain words it
                    reasons[position] = head if key is _MISSING else f"{head} {membership.failure}"
                    break
                if kind == _RADIUS:
                    radius = check.radius
                    assert radius is not None
                    failure = self._radius_failure(radius, number, outcomes)
                    if failure is None:
                        continue
                    reasons[position] = CRITERIA_FAILED + failure
                    break
                if passed[number]:
                    continue
                text = explained.get(number)
                if text is None:
                    tz = self._shared[number].tz
                    text = explained[number] = check.explain(outcomes.values, outcomes.zoned(tz))
                reasons[position] = CRITERIA_FAILED + text
                break
            else:  # cannot happen: every account here failed a criterion; ask it directly
                view = self.views[position]
                reasons[position] = screen(view, outcomes.values, outcomes.context).reason

    def _radius_failure(self, radius: Radius, number: int, outcomes: _Outcomes) -> str | None:
        """Why the lead fails this Distance_Compare criterion, or None when it passes."""
        zip_code = outcomes.zips.get(radius.field)
        if zip_code is None:
            return distance_failure(radius, None, None)
        if number in outcomes.distances:
            distance = outcomes.distances[number]
        else:  # ruled out by latitude, not measured
            distance = outcomes.context.distance_miles(zip_code, radius.centre)
            outcomes.distances[number] = distance
        if distance is not None and distance <= radius.miles:
            return None
        return distance_failure(radius, zip_code, distance)


@dataclass
class _Reasons:
    """What is needed to say why accounts were passed over, once asked."""

    index: DeliveryAccountIndex
    standing: list[str]  # per account, lead-independent
    closed: int
    failed: int  # accounts failing their criteria, neither refused nor closed


class Screening(Sequence[Screened]):
    """A lead screened against every account of an index, in the index's order.

    `passing` are the accounts that may take the lead (before caps and earlier sales);
    `reasons()` says why each account was passed over ('' for a passing one). Read as a
    sequence, it gives each account's `Screened`, as `screen` does.
    """

    def __init__(
        self,
        index: DeliveryAccountIndex,
        eligible: int,
        reasons: _Reasons | list[str],
        outcomes: _Outcomes | None = None,
    ) -> None:
        self.views = index.views
        self._reasons = reasons
        self._outcomes = outcomes
        if isinstance(reasons, list):
            self.passing = [v for v, reason in zip(index.views, reasons, strict=True) if not reason]
        else:
            self.passing = index._eligible(eligible)

    def reasons(self) -> Sequence[str]:
        """Why each account was passed over, in the index's order ('' when it passes); worked
        out on the first call, then shared (not to be changed)."""
        if not isinstance(self._reasons, list):
            found, index = self._reasons, self._reasons.index
            assert self._outcomes is not None
            reasons = list(found.standing)
            for position in index._members(found.closed):
                reasons[position] = SCHEDULE_CLOSED
            index._explain(found.failed, self._outcomes, reasons)
            self._reasons = reasons
        return self._reasons

    def __len__(self) -> int:
        return len(self.views)

    @overload
    def __getitem__(self, item: int) -> Screened: ...

    @overload
    def __getitem__(self, item: slice) -> list[Screened]: ...

    def __getitem__(self, item: int | slice) -> Screened | list[Screened]:
        if isinstance(item, slice):
            views, reasons = self.views[item], self.reasons()[item]
            return [Screened(v, r) for v, r in zip(views, reasons, strict=True)]
        return Screened(self.views[item], self.reasons()[item])

    def __iter__(self) -> Iterator[Screened]:
        return map(Screened, self.views, self.reasons())


def _mask(positions: Iterator[int]) -> int:
    mask = 0
    for position in positions:
        mask |= 1 << position
    return mask
