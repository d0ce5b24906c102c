"""The profit-and-loss aggregates on the real database: two writers of one cell never wait on
each other (each appends its own delta), and a fold adds every pending delta into the cells
once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from server.services.reports import ReportFolding
from server.storage import reports as store

REFUSED_POST = (
    "INSERT INTO posts (account_id, id, source_id, campaign_id, lead_type_id, is_valid,"
    " response_type, response_details) VALUES (%s, gen_random_uuid(), 1, 2, 3, false, 6, 'dup')"
)


def _account(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "INSERT INTO accounts (name) VALUES ('P&L') RETURNING account_id"
        ).fetchone()
        assert row is not None
        return int(row[0])


async def test_two_writers_of_one_cell_do_not_wait_for_each_other(
    database_url: str, pool: Any
) -> None:
    account_id = _account(database_url)
    with psycopg.connect(database_url) as first, psycopg.connect(database_url) as second:
        first.execute(REFUSED_POST, [account_id])  # its transaction stays open
        second.execute("SET lock_timeout = '1s'")
        second.execute(REFUSED_POST, [account_id])  # would time out waiting on a shared row
        second.commit()
        first.commit()
    today = datetime.now(UTC).date()
    async with pool.connection() as conn, conn.transaction():
        await store.fold(conn, account_id)
        cells = await store.cells(conn, account_id, today - timedelta(days=1), today)
        pending = await conn.execute(
            "SELECT count(*) AS n FROM report_deltas WHERE account_id = %s", [account_id]
        )
        left = await pending.fetchone()
    assert [(c.source_id, c.campaign_id, c.lead_type_id, c.reason, c.refused) for c in cells] == [
        (1, 2, 3, 6, 2)
    ]
    assert left["n"] == 0


async def test_a_second_fold_adds_only_what_was_written_since(database_url: str, pool: Any) -> None:
    account_id = _account(database_url)
    today = datetime.now(UTC).date()
    with psycopg.connect(database_url) as conn:
        conn.execute(REFUSED_POST, [account_id])
    async with pool.connection() as conn, conn.transaction():
        await store.fold(conn, account_id)
    with psycopg.connect(database_url) as conn:
        conn.execute(REFUSED_POST, [account_id])
        conn.execute(REFUSED_POST, [account_id])
    async with pool.connection() as conn, conn.transaction():
        await store.fold(conn, account_id)
        await store.fold(conn, account_id)
        cells = await store.cells(conn, account_id, today - timedelta(days=1), today)
    assert [c.refused for c in cells] == [3]


async def test_the_background_fold_empties_every_accounts_deltas(
    database_url: str, pool: Any
) -> None:
    accounts = [_account(database_url) for _ in range(3)]
    with psycopg.connect(database_url) as conn:
        for account_id in accounts[:2]:
            conn.execute(REFUSED_POST, [account_id])

    assert await ReportFolding(pool).fold_all() == 2
    assert await ReportFolding(pool).fold_all() == 0

    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT account_id, sum(refused) AS n FROM report_cells"
            " WHERE account_id = ANY(%s) GROUP BY 1 ORDER BY 1",
            [accounts],
        )
        assert [(r["account_id"], r["n"]) for r in await cursor.fetchall()] == [
            (accounts[0], 1),
            (accounts[1], 1),
        ]
