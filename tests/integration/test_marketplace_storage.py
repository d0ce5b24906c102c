"""The marketplace's storage on PostgreSQL: packs keep their criteria's ids across saves,
promo uses are counted under the code's lock, and a lead pulled by concurrent pulls of one
client is sold to it once."""

from __future__ import annotations

import asyncio
import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb

from server.domain.catalog.rules import Operator
from server.domain.matching.criteria import Criterion, CriterionType
from server.domain.sales.marketplace import LeadPack, PackType, PromoCode
from server.services.accounts import Accounts
from server.services.config_apply import ConfigApply
from server.services.marketplace.aged import AgedLeads, PullEdit
from server.services.marketplace.catalog import MarketplaceCatalog
from server.storage import marketplace as store

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "acme.json").read_text())


def _buyer(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "name": f"Buyer {key}",
        "deliveries": [
            {"key": "post", "type": "http_post", "lead_type": "auto-insurance",
             "address": "http://127.0.0.1:9/", "response_search": "accepted"}
        ],
        "accounts": [{"key": "main", "delivery": "post", "price": "1", "use_order": True}],
    }  # fmt: skip


async def _tenant(pool: Any) -> tuple[int, Any]:
    tenant = await Accounts(pool).create_account("Market")
    document = copy.deepcopy(EXAMPLE)
    document["clients"] = [_buyer("b1")]
    return tenant.account_id, await ConfigApply(pool).apply(tenant.account_id, document)


async def _lead(pool: Any, account_id: int, ids: Any, days_old: int) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "INSERT INTO leads (account_id, post_id, source_id, campaign_id, lead_type_id,"
            " fields, pricing_model, received_at) VALUES (%(a)s, gen_random_uuid(), %(s)s,"
            " %(c)s, %(t)s, %(f)s, 'per_lead', now() - make_interval(days => %(d)s))"
            " RETURNING id",
            {
                "a": account_id,
                "s": ids.sources["acme-media"],
                "c": ids.campaigns["acme-auto-web"],
                "t": ids.lead_types["auto-insurance"],
                "f": Jsonb({"FirstName": "Ann", "Age": 30}),
                "d": days_old,
            },
        )
        row = await cursor.fetchone()
        assert row is not None
        return int(row["id"])


async def test_a_packs_criteria_keep_their_ids_across_saves(pool: Any) -> None:
    account_id, ids = await _tenant(pool)
    catalog = MarketplaceCatalog(pool)
    age = Criterion(CriterionType.FieldValue, "Age", Operator.GreaterOrEqual, "21")
    pack = await catalog.save_pack(
        account_id,
        LeadPack(0, "Auto", PackType.Aged, ids.lead_types["auto-insurance"], 10, Decimal("9.99"),
                 start_day=30, criteria=(age,)),
    )  # fmt: skip
    [stored] = pack.criteria
    assert stored.id > 0 and stored.field_id > 0 and pack.price == Decimal("9.99")
    again = await catalog.save_pack(
        account_id, LeadPack(**{**pack.__dict__, "quantity": 20, "criteria": (stored, age)})
    )
    assert again.id == pack.id and again.quantity == 20
    assert again.criteria[0].id == stored.id and again.criteria[1].id not in (0, stored.id)


async def test_promo_uses_are_counted_under_the_codes_lock(pool: Any) -> None:
    account_id, _ = await _tenant(pool)
    await MarketplaceCatalog(pool).save_promo(
        account_id, PromoCode(0, "LOCKED", money_value=Decimal("1"), use_limit=1)
    )
    async with pool.connection() as first:
        locked = await store.lock_promo(first, account_id, "LOCKED")
        assert locked is not None and locked.uses == 0

        async def second() -> bool:
            async with pool.connection() as other:
                await other.execute("SET lock_timeout = '200ms'")
                try:
                    await store.lock_promo(other, account_id, "LOCKED")
                except Exception:
                    return False
                return True

        assert await second() is False  # held by the first transaction
    assert (await MarketplaceCatalog(pool).list_promos(account_id))[0].uses == 0


async def test_a_lead_in_concurrent_pulls_of_a_client_is_sold_once(pool: Any) -> None:
    account_id, ids = await _tenant(pool)
    leads = [await _lead(pool, account_id, ids, 20) for _ in range(3)]
    aged = AgedLeads(pool)
    edit = PullEdit(
        id=0,
        client_id=ids.clients["b1"],
        delivery_account_id=ids.delivery_accounts["b1/main"],
        leads="|".join(map(str, leads)),
        total_price=Decimal("3"),
    )
    saved = await asyncio.gather(*(aged.save_pull(account_id, edit) for _ in range(4)))
    sold = sorted(lead for s in saved for lead in s.sold)
    assert sold == sorted(leads)
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT lead_id, count(*) AS n FROM sends WHERE account_id = %s GROUP BY lead_id",
            [account_id],
        )
        counts = {row["lead_id"]: row["n"] for row in await cursor.fetchall()}
    assert counts == dict.fromkeys(leads, 1)
