"""The HTTP transport: one pooled client that sends rendered HTTP deliveries to buyers."""

from __future__ import annotations

import asyncio
import time
from types import TracebackType

import httpx

from server.domain.delivery import HttpRequest, TransportResult

MAX_BODY_BYTES = 256 * 1024
MAX_REDIRECTS = 5


class HttpTransport:
    """Sends HTTP deliveries over one shared, pooled `httpx.AsyncClient`.

    Construct it once (inside the running event loop's lifetime) and `aclose()` it at
    shutdown, or use it as an async context manager. Redirects are followed for GET only.
    """

    def __init__(
        self,
        *,
        max_connections: int = 512,
        max_keepalive_connections: int = 128,
        keepalive_expiry: float = 30.0,
        verify: bool = True,
    ) -> None:
        self._client = httpx.AsyncClient(
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_keepalive_connections,
                keepalive_expiry=keepalive_expiry,
            ),
            follow_redirects=False,
            max_redirects=MAX_REDIRECTS,
            verify=verify,
            trust_env=False,
        )

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
        except OSError as exc:
            return _failed(started, f"{type(exc).__name__}: {exc}")
        return TransportResult(status=status, body=body, elapsed_ms=_since(started))

    async def _exchange(self, request: HttpRequest) -> tuple[int, str]:
        stream = self._client.stream(
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
        await self._client.aclose()

    async def __aenter__(self) -> HttpTransport:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def _describe_error(exc: httpx.HTTPError) -> str:
    detail = str(exc) or repr(exc.__cause__ or exc.__context__ or "")
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect: {detail}"
    return f"{type(exc).__name__}: {detail}"


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _failed(started: float, error: str) -> TransportResult:
    return TransportResult(status=None, body="", elapsed_ms=_since(started), error=error)
