"""Queued posts and callbacks on the real database: a worker's statements find the one row
they lease, record or finish by its key, whatever plan PostgreSQL caches for them, while the
account has many posts waiting."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from server.domain.intake.screening import Step
from server.services.accounts import Accounts
from server.services.callbacks import queue_callback
from server.services.config_apply import ConfigApply
from server.storage import callbacks as callback_store
from server.storage import queued_posts as store
from server.storage.database import transaction
from server.storage.leads import PostEntry
from tests.support.documents import EXAMPLE

WAITING = 300


async def _tenant(pool: Any) -> tuple[int, int]:
    created = await Accounts(pool).create_account("Queue lookups")
    ids = await ConfigApply(pool).apply(created.account_id, EXAMPLE)
    return created.account_id, ids.sources["acme-media"]


def _new(account_id: int, source_id: int) -> store.NewQueuedPost:
    entry = PostEntry(
        account_id=account_id,
        post_id=str(uuid.uuid4()),
        source_id=source_id,
        campaign_id=None,
        lead_type_id=None,
        remote_ip="127.0.0.1",
        request_format="urlencoded",
        request_body=b"FirstName=Ann",
        request_truncated=False,
        lead_index=0,
        request_post_id=None,
        is_valid=False,
        response_type=0,
        response_details="Queued",
        lead_id=None,
        price=Decimal("0"),
        steps=[],
    )
    return store.NewQueuedPost(
        entry, source_id, b"{}", b"{}", "", "general", "json", "http://127.0.0.1/"
    )


async def _fetched(conn: Any, table: str) -> int:
    """Rows this transaction fetched from `table` through its indexes."""
    cursor = await conn.execute(
        "SELECT idx_tup_fetch AS n FROM pg_stat_xact_user_tables WHERE relname = %s", [table]
    )
    row = await cursor.fetchone()
    return int(row["n"] or 0) if row else 0


async def test_a_worker_finds_its_queued_post_by_key_among_many_waiting(pool: Any) -> None:
    """Leasing, recording and finishing a queued post reads that post, not every post its
    account has waiting (migration 0041), under the generic plans prepared statements use."""
    account_id, source_id = await _tenant(pool)
    writer = store.QueueWriter(pool, max_queued=10_000, reserve_seconds=60)
    posts = [_new(account_id, source_id) for _ in range(WAITING)]
    for new in posts:
        assert await writer.enqueue(new)
    post_id = posts[-1].post.post_id
    answered = store.AnsweredLead(post_id, 0, "Lead was accepted", account_id=account_id)
    finished = store.Finished(
        "application/json", b"{}", answered, True, Step("process", "passed", "", 1)
    )
    async with transaction(pool) as conn:
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        before = await _fetched(conn, "queued_posts")
        leased = await store.start(conn, account_id, post_id, 30)
        assert leased is not None
        assert await store.record(conn, leased.lease, 0, [answered])
        assert await store.finish(conn, leased.lease, finished)
        assert await _fetched(conn, "queued_posts") - before <= 6


async def test_leasing_callbacks_reads_the_callbacks_leased_not_the_accounts_others(
    pool: Any,
) -> None:
    """A poll for due callbacks reads those it leases, not every callback of their account
    (the account's setting is read per callback, not joined), however many were delivered."""
    account_id, source_id = await _tenant(pool)
    async with transaction(pool) as conn:
        for _ in range(WAITING):
            post_id = str(uuid.uuid4())
            url = "http://a.example/"
            await queue_callback(conn, account_id, source_id, post_id, url, "x", b"")
        await conn.execute(
            "UPDATE callbacks SET state = 'delivered', finished_at = now() "
            "WHERE account_id = %s AND id <> ("
            "SELECT max(id) FROM callbacks WHERE account_id = %s)",
            [account_id, account_id],
        )
    async with transaction(pool) as conn:
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        before = await _fetched(conn, "callbacks")
        leased = await callback_store.claim_due(conn, 30, 32)
        assert [(c.lease.account_id, c.allow_private) for c in leased] == [(account_id, False)]
        assert await _fetched(conn, "callbacks") - before <= 4


async def test_leasing_a_callback_writes_no_index_entry(pool: Any) -> None:
    """Leasing callbacks changes no indexed column and finds room on their pages: leases are
    HOT updates (migration 0042; all but one a page may find no more room for), so the due
    index's pages are left as they are and the scans that pass delivered callbacks' entries
    can mark them dead."""
    account_id, source_id = await _tenant(pool)
    async with transaction(pool) as conn:
        for _ in range(40):
            url = "http://a.example/"
            await queue_callback(conn, account_id, source_id, str(uuid.uuid4()), url, "x", b"")
    async with transaction(pool) as conn:
        leased = await callback_store.claim_due(conn, 30, 64)
        cursor = await conn.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
            "WHERE relname = 'callbacks'"
        )
        updated = await cursor.fetchone()
    assert len(leased) == 40
    assert updated["n_tup_upd"] == 40 and updated["n_tup_hot_upd"] >= 36
