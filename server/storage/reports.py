"""The profit-and-loss aggregates: folding the deltas that writes append, rebuilding a range
from the rows themselves, and reading reports. Every call is account-scoped; the triggers
that append the deltas are in migrations/0034_reports.sql."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from server.domain.reports import Dimension, ProfitAndLoss, ReportQuery, reason_name
from server.storage.database import Connection
from server.storage.queries import fetch_all, fetch_one, q

_LOCK = 0x72707473  # "rpts": folds and rebuilds of one account take turns


@dataclass(frozen=True)
class Cell:
    """One aggregate as stored: its keys and figures (what a rebuild is compared by)."""

    day: date
    source_id: int
    campaign_id: int
    lead_type_id: int
    buyer_id: int
    reason: int
    accepted: int
    refused: int
    sold: int
    sends: int
    revenue: Decimal
    source_cost: Decimal
    returns: int
    credits: Decimal
    source_credits: Decimal


async def _lock(conn: Connection, account_id: int) -> None:
    await fetch_all(conn, "lock_reports", {"lock": _LOCK, "account_id": account_id})


async def fold(conn: Connection, account_id: int) -> None:
    """Move the account's pending deltas into its aggregates."""
    await _lock(conn, account_id)
    await conn.execute(q("fold_report_deltas"), {"account_id": account_id})


async def accounts_with_deltas(conn: Connection) -> list[int]:
    """The accounts that have deltas not yet folded."""
    return [r["account_id"] for r in await fetch_all(conn, "accounts_with_deltas", {})]


async def rebuild(
    conn: Connection, account_id: int, since: date, until: date, campaign_id: int = 0
) -> None:
    """Recompute the aggregates of UTC days `since`..`until` (of one campaign; 0: all) from
    the leads, sends and post log, then fold them with whatever else is pending."""
    await _lock(conn, account_id)
    params = {"account_id": account_id, "from": since, "to": until, "campaign_id": campaign_id}
    await conn.execute(q("replace_report_range"), params)
    await conn.execute(q("fold_report_deltas"), {"account_id": account_id})


async def lead_scope(conn: Connection, account_id: int, lead_id: int) -> tuple[date, int] | None:
    """The UTC day and campaign a lead counts in; None for no such lead."""
    row = await fetch_one(conn, "lead_report_scope", {"account_id": account_id, "lead_id": lead_id})
    return None if row is None else (row["day"], row["campaign_id"])


async def cells(conn: Connection, account_id: int, since: date, until: date) -> list[Cell]:
    """Every aggregate of the account on UTC days `since`..`until`, in key order."""
    rows = await fetch_all(
        conn, "report_cells", {"account_id": account_id, "from": since, "to": until}
    )
    return [
        Cell(
            day=r["day"],
            source_id=r["source_id"],
            campaign_id=r["campaign_id"],
            lead_type_id=r["lead_type_id"],
            buyer_id=r["client_id"],
            reason=r["reason"],
            accepted=r["accepted"],
            refused=r["refused"],
            sold=r["sold"],
            sends=r["sends"],
            revenue=r["revenue"],
            source_cost=r["source_cost"],
            returns=r["returns"],
            credits=r["credits"],
            source_credits=r["source_credits"],
        )
        for r in rows
    ]


async def profit_and_loss(
    conn: Connection, account_id: int, query: ReportQuery
) -> list[ProfitAndLoss]:
    """The report's rows, from the aggregates as they stand (fold first to include pending
    deltas)."""
    rows = await fetch_all(
        conn,
        "profit_and_loss",
        {
            "account_id": account_id,
            "from": query.since,
            "to": query.until,
            "by_day": Dimension.DAY in query.by,
            "by_source": Dimension.SOURCE in query.by,
            "by_campaign": Dimension.CAMPAIGN in query.by,
            "by_buyer": Dimension.BUYER in query.by,
            "by_lead_type": Dimension.LEAD_TYPE in query.by,
            "source_id": query.source_id,
            "campaign_id": query.campaign_id,
            "client_id": query.buyer_id,
            "lead_type_id": query.lead_type_id,
        },
    )
    return [
        ProfitAndLoss(
            day=r["day"],
            source_id=r["source_id"],
            source_name=r["source_name"] or "",
            campaign_id=r["campaign_id"],
            campaign_name=r["campaign_name"] or "",
            buyer_id=r["client_id"],
            buyer_name=r["client_name"] or "",
            lead_type_id=r["lead_type_id"],
            lead_type_name=r["lead_type_name"] or "",
            accepted=int(r["accepted"]),
            refused=int(r["refused"]),
            refusals={reason_name(int(k)): int(v) for k, v in sorted(r["refusals"].items())},
            sold=int(r["sold"]),
            sends=int(r["sends"]),
            revenue=r["revenue"],
            source_cost=r["source_cost"],
            returns=int(r["returns"]),
            credits=r["credits"],
            source_credits=r["source_credits"],
        )
        for r in rows
    ]
