"""Reading buyers back: with their delivery methods, delivery accounts and orders, one by one,
and the account's distribution lists and client groups."""

from __future__ import annotations

from dataclasses import replace

from server.domain.buyers.records import (
    ClientGroup,
    StoredClient,
    StoredDelivery,
    StoredDeliveryAccount,
)
from server.domain.geo import States
from server.domain.matching.lists import StoredDistributionList
from server.domain.sales.orders import StoredOrder
from server.errors import NotFound
from server.storage import buyers as buyer_store
from server.storage import lists as list_store
from server.storage import orders as order_store
from server.storage.database import Pool, transaction


class BuyerReads:
    """The account's buyers and what belongs to them, as stored; a buyer with the id of the
    state it names, from `states`."""

    def __init__(self, pool: Pool, states: States) -> None:
        self._pool = pool
        self._states = states

    async def get_client(
        self, account_id: int, client_id: int | None, key: str | None
    ) -> StoredClient:
        """One buyer, by id or by key."""
        async with transaction(self._pool) as conn:
            found = await buyer_store.list_clients(conn, account_id, client_id, key)
            if not found:
                raise NotFound(f"no buyer {client_id or key!r}")
        return found[0].located(self._states)

    async def list_clients(self, account_id: int) -> list[StoredClient]:
        async with transaction(self._pool) as conn:
            found = await buyer_store.list_clients(conn, account_id)
        return [c.located(self._states) for c in found]

    async def list_client_groups(self, account_id: int) -> list[ClientGroup]:
        async with transaction(self._pool) as conn:
            return await buyer_store.client_groups(conn, account_id)

    async def get_delivery(self, account_id: int, delivery_id: int) -> StoredDelivery:
        async with transaction(self._pool) as conn:
            found = await buyer_store.get_delivery(conn, account_id, delivery_id)
        if found is None:
            raise NotFound(f"no delivery method {delivery_id}")
        return found

    async def get_delivery_account(
        self, account_id: int, delivery_account_id: int, client_id: int
    ) -> StoredDeliveryAccount:
        """One delivery account; with a client_id, it must be that buyer's."""
        async with transaction(self._pool) as conn:
            found = await buyer_store.get_delivery_account(conn, account_id, delivery_account_id)
        if found is None or (client_id and found.client_id != client_id):
            raise NotFound(f"no delivery account {delivery_account_id}")
        return found

    async def delivery_account_with_method(
        self, account_id: int, delivery_account_id: int, client_id: int
    ) -> tuple[StoredDeliveryAccount, StoredDelivery | None]:
        """One delivery account and its delivery method; with a client_id, the account must be
        that buyer's."""
        async with transaction(self._pool) as conn:
            found = await buyer_store.get_delivery_account(conn, account_id, delivery_account_id)
            if found is None or (client_id and found.client_id != client_id):
                raise NotFound(f"no delivery account {delivery_account_id}")
            method = await buyer_store.get_delivery(conn, account_id, found.spec.delivery_id)
        return found, method

    async def get_order(self, account_id: int, order_id: int) -> StoredOrder:
        async with transaction(self._pool) as conn:
            client_id = await order_store.order_client(conn, account_id, order_id)
            if client_id is None:
                raise NotFound(f"no order {order_id}")
            orders = await order_store.list_orders(conn, account_id, [client_id])
        return next(o for o in orders if o.id == order_id)

    async def list_distribution_lists(self, account_id: int) -> list[StoredDistributionList]:
        async with transaction(self._pool) as conn:
            return await list_store.list_distribution_lists(conn, account_id)

    async def get_distribution_list(
        self, account_id: int, list_id: int, client_id: int = 0
    ) -> StoredDistributionList:
        """One list; with `client_id`, only the items assigned to that buyer (GetCustomList)."""
        async with transaction(self._pool) as conn:
            found = await list_store.list_distribution_lists(conn, account_id)
        for stored in found:
            if stored.id == list_id:
                if not client_id:
                    return stored
                items = tuple(i for i in stored.items if i.client_id == client_id)
                return replace(stored, items=items)
        raise NotFound(f"no distribution list {list_id}")
