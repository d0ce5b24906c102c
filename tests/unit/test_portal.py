"""The limit on failed portal sign-ins (server/domain/portal.py), and the portal passwords
that can be saved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.domain.buyers.specs import ClientSpec, validate_client
from server.domain.catalog.specs import MAX_PORTAL_PASSWORD, SourceSpec, validate_source
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


@pytest.mark.parametrize("extra", [0, 1])
def test_a_saved_password_is_never_too_long_to_sign_in_with(extra: int) -> None:
    password = "p" * (MAX_PORTAL_PASSWORD + extra)
    client = validate_client(ClientSpec(name="Acme", key="acme", password=password), "c")
    source = validate_source(SourceSpec(name="Acme", key="acme", password=password), "s")
    assert [v.path for v in client + source] == (["c.password", "s.password"] if extra else [])
