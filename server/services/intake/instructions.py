"""A lead source asking for its own posting instructions, identified as it would post."""

from __future__ import annotations

from typing import Any

from server.errors import Unauthenticated
from server.services.catalog import Catalog
from server.services.intake.identify import Identifier, Refused, Target
from server.services.intake.requests import Submission
from server.storage.database import Pool, transaction


class SourceInstructions:
    """The posting instructions of the campaign a source identifies itself for."""

    def __init__(self, pool: Pool, identifier: Identifier, catalog: Catalog) -> None:
        self._pool = pool
        self._identifier = identifier
        self._catalog = catalog

    async def instructions(self, submission: Submission, receiver_url: str) -> dict[str, Any]:
        """The document; Unauthenticated, with the reason, when the identifiers do not hold."""
        target = Target()
        refused: Refused | None = None
        async with transaction(self._pool) as conn:
            try:
                await self._identifier.identify(conn, submission, target)
            except Refused as exc:
                refused = exc  # the API key's use is still recorded
        if refused is not None:
            raise Unauthenticated(refused.details) from None
        assert target.campaign_id is not None
        return await self._catalog.posting_instructions(
            target.account_id, target.campaign_id, "", receiver_url
        )
