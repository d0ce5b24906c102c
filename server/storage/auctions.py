"""Campaigns' auction settings (outbound ping-post), rows into `AuctionSettings`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from server.domain.sales.auction import AuctionSettings
from server.storage.database import Connection
from server.storage.queries import q


def _settings(row: Mapping[str, Any]) -> AuctionSettings:
    return AuctionSettings(
        deadline_ms=row["deadline_ms"],
        margin_percent=row["margin_percent"],
        min_margin=row["min_margin"],
        floor=row["floor"],
        fresh_seconds=row["fresh_seconds"],
    )


async def save(
    conn: Connection, account_id: int, campaign_id: int, settings: AuctionSettings
) -> None:
    """Store a campaign's auction settings, replacing what was stored."""
    await conn.execute(
        q("save_campaign_auction"),
        {
            "account_id": account_id,
            "campaign_id": campaign_id,
            "deadline_ms": settings.deadline_ms,
            "margin_percent": settings.margin_percent,
            "min_margin": settings.min_margin,
            "floor": settings.floor,
            "fresh_seconds": settings.fresh_seconds,
        },
    )


async def for_campaign(
    conn: Connection, account_id: int, campaign_id: int
) -> AuctionSettings | None:
    """A campaign's auction settings (the defaults when none are stored); None when the
    account has no such campaign."""
    cursor = await conn.execute(
        q("campaign_auction"), {"account_id": account_id, "campaign_id": campaign_id}
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    return AuctionSettings() if row["deadline_ms"] is None else _settings(row)


async def for_campaigns(
    conn: Connection, account_id: int, campaign_ids: Sequence[int]
) -> dict[int, AuctionSettings]:
    """The auction settings of each campaign (the defaults for one with none stored)."""
    cursor = await conn.execute(
        q("campaign_auctions"), {"account_id": account_id, "campaign_ids": list(campaign_ids)}
    )
    stored = {row["campaign_id"]: _settings(row) for row in await cursor.fetchall()}
    return {cid: stored.get(cid, AuctionSettings()) for cid in campaign_ids}


async def for_lead(conn: Connection, account_id: int, lead_id: int) -> AuctionSettings:
    """The auction settings of a lead's campaign."""
    cursor = await conn.execute(q("lead_auction"), {"account_id": account_id, "lead_id": lead_id})
    row = await cursor.fetchone()
    return AuctionSettings() if row is None else _settings(row)
