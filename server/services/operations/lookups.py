"""What prepares a manual operation: where a lead could be sent by hand now, and which
delivery accounts name a value in their criteria."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server.domain.buyers.records import BuyerContact, StoredDelivery, StoredDeliveryAccount
from server.domain.buyers.specs import AccountType
from server.domain.sales.operations import has_criterion, limited_text, required_ids
from server.domain.sales.sends import Send
from server.errors import NotFound
from server.services.distribution.scan import Scan
from server.services.distribution.views import DistributionViews
from server.storage import buyers as buyer_store
from server.storage import catalog as catalog_store
from server.storage import sends as send_store
from server.storage.database import Pool, transaction


@dataclass(frozen=True)
class ClientsForSend:
    """GetClientsForSend: the lead's sends, then the accounts that would take it now."""

    sends: list[Send]
    scan: Scan
    contacts: dict[int, BuyerContact]  # by buyer id


class OperationLookups:
    """The lookups of the manual operations of one database."""

    def __init__(self, pool: Pool, views: DistributionViews) -> None:
        self._pool = pool
        self._views = views

    async def clients_for_send(self, account_id: int, lead_id: int) -> ClientsForSend:
        """Every send of the lead, oldest first, and the automated accounts that would take it
        now, best first, with their buyers' contact details."""
        required_ids(lead_id=lead_id)
        scan = await self._views.scan_lead(account_id, lead_id, automated_only=True)
        async with transaction(self._pool) as conn:
            sends = await send_store.list_sends(conn, account_id, lead_id)
            ids = {s.client_id for s in sends} | {e.view.client_id for e in scan.ranked}
            contacts = await buyer_store.contacts(conn, account_id, sorted(ids))
        return ClientsForSend(sends, scan, {c.id: c for c in contacts})

    async def clients_for_criteria(
        self, account_id: int, lead_type_id: int, posted: Sequence[tuple[str, str]]
    ) -> ClientsForSend:
        """The accounts that would take a lead with these values now, best first, with their
        buyers' contact details (GetClientsforCriteria): no lead, so no sends."""
        required_ids(lead_type_id=lead_type_id)
        scan = await self._views.scan_fields(account_id, lead_type_id, posted)
        async with transaction(self._pool) as conn:
            ids = sorted({e.view.client_id for e in scan.ranked})
            contacts = await buyer_store.contacts(conn, account_id, ids)
        return ClientsForSend([], scan, {c.id: c for c in contacts})

    async def clients_of_type(
        self, account_id: int, lead_id: int, account_type: AccountType
    ) -> Scan:
        """The accounts of one type (redirect, live transfer) that would take the lead now,
        automated or not; the lead's max sell count holds."""
        required_ids(lead_id=lead_id)
        return await self._views.scan_lead(
            account_id, lead_id, automated_only=False, account_types=frozenset({account_type})
        )

    async def delivery_accounts_with_criterion(
        self, account_id: int, lead_type_id: int, lead_field_id: int, value: str
    ) -> list[tuple[StoredDeliveryAccount, StoredDelivery | None]]:
        """The delivery accounts serving a lead type that have a criterion on the field with
        the value (server/domain/sales/operations.py names_value), by id, each with its
        delivery method."""
        required_ids(lead_type_id=lead_type_id, lead_field_id=lead_field_id)
        value = limited_text(value, "value")
        async with transaction(self._pool) as conn:
            found, field = await catalog_store.field_of_lead_type(
                conn, account_id, lead_type_id, lead_field_id
            )
            if not found:
                raise NotFound(f"no lead type {lead_type_id}")
            if field is None:
                raise NotFound(f"lead type {lead_type_id} has no field {lead_field_id}")
            accounts = await buyer_store.delivery_accounts_of_lead_type(
                conn, account_id, lead_type_id
            )
            named = [a for a in accounts if has_criterion(a.spec.criteria, field, value)]
            methods = {
                d: await buyer_store.get_delivery(conn, account_id, d)
                for d in sorted({a.spec.delivery_id for a in named})
            }
        return [(a, methods[a.spec.delivery_id]) for a in named]
