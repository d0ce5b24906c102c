"""PortalService through a real gRPC channel: a buyer's sign-in, its limit on failures, and
the portals' user names."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from leadrouter.v1 import admin_pb2, portal_pb2, portal_pb2_grpc

from clients.client import struct
from server.adapters.us_places import load_states
from server.bootstrap import servicers
from server.domain import secrets
from server.domain.portal import LOCK, MAX_FAILURES, WINDOW
from server.rpc.app import create_server
from server.rpc.portal import PortalServicer
from server.services.portal import Portal
from server.storage.database import open_pool
from tests.e2e.conftest import EXAMPLE

P = portal_pb2
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
RESOURCE_EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED


def document() -> dict[str, Any]:
    config = copy.deepcopy(EXAMPLE)
    config["clients"] = [
        {
            "key": "acme",
            "name": "Acme Buyer",
            "username": "Ann.Buyer",
            "password": "right-password",
            "state": "nv",
        },
        {"key": "nopass", "name": "No Password", "username": "nobody"},
    ]
    config["sources"][0]["username"] = "source.one"
    return config


@pytest.fixture
async def tenant(grpc_address: str, new_account: Any, stub_for: Any) -> Any:
    made = await new_account()
    async with stub_for(made.api_key) as stub:
        applied = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document())))
    channel = grpc.aio.insecure_channel(grpc_address)
    stub = portal_pb2_grpc.PortalServiceStub(channel)

    class Tenant:
        account_id = made.account_id
        key = made.api_key
        ids = applied

        async def call(self, method: str, request: Any, key: str = made.api_key) -> Any:
            return await getattr(stub, method)(
                request, metadata=(("authorization", f"Bearer {key}"),)
            )

        async def refused(self, method: str, request: Any, key: str = made.api_key) -> Any:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await self.call(method, request, key)
            return caught.value

    yield Tenant()
    await channel.close()


async def test_a_buyer_signs_in_with_its_user_name_in_any_case(tenant: Any) -> None:
    found = await tenant.call(
        "SignInClient", P.SignInClientRequest(username=" ann.BUYER ", password="right-password")
    )
    assert (found.id, found.name, found.username) == (
        tenant.ids.clients["acme"],
        "Acme Buyer",
        "Ann.Buyer",
    )
    assert not found.deliveries and not found.HasField("password")
    assert (found.state, found.state_id) == ("nv", 32)


@pytest.mark.parametrize(
    ("username", "password"),
    [("Ann.Buyer", "wrong-password"), ("no.such.user", "right-password"), ("nobody", "")],
)
async def test_every_failure_is_the_same_refusal(tenant: Any, username: str, password: str) -> None:
    error = await tenant.refused(
        "SignInClient", P.SignInClientRequest(username=username, password=password)
    )
    assert (error.code(), error.details()) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "user name or password is wrong",
    )


async def test_failures_lock_the_user_name_even_for_the_right_password(tenant: Any) -> None:
    wrong = P.SignInClientRequest(username="Ann.Buyer", password="guess")
    codes = [(await tenant.refused("SignInClient", wrong)).code() for _ in range(MAX_FAILURES)]
    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * MAX_FAILURES
    right = P.SignInClientRequest(username="ann.buyer", password="right-password")
    locked = await tenant.refused("SignInClient", right)
    assert locked.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "too many failed sign-ins" in locked.details()


async def test_concurrent_failures_cannot_slip_past_the_limit(tenant: Any) -> None:
    wrong = P.SignInClientRequest(username="no.such.user", password="guess")
    tries = await asyncio.gather(
        *(tenant.refused("SignInClient", wrong) for _ in range(3 * MAX_FAILURES))
    )
    unauthenticated = [e for e in tries if e.code() == grpc.StatusCode.UNAUTHENTICATED]
    assert len(unauthenticated) == MAX_FAILURES  # unknown names are counted as well


@pytest.fixture
async def clocked(pool: Any, distributor: Any) -> AsyncIterator[Any]:
    """Another server on the test's database whose portal's clock the test sets: a stub
    calling it as the tenant, with its clock's `now`."""

    class Clocked:
        now = datetime.now(UTC)
        stub: Any = None

        async def sign_in(self, key: str, password: str) -> Any:
            """The buyer signed in, or the status code of the refusal."""
            request = P.SignInClientRequest(username="Ann.Buyer", password=password)
            try:
                return await self.stub.SignInClient(
                    request, metadata=(("authorization", f"Bearer {key}"),)
                )
            except grpc.aio.AioRpcError as error:
                return error.code()

    clocked = Clocked()
    portal = PortalServicer(Portal(pool, load_states(), clock=lambda: clocked.now))
    async with servicers(pool, distributor) as built:
        served = await create_server(dataclasses.replace(built, portal=portal), "127.0.0.1:0")
        async with grpc.aio.insecure_channel(f"127.0.0.1:{served.port}") as channel:
            clocked.stub = portal_pb2_grpc.PortalServiceStub(channel)
            yield clocked
        await served.server.stop(None)


async def test_the_lock_runs_out_and_a_success_clears_the_count(tenant: Any, clocked: Any) -> None:
    wrong = [await clocked.sign_in(tenant.key, "guess") for _ in range(MAX_FAILURES)]
    assert wrong == [UNAUTHENTICATED] * MAX_FAILURES
    clocked.now += LOCK - timedelta(seconds=1)
    assert await clocked.sign_in(tenant.key, "right-password") == RESOURCE_EXHAUSTED
    clocked.now += timedelta(seconds=2)
    assert (await clocked.sign_in(tenant.key, "right-password")).name == "Acme Buyer"
    # the success cleared the count: four more failures do not lock the user name
    wrong = [await clocked.sign_in(tenant.key, "guess") for _ in range(MAX_FAILURES - 1)]
    assert wrong == [UNAUTHENTICATED] * (MAX_FAILURES - 1)
    assert (await clocked.sign_in(tenant.key, "right-password")).name == "Acme Buyer"


async def test_failures_count_within_the_window_only(tenant: Any, clocked: Any) -> None:
    first = [await clocked.sign_in(tenant.key, "guess") for _ in range(MAX_FAILURES - 1)]
    clocked.now += WINDOW + timedelta(seconds=1)
    later = [await clocked.sign_in(tenant.key, "guess") for _ in range(MAX_FAILURES - 1)]
    assert first + later == [UNAUTHENTICATED] * (2 * (MAX_FAILURES - 1))
    assert (await clocked.sign_in(tenant.key, "right-password")).name == "Acme Buyer"


async def test_the_password_is_checked_holding_no_connection(
    tenant: Any, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # on a pool of one connection, another use case runs while a sign-in checks its password
    small = await open_pool(database_url, max_size=1)
    checking, may_finish = threading.Event(), threading.Event()
    real = secrets.password_matches

    def held_check(password: str, stored: str) -> bool:
        checking.set()
        may_finish.wait(10)
        return real(password, stored)

    monkeypatch.setattr(secrets, "password_matches", held_check)
    try:
        portal = Portal(small, load_states())
        signing_in = asyncio.create_task(
            portal.sign_in(tenant.account_id, "Ann.Buyer", "right-password")
        )
        assert await asyncio.to_thread(checking.wait, 10)
        free = portal.client_username_free(tenant.account_id, "someone.else")
        assert await asyncio.wait_for(free, 5)
        may_finish.set()
        assert (await signing_in).spec.name == "Acme Buyer"
    finally:
        may_finish.set()
        await small.close()


async def test_user_names_free_or_taken(tenant: Any) -> None:
    async def client_free(name: str) -> bool:
        return (
            await tenant.call("IsClientUsernameFree", P.IsClientUsernameFreeRequest(username=name))
        ).free

    async def source_free(name: str, source_id: int = 0) -> bool:
        request = P.IsSourceUsernameFreeRequest(username=name, source_id=source_id)
        return (await tenant.call("IsSourceUsernameFree", request)).free

    assert not await client_free("ANN.buyer")
    assert await client_free("someone.else")
    assert not await source_free("Source.One")
    assert await source_free("source.one", tenant.ids.sources["acme-media"])  # its own name
    assert await source_free("ann.buyer")  # a buyer's name is another portal's
    error = await tenant.refused(
        "IsClientUsernameFree", P.IsClientUsernameFreeRequest(username=" ")
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_another_account_learns_nothing(tenant: Any, new_account: Any) -> None:
    other = await new_account("Other")
    request = P.SignInClientRequest(username="Ann.Buyer", password="right-password")
    error = await tenant.refused("SignInClient", request, key=other.api_key)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    free = await tenant.call(
        "IsClientUsernameFree",
        P.IsClientUsernameFreeRequest(username="Ann.Buyer"),
        key=other.api_key,
    )
    assert free.free
    source_free = await tenant.call(
        "IsSourceUsernameFree",
        P.IsSourceUsernameFreeRequest(username="source.one"),
        key=other.api_key,
    )
    assert source_free.free


async def test_another_account_cannot_lock_a_user_name_out(tenant: Any, new_account: Any) -> None:
    other = await new_account("Other")
    wrong = P.SignInClientRequest(username="Ann.Buyer", password="guess")
    for _ in range(MAX_FAILURES + 1):
        await tenant.refused("SignInClient", wrong, key=other.api_key)
    right = P.SignInClientRequest(username="Ann.Buyer", password="right-password")
    assert (await tenant.call("SignInClient", right)).name == "Acme Buyer"
