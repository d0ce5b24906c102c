"""Sends in flight on a tenant of their own, written straight to the database, for tests of
what reads and writes sends."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from server.services.accounts import Accounts
from server.services.config_apply import ConfigApply
from tests.support.documents import EXAMPLE, unreachable_buyers


def _document() -> dict[str, Any]:
    return {**EXAMPLE, "clients": unreachable_buyers(1, accounts=4, price="5")}


async def in_flight_sends(pool: Any, leads: int) -> tuple[int, list[tuple[int, int]]]:
    """A tenant with `leads` leads, each with a waiting job and 4 sends in flight: the
    account id and (lead id, send id) pairs."""
    tenant = await Accounts(pool).create_account("Outcomes")
    ids = await ConfigApply(pool).apply(tenant.account_id, _document())
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
                        ids.clients["b0"],
                        ids.delivery_accounts[f"b0/a{n}"],
                        ids.deliveries["b0/post"],
                    ),
                )
                row = await cursor.fetchone()
                assert row is not None
                sends.append((lead, row["id"]))
        await conn.commit()
    return account, sends
