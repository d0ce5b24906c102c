"""The engine's buyer snapshot query on tables whose statistics do not know the account's
buyers yet: never analysed, or analysed before they were added."""

from __future__ import annotations

from typing import Any, LiteralString, cast

import pytest

from server.domain.config.document import read_document
from server.services import config_apply
from server.services.accounts import Accounts
from server.services.config_apply import ConfigApply
from server.storage.queries import q
from tests.support.documents import EXAMPLE, unreachable_buyers

BUYERS = 300
ACCOUNTS_PER_BUYER = 5


def _clients(buyers: int = BUYERS) -> list[dict[str, Any]]:
    return unreachable_buyers(buyers, accounts=ACCOUNTS_PER_BUYER, price="10")


def _rows_handled(plan: dict[str, Any]) -> int:
    """The most rows any node of an EXPLAIN ANALYZE plan produced, over all its loops."""
    own = int(plan["Actual Rows"] * plan["Actual Loops"])
    return max([own, *(_rows_handled(child) for child in plan.get("Plans", []))])


async def _reltuples(pool: Any) -> dict[str, float]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT relname, reltuples FROM pg_class"
            " WHERE relname IN ('clients', 'deliveries', 'delivery_accounts')"
        )
        return {r["relname"]: r["reltuples"] for r in await cursor.fetchall()}


async def _snapshot_plan(pool: Any, account_id: int, lead_type_id: int) -> dict[str, Any]:
    statement = cast(LiteralString, "EXPLAIN (ANALYZE, FORMAT JSON) " + q("buyer_snapshot"))
    async with pool.connection() as conn:
        cursor = await conn.execute(
            statement, {"account_id": account_id, "lead_type_id": lead_type_id}
        )
        row = await cursor.fetchone()
    plan: dict[str, Any] = next(iter(row.values()))[0]["Plan"]
    return plan


async def test_the_buyer_snapshot_never_joins_every_delivery_with_every_buyer(
    pool: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never analysed (buyers added a few at a time, before autovacuum came round), the
    planner took the account's buyers and delivery methods for one row each and joined them
    on account_id alone: every delivery method with every buyer (10.8 s at 10,000 accounts).
    Joined on the buyer too, no node handles more rows than the snapshot returns."""
    monkeypatch.setattr(config_apply, "ANALYZE_AFTER", 10**9)
    tenant = await Accounts(pool).create_account("snapshot")
    document = {"lead_types": EXAMPLE["lead_types"], "clients": _clients()}
    applied = await ConfigApply(pool).apply(tenant.account_id, document)
    assert set((await _reltuples(pool)).values()) == {-1}  # the case this test is about
    plan = await _snapshot_plan(pool, tenant.account_id, applied.lead_types["auto-insurance"])
    assert plan["Actual Rows"] == BUYERS * ACCOUNTS_PER_BUYER
    assert _rows_handled(plan) <= BUYERS * ACCOUNTS_PER_BUYER


async def test_a_large_apply_analyses_the_buyer_tables(pool: Any) -> None:
    """Analysed while the tables held another account's few buyers, the statistics took this
    account's for a handful and the snapshot read every buyer for every account (3.4 s at
    10,000). An apply writing ANALYZE_AFTER buyer rows or more analyses the tables itself."""
    first = await Accounts(pool).create_account("first")
    await ConfigApply(pool).apply(
        first.account_id, {"lead_types": EXAMPLE["lead_types"], "clients": _clients(3)}
    )
    async with pool.connection() as conn:
        await conn.execute("ANALYZE clients, deliveries, delivery_accounts")
    small = await _reltuples(pool)
    tenant = await Accounts(pool).create_account("large")
    document = {"lead_types": EXAMPLE["lead_types"], "clients": _clients()}
    assert config_apply._buyer_rows(read_document(document)) >= config_apply.ANALYZE_AFTER
    applied = await ConfigApply(pool).apply(tenant.account_id, document)
    assert await _reltuples(pool) == {
        table: rows + BUYERS * per_buyer
        for (table, rows), per_buyer in zip(
            sorted(small.items()), (1, 1, ACCOUNTS_PER_BUYER), strict=True
        )
    }
    plan = await _snapshot_plan(pool, tenant.account_id, applied.lead_types["auto-insurance"])
    assert _rows_handled(plan) <= BUYERS * ACCOUNTS_PER_BUYER


async def test_a_small_apply_leaves_the_statistics_to_autovacuum(pool: Any) -> None:
    tenant = await Accounts(pool).create_account("small")
    document = {"lead_types": EXAMPLE["lead_types"], "clients": _clients(3)}
    await ConfigApply(pool).apply(tenant.account_id, document)
    assert set((await _reltuples(pool)).values()) == {-1}
