"""The portals' user names, and a buyer's sign-in with its limit on failures
(server/domain/portal.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from server.domain import secrets
from server.domain.buyers.records import StoredClient
from server.domain.catalog.specs import MAX_PORTAL_PASSWORD
from server.domain.geo import States
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
    """Sign-in and user names of the portals of one database. The buyer signed in is answered
    with the id of the state it names, from `states`."""

    def __init__(self, pool: Pool, states: States, clock: Callable[[], datetime] = _utcnow) -> None:
        self._pool = pool
        self._states = states
        self._clock = clock

    async def sign_in(self, account_id: int, username: str, password: str) -> StoredClient:
        """The buyer with this user name and password.

        Two transactions, where a use case has one: the attempt is counted as a failure first,
        under the user name's row lock, so concurrent attempts count one after another; the
        password is checked once that has committed, holding no connection (scrypt takes
        tens of milliseconds); a success then clears the count. A call cut short in between
        stays counted as a failure."""
        name = _username(username)
        if len(password) > MAX_PORTAL_PASSWORD:  # no stored password is longer
            raise Unauthenticated(WRONG)
        found: tuple[int, str | None] | None = None
        async with transaction(self._pool) as conn:
            attempts = await store.lock_attempts(conn, account_id, name)
            now = self._clock()
            until = locked(attempts, now)
            if until is None:
                await store.save_attempts(conn, account_id, name, after_failure(attempts, now), now)
                found = await store.client_password(conn, account_id, name)
        if until is not None:
            raise TooManyAttempts(
                f"too many failed sign-ins for this user name; try again after "
                f"{until.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
            )
        stored = found[1] if found else None
        matches = await asyncio.to_thread(
            secrets.password_matches, password, stored or secrets.DUMMY_HASH
        )
        if found is None or not stored or not matches:
            raise Unauthenticated(WRONG)
        async with transaction(self._pool) as conn:
            await store.forget_attempts(conn, account_id, name)
            signed_in = await buyer_store.list_clients(conn, account_id, found[0])
        if not signed_in:  # deleted since its password was read
            raise Unauthenticated(WRONG)
        return signed_in[0].located(self._states)

    async def client_username_free(self, account_id: int, username: str) -> bool:
        name = _username(username)
        async with transaction(self._pool) as conn:
            return not await store.client_username_taken(conn, account_id, name)

    async def source_username_free(self, account_id: int, username: str, source_id: int) -> bool:
        name = _username(username)
        async with transaction(self._pool) as conn:
            return not await store.source_username_taken(conn, account_id, name, source_id)
