"""Leads and their posts: storing an accepted lead with its post log entry and distribution
job in one statement, logging refused posts, the campaign's cap counts and the duplicate
search under their locks, updates from the source, and the reads of leads and posts.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from server.domain.caps import CapCounts, CapWindows
from server.domain.catalog.fields import Value
from server.domain.catalog.specs import PricingModel, Status
from server.domain.intake.offers import ConsentRecord
from server.domain.intake.queueing import QueueState
from server.domain.intake.records import FoundLead, LeadSummary, PostStatus, QueueStanding
from server.domain.intake.screening import Step
from server.storage import callbacks
from server.storage.database import Connection
from server.storage.queries import Row, fetch_all, q


@dataclass(frozen=True)
class PostEntry:
    """One posted lead's post log entry: the request as it came, and the answer."""

    account_id: int
    post_id: str
    source_id: int | None
    campaign_id: int | None
    lead_type_id: int | None
    remote_ip: str
    request_format: str
    request_body: bytes
    request_truncated: bool
    lead_index: int
    request_post_id: str | None  # for a further lead: the entry that holds the request's body
    is_valid: bool
    response_type: int
    response_details: str
    lead_id: int | None
    price: Decimal
    steps: Sequence[Step]
    ping: bool = False  # a ping's entry (server/services/intake/ping.py)


@dataclass(frozen=True)
class NewLead:
    """An accepted lead to store, with its post log entry and what its job needs."""

    post: PostEntry
    reference: str
    no_sell: bool
    send_delay_hours: Decimal
    fields: Mapping[str, Value]
    extras: Mapping[str, str]
    duplicate_key: bytes | None
    pricing_model: PricingModel
    pending_qc: bool
    max_sells: int
    call_data: Mapping[str, Value]
    account_types: Sequence[int] | None  # None: every type
    contact_keys: Sequence[str] = ()  # server/domain/intake/contacts.py
    tags: Sequence[str] = ()  # V2 properties
    # 1-to-1: the delivery accounts whose offer was chosen with consent (None: not 1-to-1),
    # and the consent evidence, written with the lead
    consented_accounts: frozenset[int] | None = None
    consent: Sequence[ConsentRecord] = ()
    visit_id: str = ""  # the site visit it was posted with (VisitID); "" = none


@dataclass(frozen=True)
class StoredLead:
    """A lead just stored: whether its distribution job was written (not for noSell or QC),
    the transaction's clock, and the account's buyer version, for the job's first step."""

    id: int
    queued: bool
    now: datetime
    buyer_version: int


@dataclass(frozen=True)
class EarlierLead:
    """The most recent lead with a duplicate key inside the campaign's window."""

    id: int
    source_id: int
    received_at: datetime


@dataclass(frozen=True)
class SourceLead:
    """A lead its source may update, locked for the update."""

    id: int
    campaign_id: int
    lead_type_id: int
    fields: dict[str, Value]
    extras: dict[str, str]
    price: Decimal
    no_sell: bool
    pending_qc: bool
    qc_reviewed: bool
    qc_rejected: bool


def stored_steps(stored: Sequence[dict[str, Any]]) -> tuple[Step, ...]:
    """A post log entry's steps as `step_json` stored them."""
    return tuple(
        Step(s["name"], s["outcome"], s.get("detail", ""), s.get("micros", 0)) for s in stored
    )


def step_json(step: Step) -> dict[str, Any]:
    """A step as the post log stores it: what `dataclasses.asdict` gives, without its deep
    copy of every value (a post has about seven steps)."""
    return {
        "name": step.name,
        "outcome": step.outcome,
        "detail": step.detail,
        "micros": step.micros,
    }


def post_params(entry: PostEntry) -> dict[str, Any]:
    """The parameters of a post log entry's row, as the statements writing one name them."""
    return {
        "account_id": entry.account_id,
        "id": entry.post_id,
        "source_id": entry.source_id,
        "campaign_id": entry.campaign_id,
        "lead_type_id": entry.lead_type_id,
        "remote_ip": entry.remote_ip,
        "request_format": entry.request_format,
        "request_body": entry.request_body,
        "request_truncated": entry.request_truncated,
        "lead_index": entry.lead_index,
        "request_post_id": entry.request_post_id,
        "is_valid": entry.is_valid,
        "response_type": entry.response_type,
        "response_details": entry.response_details,
        "lead_id": entry.lead_id,
        "price": entry.price,
        "steps": Jsonb([step_json(s) for s in entry.steps]),
        "ping": entry.ping,
    }


# -- storing a post ------------------------------------------------------------------------


async def insert_post(conn: Connection, entry: PostEntry) -> None:
    """Log a post that stored no lead (an accepted one is logged by `insert_lead`)."""
    await conn.execute(q("insert_post"), post_params(entry))


async def sweep_unattributed_posts(
    conn: Connection, before: datetime, kept: int, batch: int
) -> int:
    """Delete up to `batch` posts naming no lead source that are older than `before` or not
    among the newest `kept`, oldest first; how many went."""
    params = {"before": before, "kept": kept, "batch": batch}
    return max((await conn.execute(q("sweep_unattributed_posts"), params)).rowcount, 0)


async def insert_lead(conn: Connection, lead: NewLead, *, savepoint: bool) -> StoredLead:
    """Store an accepted lead, its post log entry (its steps end with the store step) and,
    unless it is noSell or held for QC, its distribution job, in one statement. `savepoint`:
    a savepoint follows in the same round trip, where a first distribution step that fails
    is undone to (`rollback_first_step`), the lead kept."""
    params = {
        **post_params(lead.post),
        "post_id": lead.post.post_id,
        "reference": lead.reference,
        "no_sell": lead.no_sell,
        "send_delay_hours": lead.send_delay_hours,
        "fields": Jsonb(lead.fields),
        "extras": Jsonb(lead.extras),
        "duplicate_key": lead.duplicate_key,
        "pricing_model": lead.pricing_model.value,
        "pending_qc": lead.pending_qc,
        "max_sells": lead.max_sells,
        "call_data": Jsonb(lead.call_data),
        "account_types": None if lead.account_types is None else list(lead.account_types),
        "contact_keys": list(lead.contact_keys),
        "tags": list(lead.tags),
        "consented_accounts": (
            None if lead.consented_accounts is None else sorted(lead.consented_accounts)
        ),
        "consent": Jsonb([consent_json(r) for r in lead.consent]),
        "visit_id": lead.visit_id,
    }
    if savepoint:
        async with conn.pipeline():
            cursor = await conn.execute(q("insert_lead"), params)
            await conn.execute(q("savepoint_first_step"))
    else:
        cursor = await conn.execute(q("insert_lead"), params)
    row = await cursor.fetchone()
    assert row is not None
    return StoredLead(row["id"], row["queued"], row["now"], row["buyer_version"])


def consent_json(record: ConsentRecord) -> dict[str, Any]:
    """A consent record as `insert_lead` reads it from its JSON parameter."""
    return {
        "delivery_account_id": record.delivery_account_id,
        "client_id": record.client_id,
        "offer_id": record.offer_id,
        "consent": record.consent,
        "consent_text": record.consent_text,
        "consented_at": record.consented_at.isoformat(),
        "ip_address": record.ip_address,
        "user_agent": record.user_agent,
        "page_url": record.page_url,
        "trusted_form_cert": record.trusted_form_cert,
        "jornaya_lead_id": record.jornaya_lead_id,
    }


async def rollback_first_step(conn: Connection) -> None:
    """Undo a failed first distribution step back to the savepoint `insert_lead` set."""
    await conn.execute(q("rollback_first_step"))


# -- the checks under locks ----------------------------------------------------------------


async def lock_campaign_counting(
    conn: Connection,
    account_id: int,
    campaign_id: int,
    windows: CapWindows,
    *,
    count_returns: bool,
) -> tuple[Status, CapCounts]:
    """Lock a capped campaign for the rest of the transaction (posts to it take their turn, so
    its caps hold exactly, across processes), then count the leads it accepted since each cap
    window's start; its status is Unspecified when it is gone.

    Pipelined (one round trip), but two statements: the count's snapshot is taken once the
    lock is held, so it sees every lead of the posts that held it before."""
    async with conn.pipeline():
        locked = await conn.execute(
            q("lock_campaign_for_post"), {"account_id": account_id, "id": campaign_id}
        )
        counted = await conn.execute(
            q("count_campaign_leads"),
            {
                "account_id": account_id,
                "campaign_id": campaign_id,
                "count_returns": count_returns,
                "hour_start": windows.hour_start,
                "day_start": windows.day_start,
                "month_start": windows.month_start,
            },
        )
    found, counts = await locked.fetchone(), await counted.fetchone()
    assert counts is not None
    status = Status.Unspecified if found is None else Status(found["status"])
    return status, CapCounts(counts["hour"], counts["day"], counts["month"])


async def campaign_counting(
    conn: Connection,
    account_id: int,
    campaign_id: int,
    windows: CapWindows,
    *,
    count_returns: bool,
) -> tuple[Status, CapCounts]:
    """A capped campaign's status and the leads it accepted since each cap window's start,
    without its lock (a ping checks the caps and stores no lead); one round trip."""
    async with conn.pipeline():
        read = await conn.execute(
            q("campaign_status_for_post"), {"account_id": account_id, "id": campaign_id}
        )
        counted = await conn.execute(
            q("count_campaign_leads"),
            {
                "account_id": account_id,
                "campaign_id": campaign_id,
                "count_returns": count_returns,
                "hour_start": windows.hour_start,
                "day_start": windows.day_start,
                "month_start": windows.month_start,
            },
        )
    found, counts = await read.fetchone(), await counted.fetchone()
    assert counts is not None
    status = Status.Unspecified if found is None else Status(found["status"])
    return status, CapCounts(counts["hour"], counts["day"], counts["month"])


async def campaign_status(conn: Connection, account_id: int, campaign_id: int) -> Status:
    """An uncapped campaign's status, read in the post's transaction (Unspecified when gone)."""
    cursor = await conn.execute(
        q("campaign_status_for_post"), {"account_id": account_id, "id": campaign_id}
    )
    found = await cursor.fetchone()
    return Status.Unspecified if found is None else Status(found["status"])


async def lock_duplicate_key(
    conn: Connection, account_id: int, lead_type_id: int, key: bytes, days: int
) -> EarlierLead | None:
    """Take the duplicate key's lock for the rest of the transaction (two identical posts at
    once give one lead and one duplicate, whatever their campaign), then find the most recent
    lead with the key inside `days`. Pipelined, with the search's snapshot taken once the lock
    is held."""
    async with conn.pipeline():
        await conn.execute(
            q("lock_duplicate_key"), {"lock": f"{account_id}:{lead_type_id}:{key.hex()}"}
        )
        cursor = await conn.execute(
            q("find_duplicate"), _duplicate_params(account_id, lead_type_id, key, days)
        )
    return _earlier(await cursor.fetchone())


async def find_duplicate(
    conn: Connection, account_id: int, lead_type_id: int, key: bytes, days: int
) -> EarlierLead | None:
    """The most recent lead with the duplicate key inside `days`, without the key's lock."""
    cursor = await conn.execute(
        q("find_duplicate"), _duplicate_params(account_id, lead_type_id, key, days)
    )
    return _earlier(await cursor.fetchone())


def _duplicate_params(account_id: int, lead_type_id: int, key: bytes, days: int) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "lead_type_id": lead_type_id,
        "duplicate_key": key,
        "days": days,
    }


def _earlier(row: Mapping[str, Any] | None) -> EarlierLead | None:
    return None if row is None else EarlierLead(row["id"], row["source_id"], row["received_at"])


# -- updates from the source -----------------------------------------------------------------


async def lock_source_lead(
    conn: Connection, account_id: int, lead_id: int, source_id: int
) -> SourceLead | None:
    """A lead the source posted, locked for its update (FOR NO KEY UPDATE: the engine's sends
    and scan log entries referencing it are not blocked, so an update restarting distribution
    cannot deadlock with a walker holding the lead's job); None when it is not the source's."""
    cursor = await conn.execute(
        q("find_source_lead"), {"account_id": account_id, "id": lead_id, "source_id": source_id}
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    return SourceLead(
        id=row["id"],
        campaign_id=row["campaign_id"],
        lead_type_id=row["lead_type_id"],
        fields=row["fields"],
        extras=row["extras"],
        price=row["price"],
        no_sell=row["no_sell"],
        pending_qc=row["pending_qc"],
        qc_reviewed=row["qc_reviewed"],
        qc_rejected=row["qc_rejected"],
    )


async def update_lead_fields(
    conn: Connection,
    account_id: int,
    lead_id: int,
    fields: Mapping[str, Value],
    extras: Mapping[str, str],
    duplicate_key: bytes | None,
    contact_keys: Sequence[str],
) -> None:
    """Replace a lead's values after an update from its source."""
    await conn.execute(
        q("update_lead_fields"),
        {
            "account_id": account_id,
            "id": lead_id,
            "fields": Jsonb(fields),
            "extras": Jsonb(extras),
            "duplicate_key": duplicate_key,
            "contact_keys": list(contact_keys),
        },
    )


# -- reads ---------------------------------------------------------------------------------


async def post_status(conn: Connection, post_id: uuid.UUID) -> PostStatus | None:
    """A post and where its lead stands, by PostID alone (the status URL names no account)."""
    cursor = await conn.execute(q("get_post_status"), {"id": post_id})
    row = await cursor.fetchone()
    if row is None:
        return None
    return PostStatus(
        post_id=str(row["id"]),
        received_at=row["received_at"],
        is_valid=row["is_valid"],
        response_details=row["response_details"],
        campaign_id=row["campaign_id"] or 0,
        lead_id=row["lead_id"] or 0,
        price=row["price"] if row["price"] is not None else Decimal(0),
        pending_qc=bool(row["pending_qc"]),
        qc_reviewed_at=row["qc_reviewed_at"],
        qc_rejected=bool(row["qc_rejected"]),
        qc_reason=row["qc_reason"] or "",
        returned_at=row["returned_at"],
        return_reason=row["return_reason"] or "",
        queue=await _queue_standing(conn, row),
    )


async def _queue_standing(conn: Connection, row: Row) -> QueueStanding | None:
    if row["queue_state"] is None:
        return None
    found = await callbacks.for_post(conn, row["account_id"], row["id"])
    return QueueStanding(
        state=QueueState(row["queue_state"]),
        response_format=row["response_format"],
        processed_at=row["processed_at"],
        answer_type=row["answer_type"],
        answer=bytes(row["answer"] or b""),
        callback=found[0] if found else None,
    )


async def search(
    conn: Connection, account_id: int, lead_type_id: int, keys: Sequence[str], limit: int
) -> list[FoundLead]:
    """A lead type's leads having every one of these contact keys, newest first."""
    params = {
        "account_id": account_id,
        "lead_type_id": lead_type_id,
        "keys": list(keys),
        "limit": limit,
    }
    return [
        FoundLead(
            lead=_summary(row),
            pending_qc=row["pending_qc"],
            is_valid_post=bool(row["is_valid"]),
            response_type=row["response_type"] or 0,
            response_details=row["response_details"] or "",
        )
        for row in await fetch_all(conn, "search_leads", params)
    ]


def _summary(row: Row) -> LeadSummary:
    return LeadSummary(
        id=row["id"],
        post_id=str(row["post_id"]),
        source_id=row["source_id"],
        campaign_id=row["campaign_id"],
        lead_type_id=row["lead_type_id"],
        reference=row["reference"],
        received_at=row["received_at"],
        no_sell=row["no_sell"],
        price=row["price"],
        tags=tuple(row["tags"]),
    )


async def find_by_reference(
    conn: Connection, account_id: int, reference: str, limit: int
) -> list[LeadSummary]:
    """The account's leads posted with this reference, newest first."""
    cursor = await conn.execute(
        q("find_leads_by_reference"),
        {"account_id": account_id, "reference": reference, "limit": limit},
    )
    return [_summary(row) for row in await cursor.fetchall()]


# -- for distribution and manual operations --------------------------------------------------


@dataclass(frozen=True)
class LeadToScan:
    """A stored lead's values and distribution settings, for a scan without sending."""

    id: int
    lead_type_id: int
    fields: Mapping[str, Value]
    call_data: Mapping[str, Value]
    max_sell: int  # its campaign's
    account_types: Sequence[int] | None  # its job's: the types it sells to; None: all
    buyer_version: int
    lead_category_id: int = 0  # its campaign's (0: none)


@dataclass(frozen=True)
class LockedLead:
    """A lead locked for a manual operation on its sends or its price, with its campaign's
    pricing now and the transaction's clock."""

    id: int
    lead_type_id: int
    pricing_model: PricingModel  # the model the lead arrived under
    price: Decimal
    pending_qc: bool
    qc_rejected: bool
    campaign_model: str  # the campaign's pricing model now
    pricing_amount: Decimal  # the campaign's amount now
    now: datetime
    # 1-to-1: the delivery accounts whose offer the consumer chose with consent; None: any
    consented: frozenset[int] | None = None


async def to_scan(conn: Connection, account_id: int, lead_id: int) -> LeadToScan | None:
    cursor = await conn.execute(q("get_lead_for_scan"), {"account_id": account_id, "id": lead_id})
    row = await cursor.fetchone()
    if row is None:
        return None
    return LeadToScan(
        id=row["id"],
        lead_type_id=row["lead_type_id"],
        fields=row["fields"],
        call_data=row["call_data"],
        max_sell=row["max_sell"],
        account_types=row["account_types"],
        buyer_version=row["buyer_version"],
        lead_category_id=row["lead_category_id"],
    )


async def lock_for_operation(conn: Connection, account_id: int, lead_id: int) -> LockedLead | None:
    """Lock a lead while a manual operation changes its sends or its price (NO KEY UPDATE: the
    engine's sends and scan log entries are not blocked)."""
    cursor = await conn.execute(
        q("lock_lead_for_operation"), {"account_id": account_id, "id": lead_id}
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    return LockedLead(
        id=row["id"],
        lead_type_id=row["lead_type_id"],
        pricing_model=PricingModel(row["pricing_model"]),
        price=row["price"],
        pending_qc=row["pending_qc"],
        qc_rejected=row["qc_rejected"],
        campaign_model=row["campaign_model"],
        pricing_amount=row["pricing_amount"],
        now=row["now"],
        consented=None
        if row["consented_accounts"] is None
        else frozenset(row["consented_accounts"]),
    )


async def exists(conn: Connection, account_id: int, lead_id: int) -> bool:
    cursor = await conn.execute(q("lead_exists"), {"account_id": account_id, "id": lead_id})
    return await cursor.fetchone() is not None


async def settle(conn: Connection, account_id: int, lead_id: int, amount: Decimal) -> Decimal:
    """Add a confirmed sale's settlement to what the account owes the lead's source, shown as
    the Price of the lead's post too; the lead's price now."""
    cursor = await conn.execute(
        q("settle_lead"), {"account_id": account_id, "lead_id": lead_id, "amount": amount}
    )
    row = await cursor.fetchone()
    assert row is not None
    return Decimal(row["price"])
