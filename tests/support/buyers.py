"""Buyers' lead endpoints on loopback for tests: each records what it receives and answers as
the test tells it (text, HTTP status, delay)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass
class Behaviour:
    answer: str = "accepted"
    status: int = 200
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    buyer: str
    method: str
    headers: dict[str, str]
    query: str
    body: bytes


@dataclass
class BuyerServer:
    url: str = ""
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def address(self, buyer: str) -> str:
        return f"{self.url}/buy/{buyer}"

    def behave(self, buyer: str, **settings: object) -> None:
        self.behaviours[buyer] = Behaviour(**settings)  # type: ignore[arg-type]

    def of(self, buyer: str) -> list[Received]:
        return [r for r in self.received if r.buyer == buyer]

    async def _buy(self, request: Request) -> Response:
        name = request.path_params["buyer"]
        body = await request.body()
        self.received.append(
            Received(name, request.method, dict(request.headers), request.url.query, body)
        )
        behaviour = self.behaviours.get(name, Behaviour())
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        return Response(behaviour.answer, behaviour.status, media_type="text/plain")


@asynccontextmanager
async def buyer_server() -> AsyncIterator[BuyerServer]:
    """A buyer server on a free loopback port, in the running event loop."""
    server = BuyerServer()
    app = Starlette(routes=[Route("/buy/{buyer}", server._buy, methods=["GET", "POST"])])
    listener = socket.create_server(("127.0.0.1", 0))
    server.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    http = uvicorn.Server(config)
    config.load()
    http.lifespan = config.lifespan_class(config)
    await http.startup(sockets=[listener])
    task = asyncio.create_task(http.main_loop())
    try:
        yield server
    finally:
        http.should_exit = True
        await task
        await http.shutdown(sockets=[listener])
