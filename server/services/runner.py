"""The leased-work runner: one loop for every kind of durable background work.

Durable work lives in the database, due at a time and leased to one process at a time, so
that it survives a crash: a lease that runs out hands the work to whichever process polls
next. This runner is the in-process half. It polls for due work while there is room, runs
each piece as a task (at most `concurrency` at once), takes work handed over by this very
process first (it just committed it: no need to find it again), wakes early when told, and
on stop finishes what runs. `Backoff` is the retry schedule of work that failed.

The distribution engine runs its jobs and sends on it (server/services/distribution/); the
poll function says what a kind of work is and how it is leased.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

Work = Coroutine[Any, Any, None]
# Leases up to `room` pieces of due work, starts each with `LeasedRunner.start`, and returns
# how many it found.
Poll = Callable[[int], Awaitable[int]]


@dataclass(frozen=True)
class RunnerSettings:
    batch: int = 32  # pieces of work leased per poll
    concurrency: int = 64  # pieces of work run at once
    handed_max: int = 10_000  # handed-over work waiting in memory for room; past it, the poll
    poll_seconds: float = 0.2  # how often an idle runner looks for work from other processes


@dataclass(frozen=True)
class Backoff:
    """When to try failed work again: `base_seconds * 2^(attempt-1)`, each delay spread by up
    to `jitter` (a fraction) either way, until `max_attempts` attempts were made."""

    base_seconds: float = 2.0
    max_attempts: int = 5
    jitter: float = 0.0

    def delay(self, attempts: int) -> float | None:
        """Seconds to wait after `attempts` failed attempts; None: give up."""
        if attempts >= self.max_attempts:
            return None
        seconds: float = self.base_seconds * 2.0 ** (attempts - 1)
        if self.jitter:
            seconds *= 1 + random.uniform(-self.jitter, self.jitter)
        return seconds


class LeasedRunner:
    """Runs leased work polled from the database and work handed over in this process."""

    def __init__(self, poll: Poll, settings: RunnerSettings | None = None) -> None:
        self._poll = poll
        self._settings = settings or RunnerSettings()
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._handed: deque[Callable[[], Work]] = deque()
        self._idle_waiters: list[asyncio.Future[None]] = []

    def wake(self) -> None:
        """New work was committed in this process: look for it now rather than at the next poll."""
        self._wake.set()

    def start(self, work: Work) -> asyncio.Task[None]:
        """Run a piece of work now, whatever the room: it already holds its lease. Its task,
        for a caller that waits on it; a failure is logged, not raised."""

        async def guarded() -> None:
            try:
                await work
            except Exception:
                log.exception("leased work failed; its lease will run out and it will be retried")

        task = asyncio.create_task(guarded())
        self._running.add(task)
        task.add_done_callback(self._finished)
        return task

    def hand(self, work: Callable[[], Work]) -> bool:
        """Work this process just committed: run it now while there is room and nothing waits
        before it; else keep it in memory, in order, for room. Waiting here costs the
        database nothing, where finding it again would cost a poll per freed slot. False when
        memory is full too: the work is in the database, for a poll to find."""
        if len(self._running) < self._settings.concurrency and not self._handed:
            self.start(work())
            return True
        self.wake()
        if len(self._handed) < self._settings.handed_max:
            self._handed.append(work)
            return True
        return False

    async def idle(self) -> None:
        """Return once a poll made after this call found no due work, with nothing running or
        waiting in memory: all the work due now is done (tests wait on it)."""
        waiter = asyncio.get_running_loop().create_future()
        self._idle_waiters.append(waiter)
        self.wake()
        await waiter

    async def run(self, stop: asyncio.Event) -> None:
        """Poll and run work until `stop` is set; then finish what runs. Handed-over work fills
        the room, but for a poll every poll_seconds: scheduled work, retries and other
        processes' work are not held back behind it."""
        loop = asyncio.get_running_loop()
        settings = self._settings
        polled_at = -math.inf
        try:
            while not stop.is_set():
                room = min(settings.batch, settings.concurrency - len(self._running))
                if room > 0 and self._handed and loop.time() - polled_at < settings.poll_seconds:
                    while room > 0 and self._handed:
                        self.start(self._handed.popleft()())
                        room -= 1
                if room <= 0:
                    await asyncio.wait(
                        self._running,
                        timeout=settings.poll_seconds,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    continue
                polled_at = loop.time()
                waiting, self._idle_waiters = self._idle_waiters, []
                try:
                    found = await self._poll(room)
                except Exception:
                    log.exception("polling for leased work failed; retrying")
                    found = 0
                if found or self._handed or self._running:
                    self._idle_waiters[:0] = waiting  # not idle yet: ask again next poll
                else:
                    _resolve(waiting)
                if found or self._handed:
                    continue
                self._wake.clear()
                waits = [
                    asyncio.ensure_future(self._wake.wait()),
                    asyncio.ensure_future(stop.wait()),
                ]
                _, pending = await asyncio.wait(
                    waits, timeout=settings.poll_seconds, return_when=asyncio.FIRST_COMPLETED
                )
                for waiter in pending:
                    waiter.cancel()
            if self._running:
                await asyncio.gather(*self._running, return_exceptions=True)
        finally:
            _resolve(self._idle_waiters)
            self._idle_waiters = []

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._idle_waiters and not self._running:
            self.wake()  # someone waits for idleness: poll again now, not at the next tick


def _resolve(waiters: list[asyncio.Future[None]]) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)
