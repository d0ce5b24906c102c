"""For tests of callbacks: a lead source's receiver on loopback (a bare HTTP/1.1 server that
records every request and answers from a script of status, body, headers and delay, then
200), fast sender settings, waiting for a callback to settle, and the verification recipe
of docs/receiver.md."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.domain.callbacks.records import CallbackReport, CallbackState, RetrySchedule
from server.services.callbacks import CallbackReports, Callbacks, CallbackSettings

# Retries within moments: a test waits on a retry, never on a real backoff.
FAST = CallbackSettings(
    lease_seconds=1.0,
    connect_seconds=1.0,
    read_seconds=0.5,
    schedule=RetrySchedule(first_seconds=0.05, max_seconds=0.2, jitter=0.2),
    poll_seconds=0.02,
)
FINAL = {CallbackState.DELIVERED, CallbackState.FAILED, CallbackState.REFUSED}


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0  # before answering: longer than the read timeout is a timeout
    drop: bool = False  # close the connection instead of answering


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


@dataclass
class Receiver:
    port: int = 0
    script: list[Reply] = field(default_factory=list)  # answers in order, then 200 "ok"
    received: list[Request] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    handlers: set[asyncio.Task[None]] = field(default_factory=set)
    keep_alive: bool = False  # answer without closing, and read the next request
    connections: int = 0  # accepted so far

    def url(self, path: str = "/callback", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        task.add_done_callback(self.handlers.discard)
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                first, *lines = head.decode("latin-1").split("\r\n")
                method, target, _ = first.split(" ", 2)
                headers = {}
                for line in lines:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.received.append(Request(method, target, headers, body))
                self.arrived.set()
                reply = self.script.pop(0) if self.script else Reply()
                if reply.drop:
                    break
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                extra = "".join(f"{name}: {value}\r\n" for name, value in reply.headers)
                closing = "" if self.keep_alive else "Connection: close\r\n"
                writer.write(
                    f"HTTP/1.1 {reply.status} Reply\r\nContent-Length: {len(reply.body)}\r\n"
                    f"{extra}{closing}\r\n".encode()
                    + reply.body
                )
                await writer.drain()
                if not self.keep_alive:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def drop(self) -> None:
        """Close every connection open (as a server closes idle kept-alive ones)."""
        for handler in list(self.handlers):
            handler.cancel()
        await asyncio.gather(*self.handlers, return_exceptions=True)


@asynccontextmanager
async def callback_receiver(tls: ssl.SSLContext | None = None) -> AsyncIterator[Receiver]:
    """A receiver on a free loopback port, in the running event loop; behind TLS with `tls`."""
    receiver = Receiver()
    server = await asyncio.start_server(receiver._serve, "127.0.0.1", 0, ssl=tls)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()
        await receiver.drop()
        await server.wait_closed()


def documented_verify() -> Callable[..., bool]:
    """The verification recipe of docs/receiver.md ("Verifying a callback"), run as written."""
    text = (Path(__file__).parents[2] / "docs" / "receiver.md").read_text()
    recipe = text.split("### Verifying a callback", 1)[1].split("```python\n", 1)[1]
    namespace: dict[str, Any] = {}
    exec(recipe.split("```", 1)[0], namespace)
    verify: Callable[..., bool] = namespace["verify"]
    return verify


async def report(pool: Any, account: int, post_id: str) -> CallbackReport:
    [found] = await CallbackReports(pool).for_post(account, post_id)
    return found


async def settled(pool: Any, sender: Callbacks, account: int, post_id: str) -> CallbackReport:
    """The callback once delivered, failed or refused (its retries come within moments)."""
    for _ in range(500):
        sender.wake()
        await sender.idle()
        found = await report(pool, account, post_id)
        if found.state in FINAL:
            return found
        await asyncio.sleep(0.01)
    raise AssertionError("the callback is still due")
