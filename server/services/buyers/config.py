"""Saving buyers and distribution lists from config as code, by key, inside the apply's
transaction (server/services/config_apply.py), and the checks that need the lead types' fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from server.domain.buyers.specs import merge_secrets, validate_delivery_account, validate_method
from server.domain.catalog.fields import FieldSpec
from server.domain.config.buyers_section import ClientEntry, ListEntry
from server.domain.intake.call_data import criteria_fields
from server.domain.matching.criteria import match_criterion_ids
from server.domain.matching.lists import validate_list
from server.errors import InvalidArgument, Violation
from server.services.catalog import Action, Change, password_hash
from server.storage import buyers as buyer_store
from server.storage import lists as list_store
from server.storage import orders as order_store
from server.storage.database import Connection
from server.storage.upserts import Upserted


@dataclass
class SavedBuyers:
    """What saving the document's buyers or lists wrote: ids by key, and every change."""

    clients: dict[str, int] = field(default_factory=dict)
    deliveries: dict[str, int] = field(default_factory=dict)  # "client/delivery" -> id
    delivery_accounts: dict[str, int] = field(default_factory=dict)  # "client/account" -> id
    orders: dict[str, int] = field(default_factory=dict)  # "client/order" -> id
    lists: dict[str, int] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)

    def note(self, kind: str, label: str, upserted: Upserted) -> int:
        """Record what a save by key did; the entity's id."""
        if upserted.changed:
            action = Action.Created if upserted.created else Action.Updated
        else:
            action = Action.Unchanged
        self.changes.append(Change(kind, label, action))
        return upserted.id

    @property
    def wrote(self) -> bool:
        return any(c.action is not Action.Unchanged for c in self.changes)


def check_clients(
    entries: Sequence[ClientEntry],
    fields_by_type: Mapping[str, Sequence[FieldSpec]],
    zip_known: Callable[[str], bool],
) -> list[Violation]:
    """Problems that need the lead types' fields: mappings, templates and criteria."""
    problems: list[Violation] = []
    for entry in entries:
        type_of_delivery: dict[str | None, str] = {}
        for delivery in entry.deliveries:
            fields = fields_by_type.get(delivery.lead_type_key)
            if fields is None:
                if delivery.lead_type_key:
                    problems.append(
                        Violation(
                            f"{delivery.path}.lead_type",
                            f"no lead type with key {delivery.lead_type_key!r}",
                        )
                    )
                continue
            type_of_delivery[delivery.method.key] = delivery.lead_type_key
            names = [f.name for f in fields]
            problems.extend(validate_method(delivery.method, names, delivery.path))
        for delivery_account in entry.delivery_accounts:
            type_key = type_of_delivery.get(delivery_account.delivery_key)
            if type_key is None:
                continue
            by_name = criteria_fields(fields_by_type[type_key])
            problems.extend(
                validate_delivery_account(
                    delivery_account.spec, by_name, delivery_account.path, zip_known
                )
            )
    return problems


async def save_clients(
    conn: Connection,
    account_id: int,
    entries: Sequence[ClientEntry],
    type_ids: Mapping[str, int],
) -> SavedBuyers:
    """Create or update the document's buyers, their delivery methods, delivery accounts and
    orders by key."""
    saved = SavedBuyers()
    if not entries:
        return saved
    keys = [e.spec.key for e in entries if e.spec.key]
    hashes = await buyer_store.client_password_hashes(conn, account_id, keys)
    for entry in entries:
        spec = entry.spec
        key = spec.key or ""
        hashed = password_hash(spec.password, hashes.get(key))
        client = await buyer_store.upsert_client(conn, account_id, key, spec, hashed)
        client_id = saved.note("client", key, client)
        saved.clients[key] = client_id
        old_settings = await buyer_store.delivery_settings(conn, account_id, client_id)
        delivery_ids: dict[str, int] = {}
        for delivery in entry.deliveries:
            dkey = delivery.method.key or ""
            method = replace(
                delivery.method,
                lead_type_id=type_ids[delivery.lead_type_key],
                settings=merge_secrets(delivery.method.settings, old_settings.get(dkey, {})),
            )
            upserted = await buyer_store.upsert_delivery(conn, account_id, client_id, dkey, method)
            delivery_id = saved.note("delivery", f"{key}/{dkey}", upserted)
            delivery_ids[dkey] = delivery_id
            saved.deliveries[f"{key}/{dkey}"] = delivery_id
        # the stored criteria's ids, kept by the criteria that equal them (a new buyer has none)
        old_criteria = (
            await buyer_store.criteria_by_key(conn, account_id, client_id)
            if any(a.spec.criteria for a in entry.delivery_accounts) and not client.created
            else {}
        )
        for delivery_account in entry.delivery_accounts:
            akey = delivery_account.spec.key or ""
            stored = replace(
                delivery_account.spec,
                delivery_id=delivery_ids[delivery_account.delivery_key],
                criteria=match_criterion_ids(
                    delivery_account.spec.criteria, old_criteria.get(akey, ())
                ),
            )
            upserted = await buyer_store.upsert_delivery_account(
                conn, account_id, client_id, akey, stored
            )
            saved.delivery_accounts[f"{key}/{akey}"] = saved.note(
                "account", f"{key}/{akey}", upserted
            )
        await _save_orders(conn, account_id, entry, client_id, saved)
    if saved.wrote:
        await buyer_store.bump_buyer_version(conn, account_id)
    return saved


async def _save_orders(
    conn: Connection, account_id: int, entry: ClientEntry, client_id: int, saved: SavedBuyers
) -> None:
    key = entry.spec.key or ""
    for order in entry.orders:
        spec = order.spec
        okey = spec.key or ""
        upserted = await order_store.upsert_order(conn, account_id, client_id, okey, spec)
        order_id = saved.note("order", f"{key}/{okey}", upserted)
        saved.orders[f"{key}/{okey}"] = order_id
        item_keys = [item.key or str(n) for n, item in enumerate(spec.items, start=1)]
        for item_key, item in zip(item_keys, spec.items, strict=True):
            delivery_account_id = (
                saved.delivery_accounts[f"{key}/{item.account_key}"] if item.account_key else None
            )
            upserted = await order_store.upsert_order_item(
                conn, account_id, order_id, item_key, item, delivery_account_id
            )
            saved.note("order item", f"{key}/{okey}/{item_key}", upserted)
        kept = await order_store.delete_stale_order_items(conn, account_id, order_id, item_keys)
        if kept:
            names = ", ".join(repr(k) for k in kept)
            raise InvalidArgument(
                [
                    Violation(
                        f"{order.path}.items",
                        f"cannot drop items {names}: sends count against them",
                    )
                ]
            )


def check_lists(
    entries: Sequence[ListEntry], fields_by_type: Mapping[str, Sequence[FieldSpec]]
) -> list[Violation]:
    """Problems with distribution lists that need their lead types' fields."""
    problems: list[Violation] = []
    for entry in entries:
        fields = fields_by_type.get(entry.lead_type_key)
        if fields is None:
            if entry.lead_type_key:
                problems.append(
                    Violation(
                        f"{entry.path}.lead_type", f"no lead type with key {entry.lead_type_key!r}"
                    )
                )
            continue
        problems.extend(validate_list(entry.spec, [f.name for f in fields], entry.path))
    return problems


async def save_lists(
    conn: Connection,
    account_id: int,
    entries: Sequence[ListEntry],
    type_ids: Mapping[str, int],
    client_ids: Mapping[str, int],
) -> SavedBuyers:
    """Create or update distribution lists by key, with all their items; buyers are named by
    key (`client_ids` holds the document's, stored ones are looked up)."""
    saved = SavedBuyers()
    if not entries:
        return saved
    wanted = {e.spec.default_client_key for e in entries} | {
        i.client_key for e in entries for i in e.spec.items
    }
    missing = sorted(k for k in wanted - set(client_ids) if k)
    ids = {**await buyer_store.client_ids_by_key(conn, account_id, missing), **client_ids}
    problems: list[Violation] = []
    for entry in entries:
        if entry.spec.default_client_key and entry.spec.default_client_key not in ids:
            problems.append(
                Violation(
                    f"{entry.path}.default_client",
                    f"no buyer with key {entry.spec.default_client_key!r}",
                )
            )
        for n, item in enumerate(entry.spec.items):
            if item.client_key and item.client_key not in ids:
                problems.append(
                    Violation(
                        f"{entry.path}.items[{n}].client", f"no buyer with key {item.client_key!r}"
                    )
                )
    if problems:
        raise InvalidArgument(problems)
    for entry in entries:
        spec = entry.spec
        key = spec.key or ""
        upserted = await list_store.upsert_list(
            conn,
            account_id,
            key,
            spec,
            type_ids[entry.lead_type_key],
            ids.get(spec.default_client_key),
        )
        list_id = saved.note("distribution list", key, upserted)
        saved.lists[key] = list_id
        items = [(i.value, ids.get(i.client_key)) for i in spec.items]
        wrote_items = await list_store.save_list_items(conn, account_id, list_id, items)
        if wrote_items and saved.changes[-1].action is Action.Unchanged:
            saved.changes[-1] = Change("distribution list", key, Action.Updated)
    if saved.wrote:
        await buyer_store.bump_buyer_version(conn, account_id)
    return saved
