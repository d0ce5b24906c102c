"""Reading and writing lead types, fields, sources and campaigns. Every call is account-scoped.

Writers that update return whether anything changed, so applying the same config twice
writes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from server.domain.catalog.fields import DataType, FieldSpec, SpecialField
from server.domain.catalog.records import StoredCampaign, StoredField, StoredSource
from server.domain.catalog.rules import Operator, Rule
from server.domain.catalog.specs import (
    CampaignSpec,
    Channel,
    LeadTypeSpec,
    Pricing,
    PricingModel,
    SourceSpec,
    Status,
)
from server.errors import FailedPrecondition
from server.storage.database import Connection, reference_known
from server.storage.queries import Row, fetch_all, q


@dataclass(frozen=True)
class PostTarget:
    """What a post's identifiers resolve to, as of one version of the account's catalog."""

    account_id: int
    version: int  # of the account's catalog: any write to it changes it
    time_zone: ZoneInfo  # the account's: its campaigns' cap windows are in it
    source_status: Status
    lead_type_found: bool
    active_campaigns: tuple[int, ...]  # the source's for the lead type, when none was named
    campaign: StoredCampaign | None  # the one named, else the source's one active one
    fields: tuple[FieldSpec, ...]  # the lead type's


async def _returned_id(conn: Connection, name: str, params: dict[str, Any]) -> int | None:
    rows = await fetch_all(conn, name, params)
    return int(rows[0]["id"]) if rows else None


# -- lead types and fields ---------------------------------------------------------------


def _lead_type_params(account_id: int, spec: LeadTypeSpec) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "key": spec.key,
        "name": spec.name,
        "description": spec.description,
        "industry_type": spec.industry_type,
    }


async def insert_lead_type(conn: Connection, account_id: int, spec: LeadTypeSpec) -> int:
    new_id = await _returned_id(conn, "insert_lead_type", _lead_type_params(account_id, spec))
    assert new_id is not None
    return new_id


async def update_lead_type(
    conn: Connection, account_id: int, lead_type_id: int, spec: LeadTypeSpec
) -> bool:
    params = {**_lead_type_params(account_id, spec), "id": lead_type_id}
    return await _returned_id(conn, "update_lead_type", params) is not None


async def list_lead_types(
    conn: Connection, account_id: int, lead_type_id: int | None = None
) -> list[tuple[int, LeadTypeSpec]]:
    """Lead types with their fields."""
    types = await fetch_all(conn, "list_lead_types", {"account_id": account_id, "id": lead_type_id})
    fields = await list_fields(conn, account_id, lead_type_id)
    by_type: dict[int, list[FieldSpec]] = {}
    for stored in fields:
        by_type.setdefault(stored.lead_type_id, []).append(stored.spec)
    return [
        (
            row["id"],
            LeadTypeSpec(
                key=row["key"],
                name=row["name"],
                description=row["description"],
                industry_type=row["industry_type"],
                fields=tuple(by_type.get(row["id"], ())),
            ),
        )
        for row in types
    ]


async def lead_type_ids_by_key(
    conn: Connection, account_id: int, keys: Sequence[str]
) -> dict[str, int]:
    rows = await fetch_all(
        conn, "lead_type_ids_by_key", {"account_id": account_id, "keys": list(keys)}
    )
    return {row["key"]: row["id"] for row in rows}


def _field_from_row(row: Row) -> StoredField:
    return StoredField(
        lead_type_id=row["lead_type_id"],
        position=row["position"],
        spec=FieldSpec(
            id=row["id"],
            name=row["name"],
            data_type=DataType[row["data_type"]],
            required=row["required"],
            validation=row["validation"],
            invalid_chars=row["invalid_chars"],
            enumerations=tuple(row["enumerations"]),
            format_string=row["format_string"],
            special=SpecialField[row["special"]],
            description=row["description"],
            duplicate_check=row["duplicate_check"],
            col_span=row["col_span"],
            width=row["width"],
            height=row["height"],
            computed=row["computed"],
        ),
    )


async def list_fields(
    conn: Connection, account_id: int, lead_type_id: int | None
) -> list[StoredField]:
    rows = await fetch_all(
        conn, "list_fields", {"account_id": account_id, "lead_type_id": lead_type_id}
    )
    return [_field_from_row(row) for row in rows]


async def get_field(conn: Connection, account_id: int, field_id: int) -> StoredField | None:
    rows = await fetch_all(conn, "get_field", {"account_id": account_id, "id": field_id})
    return _field_from_row(rows[0]) if rows else None


def _field_params(account_id: int, spec: FieldSpec, position: int) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "name": spec.name,
        "data_type": spec.data_type.name,
        "required": spec.required,
        "validation": spec.validation,
        "invalid_chars": spec.invalid_chars,
        "enumerations": list(spec.enumerations),
        "format_string": spec.format_string,
        "special": spec.special.name,
        "description": spec.description,
        "duplicate_check": spec.duplicate_check,
        "position": position,
        "col_span": spec.col_span,
        "width": spec.width,
        "height": spec.height,
        "computed": spec.computed,
    }


async def insert_field(
    conn: Connection, account_id: int, lead_type_id: int, spec: FieldSpec, position: int
) -> int:
    params = {**_field_params(account_id, spec, position), "lead_type_id": lead_type_id}
    new_id = await _returned_id(conn, "insert_field", params)
    assert new_id is not None
    return new_id


async def update_field(
    conn: Connection, account_id: int, field_id: int, spec: FieldSpec, position: int
) -> bool:
    params = {**_field_params(account_id, spec, position), "id": field_id}
    return await _returned_id(conn, "update_field", params) is not None


async def delete_field(conn: Connection, account_id: int, field_id: int) -> bool:
    """Remove a field; FailedPrecondition while a campaign rule uses it."""
    params = {"account_id": account_id, "id": field_id}
    try:
        return await _returned_id(conn, "delete_field", params) is not None
    except psycopg.errors.ForeignKeyViolation:
        raise FailedPrecondition(
            "the field is used by a campaign rule; change the rule first"
        ) from None


# -- sources ------------------------------------------------------------------------------


def _source_params(account_id: int, spec: SourceSpec, password_hash: str | None) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "key": spec.key,
        "name": spec.name,
        "email": spec.email,
        "address": spec.address,
        "address2": spec.address2,
        "city": spec.city,
        "state": spec.state,
        "zip": spec.zip,
        "phone": spec.phone,
        "fax": spec.fax,
        "status": int(spec.status),
        "username": spec.username or None,
        "password_hash": password_hash,
        "default_return_days": spec.default_return_days,
    }


async def insert_source(
    conn: Connection, account_id: int, spec: SourceSpec, password_hash: str | None
) -> int:
    new_id = await _returned_id(
        conn, "insert_source", _source_params(account_id, spec, password_hash)
    )
    assert new_id is not None
    return new_id


async def update_source(
    conn: Connection, account_id: int, source_id: int, spec: SourceSpec, password_hash: str | None
) -> bool:
    params = {**_source_params(account_id, spec, password_hash), "id": source_id}
    return await _returned_id(conn, "update_source", params) is not None


async def list_sources(
    conn: Connection,
    account_id: int,
    source_id: int | None = None,
    keys: Sequence[str] | None = None,
) -> list[StoredSource]:
    params = {
        "account_id": account_id,
        "id": source_id,
        "keys": None if keys is None else list(keys),
    }
    return [
        StoredSource(
            id=row["id"],
            password_hash=row["password_hash"],
            spec=SourceSpec(
                key=row["key"],
                name=row["name"],
                email=row["email"],
                address=row["address"],
                address2=row["address2"],
                city=row["city"],
                state=row["state"],
                zip=row["zip"],
                phone=row["phone"],
                fax=row["fax"],
                status=Status(row["status"]),
                username=row["username"],
                default_return_days=row["default_return_days"],
            ),
        )
        for row in await fetch_all(conn, "list_sources", params)
    ]


# -- campaigns ----------------------------------------------------------------------------


# A lead category the account does not have, as NotFound.
_KNOWN_CATEGORY = {
    "campaigns_account_id_lead_category_id_fkey": (
        "lead_category_id: no such lead category in the account"
    )
}


def _campaign_params(
    account_id: int, spec: CampaignSpec, password_hash: str | None
) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "key": spec.key,
        "source_id": spec.source_id,
        "lead_type_id": spec.lead_type_id,
        "name": spec.name,
        "channel": int(spec.channel),
        "status": int(spec.status),
        "password_hash": password_hash,
        "require_api_key": spec.require_api_key,
        "pricing_model": spec.pricing.model.value,
        "pricing_amount": spec.pricing.amount,
        "hour_max": spec.hour_max,
        "day_max": spec.day_max,
        "month_max": spec.month_max,
        "count_returns": spec.count_returns,
        "dup_day_max": spec.dup_day_max,
        "max_sell": spec.max_sell,
        "use_qc_bin": spec.use_qc_bin,
        "return_days": spec.return_days,
        "email_verify": spec.email_verify,
        "append_city_state_from_zip": spec.append_city_state_from_zip,
        "return_client_offers": spec.return_client_offers,
        "ping_order_seconds": spec.ping_order_seconds,
        "lead_category_id": spec.lead_category_id,
    }


async def insert_campaign(
    conn: Connection,
    account_id: int,
    spec: CampaignSpec,
    password_hash: str | None,
    field_ids: dict[str, int],
) -> int:
    """Create a campaign and its rules; field_ids maps casefolded field names to ids."""
    with reference_known(_KNOWN_CATEGORY):
        new_id = await _returned_id(
            conn, "insert_campaign", _campaign_params(account_id, spec, password_hash)
        )
    assert new_id is not None
    await _write_rules(conn, account_id, new_id, spec.rules, field_ids)
    return new_id


async def update_campaign(
    conn: Connection,
    account_id: int,
    stored: StoredCampaign,
    spec: CampaignSpec,
    password_hash: str | None,
    field_ids: dict[str, int],
) -> bool:
    params = {**_campaign_params(account_id, spec, password_hash), "id": stored.id}
    with reference_known(_KNOWN_CATEGORY):
        changed = await _returned_id(conn, "update_campaign", params) is not None
    if _rules_key(stored.spec.rules) != _rules_key(spec.rules):
        await conn.execute(q("delete_rules"), {"account_id": account_id, "campaign_id": stored.id})
        await _write_rules(conn, account_id, stored.id, spec.rules, field_ids)
        changed = True
    return changed


def _rules_key(rules: Sequence[Rule]) -> list[tuple[str, int, str]]:
    return [(r.field.casefold(), int(r.operator), r.value) for r in rules]


async def _write_rules(
    conn: Connection,
    account_id: int,
    campaign_id: int,
    rules: Sequence[Rule],
    field_ids: dict[str, int],
) -> None:
    for position, rule in enumerate(rules):
        await conn.execute(
            q("insert_rule"),
            {
                "account_id": account_id,
                "campaign_id": campaign_id,
                "position": position,
                "lead_field_id": field_ids[rule.field.casefold()],
                "operator": int(rule.operator),
                "value": rule.value,
            },
        )


async def list_campaigns(
    conn: Connection,
    account_id: int,
    *,
    campaign_id: int | None = None,
    source_id: int | None = None,
    keys: Sequence[str] | None = None,
) -> list[StoredCampaign]:
    params = {
        "account_id": account_id,
        "id": campaign_id,
        "source_id": source_id,
        "keys": None if keys is None else list(keys),
    }
    rows = await fetch_all(conn, "list_campaigns", params)
    rules: dict[int, list[Rule]] = {}
    if rows:
        rule_rows = await fetch_all(
            conn, "list_rules", {"account_id": account_id, "campaign_ids": [r["id"] for r in rows]}
        )
        for rule in rule_rows:
            rules.setdefault(rule["campaign_id"], []).append(
                Rule(rule["field"], Operator(rule["operator"]), rule["value"])
            )
    return [_campaign_from_row(row, rules.get(row["id"], [])) for row in rows]


def _campaign_from_row(row: Row, rules: list[Rule]) -> StoredCampaign:
    spec = CampaignSpec(
        key=row["key"],
        source_id=row["source_id"],
        lead_type_id=row["lead_type_id"],
        name=row["name"],
        channel=Channel(row["channel"]),
        status=Status(row["status"]),
        require_api_key=row["require_api_key"],
        pricing=Pricing(PricingModel(row["pricing_model"]), _normal(row["pricing_amount"])),
        hour_max=row["hour_max"],
        day_max=row["day_max"],
        month_max=row["month_max"],
        count_returns=row["count_returns"],
        dup_day_max=row["dup_day_max"],
        max_sell=row["max_sell"],
        use_qc_bin=row["use_qc_bin"],
        return_days=row["return_days"],
        email_verify=row["email_verify"],
        append_city_state_from_zip=row["append_city_state_from_zip"],
        return_client_offers=row["return_client_offers"],
        ping_order_seconds=row["ping_order_seconds"],
        lead_category_id=row["lead_category_id"] or 0,
        rules=tuple(rules),
    )
    return StoredCampaign(id=row["id"], spec=spec, password_hash=row["password_hash"])


def _normal(amount: Decimal) -> Decimal:
    """NUMERIC(14,4) reads back as 12.5000; show it as 12.50 (cents kept for money)."""
    cents = amount.quantize(Decimal("0.01"))
    return cents if amount == cents else amount.normalize()


# -- posts --------------------------------------------------------------------------------


async def find_post_target(
    conn: Connection,
    source_id: int,
    lead_type_id: int | None,
    campaign_id: int | None,
    known: PostTarget | None = None,
) -> PostTarget | None:
    """What a post for this source, lead type and campaign (None: the source's one active
    campaign of the lead type) resolves to; None when the source is unknown.

    `known`, read earlier for the same identifiers, comes back as it is while the account's
    catalog version is unchanged: then only the version is read.
    """
    if known is not None:
        rows = await fetch_all(conn, "post_target_version", {"source_id": source_id})
        if rows and (rows[0]["account_id"], rows[0]["version"]) == (
            known.account_id,
            known.version,
        ):
            return known
    rows = await fetch_all(
        conn,
        "find_post_target",
        {"source_id": source_id, "lead_type_id": lead_type_id, "campaign_id": campaign_id},
    )
    if not rows:
        return None
    row = rows[0]
    rules = [
        Rule(field, Operator(operator), value) for field, operator, value in row["rules"] or ()
    ]
    return PostTarget(
        account_id=row["account_id"],
        version=row["version"],
        time_zone=ZoneInfo(row["time_zone"]),
        source_status=Status(row["source_status"]),
        lead_type_found=row["lead_type_found"],
        active_campaigns=tuple(row["active_campaigns"] or ()),
        campaign=None if row["id"] is None else _campaign_from_row(row, rules),
        fields=tuple(_field_from_row(field).spec for field in row["fields"] or ()),
    )


async def field_of_lead_type(
    conn: Connection, account_id: int, lead_type_id: int, field_id: int
) -> tuple[bool, str | None]:
    """Whether the account has the lead type, and the name of its field `field_id` (None when
    it has no such field)."""
    rows = await fetch_all(
        conn,
        "get_lead_field_of_type",
        {"account_id": account_id, "lead_type_id": lead_type_id, "field_id": field_id},
    )
    return (True, rows[0]["field_name"]) if rows else (False, None)
