"""The HTTP transport: pooled, kept-alive clients that send rendered deliveries to buyers."""

from __future__ import annotations

import asyncio
import importlib.util
import ssl
import sys
import time
from types import TracebackType
from urllib.parse import urlsplit

import httpx

from server.domain.delivery import HttpRequest, TransportResult

MAX_BODY_BYTES = 256 * 1024
MAX_REDIRECTS = 5
SHARD_BUSY = 4  # requests in flight on a shard before a buyer spills to the next


class HttpTransport:
    """Sends HTTP deliveries over pooled, kept-alive `httpx.AsyncClient`s.

    Construct it once and `aclose()` it at shutdown, or use it as an async context manager.
    httpcore's pool scans every connection it holds on each request, so under load several
    smaller pools (shards) cost much less CPU than one large one. A buyer's requests go to
    its own shard while that has fewer than `SHARD_BUSY` in flight, so connections are
    reused; past that they spill to the next shards. Redirects are followed for GET only.
    """

    def __init__(
        self,
        *,
        max_connections: int = 1024,
        shards: int = 32,
        keepalive_expiry: float = 30.0,
        verify: bool | ssl.SSLContext = True,
    ) -> None:
        _skip_sniffio_probe()
        if verify is True:
            verify = ssl.create_default_context()  # loaded once, shared by every shard
        per_shard = max(1, max_connections // shards)
        limits = httpx.Limits(
            max_connections=per_shard,
            max_keepalive_connections=per_shard,
            keepalive_expiry=keepalive_expiry,
        )
        self._clients = tuple(
            httpx.AsyncClient(
                limits=limits,
                follow_redirects=False,
                max_redirects=MAX_REDIRECTS,
                verify=verify,
                trust_env=False,
            )
            for _ in range(max(1, shards))
        )
        self._in_flight = [0] * len(self._clients)

    async def send(self, request: HttpRequest) -> TransportResult:
        """Send `request`; a transport failure is reported in the result, never raised."""
        started = time.perf_counter()
        timeout = request.timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                status, body = await self._exchange(request)
        except (TimeoutError, httpx.TimeoutException):
            return _failed(started, f"timed out after {timeout:g}s")
        except httpx.HTTPError as exc:
            return _failed(started, _describe_error(exc))
        except (httpx.InvalidURL, httpx.StreamError, OSError) as exc:
            return _failed(started, f"{type(exc).__name__}: {exc}")
        return TransportResult(status=status, body=body, elapsed_ms=_since(started))

    def _shard(self, url: str) -> int:
        """The first shard, from the host's own, with room; else the least busy."""
        count = len(self._clients)
        start = hash(urlsplit(url).netloc) % count
        best = start
        for step in range(count):
            index = (start + step) % count
            if self._in_flight[index] < SHARD_BUSY:
                return index
            if self._in_flight[index] < self._in_flight[best]:
                best = index
        return best

    async def _exchange(self, request: HttpRequest) -> tuple[int, str]:
        shard = self._shard(request.url)
        self._in_flight[shard] += 1
        try:
            return await self._exchange_on(self._clients[shard], request)
        finally:
            self._in_flight[shard] -= 1

    async def _exchange_on(
        self, client: httpx.AsyncClient, request: HttpRequest
    ) -> tuple[int, str]:
        stream = client.stream(
            request.method,
            request.url,
            headers=list(request.headers),
            content=request.body or None,
            timeout=request.timeout_seconds,
            follow_redirects=request.follow_redirects,
        )
        async with stream as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= MAX_BODY_BYTES:
                    break
            data = b"".join(chunks)[:MAX_BODY_BYTES]
            encoding = response.encoding or "utf-8"
        try:
            text = data.decode(encoding, errors="replace")
        except LookupError:
            text = data.decode("utf-8", errors="replace")
        return response.status_code, text

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

    async def __aenter__(self) -> HttpTransport:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def _skip_sniffio_probe() -> None:
    """httpcore tries `import sniffio` each time it sets up a lock; without sniffio installed
    every failed import searches sys.path, costing more than the request itself. Recording the
    absence once turns the retry into a dictionary lookup (under asyncio the answer is the
    same)."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


def _describe_error(exc: httpx.HTTPError) -> str:
    detail = str(exc) or repr(exc.__cause__ or exc.__context__ or "")
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect: {detail}"
    return f"{type(exc).__name__}: {detail}"


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _failed(started: float, error: str) -> TransportResult:
    return TransportResult(status=None, body="", elapsed_ms=_since(started), error=error)
