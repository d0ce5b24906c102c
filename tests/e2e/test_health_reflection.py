"""Standard gRPC health checking and server reflection answer without a key."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc


async def test_health_reports_serving(grpc_address: str) -> None:
    async with grpc.aio.insecure_channel(grpc_address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        overall = await stub.Check(health_pb2.HealthCheckRequest())
        admin = await stub.Check(
            health_pb2.HealthCheckRequest(service="leadrouter.v1.AdminService")
        )
    assert overall.status == health_pb2.HealthCheckResponse.SERVING
    assert admin.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_the_admin_service(grpc_address: str) -> None:
    async with grpc.aio.insecure_channel(grpc_address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)

        async def one_request():  # type: ignore[no-untyped-def]
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        responses = [r async for r in stub.ServerReflectionInfo(one_request())]
    names = {s.name for s in responses[0].list_services_response.service}
    assert {"leadrouter.v1.AdminService", "grpc.health.v1.Health"} <= names


async def test_reflection_describes_the_admin_methods(grpc_address: str) -> None:
    async with grpc.aio.insecure_channel(grpc_address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)

        async def one_request():  # type: ignore[no-untyped-def]
            yield reflection_pb2.ServerReflectionRequest(
                file_containing_symbol="leadrouter.v1.AdminService"
            )

        responses = [r async for r in stub.ServerReflectionInfo(one_request())]
    files = responses[0].file_descriptor_response.file_descriptor_proto
    assert files and any(b"ApplyConfig" in f for f in files)
