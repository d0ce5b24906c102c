"""Wires the process together from one Settings: database, migrations, pool and servers."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from psycopg_pool import AsyncConnectionPool

from server.config import Settings
from server.rpc.app import create_server
from server.storage.database import Connection, database_url, open_pool
from server.storage.migrations import migrate

log = logging.getLogger(__name__)

OnReady = Callable[[dict[str, str], AsyncConnectionPool[Connection]], Awaitable[None]]


@asynccontextmanager
async def storage(settings: Settings) -> AsyncIterator[AsyncConnectionPool[Connection]]:
    """A migrated database and an open pool on it, closed on exit."""
    url = await asyncio.to_thread(database_url, settings)
    await migrate(url)
    pool = await open_pool(url, settings.pool_max_size)
    try:
        yield pool
    finally:
        await pool.close()


async def serve(settings: Settings, on_ready: OnReady | None = None) -> None:
    """Serve until SIGTERM or SIGINT, then stop taking calls and finish those under way."""
    async with storage(settings) as pool:
        server, port = await create_server(pool, settings.grpc_address)
        host = settings.grpc_address.rpartition(":")[0]
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            if on_ready is not None:
                await on_ready({"grpc": f"{host}:{port}"}, pool)
            await stop.wait()
            log.info(
                "stopping: finishing calls under way (grace %ss)", settings.shutdown_grace_seconds
            )
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
            await server.stop(settings.shutdown_grace_seconds)
