"""Use cases for lead types and fields, lead sources and campaigns.

The `save_*` coroutines work inside a caller's transaction, so the single-entity use cases
of `Catalog` and config apply share one way of writing each entity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from server.domain import secrets
from server.domain.catalog import instructions
from server.domain.catalog.computed import computed_problems
from server.domain.catalog.fields import FieldSpec, validate_field_specs
from server.domain.catalog.records import StoredCampaign, StoredField, StoredSource
from server.domain.catalog.rules import rules_by_name
from server.domain.catalog.specs import (
    CampaignSpec,
    LeadTypeSpec,
    SourceSpec,
    validate_campaign,
    validate_lead_type,
    validate_source,
    with_state_id,
)
from server.domain.geo import States
from server.domain.masks import masked
from server.errors import FailedPrecondition, InvalidArgument, NotFound, Violation
from server.storage import catalog as store
from server.storage import offers as offer_store
from server.storage.database import Connection, Pool, statements, transaction

# the attributes an update changes; None: every one
Changed = frozenset[str] | None


class Action(StrEnum):
    """What a save did to one entity."""

    Created = "created"
    Updated = "updated"
    Unchanged = "unchanged"
    Deleted = "deleted"


@dataclass(frozen=True)
class Change:
    """One entity a save wrote or left as it was: its kind, its key and what was done."""

    kind: str
    key: str
    action: Action


def _check(problems: Sequence[Violation]) -> None:
    if problems:
        raise InvalidArgument(problems)


def password_hash(new: str | None, current: str | None) -> str | None:
    """The hash to store: keep on None, clear on "", keep when unchanged, else hash anew."""
    if new is None:
        return current
    if new == "":
        return None
    if current is not None and secrets.password_matches(new, current):
        return current
    return secrets.hash_password(new)


class Catalog:
    """The account's lead types and fields, lead sources and campaigns, one entity at a time.
    A source's state may be given by id (`state_id`, LeadExec's StateUID) and is answered with
    its id too, from `states`."""

    def __init__(self, pool: Pool, states: States) -> None:
        self._pool = pool
        self._states = states

    # -- lead types

    async def create_lead_type(
        self, account_id: int, spec: LeadTypeSpec
    ) -> tuple[int, LeadTypeSpec]:
        _check(validate_lead_type(spec))
        async with transaction(self._pool) as conn:
            lead_type_id, _, _ = await save_lead_type(
                conn, account_id, spec, None, with_fields=True
            )
            return lead_type_id, await _lead_type(conn, account_id, lead_type_id)

    async def update_lead_type(
        self, account_id: int, lead_type_id: int, spec: LeadTypeSpec
    ) -> LeadTypeSpec:
        """Change name, key, description and industry; fields are edited one by one."""
        _check(validate_lead_type(replace(spec, fields=())))
        async with transaction(self._pool) as conn:
            await _lead_type(conn, account_id, lead_type_id)
            await save_lead_type(conn, account_id, spec, lead_type_id, with_fields=False)
            return await _lead_type(conn, account_id, lead_type_id)

    async def get_lead_type(self, account_id: int, lead_type_id: int) -> LeadTypeSpec:
        async with statements(self._pool) as conn:
            return await _lead_type(conn, account_id, lead_type_id)

    async def list_lead_types(self, account_id: int) -> list[tuple[int, LeadTypeSpec]]:
        async with statements(self._pool) as conn:
            return await store.list_lead_types(conn, account_id)

    # -- fields

    async def create_field(
        self, account_id: int, lead_type_id: int, spec: FieldSpec
    ) -> StoredField:
        async with transaction(self._pool) as conn:
            fields = list((await _lead_type(conn, account_id, lead_type_id)).fields)
            _check(_field_problems([*fields, spec], len(fields)))
            field_id = await store.insert_field(conn, account_id, lead_type_id, spec, len(fields))
            return await _field(conn, account_id, field_id)

    async def update_field(self, account_id: int, field_id: int, spec: FieldSpec) -> StoredField:
        async with transaction(self._pool) as conn:
            current = await _field(conn, account_id, field_id)
            fields = list((await _lead_type(conn, account_id, current.lead_type_id)).fields)
            index = next(i for i, f in enumerate(fields) if f.id == field_id)
            fields[index] = spec
            _check(_field_problems(fields, index))
            _check_computed_users(fields, index)
            await store.update_field(conn, account_id, field_id, spec, index)
            return await _field(conn, account_id, field_id)

    async def delete_field(self, account_id: int, field_id: int) -> None:
        async with transaction(self._pool) as conn:
            current = await _field(conn, account_id, field_id)
            fields = (await _lead_type(conn, account_id, current.lead_type_id)).fields
            _check_computed_users([f for f in fields if f.id != field_id])
            if not await store.delete_field(conn, account_id, field_id):
                raise NotFound(f"no lead field {field_id}")

    # -- sources

    async def create_source(
        self, account_id: int, spec: SourceSpec, *, state_id: int = 0
    ) -> StoredSource:
        """`state_id`: the source's state by id (with_state_id); 0: spec.state as it is."""
        spec = with_state_id(spec, state_id, self._states)
        _check(validate_source(spec))
        async with transaction(self._pool) as conn:
            source_id, _ = await save_source(conn, account_id, spec, None)
            return self._located(await _source(conn, account_id, source_id))

    async def update_source(
        self,
        account_id: int,
        source_id: int,
        spec: SourceSpec,
        changed: Changed = None,
        *,
        state_id: int = 0,
    ) -> StoredSource:
        """`changed`: the attributes to change; None: all of them (spec is the whole source).
        `state_id` as for create_source, read before the mask (it sets spec.state)."""
        spec = with_state_id(spec, state_id, self._states)
        async with transaction(self._pool) as conn:
            current = await _source(conn, account_id, source_id)
            spec = masked(current.spec, spec, changed)
            _check(validate_source(spec))
            await save_source(conn, account_id, spec, current)
            return self._located(await _source(conn, account_id, source_id))

    async def get_source(self, account_id: int, source_id: int) -> StoredSource:
        async with statements(self._pool) as conn:
            return self._located(await _source(conn, account_id, source_id))

    async def list_sources(self, account_id: int) -> list[StoredSource]:
        async with statements(self._pool) as conn:
            found = await store.list_sources(conn, account_id)
        return [self._located(s) for s in found]

    def _located(self, stored: StoredSource) -> StoredSource:
        """The source with the id of the state it names."""
        return replace(stored, state_id=self._states.id_of(stored.spec.state))

    # -- campaigns

    async def create_campaign(self, account_id: int, spec: CampaignSpec) -> StoredCampaign:
        async with transaction(self._pool) as conn:
            spec, fields = await _checked_campaign(conn, account_id, spec)
            campaign_id, _ = await save_campaign(conn, account_id, spec, None, fields)
            return await _campaign(conn, account_id, campaign_id)

    async def update_campaign(
        self, account_id: int, campaign_id: int, spec: CampaignSpec, changed: Changed = None
    ) -> StoredCampaign:
        """`changed` as for update_source."""
        async with transaction(self._pool) as conn:
            current = await _campaign(conn, account_id, campaign_id)
            spec = masked(current.spec, spec, changed)
            spec, fields = await _checked_campaign(conn, account_id, spec)
            await save_campaign(conn, account_id, spec, current, fields)
            return await _campaign(conn, account_id, campaign_id)

    async def get_campaign(self, account_id: int, campaign_id: int) -> StoredCampaign:
        async with statements(self._pool) as conn:
            return await _campaign(conn, account_id, campaign_id)

    async def list_campaigns(
        self, account_id: int, source_id: int | None = None
    ) -> list[StoredCampaign]:
        async with statements(self._pool) as conn:
            return await store.list_campaigns(conn, account_id, source_id=source_id)

    async def posting_instructions(
        self, account_id: int, campaign_id: int | None, campaign_key: str, receiver_url: str
    ) -> dict[str, Any]:
        """The posting instructions document of one of the account's campaigns."""
        async with statements(self._pool) as conn:
            if campaign_id:
                stored = await _campaign(conn, account_id, campaign_id)
            else:
                found = await store.list_campaigns(conn, account_id, keys=[campaign_key])
                if not found:
                    raise NotFound(f"no campaign with key {campaign_key!r}")
                stored = found[0]
            source = await _source(conn, account_id, stored.spec.source_id)
            lead_type = await _lead_type(conn, account_id, stored.spec.lead_type_id)
            offered = (
                await offer_store.offers_of_lead_type(conn, account_id, stored.spec.lead_type_id)
                if stored.spec.return_client_offers
                else []
            )
        return instructions.posting_instructions(
            receiver_url=receiver_url,
            source_id=source.id,
            source_name=source.spec.name,
            campaign_id=stored.id,
            campaign=stored.spec,
            lead_type_id=stored.spec.lead_type_id,
            lead_type_name=lead_type.name,
            fields=lead_type.fields,
            has_password=stored.password_hash is not None,
            offers=offered,
        )


# -- saving inside a caller's transaction (these use cases and config apply) ------------------


async def save_lead_type(
    conn: Connection,
    account_id: int,
    spec: LeadTypeSpec,
    lead_type_id: int | None,
    *,
    with_fields: bool,
) -> tuple[int, list[Change], list[FieldSpec]]:
    """Insert or update a lead type; with_fields writes spec.fields as its field list.

    Stored fields missing from spec.fields are returned, not deleted: the caller deletes them
    (delete_stale_fields) once campaign rules that used them have been rewritten.
    """
    label = spec.key or spec.name
    changes: list[Change] = []
    stale: list[FieldSpec] = []
    if lead_type_id is None:
        lead_type_id = await store.insert_lead_type(conn, account_id, spec)
        changes.append(Change("lead_type", label, Action.Created))
    else:
        changed = await store.update_lead_type(conn, account_id, lead_type_id, spec)
        changes.append(Change("lead_type", label, Action.Updated if changed else Action.Unchanged))
    if with_fields:
        existing = {
            s.spec.name.casefold(): s.spec
            for s in await store.list_fields(conn, account_id, lead_type_id)
        }
        wanted = {f.name.casefold() for f in spec.fields}
        stale = [old for name, old in existing.items() if name not in wanted]
        changes.extend(
            await _save_fields(conn, account_id, lead_type_id, label, spec.fields, existing)
        )
    return lead_type_id, changes, stale


async def delete_stale_fields(
    conn: Connection, account_id: int, label: str, stale: Sequence[FieldSpec]
) -> list[Change]:
    for old in stale:
        await store.delete_field(conn, account_id, old.id)
    return [Change("lead_field", f"{label}/{old.name}", Action.Deleted) for old in stale]


async def _save_fields(
    conn: Connection,
    account_id: int,
    lead_type_id: int,
    label: str,
    fields: Sequence[FieldSpec],
    existing: dict[str, FieldSpec],
) -> list[Change]:
    changes = []
    for position, spec in enumerate(fields):
        old_spec = existing.get(spec.name.casefold())
        if old_spec is None:
            await store.insert_field(conn, account_id, lead_type_id, spec, position)
            action = Action.Created
        else:
            changed = await store.update_field(conn, account_id, old_spec.id, spec, position)
            action = Action.Updated if changed else Action.Unchanged
        changes.append(Change("lead_field", f"{label}/{spec.name}", action))
    return changes


async def save_source(
    conn: Connection, account_id: int, spec: SourceSpec, current: StoredSource | None
) -> tuple[int, Change]:
    label = spec.key or spec.name
    if current is None:
        new_id = await store.insert_source(
            conn, account_id, spec, password_hash(spec.password, None)
        )
        return new_id, Change("source", label, Action.Created)
    hashed = password_hash(spec.password, current.password_hash)
    changed = await store.update_source(conn, account_id, current.id, spec, hashed)
    return current.id, Change("source", label, Action.Updated if changed else Action.Unchanged)


async def save_campaign(
    conn: Connection,
    account_id: int,
    spec: CampaignSpec,
    current: StoredCampaign | None,
    fields: Sequence[FieldSpec],
) -> tuple[int, Change]:
    """Insert or update a campaign already validated against `fields` (its lead type's)."""
    label = spec.key or spec.name
    field_ids = {f.name.casefold(): f.id for f in fields}
    if current is None:
        hashed = password_hash(spec.password, None)
        new_id = await store.insert_campaign(conn, account_id, spec, hashed, field_ids)
        return new_id, Change("campaign", label, Action.Created)
    hashed = password_hash(spec.password, current.password_hash)
    changed = await store.update_campaign(conn, account_id, current, spec, hashed, field_ids)
    return current.id, Change("campaign", label, Action.Updated if changed else Action.Unchanged)


# -- reading inside a transaction ---------------------------------------------------------------


async def _lead_type(conn: Connection, account_id: int, lead_type_id: int) -> LeadTypeSpec:
    found = await store.list_lead_types(conn, account_id, lead_type_id)
    if not found:
        raise NotFound(f"no lead type {lead_type_id}")
    return found[0][1]


def _field_problems(fields: list[FieldSpec], index: int) -> list[Violation]:
    """Problems of the field list that concern the field at `index`, reported as `field`."""
    mine = f"fields[{index}]"
    return [
        Violation("field" + v.path.removeprefix(f"fields[{index}]"), v.reason)
        for v in [*validate_field_specs(fields), *computed_problems(fields)]
        if v.path.startswith(mine + ".") or v.path == mine
    ]


def _check_computed_users(fields: list[FieldSpec], changed: int | None = None) -> None:
    """Refuse a change to one field (at `changed`, or a deletion) that another field's
    computed expression could no longer be worked out after."""
    for problem in computed_problems(fields):
        index = int(problem.path.removeprefix("fields[").split("]", 1)[0])
        if index != changed:
            raise FailedPrecondition(
                f"the computed field {fields[index].name} uses the field: {problem.reason}; "
                "change its expression first"
            )


async def _field(conn: Connection, account_id: int, field_id: int) -> StoredField:
    stored = await store.get_field(conn, account_id, field_id)
    if stored is None:
        raise NotFound(f"no lead field {field_id}")
    return stored


async def _source(conn: Connection, account_id: int, source_id: int) -> StoredSource:
    found = await store.list_sources(conn, account_id, source_id)
    if not found:
        raise NotFound(f"no lead source {source_id}")
    return found[0]


async def _campaign(conn: Connection, account_id: int, campaign_id: int) -> StoredCampaign:
    found = await store.list_campaigns(conn, account_id, campaign_id=campaign_id)
    if not found:
        raise NotFound(f"no campaign {campaign_id}")
    return found[0]


async def _checked_campaign(
    conn: Connection, account_id: int, spec: CampaignSpec
) -> tuple[CampaignSpec, list[FieldSpec]]:
    """The campaign with its rules' fields named by name, and the fields of its lead type,
    after checking its source and its settings."""
    await _source(conn, account_id, spec.source_id)
    fields = list((await _lead_type(conn, account_id, spec.lead_type_id)).fields)
    rules, problems = rules_by_name(spec.rules, fields, "campaign.rules")
    _check(problems)
    spec = replace(spec, rules=rules)
    _check(validate_campaign(spec, fields))
    return spec, fields
