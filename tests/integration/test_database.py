"""`run_alone`, a statement that is a transaction of its own, on the real database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any, LiteralString, cast

import pytest

from server.errors import InvalidArgument
from server.storage.database import run_alone


@pytest.fixture
async def table(pool: Any) -> AsyncIterator[LiteralString]:
    """A scratch table of its own: id primary key, a text note."""
    name = cast(LiteralString, f"scratch_{uuid.uuid4().hex}")
    async with pool.connection() as conn:
        await conn.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, note text NOT NULL)")
    yield name
    async with pool.connection() as conn:
        await conn.execute(f"DROP TABLE {name}")


async def _rows(pool: Any, table: LiteralString) -> list[tuple[int, str]]:
    async with pool.connection() as conn:
        cursor = await conn.execute(f"SELECT id, note FROM {table} ORDER BY id")
        return [(r["id"], r["note"]) for r in await cursor.fetchall()]


async def test_run_alone_commits_its_statement_and_returns_its_rows(
    pool: Any, table: LiteralString
) -> None:
    rows = await run_alone(
        pool,
        f"INSERT INTO {table} VALUES (1, %(note)s), (2, 'b') RETURNING id",
        {"note": "a"},
    )
    assert [r["id"] for r in rows] == [1, 2]
    assert await _rows(pool, table) == [(1, "a"), (2, "b")]


async def test_run_alone_maps_a_failure_and_leaves_nothing(pool: Any, table: LiteralString) -> None:
    await run_alone(pool, f"INSERT INTO {table} VALUES (1, 'a')", {})
    with pytest.raises(InvalidArgument):
        await run_alone(pool, f"INSERT INTO {table} VALUES (2, 'b'), (3, %(nul)s)", {"nul": "\0"})
    assert await _rows(pool, table) == [(1, "a")]
    # every connection of the pool is usable afterwards, and back out of autocommit
    for _ in range(pool.max_size + 1):
        await run_alone(pool, "SELECT 1", {})
    held = [await pool.getconn() for _ in range(pool.max_size)]
    try:
        assert [c.autocommit for c in held] == [False] * pool.max_size
    finally:
        for conn in held:
            await pool.putconn(conn)
