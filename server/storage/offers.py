"""Delivery accounts' static offers (1-to-1 consent): saved with their delivery account, read
for its answers and for the offers a lead is eligible for. Every call is account-scoped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from server.domain.buyers.offers import StaticOffer
from server.domain.intake.offers import Offered
from server.storage.database import Connection
from server.storage.queries import fetch_all, fetch_one


async def save_offer(
    conn: Connection, account_id: int, delivery_account_id: int, offer: StaticOffer | None
) -> bool:
    """Set (or, for None, remove) a delivery account's offer; whether anything was written.
    An offer changed in place keeps its id."""
    scope = {"account_id": account_id, "delivery_account_id": delivery_account_id}
    if offer is None:
        return await fetch_one(conn, "delete_offer", scope) is not None
    params = {**scope, **offer_columns(offer)}
    return await fetch_one(conn, "upsert_offer", params) is not None


def offer_columns(offer: StaticOffer) -> dict[str, Any]:
    return {
        "company_name": offer.company_name,
        "company_phone": offer.company_phone,
        "name": offer.name,
        "description": offer.description,
        "url": offer.url,
        "image_url": offer.image_url,
        "privacy_url": offer.privacy_url,
        "terms_url": offer.terms_url,
        "duration": offer.duration,
        "amount": offer.amount,
        "tcpa_consent_text": offer.tcpa_consent_text,
    }


def offer_json(offer: StaticOffer) -> dict[str, str]:
    """An offer as jsonb keeps it (a reservation's dynamic offer): its columns, the amount as
    a decimal string."""
    return {**offer_columns(offer), "amount": str(offer.amount)}


def offer_from_json(stored: Mapping[str, Any]) -> StaticOffer:
    """An offer from its jsonb (`offer_json`)."""
    return replace(offer_from_row(stored), amount=Decimal(str(stored["amount"])))


def offer_from_row(row: Mapping[str, Any]) -> StaticOffer:
    """An offer from a row (or a row's jsonb) holding its columns."""
    return StaticOffer(
        company_name=row["company_name"],
        company_phone=row["company_phone"],
        name=row["name"],
        description=row["description"],
        url=row["url"],
        image_url=row["image_url"],
        privacy_url=row["privacy_url"],
        terms_url=row["terms_url"],
        duration=row["duration"],
        amount=row["amount"],
        tcpa_consent_text=row["tcpa_consent_text"],
    )


async def offers_of_accounts(
    conn: Connection, account_id: int, delivery_account_ids: Sequence[int]
) -> list[Offered]:
    """The offers of these delivery accounts (those that have one), oldest offer first."""
    if not delivery_account_ids:
        return []
    rows = await fetch_all(
        conn, "offers_of_accounts", {"account_id": account_id, "ids": list(delivery_account_ids)}
    )
    return _offered(rows)


async def offers_of_lead_type(
    conn: Connection, account_id: int, lead_type_id: int
) -> list[Offered]:
    """The offers of the delivery accounts that deliver a lead type's leads."""
    params = {"account_id": account_id, "lead_type_id": lead_type_id}
    return _offered(await fetch_all(conn, "offers_of_lead_type", params))


def _offered(rows: Sequence[Mapping[str, Any]]) -> list[Offered]:
    return [
        Offered(
            id=row["id"],
            delivery_account_id=row["delivery_account_id"],
            client_id=row["client_id"],
            client_name=row["client_name"],
            offer=offer_from_row(row),
        )
        for row in rows
    ]
