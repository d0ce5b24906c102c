"""The service.asmx billing methods through zeep on the served WSDL: AddPayment,
AddCreditCard and RunClientCard, answering as BillingService does, with the card masked and
its code removed, and never keeping the number."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from leadrouter.v1 import billing_pb2

from tests.e2e.test_billing import (
    PAN,
    Billing,
    billed,  # noqa: F401  (a fixture)
    found_in_database,
    server_log,
)
from tests.e2e.test_quality import shop  # noqa: F401  (a fixture)
from tests.support.soap import fault, soap

B = billing_pb2


async def test_add_payment(soap_client: Any, billed: Any) -> None:  # noqa: F811
    b: Billing = await billed()
    answered = await soap(
        soap_client,
        "AddPayment",
        Key=b.key,
        ClientUID=b.buyer,
        ClientOrderUID=0,
        CardTransUID=0,
        Amount=25.5,
        IsValid=True,
        Response="ok",
    )
    assert answered is None
    await soap(
        soap_client,
        "AddPayment",
        Key=b.key,
        ClientUID=b.buyer,
        ClientOrderUID=0,
        CardTransUID=7,
        Amount=99.0,
        IsValid=False,
        Response="declined by the merchant",
    )
    assert await b.balance() == Decimal("25.50")
    assert [e.kind for e in await b.entries()] == [B.LEDGER_ENTRY_KIND_PAYMENT]
    refused = await fault(
        soap_client,
        "AddPayment",
        Key=b.key,
        ClientUID=b.buyer,
        ClientOrderUID=0,
        CardTransUID=0,
        Amount=-1.0,
        IsValid=True,
        Response="",
    )
    assert refused.code.endswith("Client")
    unknown = await fault(
        soap_client,
        "AddPayment",
        Key=b.key,
        ClientUID=1 << 40,
        ClientOrderUID=0,
        CardTransUID=0,
        Amount=1.0,
        IsValid=True,
        Response="",
    )
    assert unknown.code.endswith("Client")


def _card(client_id: int, number: str, cvv_field: bool = False) -> dict[str, Any]:
    return {
        "ClientUID": client_id,
        "CardNumber": number,
        "ExpMonth": "04",
        "ExpYear": "2032",
        "Company": "Buyer Co",
        "FirstName": "Ann",
        "LastName": "Lee",
        "NameOnCard": "Ann Lee",
        "Bill_Address": "1 Main St",
        "Bill_City": "Las Vegas",
        "Bill_State": "NV",
        "Bill_Zip": "89101",
        "CardType": "VISA",
        "Status": 1,
        "IsPrimary": True,
    }


async def test_add_credit_card_keeps_the_token_only(
    soap_client: Any,
    billed: Any,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    b: Billing = await billed()
    assert await soap(soap_client, "AddCreditCard", Key=b.key, card=_card(b.buyer, PAN)) is None
    listed = await b.billing("ListCreditCards", B.ListCreditCardsRequest(client_id=b.buyer))
    (card,) = listed.cards
    assert (card.brand, card.last_four, card.exp_month, card.exp_year) == ("VISA", "4242", 4, 2032)
    assert card.billing.name_on_card == "Ann Lee" and card.is_primary and card.enabled
    bad = await fault(
        soap_client, "AddCreditCard", Key=b.key, card=_card(b.buyer, "4242424242424241")
    )
    assert bad.code.endswith("Client")
    # the card on file is charged when RunClientCard gives no number
    charged = await soap(
        soap_client,
        "RunClientCard",
        Key=b.key,
        ClientUID=b.buyer,
        CardNumber=None,
        ExpDate=None,
        CVN=None,
        Address=None,
        City=None,
        State=None,
        Zip=None,
        CardType=None,
        Amount=12.0,
    )
    assert charged.IsValid is True and charged.CardNumber == "************4242"
    assert await found_in_database(b.pool, PAN, "7351") == []
    assert PAN not in server_log(caplog)


async def test_run_client_card_charges_once_per_idempotency_key(
    soap_client: Any,
    billed: Any,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    b: Billing = await billed()
    params = {
        "Key": b.key,
        "ClientUID": b.buyer,
        "CardNumber": PAN,
        "ExpDate": "12/31",
        "CVN": "7351",
        "Address": "1 Main St",
        "City": "Las Vegas",
        "State": "NV",
        "Zip": "89101",
        "CardType": "VISA",
        "Amount": 49.99,
        "IdempotencyKey": "invoice-2031",
    }
    first = await soap(soap_client, "RunClientCard", **params)
    again = await soap(soap_client, "RunClientCard", **params)
    assert first.ClientTranUID == again.ClientTranUID
    assert first.IsValid is True and first.ClientUID == b.buyer
    assert first.CardNumber == "************4242" and not first.CVN
    assert first.ExpDate == "12/2031" and first.Amount == 49.99
    assert isinstance(first.DateRan, datetime) and first.DateRan.tzinfo is None  # Pacific
    assert await b.balance() == Decimal("49.99")
    declined = await soap(
        soap_client,
        "RunClientCard",
        **{**params, "CardNumber": "4000000000000002", "IdempotencyKey": "invoice-2032"},
    )
    assert declined.IsValid is False and "declined" in declined.Response
    assert declined.CardNumber == "************0002"
    pending = await soap(
        soap_client,
        "RunClientCard",
        **{**params, "CardNumber": "4000000000000119", "IdempotencyKey": "invoice-2033"},
    )
    assert pending.IsValid is False and pending.Response.startswith("Pending")
    retried = await soap(
        soap_client,
        "RunClientCard",
        **{**params, "CardNumber": "4000000000000119", "IdempotencyKey": "invoice-2033"},
    )
    assert retried.IsValid is True and retried.ClientTranUID == pending.ClientTranUID
    assert await b.balance() == Decimal("99.98")
    assert await found_in_database(b.pool, PAN, "7351") == []
    logged = server_log(caplog)
    assert PAN not in logged and "7351" not in logged
    bad_date = await fault(soap_client, "RunClientCard", **{**params, "ExpDate": "soon"})
    assert bad_date.code.endswith("Client")
