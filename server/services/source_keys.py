"""A lead source's posting keys: issued, listed and revoked, the source named by id or key."""

from __future__ import annotations

from dataclasses import dataclass

from server.domain import secrets
from server.domain.accounts import KeyInfo
from server.domain.catalog.records import StoredCampaign, StoredSource
from server.errors import NotFound
from server.storage import accounts as key_store
from server.storage import catalog as catalog_store
from server.storage.database import Connection, Pool, statements, transaction

# A lead source as a caller names it: its id, or text that is its id (digits) or its key.
SourceRef = int | str


@dataclass(frozen=True)
class IssuedSourceKey:
    """A posting key just issued (its secret shown this once), with its source and the
    source's campaigns, which say what a post with the key still needs."""

    source: StoredSource
    campaigns: list[StoredCampaign]
    key: KeyInfo
    secret: str


class SourceKeys:
    """The keys a lead source posts with (api_keys rows with its source_id)."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def issue(self, account_id: int, source: SourceRef, name: str = "") -> IssuedSourceKey:
        async with transaction(self._pool) as conn:
            found = await _source(conn, account_id, source)
            made = secrets.new_api_key()
            info = await key_store.insert_key(
                conn, account_id, found.id, made.prefix, made.digest, name
            )
            campaigns = await catalog_store.list_campaigns(conn, account_id, source_id=found.id)
        return IssuedSourceKey(found, campaigns, info, made.secret)

    async def keys(self, account_id: int, source: SourceRef) -> tuple[StoredSource, list[KeyInfo]]:
        """The source and its keys, live and revoked, oldest first (never their secrets)."""
        async with statements(self._pool) as conn:
            found = await _source(conn, account_id, source)
            return found, await key_store.list_keys(conn, account_id, found.id)

    async def revoke(self, account_id: int, source: SourceRef, key_id: int) -> StoredSource:
        async with transaction(self._pool) as conn:
            found = await _source(conn, account_id, source)
            if not await key_store.revoke_key(conn, account_id, found.id, key_id):
                raise NotFound(f"lead source {found.id} has no live key {key_id}")
        return found


async def _source(conn: Connection, account_id: int, source: SourceRef) -> StoredSource:
    """The account's source with this id, else (text only) with this key. Ids are looked for
    first, so a key made only of digits that is also another source's id names that source."""
    if isinstance(source, int):
        found = await catalog_store.list_sources(conn, account_id, source)
        if not found:
            raise NotFound(f"no lead source {source}")
        return found[0]
    numeric = source.isascii() and source.isdigit() and len(source) <= 18
    if numeric:
        found = await catalog_store.list_sources(conn, account_id, int(source))
        if found:
            return found[0]
    found = await catalog_store.list_sources(conn, account_id, keys=[source])
    if not found:
        raise NotFound(f"no lead source with {'id or ' if numeric else ''}key {source!r}")
    return found[0]
