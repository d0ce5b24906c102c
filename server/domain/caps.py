"""Caps: how many leads a campaign accepts, and how many a delivery account is sent, per local
hour, day and month.

One rule for both. A limit of -1 (NO_LIMIT) is no limit, and 0 allows nothing. What was
counted since each window's start is compared with its limit, month first, so the cap named
is the one that lasts longest, in the same words for both ("day cap 100 reached"). A campaign
counts the leads it accepted (returned ones too, unless it says otherwise); a delivery account
counts its sends that are sold or may still be.

Cap windows are the UTC instants at which the current local hour, day and month began, in the
account's time zone for a campaign and in the buyer's for a delivery account. A local day
starts at its first instant: the earlier midnight when midnight happens twice, and the moment
the clock jumps past a skipped midnight. A local hour is the 60 minutes since the clock last
showed the hour in its current UTC offset (never earlier than the day's start).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from server.domain.local_time import local_start, utc

NO_LIMIT = -1


@dataclass(frozen=True)
class Caps:
    """Limits per local hour, day and month: -1 (NO_LIMIT) = none, 0 = nothing."""

    hour_max: int = NO_LIMIT
    day_max: int = NO_LIMIT
    month_max: int = NO_LIMIT

    @property
    def any(self) -> bool:
        """Whether there is a limit to count against: with none, nothing need be counted."""
        return max(self.hour_max, self.day_max, self.month_max) >= 0


@dataclass(frozen=True)
class CapCounts:
    """What was counted since each cap window's start."""

    hour: int
    day: int
    month: int


NOTHING_COUNTED = CapCounts(0, 0, 0)


@dataclass(frozen=True)
class CapWindows:
    """Aware UTC instants where the current local hour, day and month began."""

    hour_start: datetime
    day_start: datetime
    month_start: datetime


def cap_windows(tz: ZoneInfo, now: datetime) -> CapWindows:
    """The starts of the local hour, day and month containing the aware instant `now`."""
    instant = utc(now)
    local = instant.astimezone(tz)
    day_start = local_start(datetime.combine(local.date(), time()), tz)
    month_start = local_start(datetime.combine(local.date().replace(day=1), time()), tz)
    hour_start = instant - timedelta(
        minutes=local.minute, seconds=local.second, microseconds=local.microsecond
    )
    return CapWindows(max(hour_start, day_start), day_start, month_start)


def cap_reached(caps: Caps, counts: CapCounts) -> str:
    """'' while under every cap, else why not, naming the longest-lasting cap reached first."""
    for period, limit, count in (
        ("month", caps.month_max, counts.month),
        ("day", caps.day_max, counts.day),
        ("hour", caps.hour_max, counts.hour),
    ):
        if limit >= 0 and count >= limit:
            return f"{period} cap {limit} reached"
    return ""
