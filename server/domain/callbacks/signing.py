"""Signing callbacks: HMAC-SHA256 over `{timestamp}.{body}` with the lead source's signing
secret, sent as `X-LeadRouter-Signature: t=<unix seconds>,v1=<hex>` (Stripe's scheme).

The timestamp is the attempt's own, so each attempt is signed afresh and a receiver can
refuse one whose timestamp is further than `TOLERANCE_SECONDS` from its clock (a replay);
the event id is the same on every attempt of a callback, so it can drop a repeat. A
signature header may hold several `v1` values; a receiver accepts any that matches.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_MARK = "lrsig_"
SIGNATURE_HEADER = "X-LeadRouter-Signature"
EVENT_ID_HEADER = "X-LeadRouter-Event-Id"
SCHEME = "v1"
TOLERANCE_SECONDS = 300  # what receivers are told to accept between our clock and theirs


def new_signing_secret() -> str:
    """A new secret: `lrsig_` and 256 random bits. The whole string is the HMAC key."""
    return f"{SECRET_MARK}{secrets.token_urlsafe(32)}"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `{timestamp}.{body}` under `secret` (its UTF-8 bytes)."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The value of the signature header for `body` sent at `timestamp`."""
    return f"t={timestamp},{SCHEME}={signature(secret, timestamp, body)}"


def verify(
    secret: str, header: str, body: bytes, now: float, tolerance: float = TOLERANCE_SECONDS
) -> bool:
    """Whether `header` signs `body` under `secret` with a timestamp within `tolerance`
    seconds of `now`: what a receiver checks (docs/receiver.md shows it in a few lines)."""
    pairs = [part.strip().partition("=") for part in header.split(",")]
    stamps = [value for name, _, value in pairs if name == "t"]
    given = [value for name, _, value in pairs if name == SCHEME]
    if len(stamps) != 1 or not stamps[0].isascii() or not stamps[0].isdigit():
        return False
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, value) for value in given)
