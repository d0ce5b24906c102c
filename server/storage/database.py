"""Where the database is: an embedded PostgreSQL in the data folder, or a configured URL.

The embedded server (package `pgserver`) lives in `<data_dir>/pg`. Several leadrouter
processes on one data folder share it: pgserver keeps a list of the processes using it and
stops the server when the last one exits.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any, LiteralString

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from server.config import Settings
from server.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    LeadRouterError,
    NotFound,
    RolledBack,
    StorageUnavailable,
)
from server.storage.queries import q

log = logging.getLogger(__name__)

Connection = psycopg.AsyncConnection[dict[str, Any]]
Pool = AsyncConnectionPool[Connection]


def database_url(settings: Settings) -> str:
    """The configured URL, or that of the embedded server, started if it is not running."""
    if settings.database_url:
        return settings.database_url
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then uses /tmp, which is fine
        warnings.simplefilter("ignore", UserWarning)
        import pgserver  # imported here: it is needed only when no URL is configured

        server = pgserver.get_server(settings.data_dir.resolve() / "pg", cleanup_mode="stop")
    url: str = server.get_uri()
    log.info("embedded PostgreSQL at %s", settings.data_dir / "pg")
    return url


async def _configure(conn: Connection) -> None:
    await conn.execute(q("session_in_utc"))
    await conn.commit()


async def open_pool(url: str, max_size: int = 10) -> Pool:
    pool: Pool = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        kwargs={"row_factory": dict_row, "autocommit": False},
        configure=_configure,
        open=False,
    )
    try:
        await pool.open(wait=True, timeout=30)
    except psycopg.OperationalError as exc:
        raise StorageUnavailable(f"cannot reach the database: {exc}") from exc
    return pool


# Constraint violations a caller can cause, by constraint name, as the caller should read them.
_CONSTRAINTS: dict[str, tuple[type[LeadRouterError], str]] = {
    "lead_types_account_id_key_key": (AlreadyExists, "a lead type with this key already exists"),
    "lead_fields_name": (AlreadyExists, "the lead type already has a field with this name"),
    "sources_account_id_key_key": (AlreadyExists, "a lead source with this key already exists"),
    "sources_username": (AlreadyExists, "this portal user name is already taken"),
    "campaigns_account_id_key_key": (AlreadyExists, "a campaign with this key already exists"),
    "api_keys_account_id_source_id_fkey": (NotFound, "no such lead source"),
    "api_keys_account_id_fkey": (NotFound, "no such account"),
    "campaign_rules_account_id_lead_field_id_fkey": (
        FailedPrecondition,
        "the field is used by a campaign rule; change the rule first",
    ),
}


def rolled_back(error: BaseException) -> bool:
    """Whether PostgreSQL rolled the work back (class 40): a deadlock victim or a
    serialization failure, which taking the same work again normally gets past."""
    return isinstance(error, psycopg.Error) and (error.sqlstate or "").startswith("40")


@asynccontextmanager
async def transaction(pool: Pool) -> AsyncIterator[Connection]:
    """One use case's unit of work: commits when the block ends normally, else rolls back.

    Database errors leave here as leadrouter errors: known constraint violations with a clear
    message, lost connections as StorageUnavailable.
    """
    async with _storage_errors(), pool.connection() as conn, conn.transaction():
        yield conn


async def run_alone(
    pool: Pool, query: LiteralString, params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """One statement as a transaction of its own, and its rows (none when it returns none),
    its errors as `transaction()` raises them.

    The statement runs in autocommit, which PostgreSQL makes a transaction of its own: one
    round trip, where a `transaction()` block takes three (BEGIN, the statement, COMMIT).
    psycopg's pipeline mode would not save them: it waits for BEGIN and for COMMIT apart.
    """
    async with _storage_errors(), pool.connection() as conn:
        await conn.set_autocommit(True)
        try:
            cursor = await conn.execute(query, params)
            return await cursor.fetchall() if cursor.description else []
        finally:
            await conn.set_autocommit(False)


@asynccontextmanager
async def _storage_errors() -> AsyncIterator[None]:
    """Database errors raised in the block, as the leadrouter errors `transaction()` names."""
    try:
        yield
    except psycopg.DataError as exc:
        # a value PostgreSQL cannot take (NUL in text, a number out of range) that no check
        # before caught: the caller's to correct
        raise InvalidArgument(f"a value cannot be stored: {exc}") from exc
    except psycopg.errors.IntegrityError as exc:
        name = exc.diag.constraint_name or ""
        if name in _CONSTRAINTS:
            kind, message = _CONSTRAINTS[name]
            raise kind(message) from exc
        raise
    except (psycopg.OperationalError, TimeoutError) as exc:
        if rolled_back(exc):
            raise RolledBack("the database rolled the transaction back; try again") from exc
        raise StorageUnavailable("the database is unavailable; try again") from exc


@contextmanager
def unique_taken(messages: Mapping[str, str]) -> Iterator[None]:
    """A unique violation of one of the named constraints, as AlreadyExists with its message
    (a key or user name already taken); any other leaves as it came."""
    try:
        yield
    except psycopg.errors.UniqueViolation as exc:
        message = messages.get(exc.diag.constraint_name or "")
        if message is None:
            raise
        raise AlreadyExists(message) from exc
