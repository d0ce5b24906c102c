"""A buyer confirming it bought a lead (ConfirmSale): its standing sales are confirmed, or its
latest rejected send becomes a confirmed sale, and the lead's source is settled for each."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from server.domain.catalog.specs import PricingModel
from server.domain.sales.operations import required_ids
from server.domain.sales.sends import SendStatus
from server.domain.sales.settlement import confirmable, sale_settlement
from server.services.operations._locks import client, lock_lead
from server.storage import jobs as job_store
from server.storage import leads as lead_store
from server.storage import sends as send_store
from server.storage.database import Pool, transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Confirmation:
    send_ids: list[int]
    pricing_model: PricingModel
    settlement: Decimal
    lead_price: Decimal
    confirmed_at: datetime


class ConfirmSales:
    """Confirmed sales of one database."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def confirm_sale(self, account_id: int, lead_id: int, client_id: int) -> Confirmation:
        """The buyer confirms it bought the lead: its standing sales are confirmed (or its
        latest rejected send becomes a confirmed sale) and the source is settled for each."""
        required_ids(lead_id=lead_id, client_id=client_id)
        async with transaction(self._pool) as conn:
            lead = await lock_lead(conn, account_id, lead_id)
            buyer = await client(conn, account_id, client_id)
            sends = await send_store.lock_buyer_sends(conn, account_id, lead_id, client_id)
            taken = confirmable(sends, lead_id, buyer.name)
            model = lead.pricing_model
            # the lead keeps the model it arrived under; the amount is the campaign's now, and
            # only when the campaign still prices that way
            amount = lead.pricing_amount if lead.campaign_model == model.value else Decimal("0")
            shares = [sale_settlement(model, amount, s.price) for s in taken]
            confirmed = await send_store.confirm(
                conn,
                account_id,
                [(s.send_id, share) for s, share in zip(taken, shares, strict=True)],
            )
            total = sum(shares, Decimal("0"))
            price = lead.price
            if total:
                price = await lead_store.settle(conn, account_id, lead_id, total)
            lines = [
                f"Send {s.send_id} to {buyer.name}: sale confirmed"
                + (" (was rejected)" if s.status is SendStatus.REJECTED else "")
                + f"; source settled {share} ({model.value})"
                for s, share in zip(taken, shares, strict=True)
            ]
            await send_store.add_scan_log(conn, account_id, lead_id, "\n".join(lines))
            if any(s.status is SendStatus.REJECTED for s in taken):
                await job_store.wake(conn, account_id, lead_id)
        log.info(
            "lead %s: sale confirmed by client %s; source settled %s", lead_id, client_id, total
        )
        return Confirmation(
            [send_id for send_id, _ in confirmed], model, total, price, confirmed[0][1]
        )
