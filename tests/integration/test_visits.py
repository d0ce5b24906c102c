"""Site visits on the real database: a page view creates or moves on its visit in one
statement, first visits by visitor id, unknown tracking ids and the minute cap record
nothing, and the retention sweep deletes what is past it, in batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.errors import NotFound
from server.services.accounts import Accounts
from server.services.visits import (
    RecordVisit,
    Trackings,
    VisitReads,
    VisitRetention,
    VisitSettings,
)
from server.storage.database import transaction

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


async def tracking(pool: Any, name: str = "Tenant") -> tuple[int, int]:
    made = await Accounts(pool).create_account(name)
    found = await Trackings(pool).create(made.account_id, "site")
    return made.account_id, found.id


async def test_a_visit_is_created_then_moved_on_by_each_page_view(pool: Any) -> None:
    account_id, tracking_id = await tracking(pool)
    record = RecordVisit(pool)
    first = await record.record(
        tracking_id,
        "",
        "https://shop.example.com/landing?utm=x",
        "https://www.google.com/search?q=car+insurance",
        "",
        "203.0.113.9",
        CHROME,
    )
    assert first.recorded and len(first.visit_id) == 32
    again = await record.record(
        tracking_id, first.visit_id, "https://shop.example.com/quote", "", "", "203.0.113.9", CHROME
    )
    assert again.visit_id == first.visit_id
    visit = await VisitReads(pool).visit(account_id, first.visit_id)
    assert (visit.tracking_id, visit.page_views, visit.first_visit) == (tracking_id, 2, True)
    assert (visit.url, visit.host) == ("https://shop.example.com/landing?utm=x", "shop.example.com")
    assert (visit.enter_page, visit.exit_page) == ("/landing", "/quote")
    assert (visit.referrer_host, visit.search_engine, visit.search_term) == (
        "www.google.com",
        "Google",
        "car insurance",
    )
    assert (visit.browser, visit.os, visit.ip) == ("Chrome 120", "Windows 10", "203.0.113.9")
    assert visit.exit_date >= visit.enter_date


async def test_a_visitor_seen_before_is_not_on_a_first_visit(pool: Any) -> None:
    account_id, tracking_id = await tracking(pool)
    record = RecordVisit(pool)
    one = await record.record(tracking_id, "", "https://e.com/", "", "browser-1", "", "")
    two = await record.record(tracking_id, "", "https://e.com/", "", "browser-1", "", "")
    other = await record.record(tracking_id, "", "https://e.com/", "", "browser-2", "", "")
    reads = VisitReads(pool)
    assert (await reads.visit(account_id, one.visit_id)).first_visit
    assert not (await reads.visit(account_id, two.visit_id)).first_visit
    assert (await reads.visit(account_id, other.visit_id)).first_visit


async def test_an_unknown_tracking_id_records_nothing(pool: Any) -> None:
    await tracking(pool)
    record = RecordVisit(pool)
    assert not (await record.record(999_999, "", "https://e.com/", "", "", "", "")).recorded
    assert not (await record.record(0, "", "https://e.com/", "", "", "", "")).recorded
    async with pool.connection() as conn:
        rows = await (await conn.execute("SELECT count(*) AS n FROM visits")).fetchone()
    assert rows["n"] == 0


async def test_visits_are_kept_apart_by_account(pool: Any) -> None:
    account_a, tracking_a = await tracking(pool, "A")
    account_b, tracking_b = await tracking(pool, "B")
    record = RecordVisit(pool)
    await record.record(tracking_a, "shared-id", "https://a.example/", "", "", "", "")
    await record.record(tracking_b, "shared-id", "https://b.example/", "", "", "", "")
    reads = VisitReads(pool)
    assert (await reads.visit(account_a, "shared-id")).host == "a.example"
    assert (await reads.visit(account_b, "shared-id")).page_views == 1
    account_c, _ = await tracking(pool, "C")
    with pytest.raises(NotFound):
        await reads.visit(account_c, "shared-id")


async def test_the_minute_cap_records_nothing_past_it(pool: Any) -> None:
    account_id, tracking_id = await tracking(pool)
    record = RecordVisit(pool, VisitSettings(per_minute=3))
    done = [
        await record.record(tracking_id, f"v{i}", "https://e.com/", "", "", "", "")
        for i in range(5)
    ]
    assert [d.recorded for d in done] == [True, True, True, False, False]
    with pytest.raises(NotFound):
        await VisitReads(pool).visit(account_id, "v3")


async def test_the_sweep_deletes_visits_past_retention_in_batches(pool: Any) -> None:
    account_id, tracking_id = await tracking(pool)
    record = RecordVisit(pool)
    for i in range(5):
        await record.record(tracking_id, f"old{i}", "https://e.com/", "", "", "", "")
    await record.record(tracking_id, "new", "https://e.com/", "", "", "", "")
    async with transaction(pool) as conn:
        await conn.execute(
            "UPDATE visits SET exit_date = exit_date - interval '91 days'"
            " WHERE visit_id LIKE 'old%%'"
        )
    retention = VisitRetention(pool, VisitSettings(retention_days=90, sweep_batch=2))
    assert await retention.sweep() == 5
    reads = VisitReads(pool)
    assert (await reads.visit(account_id, "new")).page_views == 1
    with pytest.raises(NotFound):
        await reads.visit(account_id, "old0")
    later = VisitRetention(
        pool, VisitSettings(retention_days=90), clock=lambda: datetime.now(UTC) + timedelta(days=91)
    )
    assert await later.sweep() == 1
