"""Pinging buyers for bids, all at once (`ping_all`), over the deliveries' HTTP client (its
pool and TLS context).

Each ping waits for its own timeout, cut to the auction's deadline; one that answers later
is not waited for: its answer, when it comes (within `LATE_SECONDS`), is logged and ignored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from server.adapters.delivery.http import HttpTransport
from server.domain.delivery.ping import read_bid, read_offer
from server.domain.delivery.spec import HttpRequest, PingSpec, TransportResult
from server.domain.sales.auction import Heard, PingResult, ping_timeout_ms

log = logging.getLogger(__name__)

LATE_SECONDS = 5.0  # how long a ping past its timeout is kept open, so a late answer is seen


@dataclass(frozen=True)
class PingCall:
    """One buyer's ping: the delivery account it is for, the request and how to read it."""

    account_id: int
    label: str
    request: HttpRequest
    ping: PingSpec


class Pinger:
    """Sends pings and keeps the late ones until they end (so they are logged, not lost)."""

    def __init__(self, http: HttpTransport) -> None:
        self._http = http
        self._late: set[asyncio.Task[TransportResult]] = set()

    async def ping_all(
        self, lead_id: int, calls: Sequence[PingCall], deadline_ms: int
    ) -> dict[int, PingResult]:
        """Every call's result by account id, within `deadline_ms` of now."""
        started = time.perf_counter()
        results = await asyncio.gather(
            *(self._one(lead_id, call, deadline_ms, started) for call in calls)
        )
        return {call.account_id: result for call, result in zip(calls, results, strict=True)}

    async def _one(
        self, lead_id: int, call: PingCall, deadline_ms: int, started: float
    ) -> PingResult:
        waited = (time.perf_counter() - started) * 1000
        timeout_ms = ping_timeout_ms(call.ping.timeout_ms, deadline_ms, waited)
        shown = round(timeout_ms)
        request = replace(call.request, timeout_seconds=timeout_ms / 1000 + LATE_SECONDS)
        task = asyncio.ensure_future(self._http.send(request))
        try:
            result = await asyncio.wait_for(asyncio.shield(task), timeout_ms / 1000)
        except TimeoutError:
            self._late.add(task)
            task.add_done_callback(lambda done: self._ended_late(lead_id, call, shown, done))
            return PingResult(Heard.TIMED_OUT, timeout_ms=shown)
        if result.failed:
            return PingResult(
                Heard.FAILED, elapsed_ms=result.elapsed_ms, timeout_ms=shown, error=result.error
            )
        bid = read_bid(call.ping, result.status, result.body)
        offer = read_offer(call.ping, result.body) if bid.accepted else None
        if offer is not None and offer.reason:
            log.info("lead %s: %s answered no offer: %s", lead_id, call.label, offer.reason)
        found = offer.offer if offer is not None else None
        return PingResult(Heard.ANSWERED, bid, result.elapsed_ms, shown, offer=found)

    def _ended_late(
        self, lead_id: int, call: PingCall, timeout_ms: int, task: asyncio.Task[TransportResult]
    ) -> None:
        self._late.discard(task)
        if task.cancelled():
            return
        result = task.result()
        if result.failed:
            what = f"failed after {result.elapsed_ms:.0f} ms: {result.error}"
        else:
            bid = read_bid(call.ping, result.status, result.body)
            offer = f"bid {bid.price}" if bid.accepted else "no bid"
            what = f"answered after {result.elapsed_ms:.0f} ms ({offer})"
        log.info(
            "lead %s: late ping answer ignored: %s %s, past its %s ms",
            lead_id,
            call.label,
            what,
            timeout_ms,
        )

    async def aclose(self) -> None:
        """Stop waiting for late answers."""
        for task in list(self._late):
            task.cancel()
        await asyncio.gather(*self._late, return_exceptions=True)
