"""Sending notices: the emails sales queue beside their deliveries (a delivery method's
EmailNotify and ClientEmail, server/domain/delivery/notices.py), on a leased-work runner of
their own and outside any transaction.

A sale's notices are written by the statement that records the sale
(server/storage/send_outcomes.py): they are as durable as the sale, and sending them never
holds it up. Here each is leased, sent over its delivery method's SMTP settings as they stand,
and finished: sent, or tried again by the backoff and failed after its attempts, each attempt
written to the lead's scan log. A notice sent whose outcome was lost (its process died) goes
again once its lease runs out, with the same Message-ID and Idempotency-Key.
"""

from __future__ import annotations

import asyncio

from server.adapters.delivery import Transports
from server.domain.buyers.specs import delivery_spec
from server.domain.delivery.notices import NoticeState, notice_email
from server.domain.delivery.render import storable
from server.services.runner import Backoff, LeasedRunner, RunnerSettings
from server.storage import notices as notice_store
from server.storage.database import Pool, statements, transaction


class Notices:
    """Sends the notices due, this process's and any other's, on its own runner."""

    def __init__(
        self,
        pool: Pool,
        transports: Transports,
        backoff: Backoff,
        lease_seconds: float,
        settings: RunnerSettings,
    ) -> None:
        self._pool = pool
        self._transports = transports
        self._backoff = backoff
        self._lease_seconds = lease_seconds
        self.runner = LeasedRunner(lambda room: self._poll(room), settings)

    async def run(self, stop: asyncio.Event) -> None:
        """Lease and send due notices until `stop` is set; then finish those under way."""
        await self.runner.run(stop)

    def wake(self) -> None:
        """A sale with notices was committed in this process: look for them now."""
        self.runner.wake()

    async def idle(self) -> None:
        """Return once every notice due now is sent or waits for its next attempt."""
        await self.runner.idle()

    async def _poll(self, room: int) -> int:
        async with statements(self._pool) as conn:
            due = await notice_store.claim_due(conn, self._lease_seconds, room)
        for account_id, notice_id in due:
            self.runner.start(self.send(account_id, notice_id))
        return len(due)

    async def send(self, account_id: int, notice_id: int) -> None:
        """One attempt at a notice this process leased, and its outcome recorded."""
        async with transaction(self._pool) as conn:
            leased = await notice_store.leased(conn, account_id, notice_id)
        if leased is None:
            return
        notice = leased.notice
        request = notice_email(notice, leased.id, delivery_spec(leased.method))
        result = await self._transports.send(request)
        about = f"{notice.kind.label} for send {leased.send_id} to {', '.join(notice.recipients)}"
        attempts = leased.attempts + 1
        error = storable(f"{result.status} {result.error}" if result.status else result.error)
        # an address refused stays refused: not retried
        retries = result.failed and not result.refused
        retry_in = self._backoff.delay(attempts) if retries else None
        if not result.failed:
            state, log = NoticeState.SENT, f"{about}: sent ({storable(result.body)})"
        elif result.refused:
            state, log = NoticeState.FAILED, f"{about}: not sent: {error}"
        elif retry_in is not None:
            state = NoticeState.PENDING
            log = f"{about}: attempt {attempts} failed: {error}; retry in {retry_in:g} s"
        else:
            state, log = NoticeState.FAILED, f"{about}: failed after {attempts} attempts: {error}"
        async with transaction(self._pool) as conn:
            await notice_store.finish(
                conn, account_id, notice_id, state, error=error, retry_in=retry_in or 0.0, log=log
            )
