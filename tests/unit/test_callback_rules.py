"""Callbacks' pure rules: the signature a receiver verifies and the retry schedule (the
addresses a callback may reach: test_addresses.py)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from server.domain.callbacks.records import Outcome, RetrySchedule, answered
from server.domain.callbacks.signing import (
    new_signing_secret,
    signature,
    signature_header,
    verify,
)

SECRET = "lrsig_test-secret"
BODY = b'{"PostID":"f5666260-1c2c-4bd5-9611-bb1387ca2397","isValidPost":true}'
NOW = 1_700_000_000


# -- signing


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, NOW, BODY) == expected
    assert signature_header(SECRET, NOW, BODY) == f"t={NOW},v1={expected}"


def test_a_signed_body_verifies() -> None:
    assert verify(SECRET, signature_header(SECRET, NOW, BODY), BODY, now=NOW + 10)


def test_another_body_or_secret_does_not_verify() -> None:
    header = signature_header(SECRET, NOW, BODY)
    assert not verify(SECRET, header, BODY + b" ", now=NOW)
    assert not verify("lrsig_other", header, BODY, now=NOW)


def test_a_timestamp_changed_after_signing_does_not_verify() -> None:
    header = signature_header(SECRET, NOW, BODY).replace(f"t={NOW}", f"t={NOW + 1}")
    assert not verify(SECRET, header, BODY, now=NOW)


def test_a_replay_past_the_tolerance_is_refused() -> None:
    header = signature_header(SECRET, NOW, BODY)
    assert verify(SECRET, header, BODY, now=NOW + 300)
    assert not verify(SECRET, header, BODY, now=NOW + 301)
    assert not verify(SECRET, header, BODY, now=NOW - 301)  # from the future, as far


def test_any_of_several_v1_signatures_may_match() -> None:
    header = f"t={NOW},v1={'0' * 64},v1={signature(SECRET, NOW, BODY)}"
    assert verify(SECRET, header, BODY, now=NOW)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "v1=abc",
        f"t={NOW}",
        f"t=abc,v1={'0' * 64}",
        f"t={NOW},t={NOW},v1=00",
        "t=\uff11\uff12,v1=00",
    ],
)
def test_malformed_headers_do_not_verify(header: str) -> None:
    assert not verify(SECRET, header, BODY, now=NOW)


def test_secrets_are_marked_and_random() -> None:
    first, second = new_signing_secret(), new_signing_secret()
    assert first.startswith("lrsig_") and len(first) >= 6 + 43
    assert first != second


# -- answers and the retry schedule


def test_only_2xx_is_delivered() -> None:
    assert answered(204, "", 1.0).outcome is Outcome.DELIVERED
    for status in (199, 301, 302, 400, 500):
        found = answered(status, "try\n later", 1.0)
        assert found.outcome is Outcome.FAILED
        assert found.error == f"answered {status}: try later"


def test_retries_double_up_to_the_cap() -> None:
    schedule = RetrySchedule(jitter=0.0)
    delays = [schedule.delay(n, 0.0, 0.0) for n in range(1, 13)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 21600, 21600]


def test_jitter_spreads_each_delay_either_way() -> None:
    schedule = RetrySchedule(jitter=0.2)
    assert schedule.delay(1, 0.0, -1.0) == pytest.approx(24.0)
    assert schedule.delay(1, 0.0, 1.0) == pytest.approx(36.0)


def test_a_callback_is_given_up_three_days_after_it_was_queued() -> None:
    schedule = RetrySchedule(jitter=0.0)
    age, attempts = 0.0, 1
    while (delay := schedule.delay(attempts, age, 0.0)) is not None:
        age += delay
        attempts += 1
    assert 2.75 * 86400 < age <= 3 * 86400
    assert 20 <= attempts <= 22


def test_late_attempt_numbers_do_not_overflow() -> None:
    assert RetrySchedule().delay(5000, 0.0, 0.0) == 6 * 3600.0
