"""Reading a ping's log: the request as kept, the answer, each step with each buyer's
reason, and the order with the buyers it reserved (`leadrouter ping`, GetPingLog)."""

from __future__ import annotations

from server.domain.intake.ping import parse_order_id
from server.domain.intake.records import PingLog
from server.errors import NotFound
from server.storage import ping_orders as order_store
from server.storage.database import Pool, transaction


class PingLogs:
    """The reads of pings' logs of one database."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def read(self, account_id: int, ping_id: str) -> PingLog:
        """A ping of the account by its RequestID or OrderID."""
        parsed = parse_order_id(ping_id)
        found = None
        if parsed is not None:
            async with transaction(self._pool) as conn:
                found = await order_store.ping_log(conn, account_id, parsed)
        if found is None:
            raise NotFound(f"no ping {ping_id!r}")
        return found
