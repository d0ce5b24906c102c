"""Accounts and their keys: creating tenants, issuing and revoking keys, authenticating callers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.domain import secrets
from server.domain.accounts import AccountSettings, KeyInfo, Tenant, post_body_days_refusal
from server.domain.intake.queueing import DEFAULT_MAX_QUEUED, queue_limit_refusal
from server.errors import FailedPrecondition, InvalidArgument, NotFound, Unauthenticated, Violation
from server.storage import accounts as store
from server.storage.database import Connection, Pool, statements, transaction

DEFAULT_TIME_ZONE = "America/Los_Angeles"


@dataclass(frozen=True)
class NewAccount:
    """A tenant just created, with its first admin key (shown this once)."""

    account_id: int
    api_key: str


@dataclass(frozen=True)
class Caller:
    """Who a presented key belongs to."""

    account_id: int
    key_id: int
    source_id: int | None  # None for an account admin key


class Accounts:
    """Tenants and their API keys: the operator's and the admin API's use cases."""

    def __init__(
        self, pool: Pool, *, max_queued: int = DEFAULT_MAX_QUEUED, private_callbacks: bool = True
    ) -> None:
        """`max_queued`: the server's limit of /async posts waiting, for accounts that set
        none of their own; `private_callbacks`: an account may allow its callbacks private
        addresses (the server's setting, `Settings.private_callbacks_by_account`)."""
        self._pool = pool
        self._max_queued = max_queued
        self._private_callbacks = private_callbacks

    async def create_account(self, name: str, time_zone: str = DEFAULT_TIME_ZONE) -> NewAccount:
        """Create a tenant and its first admin key; the key is returned once and stored hashed."""
        if not name.strip():
            raise InvalidArgument("an account name is required")
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidArgument(f"{time_zone!r} is not a known time zone") from None
        async with transaction(self._pool) as conn:
            account_id = await store.insert_account(conn, name.strip(), time_zone)
            _, secret = await _issue(conn, account_id, None, "initial")
        return NewAccount(account_id, secret)

    async def list_accounts(self) -> list[Tenant]:
        async with transaction(self._pool) as conn:
            return await store.list_accounts(conn)

    async def create_key(
        self, account_id: int, name: str = "", source_id: int | None = None
    ) -> tuple[KeyInfo, str]:
        """Issue a key (an admin key, or a source's posting key); returns its info and its
        secret."""
        if account_id <= 0:  # 0 is reserved for posts that name no known lead source
            raise NotFound("no such account")
        async with transaction(self._pool) as conn:
            return await _issue(conn, account_id, source_id, name)

    async def list_keys(self, account_id: int, source_id: int | None = None) -> list[KeyInfo]:
        async with transaction(self._pool) as conn:
            return await store.list_keys(conn, account_id, source_id)

    async def revoke_key(self, account_id: int, key_id: int, source_id: int | None = None) -> None:
        async with transaction(self._pool) as conn:
            if not await store.revoke_key(conn, account_id, source_id, key_id):
                raise NotFound(f"no live key {key_id}")

    async def settings(self, account_id: int) -> AccountSettings:
        """What the account's admin has set for the account as a whole."""
        async with statements(self._pool) as conn:
            found = await store.get_settings(conn, account_id)
        return self._applied(found)

    async def update_settings(
        self, account_id: int, settings: AccountSettings, changed: frozenset[str] | None
    ) -> AccountSettings:
        """Change the settings `changed` names (every one when None): whether the account's
        callbacks may go to private, loopback and link-local addresses
        (server/domain/addresses.py; refused whatever is set on a server that allows none),
        its own limit of /async posts waiting (None: the server's), and the days its post
        log keeps request bodies (None: for ever; `PostBodyRetention` removes them)."""
        refusal = queue_limit_refusal(settings.max_queued_posts)
        if refusal and (changed is None or "max_queued_posts" in changed):
            raise InvalidArgument([Violation("settings.max_queued_posts", refusal)])
        refusal = post_body_days_refusal(settings.post_body_days)
        if refusal and (changed is None or "post_body_days" in changed):
            raise InvalidArgument([Violation("settings.post_body_days", refusal)])
        allowing = changed is None or "allow_private_callbacks" in changed
        if allowing and settings.allow_private_callbacks and not self._private_callbacks:
            raise FailedPrecondition(
                "this server does not allow private callbacks to any account "
                "(LEADROUTER_PRIVATE_CALLBACKS=never)"
            )
        async with statements(self._pool) as conn:  # one statement
            found = await store.update_settings(conn, account_id, settings, changed)
        return self._applied(found)

    def _applied(self, found: AccountSettings | None) -> AccountSettings:
        """The settings as they apply: a server that allows no private callbacks shows
        none allowed, whatever was set before it said so."""
        if found is None:
            raise NotFound("no such account")
        allowed = found.allow_private_callbacks and self._private_callbacks
        limit = found.max_queued_posts or self._max_queued
        return replace(found, queue_limit=limit, allow_private_callbacks=allowed)

    async def authenticate(self, presented: str) -> Caller:
        """The caller a presented key belongs to; Unauthenticated for anything else."""
        if secrets.key_prefix(presented) is None:
            raise Unauthenticated("the API key is malformed")
        async with statements(self._pool) as conn:  # a read, and at most one write
            return await authenticate_in(conn, presented)


async def _issue(
    conn: Connection, account_id: int, source_id: int | None, name: str
) -> tuple[KeyInfo, str]:
    key = secrets.new_api_key()
    info = await store.insert_key(conn, account_id, source_id, key.prefix, key.digest, name)
    return info, key.secret


async def authenticate_in(conn: Connection, presented: str) -> Caller:
    """`Accounts.authenticate`, inside the caller's transaction (a lead post's own)."""
    prefix = secrets.key_prefix(presented)
    if prefix is None:
        raise Unauthenticated("the API key is malformed")
    stored = await store.find_live_key(conn, prefix)
    if stored is None or not secrets.key_matches(presented, stored.digest):
        raise Unauthenticated("the API key is not valid or has been revoked")
    if stored.touch_due:
        await store.touch_key(conn, stored.account_id, stored.id)
    return Caller(stored.account_id, stored.id, stored.source_id)
