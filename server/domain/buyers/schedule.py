"""Delivery schedules, reckoned in the buyer's time zone.

A schedule is a set of weekly windows (`DayWindow`): on `weekday` (Monday=0 .. Sunday=6) the
delivery method may send from `start` (inclusive) to `end` (exclusive), local wall-clock time.
An end of 23:59:59 or later (`END_OF_DAY`, written `24:00`) runs to local midnight. A window
never crosses midnight; an overnight schedule is two windows. No windows means always open.

Local time is always derived from the UTC instant with zoneinfo, so DST needs no special cases:
a window whose wall-clock hours are skipped on a spring-forward day is open for less real time
(or not at all), and one spanning the repeated hour of a fall-back day is open for longer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from itertools import chain, pairwise
from zoneinfo import ZoneInfo

from server.domain.local_time import occurrences, transitions, utc
from server.errors import Violation

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
END_OF_DAY = time.max
# Any end at or after this second means "until midnight"; the parser writes END_OF_DAY.
_MIDNIGHT = time(23, 59, 59)
# How far next_open looks ahead: a week, plus a week for a window skipped by a DST jump.
_HORIZON = timedelta(days=15)
_STEP = timedelta(hours=1)
_CHUNK = timedelta(days=1)
_CLOCK = r"(\d{1,2}):(\d{2})(?::(\d{2}))?"
_WINDOW = re.compile(rf"\s*([A-Za-z]+)\.?\s+{_CLOCK}\s*-\s*{_CLOCK}\s*", re.ASCII)


@dataclass(frozen=True)
class DayWindow:
    """Allowed delivery hours on one weekday, in the buyer's time zone; `end` is exclusive."""

    weekday: int
    start: time
    end: time

    def covers(self, weekday: int, clock: time) -> bool:
        """Whether a local weekday and naive wall-clock time fall inside this window."""
        return (
            weekday == self.weekday
            and self.start <= clock
            and (clock < self.end or self.end >= _MIDNIGHT)
        )


def parse_window(text: str) -> DayWindow:
    """`Mon 09:00-17:00`: a day name (or its first three letters) and two HH:MM[:SS] times.

    `24:00` is accepted as an end and means the end of the day. The window is not validated
    (see `validate_windows`); malformed text raises ValueError.
    """
    match = _WINDOW.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a window like 'Mon 09:00-17:00'")
    day = match[1].casefold()
    weekday = next(
        (i for i, name in enumerate(WEEKDAYS) if day in (name.casefold(), name[:3].casefold())),
        None,
    )
    if weekday is None:
        raise ValueError(f"{match[1]!r} is not a day of the week")
    start = _clock(match[2], match[3], match[4], text, may_end_day=False)
    end = _clock(match[5], match[6], match[7], text, may_end_day=True)
    return DayWindow(weekday, start, end)


def _clock(hours: str, minutes: str, seconds: str | None, text: str, may_end_day: bool) -> time:
    h, m, s = int(hours), int(minutes), int(seconds or 0)
    if may_end_day and (h, m, s) == (24, 0, 0):
        return END_OF_DAY
    if h > 23 or m > 59 or s > 59:
        raise ValueError(f"{text!r} has a time that is not on the clock")
    return time(h, m, s)


def format_window(window: DayWindow) -> str:
    """The window as `parse_window` reads it, e.g. `Mon 09:00-24:00`."""
    if 0 <= window.weekday < len(WEEKDAYS):
        day = WEEKDAYS[window.weekday][:3]
    else:
        day = f"day {window.weekday}"
    end = "24:00" if window.end >= _MIDNIGHT else _format_clock(window.end)
    return f"{day} {_format_clock(window.start)}-{end}"


def _format_clock(clock: time) -> str:
    text = f"{clock.hour:02d}:{clock.minute:02d}"
    return f"{text}:{clock.second:02d}" if clock.second else text


def validate_windows(windows: Sequence[DayWindow], where: str) -> list[Violation]:
    """Problems with a schedule: weekday range, start before end, overlaps on one day."""
    problems: list[Violation] = []
    valid: list[tuple[int, DayWindow]] = []
    for index, window in enumerate(windows):
        path = f"{where}[{index}]"
        if not 0 <= window.weekday <= 6:
            problems.append(Violation(f"{path}.weekday", "must be 0 (Monday) to 6 (Sunday)"))
            continue
        if window.start.tzinfo is not None or window.end.tzinfo is not None:
            problems.append(
                Violation(path, "times are local to the buyer's time zone and carry no zone")
            )
            continue
        if window.start >= window.end:
            problems.append(
                Violation(
                    f"{path}.end",
                    "must be after the start; a window may not cross midnight (use two windows)",
                )
            )
            continue
        valid.append((index, window))
    valid.sort(key=lambda item: (item[1].weekday, item[1].start, item[0]))
    for (before_index, before), (index, window) in pairwise(valid):
        if window.weekday == before.weekday and window.start < before.end:
            problems.append(
                Violation(
                    f"{where}[{index}]",
                    f"{format_window(window)} overlaps {where}[{before_index}] "
                    f"({format_window(before)})",
                )
            )
    return problems


def is_open(windows: Sequence[DayWindow], tz: ZoneInfo, now: datetime) -> bool:
    """Whether the schedule allows delivery at the aware instant `now`; no windows = always."""
    local = utc(now).astimezone(tz)
    return not windows or _open_locally(windows, local)


def _open_locally(windows: Sequence[DayWindow], local: datetime) -> bool:
    weekday, clock = local.weekday(), local.time()
    return any(window.covers(weekday, clock) for window in windows)


def next_open(windows: Sequence[DayWindow], tz: ZoneInfo, now: datetime) -> datetime | None:
    """The first UTC instant at or after `now` when the schedule is open.

    `now` itself when open (or when there are no windows); None when no window opens within
    the next 15 days, which only happens when every window is invalid.
    """
    start = utc(now)
    if is_open(windows, tz, start):
        return start
    # The schedule can only open where the local clock passes a window's start, or where it
    # jumps (a DST transition) into the middle of a window. Look a day at a time.
    end = start + _HORIZON
    first_day = start.astimezone(tz).date()
    starts = [
        instant
        for offset in range(-1, _HORIZON.days + 2)
        for day in [first_day + timedelta(days=offset)]
        for window in windows
        if window.weekday == day.weekday()
        for instant in occurrences(datetime.combine(day, window.start), tz)
    ]
    low = start
    while low < end:
        high = min(low + _CHUNK, end)
        found = chain((s for s in starts if low <= s < high), transitions(tz, low, high))
        for candidate in sorted(c for c in found if low <= c < high):
            if _open_locally(windows, candidate.astimezone(tz)):
                return candidate
        low = high
    return None
