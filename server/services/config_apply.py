"""Config as code: apply a whole document in one transaction, or reject it whole."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from server.adapters import zip_codes
from server.domain.catalog.fields import FieldSpec
from server.domain.catalog.specs import validate_rules
from server.domain.config.document import CampaignEntry, ConfigDocument, read_document
from server.errors import FailedPrecondition, InvalidArgument, Violation
from server.services.buyers.config import check_clients, check_lists, save_clients, save_lists
from server.services.catalog import (
    Change,
    delete_stale_fields,
    save_campaign,
    save_lead_type,
    save_source,
)
from server.storage import auctions as auction_store
from server.storage import buyers as buyer_store
from server.storage import catalog as store
from server.storage.database import Connection, Pool, transaction

# Buyer rows (buyers, delivery methods, delivery accounts) one apply writes, from which it
# also analyses their tables, as PostgreSQL advises after a bulk load: until autovacuum does,
# plans take a new account's thousands of rows for a few (docs/decisions.md).
ANALYZE_AFTER = 500


@dataclass
class ApplyResult:
    """What an apply did: ids by key of everything the document names, and every change."""

    lead_types: dict[str, int] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)
    campaigns: dict[str, int] = field(default_factory=dict)
    clients: dict[str, int] = field(default_factory=dict)
    deliveries: dict[str, int] = field(default_factory=dict)
    delivery_accounts: dict[str, int] = field(default_factory=dict)
    orders: dict[str, int] = field(default_factory=dict)
    lists: dict[str, int] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)


class _DryRun(Exception):
    """Unwinds a dry run's transaction, carrying what it would have done."""

    def __init__(self, result: ApplyResult) -> None:
        super().__init__("dry run")
        self.result = result


class ConfigApply:
    """Applies config documents to an account, each whole or not at all."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def apply(self, account_id: int, data: object, *, dry_run: bool = False) -> ApplyResult:
        """Create or update everything the document names, matched by key.

        Every problem is collected before anything is written; an invalid document raises
        InvalidArgument listing them all. A dry run does the work and rolls it back.
        """
        doc = read_document(data)
        try:
            async with transaction(self._pool) as conn:
                await _resolve(conn, account_id, doc)
                if doc.problems:
                    raise InvalidArgument(doc.problems)
                result = await _write(conn, account_id, doc)
                if dry_run:
                    raise _DryRun(result)
                # after the dry run: its rows, rolled back, would stay counted in the table sizes
                if _buyer_rows(doc) >= ANALYZE_AFTER:
                    await buyer_store.analyze_buyers(conn)
                return result
        except _DryRun as finished:
            return finished.result


def _buyer_rows(doc: ConfigDocument) -> int:
    """Rows the document's `clients` section writes to the tables the engine joins."""
    return sum(1 + len(c.deliveries) + len(c.delivery_accounts) for c in doc.clients)


async def _resolve(conn: Connection, account_id: int, doc: ConfigDocument) -> None:
    """Check what refers to lead types outside the document against the stored ones."""
    in_doc = {e.spec.key: list(e.spec.fields) for e in doc.lead_types if e.spec.key}
    entries = [c for s in doc.sources for c in s.campaigns]
    deliveries = [d for c in doc.clients for d in c.deliveries]
    wanted = (
        {c.lead_type_key for c in entries}
        | {d.lead_type_key for d in deliveries}
        | {e.lead_type_key for e in doc.lists}
    )
    outside = sorted(wanted - set(in_doc) - {""})
    ids = await store.lead_type_ids_by_key(conn, account_id, outside)
    fields: dict[str, list[FieldSpec]] = dict(in_doc)
    for key, lead_type_id in ids.items():
        found = await store.list_lead_types(conn, account_id, lead_type_id)
        fields[key] = list(found[0][1].fields)
    for entry in entries:
        if entry.lead_type_key in in_doc or not entry.lead_type_key:
            continue
        if entry.lead_type_key in fields:
            doc.problems.extend(
                validate_rules(entry.spec.rules, fields[entry.lead_type_key], entry.path)
            )
        else:
            doc.problems.append(
                Violation(
                    f"{entry.path}.lead_type", f"no lead type with key {entry.lead_type_key!r}"
                )
            )
    doc.problems.extend(check_clients(doc.clients, fields, zip_codes.is_known))
    doc.problems.extend(check_lists(doc.lists, fields))


async def _write(conn: Connection, account_id: int, doc: ConfigDocument) -> ApplyResult:
    result = ApplyResult()
    type_keys = [e.spec.key for e in doc.lead_types if e.spec.key]
    existing_types = await store.lead_type_ids_by_key(conn, account_id, type_keys)
    stale_fields = []
    for entry in doc.lead_types:
        key = entry.spec.key or ""
        lead_type_id, changes, stale = await save_lead_type(
            conn, account_id, entry.spec, existing_types.get(key), with_fields=True
        )
        result.lead_types[key] = lead_type_id
        result.changes.extend(changes)
        stale_fields.append((entry, stale))
    outside = [c.lead_type_key for s in doc.sources for c in s.campaigns]
    type_ids = {**await store.lead_type_ids_by_key(conn, account_id, outside), **result.lead_types}
    fields_by_type = {
        key: [s.spec for s in await store.list_fields(conn, account_id, type_id)]
        for key, type_id in type_ids.items()
    }
    sources = {
        s.spec.key: s
        for s in await store.list_sources(
            conn, account_id, keys=[e.spec.key for e in doc.sources if e.spec.key]
        )
    }
    campaign_entries: list[tuple[int, CampaignEntry]] = []
    for source_entry in doc.sources:
        key = source_entry.spec.key or ""
        source_id, change = await save_source(conn, account_id, source_entry.spec, sources.get(key))
        result.sources[key] = source_id
        result.changes.append(change)
        campaign_entries.extend((source_id, c) for c in source_entry.campaigns)
    campaigns = {
        c.spec.key: c
        for c in await store.list_campaigns(
            conn, account_id, keys=[c.spec.key for _, c in campaign_entries if c.spec.key]
        )
    }
    for source_id, campaign in campaign_entries:
        key = campaign.spec.key or ""
        type_key = campaign.lead_type_key
        spec = replace(campaign.spec, source_id=source_id, lead_type_id=type_ids[type_key])
        campaign_id, change = await save_campaign(
            conn, account_id, spec, campaigns.get(key), fields_by_type[type_key]
        )
        result.campaigns[key] = campaign_id
        result.changes.append(change)
        await auction_store.save(conn, account_id, campaign_id, campaign.auction)
    client_types = [d.lead_type_key for c in doc.clients for d in c.deliveries]
    client_types += [e.lead_type_key for e in doc.lists]
    type_ids.update(await store.lead_type_ids_by_key(conn, account_id, client_types))
    type_ids.update(result.lead_types)
    buyers = await save_clients(conn, account_id, doc.clients, type_ids)
    result.clients, result.deliveries = buyers.clients, buyers.deliveries
    result.delivery_accounts, result.orders = buyers.delivery_accounts, buyers.orders
    result.changes.extend(buyers.changes)
    lists = await save_lists(conn, account_id, doc.lists, type_ids, buyers.clients)
    result.lists = lists.lists
    result.changes.extend(lists.changes)
    for lead_type_entry, stale in stale_fields:
        label = lead_type_entry.spec.key or ""
        try:
            result.changes.extend(await delete_stale_fields(conn, account_id, label, stale))
        except FailedPrecondition as exc:
            names = ", ".join(f.name for f in stale)
            path = f"{lead_type_entry.path}.fields"
            raise InvalidArgument([Violation(path, f"cannot drop {names}: {exc.message}")]) from exc
    return result
