"""Migrations on a real PostgreSQL: from empty, once each, and every table scoped by account."""

from __future__ import annotations

import re

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


async def test_a_row_read_by_its_key_is_found_through_the_key_before_any_analyse(
    database_url: str,
) -> None:
    """On tables never analysed (a new install's first minute), a generic plan could take
    another index led by account_id for the primary key and filter on the rest, reading
    every row of the account to find one (0012_key_lookups.sql). For every table, a lookup
    by its primary key, as a foreign key check makes it, must search the index on every
    key column after account_id (an index on id alone is as good: ids are unique)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        keys = conn.execute(
            "SELECT c.conrelid::regclass::text AS tab,"
            "       array_agg(a.attname ORDER BY k.n) AS cols,"
            "       array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY k.n) AS types"
            " FROM pg_constraint c, unnest(c.conkey) WITH ORDINALITY k(attnum, n), pg_attribute a"
            " WHERE c.contype = 'p' AND c.connamespace = 'public'::regnamespace"
            "   AND a.attrelid = c.conrelid AND a.attnum = k.attnum"
            " GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert len(keys) > 20
        conn.execute("SET plan_cache_mode = force_generic_plan")
        wrong = {}
        for table, columns, types in keys:
            condition = " AND ".join(f"{c} = ${i}" for i, c in enumerate(columns, 1))
            lookup = f"SELECT 1 FROM ONLY {table} x WHERE {condition} FOR KEY SHARE OF x"
            conn.execute(f"PREPARE by_key({', '.join(types)}) AS {lookup}", prepare=False)  # type: ignore[arg-type]
            nulls = ", ".join("NULL" for _ in columns)
            explained = conn.execute(f"EXPLAIN EXECUTE by_key({nulls})", prepare=False)  # type: ignore[arg-type]
            plan = " ".join(r[0] for r in explained)
            conn.execute("DEALLOCATE by_key", prepare=False)
            searched = " ".join(re.findall(r"Index Cond: (.*?)(?:  |$)", plan))
            if any(not re.search(rf'\b{column}"? = ', searched) for column in columns[1:]):
                wrong[table] = re.findall(r"using (\S+)", plan)
    assert wrong == {}
