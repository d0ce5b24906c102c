"""Where the database is: an embedded PostgreSQL in the data folder, or a configured URL.

The embedded server (package `pgserver`) lives in `<data_dir>/pg`. Several leadrouter
processes on one data folder share it: pgserver keeps a list of the processes using it and
stops the server when the last one exits. A process killed outright (`kill -9`) never takes
itself off that list, and pgserver stops the server only when the process leaving is the last
one listed, so the ids of dead processes are dropped from the list before each start.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, LiteralString

import psutil
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

        folder = settings.data_dir.resolve() / "pg"
        forget_dead_users(folder)
        server = pgserver.get_server(folder, cleanup_mode="stop")
    url: str = server.get_uri()
    log.info("embedded PostgreSQL at %s", settings.data_dir / "pg")
    return url


def forget_dead_users(folder: Path) -> None:
    """Drop the processes that died without leaving from the embedded server's list of users
    (`.handle_pids.json`), under pgserver's own lock, so that the server stops with the last
    live user. pgserver 0.1.4 keeps the list there; its version is pinned for that."""
    from pgserver.postgres_server import PostgresServer

    listed = folder / ".handle_pids.json"
    with PostgresServer._lock:
        try:
            users = json.loads(listed.read_text())
        except (OSError, ValueError):
            return  # no list yet (a new folder), or one pgserver will write again
        if not isinstance(users, list):
            return
        alive = [pid for pid in users if isinstance(pid, int) and _alive(pid)]
        if alive != users:
            listed.write_text(json.dumps(alive))
            gone = sorted(set(users) - set(alive), key=str)
            log.info("embedded PostgreSQL: dropped dead users %s from its list", gone)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


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
    "client_groups_description": (AlreadyExists, "a client group with this name already exists"),
    "distribution_list_items_pkey": (
        AlreadyExists,
        "the distribution list already has an item with this value",
    ),
    "api_keys_account_id_source_id_fkey": (NotFound, "no such lead source"),
    "api_keys_account_id_fkey": (NotFound, "no such account"),
    "signing_secrets_account_id_source_id_fkey": (NotFound, "no such lead source"),
    "callbacks_account_id_source_id_fkey": (NotFound, "no such lead source"),
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


@asynccontextmanager
async def statements(pool: Pool) -> AsyncIterator[Connection]:
    """A unit of work whose statements each commit on their own (autocommit), its errors as
    `transaction()` raises them: for reads, and for a single write.

    Each statement is a transaction of its own: one round trip, where in a `transaction()`
    block BEGIN and COMMIT take one more each (psycopg's pipeline mode would not save them:
    it waits for BEGIN and for COMMIT apart). Reads see what they would see in a block, as
    READ COMMITTED takes a new snapshot for every statement there too. Nothing that must be
    all or nothing, and no row lock, belongs here.
    """
    async with _storage_errors(), pool.connection() as conn:
        await conn.set_autocommit(True)
        try:
            yield conn
        finally:
            if not conn.closed:  # a lost one is dropped by the pool; resetting it would raise
                await conn.set_autocommit(False)


async def run_alone(
    pool: Pool, query: LiteralString, params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """One statement as a transaction of its own (`statements`), and its rows (none when it
    returns none)."""
    async with statements(pool) as conn:
        cursor = await conn.execute(query, params)
        return await cursor.fetchall() if cursor.description else []


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


def unique_taken(messages: Mapping[str, str]) -> AbstractContextManager[None]:
    """A unique violation of one of the named constraints, as AlreadyExists with its message
    (a key or user name already taken); any other leaves as it came."""
    return _named_violation(psycopg.errors.UniqueViolation, AlreadyExists, messages)


def reference_known(messages: Mapping[str, str]) -> AbstractContextManager[None]:
    """A foreign key violation of one of the named constraints, as NotFound with its message
    (a record the account does not have); any other leaves as it came."""
    return _named_violation(psycopg.errors.ForeignKeyViolation, NotFound, messages)


@contextmanager
def _named_violation(
    violation: type[psycopg.Error], error: type[LeadRouterError], messages: Mapping[str, str]
) -> Iterator[None]:
    try:
        yield
    except violation as exc:
        message = messages.get(exc.diag.constraint_name or "")
        if message is None:
            raise
        raise error(message) from exc
