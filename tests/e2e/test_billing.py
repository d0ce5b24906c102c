"""Buyers' ledgers, payments and cards end to end: leads posted over gRPC and sold to a buyer
served over HTTP on loopback, returns through QualityService, payments, cards and charges
through BillingService, the ledger read back over gRPC."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from leadrouter.v1 import billing_pb2, distribution_pb2, quality_pb2

from clients.client import billing_async, distribution_async
from tests.e2e.test_distribution import LEAD, client
from tests.e2e.test_quality import Shop, ShopFactory, shop  # noqa: F401  (a fixture)
from tests.support.buyers import BuyerServer

B = billing_pb2
PRICE = "12.345"  # a send's price; the ledger charges it to the cent, half up: 12.35
CHARGED = Decimal("12.35")
PAN = "4242424242424242"


class Billing(Shop):
    """A shop whose buyer is billed: BillingService calls with the tenant's key."""

    async def billing(self, method: str, request: Any) -> Any:
        async with billing_async(self.address, self.key) as stub:
            return await getattr(stub, method)(request)

    async def refused_billing(self, method: str, request: Any) -> grpc.aio.AioRpcError:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await self.billing(method, request)
        return caught.value

    @property
    def buyer(self) -> int:
        return int(self.ids.clients["buyer"])

    async def balance(self) -> Decimal:
        found = await self.billing("GetBalance", B.GetBalanceRequest(client_id=self.buyer))
        return Decimal(found.balance)

    async def entries(self, **request: Any) -> list[Any]:
        found = await self.billing(
            "ListLedgerEntries", B.ListLedgerEntriesRequest(client_id=self.buyer, **request)
        )
        return list(found.entries)

    async def sell(self, i: int) -> Any:
        """Post a lead the buyer buys; its sale."""
        posted = await self.post(another(i), wait=True)
        (sale,) = await self.sold(posted.lead_id)
        return sale

    async def date_new_entries(self, moment: datetime, after_id: int) -> int:
        """Give the entries written after `after_id` this moment (the month is driven by
        explicit timestamps, not by waiting); the last entry's id."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "UPDATE ledger_entries SET created_at = %s WHERE client_id = %s AND id > %s "
                "RETURNING id",
                [moment, self.buyer, after_id],
            )
            ids = [r["id"] for r in await cursor.fetchall()]
            await conn.commit()
        return max(ids, default=after_id)

    async def auto_charges(self) -> int:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT count(*) AS n FROM card_charges WHERE client_id = %s AND auto", [self.buyer]
            )
            row = await cursor.fetchone()
        return int(row["n"])

    async def pay(self, amount: str, *, valid: bool = True) -> Any:
        return await self.billing(
            "AddPayment",
            B.AddPaymentRequest(
                client_id=self.buyer, amount=amount, is_valid=valid, response="merchant says"
            ),
        )

    async def charge(self, amount: str, number: str = PAN, key: str = "", cvv: str = "123") -> Any:
        return await self.billing(
            "RunClientCard",
            B.RunClientCardRequest(
                client_id=self.buyer,
                amount=amount,
                card_number=number,
                exp_month=12,
                exp_year=2099,
                cvv=cvv,
                idempotency_key=key,
            ),
        )


def another(i: int) -> dict[str, str]:
    return {**LEAD, "Email": f"bill{i}@example.com", "Phone": f"702558{i:04d}"}


@pytest.fixture
def billed(shop: ShopFactory, buyers: BuyerServer) -> Any:  # noqa: F811
    async def create(**account: Any) -> Billing:
        made = await shop([client("buyer", buyers, price=PRICE, **account)], return_days=60)
        return Billing(made.address, made.key, made.ids, made.pool)

    return create


def stamp_of(moment: datetime) -> Timestamp:
    found = Timestamp()
    found.FromDatetime(moment)
    return found


async def test_a_month_of_one_buyer_is_in_its_ledger_to_the_cent(billed: Any) -> None:
    b = await billed()
    start = datetime(2026, 3, 1, 9, tzinfo=UTC)
    expected = Decimal("0")
    kinds: list[int] = []
    last = 0
    for day in range(31):
        moment = start + timedelta(days=day)
        sale = await b.sell(day)
        expected -= CHARGED
        kinds.append(B.LEDGER_ENTRY_KIND_SALE)
        if day % 7 == 3:  # the buyer returns some of them
            await b.call("ReturnSend", quality_pb2.ReturnSendRequest(send_id=sale.id, reason="bad"))
            expected += CHARGED
            kinds.append(B.LEDGER_ENTRY_KIND_RETURN)
        if day == 9:
            await b.pay("100")
            expected += 100
            kinds.append(B.LEDGER_ENTRY_KIND_PAYMENT)
        if day == 10:  # declined: recorded, credits nothing
            declined = await b.pay("50", valid=False)
            assert declined.payment_id and not declined.HasField("entry")
        if day == 14:
            charge = await b.charge("200.005")  # to the cent, half up
            assert charge.state == B.CHARGE_STATE_APPROVED and charge.amount == "200.01"
            expected += Decimal("200.01")
            kinds.append(B.LEDGER_ENTRY_KIND_CARD)
        if day == 19:
            charge = await b.charge("75", number="4000000000000002")
            assert charge.state == B.CHARGE_STATE_DECLINED
        if day == 24:
            await b.billing(
                "AdjustBalance",
                B.AdjustBalanceRequest(client_id=b.buyer, amount="-5.10", note="late fee"),
            )
            expected -= Decimal("5.10")
            kinds.append(B.LEDGER_ENTRY_KIND_ADJUSTMENT)
        last = await b.date_new_entries(moment, last)

    assert await b.balance() == expected
    entries = await b.entries()
    assert [e.kind for e in entries] == kinds
    running = Decimal("0")
    for entry in entries:  # each entry's balance is the one before it plus its amount
        running += Decimal(entry.amount)
        assert Decimal(entry.balance) == running
    assert running == expected
    # the second week alone: days 7 to 13
    week = await b.entries(
        **{"from": stamp_of(start + timedelta(days=7)), "to": stamp_of(start + timedelta(days=14))}
    )
    assert len(week) == 7 + 1 + 1  # seven sales, the return of day 10, the payment of day 9
    assert {e.created_at.ToDatetime(tzinfo=UTC).day for e in week} == set(range(8, 15))
    page = await b.entries(page_size=10)
    assert [e.id for e in page] == [e.id for e in entries[:10]]


async def test_a_retried_charge_with_the_same_key_charges_once(billed: Any) -> None:
    b = await billed()
    first = await b.charge("40", key="order-17")
    again = await b.charge("40", key="order-17")
    assert first.state == again.state == B.CHARGE_STATE_APPROVED
    assert again.id == first.id
    assert await b.balance() == Decimal("40.00")
    assert [e.kind for e in await b.entries()] == [B.LEDGER_ENTRY_KIND_CARD]
    other = await b.refused_billing(
        "RunClientCard",
        B.RunClientCardRequest(client_id=b.buyer, amount="41", idempotency_key="order-17"),
    )
    assert other.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_gateway_timeout_is_pending_and_its_retry_asks_again_with_the_key(
    billed: Any,
) -> None:
    b = await billed()
    first = await b.charge("30", number="4000000000000119", key="k-timeout")
    assert first.state == B.CHARGE_STATE_PENDING
    assert await b.balance() == 0
    again = await b.charge("30", number="4000000000000119", key="k-timeout")
    assert again.id == first.id and again.state == B.CHARGE_STATE_APPROVED
    third = await b.charge("30", number="4000000000000119", key="k-timeout")
    assert third.state == B.CHARGE_STATE_APPROVED
    assert await b.balance() == Decimal("30.00")
    assert len(await b.entries()) == 1


async def test_declines_and_bad_numbers(billed: Any) -> None:
    b = await billed()
    funds = await b.charge("10", number="4000000000009995")
    assert funds.state == B.CHARGE_STATE_DECLINED and "insufficient funds" in funds.response
    bad = await b.refused_billing(
        "RunClientCard",
        B.RunClientCardRequest(
            client_id=b.buyer,
            amount="10",
            card_number="4242424242424241",
            exp_month=1,
            exp_year=2099,
        ),
    )
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    none_on_file = await b.refused_billing(
        "RunClientCard", B.RunClientCardRequest(client_id=b.buyer, amount="10")
    )
    assert none_on_file.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert await b.balance() == 0


async def test_a_prepaid_buyer_gets_no_lead_its_balance_cannot_cover(billed: Any) -> None:
    b = await billed()
    await b.billing(
        "SetBillingSettings",
        B.SetBillingSettingsRequest(
            client_id=b.buyer, settings=B.BillingSettings(prepaid=True, stop_at_zero=True)
        ),
    )
    first = await b.post(another(1), wait=True)
    assert not [s for s in await b.sends(first.lead_id)]
    assert "balance too low" in await b.scan_log(first.lead_id)
    await b.pay("20")
    second = await b.post(another(2), wait=True)
    await b.sold(second.lead_id)
    assert await b.balance() == Decimal("20") - CHARGED
    third = await b.post(another(3), wait=True)  # 7.65 left: not enough
    assert not await b.sends(third.lead_id)


async def test_concurrent_sales_cannot_overdraw_a_prepaid_buyer(billed: Any) -> None:
    b = await billed()
    await b.billing(
        "SetBillingSettings",
        B.SetBillingSettingsRequest(
            client_id=b.buyer, settings=B.BillingSettings(prepaid=True, stop_at_zero=True)
        ),
    )
    await b.pay("30")  # two leads' worth
    posted = await asyncio.gather(*(b.post(another(i), wait=True) for i in range(10, 18)))
    sold = 0
    for lead in posted:
        sends = await b.sends(lead.lead_id)
        sold += len(sends)
    assert sold == 2
    assert await b.balance() == Decimal("30") - 2 * CHARGED


async def test_a_sale_below_the_threshold_tops_up_through_the_card_on_file(billed: Any) -> None:
    b = await billed()
    await b.billing(
        "AddCreditCard",
        B.AddCreditCardRequest(
            client_id=b.buyer,
            card_number=PAN,
            exp_month=12,
            exp_year=2099,
            cvv="123",
            enabled=True,
            is_primary=True,
        ),
    )
    await b.billing(
        "SetBillingSettings",
        B.SetBillingSettingsRequest(
            client_id=b.buyer,
            settings=B.BillingSettings(auto_charge_below="10", auto_charge_amount="50"),
        ),
    )
    await b.pay("20")
    await b.sell(1)  # 7.65: below 10
    for _ in range(200):  # the auto-charge runner polls every second
        if await b.balance() > Decimal("7.65"):
            break
        await asyncio.sleep(0.05)
    assert await b.balance() == Decimal("57.65")
    entries = await b.entries()
    assert [e.kind for e in entries][-1] == B.LEDGER_ENTRY_KIND_CARD
    await b.sell(2)  # 45.30: above it, nothing more is queued
    assert await b.balance() == Decimal("57.65") - CHARGED
    assert await b.auto_charges() == 1


async def test_a_card_number_and_code_reach_no_table_and_no_log(
    billed: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    b = await billed()
    cvv = "8305"
    card = await b.billing(
        "AddCreditCard",
        B.AddCreditCardRequest(
            client_id=b.buyer,
            card_number="4242 4242 4242 4242",
            exp_month=3,
            exp_year=2031,
            cvv=cvv,
            billing=B.BillingAddress(name_on_card="Ann Lee", zip="89101"),
            enabled=True,
            is_primary=True,
        ),
    )
    assert (card.brand, card.last_four, card.exp_month, card.exp_year) == ("VISA", "4242", 3, 2031)
    await b.charge("15", cvv=cvv, key="pan-search")
    await b.billing("RunClientCard", B.RunClientCardRequest(client_id=b.buyer, amount="5"))
    listed = await b.billing("ListCreditCards", B.ListCreditCardsRequest(client_id=b.buyer))
    assert [c.last_four for c in listed.cards] == ["4242"]
    assert await b.balance() == Decimal("20.00")
    assert await found_in_database(b.pool, PAN, cvv) == []
    logged = server_log(caplog)
    assert "buyer" in logged  # the log was captured
    assert PAN not in logged and "4242 4242" not in logged and cvv not in logged


CLIENT_LOGGERS = ("zeep", "urllib3", "httpx", "httpcore")  # the test's own calls, not the server


def server_log(caplog: pytest.LogCaptureFixture) -> str:
    """What the server and gateways logged, tracebacks included."""
    return "\n".join(
        caplog.handler.format(r) for r in caplog.records if not r.name.startswith(CLIENT_LOGGERS)
    )


async def found_in_database(pool: Any, pan: str, cvv: str) -> list[str]:
    """Every table whose rows, as text, hold the card number or the security code (a token
    of its own: not digits inside another number, nor inside a random key or digest, where
    four given digits turn up now and then: api_keys did, once in a few hundred runs)."""
    found = []
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT quote_ident(table_name) AS name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
        tables = [r["name"] for r in await cursor.fetchall()]
        assert "credit_cards" in tables and "card_charges" in tables
        for table in tables:
            cursor = await conn.execute(
                f"SELECT count(*) AS n FROM {table} t WHERE t::text LIKE %s OR t::text ~ %s",
                [f"%{pan}%", f"(^|[^0-9A-Za-z_-]){cvv}([^0-9A-Za-z_-]|$)"],
            )
            row = await cursor.fetchone()
            if row["n"]:
                found.append(table)
    return found


async def test_another_accounts_buyer_is_not_found(billed: Any, new_account: Any) -> None:
    b = await billed()
    other = await new_account("Other")
    async with billing_async(b.address, other.api_key) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetBalance(B.GetBalanceRequest(client_id=b.buyer))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_sale_logged_by_hand_charges_the_ledger(billed: Any) -> None:
    b = await billed()
    posted = await b.post(another(40), no_sell=True)
    async with distribution_async(b.address, b.key) as stub:
        logged = await stub.LogClientSend(
            distribution_pb2.LogClientSendRequest(
                client_id=b.buyer,
                lead_id=posted.lead_id,
                account_id=b.ids.accounts["buyer/main"],
                delivery_id=b.ids.deliveries["buyer/post"],
                response="OK",
            )
        )
    (entry,) = await b.entries()
    assert (entry.kind, entry.send_id, entry.amount) == (
        B.LEDGER_ENTRY_KIND_SALE,
        logged.send.id,
        "-12.35",
    )
    assert await b.balance() == -CHARGED


async def test_a_ledger_range_outside_the_timestamps_years_is_invalid_not_internal(
    billed: Any,
) -> None:
    b = await billed()
    request = B.ListLedgerEntriesRequest(client_id=b.buyer)
    request.to.seconds = 10**12  # year 33658: protobuf's Timestamp stops at 9999
    bad = await b.refused_billing("ListLedgerEntries", request)
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Timestamp is not valid" in (bad.details() or "")
