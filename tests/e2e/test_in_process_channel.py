"""The in-process transport answers exactly as the network one: the same calls on the same
services over a loopback gRPC connection and in this process give equal responses, and equal
status codes, details and trailing metadata when they fail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from leadrouter.v1 import admin_pb2, admin_pb2_grpc, leads_pb2, leads_pb2_grpc

from clients.client import struct
from server.rpc.app import Served
from server.rpc.in_process import MAX_MESSAGE_BYTES, InProcessServer
from server.services.accounts import NewAccount

Call = Callable[[Any], Awaitable[Any]]


@pytest.fixture(params=["network", "in_process"])
async def channel(request: Any, served: Served) -> AsyncIterator[Any]:
    if request.param == "network":
        async with grpc.aio.insecure_channel(f"127.0.0.1:{served.port}") as network:
            yield network
    else:
        async with served.local.channel() as local:
            yield local


@pytest.fixture
async def both(served: Served) -> AsyncIterator[tuple[Any, Any]]:
    """A network channel and an in-process one to the same services."""
    async with (
        grpc.aio.insecure_channel(f"127.0.0.1:{served.port}") as network,
        served.local.channel() as local,
    ):
        yield network, local


async def outcome(call: Awaitable[Any]) -> tuple[str, Any]:
    """("ok", response) or ("failed", (code, details, trailing metadata))."""
    try:
        return "ok", await call
    except grpc.aio.AioRpcError as error:
        return "failed", (error.code(), error.details(), tuple(error.trailing_metadata() or ()))


def bearer(key: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {key}"),)


async def test_the_same_calls_give_the_same_answers_and_failures(
    both: tuple[Any, Any], new_account: Any
) -> None:
    tenant = await new_account()
    other = await new_account("Other")
    document = struct(
        {"lead_types": [{"key": "solar", "name": "Solar", "fields": [{"name": "Email"}]}]}
    )
    bad_document = struct({"lead_types": [{"key": "", "fields": "not a list"}]})
    calls: list[tuple[str, Callable[[Any], Awaitable[Any]]]] = [
        ("no key", lambda s: s.ListLeadTypes(admin_pb2.ListLeadTypesRequest())),
        (
            "not a bearer",
            lambda s: s.ListLeadTypes(
                admin_pb2.ListLeadTypesRequest(), metadata=(("authorization", "Basic x"),)
            ),
        ),
        (
            "unknown key",
            lambda s: s.ListLeadTypes(admin_pb2.ListLeadTypesRequest(), metadata=bearer("nope")),
        ),
        (
            "bad document",
            lambda s: s.ApplyConfig(
                admin_pb2.ApplyConfigRequest(document=bad_document),
                metadata=bearer(tenant.api_key),
            ),
        ),
        (
            "dry run",
            lambda s: s.ApplyConfig(
                admin_pb2.ApplyConfigRequest(document=document, dry_run=True),
                metadata=bearer(tenant.api_key),
            ),
        ),
        (
            "list",
            lambda s: s.ListLeadTypes(
                admin_pb2.ListLeadTypesRequest(), metadata=bearer(tenant.api_key)
            ),
        ),
        (
            "another account's id",
            lambda s: s.GetLeadType(
                admin_pb2.GetLeadTypeRequest(id=1_000_000), metadata=bearer(other.api_key)
            ),
        ),
    ]
    network, local = both
    await admin_pb2_grpc.AdminServiceStub(network).ApplyConfig(
        admin_pb2.ApplyConfigRequest(document=document), metadata=bearer(tenant.api_key)
    )
    for name, call in calls:
        over_network = await outcome(call(admin_pb2_grpc.AdminServiceStub(network)))
        in_process = await outcome(call(admin_pb2_grpc.AdminServiceStub(local)))
        assert in_process == over_network, name
    failures = {
        name: (await outcome(call(admin_pb2_grpc.AdminServiceStub(local))))[1][0]
        for name, call in calls[:4]
    }
    assert failures == {
        "no key": grpc.StatusCode.UNAUTHENTICATED,
        "not a bearer": grpc.StatusCode.UNAUTHENTICATED,
        "unknown key": grpc.StatusCode.UNAUTHENTICATED,
        "bad document": grpc.StatusCode.INVALID_ARGUMENT,
    }


async def test_an_invalid_argument_carries_its_violations(channel: Any, new_account: Any) -> None:
    tenant = await new_account()
    stub = admin_pb2_grpc.AdminServiceStub(channel)
    bad = struct({"lead_types": [{"key": "x", "name": "X", "fields": [{"name": ""}]}]})
    status, (code, details, trailers) = await outcome(
        stub.ApplyConfig(
            admin_pb2.ApplyConfigRequest(document=bad), metadata=bearer(tenant.api_key)
        )
    )
    assert status == "failed" and code == grpc.StatusCode.INVALID_ARGUMENT
    assert details and any(key == "grpc-status-details-bin" for key, _ in trailers)


async def test_a_lead_source_key_cannot_call_the_admin_api(channel: Any, new_account: Any) -> None:
    tenant: NewAccount = await new_account()
    admin = admin_pb2_grpc.AdminServiceStub(channel)
    document = struct(
        {
            "lead_types": [{"key": "t", "name": "T", "fields": [{"name": "Email"}]}],
            "sources": [{"key": "s", "name": "S"}],
        }
    )
    applied = await admin.ApplyConfig(
        admin_pb2.ApplyConfigRequest(document=document), metadata=bearer(tenant.api_key)
    )
    made = await admin.CreateSourceKey(
        admin_pb2.CreateSourceKeyRequest(source_id=applied.sources["s"]),
        metadata=bearer(tenant.api_key),
    )
    status, (code, _, _) = await outcome(
        admin.ListLeadTypes(admin_pb2.ListLeadTypesRequest(), metadata=bearer(made.secret))
    )
    assert (status, code) == ("failed", grpc.StatusCode.PERMISSION_DENIED)


async def test_the_lead_service_needs_no_key_and_refuses_in_its_answer(channel: Any) -> None:
    stub = leads_pb2_grpc.LeadServiceStub(channel)
    answer = await stub.SubmitLeads(
        leads_pb2.SubmitLeadsRequest(
            credentials=leads_pb2.Credentials(vid="999999", lid="1"),
            leads=[
                leads_pb2.LeadInput(fields=[leads_pb2.FieldValue(name="Email", value="a@b.com")])
            ],
        )
    )
    assert [r.response_type for r in answer.results] == [leads_pb2.VENDOR_ID_MISSING]


async def test_an_unknown_method_is_unimplemented(channel: Any) -> None:
    call = channel.unary_unary(
        "/leadrouter.v1.AdminService/NoSuchMethod",
        request_serializer=struct_pb2.Struct.SerializeToString,
        response_deserializer=struct_pb2.Struct.FromString,
    )
    status, (code, _, _) = await outcome(call(struct_pb2.Struct()))
    assert (status, code) == ("failed", grpc.StatusCode.UNIMPLEMENTED)


# -- the transport's own rules, against a bare service on both transports -------------------

SERVICE = "test.Echo"


class Echo:
    """A service of raw-bytes methods, to see what each transport makes of them."""

    def __init__(self) -> None:
        self.cancelled = 0

    async def echo(self, request: bytes, context: Any) -> bytes:
        return request

    async def slow(self, request: bytes, context: Any) -> bytes:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return request

    async def broken(self, request: bytes, context: Any) -> bytes:
        raise RuntimeError("it broke")

    async def coded(self, request: bytes, context: Any) -> bytes:
        context.set_code(grpc.StatusCode.NOT_FOUND)
        context.set_details("no such thing")
        return b""

    async def aborted(self, request: bytes, context: Any) -> bytes:
        await context.abort(
            grpc.StatusCode.FAILED_PRECONDITION, "not now", trailing_metadata=(("why", "busy"),)
        )
        return b""

    def handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                name: grpc.unary_unary_rpc_method_handler(getattr(self, name))
                for name in ("echo", "slow", "broken", "coded", "aborted")
            },
        )


@pytest.fixture
async def echo_channels() -> AsyncIterator[tuple[Echo, dict[str, Any]]]:
    echo = Echo()
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((echo.handler(),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    local = InProcessServer()
    local.add_generic_rpc_handlers((echo.handler(),))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as network:
            yield echo, {"network": network, "in_process": local.channel()}
    finally:
        await server.stop(None)


async def each(channels: dict[str, Any], method: str, request: bytes, **options: Any) -> Any:
    """The outcome on each transport, asserted equal; that outcome."""
    seen = {
        name: await outcome(channel.unary_unary(f"/{SERVICE}/{method}")(request, **options))
        for name, channel in channels.items()
    }
    assert seen["in_process"] == seen["network"], method
    return seen["in_process"]


async def test_bare_service_outcomes_match(echo_channels: tuple[Echo, dict[str, Any]]) -> None:
    echo, channels = echo_channels
    assert await each(channels, "echo", b"hello") == ("ok", b"hello")
    failed, (code, details, _) = await each(channels, "broken", b"")
    assert (failed, code) == ("failed", grpc.StatusCode.UNKNOWN) and "it broke" in details
    assert await each(channels, "coded", b"") == (
        "failed",
        (grpc.StatusCode.NOT_FOUND, "no such thing", ()),
    )
    assert await each(channels, "aborted", b"") == (
        "failed",
        (grpc.StatusCode.FAILED_PRECONDITION, "not now", (("why", "busy"),)),
    )
    failed, (code, _, _) = await each(channels, "slow", b"", timeout=0.2)
    assert (failed, code) == ("failed", grpc.StatusCode.DEADLINE_EXCEEDED)
    assert echo.cancelled == 2  # the deadline stopped the servicer's work on both


async def test_a_message_over_the_limit_is_refused(
    echo_channels: tuple[Echo, dict[str, Any]],
) -> None:
    _, channels = echo_channels
    call = channels["in_process"].unary_unary(f"/{SERVICE}/echo")
    status, (code, _, _) = await outcome(call(b"x" * (MAX_MESSAGE_BYTES + 1)))
    assert (status, code) == ("failed", grpc.StatusCode.RESOURCE_EXHAUSTED)
    assert len(await call(b"x" * (MAX_MESSAGE_BYTES - 16))) == MAX_MESSAGE_BYTES - 16
