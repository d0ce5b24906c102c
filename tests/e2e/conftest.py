"""A real gRPC server on a loopback port, over a test database, and stubs for its accounts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from clients.client import admin_async
from server.bootstrap import distribution
from server.rpc.app import Served, create_server
from server.services.accounts import Accounts, NewAccount
from server.services.distribution import Distributor, EngineSettings
from server.storage.database import open_pool
from tests.support.buyers import BuyerServer, buyer_server

# Retries come quickly in tests; a test that waits for a backoff waits seconds, not minutes.
FAST = EngineSettings(retry_base_seconds=0.2, poll_seconds=0.05)


@pytest.fixture
async def distributor(pool: Any) -> AsyncIterator[Distributor]:
    async with distribution(pool, FAST) as engine:
        yield engine


@pytest.fixture
async def served(pool: Any, distributor: Distributor) -> AsyncIterator[Served]:
    served = await create_server(pool, "127.0.0.1:0", distributor)
    yield served
    await served.server.stop(None)


@pytest.fixture
def grpc_address(served: Served) -> str:
    return f"127.0.0.1:{served.port}"


@pytest.fixture
async def second_server(database_url: str) -> AsyncIterator[str]:
    """Another server with its own pool and distribution worker, on the same database."""
    other_pool = await open_pool(database_url, max_size=6)
    try:
        async with distribution(other_pool, FAST) as engine:
            served = await create_server(other_pool, "127.0.0.1:0", engine)
            yield f"127.0.0.1:{served.port}"
            await served.server.stop(None)
    finally:
        await other_pool.close()


@pytest.fixture
async def buyers() -> AsyncIterator[BuyerServer]:
    """Buyers as one real HTTP server on loopback (tests/support/buyers.py)."""
    async with buyer_server() as server:
        yield server


@pytest.fixture
def new_account(pool: Any) -> Callable[[str], Any]:
    async def create(name: str = "Tenant") -> NewAccount:
        return await Accounts(pool).create_account(name)

    return create


@pytest.fixture
def stub_for(grpc_address: str) -> Callable[[str], AbstractAsyncContextManager[Any]]:
    """`async with stub_for(key) as stub:` an AdminService stub calling with that key."""

    def open_stub(key: str) -> AbstractAsyncContextManager[Any]:
        return admin_async(grpc_address, key)

    return open_stub
