"""Reading and writing buyers' ledgers: entries, balances, payments and billing settings.
Sales charge and returns credit the ledger in their own statements (sql/sends.sql
`finish_sends`, sql/quality.sql `mark_sends_returned`). Every call is account-scoped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from server.domain.billing.ledger import Balance, BillingSettings, EntryKind, LedgerEntry
from server.storage.database import Connection
from server.storage.queries import Row, fetch_all, fetch_one, q


@dataclass(frozen=True)
class Payment:
    id: int
    created_at: datetime


@dataclass(frozen=True)
class Available:
    """A prepaid buyer's balance less its sends under way, and how it stops."""

    available: Decimal
    stop_at_zero: bool


@dataclass(frozen=True)
class BilledClients:
    """What the engine's buyer snapshot knows of billing: the prepaid buyers, the buyers a
    declined auto-charge holds, and the orders their lead packs were bought into (paid for)."""

    prepaid: frozenset[int] = frozenset()
    held: frozenset[int] = frozenset()
    pack_orders: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Declined:
    """What a declined auto-charge did: whether its buyer is held, the retry queued (or None)."""

    held: bool
    retry_id: int | None


def entry_from_row(row: Row) -> LedgerEntry:
    return LedgerEntry(
        id=row["id"],
        client_id=row["client_id"],
        kind=EntryKind(row["kind"]),
        amount=row["amount"],
        balance=row["balance"],
        created_at=row["created_at"],
        send_id=row["send_id"] or 0,
        lead_id=row["lead_id"] or 0,
        payment_id=row["payment_id"] or 0,
        charge_id=row["charge_id"] or 0,
        note=row["note"],
    )


async def add_entry(
    conn: Connection,
    account_id: int,
    client_id: int,
    kind: EntryKind,
    amount: Decimal,
    *,
    note: str = "",
    payment_id: int | None = None,
    charge_id: int | None = None,
) -> LedgerEntry | None:
    """Change a buyer's balance by `amount` and record it; None when there is no such buyer."""
    row = await fetch_one(
        conn,
        "add_ledger_entry",
        {
            "account_id": account_id,
            "client_id": client_id,
            "kind": str(kind),
            "amount": amount,
            "note": note,
            "payment_id": payment_id,
            "charge_id": charge_id,
        },
    )
    return None if row is None else entry_from_row(row)


async def insert_payment(
    conn: Connection,
    account_id: int,
    client_id: int,
    amount: Decimal,
    *,
    valid: bool,
    order_id: int | None,
    card_transaction_id: int | None,
    response: str,
) -> Payment | None:
    row = await fetch_one(
        conn,
        "insert_payment",
        {
            "account_id": account_id,
            "client_id": client_id,
            "amount": amount,
            "valid": valid,
            "order_id": order_id,
            "card_transaction_id": card_transaction_id,
            "response": response,
        },
    )
    return None if row is None else Payment(row["id"], row["created_at"])


async def balance(conn: Connection, account_id: int, client_id: int) -> Balance | None:
    row = await fetch_one(conn, "get_balance", {"account_id": account_id, "client_id": client_id})
    if row is None:
        return None
    settings = BillingSettings(
        prepaid=row["prepaid"],
        stop_at_zero=row["stop_at_zero"],
        auto_charge_below=row["auto_charge_below"],
        auto_charge_amount=row["auto_charge_amount"],
    )
    return Balance(row["client_id"], row["balance"], settings, row["reserved"], row["held"])


async def save_settings(
    conn: Connection, account_id: int, client_id: int, settings: BillingSettings
) -> bool:
    """Set a buyer's billing settings; False when there is no such buyer."""
    row = await fetch_one(
        conn,
        "save_billing_settings",
        {
            "account_id": account_id,
            "client_id": client_id,
            "prepaid": settings.prepaid,
            "stop_at_zero": settings.stop_at_zero,
            "auto_charge_below": settings.auto_charge_below,
            "auto_charge_amount": settings.auto_charge_amount,
        },
    )
    return row is not None


async def entries(
    conn: Connection,
    account_id: int,
    client_id: int,
    start: datetime,
    end: datetime,
    after_id: int,
    limit: int,
) -> list[LedgerEntry]:
    rows = await fetch_all(
        conn,
        "list_ledger_entries",
        {
            "account_id": account_id,
            "client_id": client_id,
            "from": start,
            "to": end,
            "after_id": after_id,
            "limit": limit,
        },
    )
    return [entry_from_row(r) for r in rows]


async def billed_clients(conn: Connection, account_id: int) -> BilledClients:
    """The account's buyers the engine checks before a send, and their lead packs' orders."""
    params = {"account_id": account_id}
    rows = await fetch_all(conn, "billed_clients", params)
    orders = await fetch_all(conn, "pack_orders", params)
    return BilledClients(
        prepaid=frozenset(int(r["client_id"]) for r in rows if r["prepaid"]),
        held=frozenset(int(r["client_id"]) for r in rows if r["held"]),
        pack_orders=frozenset(int(r["order_id"]) for r in orders),
    )


async def hold_after_decline(
    conn: Connection, account_id: int, charge_id: int, retry_in: float | None
) -> Declined:
    """After a declined auto-charge: hold its buyer while its balance is below the threshold,
    and queue a retry under a new key in `retry_in` seconds (None: no more retries)."""
    row = await fetch_one(
        conn, "hold_after_decline", {"account_id": account_id, "id": charge_id, "delay": retry_in}
    )
    assert row is not None
    return Declined(bool(row["held"]), row["retry_id"])


async def release_after_approval(conn: Connection, account_id: int, client_id: int) -> None:
    """An approved auto-charge ends its buyer's hold."""
    await conn.execute(
        q("release_after_approval"), {"account_id": account_id, "client_id": client_id}
    )


async def prepaid_available(
    conn: Connection, account_id: int, client_ids: Sequence[int]
) -> dict[int, Available]:
    """Prepaid buyers' balances less their sends under way, without a lock, by buyer."""
    if not client_ids:
        return {}
    rows = await fetch_all(
        conn, "prepaid_available", {"account_id": account_id, "client_ids": list(client_ids)}
    )
    return {int(r["client_id"]): Available(r["available"], r["stop_at_zero"]) for r in rows}


async def lock_prepaid(conn: Connection, account_id: int, client_id: int) -> Available | None:
    """A prepaid buyer's balance less its sends under way, its balance row locked until the
    transaction ends; None when the buyer is not prepaid."""
    params = {"account_id": account_id, "client_id": client_id}
    row = await fetch_one(conn, "lock_prepaid", params)
    if row is None:
        return None
    reserved = await fetch_one(conn, "reserved_for_client", params)
    assert reserved is not None
    return Available(row["balance"] - reserved["reserved"], row["stop_at_zero"])
