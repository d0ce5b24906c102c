"""A real gRPC server on a loopback port, over a test database, and stubs for its accounts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import zeep
from leadrouter.v1 import admin_pb2

from clients.client import admin_async, struct
from server.bootstrap import distribution, receiver, servicers, soap
from server.config import Settings
from server.rpc.app import Served, create_server
from server.services.accounts import Accounts, NewAccount
from server.services.billing.cards import ChargeSettings
from server.services.distribution.engine import Distributor, EngineSettings
from server.services.intake.queue_worker import QueueSettings
from server.storage.database import open_pool
from tests.support.buyers import BuyerServer, buyer_server

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "acme.json").read_text())

# Retries come quickly in tests; a test that waits for a backoff waits seconds, not minutes.
FAST = EngineSettings(
    retry_base_seconds=0.2,
    poll_seconds=0.05,
    notice_retry_base_seconds=0.2,
    notice_poll_seconds=0.05,
)


@pytest.fixture
def engines() -> list[Distributor]:
    """Every distribution engine a test runs: `idle` waits for all of them."""
    return []


@pytest.fixture
async def distributor(pool: Any, engines: list[Distributor]) -> AsyncIterator[Distributor]:
    async with distribution(pool, FAST, private_deliveries=True) as engine:
        engines.append(engine)
        yield engine


@pytest.fixture
def idle(engines: list[Distributor]) -> Callable[[], Awaitable[None]]:
    """`await idle()`: every engine of the test has done all the work due now, so a test can
    check that something did not happen without sleeping on it. Two rounds: an engine's
    work can make work due for another engine on the same database."""

    async def wait() -> None:
        for _ in range(2):
            await asyncio.gather(*(engine.idle() for engine in engines))

    return wait


# Queued posts (the /async URLs): a test that kills a worker waits a second, not thirty.
QUEUE = QueueSettings(lease_seconds=1.0, poll_seconds=0.05, retry_base_seconds=0.2)
# A declined auto-charge is retried twice, a fraction of a second apart, not hours.
CHARGES = ChargeSettings(poll_seconds=0.05, decline_retry_seconds=(0.3, 0.3))


@pytest.fixture
async def served(pool: Any, distributor: Distributor) -> AsyncIterator[Served]:
    async with servicers(pool, distributor, queue=QUEUE, charges=CHARGES) as built:
        served = await create_server(built, "127.0.0.1:0")
        yield served
        await served.server.stop(None)


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    """The receiver as `serve` runs it (the lead service in process), redirects not followed;
    a module may define its own."""
    settings = replace(Settings(), receiver_address="127.0.0.1:0")
    async with (
        receiver(settings, served.local) as address,
        httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as client,
    ):
        yield client


@pytest.fixture
def grpc_address(served: Served) -> str:
    return f"127.0.0.1:{served.port}"


@pytest.fixture
async def second_server(database_url: str, engines: list[Distributor]) -> AsyncIterator[str]:
    """Another server with its own pool and distribution worker, on the same database."""
    other_pool = await open_pool(database_url, max_size=6)
    try:
        async with (
            distribution(other_pool, FAST, private_deliveries=True) as engine,
            servicers(other_pool, engine, queue=QUEUE) as built,
        ):
            engines.append(engine)
            served = await create_server(built, "127.0.0.1:0")
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


@pytest.fixture
async def ids(new_account: Any, stub_for: Any) -> dict[str, str]:
    """The example config applied to a fresh account: what its lead source posts with, and a
    source API key."""
    tenant = await new_account()
    async with stub_for(tenant.api_key) as stub:
        applied = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(EXAMPLE)))
        made = await stub.CreateSourceKey(
            admin_pb2.CreateSourceKeyRequest(source_id=applied.sources["acme-media"])
        )
    return {
        "vid": str(applied.sources["acme-media"]),
        "lid": str(applied.lead_types["auto-insurance"]),
        "aid": str(applied.campaigns["acme-auto-web"]),
        "password": "acme-secret",
        "source_key": made.secret,
    }


@pytest.fixture
async def soap_url(grpc_address: str) -> AsyncIterator[str]:
    """service.asmx on a loopback port, calling the test's gRPC server."""
    settings = Settings(soap_address="127.0.0.1:0", max_body_bytes=64 * 1024)
    async with soap(settings, grpc_address) as address:
        yield f"http://{address}/service.asmx"


@pytest.fixture
async def soap_client(soap_url: str) -> Any:
    """A zeep client generated from the served WSDL (SOAP 1.1 port). zeep blocks: call it
    through `asyncio.to_thread`, so the servers on this event loop can answer."""
    return await asyncio.to_thread(zeep.Client, f"{soap_url}?WSDL")
