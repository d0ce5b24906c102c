"""The receiver's HTTP/1.1 connections: uvicorn's httptools protocol, with Nagle off and a cap
on the request head.

httptools (llhttp, in C) parses a post in a fraction of h11's time: under
bench/distribution.py h11 took about 6% of serve's CPU. Unlike h11, which refuses a head
over 16 KiB, it keeps whatever head it is sent, so the cap is added here.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# The request line and headers together; a body has its own cap (ReceiverSettings.max_body).
MAX_HEAD_BYTES = 64 * 1024

_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s"
)


class ReceiverProtocol(HttpToolsProtocol):
    """One receiver connection.

    Nagle is off: the head and body of a response are written apart, and a keep-alive
    client's delayed ACK would otherwise hold every response back about 40 ms.

    The head is capped: bytes that arrive while a request's head is still incomplete are
    counted, and past `MAX_HEAD_BYTES` the connection gets 431 and is closed. A chunk that
    completes the head is not counted, so a body arriving with its head never is.
    """

    _head_bytes = 0
    _in_head = True

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        raw = transport.get_extra_info("socket")
        if raw is not None and raw.family in (socket.AF_INET, socket.AF_INET6):
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._in_head or self.transport.is_closing():
            return
        self._head_bytes += len(data)
        if self._head_bytes > MAX_HEAD_BYTES:
            message = f"The request's head is over {MAX_HEAD_BYTES} bytes".encode()
            self.transport.write(_TOO_LARGE % (len(message), message))
            self.transport.close()
