"""The marketplace on the ledger's rules, end to end over gRPC: a prepaid buyer's leads paid
for by a lead pack, and auto-charges queued by pack purchases and data pulls."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from leadrouter.v1 import admin_pb2, billing_pb2, buyers_pb2
from leadrouter.v1 import marketplace_pb2 as M

from clients.client import billing_async
from tests.e2e.test_distribution import LEAD
from tests.e2e.test_marketplace_grpc import Shop, ShopFactory, shop  # noqa: F401  (a fixture)

B = billing_pb2
PAN = "4242424242424242"


async def call_billing(address: str, key: str, method: str, request: Any) -> Any:
    async with billing_async(address, key) as stub:
        return await getattr(stub, method)(request)


async def settings(m: Any, client_id: int, **fields: Any) -> None:
    await call_billing(
        m.address,
        m.key,
        "SetBillingSettings",
        B.SetBillingSettingsRequest(client_id=client_id, settings=B.BillingSettings(**fields)),
    )


async def add_card(m: Any, client_id: int, number: str) -> None:
    await call_billing(
        m.address,
        m.key,
        "AddCreditCard",
        B.AddCreditCardRequest(
            client_id=client_id,
            card_number=number,
            exp_month=12,
            exp_year=2099,
            cvv="123",
            enabled=True,
            is_primary=True,
        ),
    )


async def pay(m: Any, client_id: int, amount: str) -> None:
    await call_billing(
        m.address,
        m.key,
        "AddPayment",
        B.AddPaymentRequest(client_id=client_id, amount=amount, is_valid=True),
    )


async def charges(m: Any, client_id: int) -> list[Any]:
    """The buyer's card charges, oldest first."""
    found = await call_billing(
        m.address, m.key, "ListCardCharges", B.ListCardChargesRequest(client_id=client_id)
    )
    return list(reversed(found.charges))


async def balance(m: Any, client_id: int) -> Any:
    return await call_billing(
        m.address, m.key, "GetBalance", B.GetBalanceRequest(client_id=client_id)
    )


async def charges_until(m: Any, client_id: int, done: Any) -> list[Any]:
    """The buyer's card charges once `done(charges)` holds (the runner polls)."""
    for _ in range(300):
        found = await charges(m, client_id)
        if done(found):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"card charges of buyer {client_id}: {found}")


def _ts(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


async def test_a_prepaid_buyer_at_zero_receives_the_leads_of_the_pack_it_bought(
    shop: ShopFactory,  # noqa: F811
    stub_for: Any,
) -> None:
    market: Shop = await shop("b1", "b2")
    b1, b2 = market.client_id("b1"), market.client_id("b2")
    for client_id in (b1, b2):
        await settings(market, client_id, prepaid=True, stop_at_zero=True)
    # b2 has a plain order, b1 a pack: both prepaid with nothing to spend
    now = datetime.now(UTC).replace(microsecond=0)
    async with stub_for(market.key) as stub:
        await stub.SaveOrder(
            admin_pb2.SaveOrderRequest(
                order=buyers_pb2.Order(
                    client_id=b2,
                    key="plain",
                    start=_ts(now - timedelta(days=1)),
                    end=_ts(now + timedelta(days=29)),
                    items=[
                        buyers_pb2.OrderItem(
                            key="leads", quantity=5, account_id=market.account_id("b2")
                        )
                    ],
                )
            )
        )
    without = await market.post(
        {**LEAD, "Email": "none@example.com", "Phone": "7025580901"}, wait=True
    )
    assert await market.sold_sends(int(without.lead_id)) == []
    assert "balance too low" in await market.scan_log(int(without.lead_id))

    pack = await market.pack(order_min=1, price="0")  # a free pack: the balance stays 0
    bought = await market.call(
        "BuyLeadPack",
        M.BuyLeadPackRequest(
            client_id=b1, delivery_account_id=market.account_id("b1"), pack_id=pack.id, quantity=2
        ),
    )
    for i in range(2):
        lead = await market.post({**LEAD, "Email": f"pk{i}@example.com", "Phone": f"70255809{i}0"})
        sends = await market.settled(int(lead.lead_id))
        assert [(s.client_id, s.order_id) for s in sends] == [(b1, bought.order.id)]
    found = await balance(market, b1)
    assert (found.balance, found.reserved) == ("0.00", "0.00")
    assert await market.ledger(b1) == [("PACK", Decimal(0), Decimal(0), 0)]
    # the pack is filled: b1 is back to its balance, which covers nothing
    after = await market.post(
        {**LEAD, "Email": "after@example.com", "Phone": "7025580909"}, wait=True
    )
    assert await market.sold_sends(int(after.lead_id)) == []


async def test_a_pack_bought_below_the_threshold_queues_an_auto_charge(
    shop: ShopFactory,  # noqa: F811
) -> None:
    market: Shop = await shop("b1")
    b1 = market.client_id("b1")
    await add_card(market, b1, PAN)
    await settings(market, b1, auto_charge_below="10", auto_charge_amount="50")
    await pay(market, b1, "20")
    pack = await market.pack(order_min=1)
    await market.call(
        "BuyLeadPack",
        M.BuyLeadPackRequest(
            client_id=b1, delivery_account_id=market.account_id("b1"), pack_id=pack.id, quantity=4
        ),
    )  # 4 of 100 at 250: 10.00, taking 20.00 to 10.00 (not below the threshold)
    assert await charges(market, b1) == []
    await market.call(
        "BuyLeadPack",
        M.BuyLeadPackRequest(
            client_id=b1, delivery_account_id=market.account_id("b1"), pack_id=pack.id, quantity=2
        ),
    )  # 5.00 more: 5.00, below 10
    (charge,) = await charges_until(
        market, b1, lambda c: c and c[0].state == B.CHARGE_STATE_APPROVED
    )
    assert (charge.auto, charge.amount, charge.retry) == (True, "50.00", 0)
    assert (await balance(market, b1)).balance == "55.00"


async def test_a_data_pull_below_the_threshold_queues_an_auto_charge(
    shop: ShopFactory,  # noqa: F811
) -> None:
    market: Shop = await shop("b1")
    b1 = market.client_id("b1")
    await add_card(market, b1, PAN)
    await settings(market, b1, auto_charge_below="15", auto_charge_amount="40")
    await pay(market, b1, "20")
    a = await market.lead(1, 30, 10)
    c = await market.lead(2, 30, 9)
    await market.call(
        "SaveDataPull",
        M.DataPull(
            id=-1,
            client_id=b1,
            delivery_account_id=market.account_id("b1"),
            lead_ids=[a, c],
            total_price="10.01",
            status=1,
        ),
    )  # 20.00 - 10.01 = 9.99: below 15
    (charge,) = await charges_until(
        market, b1, lambda c: c and c[0].state == B.CHARGE_STATE_APPROVED
    )
    assert (charge.auto, charge.amount) == (True, "40.00")
    assert (await balance(market, b1)).balance == "49.99"
