"""Buyers' cards: kept on file as the payment gateway's token (AddCreditCard), charged once
per idempotency key (RunClientCard), and charged by the auto-charge runner when a sale takes a
buyer's balance below its threshold. A card's number and security code go to the gateway and
nowhere else: not to the database, not to a log line.

A charge is written pending, under its key, before the gateway is asked, and finished after:
a gateway that times out leaves it pending, and asking again with the same key asks the
gateway again with the same key, which charges at most once. Only the transition out of
pending credits the ledger, so two callers retrying at once credit it once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from server.adapters.payments.gateway import PaymentGateway
from server.domain.billing.cards import (
    DECLINE_RETRY_SECONDS,
    Billing,
    Card,
    CardCharge,
    ChargeState,
    GatewayAnswer,
    StoredCard,
    Tokenized,
)
from server.domain.billing.ledger import EntryKind, positive_cents
from server.errors import FailedPrecondition, InvalidArgument, NotFound
from server.services.quality._pages import Page, checked_size, page
from server.services.runner import Backoff, LeasedRunner, RunnerSettings
from server.storage import cards as store
from server.storage import ledger as ledger_store
from server.storage.database import Connection, Pool, statements, transaction

log = logging.getLogger(__name__)

KEY_MAX = 200
TEXT_MAX = 200
GATEWAY_TIMEOUT = GatewayAnswer(
    ChargeState.PENDING, "The payment gateway timed out; retry with the same key"
)


@dataclass(frozen=True)
class ChargeSettings:
    gateway_seconds: float = 30.0  # past it, a charge is left pending
    lease_seconds: float = 60.0  # an auto-charge's lease, past the gateway's time
    poll_seconds: float = 1.0
    retry: Backoff = field(default_factory=lambda: Backoff(base_seconds=30.0, max_attempts=8))
    # a declined auto-charge is retried under a new key after each of these delays in turn
    decline_retry_seconds: tuple[float, ...] = DECLINE_RETRY_SECONDS


def _text(value: str, name: str) -> str:
    value = (value or "").strip()
    if len(value) > TEXT_MAX:
        raise InvalidArgument(f"{name}: at most {TEXT_MAX} characters")
    return value


def billing_checked(billing: Billing) -> Billing:
    return Billing(
        company=_text(billing.company, "company"),
        first_name=_text(billing.first_name, "first_name"),
        last_name=_text(billing.last_name, "last_name"),
        name_on_card=_text(billing.name_on_card, "name_on_card"),
        address=_text(billing.address, "address"),
        city=_text(billing.city, "city"),
        state=_text(billing.state, "state"),
        zip=_text(billing.zip, "zip"),
    )


class Cards:
    """Buyers' cards and card charges of one database, through one payment gateway."""

    def __init__(
        self, pool: Pool, gateway: PaymentGateway, settings: ChargeSettings | None = None
    ) -> None:
        self._pool = pool
        self._gateway = gateway
        self._settings = settings = settings or ChargeSettings()
        self.runner = LeasedRunner(
            lambda room: self._poll(room),
            RunnerSettings(batch=8, concurrency=8, poll_seconds=settings.poll_seconds),
        )

    async def add_card(
        self,
        account_id: int,
        client_id: int,
        card: Card,
        billing: Billing,
        *,
        enabled: bool = True,
        is_primary: bool = False,
    ) -> StoredCard:
        """Keep a buyer's card as the gateway's token, its brand, last four digits and expiry,
        with its name and billing address."""
        billing = billing_checked(billing)
        token = await self._gateway.tokenize(card)
        async with transaction(self._pool) as conn:
            stored = await store.insert_card(
                conn, account_id, client_id, token, billing, enabled=enabled, is_primary=is_primary
            )
        if stored is None:
            raise NotFound(f"no buyer {client_id}")
        log.info("buyer %s: card %s ending %s kept", client_id, stored.id, stored.last_four)
        return stored

    async def cards(self, account_id: int, client_id: int) -> list[StoredCard]:
        async with statements(self._pool) as conn:
            return await store.cards(conn, account_id, client_id)

    async def charges(
        self, account_id: int, client_id: int, page_size: int = 0, before_id: int = 0
    ) -> Page[CardCharge]:
        """A buyer's card charges, newest first, one page before a charge id (0: the newest)."""
        size = checked_size(page_size)
        async with transaction(self._pool) as conn:
            if await ledger_store.balance(conn, account_id, client_id) is None:
                raise NotFound(f"no buyer {client_id}")
            found = await store.charges(conn, account_id, client_id, before_id, size + 1)
        return page(found, size, lambda c: c.id)

    async def run_card(
        self,
        account_id: int,
        client_id: int,
        amount: Decimal | str,
        *,
        card: Card | None = None,
        idempotency_key: str = "",
    ) -> CardCharge:
        """Charge `card`, or (None) the buyer's primary card on file, once per idempotency key
        (none given: a new one): a retry with the key answers the first charge, or, when that
        one was left pending, asks the gateway again. An approved charge credits the ledger."""
        amount = positive_cents(amount)
        key = (idempotency_key or "").strip() or f"run-{uuid.uuid4()}"
        if len(key) > KEY_MAX:
            raise InvalidArgument(f"idempotency_key: at most {KEY_MAX} characters")
        if card is not None:
            token = await self._gateway.tokenize(card)
        else:
            token = await self._card_on_file(account_id, client_id)
        async with transaction(self._pool) as conn:
            started = await store.start_charge(conn, account_id, client_id, key, amount, token)
        if started is None:
            raise NotFound(f"no buyer {client_id}")
        created, found = started
        charge = found.charge
        if not created and (charge.client_id != client_id or charge.amount != amount):
            raise FailedPrecondition(
                "this idempotency key was used for another charge (another buyer or amount)"
            )
        if charge.state in (ChargeState.APPROVED, ChargeState.DECLINED, ChargeState.CANCELLED):
            return charge  # the first result (or a retry not needed): nothing is charged
        return await self._ask(account_id, found)

    async def _card_on_file(self, account_id: int, client_id: int) -> Tokenized:
        on_file = [c for c in await self.cards(account_id, client_id) if c.enabled]
        if not on_file:
            raise FailedPrecondition(f"buyer {client_id} has no card on file")
        card = on_file[0]  # the primary first
        return Tokenized(card.token, card.brand, card.last_four, card.exp_month, card.exp_year)

    async def _ask(self, account_id: int, found: store.ChargeToRun) -> CardCharge:
        """Ask the gateway to make a charge under way and record its answer, crediting the
        ledger when it is approved."""
        charge = found.charge
        try:
            answer = await asyncio.wait_for(
                self._gateway.charge(found.token, charge.amount, charge.idempotency_key),
                self._settings.gateway_seconds,
            )
        except TimeoutError:
            answer = GATEWAY_TIMEOUT
        async with transaction(self._pool) as conn:
            finished = await store.finish_charge(conn, account_id, charge.id, answer)
            if finished is None:  # another caller recorded its answer first
                current = await store.charge(conn, account_id, charge.id)
                assert current is not None
                return current
            if finished.approved:
                await ledger_store.add_entry(
                    conn,
                    account_id,
                    finished.client_id,
                    EntryKind.CARD,
                    finished.amount,
                    note=f"{finished.brand} ending {finished.last_four}".strip(),
                    charge_id=finished.id,
                )
                if finished.auto:
                    await ledger_store.release_after_approval(conn, account_id, finished.client_id)
            elif finished.auto and finished.state is ChargeState.DECLINED:
                await self._declined(conn, account_id, finished)
        log.info(
            "buyer %s: charge %s of %s on the card ending %s: %s",
            finished.client_id,
            finished.id,
            finished.amount,
            finished.last_four,
            finished.state,
        )
        return finished

    async def _declined(self, conn: Connection, account_id: int, charge: CardCharge) -> None:
        """A declined auto-charge holds its buyer while its balance is below the threshold,
        and is retried under a new key (a declined key answers the same) on the schedule."""
        delays = self._settings.decline_retry_seconds
        delay = delays[charge.retry] if charge.retry < len(delays) else None
        declined = await ledger_store.hold_after_decline(conn, account_id, charge.id, delay)
        log.warning(
            "buyer %s: auto-charge %s declined (retry %d)%s%s",
            charge.client_id,
            charge.id,
            charge.retry,
            "; held" if declined.held else "",
            f"; retry {declined.retry_id} in {delay:g} s" if declined.retry_id else "",
        )

    # -- the auto-charge runner

    async def run(self, stop: asyncio.Event) -> None:
        """Make due auto-charges until `stop` is set; then finish those under way."""
        await self.runner.run(stop)

    def wake(self) -> None:
        self.runner.wake()

    async def idle(self) -> None:
        await self.runner.idle()

    async def _poll(self, room: int) -> int:
        async with statements(self._pool) as conn:
            due = await store.claim_auto_charges(conn, self._settings.lease_seconds, room)
        for account_id, charge_id in due:
            self.runner.start(self._auto_charge(account_id, charge_id))
        return len(due)

    async def _auto_charge(self, account_id: int, charge_id: int) -> None:
        """One attempt at an auto-charge this process leased; one the gateway left pending
        is asked again, with its key, on the retry schedule."""
        async with statements(self._pool) as conn:
            found = await store.lock_charge(conn, account_id, charge_id)
        if found is None or found.charge.state not in (ChargeState.QUEUED, ChargeState.PENDING):
            return
        charge = await self._ask(account_id, found)
        if charge.state is not ChargeState.PENDING:
            return
        delay = self._settings.retry.delay(charge.attempts)
        if delay is None:
            log.warning(
                "buyer %s: auto-charge %s still has no answer after %d attempts; left pending",
                charge.client_id,
                charge.id,
                charge.attempts,
            )
            return
        async with statements(self._pool) as conn:
            await store.retry_auto_charge(conn, account_id, charge.id, delay)
