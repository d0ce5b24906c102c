"""Editing buyers by id: LeadExec's AddEditClient, AddEditClientDelivery, AddEditClientAccount,
AddEditClientOrder and custom list calls.

An id of 0 or -1 creates; any other id edits that entity of the account, and an id the
account does not hold is NotFound. Each save is checked with the same domain validators as
config as code (server/services/buyers/config.py), runs in one transaction, and bumps the
account's buyer version when it wrote something, so each process's cached snapshot of the
buyers reloads. A key left empty (None) keeps the stored one; a new entity may have none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from server.adapters import zip_codes
from server.domain.buyers.records import StoredClient, StoredDelivery, StoredDeliveryAccount
from server.domain.buyers.specs import (
    ClientSpec,
    DeliveryAccountSpec,
    DeliveryMethod,
    client_with_state_id,
    default_mappings,
    mappings_by_name,
    merge_secrets,
    parse_clock,
    validate_client,
    validate_delivery_account,
    validate_method,
)
from server.domain.catalog.fields import FieldSpec
from server.domain.geo import States
from server.domain.intake.call_data import criteria_fields
from server.domain.matching.criteria import Criterion, criteria_by_name, keep_criterion_ids
from server.domain.matching.lists import ListEdit, StoredListItem, validate_list
from server.domain.sales.orders import OrderEdit, validate_order
from server.errors import InvalidArgument, NotFound, Violation
from server.services.catalog import password_hash
from server.storage import buyers as buyer_store
from server.storage import catalog as catalog_store
from server.storage import lists as list_store
from server.storage import orders as order_store
from server.storage.database import Connection, Pool, transaction

NEW = (0, -1)  # LeadExec creates on -1; proto3's unset 0 does the same

T = TypeVar("T")


def is_new(entity_id: int) -> bool:
    return entity_id in NEW


def _check(problems: Sequence[Violation]) -> None:
    if problems:
        raise InvalidArgument(problems)


def _existing(found: T | None, what: str, entity_id: int) -> T:
    """The stored entity an edit changes; NotFound when the id names nothing of the account."""
    if found is None:
        raise NotFound(f"no {what} {entity_id}")
    return found


class BuyerEdits:
    """Buyers, delivery methods, delivery accounts, orders and distribution lists saved by id.
    A buyer's state may be given by id (LeadExec's StateUID), read with `states`."""

    def __init__(self, pool: Pool, states: States) -> None:
        self._pool = pool
        self._states = states

    async def save_client(
        self,
        account_id: int,
        client_id: int,
        spec: ClientSpec,
        *,
        merge: Callable[[StoredClient], ClientSpec] | None = None,
        group_id: int = 0,
        state_id: int = 0,
    ) -> int:
        """Create (id 0 or -1) or edit a buyer; its delivery methods, delivery accounts and
        orders are saved on their own. Returns its id. `merge`: an edit of some fields, given
        the buyer as stored (read in this transaction) it returns the spec to save.
        `group_id`: the buyer's client group by id instead of spec.group. `state_id`: its
        state by id (client_with_state_id, read after `merge`); 0: its state as it is."""
        async with transaction(self._pool) as conn:
            if merge is not None and not is_new(client_id):
                stored = await buyer_store.list_clients(conn, account_id, client_id)
                if not stored:
                    raise NotFound(f"no buyer {client_id}")
                spec = merge(stored[0])
            if group_id > 0:
                group = await buyer_store.lock_client_group(conn, account_id, group_id)
                if group is None:
                    raise NotFound(f"no client group {group_id}")
                spec = replace(spec, group=group.name)
            spec = client_with_state_id(spec, state_id, self._states)
            _check(validate_client(spec, "client"))
            if is_new(client_id):
                hashed = password_hash(spec.password, None)
                client_id = await buyer_store.insert_client(conn, account_id, spec, hashed)
                written = True
            else:
                current = _existing(
                    await buyer_store.lock_client(conn, account_id, client_id), "buyer", client_id
                )
                hashed = password_hash(spec.password, current.password_hash)
                written = await buyer_store.update_client(conn, account_id, client_id, spec, hashed)
            if written:
                await buyer_store.bump_buyer_version(conn, account_id)
            return client_id

    async def save_delivery(
        self,
        account_id: int,
        delivery_id: int,
        client_id: int,
        method: DeliveryMethod,
        *,
        merge: Callable[[StoredDelivery], DeliveryMethod] | None = None,
    ) -> int:
        """Create or edit a buyer's delivery method. Returns its id. `merge` as for
        save_client."""
        where = "delivery"
        async with transaction(self._pool) as conn:
            current = None
            if not is_new(delivery_id):
                current = _existing(
                    await buyer_store.lock_delivery(conn, account_id, delivery_id),
                    "delivery method",
                    delivery_id,
                )
                if merge is not None:
                    stored = await buyer_store.get_delivery(conn, account_id, delivery_id)
                    if stored is None:  # locked above, in this transaction
                        raise NotFound(f"no delivery method {delivery_id}")
                    method = merge(stored)
            owner = await _owner(
                conn, account_id, client_id, current.client_id if current else None, where
            )
            if not method.lead_type_id:
                _check([Violation(f"{where}.lead_type_id", "is required")])
            fields = await _lead_type_fields(conn, account_id, method.lead_type_id)
            settings = _secrets(method.settings, current.settings if current else {})
            settings, problems = mappings_by_name(settings, fields, where)
            _check(problems)
            settings, problems = _clean_days(settings, where)
            method = replace(method, settings=settings)
            problems.extend(validate_method(method, [f.name for f in fields], where))
            if current and current.lead_type_id != method.lead_type_id:
                problems.extend(await _criteria_for(conn, account_id, delivery_id, fields, where))
            _check(problems)
            if current is None:
                delivery_id = await buyer_store.insert_delivery(conn, account_id, owner, method)
                written = True
            else:
                written = await buyer_store.update_delivery(
                    conn, account_id, delivery_id, owner, method
                )
            if written:
                await buyer_store.bump_buyer_version(conn, account_id)
            return delivery_id

    async def set_default_mappings(self, account_id: int, delivery_id: int) -> int:
        """Map every field of the delivery method's lead type under its own name, replacing
        its mappings (SetDefaultFieldMappings). Returns its id."""
        async with transaction(self._pool) as conn:
            _existing(
                await buyer_store.lock_delivery(conn, account_id, delivery_id),
                "delivery method",
                delivery_id,
            )
            stored = await buyer_store.get_delivery(conn, account_id, delivery_id)
            if stored is None:  # locked above, in this transaction
                raise NotFound(f"no delivery method {delivery_id}")
            fields = await _lead_type_fields(conn, account_id, stored.method.lead_type_id)
            method = default_mappings(stored.method, [f.name for f in fields])
            if await buyer_store.update_delivery(
                conn, account_id, delivery_id, stored.client_id, method
            ):
                await buyer_store.bump_buyer_version(conn, account_id)
            return delivery_id

    async def save_delivery_account(
        self,
        account_id: int,
        delivery_account_id: int,
        client_id: int,
        spec: DeliveryAccountSpec,
        *,
        merge: Callable[[StoredDeliveryAccount], DeliveryAccountSpec] | None = None,
    ) -> int:
        """Create or edit a buyer's delivery account, its criteria checked against the lead
        type of its delivery method (criteria may name their field by id; a criterion keeps
        its id when it gives it, see keep_criterion_ids). Returns its id. `merge` as for
        save_client."""
        where = "account"
        async with transaction(self._pool) as conn:
            stored_client = None
            stored_criteria: tuple[Criterion, ...] = ()
            if not is_new(delivery_account_id):
                stored_client = _existing(
                    await buyer_store.lock_delivery_account(conn, account_id, delivery_account_id),
                    "delivery account",
                    delivery_account_id,
                )
                current = await buyer_store.get_delivery_account(
                    conn, account_id, delivery_account_id
                )
                if current is None:  # locked above, in this transaction
                    raise NotFound(f"no delivery account {delivery_account_id}")
                stored_criteria = current.spec.criteria
                if merge is not None:
                    spec = merge(current)
            owner = await _owner(conn, account_id, client_id, stored_client, where)
            if not spec.delivery_id:
                _check([Violation(f"{where}.delivery_id", "is required")])
            delivery = await buyer_store.get_delivery(conn, account_id, spec.delivery_id)
            if delivery is None:
                raise NotFound(f"no delivery method {spec.delivery_id}")
            if delivery.client_id != owner:
                _check(
                    [
                        Violation(
                            f"{where}.delivery_id",
                            f"delivery method {spec.delivery_id} is not this buyer's",
                        )
                    ]
                )
            fields = await _lead_type_fields(conn, account_id, delivery.method.lead_type_id)
            criteria, problems = criteria_by_name(spec.criteria, fields, f"{where}.criteria")
            _check(problems)
            spec = replace(spec, criteria=keep_criterion_ids(criteria, stored_criteria))
            by_name = criteria_fields(fields)
            _check(validate_delivery_account(spec, by_name, where, zip_codes.is_known))
            if stored_client is None:
                delivery_account_id = await buyer_store.insert_delivery_account(
                    conn, account_id, owner, spec
                )
                written = True
            else:
                written = await buyer_store.update_delivery_account(
                    conn, account_id, delivery_account_id, owner, spec
                )
            if written:
                await buyer_store.bump_buyer_version(conn, account_id)
            return delivery_account_id

    async def save_order(self, account_id: int, edit: OrderEdit) -> int:
        """Create or edit a buyer's order with its complete item list. Returns its id."""
        where = "order"
        async with transaction(self._pool) as conn:
            current = None
            if not is_new(edit.id):
                current = _existing(
                    await order_store.lock_order(conn, account_id, edit.id), "order", edit.id
                )
            owner = await _owner(
                conn, account_id, edit.client_id, current.client_id if current else None, where
            )
            problems = [
                Violation(f"{where}.{name}", "is required")
                for name, value in (("start", edit.start), ("end", edit.end))
                if value is None
            ]
            problems.extend(validate_order(edit.spec(), where))
            stored_items = set(current.item_ids) if current else set()
            wanted = [i.delivery_account_id for i in edit.items if i.delivery_account_id]
            of_buyer = await buyer_store.delivery_accounts_of_client(
                conn, account_id, owner, wanted
            )
            seen: set[int] = set()
            for index, item in enumerate(edit.items):
                path = f"{where}.items[{index}]"
                if item.id and item.id not in stored_items:
                    problems.append(Violation(f"{path}.id", f"no item {item.id} in this order"))
                elif item.id and item.id in seen:
                    problems.append(Violation(f"{path}.id", f"item {item.id} repeats"))
                seen.add(item.id)
                if item.delivery_account_id and item.delivery_account_id not in of_buyer:
                    problems.append(
                        Violation(
                            f"{path}.account_id",
                            f"no delivery account {item.delivery_account_id} of this buyer",
                        )
                    )
            _check(problems)
            if current is None:
                order_id = await order_store.insert_order(conn, account_id, owner, edit)
                changed = True
            else:
                order_id = edit.id
                changed = await order_store.update_order(conn, account_id, owner, edit)
            kept: list[int] = []
            for item in edit.items:
                if item.id:
                    item_changed = await order_store.update_order_item(
                        conn, account_id, order_id, item
                    )
                    changed = changed or item_changed
                    kept.append(item.id)
                else:
                    kept.append(
                        await order_store.insert_order_item(conn, account_id, order_id, item)
                    )
                    changed = True
            left_out = await order_store.delete_order_items_except(conn, account_id, order_id, kept)
            stuck = [i.id for i in left_out if not i.dropped]
            if stuck:
                names = ", ".join(str(i) for i in stuck)
                _check(
                    [
                        Violation(
                            f"{where}.items", f"cannot drop items {names}: sends count against them"
                        )
                    ]
                )
            if changed or left_out:
                await buyer_store.bump_buyer_version(conn, account_id)
            return order_id

    async def save_list(self, account_id: int, edit: ListEdit) -> int:
        """Create or edit a distribution list with its complete item list. Returns its id."""
        where = "distribution_list"
        async with transaction(self._pool) as conn:
            editing = not is_new(edit.id)
            if editing and not await list_store.lock_list(conn, account_id, edit.id):
                raise NotFound(f"no distribution list {edit.id}")
            if not edit.lead_type_id:
                _check([Violation(f"{where}.lead_type_id", "is required")])
            fields = await _lead_type_fields(conn, account_id, edit.lead_type_id)
            problems = validate_list(edit.spec(), [f.name for f in fields], where)
            if edit.depend_field and not edit.depend_value:
                problems.append(Violation(f"{where}.depend_value", "is required with depend_field"))
            named = [edit.default_client_id, *(i.client_id for i in edit.items)]
            known = await buyer_store.known_clients(conn, account_id, [c for c in named if c])
            if edit.default_client_id and edit.default_client_id not in known:
                problems.append(
                    Violation(f"{where}.default_client_id", f"no buyer {edit.default_client_id}")
                )
            for index, item in enumerate(edit.items):
                if item.client_id and item.client_id not in known:
                    problems.append(
                        Violation(f"{where}.items[{index}].client_id", f"no buyer {item.client_id}")
                    )
            _check(problems)
            if editing:
                list_id = edit.id
                changed = await list_store.update_list(conn, account_id, edit)
            else:
                list_id = await list_store.insert_list(conn, account_id, edit)
                changed = True
            items = [(i.value, i.client_id or None) for i in edit.items]
            if await list_store.save_list_items(conn, account_id, list_id, items):
                changed = True
            if changed:
                await buyer_store.bump_buyer_version(conn, account_id)
            return list_id

    async def assign_list_item(
        self,
        account_id: int,
        list_id: int,
        value: str,
        client_id: int,
        *,
        clear: bool,
        item_id: int = 0,
    ) -> None:
        """Assign one item of a list to a buyer, or clear its assignment (the item stays in
        the list, unassigned). The item is named by its id, or by its value, which is added
        when the list lacks it."""
        if item_id <= 0 and not value.strip():
            _check([Violation("item_id", "give an item's id, or its value")])
        if not clear and not client_id:
            _check([Violation("client_id", "is required unless clearing")])
        async with transaction(self._pool) as conn:
            if not await list_store.lock_list(conn, account_id, list_id):
                raise NotFound(f"no distribution list {list_id}")
            if item_id > 0:
                item = await list_store.list_item(conn, account_id, list_id, item_id)
                if item is None:
                    raise NotFound(f"no item {item_id} in distribution list {list_id}")
                value = item.value
            if not clear and not await buyer_store.known_clients(conn, account_id, [client_id]):
                raise NotFound(f"no buyer {client_id}")
            if clear:
                written = await list_store.clear_list_item(conn, account_id, list_id, value)
            else:
                written = await list_store.assign_list_item(
                    conn, account_id, list_id, value, client_id
                )
            if written:
                await buyer_store.bump_buyer_version(conn, account_id)

    async def save_list_item(
        self, account_id: int, list_id: int, item_id: int, value: str, client_id: int
    ) -> StoredListItem:
        """Add an item to a list (item_id 0 or -1; a value the list has already is that item)
        or change an item's value and buyer (0 = unassigned). Returns the item as stored."""
        if not value.strip():
            _check([Violation("item.value", "is required")])
        async with transaction(self._pool) as conn:
            if not await list_store.lock_list(conn, account_id, list_id):
                raise NotFound(f"no distribution list {list_id}")
            if client_id and not await buyer_store.known_clients(conn, account_id, [client_id]):
                raise NotFound(f"no buyer {client_id}")
            buyer = client_id or None
            if is_new(item_id):
                written = await list_store.assign_list_item(conn, account_id, list_id, value, buyer)
            else:
                if await list_store.list_item(conn, account_id, list_id, item_id) is None:
                    raise NotFound(f"no item {item_id} in distribution list {list_id}")
                written = await list_store.update_list_item(
                    conn, account_id, list_id, item_id, value, buyer
                )
            if written:
                await buyer_store.bump_buyer_version(conn, account_id)
            saved = await list_store.list_item(conn, account_id, list_id, value=value)
            if saved is None:  # written in this transaction
                raise NotFound(f"no item {value!r} in distribution list {list_id}")
            return saved


async def _lead_type_fields(
    conn: Connection, account_id: int, lead_type_id: int
) -> list[FieldSpec]:
    found = await catalog_store.list_lead_types(conn, account_id, lead_type_id)
    if not found:
        raise NotFound(f"no lead type {lead_type_id}")
    return list(found[0][1].fields)


async def _owner(
    conn: Connection, account_id: int, client_id: int, stored_client: int | None, where: str
) -> int:
    """The buyer a delivery method, delivery account or order belongs to: the stored one when
    editing (it cannot move), else `client_id`, which must be a buyer of the account."""
    if stored_client is not None:
        if client_id and client_id != stored_client:
            _check([Violation(f"{where}.client_id", "cannot move to another buyer")])
        return stored_client
    if not client_id:
        _check([Violation(f"{where}.client_id", "is required")])
    if not await buyer_store.known_clients(conn, account_id, [client_id]):
        raise NotFound(f"no buyer {client_id}")
    return client_id


def _clean_days(settings: Mapping[str, Any], where: str) -> tuple[dict[str, Any], list[Violation]]:
    """Malformed day times reported at their paths (as config as code reads them) and read as
    00:00, so validate_method checks the rest of the schedule."""
    problems: list[Violation] = []
    days = []
    for index, day in enumerate(settings.get("days", ())):
        cleaned = dict(day)
        for name in ("start", "end"):
            if parse_clock(str(day.get(name, ""))) is None:
                problems.append(
                    Violation(f"{where}.days[{index}].{name}", "must be HH:MM (24:00 = end of day)")
                )
                cleaned[name] = "00:00"
        days.append(cleaned)
    cleaned_settings = dict(settings)
    if days:
        cleaned_settings["days"] = days
    return cleaned_settings, problems


def _secrets(new: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
    """New settings keeping the stored secrets left unset (None); an empty secret clears."""
    return {k: v for k, v in merge_secrets(new, old).items() if v != ""}


async def _criteria_for(
    conn: Connection, account_id: int, delivery_id: int, fields: Sequence[FieldSpec], where: str
) -> list[Violation]:
    """Problems the delivery accounts using this method would have with another lead type."""
    by_name = criteria_fields(fields)
    problems = []
    for delivery_account_id, criteria in await buyer_store.criteria_through(
        conn, account_id, delivery_id
    ):
        spec = DeliveryAccountSpec(criteria=criteria)
        for problem in validate_delivery_account(spec, by_name, "account", zip_codes.is_known):
            problems.append(
                Violation(
                    f"{where}.lead_type_id",
                    f"its delivery account {delivery_account_id}: "
                    f"{problem.path.removeprefix('account.')}: {problem.reason}",
                )
            )
    return problems
