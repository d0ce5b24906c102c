"""The email transport: SMTP through the standard library, run in a worker thread.

Unless the server allows deliveries to private addresses, the SMTP host (set by the account's
admin) is resolved and every address checked first, and the connection made to one of those
very addresses (server/adapters/addresses.py); STARTTLS still checks the certificate against
the host name."""

from __future__ import annotations

import asyncio
import copy
import smtplib
import socket
import ssl
import time
from concurrent.futures import Executor
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate

from server.adapters.addresses import AddressRefused, checked_blocking, connect_first
from server.domain.delivery.spec import EmailRequest, TransportResult

ACCEPTED_RCPT = (250, 251)


async def send_email(
    request: EmailRequest, executor: Executor | None = None, *, allow_private: bool = False
) -> TransportResult:
    """Send `request` over SMTP in `executor` (a worker thread of asyncio's default when None);
    a failure is reported in the result, never raised. `allow_private`: the SMTP host may be
    a private, loopback or link-local address (the server's setting)."""
    if executor is None:
        return await asyncio.to_thread(_send, request, allow_private)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor, _send, request, allow_private)


class _CheckedSMTP(smtplib.SMTP):
    """An SMTP client that connects to the addresses given (checked ones), in turn, whatever
    host it is asked for: the host name stays what STARTTLS checks the certificate against."""

    def __init__(self, addresses: list[str], timeout: float) -> None:
        self._addresses = addresses
        super().__init__(timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return connect_first(
            self._addresses,
            lambda address: socket.create_connection((address, port), timeout, self.source_address),
        )


def _send(request: EmailRequest, allow_private: bool) -> TransportResult:
    started = time.perf_counter()
    try:
        code, reply = _deliver(request, allow_private)
    except AddressRefused as exc:
        return _failed(started, None, f"address refused: {exc}", refused=True)
    except smtplib.SMTPResponseException as exc:
        return _failed(started, exc.smtp_code, _text(exc.smtp_error))
    except smtplib.SMTPRecipientsRefused as exc:
        refused = "; ".join(
            f"{address}: {code} {_text(reply)}" for address, (code, reply) in exc.recipients.items()
        )
        return _failed(started, None, f"every recipient was refused: {refused}")
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        return _failed(started, None, f"{type(exc).__name__}: {exc}")
    return TransportResult(
        status=code, body=f"{code} {reply}", elapsed_ms=(time.perf_counter() - started) * 1000
    )


def _deliver(request: EmailRequest, allow_private: bool) -> tuple[int, str]:
    """Send the message; the server's final reply. Raises smtplib's errors on failure, and
    AddressRefused for an SMTP host that may not be reached."""
    if not request.smtp_host:
        raise smtplib.SMTPException("no SMTP host is configured")
    message = copy.copy(request.message)
    if "Date" not in message:
        message["Date"] = formatdate()
    payload = message.as_bytes(policy=SMTP_POLICY)
    addresses = checked_blocking(request.smtp_host, request.smtp_port, allow_private)
    with _CheckedSMTP(addresses, request.timeout_seconds) as smtp:
        smtp.connect(request.smtp_host, request.smtp_port)
        smtp.ehlo()
        if request.starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if request.smtp_username:
            smtp.login(request.smtp_username, request.smtp_password)
        code, reply = smtp.mail(request.sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, request.sender)
        refused: dict[str, tuple[int, bytes]] = {}
        for recipient in request.recipients:
            code, reply = smtp.rcpt(recipient)
            if code not in ACCEPTED_RCPT:
                refused[recipient] = (code, reply)
        if len(refused) == len(request.recipients):
            smtp.rset()
            raise smtplib.SMTPRecipientsRefused(refused)
        code, reply = smtp.data(payload)
        if code != 250:
            smtp.rset()
            raise smtplib.SMTPDataError(code, reply)
    return code, _text(reply)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", errors="replace") if isinstance(reply, bytes) else reply


def _failed(
    started: float, status: int | None, error: str, *, refused: bool = False
) -> TransportResult:
    elapsed = (time.perf_counter() - started) * 1000
    return TransportResult(status, "", elapsed, error=error, refused=refused)
