"""Campaigns' auction settings over the API: read and replace (config as code writes them
with the campaign, server/services/config_apply.py)."""

from __future__ import annotations

from server.domain.sales.auction import AuctionSettings, validate_auction
from server.errors import InvalidArgument, NotFound
from server.storage import auctions as store
from server.storage.database import Pool, statements, transaction


class CampaignAuctions:
    """Reads and replaces a campaign's auction settings."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def get(self, account_id: int, campaign_id: int) -> AuctionSettings:
        """The campaign's auction settings; NotFound for a campaign the account lacks."""
        async with statements(self._pool) as conn:
            found = await store.for_campaign(conn, account_id, campaign_id)
        if found is None:
            raise NotFound(f"no campaign {campaign_id}")
        return found

    async def update(
        self, account_id: int, campaign_id: int, settings: AuctionSettings
    ) -> AuctionSettings:
        """Replace the campaign's auction settings, checked first; what is now stored."""
        problems = validate_auction(settings, "auction")
        if problems:
            raise InvalidArgument(problems)
        async with transaction(self._pool) as conn:
            if await store.for_campaign(conn, account_id, campaign_id) is None:
                raise NotFound(f"no campaign {campaign_id}")
            await store.save(conn, account_id, campaign_id, settings)
            found = await store.for_campaign(conn, account_id, campaign_id)
        assert found is not None
        return found
