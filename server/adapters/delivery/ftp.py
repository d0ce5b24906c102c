"""The FTP transport: uploads through the standard library, run in a worker thread.

Unless the server allows deliveries to private addresses, the FTP host (set by the account's
admin) is resolved and every address checked first, and the connection made to one of those
very addresses (server/adapters/addresses.py); passive data connections go to the address
the control connection reached, not to one the server names."""

from __future__ import annotations

import asyncio
import contextlib
import ftplib
import io
import time
from concurrent.futures import Executor

from server.adapters.addresses import AddressRefused, checked_blocking, connect_first
from server.domain.delivery.spec import FtpUpload, TransportResult


async def upload(
    request: FtpUpload, executor: Executor | None = None, *, allow_private: bool = False
) -> TransportResult:
    """Store `request`'s file in passive mode, in `executor` (a worker thread of asyncio's
    default when None); a failure is reported in the result, never raised. `allow_private`:
    the FTP host may be a private, loopback or link-local address (the server's setting)."""
    if executor is None:
        return await asyncio.to_thread(_upload, request, allow_private)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor, _upload, request, allow_private)


def _upload(request: FtpUpload, allow_private: bool) -> TransportResult:
    started = time.perf_counter()
    try:
        reply = _store(request, allow_private)
    except AddressRefused as exc:
        return _failed(started, None, f"address refused: {exc}", refused=True)
    except ftplib.Error as exc:
        text = str(exc)
        return _failed(started, _code(text), f"FTP error: {text}")
    except (OSError, EOFError) as exc:
        return _failed(started, None, f"{type(exc).__name__}: {exc}")
    elapsed = (time.perf_counter() - started) * 1000
    return TransportResult(status=_code(reply), body=reply, elapsed_ms=elapsed)


def _store(request: FtpUpload, allow_private: bool) -> str:
    """Log in, change to the directory and STOR the file; the server's reply to the transfer."""
    addresses = checked_blocking(request.host, request.port, allow_private)
    with ftplib.FTP(timeout=request.timeout_seconds) as ftp:
        connect_first(addresses, lambda address: ftp.connect(address, request.port))
        ftp.login(request.username, request.password)
        ftp.set_pasv(True)
        if request.directory:
            ftp.cwd(request.directory)
        reply = ftp.storbinary(f"STOR {request.filename}", io.BytesIO(request.content))
        with contextlib.suppress(ftplib.Error, OSError, EOFError):
            ftp.quit()  # the file is stored; a failed goodbye changes nothing
    return reply


def _code(reply: str) -> int | None:
    head = reply[:3]
    return int(head) if head.isascii() and head.isdigit() else None


def _failed(
    started: float, status: int | None, error: str, *, refused: bool = False
) -> TransportResult:
    elapsed = (time.perf_counter() - started) * 1000
    return TransportResult(status, "", elapsed, error=error, refused=refused)
