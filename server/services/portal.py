"""The portals' user names, and a buyer's sign-in with its limit on failures
(server/domain/portal.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache

from server.domain import secrets
from server.domain.buyers.records import StoredClient
from server.domain.catalog.specs import MAX_PORTAL_PASSWORD
from server.domain.portal import (
    MAX_USERNAME,
    after_failure,
    locked,
    normalized,
)
from server.errors import InvalidArgument, TooManyAttempts, Unauthenticated, Violation
from server.storage import buyers as buyer_store
from server.storage import portal as store
from server.storage.database import Pool, transaction

WRONG = "user name or password is wrong"


@cache
def _dummy_hash() -> str:
    """Checked when the user name has no password, so that a refusal takes as long either way."""
    return secrets.hash_password("no user has this password")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _username(username: str) -> str:
    name = normalized(username)
    if not name:
        raise InvalidArgument([Violation("username", "is required")])
    if len(name) > MAX_USERNAME:
        raise InvalidArgument([Violation("username", f"is over {MAX_USERNAME} characters")])
    return name


class Portal:
    """Sign-in and user names of the portals of one database."""

    def __init__(self, pool: Pool, clock: Callable[[], datetime] = _utcnow) -> None:
        self._pool = pool
        self._clock = clock

    async def sign_in(self, account_id: int, username: str, password: str) -> StoredClient:
        """The buyer with this user name and password. One transaction: the user name's
        attempts are locked first, so concurrent failures are counted one after another."""
        name = _username(username)
        if len(password) > MAX_PORTAL_PASSWORD:  # no stored password is longer
            raise Unauthenticated(WRONG)
        refusal: Exception | None = None
        async with transaction(self._pool) as conn:
            attempts = await store.lock_attempts(conn, account_id, name)
            now = self._clock()
            until = locked(attempts, now)
            if until is not None:
                refusal = TooManyAttempts(
                    f"too many failed sign-ins for this user name; try again after "
                    f"{until.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
                )
            else:
                found = await store.client_password(conn, account_id, name)
                stored = found[1] if found else None
                matches = await asyncio.to_thread(
                    secrets.password_matches, password, stored or _dummy_hash()
                )
                if found is not None and stored and matches:
                    await store.forget_attempts(conn, account_id, name)
                    return (await buyer_store.list_clients(conn, account_id, found[0]))[0]
                await store.save_attempts(conn, account_id, name, after_failure(attempts, now), now)
                refusal = Unauthenticated(WRONG)
        raise refusal  # after the commit: the failure is counted

    async def client_username_free(self, account_id: int, username: str) -> bool:
        name = _username(username)
        async with transaction(self._pool) as conn:
            return not await store.client_username_taken(conn, account_id, name)

    async def source_username_free(self, account_id: int, username: str, source_id: int) -> bool:
        name = _username(username)
        async with transaction(self._pool) as conn:
            return not await store.source_username_taken(conn, account_id, name, source_id)
