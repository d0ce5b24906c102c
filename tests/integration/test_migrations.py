"""Migrations on a real PostgreSQL: from empty, once each, and every table scoped by account."""

from __future__ import annotations

import psycopg

from server.storage.migrations import available, migrate


async def test_from_empty_applies_every_migration_in_order(empty_database_url: str) -> None:
    applied = await migrate(empty_database_url)
    assert [m.version for m in applied] == [m.version for m in available()]
    with psycopg.connect(empty_database_url) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    assert [r[0] for r in rows] == [m.version for m in available()]


async def test_second_run_applies_nothing(empty_database_url: str) -> None:
    await migrate(empty_database_url)
    assert await migrate(empty_database_url) == []


async def test_every_table_carries_the_account_id(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        tables = conn.execute(
            "SELECT t.table_name FROM information_schema.tables t"
            " WHERE t.table_schema = 'public' AND t.table_name <> 'schema_migrations'"
            " AND NOT EXISTS (SELECT 1 FROM information_schema.columns c"
            "   WHERE c.table_schema = 'public' AND c.table_name = t.table_name"
            "   AND c.column_name = 'account_id')"
        ).fetchall()
    assert tables == []


async def test_every_primary_key_starts_with_the_account_id(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        keys = conn.execute(
            "SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
            " WHERE c.contype = 'p' AND c.connamespace = 'public'::regnamespace"
            " AND c.conrelid::regclass::text <> 'schema_migrations'"
        ).fetchall()
    assert keys and all(column == "account_id" for _, column in keys)


async def test_concurrent_starts_apply_each_migration_once(empty_database_url: str) -> None:
    import asyncio

    results = await asyncio.gather(*(migrate(empty_database_url) for _ in range(4)))
    assert sorted(len(r) for r in results) == [0, 0, 0, len(available())]
