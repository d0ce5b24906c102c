"""Buying a lead pack: the pack's rules and the promo code's checked under their locks, the
price in Decimal, and a client order of the quantity carrying a copy of the pack's criteria
and lead category, which the engine fills only with leads that meet them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from server.domain.sales.marketplace import (
    Price,
    pack_order_end,
    pack_total,
    price_purchase,
    promo_refusal,
    purchase_refusal,
)
from server.domain.sales.orders import (
    OrderEdit,
    OrderItemEdit,
    OrderStatus,
    Renewal,
    StoredOrder,
)
from server.errors import FailedPrecondition, InvalidArgument, NotFound, Violation
from server.storage import buyers as buyer_store
from server.storage import marketplace as store
from server.storage import orders as order_store
from server.storage.database import Pool, transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Purchase:
    """A pack bought: the purchase's id, the client order it made, its price, its promo."""

    id: int
    order: StoredOrder
    price: Price
    promo_id: int


class PackPurchases:
    """Clients' purchases of lead packs in one database."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def buy(
        self,
        account_id: int,
        *,
        client_id: int,
        delivery_account_id: int,
        pack_id: int,
        quantity: int = 0,
        promo_code: str = "",
    ) -> Purchase:
        """A client buys `quantity` leads of a pack (0: the pack's quantity) for one of its
        delivery accounts, with an optional promo code; the use is counted under the code's
        lock, so a use limit holds under concurrent purchases."""
        problems = [
            Violation(name, "is required")
            for name, value in (
                ("client_id", client_id),
                ("delivery_account_id", delivery_account_id),
                ("pack_id", pack_id),
            )
            if value <= 0
        ]
        if quantity < 0:
            problems.append(Violation("quantity", "must not be negative"))
        if problems:
            raise InvalidArgument(problems)
        now = datetime.now(UTC)
        async with transaction(self._pool) as conn:
            pack = await store.share_pack(conn, account_id, pack_id)
            if pack is None:
                raise NotFound(f"no lead pack {pack_id}")
            quantity = quantity or pack.quantity
            owner = await store.buying_account(conn, account_id, delivery_account_id)
            if owner is None or owner.client_id != client_id:
                raise NotFound(f"client {client_id} has no delivery account {delivery_account_id}")
            if not owner.use_order:
                raise FailedPrecondition(
                    f"delivery account {delivery_account_id} does not take leads against "
                    "orders (use_order): a pack's order would never be filled"
                )
            if owner.lead_type_id != pack.lead_type_id:
                raise FailedPrecondition(
                    f"delivery account {delivery_account_id} takes lead type "
                    f"{owner.lead_type_id}; lead pack {pack_id} sells lead type {pack.lead_type_id}"
                )
            refusal = purchase_refusal(pack, quantity, now)
            if refusal:
                raise FailedPrecondition(refusal)
            promo = None
            if promo_code.strip():
                promo = await store.lock_promo(conn, account_id, promo_code.strip())
                if promo is None:
                    raise NotFound(f"no promo code {promo_code.strip()!r}")
                refusal = promo_refusal(promo, pack_id, client_id, now, promo.uses)
                if refusal:
                    raise FailedPrecondition(refusal)
            price = price_purchase(pack_total(pack, quantity), promo)
            edit = OrderEdit(
                id=0,
                client_id=client_id,
                key=None,
                start=now,
                end=pack_order_end(pack, now),
                status=OrderStatus.Open,
                renewal=Renewal.No_Renewal,
                auto_charge=False,
                items=(
                    OrderItemEdit(
                        id=0,
                        key=None,
                        description=f"lead pack {pack.id}: {pack.description}"[:200],
                        quantity=quantity,
                        delivery_account_id=delivery_account_id,
                    ),
                ),
            )
            order_id = await order_store.insert_order(conn, account_id, client_id, edit)
            await order_store.insert_order_item(conn, account_id, order_id, edit.items[0])
            # the order takes only the leads the pack sells, as the pack is now
            await store.copy_pack_filter(conn, account_id, order_id, pack.id)
            await buyer_store.bump_buyer_version(conn, account_id)
            # The one place a purchase's charge is known: a client ledger records it here.
            purchase_id = await store.insert_purchase(
                conn,
                account_id,
                pack_id=pack.id,
                client_id=client_id,
                delivery_account_id=delivery_account_id,
                quantity=quantity,
                price=price,
                promo_id=promo.id if promo else 0,
                order_id=order_id,
            )
            order = next(
                o
                for o in await order_store.list_orders(conn, account_id, [client_id])
                if o.id == order_id
            )
        log.info(
            "client %s bought %s leads of pack %s for %s (purchase %s, order %s)",
            client_id,
            quantity,
            pack_id,
            price.charged,
            purchase_id,
            order_id,
        )
        return Purchase(purchase_id, order, price, promo.id if promo else 0)
