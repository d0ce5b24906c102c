"""The ledger as the outcome writer and returns write it, on the real database: sales that
share one statement each get their running balance, a rejected send charges nothing, a sale
that takes a buyer below its threshold queues one auto-charge (so does any entry: one rule on
the balance row), a balance back at the threshold releases a declined auto-charge's hold, and
a return credits."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from server.domain.billing.ledger import EntryKind
from server.services.quality.returns import Returns
from server.storage import buyers as buyer_store
from server.storage import ledger as ledger_store
from server.storage.send_outcomes import OutcomeWriter
from tests.integration.test_send_outcomes import SOLD, _outcome
from tests.support.sends import in_flight_sends

REJECTED = 4


async def _entries(pool: Any, account: int) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT id, client_id, kind, amount, balance, send_id FROM ledger_entries"
            " WHERE account_id = %s ORDER BY id",
            (account,),
        )
        return await cursor.fetchall()


async def test_sales_written_together_each_keep_their_running_balance(pool: Any) -> None:
    account, sends = await in_flight_sends(pool, leads=5)
    writer = OutcomeWriter(pool)
    prices = {send: Decimal("1.005") + i for i, (_, send) in enumerate(sends)}
    rejected = sends[3][1]
    await asyncio.gather(
        *(
            writer.write(
                _outcome(
                    account, lead, send, REJECTED if send == rejected else SOLD, price=prices[send]
                )
            )
            for lead, send in sends
        )
    )
    entries = await _entries(pool, account)
    charged = sorted(send for _, send in sends if send != rejected)
    assert sorted(e["send_id"] for e in entries) == charged
    assert {e["kind"] for e in entries} == {"sale"}
    by_send = sorted(entries, key=lambda e: e["send_id"])
    running = Decimal("0")
    for entry in by_send:  # within a statement, in send order
        running -= prices[entry["send_id"]].quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        assert entry["amount"] == -prices[entry["send_id"]].quantize(
            Decimal("0.01"), rounding="ROUND_HALF_UP"
        )
        assert entry["balance"] == running
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT balance FROM client_billing WHERE account_id = %s", (account,)
        )
        (row,) = await cursor.fetchall()
    assert row["balance"] == running


async def test_a_sale_below_the_threshold_queues_one_auto_charge(pool: Any) -> None:
    account, sends = await in_flight_sends(pool, leads=2)
    await _card_on_file(pool, account, balance="30", below=20, amount=100)
    writer = OutcomeWriter(pool)
    for lead, send in sends:  # 8 sales of 7.50 from 30: below 20 at the second
        await writer.write(_outcome(account, lead, send))
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT amount, state, auto, token FROM card_charges WHERE account_id = %s", (account,)
        )
        queued = await cursor.fetchall()
    assert queued == [
        {
            "amount": Decimal("100.00"),
            "state": "queued",
            "auto": True,
            "token": "tok_test_approved_1",
        }
    ]


async def test_a_return_credits_what_the_sale_charged(pool: Any) -> None:
    account, sends = await in_flight_sends(pool, leads=1)
    writer = OutcomeWriter(pool)
    lead, send = sends[0]
    await writer.write(_outcome(account, lead, send, price=Decimal("9.999")))
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE campaigns SET return_days = 30 WHERE account_id = %s", (account,)
        )
        await conn.commit()
    await Returns(pool).return_sends(account, "wrong number", send_id=send)
    entries = await _entries(pool, account)
    assert [(e["kind"], e["amount"], e["balance"]) for e in entries] == [
        ("sale", Decimal("-10.00"), Decimal("-10.00")),
        ("return", Decimal("10.00"), Decimal("0.00")),
    ]


async def _billed_client(pool: Any, balance: str, *, held: bool) -> tuple[int, int]:
    """A buyer with an auto-charge (below 10, top up 50), a card on file, `balance`."""
    account, _ = await in_flight_sends(pool, leads=1)
    client = await _card_on_file(pool, account, balance=balance, below=10, amount=50, held=held)
    return account, client


async def _card_on_file(
    pool: Any, account: int, *, balance: str, below: int, amount: int, held: bool = False
) -> int:
    """The account's one buyer (of its sends) given an auto-charge (below `below`, top up
    `amount`), a card on file and `balance`; its id."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT DISTINCT client_id FROM sends WHERE account_id = %s", (account,)
        )
        (client,) = [r["client_id"] for r in await cursor.fetchall()]
        await conn.execute(
            "INSERT INTO client_billing (account_id, client_id, balance, auto_charge_below,"
            " auto_charge_amount, held) VALUES (%s, %s, %s, %s, %s, %s)",
            (account, client, Decimal(balance), below, amount, held),
        )
        await conn.execute(
            "INSERT INTO credit_cards (account_id, client_id, token, brand, last_four,"
            " exp_month, exp_year, is_primary) VALUES (%s, %s, 'tok_test_approved_1', 'VISA',"
            " '4242', 12, 2099, true)",
            (account, client),
        )
        await conn.commit()
    return int(client)


async def _rows(pool: Any, sql: str, *params: Any) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cursor = await conn.execute(sql, params)
        return await cursor.fetchall()


async def test_any_entry_that_crosses_the_threshold_queues_one_auto_charge(pool: Any) -> None:
    account, client = await _billed_client(pool, "12", held=False)
    async with pool.connection() as conn:
        await ledger_store.add_entry(conn, account, client, EntryKind.ADJUSTMENT, Decimal("-1"))
        await ledger_store.add_entry(conn, account, client, EntryKind.ADJUSTMENT, Decimal("-2"))
        await conn.commit()  # 11, then 9: crossed once
        await ledger_store.add_entry(conn, account, client, EntryKind.ADJUSTMENT, Decimal("-1"))
        await conn.commit()  # 8: already below, and one is queued
    queued = await _rows(
        pool, "SELECT amount, state, auto FROM card_charges WHERE account_id = %s", account
    )
    assert queued == [{"amount": Decimal("50.00"), "state": "queued", "auto": True}]


async def test_a_balance_back_at_the_threshold_releases_the_hold(pool: Any) -> None:
    account, client = await _billed_client(pool, "5", held=True)
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO card_charges (account_id, client_id, idempotency_key, amount, auto,"
            " state, retry, next_attempt_at) VALUES (%s, %s, 'auto-r1', 50, true, 'queued', 1,"
            " now() + interval '1 hour')",
            (account, client),
        )
        await conn.commit()
        version = await buyer_store.buyer_version(conn, account)
        await ledger_store.add_entry(conn, account, client, EntryKind.PAYMENT, Decimal("4.99"))
        await conn.commit()  # 9.99: still below, still held
        assert await buyer_store.buyer_version(conn, account) == version
        await ledger_store.add_entry(conn, account, client, EntryKind.PAYMENT, Decimal("0.01"))
        await conn.commit()  # 10.00: back at the threshold
        assert await buyer_store.buyer_version(conn, account) > version
    (billing,) = await _rows(pool, "SELECT held FROM client_billing WHERE account_id = %s", account)
    assert billing["held"] is False
    (retry,) = await _rows(pool, "SELECT state FROM card_charges WHERE account_id = %s", account)
    assert retry["state"] == "cancelled"
