"""The async insert URLs' rules (`/processor/insert/{name}/{json|xml}/async`): what a queued
post is answered, how many posts an account may have waiting, which `returnurl` is taken, and
the states a queued post goes through.

A queued post is processed as its synchronous URL would process it; only its answer comes
later, from the queue status URL (and the `returnurl` callback).
"""

from __future__ import annotations

import enum

from server.domain.intake.screening import is_web_url

QUEUED = "Lead has been queued for processing"
# Posts an account may have queued and not yet processed; past it, nothing more is queued.
DEFAULT_MAX_QUEUED = 10_000
# The highest limit an account may set for itself.
MOST_QUEUED = 1_000_000
MAX_RETURN_URL = 2048


class QueueState(enum.Enum):
    """Where a queued post stands; the values are stored."""

    Queued = "queued"  # waiting for a worker (or for its next attempt)
    Processing = "processing"  # leased to a worker, which is processing it
    Processed = "processed"  # answered: the answer is stored


def return_url_refusal(url: str) -> str:
    """Why a posted `returnurl` cannot be called back, or "" (none posted is fine)."""
    if not url:
        return ""
    if len(url) > MAX_RETURN_URL:
        return f"returnurl is {len(url)} characters long; at most {MAX_RETURN_URL} are allowed"
    if not is_web_url(url) or url != url.strip():
        return f"returnurl must be an absolute http or https URL, got {url[:100]!r}"
    return ""


def queue_limit_refusal(limit: int | None) -> str:
    """Why an account's own limit of posts waiting cannot be set, or "" (None: the
    server's limit)."""
    if limit is not None and not 1 <= limit <= MOST_QUEUED:
        return f"must be between 1 and {MOST_QUEUED:,}, or 0 for the server's limit, got {limit}"
    return ""


def queue_full(max_queued: int) -> str:
    """The reason a post past the account's queue limit is not queued."""
    return (
        f"Not queued: the account has {max_queued} posts waiting to be processed, "
        "the most it may have; post again once some are processed, or post to the "
        "synchronous URL"
    )


def not_processed(attempts: int) -> str:
    """The answer of a lead a queued post could not process after its attempts."""
    return (
        f"Not processed: processing the queued post failed {attempts} times; nothing was "
        "stored for this lead, post it again"
    )
