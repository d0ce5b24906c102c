"""Delivery schedules (open/closed, next opening), across time zones and DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.domain.buyers.schedule import (
    END_OF_DAY,
    DayWindow,
    format_window,
    is_open,
    next_open,
    parse_window,
    validate_windows,
)

LA = ZoneInfo("America/Los_Angeles")
NEW_YORK = ZoneInfo("America/New_York")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
HAVANA = ZoneInfo("America/Havana")
KOLKATA = ZoneInfo("Asia/Kolkata")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
UTC_ZONE = ZoneInfo("UTC")

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
NINE_TO_FIVE = [DayWindow(day, time(9), time(17)) for day in (MON, TUE, WED, THU, FRI)]


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def windows(*texts: str) -> list[DayWindow]:
    return [parse_window(text) for text in texts]


def problems_of(found: list[DayWindow]) -> list[tuple[str, str]]:
    return [(p.path, p.reason) for p in validate_windows(found, "days")]


# --- parse_window / format_window ----------------------------------------------------------


def test_parse_window_reads_day_and_times() -> None:
    assert parse_window("Mon 09:00-17:00") == DayWindow(MON, time(9), time(17))


def test_parse_window_accepts_full_day_names_in_any_case() -> None:
    assert parse_window("  wednesday 8:30 - 12:15:30 ") == DayWindow(
        WED, time(8, 30), time(12, 15, 30)
    )


def test_parse_window_reads_24_00_as_end_of_day() -> None:
    assert parse_window("Sun 22:00-24:00") == DayWindow(SUN, time(22), END_OF_DAY)


@pytest.mark.parametrize(
    "text",
    [
        "Xyz 09:00-10:00",
        "Mon 9-17",
        "Mon 09:00",
        "Mon 25:00-26:00",
        "Mon 24:00-24:00",
        "",
        "Mon ²9:00-10:00",  # digits str.isdigit() takes and int() does not
        "Mon \u0660\u0669:\u0660\u0660-10:00",  # Arabic-Indic digits, which int() reads
    ],
)
def test_parse_window_refuses_malformed_text(text: str) -> None:
    with pytest.raises(ValueError):
        parse_window(text)


@pytest.mark.parametrize("text", ["Mon 09:00-17:00", "Sat 00:00-24:00", "Fri 08:30:15-09:00"])
def test_format_window_round_trips(text: str) -> None:
    assert format_window(parse_window(text)) == text


# --- validate_windows ----------------------------------------------------------------------


def test_valid_schedule_has_no_problems() -> None:
    assert problems_of(NINE_TO_FIVE + windows("Sat 00:00-24:00")) == []


def test_windows_touching_on_one_day_are_valid() -> None:
    assert problems_of(windows("Mon 09:00-12:00", "Mon 12:00-17:00")) == []


def test_weekday_out_of_range_is_reported() -> None:
    assert problems_of([DayWindow(7, time(9), time(17))]) == [
        ("days[0].weekday", "must be 0 (Monday) to 6 (Sunday)")
    ]


def test_window_crossing_midnight_is_reported() -> None:
    problems = problems_of(windows("Mon 22:00-02:00"))
    assert [path for path, _ in problems] == ["days[0].end"]
    assert "may not cross midnight" in problems[0][1]


def test_empty_window_is_reported() -> None:
    assert [path for path, _ in problems_of(windows("Mon 09:00-09:00"))] == ["days[0].end"]


def test_overlapping_windows_on_one_day_are_reported() -> None:
    problems = problems_of(windows("Tue 09:00-12:00", "Mon 10:00-11:00", "Tue 11:30-13:00"))
    assert problems == [("days[2]", "Tue 11:30-13:00 overlaps days[0] (Tue 09:00-12:00)")]


def test_window_with_zoned_times_is_reported() -> None:
    zoned = DayWindow(MON, time(9, tzinfo=UTC), time(17, tzinfo=UTC))
    assert [path for path, _ in problems_of([zoned])] == ["days[0]"]


# --- is_open -------------------------------------------------------------------------------


def test_no_windows_is_always_open() -> None:
    assert is_open([], LA, utc(2024, 6, 16, 3, 0))


def test_open_at_window_start() -> None:
    assert is_open(NINE_TO_FIVE, UTC_ZONE, utc(2024, 6, 17, 9, 0))


def test_closed_just_before_window_start() -> None:
    assert not is_open(NINE_TO_FIVE, UTC_ZONE, utc(2024, 6, 17, 8, 59, 59, 999999))


def test_closed_at_window_end() -> None:
    assert not is_open(NINE_TO_FIVE, UTC_ZONE, utc(2024, 6, 17, 17, 0))


def test_open_just_before_window_end() -> None:
    assert is_open(NINE_TO_FIVE, UTC_ZONE, utc(2024, 6, 17, 16, 59, 59, 999999))


def test_end_of_day_window_is_open_until_midnight() -> None:
    assert is_open(windows("Mon 22:00-24:00"), UTC_ZONE, utc(2024, 6, 17, 23, 59, 59, 999999))


def test_end_23_59_59_is_open_until_midnight() -> None:
    late = [DayWindow(MON, time(22), time(23, 59, 59))]
    assert is_open(late, UTC_ZONE, utc(2024, 6, 17, 23, 59, 59, 500000))


def test_closed_on_a_day_without_windows() -> None:
    assert not is_open(NINE_TO_FIVE, UTC_ZONE, utc(2024, 6, 16, 12, 0))  # a Sunday


def test_hours_are_the_buyers_local_hours() -> None:
    # 09:00 in New York (EDT) is 13:00 UTC.
    assert not is_open(NINE_TO_FIVE, NEW_YORK, utc(2024, 6, 17, 12, 59))
    assert is_open(NINE_TO_FIVE, NEW_YORK, utc(2024, 6, 17, 13, 0))


def test_weekday_is_the_buyers_local_weekday() -> None:
    # Tuesday 02:00 UTC is still Monday 19:00 in Los Angeles.
    assert is_open(windows("Mon 18:00-20:00"), LA, utc(2024, 6, 18, 2, 0))


def test_winter_hours_follow_standard_time() -> None:
    # 09:00 in New York (EST) is 14:00 UTC.
    assert not is_open(NINE_TO_FIVE, NEW_YORK, utc(2024, 1, 15, 13, 30))
    assert is_open(NINE_TO_FIVE, NEW_YORK, utc(2024, 1, 15, 14, 0))


def test_now_in_another_offset_is_converted() -> None:
    tokyo = datetime(2024, 6, 17, 22, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 13:00 UTC
    assert is_open(NINE_TO_FIVE, NEW_YORK, tokyo)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        is_open(NINE_TO_FIVE, LA, datetime(2024, 6, 17, 12, 0))


def test_spring_forward_window_spans_the_jump() -> None:
    # 2024-03-10 in Los Angeles: 02:00 PST jumps to 03:00 PDT (10:00 UTC).
    early = windows("Sun 01:00-04:00")
    assert is_open(early, LA, utc(2024, 3, 10, 9, 59, 59))  # 01:59:59 PST
    assert is_open(early, LA, utc(2024, 3, 10, 10, 0))  # 03:00 PDT
    assert not is_open(early, LA, utc(2024, 3, 10, 11, 0))  # 04:00 PDT


def test_window_in_the_skipped_hour_never_opens() -> None:
    skipped = windows("Sun 02:00-03:00")
    assert not any(
        is_open(skipped, LA, utc(2024, 3, 10, 8) + timedelta(minutes=m)) for m in range(0, 240, 5)
    )


def test_fall_back_window_is_open_through_the_repeated_hour() -> None:
    # 2024-11-03 in Los Angeles: 01:00-02:00 happens twice, 08:00-10:00 UTC.
    repeated = windows("Sun 01:00-02:00")
    assert is_open(repeated, LA, utc(2024, 11, 3, 8, 30))  # 01:30 PDT
    assert is_open(repeated, LA, utc(2024, 11, 3, 9, 30))  # 01:30 PST
    assert not is_open(repeated, LA, utc(2024, 11, 3, 10, 0))  # 02:00 PST


# --- next_open -----------------------------------------------------------------------------


def test_next_open_is_now_when_open() -> None:
    now = utc(2024, 6, 17, 14, 0)
    assert next_open(NINE_TO_FIVE, NEW_YORK, now) == now


def test_next_open_is_now_without_windows() -> None:
    now = utc(2024, 6, 16, 3, 0)
    assert next_open([], LA, now) == now


def test_next_open_is_utc() -> None:
    tokyo = datetime(2024, 6, 17, 22, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    found = next_open(NINE_TO_FIVE, NEW_YORK, tokyo)
    assert found == utc(2024, 6, 17, 13, 0)
    assert found is not None and found.tzinfo is UTC


def test_next_open_later_the_same_day() -> None:
    assert next_open(NINE_TO_FIVE, NEW_YORK, utc(2024, 6, 17, 11, 0)) == utc(2024, 6, 17, 13, 0)


def test_next_open_at_window_end_is_the_next_day() -> None:
    assert next_open(NINE_TO_FIVE, NEW_YORK, utc(2024, 6, 17, 21, 0)) == utc(2024, 6, 18, 13, 0)


def test_next_open_skips_the_weekend() -> None:
    friday_evening = utc(2024, 6, 21, 22, 0)
    assert next_open(NINE_TO_FIVE, NEW_YORK, friday_evening) == utc(2024, 6, 24, 13, 0)


def test_next_open_wraps_a_weekly_window_to_next_week() -> None:
    monday_only = windows("Mon 09:00-10:00")
    assert next_open(monday_only, LA, utc(2024, 6, 17, 17, 0)) == utc(2024, 6, 24, 16, 0)


def test_next_open_crosses_a_dst_change_in_the_week() -> None:
    # Saturday 2024-03-09 noon PST; Monday 09:00 is in PDT (16:00 UTC).
    assert next_open(NINE_TO_FIVE, LA, utc(2024, 3, 9, 20, 0)) == utc(2024, 3, 11, 16, 0)


def test_next_open_is_none_when_no_window_can_open() -> None:
    assert next_open([DayWindow(MON, time(17), time(9))], LA, utc(2024, 6, 17)) is None


def test_next_open_into_a_window_starting_in_the_skipped_hour_is_the_jump() -> None:
    # Sun 02:30 does not exist on 2024-03-10; the clock jumps from 02:00 PST to 03:00 PDT.
    assert next_open(windows("Sun 02:30-04:00"), LA, utc(2024, 3, 10, 8, 0)) == utc(
        2024, 3, 10, 10, 0
    )


def test_next_open_skips_a_window_lost_to_spring_forward() -> None:
    # Sun 02:10-02:50 never happens on 2024-03-10; next Sunday it is 09:10 UTC (PDT).
    assert next_open(windows("Sun 02:10-02:50"), LA, utc(2024, 3, 10, 8, 0)) == utc(
        2024, 3, 17, 9, 10
    )


def test_next_open_finds_the_second_pass_of_the_repeated_hour() -> None:
    # Sun 01:15 happens at 08:15 UTC (PDT) and again at 09:15 UTC (PST) on 2024-11-03.
    assert next_open(windows("Sun 01:15-01:45"), LA, utc(2024, 11, 3, 8, 50)) == utc(
        2024, 11, 3, 9, 15
    )


def test_next_open_when_fall_back_returns_into_a_window() -> None:
    # Sun 00:30-01:30 closes at 01:30 PDT; at 09:00 UTC the clock goes back to 01:00 PST.
    assert next_open(windows("Sun 00:30-01:30"), LA, utc(2024, 11, 3, 8, 45)) == utc(
        2024, 11, 3, 9, 0
    )


@pytest.mark.parametrize(
    ("tz", "start"),
    [(LA, utc(2024, 3, 8)), (LA, utc(2024, 10, 31)), (SAO_PAULO, utc(2018, 11, 1))],
)
def test_next_open_agrees_with_is_open_across_a_week(tz: ZoneInfo, start: datetime) -> None:
    schedule = windows(
        "Mon 09:00-17:00",
        "Wed 23:00-24:00",
        "Thu 00:00-01:00",
        "Sat 01:30-02:30",
        "Sun 00:00-03:00",
    )
    grid = [start + timedelta(minutes=10 * i) for i in range(9 * 24 * 6)]
    first_open_from: list[datetime | None] = [None] * len(grid)
    upcoming: datetime | None = None
    for i in reversed(range(len(grid))):
        if is_open(schedule, tz, grid[i]):
            upcoming = grid[i]
        first_open_from[i] = upcoming
    for moment, open_on_grid in zip(grid, first_open_from, strict=True):
        found = next_open(schedule, tz, moment)
        assert found is not None and moment <= found
        assert is_open(schedule, tz, found)
        assert open_on_grid is None or found <= open_on_grid
