"""The marketplace's records: lead categories, resellers, lead pack categories, lead packs
and promo codes, saved and listed."""

from __future__ import annotations

from dataclasses import replace

from server.adapters import zip_codes
from server.domain.intake.call_data import criteria_fields
from server.domain.matching.criteria import criteria_by_name, keep_criterion_ids, validate_criteria
from server.domain.sales.marketplace import (
    LeadPack,
    Named,
    NamedKind,
    PackStatus,
    PackType,
    PromoCode,
    name_problems,
    validate_pack,
    validate_promo,
)
from server.errors import InvalidArgument, NotFound
from server.storage import catalog as catalog_store
from server.storage import marketplace as store
from server.storage.database import Connection, Pool, transaction

_WHAT = {
    "lead_category": "lead category",
    "reseller": "reseller",
    "pack_category": "lead pack category",
}


class MarketplaceCatalog:
    """The marketplace's records of one database."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def save_named(self, account_id: int, kind: NamedKind, named: Named) -> Named:
        """Create (id 0 or -1) or rename a lead category, reseller or lead pack category."""
        named = replace(named, name=named.name.strip())
        problems = name_problems(named.name)
        if problems:
            raise InvalidArgument(problems)
        async with transaction(self._pool) as conn:
            saved = await store.save_named(conn, account_id, kind, named)
        if saved is None:
            raise NotFound(f"no {_WHAT[kind]} {named.id}")
        return saved

    async def list_named(self, account_id: int, kind: NamedKind) -> list[Named]:
        async with transaction(self._pool) as conn:
            return await store.list_named(conn, account_id, kind)

    async def save_pack(self, account_id: int, pack: LeadPack) -> LeadPack:
        """Create (id 0 or -1) or replace a lead pack; its criteria must fit its lead type's
        fields, as a delivery account's must."""
        if pack.status is PackStatus.Unspecified:
            pack = replace(pack, status=PackStatus.Active)
        problems = validate_pack(pack)
        async with transaction(self._pool) as conn:
            fields = [
                f.spec for f in await catalog_store.list_fields(conn, account_id, pack.lead_type_id)
            ]
            criteria, named_problems = criteria_by_name(pack.criteria, fields, "criteria")
            problems.extend(named_problems)
            if not named_problems:
                problems.extend(
                    validate_criteria(criteria, criteria_fields(fields), zip_codes.is_known)
                )
            if problems:
                raise InvalidArgument(problems)
            stored = []
            if pack.id > 0:
                stored = await store.list_packs(conn, account_id, pack_id=pack.id)
                if not stored:
                    raise NotFound(f"no lead pack {pack.id}")
            criteria = keep_criterion_ids(criteria, stored[0].criteria if stored else ())
            pack_id = await store.save_pack(conn, account_id, replace(pack, criteria=criteria))
            if pack_id is None:
                raise NotFound(f"no lead pack {pack.id}")
            return (await _with_field_ids(conn, account_id, [pack_id]))[0]

    async def list_packs(
        self,
        account_id: int,
        *,
        pack_id: int = 0,
        pack_category_id: int = 0,
        pack_type: PackType = PackType.Not_Set,
        reseller_id: int = 0,
    ) -> list[LeadPack]:
        async with transaction(self._pool) as conn:
            packs = await store.list_packs(
                conn,
                account_id,
                pack_id=pack_id,
                pack_category_id=pack_category_id,
                pack_type=pack_type,
                reseller_id=reseller_id,
            )
            return await _named_fields(conn, account_id, packs)

    async def save_promo(self, account_id: int, promo: PromoCode) -> PromoCode:
        """Create (id 0 or -1) or replace a promo code with the packs it applies to."""
        promo = replace(
            promo, code=promo.code.strip(), pack_ids=tuple(dict.fromkeys(promo.pack_ids))
        )
        problems = validate_promo(promo)
        if problems:
            raise InvalidArgument(problems)
        async with transaction(self._pool) as conn:
            promo_id = await store.save_promo(conn, account_id, promo)
            if promo_id is None:
                raise NotFound(f"no promo code {promo.id}")
            return (await store.list_promos(conn, account_id, promo_id=promo_id))[0]

    async def list_promos(self, account_id: int, reseller_id: int = 0) -> list[PromoCode]:
        async with transaction(self._pool) as conn:
            return await store.list_promos(conn, account_id, reseller_id)


async def _with_field_ids(conn: Connection, account_id: int, pack_ids: list[int]) -> list[LeadPack]:
    packs = [p for i in pack_ids for p in await store.list_packs(conn, account_id, pack_id=i)]
    return await _named_fields(conn, account_id, packs)


async def _named_fields(conn: Connection, account_id: int, packs: list[LeadPack]) -> list[LeadPack]:
    """The packs with each criterion's field id (LeadExec's LeadFieldUID) beside its name."""
    ids: dict[int, dict[str, int]] = {}
    for lead_type_id in {p.lead_type_id for p in packs if p.criteria}:
        fields = await catalog_store.list_fields(conn, account_id, lead_type_id)
        ids[lead_type_id] = {f.spec.name.casefold(): f.spec.id for f in fields}
    return [
        replace(
            p,
            criteria=tuple(
                replace(c, field_id=ids[p.lead_type_id].get(c.field.casefold(), 0))
                for c in p.criteria
            ),
        )
        if p.criteria
        else p
        for p in packs
    ]
