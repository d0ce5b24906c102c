"""A real gRPC server on a loopback port, over a test database, and stubs for its accounts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from clients.client import admin_async
from server.rpc.app import create_server
from server.services import accounts


@pytest.fixture
async def grpc_address(pool: Any) -> AsyncIterator[str]:
    server, port = await create_server(pool, "127.0.0.1:0")
    yield f"127.0.0.1:{port}"
    await server.stop(None)


@pytest.fixture
def new_account(pool: Any) -> Callable[[str], Any]:
    async def create(name: str = "Tenant") -> accounts.NewAccount:
        return await accounts.create_account(pool, name)

    return create


@pytest.fixture
def stub_for(grpc_address: str) -> Callable[[str], AbstractAsyncContextManager[Any]]:
    """`async with stub_for(key) as stub:` an AdminService stub calling with that key."""

    def open_stub(key: str) -> AbstractAsyncContextManager[Any]:
        return admin_async(grpc_address, key)

    return open_stub
