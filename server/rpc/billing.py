"""leadrouter.v1.BillingService: translates messages and calls the ledger and card use cases.
A card's number and security code pass from the request to the use case and nowhere else."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeAlias

from leadrouter.v1 import billing_pb2, billing_pb2_grpc

from server.domain.billing.cards import Billing, Card, CardCharge, StoredCard, expiry
from server.domain.billing.ledger import Balance, BillingSettings, EntryKind, LedgerEntry, cents
from server.rpc.convert import moment, stamp
from server.rpc.interceptor import caller
from server.services.billing.cards import Cards
from server.services.billing.ledger import Ledger

Context: TypeAlias = Any  # grpc.aio.ServicerContext; grpc ships no type stubs

KINDS = {
    EntryKind.SALE: billing_pb2.LEDGER_ENTRY_KIND_SALE,
    EntryKind.RETURN: billing_pb2.LEDGER_ENTRY_KIND_RETURN,
    EntryKind.PAYMENT: billing_pb2.LEDGER_ENTRY_KIND_PAYMENT,
    EntryKind.CARD: billing_pb2.LEDGER_ENTRY_KIND_CARD,
    EntryKind.ADJUSTMENT: billing_pb2.LEDGER_ENTRY_KIND_ADJUSTMENT,
    EntryKind.PACK: billing_pb2.LEDGER_ENTRY_KIND_PACK,
}
STATES = {
    "queued": billing_pb2.CHARGE_STATE_QUEUED,
    "pending": billing_pb2.CHARGE_STATE_PENDING,
    "approved": billing_pb2.CHARGE_STATE_APPROVED,
    "declined": billing_pb2.CHARGE_STATE_DECLINED,
    "cancelled": billing_pb2.CHARGE_STATE_CANCELLED,
}


def _account() -> int:
    return caller().account_id


def money(value: Any) -> str:
    """An amount to the cent, as the wire's decimal string: 12.50, -3.00."""
    return f"{value:.2f}" if value is not None else ""


def balance_message(found: Balance) -> billing_pb2.ClientBalance:
    s = found.settings
    return billing_pb2.ClientBalance(
        client_id=found.client_id,
        balance=money(found.balance),
        reserved=money(found.reserved),
        held=found.held,
        settings=billing_pb2.BillingSettings(
            prepaid=s.prepaid,
            stop_at_zero=s.stop_at_zero,
            auto_charge_below=money(s.auto_charge_below),
            auto_charge_amount=money(s.auto_charge_amount),
        ),
    )


def entry_message(entry: LedgerEntry) -> billing_pb2.LedgerEntry:
    message = billing_pb2.LedgerEntry(
        id=entry.id,
        client_id=entry.client_id,
        kind=KINDS[entry.kind],
        amount=money(entry.amount),
        balance=money(entry.balance),
        send_id=entry.send_id,
        lead_id=entry.lead_id,
        payment_id=entry.payment_id,
        charge_id=entry.charge_id,
        note=entry.note,
    )
    stamp(message.created_at, entry.created_at)
    return message


def _address(billing: Billing) -> billing_pb2.BillingAddress:
    return billing_pb2.BillingAddress(
        company=billing.company,
        first_name=billing.first_name,
        last_name=billing.last_name,
        name_on_card=billing.name_on_card,
        address=billing.address,
        city=billing.city,
        state=billing.state,
        zip=billing.zip,
    )


def card_message(card: StoredCard) -> billing_pb2.CreditCard:
    message = billing_pb2.CreditCard(
        id=card.id,
        client_id=card.client_id,
        brand=card.brand,
        last_four=card.last_four,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
        billing=_address(card.billing),
        enabled=card.enabled,
        is_primary=card.is_primary,
    )
    stamp(message.created_at, card.created_at)
    return message


def charge_message(charge: CardCharge) -> billing_pb2.CardCharge:
    message = billing_pb2.CardCharge(
        id=charge.id,
        client_id=charge.client_id,
        idempotency_key=charge.idempotency_key,
        amount=money(charge.amount),
        state=STATES[str(charge.state)],
        response=charge.response,
        brand=charge.brand,
        last_four=charge.last_four,
        exp_month=charge.exp_month,
        exp_year=charge.exp_year,
        auto=charge.auto,
        retry=charge.retry,
        retry_of=charge.retry_of,
    )
    stamp(message.created_at, charge.created_at)
    if charge.next_attempt_at is not None:
        stamp(message.next_attempt_at, charge.next_attempt_at)
    return message


def _card(number: str, month: int, year: int, cvv: str) -> Card:
    exp_month, exp_year = expiry(month, year)
    return Card(number, exp_month, exp_year, cvv)


def _amount(text: str, name: str) -> Decimal | None:
    return cents(text, name) if text.strip() else None


def _billing(message: billing_pb2.BillingAddress) -> Billing:
    return Billing(
        company=message.company,
        first_name=message.first_name,
        last_name=message.last_name,
        name_on_card=message.name_on_card,
        address=message.address,
        city=message.city,
        state=message.state,
        zip=message.zip,
    )


class BillingServicer(billing_pb2_grpc.BillingServiceServicer):
    """Buyers' ledgers, billing settings and cards of an account."""

    def __init__(self, ledger: Ledger, cards: Cards) -> None:
        self._ledger = ledger
        self._cards = cards

    async def GetBalance(
        self, request: billing_pb2.GetBalanceRequest, context: Context
    ) -> billing_pb2.ClientBalance:
        return balance_message(await self._ledger.balance(_account(), request.client_id))

    async def ListLedgerEntries(
        self, request: billing_pb2.ListLedgerEntriesRequest, context: Context
    ) -> billing_pb2.ListLedgerEntriesResponse:
        page = await self._ledger.entries(
            _account(),
            request.client_id,
            moment(request, "from"),  # `from` is a Python keyword: read by name
            moment(request, "to"),
            request.page_size,
            request.after_entry_id,
        )
        return billing_pb2.ListLedgerEntriesResponse(
            entries=[entry_message(e) for e in page.rows], next_after_entry_id=page.next_after
        )

    async def AddPayment(
        self, request: billing_pb2.AddPaymentRequest, context: Context
    ) -> billing_pb2.AddPaymentResponse:
        recorded = await self._ledger.add_payment(
            _account(),
            request.client_id,
            request.amount,
            valid=request.is_valid,
            order_id=request.order_id,
            card_transaction_id=request.card_transaction_id,
            response=request.response,
        )
        answer = billing_pb2.AddPaymentResponse(payment_id=recorded.payment_id)
        if recorded.entry is not None:
            answer.entry.CopyFrom(entry_message(recorded.entry))
        return answer

    async def AdjustBalance(
        self, request: billing_pb2.AdjustBalanceRequest, context: Context
    ) -> billing_pb2.LedgerEntry:
        entry = await self._ledger.adjust(
            _account(), request.client_id, request.amount, request.note
        )
        return entry_message(entry)

    async def SetBillingSettings(
        self, request: billing_pb2.SetBillingSettingsRequest, context: Context
    ) -> billing_pb2.ClientBalance:
        s = request.settings
        settings = BillingSettings(
            prepaid=s.prepaid,
            stop_at_zero=s.stop_at_zero,
            auto_charge_below=_amount(s.auto_charge_below, "auto_charge_below"),
            auto_charge_amount=_amount(s.auto_charge_amount, "auto_charge_amount"),
        )
        found = await self._ledger.save_settings(_account(), request.client_id, settings)
        return balance_message(found)

    async def AddCreditCard(
        self, request: billing_pb2.AddCreditCardRequest, context: Context
    ) -> billing_pb2.CreditCard:
        card = _card(request.card_number, request.exp_month, request.exp_year, request.cvv)
        stored = await self._cards.add_card(
            _account(),
            request.client_id,
            card,
            _billing(request.billing),
            enabled=request.enabled,
            is_primary=request.is_primary,
        )
        return card_message(stored)

    async def ListCreditCards(
        self, request: billing_pb2.ListCreditCardsRequest, context: Context
    ) -> billing_pb2.ListCreditCardsResponse:
        found = await self._cards.cards(_account(), request.client_id)
        return billing_pb2.ListCreditCardsResponse(cards=[card_message(c) for c in found])

    async def RunClientCard(
        self, request: billing_pb2.RunClientCardRequest, context: Context
    ) -> billing_pb2.CardCharge:
        card = None
        if request.card_number:
            card = _card(request.card_number, request.exp_month, request.exp_year, request.cvv)
        charge = await self._cards.run_card(
            _account(),
            request.client_id,
            request.amount,
            card=card,
            idempotency_key=request.idempotency_key,
        )
        return charge_message(charge)

    async def ListCardCharges(
        self, request: billing_pb2.ListCardChargesRequest, context: Context
    ) -> billing_pb2.ListCardChargesResponse:
        found = await self._cards.charges(
            _account(), request.client_id, request.page_size, request.before_charge_id
        )
        return billing_pb2.ListCardChargesResponse(
            charges=[charge_message(c) for c in found.rows], next_before_charge_id=found.next_after
        )
