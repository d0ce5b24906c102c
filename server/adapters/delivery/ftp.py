"""The FTP transport: uploads through the standard library, run in a worker thread."""

from __future__ import annotations

import asyncio
import contextlib
import ftplib
import io
import time
from concurrent.futures import Executor

from server.domain.delivery.spec import FtpUpload, TransportResult


async def upload(request: FtpUpload, executor: Executor | None = None) -> TransportResult:
    """Store `request`'s file in passive mode, in `executor` (a worker thread of asyncio's
    default when None); a failure is reported in the result, never raised."""
    if executor is None:
        return await asyncio.to_thread(_upload, request)
    return await asyncio.get_running_loop().run_in_executor(executor, _upload, request)


def _upload(request: FtpUpload) -> TransportResult:
    started = time.perf_counter()
    try:
        reply = _store(request)
    except ftplib.Error as exc:
        text = str(exc)
        return _failed(started, _code(text), f"FTP error: {text}")
    except (OSError, EOFError) as exc:
        return _failed(started, None, f"{type(exc).__name__}: {exc}")
    elapsed = (time.perf_counter() - started) * 1000
    return TransportResult(status=_code(reply), body=reply, elapsed_ms=elapsed)


def _store(request: FtpUpload) -> str:
    """Log in, change to the directory and STOR the file; the server's reply to the transfer."""
    with ftplib.FTP(timeout=request.timeout_seconds) as ftp:
        ftp.connect(request.host, request.port)
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


def _failed(started: float, status: int | None, error: str) -> TransportResult:
    elapsed = (time.perf_counter() - started) * 1000
    return TransportResult(status=status, body="", elapsed_ms=elapsed, error=error)
