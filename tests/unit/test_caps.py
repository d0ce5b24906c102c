"""Caps, one rule for campaigns and delivery accounts: cap windows across time zones and DST,
and which cap is reached."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.domain.caps import CapCounts, Caps, CapWindows, cap_reached, cap_windows
from server.domain.catalog.specs import CampaignSpec

LA = ZoneInfo("America/Los_Angeles")
NEW_YORK = ZoneInfo("America/New_York")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
HAVANA = ZoneInfo("America/Havana")
KOLKATA = ZoneInfo("Asia/Kolkata")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
UTC_ZONE = ZoneInfo("UTC")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


# --- cap_windows ---------------------------------------------------------------------------


def test_cap_windows_in_utc() -> None:
    assert cap_windows(UTC_ZONE, utc(2024, 6, 15, 14, 37, 12, 5)) == CapWindows(
        hour_start=utc(2024, 6, 15, 14),
        day_start=utc(2024, 6, 15),
        month_start=utc(2024, 6, 1),
    )


def test_cap_windows_in_new_york_summer() -> None:
    assert cap_windows(NEW_YORK, utc(2024, 6, 15, 14, 37)) == CapWindows(
        hour_start=utc(2024, 6, 15, 14),
        day_start=utc(2024, 6, 15, 4),
        month_start=utc(2024, 6, 1, 4),
    )


def test_cap_windows_are_utc() -> None:
    found = cap_windows(NEW_YORK, utc(2024, 6, 15, 14, 37))
    assert {found.hour_start.tzinfo, found.day_start.tzinfo, found.month_start.tzinfo} == {UTC}


def test_cap_day_before_local_midnight_is_the_previous_day() -> None:
    # 03:59:59 UTC on June 15 is 23:59:59 on June 14 in New York.
    assert cap_windows(NEW_YORK, utc(2024, 6, 15, 3, 59, 59)).day_start == utc(2024, 6, 14, 4)


def test_cap_month_started_in_another_offset() -> None:
    # March 1 was in EST; March 20 is in EDT.
    found = cap_windows(NEW_YORK, utc(2024, 3, 20, 12))
    assert (found.day_start, found.month_start) == (utc(2024, 3, 20, 4), utc(2024, 3, 1, 5))


def test_cap_windows_in_a_half_hour_zone() -> None:
    # 15:40 IST (UTC+05:30).
    assert cap_windows(KOLKATA, utc(2024, 6, 15, 10, 10)) == CapWindows(
        hour_start=utc(2024, 6, 15, 9, 30),
        day_start=utc(2024, 6, 14, 18, 30),
        month_start=utc(2024, 5, 31, 18, 30),
    )


def test_cap_windows_in_the_new_year_east_of_utc() -> None:
    found = cap_windows(KOLKATA, utc(2023, 12, 31, 19))  # 00:30 on 2024-01-01
    assert (found.day_start, found.month_start) == (utc(2023, 12, 31, 18, 30),) * 2


def test_spring_forward_day_is_23_hours() -> None:
    day = cap_windows(LA, utc(2024, 3, 10, 20)).day_start
    following = cap_windows(LA, utc(2024, 3, 11, 20)).day_start
    assert (day, following - day) == (utc(2024, 3, 10, 8), timedelta(hours=23))


def test_fall_back_day_is_25_hours() -> None:
    day = cap_windows(LA, utc(2024, 11, 3, 20)).day_start
    following = cap_windows(LA, utc(2024, 11, 4, 20)).day_start
    assert (day, following - day) == (utc(2024, 11, 3, 7), timedelta(hours=25))


def test_hour_after_spring_forward_starts_at_the_jump() -> None:
    assert cap_windows(LA, utc(2024, 3, 10, 10, 30)).hour_start == utc(2024, 3, 10, 10)  # 03:30


def test_repeated_hour_is_counted_as_two_hours() -> None:
    first = cap_windows(LA, utc(2024, 11, 3, 8, 30)).hour_start  # 01:30 PDT
    second = cap_windows(LA, utc(2024, 11, 3, 9, 30)).hour_start  # 01:30 PST
    assert (first, second) == (utc(2024, 11, 3, 8), utc(2024, 11, 3, 9))


def test_day_whose_midnight_is_skipped_starts_at_the_jump() -> None:
    # Sao Paulo, 2018-11-04: 00:00 BRT jumped to 01:00 BRST at 03:00 UTC.
    found = cap_windows(SAO_PAULO, utc(2018, 11, 4, 15))
    assert (found.day_start, found.month_start) == (utc(2018, 11, 4, 3), utc(2018, 11, 1, 3))


def test_day_whose_midnight_is_skipped_is_23_hours() -> None:
    day = cap_windows(SAO_PAULO, utc(2018, 11, 4, 15)).day_start
    following = cap_windows(SAO_PAULO, utc(2018, 11, 5, 15)).day_start
    assert (following, following - day) == (utc(2018, 11, 5, 2), timedelta(hours=23))


def test_sao_paulo_fall_back_day_includes_the_repeated_hour() -> None:
    # 2019-02-16: at 00:00 BRST (02:00 UTC Feb 17) the clock went back to 23:00 BRT Feb 16.
    found = cap_windows(SAO_PAULO, utc(2019, 2, 17, 2, 30))  # the second 23:30 of Feb 16
    assert (found.hour_start, found.day_start) == (utc(2019, 2, 17, 2), utc(2019, 2, 16, 2))


def test_sao_paulo_day_after_fall_back_starts_at_the_single_midnight() -> None:
    assert cap_windows(SAO_PAULO, utc(2019, 2, 17, 12)).day_start == utc(2019, 2, 17, 3)


def test_day_whose_midnight_happens_twice_starts_at_the_first() -> None:
    # Havana, 2023-11-05: 01:00 CDT went back to 00:00 CST, so midnight came twice.
    assert cap_windows(HAVANA, utc(2023, 11, 5, 12)).day_start == utc(2023, 11, 5, 4)


def test_havana_skipped_midnight_day_starts_at_the_jump() -> None:
    # Havana, 2023-03-12: 00:00 CST jumped to 01:00 CDT at 05:00 UTC.
    assert cap_windows(HAVANA, utc(2023, 3, 12, 12)).day_start == utc(2023, 3, 12, 5)


def test_naive_now_is_refused_for_cap_windows() -> None:
    with pytest.raises(ValueError):
        cap_windows(LA, datetime(2024, 6, 15, 12))


@pytest.mark.parametrize("tz", [LA, SAO_PAULO, HAVANA, KOLKATA, LORD_HOWE])
def test_cap_windows_nest_and_start_in_the_current_local_day(tz: ZoneInfo) -> None:
    for hours in range(0, 2 * 366 * 24, 7):
        now = utc(2018, 1, 1) + timedelta(hours=hours, minutes=hours % 60)
        found = cap_windows(tz, now)
        assert found.month_start <= found.day_start <= found.hour_start <= now
        assert now - found.hour_start < timedelta(hours=1)
        local_day = now.astimezone(tz).date()
        assert found.day_start.astimezone(tz).date() == local_day
        assert (found.day_start - timedelta(seconds=1)).astimezone(tz).date() < local_day
        assert found.month_start.astimezone(tz).date() == local_day.replace(day=1)


# --- cap_reached ---------------------------------------------------------------------------


def test_no_caps_are_never_reached() -> None:
    assert cap_reached(Caps(), CapCounts(hour=10**6, day=10**6, month=10**6)) == ""


def test_under_every_cap_is_not_reached() -> None:
    assert cap_reached(Caps(5, 100, 1000), CapCounts(hour=4, day=99, month=999)) == ""


def test_hour_cap_reached() -> None:
    assert cap_reached(Caps(5, 100, 1000), CapCounts(hour=5, day=50, month=50)) == (
        "hour cap 5 reached"
    )


def test_day_cap_reached() -> None:
    assert cap_reached(Caps(day_max=100), CapCounts(hour=1, day=100, month=300)) == (
        "day cap 100 reached"
    )


def test_month_cap_exceeded_is_reached() -> None:
    assert cap_reached(Caps(month_max=1000), CapCounts(hour=1, day=1, month=1001)) == (
        "month cap 1000 reached"
    )


def test_zero_cap_allows_nothing() -> None:
    assert cap_reached(Caps(day_max=0), CapCounts(hour=0, day=0, month=0)) == "day cap 0 reached"


def test_longest_cap_reached_is_named() -> None:
    assert cap_reached(Caps(5, 100, 1000), CapCounts(hour=5, day=100, month=1000)) == (
        "month cap 1000 reached"
    )


def test_caps_with_no_limit_count_nothing() -> None:
    assert not Caps().any
    assert Caps(day_max=0).any
    assert Caps(hour_max=-1, day_max=-1, month_max=5).any


def test_a_campaigns_caps_are_its_maximums() -> None:
    spec = CampaignSpec("c", hour_max=5, day_max=-1, month_max=100)
    assert spec.caps == Caps(5, -1, 100)
    assert cap_reached(spec.caps, CapCounts(hour=5, day=5, month=5)) == "hour cap 5 reached"
