"""Local wall-clock time reckoned from UTC instants with zoneinfo, so that DST needs no special
cases: the first instant a local time is shown, every instant it is shown (none, one or two),
and where a zone's offset changes. Shared by delivery schedules and cap windows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

_STEP = timedelta(hours=1)


def utc(now: datetime) -> datetime:
    """`now` in UTC; ValueError for a naive datetime."""
    if now.utcoffset() is None:
        raise ValueError("an aware datetime is required")
    return now.astimezone(UTC)


def wall_clock(instant: datetime, tz: ZoneInfo) -> datetime:
    """What the local clock shows at `instant`, as a naive datetime."""
    return instant.astimezone(tz).replace(tzinfo=None, fold=0)


def occurrences(wall: datetime, tz: ZoneInfo) -> Iterator[datetime]:
    """The UTC instants (none, one, or two on a fall-back) when the local clock shows `wall`."""
    seen: set[datetime] = set()
    for fold in (0, 1):
        instant = wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        if instant not in seen and wall_clock(instant, tz) == wall:
            seen.add(instant)
            yield instant


def local_start(wall: datetime, tz: ZoneInfo) -> datetime:
    """The first instant the local clock shows `wall`, or jumps past it when DST skips it."""
    found = list(occurrences(wall, tz))
    if found:
        return min(found)
    # Skipped: fold=1 resolves with the later offset (before the jump), fold=0 with the
    # earlier one (after it); the jump lies between.
    low, high = sorted(wall.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1))
    return first_second(low, high, lambda instant: wall_clock(instant, tz) >= wall)


def transitions(tz: ZoneInfo, start: datetime, end: datetime) -> Iterator[datetime]:
    """The UTC instants where the zone's offset changes, in the whole UTC hours covering
    `start` to `end` (found to the second; at most one change an hour is seen)."""
    instant = start.replace(minute=0, second=0, microsecond=0)
    offset = instant.astimezone(tz).utcoffset()
    while instant < end:
        following = instant + _STEP
        changed = following.astimezone(tz).utcoffset()
        if changed != offset:
            yield first_second(instant, following, partial(_has_offset, tz, changed))
            offset = changed
        instant = following


def _has_offset(tz: ZoneInfo, offset: timedelta | None, instant: datetime) -> bool:
    return instant.astimezone(tz).utcoffset() == offset


def first_second(low: datetime, high: datetime, reached: Callable[[datetime], bool]) -> datetime:
    """The first whole UTC second in (low, high] where `reached` holds; it holds at high
    and not at low, and once it holds it keeps holding up to high."""
    lo, hi = int(low.timestamp()), int(high.timestamp())
    while hi - lo > 1:
        middle = (lo + hi) // 2
        if reached(datetime.fromtimestamp(middle, UTC)):
            hi = middle
        else:
            lo = middle
    return datetime.fromtimestamp(hi, UTC)
