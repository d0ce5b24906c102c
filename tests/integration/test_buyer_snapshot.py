"""The engine's buyer snapshot query on a database whose tables were never analysed: right
after a large config apply, before autovacuum's first ANALYZE."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, LiteralString, cast

from server.services import accounts
from server.services.config_apply import apply_config
from server.storage.queries import q

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "acme.json").read_text())
BUYERS = 300
ACCOUNTS_PER_BUYER = 5


def _clients() -> list[dict[str, Any]]:
    return [
        {
            "key": f"b{number}",
            "name": f"Buyer {number}",
            "status": "Active",
            "deliveries": [
                {
                    "key": "post",
                    "type": "http_post",
                    "lead_type": "auto-insurance",
                    "address": "http://127.0.0.1:9/buy",
                    "response_search": "accepted",
                    "mappings": [{"field": "Email", "param": "email"}],
                }
            ],
            "accounts": [
                {"key": f"a{index}", "delivery": "post", "price": "10"}
                for index in range(ACCOUNTS_PER_BUYER)
            ],
        }
        for number in range(BUYERS)
    ]


def _rows_handled(plan: dict[str, Any]) -> int:
    """The most rows any node of an EXPLAIN ANALYZE plan produced, over all its loops."""
    own = int(plan["Actual Rows"] * plan["Actual Loops"])
    return max([own, *(_rows_handled(child) for child in plan.get("Plans", []))])


async def test_the_buyer_snapshot_never_joins_every_delivery_with_every_buyer(pool: Any) -> None:
    """Cold, the planner took the buyers of the account and their delivery methods for one row
    each and joined them on account_id alone: every delivery method with every buyer (10.8 s
    at 10,000 accounts). Joined on the buyer too, no node handles more rows than it returns
    times the few accounts a buyer has."""
    tenant = await accounts.create_account(pool, "snapshot")
    document = {"lead_types": EXAMPLE["lead_types"], "clients": _clients()}
    applied = await apply_config(pool, tenant.account_id, document)
    statement = cast(LiteralString, "EXPLAIN (ANALYZE, FORMAT JSON) " + q("buyer_snapshot"))
    async with pool.connection() as conn:
        analysed = await conn.execute(
            "SELECT count(*) AS n FROM pg_stat_user_tables"
            " WHERE relname IN ('clients', 'deliveries', 'delivery_accounts')"
            " AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)"
        )
        assert (await analysed.fetchone())["n"] == 0  # the case this test is about
        cursor = await conn.execute(
            statement,
            {
                "account_id": tenant.account_id,
                "lead_type_id": applied.lead_types["auto-insurance"],
            },
        )
        row = await cursor.fetchone()
    plan = next(iter(row.values()))[0]["Plan"]
    assert plan["Actual Rows"] == BUYERS * ACCOUNTS_PER_BUYER
    assert _rows_handled(plan) <= BUYERS * ACCOUNTS_PER_BUYER
