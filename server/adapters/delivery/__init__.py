"""Delivery transports: HTTP (pooled, kept-alive HTTP/1.1), email (SMTP) and FTP, behind one
dispatcher."""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor, ThreadPoolExecutor
from types import TracebackType

from server.adapters.delivery.email import send_email
from server.adapters.delivery.ftp import upload
from server.adapters.delivery.http import HttpTransport
from server.domain.delivery.spec import EmailRequest, HttpRequest, Rendered, TransportResult

__all__ = ["HttpTransport", "TransportResult", "Transports", "send_email", "transmit", "upload"]

BLOCKING_WORKERS = 16


async def transmit(
    rendered: Rendered,
    http: HttpTransport,
    executor: Executor | None = None,
    *,
    allow_private: bool = False,
) -> TransportResult:
    """Send a rendered delivery by the transport its kind needs; SMTP and FTP run in
    `executor` (asyncio's default when None). `allow_private`: SMTP and FTP hosts may be
    private addresses (the HTTP transport has its own setting)."""
    if isinstance(rendered, HttpRequest):
        return await http.send(rendered)
    if isinstance(rendered, EmailRequest):
        return await send_email(rendered, executor, allow_private=allow_private)
    return await upload(rendered, executor, allow_private=allow_private)


class Transports:
    """Every transport: the shared HTTP client, and worker threads of their own for SMTP and
    FTP, so a slow mail or file server never holds up asyncio's default executor (which also
    resolves host names). `aclose()` it at shutdown, or use it as an async context manager.

    `allow_private`: deliveries may go to private, loopback and link-local addresses (the
    server's setting, `Settings.private_deliveries`); otherwise every host is resolved and
    checked first (server/adapters/addresses.py). `http` is for tests; it is built with the
    same setting when None."""

    def __init__(
        self,
        http: HttpTransport | None = None,
        blocking_workers: int = BLOCKING_WORKERS,
        *,
        allow_private: bool = False,
    ) -> None:
        self.http = http if http is not None else HttpTransport(allow_private=allow_private)
        self._allow_private = allow_private
        self._executor = ThreadPoolExecutor(blocking_workers, thread_name_prefix="delivery")

    async def send(self, rendered: Rendered) -> TransportResult:
        allowed = self._allow_private
        return await transmit(rendered, self.http, self._executor, allow_private=allowed)

    async def aclose(self) -> None:
        await self.http.aclose()
        await asyncio.to_thread(self._executor.shutdown, wait=True)

    async def __aenter__(self) -> Transports:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
