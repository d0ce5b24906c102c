"""Reading stored leads and posts: leads by the source's reference (FindLeads) or their
contact details (SearchLeads), and a post's status (the receiver's status URL)."""

from __future__ import annotations

import uuid

from server.domain.intake.contacts import search_keys
from server.domain.intake.offers import LeadConsent
from server.domain.intake.records import FoundLead, LeadSummary, PostStatus
from server.errors import InvalidArgument, NotFound
from server.storage import catalog as catalog_store
from server.storage import consent as consent_store
from server.storage import leads as lead_store
from server.storage.database import Pool, statements, transaction

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000


class Leads:
    """The reads of leads and posts of one database."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def search(
        self, account_id: int, lead_type_id: int, email: str, address: str, phone: str
    ) -> list[FoundLead]:
        """The lead type's leads with this email, address and primary phone (those given),
        newest first, at most DEFAULT_LIMIT (SearchForLead); through an index."""
        keys = search_keys(email, address, phone)
        if not keys:
            raise InvalidArgument("give an email, an address or a primary phone to search for")
        async with transaction(self._pool) as conn:
            exists, _ = await catalog_store.field_of_lead_type(conn, account_id, lead_type_id, 0)
            if not exists:
                raise NotFound(f"no lead type {lead_type_id}")
            return await lead_store.search(conn, account_id, lead_type_id, keys, DEFAULT_LIMIT)

    async def find_by_reference(
        self, account_id: int, reference: str, limit: int = 0
    ) -> list[LeadSummary]:
        """The account's leads posted with this reference, newest first."""
        if not reference.strip():
            raise InvalidArgument("a reference is required")
        if not 0 <= limit <= MAX_LIMIT:
            raise InvalidArgument(f"limit must be between 0 and {MAX_LIMIT}")
        async with transaction(self._pool) as conn:
            return await lead_store.find_by_reference(
                conn, account_id, reference, limit or DEFAULT_LIMIT
            )

    async def consent(self, account_id: int, lead_id: int) -> LeadConsent:
        """A lead's V2 properties and consent evidence (GetConsentEvidence); NotFound for a
        lead not in the account."""
        async with statements(self._pool) as conn:
            found = await consent_store.lead_consent(conn, account_id, lead_id)
        if found is None:
            raise NotFound(f"no lead {lead_id}")
        return found

    async def post_status(self, post_id: str) -> PostStatus | None:
        """A post by its PostID; None for an id that names no post (or is no PostID)."""
        try:
            parsed = uuid.UUID(post_id)
        except ValueError:
            return None
        async with transaction(self._pool) as conn:
            return await lead_store.post_status(conn, parsed)
