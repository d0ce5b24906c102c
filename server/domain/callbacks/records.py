"""A callback's states, its attempts as they are reported, and when a failed one is tried
again."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from server.domain.callbacks.signing import EVENT_ID_HEADER, SIGNATURE_HEADER

ANSWER_CAP_BYTES = 4096  # of a receiver's answer, read and kept: its status is what counts
USER_AGENT = "leadrouter"


class CallbackState(enum.StrEnum):
    """Where a callback stands; stored by these names."""

    PENDING = "pending"  # due from its next attempt's time
    SENDING = "sending"  # leased to a process sending it
    DELIVERED = "delivered"  # a 2xx answer came
    FAILED = "failed"  # no 2xx answer within the retry schedule
    REFUSED = "refused"  # its address may not be called; never tried again


class Outcome(enum.StrEnum):
    """How one attempt went; stored by these names."""

    DELIVERED = "delivered"  # answered 2xx
    FAILED = "failed"  # a timeout, a connection error, or any other answer (3xx included)
    REFUSED = "refused"  # not sent: the address or the URL is refused


@dataclass(frozen=True)
class Answer:
    """What one attempt came to, as the HTTP client reports it."""

    outcome: Outcome
    status: int | None  # the HTTP status, when an answer came
    error: str  # why it failed or was refused; "" when delivered
    elapsed_ms: float


def answered(status: int, body: str, elapsed_ms: float) -> Answer:
    """An HTTP answer: delivered when 2xx, else failed (redirects are not followed)."""
    if 200 <= status < 300:
        return Answer(Outcome.DELIVERED, status, "", elapsed_ms)
    shown = " ".join(body.split())[:200]
    error = f"answered {status}" + (f": {shown}" if shown else "")
    return Answer(Outcome.FAILED, status, error, elapsed_ms)


@dataclass(frozen=True)
class Attempt:
    """One attempt at a callback, as reported."""

    number: int  # 1 for the first
    at: datetime  # when it started (UTC)
    outcome: Outcome
    status: int | None
    error: str
    elapsed_ms: float


@dataclass(frozen=True)
class CallbackReport:
    """A callback and its attempts: what ListCallbackAttempts and the queue status show."""

    event_id: str
    post_id: str
    url: str
    state: CallbackState
    created_at: datetime
    next_attempt_at: datetime | None  # while pending
    finished_at: datetime | None  # once delivered, failed or refused
    signed: bool  # whether its source has a signing secret (attempts are signed when sent)
    attempts: tuple[Attempt, ...]


@dataclass(frozen=True)
class RetrySchedule:
    """When a callback that failed is tried again: `first_seconds` after the first failure,
    doubling after each until `max_seconds`, each spread by up to `jitter` (a fraction)
    either way; never once the next attempt would come later than `give_up_seconds` after
    the callback was queued, which then fails. The defaults give about 21 attempts over
    3 days."""

    first_seconds: float = 30.0
    max_seconds: float = 6 * 3600.0
    give_up_seconds: float = 3 * 86400.0
    jitter: float = 0.2

    def delay(self, attempts: int, age_seconds: float, spread: float) -> float | None:
        """Seconds until the next attempt after `attempts` failed ones, the callback
        `age_seconds` old; None: give up. `spread` in [-1, 1] (random) scales the jitter."""
        seconds = min(self.first_seconds * 2.0 ** min(attempts - 1, 64), self.max_seconds)
        seconds *= 1 + self.jitter * spread
        if age_seconds + seconds > self.give_up_seconds:
            return None
        return seconds


def callback_headers(
    event_id: str, content_type: str, signature: str | None
) -> tuple[tuple[str, str], ...]:
    """The headers of every attempt at a callback: its content type, the event id (the same
    on every attempt, also as `Idempotency-Key` as deliveries to buyers send it) and, when its
    source has a signing secret, the signature."""
    headers = [
        ("Content-Type", content_type),
        ("User-Agent", USER_AGENT),
        (EVENT_ID_HEADER, event_id),
        ("Idempotency-Key", event_id),
    ]
    if signature is not None:
        headers.append((SIGNATURE_HEADER, signature))
    return tuple(headers)
