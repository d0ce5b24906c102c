"""Accounts (tenants) and their API keys, as stored and as they may be shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Tenant:
    """An account as stored: the tenant every other record belongs to."""

    account_id: int
    name: str
    time_zone: str
    created_at: datetime


@dataclass(frozen=True)
class KeyInfo:
    """What may be shown about a key: never its secret or digest."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class AccountSettings:
    """What an account's admin may set for the account as a whole."""

    allow_private_callbacks: bool = False  # callbacks may reach private and loopback addresses
    max_queued_posts: int | None = None  # /async posts waiting; None: the server's limit
    queue_limit: int = 0  # the limit that applies (max_queued_posts, or the server's)
    post_body_days: int | None = None  # days the post log keeps bodies; None: for ever


MAX_POST_BODY_DAYS = 3650


def post_body_days_refusal(days: int | None) -> str:
    """Why a number of days to keep post log bodies is refused, or ""."""
    if days is not None and not 1 <= days <= MAX_POST_BODY_DAYS:
        return f"must be from 1 to {MAX_POST_BODY_DAYS} days, or 0 to keep bodies for ever"
    return ""
