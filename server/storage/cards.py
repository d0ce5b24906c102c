"""Reading and writing buyers' cards on file (tokens, never numbers) and card charges, one
per idempotency key. Every call is account-scoped."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from server.domain.billing.cards import (
    Billing,
    CardCharge,
    ChargeState,
    GatewayAnswer,
    StoredCard,
    Tokenized,
)
from server.storage.database import Connection
from server.storage.queries import Row, fetch_all, fetch_one, q


@dataclass(frozen=True)
class ChargeToRun:
    """A charge to ask the gateway about: the charge, and the token it charges."""

    charge: CardCharge
    token: str


def _card(row: Row) -> StoredCard:
    return StoredCard(
        id=row["id"],
        client_id=row["client_id"],
        token=row["token"],
        brand=row["brand"],
        last_four=row["last_four"],
        exp_month=row["exp_month"],
        exp_year=row["exp_year"],
        billing=Billing(
            company=row["company"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            name_on_card=row["name_on_card"],
            address=row["bill_address"],
            city=row["bill_city"],
            state=row["bill_state"],
            zip=row["bill_zip"],
        ),
        enabled=row["enabled"],
        is_primary=row["is_primary"],
        created_at=row["created_at"],
    )


def _charge(row: Row) -> ChargeToRun:
    charge = CardCharge(
        id=row["id"],
        client_id=row["client_id"],
        idempotency_key=row["idempotency_key"],
        amount=row["amount"],
        state=ChargeState(row["state"]),
        response=row["response"],
        brand=row["brand"],
        last_four=row["last_four"],
        exp_month=row["exp_month"],
        exp_year=row["exp_year"],
        created_at=row["created_at"],
        auto=row["auto"],
        attempts=row["attempts"],
        retry=row["retry"],
        retry_of=row["retry_of"] or 0,
        next_attempt_at=row["next_attempt_at"] if row["state"] == "queued" else None,
    )
    return ChargeToRun(charge, row["token"])


async def insert_card(
    conn: Connection,
    account_id: int,
    client_id: int,
    token: Tokenized,
    billing: Billing,
    *,
    enabled: bool,
    is_primary: bool,
) -> StoredCard | None:
    """Keep a card as its token; None when there is no such buyer."""
    row = await fetch_one(
        conn,
        "insert_card",
        {
            "account_id": account_id,
            "client_id": client_id,
            "token": token.token,
            "brand": token.brand,
            "last_four": token.last_four,
            "exp_month": token.exp_month,
            "exp_year": token.exp_year,
            "company": billing.company,
            "first_name": billing.first_name,
            "last_name": billing.last_name,
            "name_on_card": billing.name_on_card,
            "bill_address": billing.address,
            "bill_city": billing.city,
            "bill_state": billing.state,
            "bill_zip": billing.zip,
            "enabled": enabled,
            "is_primary": is_primary,
        },
    )
    return None if row is None else _card(row)


async def cards(conn: Connection, account_id: int, client_id: int) -> list[StoredCard]:
    rows = await fetch_all(conn, "list_cards", {"account_id": account_id, "client_id": client_id})
    return [_card(r) for r in rows]


async def start_charge(
    conn: Connection,
    account_id: int,
    client_id: int,
    key: str,
    amount: Decimal,
    token: Tokenized,
) -> tuple[bool, ChargeToRun] | None:
    """The charge under `key`, written pending when the key is new, and locked; whether it
    was new. None when there is no such buyer."""
    row = await fetch_one(
        conn,
        "start_card_charge",
        {
            "account_id": account_id,
            "client_id": client_id,
            "key": key,
            "amount": amount,
            "token": token.token,
            "brand": token.brand,
            "last_four": token.last_four,
            "exp_month": token.exp_month,
            "exp_year": token.exp_year,
        },
    )
    if row is None:
        return None
    found = await lock_charge(conn, account_id, row["id"])
    assert found is not None
    return bool(row["created"]), found


async def lock_charge(conn: Connection, account_id: int, charge_id: int) -> ChargeToRun | None:
    row = await fetch_one(conn, "lock_card_charge", {"account_id": account_id, "id": charge_id})
    return None if row is None else _charge(row)


async def charge(conn: Connection, account_id: int, charge_id: int) -> CardCharge | None:
    row = await fetch_one(conn, "get_card_charge", {"account_id": account_id, "id": charge_id})
    return None if row is None else _charge(row).charge


async def finish_charge(
    conn: Connection, account_id: int, charge_id: int, answer: GatewayAnswer
) -> CardCharge | None:
    """Record the gateway's answer; None when the charge was final already."""
    row = await fetch_one(
        conn,
        "finish_card_charge",
        {
            "account_id": account_id,
            "id": charge_id,
            "state": str(answer.state),
            "response": answer.message,
            "reference": answer.reference,
        },
    )
    return None if row is None else _charge(row).charge


async def claim_auto_charges(
    conn: Connection, lease_seconds: float, limit: int
) -> list[tuple[int, int]]:
    """Lease due auto-charges: (account, charge) each."""
    rows = await fetch_all(conn, "claim_auto_charges", {"lease": lease_seconds, "limit": limit})
    return [(int(r["account_id"]), int(r["id"])) for r in rows]


async def retry_auto_charge(
    conn: Connection, account_id: int, charge_id: int, delay_seconds: float
) -> None:
    """Ask the gateway about an auto-charge it left pending again, after `delay_seconds`."""
    await conn.execute(
        q("retry_auto_charge"), {"account_id": account_id, "id": charge_id, "delay": delay_seconds}
    )


async def charges(
    conn: Connection, account_id: int, client_id: int, before_id: int, limit: int
) -> list[CardCharge]:
    """A buyer's card charges, newest first, one page before a charge id (0: the newest)."""
    rows = await fetch_all(
        conn,
        "list_card_charges",
        {"account_id": account_id, "client_id": client_id, "before_id": before_id, "limit": limit},
    )
    return [_charge(r).charge for r in rows]
