"""The offers a lead is eligible for when posted to a campaign returning client offers
(1-to-1 consent): the static offers of the delivery accounts the scan finds eligible, read
in the post's own transaction. The rules of the offer block are server/domain/intake/offers.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from server.domain.buyers.specs import AccountType
from server.domain.catalog.fields import Value
from server.domain.intake.offers import Offered
from server.services.distribution.buyer_cache import BuyerCache
from server.services.distribution.scan import scan
from server.storage import offers as offer_store
from server.storage import ping_orders as order_store
from server.storage.database import Connection


class EligibleOffers:
    """Finds a lead's offers from this process's buyer cache."""

    def __init__(self, cache: BuyerCache) -> None:
        self._cache = cache

    async def offered(
        self,
        conn: Connection,
        account_id: int,
        lead_type_id: int,
        values: Mapping[str, Value],
        now: datetime,
        account_types: frozenset[AccountType] | None,
    ) -> list[Offered]:
        """The offers of every delivery account a lead with these values is eligible for now
        (criteria, schedules, caps, orders; its max sell count aside: the consumer chooses
        among all of them), on the caller's connection; nothing is reserved or logged."""
        snapshot = await self._cache.snapshot(conn, account_id, lead_type_id)
        found = await scan(
            conn,
            account_id,
            0,
            snapshot,
            values,
            1,
            now,
            allow_over_max=True,
            account_types=account_types,
        )
        eligible = [entry.view.id for entry in found.ranked]
        return await offer_store.offers_of_accounts(conn, account_id, eligible)


async def reserved_offers(
    conn: Connection, account_id: int, order_id: str, campaign_id: int
) -> list[Offered] | None:
    """The offers of the buyers a ping's order reserved: what the V2 ping answers, and all
    that a post naming the order may choose among (the order keeps its buyers, and each
    buyer's dynamic offer from its ping answer, which stands for its static offer); None: no
    such order of the campaign."""
    return await order_store.order_offers(conn, account_id, order_id, campaign_id)
