"""What every manual operation reads first, under its lock: the lead, and the buyer."""

from __future__ import annotations

from server.errors import NotFound
from server.storage import buyers as buyer_store
from server.storage import leads as lead_store
from server.storage.database import Connection


async def lock_lead(conn: Connection, account_id: int, lead_id: int) -> lead_store.LockedLead:
    lead = await lead_store.lock_for_operation(conn, account_id, lead_id)
    if lead is None:
        raise NotFound(f"no lead {lead_id}")
    return lead


async def client(conn: Connection, account_id: int, client_id: int) -> buyer_store.BuyerForSend:
    found = await buyer_store.buyer_for_send(conn, account_id, client_id)
    if found is None:
        raise NotFound(f"no client {client_id}")
    return found
