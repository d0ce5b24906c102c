"""Tracking settings, visits and the visits a lead was posted with (links written with the
lead by `leads.insert_lead`)."""

from __future__ import annotations

from datetime import datetime

from server.domain.visits import PageView, SearchReferral, Software, Tracking, VisitRecord
from server.storage.database import Connection
from server.storage.queries import Row, fetch_all, fetch_one, q


def _tracking(row: Row) -> Tracking:
    return Tracking(row["id"], row["name"], row["created_at"])


async def create_tracking(conn: Connection, account_id: int, name: str) -> Tracking:
    row = await fetch_one(conn, "create_tracking", {"account_id": account_id, "name": name})
    assert row is not None
    return _tracking(row)


async def list_trackings(conn: Connection, account_id: int) -> list[Tracking]:
    rows = await fetch_all(conn, "list_trackings", {"account_id": account_id})
    return [_tracking(row) for row in rows]


async def tracking_account(conn: Connection, tracking_id: int) -> int | None:
    """The account of a tracking setting; None for an unknown one."""
    row = await fetch_one(conn, "tracking_account", {"tracking_id": tracking_id})
    return None if row is None else int(row["account_id"])


async def record_visit(
    conn: Connection,
    account_id: int,
    view: PageView,
    referral: SearchReferral,
    software: Software,
) -> bool:
    """Record one page view of `view.visit_id`; whether it made a new visit."""
    params = {
        "account_id": account_id,
        "visit_id": view.visit_id,
        "tracking_id": view.tracking_id,
        "user_agent": view.user_agent,
        "ip": view.ip,
        "url": view.page_url,
        "host": view.host,
        "page": view.page,
        "referrer": view.referrer,
        "referrer_host": view.referrer_host,
        "search_engine": referral.engine,
        "search_term": referral.terms,
        "browser": software.browser,
        "os": software.os,
        "device": software.device,
        "visitor_id": view.visitor_id,
    }
    row = await fetch_one(conn, "record_visit", params)
    assert row is not None
    return bool(row["created"])


def _visit(row: Row) -> VisitRecord:
    return VisitRecord(
        tracking_id=row["tracking_id"],
        visit_id=row["visit_id"],
        enter_date=row["enter_date"],
        exit_date=row["exit_date"],
        user_agent=row["user_agent"],
        ip=row["ip"],
        url=row["url"],
        host=row["host"],
        enter_page=row["enter_page"],
        exit_page=row["exit_page"],
        referrer=row["referrer"],
        referrer_host=row["referrer_host"],
        search_engine=row["search_engine"],
        search_term=row["search_term"],
        browser=row["browser"],
        os=row["os"],
        device=row["device"],
        page_views=row["page_views"],
        first_visit=row["first_visit"],
    )


async def visit(conn: Connection, account_id: int, visit_id: str) -> VisitRecord | None:
    row = await fetch_one(conn, "visit", {"account_id": account_id, "visit_id": visit_id})
    return None if row is None else _visit(row)


async def lead_visits(conn: Connection, account_id: int, lead_id: int) -> list[VisitRecord] | None:
    """The kept visits a lead was posted with; None for a lead not in the account."""
    if await fetch_one(conn, "lead_exists", {"account_id": account_id, "id": lead_id}) is None:
        return None
    scope = {"account_id": account_id, "lead_id": lead_id}
    return [_visit(row) for row in await fetch_all(conn, "lead_visits", scope)]


async def sweep(conn: Connection, before: datetime, batch: int) -> int:
    """Delete up to `batch` visits and up to `batch` lead links older than `before`; how many
    rows went."""
    params = {"before": before, "batch": batch}
    gone = await conn.execute(q("sweep_visits"), params)
    linked = await conn.execute(q("sweep_lead_visits"), params)
    return max(gone.rowcount, 0) + max(linked.rowcount, 0)
