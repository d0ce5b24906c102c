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
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from server.domain.buyers.specs import (
    AccountType,
    ClientStatus,
    DeliveryMethod,
    delivery_spec,
    delivery_windows,
)
from server.domain.caps import Caps
from server.domain.catalog.fields import FieldSpec
from server.domain.catalog.specs import Status
from server.domain.delivery.spec import DeliveryType
from server.domain.intake.call_data import criteria_fields
from server.domain.matching.account_index import AccountIndex
from server.domain.matching.criteria import CompiledCriteria, broken_criteria, compile_criteria
from server.domain.matching.eligibility import AccountView
from server.domain.matching.lists import DistributionList
from server.domain.matching.selection import Automation
from server.services.buyers import criterion_from_json
from server.storage import catalog as catalog_store
from server.storage.database import Connection
from server.storage.queries import q

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """A lead type's buyers as the engine sees them, compiled once per configuration."""

    views: list[AccountView]
    by_id: dict[int, AccountView]
    lists: list[DistributionList]
    use_order: frozenset[int]  # delivery accounts that take leads only against orders
    index: AccountIndex  # screens every account for a lead at once
    client_names: dict[int, str]


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
            cursor = await conn.execute(q("buyer_version"), {"account_id": account_id})
            row = await cursor.fetchone()
            version = int(row["version"]) if row else 0
        found = self.cached(account_id, lead_type_id, version)
        if found is not None:
            return found
        scope = {"account_id": account_id, "lead_type_id": lead_type_id}
        cursor = await conn.execute(q("buyer_snapshot"), scope)
        rows = await cursor.fetchall()
        fields = await catalog_store.list_fields(conn, account_id, lead_type_id)
        by_name = criteria_fields(f.spec for f in fields)
        cursor = await conn.execute(q("lists_for_lead_type"), scope)
        lists = [
            DistributionList(
                id=r["id"],
                name=r["name"],
                field=r["field_name"].casefold(),
                default_client_id=r["default_client_id"],
                depend_field=r["depend_field"].casefold(),
                depend_value=r["depend_value"],
                assigned=dict(r["assigned"]),
            )
            for r in await cursor.fetchall()
        ]
        # compiling 10,000 accounts takes seconds of CPU: off the event loop, so requests and
        # deliveries go on meanwhile
        snapshot = await asyncio.to_thread(_build, rows, by_name, lists)
        self._entries[(account_id, lead_type_id)] = (version, snapshot)
        # A big snapshot is hundreds of thousands of long-lived objects: keep the cyclic
        # garbage collector from walking them on every full collection (a 10,000-account
        # snapshot made each one take 0.6 s). Replaced snapshots are still freed by reference
        # counting.
        gc.freeze()
        return snapshot


def _build(
    rows: Sequence[Mapping[str, Any]],
    fields: Mapping[str, FieldSpec],
    lists: list[DistributionList],
) -> Snapshot:
    views = [_view(r, fields) for r in rows]
    return Snapshot(
        views,
        {v.id: v for v in views},
        lists,
        frozenset(r["id"] for r in rows if r["use_order"]),
        AccountIndex(views),
        {v.client_id: v.client_name for v in views},
    )


def _compiled(row: Mapping[str, Any], fields: Mapping[str, FieldSpec]) -> CompiledCriteria:
    criteria = [criterion_from_json(c) for c in row["criteria"]]
    try:
        return compile_criteria(criteria, fields)
    except ValueError as problem:
        log.warning("delivery account %s: %s", row["id"], problem)
        return broken_criteria(str(problem))


def _view(row: Mapping[str, Any], fields: Mapping[str, FieldSpec]) -> AccountView:
    method = DeliveryMethod(
        type=DeliveryType(row["delivery_type"]),
        lead_type_id=0,
        settings=row["settings"],
        name=row["delivery_name"],
        enabled=row["delivery_enabled"],
    )
    return AccountView(
        id=row["id"],
        key=row["key"] or "",
        description=row["description"],
        client_id=row["client_id"],
        client_name=row["client_name"],
        client_status=ClientStatus(row["client_status"]),
        tz=ZoneInfo(row["time_zone"]),
        automation=Automation(row["automation"]),
        secondary=Automation(row["secondary_automation"]),
        priority=row["priority"],
        weight=row["weight"],
        use_tiers=row["use_delivery_tiers"],
        status=Status(row["status"]),
        automation_enabled=row["automation_enabled"],
        price=row["price"],
        caps=Caps(row["hour_max"], row["day_max"], row["month_max"]),
        delivery_delay_seconds=row["delivery_delay_seconds"],
        redirect_url=row["redirect_url"],
        account_type=AccountType(row["account_type"]),
        agent_name=row["agent_name"],
        agent_phone=row["agent_phone"],
        delivery_id=row["delivery_id"],
        delivery_name=row["delivery_name"],
        delivery_enabled=row["delivery_enabled"],
        delivery=delivery_spec(method),
        windows=delivery_windows(row["settings"]),
        criteria=_compiled(row, fields),
    )
