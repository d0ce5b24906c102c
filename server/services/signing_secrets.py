"""Lead sources' signing secrets: the key their callbacks are signed with
(server/domain/callbacks/signing.py).

A secret is shown once, when it is made, and never returned again. It is stored as given,
as outbound credentials are: it must sign. Rotating replaces it at once; callbacks sent from
then on, retries of older ones included, are signed with the new secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from server.domain.callbacks.signing import new_signing_secret
from server.errors import AlreadyExists, FailedPrecondition, NotFound
from server.storage import callbacks as store
from server.storage import catalog as catalog_store
from server.storage.database import Connection, Pool, transaction


@dataclass(frozen=True)
class NewSigningSecret:
    """A secret just made, to be shown this once."""

    source_id: int
    secret: str
    created_at: datetime


class SigningSecrets:
    """Creating and rotating lead sources' signing secrets."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def create(self, account_id: int, source_id: int) -> NewSigningSecret:
        """The source's first signing secret; AlreadyExists when it has one (rotate it)."""
        secret = new_signing_secret()
        async with transaction(self._pool) as conn:
            await _source(conn, account_id, source_id)
            created = await store.insert_signing_secret(conn, account_id, source_id, secret)
        if created is None:
            raise AlreadyExists(
                f"lead source {source_id} has a signing secret already; rotate it to replace it"
            )
        return NewSigningSecret(source_id, secret, created)

    async def rotate(self, account_id: int, source_id: int) -> NewSigningSecret:
        """Replace the source's signing secret; FailedPrecondition when it has none."""
        secret = new_signing_secret()
        async with transaction(self._pool) as conn:
            await _source(conn, account_id, source_id)
            rotated = await store.rotate_signing_secret(conn, account_id, source_id, secret)
        if rotated is None:
            raise FailedPrecondition(
                f"lead source {source_id} has no signing secret; create one first"
            )
        return NewSigningSecret(source_id, secret, rotated)


async def _source(conn: Connection, account_id: int, source_id: int) -> None:
    if account_id <= 0 or not await catalog_store.list_sources(conn, account_id, source_id):
        raise NotFound(f"no lead source {source_id}")
