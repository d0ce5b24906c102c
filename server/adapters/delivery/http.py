"""The HTTP transport: a pooled, kept-alive aiohttp session that sends rendered deliveries to
buyers."""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from types import TracebackType

import aiohttp
from yarl import URL

from server.domain.delivery import HttpRequest, TransportResult

MAX_BODY_BYTES = 256 * 1024
MAX_REDIRECTS = 5

# Headers aiohttp would add on its own. A request carries only its own headers plus the
# framing HTTP needs (Host, Content-Length).
_NOT_ADDED = ("Accept", "Accept-Encoding", "Content-Type", "User-Agent")
# Characters that may not appear in a request target as they stand.
_UNSAFE = re.compile(r"[\x00-\x20\x7f\"<>\\^`{|}]")


class HttpTransport:
    """Sends HTTP deliveries over one pooled, kept-alive `aiohttp.ClientSession`.

    Construct it once and `aclose()` it at shutdown, or use it as an async context manager.
    The session is opened by the first `send`, inside the running event loop, so the transport
    itself may be built anywhere. Redirects are followed only when the request asks (GET).
    """

    def __init__(
        self,
        *,
        max_connections: int = 1024,
        keepalive_expiry: float = 30.0,
        verify: bool | ssl.SSLContext = True,
    ) -> None:
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._verify = verify
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def send(self, request: HttpRequest) -> TransportResult:
        """Send `request`; a transport failure is reported in the result, never raised."""
        started = time.perf_counter()
        timeout = request.timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                status, body = await self._exchange(request)
        except TimeoutError:
            return _failed(started, f"timed out after {timeout:g}s")
        except aiohttp.ClientConnectorError as exc:
            return _failed(started, f"could not connect: {_detail(exc)}")
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            # ValueError: an address or a header that aiohttp or yarl refuses to send
            return _failed(started, _describe(exc))
        return TransportResult(status=status, body=body, elapsed_ms=_since(started))

    async def _exchange(self, request: HttpRequest) -> tuple[int, str]:
        exchange = self._open().request(
            request.method,
            _target(request.url),
            headers=request.headers,
            data=request.body or None,
            allow_redirects=request.follow_redirects,
            max_redirects=MAX_REDIRECTS + 1,  # aiohttp counts the response that overflows
        )
        async with exchange as response:
            data = await _read_capped(response.content)
            charset = response.charset
        try:
            text = data.decode(charset or "utf-8", errors="replace")
        except (LookupError, ValueError):  # an unknown or unusable charset
            text = data.decode("utf-8", errors="replace")
        return response.status, text

    def _open(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None:
            if self._closed:
                raise RuntimeError("the HTTP transport is closed")
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                limit_per_host=0,
                keepalive_timeout=self._keepalive_expiry,
                ssl=self._verify,
            )
            session = self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=_NOT_ADDED,
                timeout=aiohttp.ClientTimeout(total=None),  # `send` times the whole exchange
                trust_env=False,
            )
        return session

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> HttpTransport:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def _target(url: str) -> URL:
    """`url` as given, its escapes untouched (a buyer may sign its query string); only an
    address with spaces or other characters HTTP cannot carry is encoded by yarl."""
    if url.isascii() and _UNSAFE.search(url) is None:
        return URL(url, encoded=True)
    return URL(url)


async def _read_capped(content: aiohttp.StreamReader) -> bytes:
    """The body up to `MAX_BODY_BYTES`; the rest is never read and its connection is dropped.
    A compressed body is inflated piece by piece, so the cap holds for it too."""
    chunks: list[bytes] = []
    size = 0
    while size < MAX_BODY_BYTES:
        chunk = await content.read(MAX_BODY_BYTES - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _describe(exc: BaseException) -> str:
    """`Type: detail`, never quoting the request's address: its query may hold credentials
    that only the logged copy masks."""
    name = type(exc).__name__
    if isinstance(exc, aiohttp.TooManyRedirects):
        return f"{name}: more than {MAX_REDIRECTS} redirects"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"{name}: {exc.message or exc.status}"
    if isinstance(exc, aiohttp.InvalidURL):
        return f"{name}: {exc.description or 'not a usable address'}"
    if isinstance(exc, aiohttp.NonHttpUrlClientError):
        return f"{name}: not an http or https address"
    return f"{name}: {_detail(exc)}"


def _detail(exc: BaseException) -> str:
    return str(exc) or repr(exc.__cause__ or exc.__context__ or exc)


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _failed(started: float, error: str) -> TransportResult:
    return TransportResult(status=None, body="", elapsed_ms=_since(started), error=error)
