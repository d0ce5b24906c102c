"""HTTP/1.1 on asyncio for the delivery transport: kept-alive connections to buyers, their
answers parsed by llhttp (httptools) as they arrive, and a pool that bounds how many are open.

A lean client of our own rather than aiohttp, whose generality cost several times the CPU of
the exchange itself. TCP_NODELAY is left to the event loop: asyncio and uvloop both set it on
every TCP connection."""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
import zlib
from collections import deque
from collections.abc import Callable
from typing import NamedTuple, cast

import httptools

# `Content-Encoding`s inflated, by their zlib window: gzip, or deflate in its zlib wrapper
_WBITS = {b"gzip": zlib.MAX_WBITS | 16, b"x-gzip": zlib.MAX_WBITS | 16, b"deflate": zlib.MAX_WBITS}


class HttpTransportError(Exception):
    """An HTTP exchange with a buyer that ended without an answer."""


class CannotConnect(HttpTransportError):
    """No connection to the buyer could be opened; the message is its cause."""


class ServerDisconnectedError(HttpTransportError):
    """The buyer hung up before its answer was complete."""


class MalformedAnswerError(HttpTransportError):
    """An answer that is not HTTP/1.1 as this client reads it."""


class Origin(NamedTuple):
    """Where a connection goes; idle connections are pooled by it."""

    scheme: str
    host: str
    port: int


class Answer(NamedTuple):
    status: int
    headers: dict[bytes, bytes]  # lower-cased names; a repeated header keeps its last value
    body: bytes  # inflated, and cut at the pool's body limit


def tls_context(verify: bool | ssl.SSLContext) -> ssl.SSLContext:
    """The TLS settings of an HTTPS connection: the context given, the system's trust with
    the host name checked, or (`verify` false) no check at all."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def describe(exc: BaseException) -> str:
    """`Type: detail`."""
    detail = str(exc) or repr(exc.__cause__ or exc.__context__ or exc)
    return f"{type(exc).__name__}: {detail}"


class Connection(asyncio.Protocol):
    """One connection to a buyer, carrying one exchange at a time.

    The answer is parsed as it arrives; its body is inflated and capped there, piece by piece,
    so a compressed body cannot grow past the cap in memory. A connection the answer leaves
    unfit for another exchange (the buyer closes it, the body was cut short, anything went
    wrong) is closed at once, and `closed` tells the pool never to hand it out again."""

    def __init__(self, on_close: Callable[[Connection], None], body_limit: int) -> None:
        loop = asyncio.get_running_loop()
        self.closed = False
        self.idle_since = 0.0
        self.key: tuple[Origin, str] | None = None  # what the pool keeps it idle under
        self.lost: asyncio.Future[None] = loop.create_future()
        self._create_future = loop.create_future
        self._on_close = on_close
        self._limit = body_limit
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport
        self._answer: asyncio.Future[Answer] | None = None
        self._headers: dict[bytes, bytes] = {}
        self._headers_done = False
        self._body: list[bytes] = []
        self._size = 0
        self._wbits = 0
        self._inflater: zlib._Decompress | None = None

    def exchange(self, request: bytes) -> asyncio.Future[Answer]:
        """Write `request`, head and body; the future is its answer."""
        if self.closed:
            raise ServerDisconnectedError("Server disconnected")
        self._answer = answer = self._create_future()
        self._headers = {}
        self._headers_done = False
        self._body = []
        self._size = 0
        self._wbits = 0
        self._inflater = None
        self._transport.write(request)
        return answer

    def close(self) -> None:
        self._mark_closed()
        self._transport.close()

    def abort(self) -> None:
        self._mark_closed()
        self._transport.abort()

    def _mark_closed(self) -> None:
        if not self.closed:
            self.closed = True
            self._on_close(self)

    # --- asyncio -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._answer is None:  # bytes no request asked for: the stream is out of step
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(MalformedAnswerError("the buyer switched protocols"))
        except httptools.HttpParserError as exc:
            self._fail(MalformedAnswerError(str(exc)))

    def eof_received(self) -> None:
        self._ended(None)  # returning None lets the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended(exc)
        self.lost.set_result(None)

    # --- httptools -----------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.lower()] = value

    def on_headers_complete(self) -> None:
        self._headers_done = True
        coding = self._headers.get(b"content-encoding")
        if coding is not None:
            self._wbits = _WBITS.get(coding.strip().lower(), 0)

    def on_body(self, body: bytes) -> None:
        if self._answer is None:  # already cut at the limit; the rest is never kept
            return
        if self._wbits:
            try:
                body = self._inflate(body)
            except zlib.error as exc:
                self._fail(MalformedAnswerError(f"the compressed body does not inflate: {exc}"))
                return
        self._body.append(body)
        self._size += len(body)
        if self._size >= self._limit:
            self._finish(reusable=False)  # the rest of the body stays unread

    def on_message_complete(self) -> None:
        if self._parser.get_status_code() < 200:  # an interim answer, 100 Continue and the like
            self._headers = {}
            self._headers_done = False
        else:
            self._finish(reusable=self._parser.should_keep_alive())

    # --- ---------------------------------------------------------------------------------

    def _inflate(self, data: bytes) -> bytes:
        """`data` inflated, no more of it than the limit still has room for."""
        if self._inflater is None:
            wbits = self._wbits
            if wbits == zlib.MAX_WBITS and data[0] & 0x0F != 8:  # deflate sent raw, unwrapped
                wbits = -zlib.MAX_WBITS
            self._inflater = zlib.decompressobj(wbits)
        return self._inflater.decompress(data, self._limit - self._size)

    def _ended(self, exc: Exception | None) -> None:
        """The buyer closed the connection: that completes a body sent with neither a length
        nor chunks, and fails any other answer still being read."""
        self._mark_closed()
        headers = self._headers
        unframed = b"content-length" not in headers and b"transfer-encoding" not in headers
        if exc is None and self._headers_done and unframed:
            self._finish(reusable=False)
        else:
            self._fail(exc or ServerDisconnectedError("Server disconnected"))

    def _finish(self, *, reusable: bool) -> None:
        answer = self._answer
        if answer is None:
            return
        self._answer = None
        if not reusable:
            self.close()
        if not answer.done():  # not cancelled by a timeout
            body = b"".join(self._body)[: self._limit]
            answer.set_result(Answer(self._parser.get_status_code(), self._headers, body))

    def _fail(self, exc: Exception) -> None:
        answer = self._answer
        if answer is None:
            return
        self._answer = None
        self.close()
        if not answer.done():
            answer.set_exception(exc)


class Pool:
    """Kept-alive connections by origin, at most `limit` open at once.

    An idle connection is reused most recently used first, so the others age and are closed
    once idle for `expiry`. A send past the limit closes a connection idle to another buyer,
    or else waits for one to come free. `verify` is the TLS policy: True verifies certificates
    and host names, False nothing, and an `ssl.SSLContext` is used as given.

    A connection goes to the origin's host as the system resolves it, or to an IP address the
    caller resolved and checked (`address`); it is kept, and reused, under both, so a
    connection made to one address never carries a request meant for another."""

    def __init__(
        self, *, limit: int, expiry: float, verify: bool | ssl.SSLContext, body_limit: int
    ) -> None:
        self._limit = limit
        self._expiry = expiry
        self._verify = verify
        self._body_limit = body_limit
        self._idle: dict[tuple[Origin, str], deque[Connection]] = {}
        self._open: set[Connection] = set()
        self._connecting = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._sweep: asyncio.TimerHandle | None = None
        self._closed = False

    async def exchange(self, origin: Origin, request: bytes) -> Answer:
        """The answer to `request` from `origin`."""
        return await self.exchange_on(await self.acquire(origin), request)

    async def exchange_on(self, connection: Connection, request: bytes) -> Answer:
        """The answer to `request` on a connection `acquire` gave. It is kept for reuse only
        after a clean answer: on any failure, a timeout or a cancellation it is closed."""
        try:
            answer = await connection.exchange(request)
        except BaseException:
            connection.close()
            raise
        if self._closed:  # opened while the pool was closing
            connection.close()
        elif not connection.closed and connection.key is not None:
            self._keep(connection.key, connection)
        return answer

    async def aclose(self) -> None:
        """Close every connection, and refuse sends from now on."""
        self._closed = True
        if self._sweep is not None:
            self._sweep.cancel()
        connections = list(self._open)
        for connection in connections:
            connection.abort()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        await asyncio.gather(*(connection.lost for connection in connections))

    async def acquire(self, origin: Origin, address: str = "") -> Connection:
        """A connection to `origin` for one exchange (`exchange_on`): an idle one, else a new
        one, to `address` when given (TLS still checks the certificate against the host)."""
        key = (origin, address)
        while True:
            if self._closed:
                raise RuntimeError("the HTTP transport is closed")
            idle = self._idle.get(key)
            while idle:
                connection = idle.pop()
                if not (connection.closed or self._expired(connection, time.monotonic())):
                    return connection
                connection.close()
            if len(self._open) + self._connecting < self._limit:
                return await self._connect(key)
            if not self._close_longest_idle():
                await self._wait()

    async def acquire_first(self, origin: Origin, addresses: list[str]) -> Connection:
        """`acquire` on the first of `addresses` (checked ones) that takes a connection."""
        if not addresses:
            raise CannotConnect(f"{origin.host} resolves to no address")
        errors = []
        for address in addresses:
            try:
                return await self.acquire(origin, address)
            except CannotConnect as exc:  # refused, unreachable, a bad certificate
                errors.append(f"{address}: {exc}")
        raise CannotConnect("; ".join(errors))

    async def _connect(self, key: tuple[Origin, str]) -> Connection:
        origin, address = key
        tls = self._tls if origin.scheme == "https" else None
        self._connecting += 1
        try:
            _, connection = await asyncio.get_running_loop().create_connection(
                lambda: Connection(self._forget, self._body_limit),
                address or origin.host,
                origin.port,
                ssl=tls,
                server_hostname=origin.host if tls else None,
            )
        except BaseException as exc:
            self._wake()  # the place this connection was to take is free again
            if isinstance(exc, OSError):  # refused, unreachable, no such host, a bad certificate
                raise CannotConnect(describe(exc)) from exc
            raise
        finally:
            self._connecting -= 1
        connection.key = key
        if not connection.closed:
            self._open.add(connection)
        return connection

    @functools.cached_property
    def _tls(self) -> ssl.SSLContext:
        return tls_context(self._verify)

    def _keep(self, key: tuple[Origin, str], connection: Connection) -> None:
        connection.idle_since = time.monotonic()
        idle = self._idle.get(key)
        if idle is None:
            idle = self._idle[key] = deque()
        idle.append(connection)
        if self._sweep is None:
            self._sweep = asyncio.get_running_loop().call_later(self._expiry, self._close_expired)
        self._wake()

    def _forget(self, connection: Connection) -> None:
        """`connection` is closed: its place is free."""
        self._open.discard(connection)
        self._wake()

    def _close_longest_idle(self) -> bool:
        """Make room for a connection to another buyer; False when none is idle."""
        idle = min((idle for idle in self._idle.values() if idle), key=_longest_idle, default=None)
        if idle is None:
            return False
        idle.popleft().close()
        return True

    def _close_expired(self) -> None:
        """Close the connections idle for `expiry` or closed by their buyer, and come back
        when the next one expires, so a quiet buyer's connections do not stay open."""
        self._sweep = None
        now = time.monotonic()
        for key, idle in list(self._idle.items()):
            while idle and (idle[0].closed or self._expired(idle[0], now)):
                idle.popleft().close()
            if not idle:
                del self._idle[key]
        if self._idle:
            due = min(map(_longest_idle, self._idle.values())) + self._expiry - now
            self._sweep = asyncio.get_running_loop().call_later(due, self._close_expired)

    def _expired(self, connection: Connection, now: float) -> bool:
        return now - connection.idle_since >= self._expiry

    async def _wait(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if not waiter.cancelled():  # woken, then cancelled: the wake-up goes to the next
                self._wake()
            raise

    def _wake(self) -> None:
        """Let the longest waiting send try again: a connection came free or was closed."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


def _longest_idle(idle: deque[Connection]) -> float:
    return idle[0].idle_since
