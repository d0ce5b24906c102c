"""Delivery transports: HTTP (pooled httpx), email (SMTP) and FTP, behind one dispatcher."""

from __future__ import annotations

from types import TracebackType

from server.adapters.delivery.email import send_email
from server.adapters.delivery.ftp import upload
from server.adapters.delivery.http import HttpTransport
from server.domain.delivery import EmailRequest, HttpRequest, Rendered, TransportResult

__all__ = ["HttpTransport", "TransportResult", "Transports", "send_email", "transmit", "upload"]


async def transmit(rendered: Rendered, http: HttpTransport) -> TransportResult:
    """Send a rendered delivery by the transport its kind needs."""
    if isinstance(rendered, HttpRequest):
        return await http.send(rendered)
    if isinstance(rendered, EmailRequest):
        return await send_email(rendered)
    return await upload(rendered)


class Transports:
    """Every transport, holding the shared HTTP client; `aclose()` it (or `async with`)."""

    def __init__(self, http: HttpTransport | None = None) -> None:
        self.http = http if http is not None else HttpTransport()

    async def send(self, rendered: Rendered) -> TransportResult:
        return await transmit(rendered, self.http)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Transports:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
