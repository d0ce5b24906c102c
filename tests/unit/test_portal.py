"""The limit on failed portal sign-ins (server/domain/portal.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.domain.portal import LOCK, MAX_FAILURES, WINDOW, Attempts, after_failure, locked

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


def failures(count: int, start: datetime = NOW) -> Attempts | None:
    attempts = None
    for i in range(count):
        attempts = after_failure(attempts, start + timedelta(seconds=i))
    return attempts


def test_the_limit_locks_for_the_lock_time() -> None:
    below = failures(MAX_FAILURES - 1)
    assert below is not None and locked(below, NOW + timedelta(minutes=1)) is None
    at = failures(MAX_FAILURES)
    assert at is not None and at.locked_until is not None
    assert locked(at, NOW + timedelta(minutes=1)) == at.locked_until
    assert locked(at, at.locked_until) is None
    assert at.locked_until - NOW >= LOCK


def test_failures_outside_the_window_start_a_new_count() -> None:
    old = failures(MAX_FAILURES - 1)
    later = after_failure(old, NOW + WINDOW + timedelta(seconds=1))
    assert (later.failures, later.locked_until) == (1, None)


def test_a_failure_after_the_lock_ran_out_starts_again() -> None:
    at = failures(MAX_FAILURES)
    assert at is not None and at.locked_until is not None
    again = after_failure(at, at.locked_until + timedelta(seconds=1))
    assert (again.failures, again.locked_until) == (1, None)
