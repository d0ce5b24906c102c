"""Reading stored leads."""

from __future__ import annotations

from typing import Any

from server.errors import InvalidArgument
from server.storage.database import Pool, transaction
from server.storage.queries import q

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000


async def find_by_reference(
    pool: Pool, account_id: int, reference: str, limit: int = 0
) -> list[dict[str, Any]]:
    """The account's leads posted with this reference, newest first."""
    if not reference.strip():
        raise InvalidArgument("a reference is required")
    if not 0 <= limit <= MAX_LIMIT:
        raise InvalidArgument(f"limit must be between 0 and {MAX_LIMIT}")
    async with transaction(pool) as conn:
        cursor = await conn.execute(
            q("find_leads_by_reference"),
            {"account_id": account_id, "reference": reference, "limit": limit or DEFAULT_LIMIT},
        )
        return await cursor.fetchall()
