"""Sends in flight on a tenant of their own, written straight to the database, for tests of
what reads and writes sends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb

from server.services import accounts
from server.services.config_apply import apply_config

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "acme.json").read_text())


def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(json.dumps(EXAMPLE))
    document["clients"] = [
        {
            "key": "buyer",
            "name": "Buyer",
            "deliveries": [
                {
                    "key": "post",
                    "type": "http_post",
                    "lead_type": "auto-insurance",
                    "address": "http://127.0.0.1:9/buy",
                    "response_search": "accepted",
                }
            ],
            "accounts": [{"key": f"a{n}", "delivery": "post", "price": "5"} for n in range(4)],
        }
    ]
    return document


async def in_flight_sends(pool: Any, leads: int) -> tuple[int, list[tuple[int, int]]]:
    """A tenant with `leads` leads, each with a waiting job and 4 sends in flight: the
    account id and (lead id, send id) pairs."""
    tenant = await accounts.create_account(pool, "Outcomes")
    ids = await apply_config(pool, tenant.account_id, _document())
    account = tenant.account_id
    sends: list[tuple[int, int]] = []
    async with pool.connection() as conn:
        for _ in range(leads):
            cursor = await conn.execute(
                "INSERT INTO leads (account_id, post_id, source_id, campaign_id, lead_type_id,"
                " fields, pricing_model) VALUES (%s, gen_random_uuid(), %s, %s, %s, %s,"
                " 'per_lead') RETURNING id",
                (
                    account,
                    ids.sources["acme-media"],
                    ids.campaigns["acme-auto-web"],
                    ids.lead_types["auto-insurance"],
                    Jsonb({}),
                ),
            )
            row = await cursor.fetchone()
            assert row is not None
            lead = row["id"]
            await conn.execute(
                "INSERT INTO distribution_jobs (account_id, lead_id, state, max_sells)"
                " VALUES (%s, %s, 'waiting', 4)",
                (account, lead),
            )
            for n in range(4):
                cursor = await conn.execute(
                    "INSERT INTO sends (account_id, lead_id, client_id, delivery_account_id,"
                    " delivery_id, status, automated, price) VALUES (%s, %s, %s, %s, %s, 2,"
                    " true, 5) RETURNING id",
                    (
                        account,
                        lead,
                        ids.clients["buyer"],
                        ids.accounts[f"buyer/a{n}"],
                        ids.deliveries["buyer/post"],
                    ),
                )
                row = await cursor.fetchone()
                assert row is not None
                sends.append((lead, row["id"]))
        await conn.commit()
    return account, sends
