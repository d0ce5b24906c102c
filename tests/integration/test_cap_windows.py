"""Campaign caps count leads in the account's own day, not UTC's: the cap windows of
domain/caps.py in the account's time zone, counted by storage."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from psycopg.types.json import Jsonb

from server.domain.caps import cap_windows
from server.services.accounts import Accounts
from server.services.config_apply import ConfigApply
from server.storage import leads as lead_store

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "acme.json").read_text())


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "America/Los_Angeles"])
async def test_a_lead_just_before_local_midnight_is_not_in_todays_count(
    pool: Any, zone: str
) -> None:
    tenant = await Accounts(pool).create_account("Zoned", zone)
    ids = await ConfigApply(pool).apply(tenant.account_id, EXAMPLE)
    campaign = ids.campaigns["acme-auto-web"]
    async with pool.connection() as conn:
        for offset in ("+ interval '1 minute'", "- interval '1 minute'"):
            await conn.execute(
                "INSERT INTO leads (account_id, post_id, source_id, campaign_id, lead_type_id,"
                " fields, pricing_model, received_at) VALUES (%(a)s, gen_random_uuid(), %(s)s,"
                " %(c)s, %(t)s, %(f)s, 'per_lead',"
                " date_trunc('day', now() AT TIME ZONE %(z)s) AT TIME ZONE %(z)s " + offset + ")",
                {
                    "a": tenant.account_id,
                    "s": ids.sources["acme-media"],
                    "c": campaign,
                    "t": ids.lead_types["auto-insurance"],
                    "f": Jsonb({}),
                    "z": zone,
                },
            )
        windows = cap_windows(ZoneInfo(zone), datetime.now(UTC))
        _, counts = await lead_store.lock_campaign_counting(
            conn, tenant.account_id, campaign, windows, count_returns=True
        )
    assert counts.day == 1
