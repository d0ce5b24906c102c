"""A declined auto-charge end to end over gRPC: retried under new keys on the (tests')
schedule, each attempt listed by ListCardCharges, its buyer held (passed over by the engine,
GetBalance's `held`) until a payment brings the balance back to the threshold."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from leadrouter.v1 import billing_pb2

from tests.e2e.test_billing import CHARGED, another, billed  # noqa: F401  (a fixture)
from tests.e2e.test_billing_charges import (
    add_card,
    balance,
    call_billing,
    charges,
    charges_until,
    pay,
    settings,
)
from tests.e2e.test_quality import shop  # noqa: F401  (billed's fixture)

B = billing_pb2
DECLINED_PAN = "4000000000000002"


async def test_a_declined_auto_charge_is_retried_and_holds_the_buyer_until_it_pays(
    billed: Any,  # noqa: F811
) -> None:
    b = await billed()
    await add_card(b, b.buyer, DECLINED_PAN)
    await settings(b, b.buyer, auto_charge_below="10", auto_charge_amount="50")
    await pay(b, b.buyer, "20")
    await b.sell(1)  # 7.65: below 10, an auto-charge is queued and declined
    # declined, then retried twice (the tests' schedule), each under a new key
    found = await charges_until(
        b,
        b.buyer,
        lambda c: len(c) == 3 and all(x.state == B.CHARGE_STATE_DECLINED for x in c),
    )
    assert [(x.retry, x.auto) for x in found] == [(0, True), (1, True), (2, True)]
    assert [x.retry_of for x in found] == [0, found[0].id, found[1].id]
    assert len({x.idempotency_key for x in found}) == 3
    held = await balance(b, b.buyer)
    assert (held.held, held.balance) == (True, "7.65")
    # a non-prepaid buyer, held: passed over
    lead = await b.post(another(2), wait=True)
    assert await b.sends(lead.lead_id) == []
    assert "auto-charge declined" in await b.scan_log(lead.lead_id)
    # a declined key answers the same, without charging again
    again = await call_billing(
        b.address,
        b.key,
        "RunClientCard",
        B.RunClientCardRequest(
            client_id=b.buyer, amount="50", idempotency_key=found[0].idempotency_key
        ),
    )
    assert (again.id, again.state) == (found[0].id, B.CHARGE_STATE_DECLINED)
    assert len(await charges(b, b.buyer)) == 3

    await pay(b, b.buyer, "5")  # 12.65: back at the threshold, the hold is lifted
    lifted = await balance(b, b.buyer)
    assert (lifted.held, lifted.balance) == (False, "12.65")
    lead = await b.post(another(3), wait=True)
    await b.sold(lead.lead_id)
    assert (await balance(b, b.buyer)).balance == f"{Decimal('12.65') - CHARGED:.2f}"
