"""The engine's view of the buyers: each lead type's delivery accounts, compiled once per
buyer configuration version (criteria compiled, schedules parsed, an account index built) and
kept per process. Any save of a buyer bumps the account's buyer version, so the next step that
reads it reloads the lead type's snapshot.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from server.domain.buyers.records import StoredDeliveryAccount
from server.domain.buyers.specs import delivery_spec, delivery_windows
from server.domain.caps import Caps
from server.domain.catalog.fields import CONTACT_SPECIALS, FieldSpec, SpecialField
from server.domain.intake.call_data import criteria_fields
from server.domain.matching.criteria import CompiledCriteria, broken_criteria, compile_criteria
from server.domain.matching.delivery_index import DeliveryAccountIndex
from server.domain.matching.eligibility import DeliveryAccountView
from server.domain.matching.lists import DistributionList
from server.domain.sales.orders import OrderFilter
from server.storage import buyers as buyer_store
from server.storage import catalog as catalog_store
from server.storage import ledger as ledger_store
from server.storage import lists as list_store
from server.storage import marketplace as marketplace_store
from server.storage.buyers import SnapshotEntry
from server.storage.database import Connection
from server.storage.marketplace import StoredOrderFilter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """A lead type's buyers as the engine sees them, compiled once per configuration."""

    views: list[DeliveryAccountView]
    by_id: dict[int, DeliveryAccountView]
    lists: list[DistributionList]
    use_order: frozenset[int]  # delivery accounts that take leads only against orders
    index: DeliveryAccountIndex  # screens every account for a lead at once
    client_names: dict[int, str]
    pings: bool = False  # some account's delivery method pings before it posts (an auction)
    prepaid: frozenset[int] = frozenset()  # buyers whose balance must cover each lead
    held: frozenset[int] = frozenset()  # buyers a declined auto-charge holds
    pack_orders: frozenset[int] = frozenset()  # orders of prepaid/held buyers paid by a pack
    # orders bought from lead packs, by order id: the leads each takes
    order_filters: Mapping[int, OrderFilter] = field(default_factory=dict)


class BuyerCache:
    """Each lead type's delivery accounts, compiled once per buyer configuration version."""

    def __init__(self) -> None:
        self._entries: dict[tuple[int, int], tuple[int, Snapshot]] = {}

    def cached(self, account_id: int, lead_type_id: int, version: int) -> Snapshot | None:
        """The lead type's snapshot when it is compiled at this buyer version, else None."""
        cached = self._entries.get((account_id, lead_type_id))
        return cached[1] if cached is not None and cached[0] == version else None

    async def snapshot(
        self, conn: Connection, account_id: int, lead_type_id: int, version: int | None = None
    ) -> Snapshot:
        """The lead type's snapshot; `version` is the account's buyer version when the caller's
        own query already read it (saving a round trip), else it is read here."""
        if version is None:
            version = await buyer_store.buyer_version(conn, account_id)
        found = self.cached(account_id, lead_type_id, version)
        if found is not None:
            return found
        accounts = await buyer_store.snapshot(conn, account_id, lead_type_id)
        fields = await catalog_store.list_fields(conn, account_id, lead_type_id)
        by_name = criteria_fields(f.spec for f in fields)
        lists = await list_store.for_lead_type(conn, account_id, lead_type_id)
        billed = await ledger_store.billed_clients(conn, account_id)
        # written with their orders by a purchase, which bumps the buyer version
        filters = await marketplace_store.order_filters(conn, account_id, lead_type_id)
        # compiling 10,000 accounts takes seconds of CPU: off the event loop, so requests and
        # deliveries go on meanwhile
        snapshot = await asyncio.to_thread(_build, accounts, by_name, lists, billed, filters)
        self._entries[(account_id, lead_type_id)] = (version, snapshot)
        # A big snapshot is hundreds of thousands of long-lived objects: keep the cyclic
        # garbage collector from walking them on every full collection. Replaced snapshots
        # are still freed by reference counting.
        gc.freeze()
        return snapshot


def _build(
    accounts: Sequence[SnapshotEntry],
    fields: Mapping[str, FieldSpec],
    lists: list[DistributionList],
    billed: ledger_store.BilledClients | None = None,
    filters: Sequence[StoredOrderFilter] = (),
) -> Snapshot:
    billed = billed or ledger_store.BilledClients()
    email_field = next((f.name for f in fields.values() if f.special is SpecialField.Email), "")
    contact = frozenset(f.name.casefold() for f in fields.values() if f.special in CONTACT_SPECIALS)
    views = [_view(a, fields, email_field, contact) for a in accounts]
    return Snapshot(
        views,
        {v.id: v for v in views},
        lists,
        frozenset(a.account.id for a in accounts if a.account.spec.use_order),
        DeliveryAccountIndex(views),
        {v.client_id: v.client_name for v in views},
        any(v.delivery.ping is not None for v in views),
        billed.prepaid,
        billed.held,
        billed.pack_orders,
        {f.order_id: _order_filter(f, fields) for f in filters},
    )


def _order_filter(found: StoredOrderFilter, fields: Mapping[str, FieldSpec]) -> OrderFilter:
    """A pack's order's terms as the engine checks them; criteria that no longer compile take
    no lead, as an account's would."""
    try:
        compiled = compile_criteria(found.criteria, fields)
    except ValueError as problem:
        log.warning("order %s (lead pack %s): %s", found.order_id, found.pack_id, problem)
        compiled = broken_criteria(str(problem))
    return OrderFilter(found.order_id, found.pack_id, found.lead_category_id, compiled)


def _compiled(account: StoredDeliveryAccount, fields: Mapping[str, FieldSpec]) -> CompiledCriteria:
    try:
        return compile_criteria(account.spec.criteria, fields)
    except ValueError as problem:
        log.warning("delivery account %s: %s", account.id, problem)
        return broken_criteria(str(problem))


def _view(
    found: SnapshotEntry,
    fields: Mapping[str, FieldSpec],
    email_field: str,
    contact_fields: frozenset[str],
) -> DeliveryAccountView:
    """A delivery account as the engine sees it: criteria compiled, schedule parsed."""
    account, spec, method = found.account, found.account.spec, found.method
    return DeliveryAccountView(
        id=account.id,
        key=spec.key or "",
        description=spec.description,
        client_id=account.client_id,
        client_name=found.client_name,
        client_status=found.client_status,
        tz=ZoneInfo(found.time_zone),
        automation=found.automation,
        secondary=found.secondary_automation,
        priority=found.priority,
        weight=found.weight,
        use_tiers=found.use_delivery_tiers,
        status=spec.status,
        automation_enabled=spec.automation_enabled,
        price=spec.price,
        caps=Caps(spec.hour_max, spec.day_max, spec.month_max),
        delivery_delay_seconds=spec.delivery_delay_seconds,
        redirect_url=spec.redirect_url,
        account_type=spec.account_type,
        agent_name=spec.agent_name,
        agent_phone=spec.agent_phone,
        delivery_id=spec.delivery_id,
        delivery_name=method.name,
        delivery_enabled=method.enabled,
        delivery=delivery_spec(method),
        windows=delivery_windows(method.settings),
        criteria=_compiled(account, fields),
        email_field=email_field,
        contact_fields=contact_fields,
    )
