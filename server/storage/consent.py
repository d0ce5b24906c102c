"""Consent evidence (1-to-1): written with its lead by `leads.insert_lead`, read here. The
table is append-only; nothing here or in sql/consent.sql changes or removes a record."""

from __future__ import annotations

from server.domain.intake.offers import ConsentRecord, LeadConsent
from server.storage.database import Connection
from server.storage.queries import fetch_all, fetch_one


async def lead_consent(conn: Connection, account_id: int, lead_id: int) -> LeadConsent | None:
    """A lead's properties and consent records; None for a lead not in the account."""
    scope = {"account_id": account_id, "lead_id": lead_id}
    lead = await fetch_one(conn, "lead_properties", scope)
    if lead is None:
        return None
    rows = await fetch_all(conn, "consent_evidence", scope)
    return LeadConsent(
        lead_id=lead["id"],
        reference=lead["reference"],
        no_sell=lead["no_sell"],
        tags=tuple(lead["tags"]),
        one_to_one=lead["one_to_one"],
        records=tuple(
            ConsentRecord(
                id=row["id"],
                delivery_account_id=row["delivery_account_id"],
                client_id=row["client_id"],
                offer_id=row["offer_id"],
                consent=row["consent"],
                consent_text=row["consent_text"],
                consented_at=row["consented_at"],
                ip_address=row["ip_address"],
                user_agent=row["user_agent"],
                page_url=row["page_url"],
                trusted_form_cert=row["trusted_form_cert"],
                jornaya_lead_id=row["jornaya_lead_id"],
                recorded_at=row["recorded_at"],
            )
            for row in rows
        ),
    )
