"""The profit-and-loss aggregates on the real database: two writers of one cell never wait on
each other (each appends its own delta), and a fold adds every pending delta into the cells
once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from server.services.reports import ReportFolding
from server.storage import reports as store
from tests.support.sends import in_flight_sends

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


async def _deltas(conn: Any, account_id: int) -> int:
    cursor = await conn.execute(
        "SELECT count(*) AS n FROM report_deltas WHERE account_id = %s", [account_id]
    )
    row = await cursor.fetchone()
    return int(row["n"])


async def test_statements_on_sends_append_their_net_change_per_cell(pool: Any) -> None:
    """Updates of sends count through a statement trigger (migration 0038): one finishing many
    sends of one cell appends one delta, a statement that changes no count appends none, and
    whatever the statements did, the folded cells equal a rebuild from the rows."""
    account_id, sends = await in_flight_sends(pool, 3)
    ids = [send for _, send in sends]
    today = datetime.now(UTC).date()
    async with pool.connection() as conn:
        await store.fold(conn, account_id)
        await conn.commit()
        before = await _deltas(conn, account_id)
        await conn.execute(  # 8 sold at 7.50, 4 rejected, in one statement
            "UPDATE sends SET status = CASE WHEN id = ANY(%s) THEN 4 ELSE 3 END, price = 7.5"
            " WHERE account_id = %s AND id = ANY(%s)",
            [ids[::3], account_id, ids],
        )
        assert await _deltas(conn, account_id) == before + 1
        await conn.execute(  # a change that counts for nothing
            "UPDATE sends SET request = 'again' WHERE account_id = %s AND id = ANY(%s)",
            [account_id, ids],
        )
        assert await _deltas(conn, account_id) == before + 1
        await conn.execute(
            "UPDATE sends SET price = 9 WHERE account_id = %s AND id = %s", [account_id, ids[1]]
        )
        await conn.execute(
            "UPDATE sends SET returned_at = now() WHERE account_id = %s AND id = %s",
            [account_id, ids[1]],
        )
        await conn.execute(
            "DELETE FROM sends WHERE account_id = %s AND id = %s", [account_id, ids[0]]
        )
        await conn.execute(
            "INSERT INTO sends (account_id, lead_id, client_id, delivery_account_id, delivery_id,"
            " status, price) SELECT account_id, lead_id, client_id, delivery_account_id,"
            " delivery_id, 3, 5 FROM sends WHERE account_id = %s AND id = %s",
            [account_id, ids[2]],
        )
        await conn.commit()
        await store.fold(conn, account_id)
        kept = await store.cells(conn, account_id, today, today)
        await store.rebuild(conn, account_id, today, today)
        rebuilt = await store.cells(conn, account_id, today, today)
        await conn.commit()
    sold = [c for c in kept if c.buyer_id]
    assert [(c.sold, c.sends, c.revenue, c.returns, c.credits) for c in sold] == [
        (9, 12, Decimal("66.5000"), 1, Decimal("9.0000"))
    ]
    assert kept == rebuilt


async def test_finishing_sends_looks_their_leads_up_by_key(pool: Any) -> None:
    """The sends' statement trigger finds each finished send's lead by its primary key, not by
    reading the leads table (migration 0040): a finishing statement scans no lead in full."""
    account_id, sends = await in_flight_sends(pool, 60)
    ids = [send for _, send in sends]
    async with pool.connection() as conn:
        await conn.execute("ANALYZE leads")
        await conn.commit()

        async def scans() -> int:
            cursor = await conn.execute(
                "SELECT seq_scan AS n FROM pg_stat_xact_user_tables WHERE relname = 'leads'"
            )
            row = await cursor.fetchone()
            return int(row["n"]) if row else 0

        before = await scans()
        for group in (ids[:4], ids[4:40], ids[40:]):
            await conn.execute(
                "UPDATE sends SET status = 3, price = 7.5 WHERE account_id = %s AND id = ANY(%s)",
                [account_id, group],
            )
        assert await scans() == before
        await conn.rollback()
