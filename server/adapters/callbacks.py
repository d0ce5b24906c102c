"""The callbacks' HTTP client: one POST to a lead source's returnurl, to an address checked
before each callback.

The host is resolved for each callback (a lookup's answer kept for 10 s) and every address
it resolves to is checked (server/adapters/addresses.py, the rules in
server/domain/addresses.py); the request then goes to one of those very addresses, so a name
that resolves elsewhere a moment later (DNS rebinding) cannot steer it. TLS still checks the
certificate against the host name. Nothing is followed: a redirect is an answer that is not
2xx like any other. The answer is read up to `ANSWER_CAP_BYTES`; connecting (resolving
included) and reading the answer each have their timeout.

Connections are the delivery transport's (http_wire: httptools parsing, the body capped as
it arrives) in a pool of the client's own, kept alive by origin and address: a receiver that
keeps connections open takes a source's callbacks on a few connections, not a TCP (and TLS)
handshake each. Only an address just checked is used, and an idle connection is closed after
`KEEPALIVE_SECONDS`, under the 5 s many servers close theirs after.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Sequence

from server.adapters.addresses import AddressRefused, Resolutions, Resolve, check, resolve
from server.adapters.delivery.http import request_head, split_url
from server.adapters.delivery.http_wire import (
    CannotConnect,
    HttpTransportError,
    Pool,
    ServerDisconnectedError,
    describe,
)
from server.domain.addresses import ACCOUNT_CALLBACKS
from server.domain.callbacks.records import ANSWER_CAP_BYTES, Answer, Outcome, answered

__all__ = ["CallbackClient", "resolve"]

# connections open at once, and how long one is kept idle for the next callback
MAX_CONNECTIONS = 256
KEEPALIVE_SECONDS = 4.0


class CallbackClient:
    """Posts callbacks; `aclose()` it at shutdown. `resolve` (a resolver used as it is) and
    `verify` (the TLS policy, as the delivery transport takes it) are for tests; the defaults
    are the system's, its answers kept a few seconds (`Resolutions`)."""

    def __init__(
        self, *, resolve: Resolve | None = None, verify: bool | ssl.SSLContext = True
    ) -> None:
        self._resolve = resolve or Resolutions()
        self._pool = Pool(
            limit=MAX_CONNECTIONS,
            expiry=KEEPALIVE_SECONDS,
            verify=verify,
            body_limit=ANSWER_CAP_BYTES,
        )

    async def aclose(self) -> None:
        """Close the connections kept open."""
        await self._pool.aclose()

    async def post(
        self,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        *,
        allow_private: bool,
        connect_seconds: float,
        read_seconds: float,
        not_allowed: str = ACCOUNT_CALLBACKS,
    ) -> Answer:
        """POST `body` to `url`; what came of it, never raised. Refused (not sent) when the
        URL is not http(s) or unusable, or an address its host resolves to may not be
        called; `not_allowed` ends the refusal of a private one (who did not allow it)."""
        started = time.perf_counter()

        def ended(outcome: Outcome, error: str) -> Answer:
            return Answer(outcome, None, error, _since(started))

        try:
            destination, target = split_url(url)
            head = request_head("POST", target, destination, tuple(headers), body)
        except (HttpTransportError, ValueError) as exc:
            return ended(Outcome.REFUSED, f"the address cannot be called: {exc}")
        origin = destination.origin
        # resolving and connecting share the connect timeout; so does each connection after
        deadline = asyncio.get_running_loop().time() + connect_seconds
        try:
            async with asyncio.timeout_at(deadline):
                addresses = await self._resolve(origin.host, origin.port)
        except TimeoutError:
            return ended(Outcome.FAILED, f"could not connect within {connect_seconds:g}s")
        except OSError as exc:
            return ended(Outcome.FAILED, f"could not resolve {origin.host}: {exc}")
        try:
            check(origin.host, addresses, allow_private, not_allowed)
        except AddressRefused as exc:
            return ended(Outcome.REFUSED, str(exc))
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    connection = await self._pool.acquire_first(origin, addresses)
            except TimeoutError:
                return ended(Outcome.FAILED, f"could not connect within {connect_seconds:g}s")
            except CannotConnect as exc:
                return ended(Outcome.FAILED, f"could not connect: {exc}")
            kept = connection.idle_since > 0  # it carried an answer before
            try:
                async with asyncio.timeout(read_seconds):
                    answer = await self._pool.exchange_on(connection, head + body)
            except TimeoutError:
                return ended(Outcome.FAILED, f"no answer within {read_seconds:g}s")
            except (ServerDisconnectedError, ConnectionError) as exc:
                if not kept:
                    return ended(Outcome.FAILED, describe(exc))
                # the receiver closed the kept connection as the callback went out: again on
                # another (the event id lets the receiver drop a copy it did take)
                deadline = asyncio.get_running_loop().time() + connect_seconds
                continue
            except (HttpTransportError, OSError) as exc:
                return ended(Outcome.FAILED, describe(exc))
            text = answer.body.decode("utf-8", errors="replace")
            return answered(answer.status, text, _since(started))


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
