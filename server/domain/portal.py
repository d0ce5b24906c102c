"""Portal sign-in's limit on failures: one home for its numbers and its rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
LOCK = timedelta(minutes=15)
MAX_USERNAME = 200


@dataclass(frozen=True)
class Attempts:
    """A user name's failed sign-ins: how many since `window_start`, and any lock."""

    failures: int
    window_start: datetime
    locked_until: datetime | None = None


def normalized(username: str) -> str:
    """User names are compared ignoring case and surrounding blanks."""
    return username.strip().lower()


def locked(attempts: Attempts | None, now: datetime) -> datetime | None:
    """Until when sign-in is refused for this user name; None when it is not."""
    if attempts is None or attempts.locked_until is None or attempts.locked_until <= now:
        return None
    return attempts.locked_until


def after_failure(attempts: Attempts | None, now: datetime) -> Attempts:
    """The count after one more failure: a new window when there was none, when the last one
    is over or when its lock has run out; locked for LOCK when the count reaches MAX_FAILURES
    within the window."""
    fresh = (
        attempts is None
        or now - attempts.window_start >= WINDOW
        or (attempts.locked_until is not None and attempts.locked_until <= now)
    )
    failures = 1 if fresh or attempts is None else attempts.failures + 1
    start = now if fresh or attempts is None else attempts.window_start
    return Attempts(failures, start, now + LOCK if failures >= MAX_FAILURES else None)
