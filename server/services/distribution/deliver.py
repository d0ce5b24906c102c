"""Delivering sends: one attempt at a time, outside any transaction.

A send is rendered by its delivery method (server/domain/delivery/), sent by the matching
transport (server/adapters/delivery/), and its outcome recorded: a buyer's answer finishes it
(sold or rejected) and wakes the lead's job for its next step; a transport failure schedules
it again by the backoff, up to its attempts, and then fails it. Outcomes are written in
groups (server/storage/send_outcomes.py), a sale with the notices its delivery method sends
(sent by notices.py). A send delivered again after its process died carries the same
`Idempotency-Key`, so the buyer can tell.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from server.adapters.delivery import Transports
from server.domain.catalog.fields import Value
from server.domain.delivery.answers import interpret
from server.domain.delivery.notices import Notice, Sale, sale_notices
from server.domain.delivery.render import render, storable
from server.domain.delivery.send_log import describe
from server.domain.delivery.spec import LeadPayload, TransportResult
from server.domain.sales.sends import SendStatus
from server.services.distribution.buyer_cache import BuyerCache
from server.services.distribution.step import Reserved
from server.services.runner import Backoff
from server.storage import sends as send_store
from server.storage.database import Pool, transaction
from server.storage.send_outcomes import Outcome, OutcomeWriter

log = logging.getLogger(__name__)

MAX_LOGGED_RESPONSE = 65536  # characters of a buyer's answer kept in the send log


class Deliveries:
    """Delivers this process's sends and records their outcomes."""

    def __init__(
        self,
        pool: Pool,
        cache: BuyerCache,
        transports: Transports,
        outcomes: OutcomeWriter,
        backoff: Backoff,
        on_notices: Callable[[], None] = lambda: None,
    ) -> None:
        """`on_notices`: called once a sale that queued notices is committed."""
        self._pool = pool
        self._cache = cache
        self._transports = transports
        self._outcomes = outcomes
        self._backoff = backoff
        self._on_notices = on_notices

    async def deliver_leased(self, account_id: int, send_id: int) -> None:
        """Deliver a send this process leased (by a poll, or reserved by hand): read it back
        first; nothing when it is finished already."""
        async with transaction(self._pool) as conn:
            send = await send_store.leased(conn, account_id, send_id)
            if send is None:
                return
            snapshot = await self._cache.snapshot(
                conn, account_id, send.lead_type_id, send.buyer_version
            )
        view = snapshot.by_id.get(send.delivery_account_id)
        if view is None:
            await self._finish(
                account_id,
                send.lead_id,
                send.id,
                f"account {send.delivery_account_id}",
                SendStatus.FAILED,
                "",
                "",
                "delivery account removed",
                0.0,
                price=send.price,
            )
            return
        await self.execute(
            account_id,
            Reserved(
                send.id,
                send.lead_id,
                view,
                send.price,
                send.attempts,
                send.fields,
                send.ping_reference,
            ),
        )

    async def execute(self, account_id: int, send: Reserved) -> str | None:
        """One delivery attempt of a send this process holds, and its outcome recorded; the
        state that left the lead's job in (None: not touched)."""
        view = send.view
        payload = LeadPayload(
            lead_id=send.lead_id,
            send_id=send.id,
            price=send.price,
            values={name: _text(value) for name, value in send.fields.items()},
            ping_reference=send.ping_reference,
        )
        rendered = render(view.delivery, payload)
        request_text = describe(rendered)
        result = await self._transports.send(rendered)
        if result.failed:
            status, reason, retry_in = self._failure(send.attempts + 1, result)
            return await self._finish(
                account_id,
                send.lead_id,
                send.id,
                view.label,
                status,
                request_text,
                result.body,
                reason,
                result.elapsed_ms,
                price=send.price,
                retry_in=retry_in,
            )
        answer = interpret(view.delivery.response, result.status, result.body)
        price = answer.price if answer.price is not None else send.price
        notices = self._notices(send, payload, price) if answer.accepted else ()
        state = await self._finish(
            account_id,
            send.lead_id,
            send.id,
            view.label,
            SendStatus.SOLD if answer.accepted else SendStatus.REJECTED,
            request_text,
            result.body,
            answer.reason,
            result.elapsed_ms,
            price=price,
            redirect_url=answer.redirect_url or view.redirect_url,
            notices=notices,
        )
        if notices:
            self._on_notices()
        return state

    def _failure(self, attempts: int, result: TransportResult) -> tuple[SendStatus, str, float]:
        """What a failed attempt (the `attempts`th) leaves the send in, why, and the retry's
        delay: tried again with backoff until the attempts run out, except an address refused,
        which stays refused: failed at once."""
        if result.refused:
            return SendStatus.FAILED, f"not sent: {result.error}", 0.0
        retry_in = self._backoff.delay(attempts)
        if retry_in is None:
            failed = f"transport failure after {attempts} attempts: {result.error}"
            return SendStatus.FAILED, failed, 0.0
        again = f"transport failure (attempt {attempts}): {result.error}; retry in {retry_in:g} s"
        return SendStatus.SCHEDULED, again, retry_in

    def _notices(self, send: Reserved, sent: LeadPayload, price: Decimal) -> tuple[Notice, ...]:
        """The notices a sale at `price` sends. Rendering them must never keep the sale from
        being recorded: a send left in flight would be delivered again once its lease ran out."""
        view = send.view
        if not (view.delivery.email_notify or view.delivery.client_email):
            return ()
        try:
            consumer = _text(send.fields.get(view.email_field)) if view.email_field else ""
            sale = Sale(replace(sent, price=price), view.client_name, view.label, consumer.strip())
            return sale_notices(view.delivery, sale)
        except Exception:
            log.exception(
                "lead %s send %s: its notices could not be rendered", send.lead_id, send.id
            )
            return ()

    async def _finish(
        self,
        account_id: int,
        lead_id: int,
        send_id: int,
        label: str,
        status: SendStatus,
        request: str,
        response: str,
        reason: str,
        elapsed_ms: float,
        *,
        price: Decimal,
        retry_in: float = 0.0,
        redirect_url: str = "",
        notices: tuple[Notice, ...] = (),
    ) -> str | None:
        """Record the attempt; the state it left the lead's job in (None: not touched)."""
        # a buyer's answer may hold NUL, which the database refuses: kept as U+FFFD
        request, response = storable(request), storable(response)
        reason, redirect_url = storable(reason), storable(redirect_url)
        entry = ""
        if status is not SendStatus.SCHEDULED:
            detail = f"{status.word} at {price}"
            if reason:
                detail += f": {reason}"
            entry = f"Send {send_id} to {label}: {detail} ({elapsed_ms:.0f} ms)"
        # one statement, shared with whatever other outcomes are waiting: the outcome, its
        # scan log entry and the job's wake-up (or its end)
        return await self._outcomes.write(
            Outcome(
                account_id=account_id,
                lead_id=lead_id,
                send_id=send_id,
                status=status,
                request=request,
                response=response[:MAX_LOGGED_RESPONSE],
                reason=reason,
                redirect_url=redirect_url,
                price=price,
                elapsed_ms=elapsed_ms,
                retry_in=retry_in,
                log=entry,
                notices=notices,
            )
        )


def _text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
