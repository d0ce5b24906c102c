"""Sweeps: deleting or emptying what has outlived its keep (site visits past their retention,
posts naming no lead source past their count or age, post log bodies past their account's
days), a batch per transaction, now and every so often.

Nothing to lose in a crash: what is due is found again from the data; processes sweeping at
once skip each other's rows (each batch's statement takes them `FOR UPDATE SKIP LOCKED`, or,
for bodies, locks the account's row first).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from server.storage.database import Connection, Pool, transaction

log = logging.getLogger(__name__)

# Deletes (or empties) up to a batch of rows on the connection; how many it took.
Batch = Callable[[Connection], Awaitable[int]]


async def sweep(pool: Pool, batch: Batch) -> int:
    """Run `batch` in a transaction of its own until one takes nothing; how many it took."""
    total = 0
    while True:
        async with transaction(pool) as conn:
            gone = await batch(conn)
        total += gone
        if gone == 0:
            return total


async def sweep_every(
    seconds: float, sweeping: Callable[[], Awaitable[int]], what: str, stop: asyncio.Event
) -> None:
    """Run `sweeping` now and every `seconds` until `stop` is set; a sweep that fails is
    logged and tried again at the next round."""
    while not stop.is_set():
        try:
            swept = await sweeping()
            if swept:
                log.info("%s swept: %d rows", what, swept)
        except Exception:
            log.exception("sweeping %s failed; trying again at the next round", what)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
