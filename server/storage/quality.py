"""Reading and writing what QC review and returns change: leads in the QC bin, their review,
and returned sales. Every call is account-scoped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from server.domain.sales.quality import Decision, QcLead, QcState, ReturnedSend, Sale
from server.domain.sales.sends import SendStatus
from server.storage.database import Connection
from server.storage.queries import Row, fetch_all, fetch_one

# -- the QC bin ---------------------------------------------------------------------------------


async def list_qc_bin(
    conn: Connection, account_id: int, campaign_id: int, after_lead_id: int, limit: int
) -> list[QcLead]:
    """Leads waiting in the QC bin (of one campaign; 0: of all), oldest first, after a lead."""
    rows = await fetch_all(
        conn,
        "list_qc_bin",
        {
            "account_id": account_id,
            "campaign_id": campaign_id,
            "after_id": after_lead_id,
            "limit": limit,
        },
    )
    return [
        QcLead(
            lead_id=row["id"],
            post_id=row["post_id"],
            source_id=row["source_id"],
            campaign_id=row["campaign_id"],
            lead_type_id=row["lead_type_id"],
            reference=row["reference"],
            received_at=row["received_at"],
            fields=row["fields"],
            price=row["price"],
        )
        for row in rows
    ]


async def approve_lead(
    conn: Connection, account_id: int, lead_id: int, note: str
) -> Decision | None:
    """Take a lead out of the bin and write its distribution job (none for a noSell lead);
    None when the lead is not in the bin."""
    row = await fetch_one(
        conn, "approve_lead", {"account_id": account_id, "id": lead_id, "note": note}
    )
    return None if row is None else Decision(lead_id, True, row["qc_reviewed_at"], row["due_at"])


async def reject_lead(
    conn: Connection, account_id: int, lead_id: int, reason: str
) -> Decision | None:
    """Take a lead out of the bin for good; None when the lead is not in the bin."""
    row = await fetch_one(
        conn, "reject_lead", {"account_id": account_id, "id": lead_id, "reason": reason}
    )
    return None if row is None else Decision(lead_id, False, row["qc_reviewed_at"])


async def qc_state(conn: Connection, account_id: int, lead_id: int) -> QcState | None:
    """Where a lead stands in QC review; None when the account has no such lead."""
    row = await fetch_one(conn, "get_lead_qc_state", {"account_id": account_id, "id": lead_id})
    if row is None:
        return None
    return QcState(lead_id, row["pending_qc"], row["qc_reviewed_at"], row["qc_rejected"])


# -- returns ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadToReturn:
    """A lead locked while its sales are returned: its price, its campaign's and source's
    return settings, and the transaction's clock."""

    price: Decimal
    return_days: int
    count_returns: bool
    default_return_days: int
    now: datetime


@dataclass(frozen=True)
class SendToReturn:
    """A send a return names, locked: as the return rules see it, and as the answer shows it."""

    sale: Sale
    shown: ReturnedSend


@dataclass(frozen=True)
class LeadReturned:
    """A lead marked returned: whether to its source, and the credit its source gives back."""

    returned_to_source: bool
    source_credit: Decimal


def _returned_send(row: Row) -> ReturnedSend:
    return ReturnedSend(
        send_id=row["id"],
        lead_id=row["lead_id"],
        client_id=row["client_id"],
        client_name=row["client_name"],
        price=row["price"],
        sold_at=row["sold_at"],
        returned_at=row["returned_at"],
        return_reason=row["return_reason"],
    )


async def lead_of_send(conn: Connection, account_id: int, send_id: int) -> int | None:
    """The lead a send belongs to; None when the account has no such send."""
    row = await fetch_one(conn, "find_send_lead", {"account_id": account_id, "id": send_id})
    return None if row is None else int(row["lead_id"])


async def lock_lead_for_return(
    conn: Connection, account_id: int, lead_id: int
) -> LeadToReturn | None:
    row = await fetch_one(
        conn, "lock_lead_for_return", {"account_id": account_id, "lead_id": lead_id}
    )
    if row is None:
        return None
    return LeadToReturn(
        price=row["price"],
        return_days=row["return_days"],
        count_returns=row["count_returns"],
        default_return_days=row["default_return_days"],
        now=row["now"],
    )


async def lock_sends_for_return(
    conn: Connection, account_id: int, lead_id: int, send_id: int, client_id: int
) -> list[SendToReturn]:
    """The sends a return names, locked, by id: one send by id, or (send_id 0) the buyer's
    sends of the lead."""
    rows = await fetch_all(
        conn,
        "lock_sends_for_return",
        {"account_id": account_id, "lead_id": lead_id, "send_id": send_id, "client_id": client_id},
    )
    return [
        SendToReturn(
            Sale(
                row["id"],
                SendStatus(row["status"]),
                row["sold_at"],
                row["returned_at"],
                row["return_reason"],
            ),
            _returned_send(row),
        )
        for row in rows
    ]


async def mark_sends_returned(
    conn: Connection, account_id: int, send_ids: Sequence[int], reason: str
) -> dict[int, datetime]:
    """Return these sales (each once); when each was returned, by send id."""
    rows = await fetch_all(
        conn,
        "mark_sends_returned",
        {"account_id": account_id, "ids": list(send_ids), "reason": reason},
    )
    return {int(row["id"]): row["returned_at"] for row in rows}


async def mark_lead_returned(
    conn: Connection,
    account_id: int,
    lead_id: int,
    reason: str,
    *,
    to_source: bool,
    source_credit: Decimal,
) -> LeadReturned | None:
    """Mark a lead returned once no sale of it stands or may still be made; None while one
    does (or when it was returned before)."""
    row = await fetch_one(
        conn,
        "mark_lead_returned",
        {
            "account_id": account_id,
            "lead_id": lead_id,
            "reason": reason,
            "to_source": to_source,
            "source_credit": source_credit,
        },
    )
    return None if row is None else LeadReturned(row["returned_to_source"], row["source_credit"])


async def list_returns(
    conn: Connection,
    account_id: int,
    client_id: int,
    lead_id: int,
    after_send_id: int,
    limit: int,
) -> list[ReturnedSend]:
    """Returned sales (of one buyer, one lead; 0: of all), oldest send first, after a send."""
    rows = await fetch_all(
        conn,
        "list_returns",
        {
            "account_id": account_id,
            "client_id": client_id,
            "lead_id": lead_id,
            "after_id": after_send_id,
            "limit": limit,
        },
    )
    return [_returned_send(row) for row in rows]
