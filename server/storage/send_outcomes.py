"""Writing delivery outcomes in groups: one transaction for every outcome that arrives while
the previous group is being written (group commit).

A lead sold three times finishes three sends within milliseconds of each other; written one
transaction each, they queue on the lead's job row and pay a WAL flush each. The writer sends
whatever is waiting as one `finish_sends` statement, so under load a transaction carries many
outcomes, and when idle an outcome is written at once. Each caller still waits until its own
outcome is committed, so nothing is reported done before it is durable, and learns what
became of its lead's job: woken for its next step, or done. A sale's charge to its buyer's
ledger is part of the same statement (docs/billing.md).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from server.domain.delivery.notices import Notice
from server.errors import RolledBack
from server.storage.database import Pool, run_alone
from server.storage.queries import q

log = logging.getLogger(__name__)

MAX_GROUP = 256  # outcomes per statement
ATTEMPTS = 3  # a group PostgreSQL rolled back to break a lock cycle is written again


@dataclass(frozen=True)
class Outcome:
    """A delivery attempt's outcome for one send; `log` is its scan log entry, empty for an
    attempt that is not final (a retry is scheduled)."""

    account_id: int
    lead_id: int
    send_id: int
    status: int
    request: str
    response: str
    reason: str
    redirect_url: str
    price: Decimal
    elapsed_ms: float
    retry_in: float
    log: str
    notices: tuple[Notice, ...] = ()  # queued with a sale (nothing for any other outcome)


class OutcomeWriter:
    """Writes outcomes handed to `write` in groups, one group at a time."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._waiting: list[tuple[Outcome, asyncio.Future[str | None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def write(self, outcome: Outcome) -> str | None:
        """Record `outcome`; returns once it is committed (raises if writing it failed), with
        the state its lead's job was left in ('pending' or 'done'), or None when the job was
        not touched (a retry was scheduled, or the job was done already)."""
        done: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((outcome, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        return await asyncio.shield(done)

    async def _drain(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
                try:
                    jobs = await self._write_group([o for o, _ in group])
                except Exception as exc:  # each caller gets the failure of its own outcome
                    for _, done in group:
                        if not done.done():
                            done.set_exception(exc)
                else:
                    for outcome, done in group:
                        if not done.done():
                            done.set_result(jobs.get((outcome.account_id, outcome.lead_id)))
        finally:
            self._writer = None

    async def _write_group(self, group: list[Outcome]) -> dict[tuple[int, int], str]:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                rows = await run_alone(
                    self._pool, q("finish_sends"), {"outcomes": Jsonb(_rows(group))}
                )
                return {(r["account_id"], r["lead_id"]): r["state"] for r in rows}
            except RolledBack:
                if attempt == ATTEMPTS:
                    raise
                log.info("%d outcomes rolled back by a conflict; writing them again", len(group))
        return {}


def _rows(group: list[Outcome]) -> list[dict[str, Any]]:
    """The outcomes as one JSON array, which psycopg dumps several times faster than an
    array per column."""
    return [_row(o) for o in group]


def _row(o: Outcome) -> dict[str, Any]:
    row: dict[str, Any] = {
        "account_id": o.account_id,
        "id": o.send_id,
        "status": o.status,
        "request": o.request,
        "response": o.response,
        "reason": o.reason,
        "redirect_url": o.redirect_url,
        "price": str(o.price),
        "elapsed_ms": o.elapsed_ms,
        "retry_in": o.retry_in,
        "log": o.log,
    }
    if o.notices:
        row["notices"] = [
            {
                "kind": str(n.kind),
                "sender": n.sender,
                "recipients": ", ".join(n.recipients),
                "subject": n.subject,
                "body": n.body,
            }
            for n in o.notices
        ]
    return row
