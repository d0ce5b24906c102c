"""Shared fixtures: one embedded PostgreSQL per test run, a migrated template database built
once, and a fresh database cloned from it for each test that needs one (cloned ahead, and
dropped after, by a thread of their own: `Clones`).

Outbound network is refused except to loopback and Unix sockets.
"""

from __future__ import annotations

import ipaddress
import itertools
import queue
import signal
import socket
import threading
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest

from server.storage.database import Connection, open_pool
from server.storage.migrations import migrate

TEMPLATE = "leadrouter_template"
# Bookkeeping that changes on every authenticated call, not data a request changes.
VOLATILE_COLUMNS = frozenset({"last_used_at"})
_numbers = itertools.count()


def _allowed(address: Any) -> bool:
    if isinstance(address, str | bytes):  # a Unix socket path
        return True
    host = address[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(scope="session", autouse=True)
def loopback_only() -> Iterator[None]:
    """Tests never reach out: a connection to anything but loopback fails loudly."""
    original = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> None:
        if not _allowed(address):
            raise RuntimeError(f"tests may only connect to loopback, not {address!r}")
        original(self, address)

    socket.socket.connect = guarded  # type: ignore[method-assign]
    yield
    socket.socket.connect = original  # type: ignore[method-assign]


@pytest.fixture(scope="session", autouse=True)
def no_server_left(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Stop, once the tests are over, every embedded PostgreSQL a test started in its own data
    folder and left running: a `serve` killed and never started again on its folder leaves
    its server behind, since no live user is left to stop it."""
    yield
    for pid_file in tmp_path_factory.getbasetemp().rglob("postmaster.pid"):
        stop_postmaster(pid_file)


def stop_postmaster(pid_file: Path, seconds: float = 10.0) -> None:
    """Stop the PostgreSQL server that wrote `pid_file`, if it runs (a fast shutdown)."""
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        process = psutil.Process(pid)
        if "postgres" not in process.name():
            return
        process.send_signal(signal.SIGINT)
        process.wait(seconds)
    except (psutil.NoSuchProcess, psutil.TimeoutExpired):
        pass


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import pgserver

        server = pgserver.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete")
    yield server
    server.cleanup()


def _url(server: Any, database: str) -> str:
    return str(server.get_uri(database))


@pytest.fixture(scope="session")
async def template_url(pg_server: Any) -> str:
    with psycopg.connect(_url(pg_server, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE}")
        conn.execute(f"CREATE DATABASE {TEMPLATE}")
    url = _url(pg_server, TEMPLATE)
    await migrate(url)
    return url


@pytest.fixture
def empty_database_url(pg_server: Any) -> str:
    """A new database with no schema at all."""
    name = f"empty_{next(_numbers)}"
    with psycopg.connect(_url(pg_server, "postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    return _url(pg_server, name)


class Clones:
    """Databases cloned from the template ahead of the tests that take them, and dropped
    after them, by a thread of their own: a clone takes about half a second (PostgreSQL
    copies the template through its WAL), which the thread spends while the test before
    runs rather than the test that needs it waiting."""

    def __init__(self, admin_url: str, ahead: int = 2) -> None:
        self._admin = admin_url
        self._ready: queue.Queue[str | BaseException] = queue.Queue(maxsize=ahead)
        self._dropping: queue.Queue[str] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clones", daemon=True)
        self._thread.start()

    def take(self) -> str:
        """The name of a fresh clone; raises what stopped the thread making it."""
        found = self._ready.get(timeout=120)
        if isinstance(found, BaseException):
            self._ready.put(found)  # every later test fails with it too
            raise RuntimeError("cloning the template database failed") from found
        return found

    def drop(self, name: str) -> None:
        """Drop a test's database once its test is over (FORCE ends what it left open)."""
        self._dropping.put(name)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        try:
            with psycopg.connect(self._admin, autocommit=True) as conn:
                while not self._stop.is_set():
                    self._drop_done(conn)
                    if self._ready.full():
                        self._stop.wait(0.01)
                        continue
                    name = f"test_{next(_numbers)}"
                    conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")  # type: ignore[arg-type]
                    self._ready.put(name)
                self._drop_done(conn)
        except BaseException as exc:
            self._ready.put(exc)

    def _drop_done(self, conn: psycopg.Connection[Any]) -> None:
        while not self._dropping.empty():
            name = self._dropping.get()
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def clones(pg_server: Any, template_url: str) -> Iterator[Clones]:
    made = Clones(_url(pg_server, "postgres"))
    yield made
    made.close()


@pytest.fixture
def database_url(pg_server: Any, clones: Clones) -> Iterator[str]:
    """A migrated database of the test's own, cloned from the template."""
    name = clones.take()
    yield _url(pg_server, name)
    clones.drop(name)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Any]:
    pool = await open_pool(database_url, max_size=4)
    yield pool
    await pool.close()


async def snapshot(pool: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (less volatile columns), in a stable order, to compare."""
    conn: Connection
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' ORDER BY table_name"
        )
        tables = [row["table_name"] for row in await cursor.fetchall()]
        found = {}
        raw = conn.cursor(row_factory=psycopg.rows.tuple_row)
        for table in tables:
            await raw.execute(f"SELECT * FROM {table} ORDER BY 1, 2")  # type: ignore[arg-type]
            names = [column.name for column in raw.description or ()]
            kept = [i for i, name in enumerate(names) if name not in VOLATILE_COLUMNS]
            found[table] = [tuple(row[i] for i in kept) for row in await raw.fetchall()]
    return found
