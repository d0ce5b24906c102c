"""Distribution jobs: one per lead to distribute, leased by the engine's walkers one step at a
time, with the plan (the waterfall's order) and the position reached in it.

A step's sends, the job's new state and the step's scan log entries are written by one
statement (`write_step`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from psycopg.types.json import Jsonb

from server.domain.buyers.specs import AccountType
from server.domain.catalog.fields import Value
from server.domain.sales.sends import SendStatus
from server.storage.database import Connection
from server.storage.queries import q


class PlanEntry(NamedTuple):
    """One account of a job's plan, in waterfall order. An auction's entries carry the price
    the lead sells at (its net bid), the buyer's ping reference, and until when the bid holds."""

    account: int  # delivery account id
    client: int  # its buyer's id
    price: Decimal | None = None  # None: the account's price
    reference: str = ""
    until: datetime | None = None


def _plan_entry(stored: Mapping[str, Any]) -> PlanEntry:
    price, until = stored.get("price"), stored.get("until")
    return PlanEntry(
        stored["account"],
        stored["client"],
        None if price is None else Decimal(price),
        stored.get("ref", ""),
        None if until is None else datetime.fromisoformat(until),
    )


def _stored_entry(entry: PlanEntry) -> dict[str, Any]:
    stored: dict[str, Any] = {"account": entry.account, "client": entry.client}
    if entry.price is not None:
        stored["price"] = str(entry.price)
    if entry.reference:
        stored["ref"] = entry.reference
    if entry.until is not None:
        stored["until"] = entry.until.isoformat()
    return stored


@dataclass(frozen=True)
class Job:
    """A lead's job as a step reads it, with its lead's values and the database's clock."""

    state: str  # pending (a step is due, from run_at), waiting (sends in flight), done
    plan: list[PlanEntry] | None  # None until the first step scans the lead
    cursor: int  # how far down the plan sends were reserved
    max_sells: int
    account_types: frozenset[AccountType] | None  # the types the lead sells to; None: all
    lead_type_id: int
    fields: Mapping[str, Value]
    call_data: Mapping[str, Value]
    now: datetime
    buyer_version: int
    # 1-to-1: the delivery accounts whose offer the consumer chose with consent; None: any
    consented: frozenset[int] | None = None
    lead_category_id: int = 0  # its campaign's (0: none), which a lead pack's order may ask for


@dataclass(frozen=True)
class JobAfter:
    """A job as a step leaves it: its state, plan, position in the plan and scan log entries
    (empty ones are not written)."""

    state: str
    plan: Sequence[PlanEntry]
    cursor: int
    logs: Sequence[str]


@dataclass(frozen=True)
class NewSend:
    """A send a step reserves: in flight at once, or scheduled after the account's delay. An
    in-flight one is leased for `lease_seconds`, its delivery's timeout and the margin."""

    client_id: int
    delivery_account_id: int
    delivery_id: int
    status: SendStatus
    price: Decimal
    delay_seconds: int
    lease_seconds: float
    order_id: int | None
    order_item_id: int | None
    ping_reference: str = ""  # the buyer's reference from its ping answer, for the post


@dataclass(frozen=True)
class Progress:
    """Where a lead's distribution stands, for a caller waiting for its sends."""

    state: str
    due: bool
    in_flight: int


def account_types(stored: Sequence[int] | None) -> frozenset[AccountType] | None:
    return None if stored is None else frozenset(AccountType(t) for t in stored)


def _job(row: Mapping[str, Any]) -> Job:
    plan = row["plan"]
    return Job(
        state=row["state"],
        plan=None if plan is None else [_plan_entry(e) for e in plan],
        cursor=row["cursor"],
        max_sells=row["max_sells"],
        account_types=account_types(row["account_types"]),
        lead_type_id=row["lead_type_id"],
        fields=row["fields"],
        call_data=row["call_data"],
        now=row["now"],
        buyer_version=row["buyer_version"],
        consented=consented(row["consented_accounts"]),
        lead_category_id=row["lead_category_id"],
    )


def consented(stored: Sequence[int] | None) -> frozenset[int] | None:
    return None if stored is None else frozenset(stored)


async def claim_due(conn: Connection, lease_seconds: float, limit: int) -> list[tuple[int, int]]:
    """Lease up to `limit` due jobs to this process (account id, lead id), oldest due first;
    a job another process holds is skipped, a lease that ran out (its process died) taken."""
    cursor = await conn.execute(q("claim_jobs"), {"lease": lease_seconds, "limit": limit})
    return [(r["account_id"], r["lead_id"]) for r in await cursor.fetchall()]


async def claim(
    conn: Connection, account_id: int, lead_id: int, lease_seconds: float
) -> Job | None:
    """Lease one lead's job for a step when it is due and nobody holds it; else None."""
    cursor = await conn.execute(
        q("claim_job"), {"account_id": account_id, "lead_id": lead_id, "lease": lease_seconds}
    )
    row = await cursor.fetchone()
    return None if row is None else _job(row)


async def lock(conn: Connection, account_id: int, lead_id: int) -> Job | None:
    """A lead's job, locked for a step by a walker that holds its lease already."""
    cursor = await conn.execute(q("lock_job"), {"account_id": account_id, "lead_id": lead_id})
    row = await cursor.fetchone()
    return None if row is None else _job(row)


async def lock_rotation(conn: Connection, account_id: int, lead_type_id: int) -> None:
    """Serialise the plans of one lead type's rotation (round robin and shares), across
    processes, for the rest of the transaction."""
    await conn.execute(q("lock_rotation"), {"account_id": account_id, "lead_type_id": lead_type_id})


async def write_step(
    conn: Connection,
    account_id: int,
    lead_id: int,
    sends: Sequence[NewSend],
    after: JobAfter | None,
) -> dict[int, int]:
    """Reserve `sends` and, when `after` is given, save the job as it says with its scan log
    entries (releasing its lease), in one statement; the new sends' ids by delivery account.
    The sends go as one JSON parameter, which psycopg dumps faster than an array per column."""
    saved = after or JobAfter("", (), 0, ())
    cursor = await conn.execute(
        q("write_step"),
        {
            "account_id": account_id,
            "lead_id": lead_id,
            "save": after is not None,
            "state": saved.state,
            "plan": Jsonb([_stored_entry(e) for e in saved.plan]),
            "cursor": saved.cursor,
            "logs": list(saved.logs),
            "sends": Jsonb(
                [
                    {
                        "client_id": s.client_id,
                        "delivery_account_id": s.delivery_account_id,
                        "delivery_id": s.delivery_id,
                        "status": int(s.status),
                        "price": str(s.price),
                        "delay": s.delay_seconds,
                        "lease": s.lease_seconds,
                        "order_id": s.order_id,
                        "order_item_id": s.order_item_id,
                        "ping_reference": s.ping_reference,
                    }
                    for s in sends
                ]
            ),
        },
    )
    return {row["delivery_account_id"]: int(row["id"]) for row in await cursor.fetchall()}


async def progress(conn: Connection, account_id: int, lead_id: int) -> Progress | None:
    cursor = await conn.execute(q("job_progress"), {"account_id": account_id, "lead_id": lead_id})
    row = await cursor.fetchone()
    return None if row is None else Progress(row["state"], row["due"], row["in_flight"])


async def restart(conn: Connection, account_id: int, lead_id: int, max_sells: int) -> None:
    """Distribute a lead again from the start: its job, made if it has none, is pending from
    now with no plan; earlier sends stay, so buyers that have the lead are skipped."""
    await conn.execute(
        q("restart_distribution"),
        {"account_id": account_id, "lead_id": lead_id, "max_sells": max_sells},
    )


async def lock_for_operation(conn: Connection, account_id: int, lead_id: int) -> None:
    """Lock a lead's job (if it has one) for a manual operation on its sends, in the order a
    walker takes its locks."""
    await conn.execute(q("lock_lead_job"), {"account_id": account_id, "lead_id": lead_id})


async def wake(conn: Connection, account_id: int, lead_id: int) -> None:
    """Make a lead's job due now: a manual operation changed what it needs."""
    await conn.execute(q("wake_lead_job"), {"account_id": account_id, "lead_id": lead_id})
