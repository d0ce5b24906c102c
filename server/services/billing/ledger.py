"""A buyer's ledger read and written: its balance and entries, payments, manual adjustments
and billing settings. Sales and returns write their entries in their own transactions."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from server.domain.billing.ledger import (
    Balance,
    BillingSettings,
    EntryKind,
    LedgerEntry,
    cents,
    positive_cents,
    settings_checked,
)
from server.errors import InvalidArgument, NotFound
from server.services.quality._pages import Page, checked_size, page
from server.storage import ledger as store
from server.storage.database import Pool, statements, transaction

log = logging.getLogger(__name__)

NOTE_MAX = 1000
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PaymentRecorded:
    """A payment as recorded: its id, and its ledger entry (None for a declined payment)."""

    payment_id: int
    entry: LedgerEntry | None
    created_at: datetime


def _note(text: str, name: str) -> str:
    text = (text or "").strip()
    if len(text) > NOTE_MAX:
        raise InvalidArgument(f"{name}: at most {NOTE_MAX} characters")
    return text


class Ledger:
    """Buyers' ledgers of one database."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def balance(self, account_id: int, client_id: int) -> Balance:
        async with statements(self._pool) as conn:
            found = await store.balance(conn, account_id, client_id)
        if found is None:
            raise NotFound(f"no buyer {client_id}")
        return found

    async def entries(
        self,
        account_id: int,
        client_id: int,
        start: datetime | None = None,
        end: datetime | None = None,
        page_size: int = 0,
        after_id: int = 0,
    ) -> Page[LedgerEntry]:
        """A buyer's entries made from `start` up to (not including) `end`, oldest first."""
        size = checked_size(page_size)
        start, end = start or EARLIEST, end or LATEST
        if end < start:
            raise InvalidArgument("the end of the range is before its start")
        async with transaction(self._pool) as conn:
            if await store.balance(conn, account_id, client_id) is None:
                raise NotFound(f"no buyer {client_id}")
            found = await store.entries(conn, account_id, client_id, start, end, after_id, size + 1)
        return page(found, size, lambda e: e.id)

    async def add_payment(
        self,
        account_id: int,
        client_id: int,
        amount: Decimal | str,
        *,
        valid: bool,
        order_id: int = 0,
        card_transaction_id: int = 0,
        response: str = "",
    ) -> PaymentRecorded:
        """Record a buyer's payment; an accepted one (`valid`) credits its ledger, a declined
        one is kept and credits nothing."""
        amount = positive_cents(amount)
        response = _note(response, "response")
        async with transaction(self._pool) as conn:
            payment = await store.insert_payment(
                conn,
                account_id,
                client_id,
                amount,
                valid=valid,
                order_id=order_id or None,
                card_transaction_id=card_transaction_id or None,
                response=response,
            )
            if payment is None:
                raise NotFound(f"no buyer {client_id}")
            entry = None
            if valid:
                entry = await store.add_entry(
                    conn,
                    account_id,
                    client_id,
                    EntryKind.PAYMENT,
                    amount,
                    note=response,
                    payment_id=payment.id,
                )
        log.info(
            "buyer %s: payment %s of %s %s",
            client_id,
            payment.id,
            amount,
            "credited" if valid else "declined",
        )
        return PaymentRecorded(payment.id, entry, payment.created_at)

    async def adjust(
        self, account_id: int, client_id: int, amount: Decimal | str, note: str
    ) -> LedgerEntry:
        """A manual adjustment of a buyer's balance, either way, with why."""
        value = cents(amount)
        if value == 0:
            raise InvalidArgument("amount: an adjustment cannot be 0")
        note = _note(note, "note")
        if not note:
            raise InvalidArgument("note: say why the balance is adjusted")
        async with transaction(self._pool) as conn:
            entry = await store.add_entry(
                conn, account_id, client_id, EntryKind.ADJUSTMENT, value, note=note
            )
        if entry is None:
            raise NotFound(f"no buyer {client_id}")
        return entry

    async def save_settings(
        self, account_id: int, client_id: int, settings: BillingSettings
    ) -> Balance:
        """Set how a buyer is billed; its balance and settings as they now stand."""
        settings = settings_checked(settings)
        async with transaction(self._pool) as conn:
            if not await store.save_settings(conn, account_id, client_id, settings):
                raise NotFound(f"no buyer {client_id}")
            found = await store.balance(conn, account_id, client_id)
        assert found is not None
        return found
