"""A Python client for leadrouter's gRPC API: the generated stubs on an authenticated channel.

with admin("127.0.0.1:50051", key) as stub:
    stub.ListLeadTypes(admin_pb2.ListLeadTypesRequest())

async with admin_async("127.0.0.1:50051", key) as stub:
    await stub.ListLeadTypes(admin_pb2.ListLeadTypesRequest())
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, cast

import grpc
from google.protobuf.json_format import MessageToDict
from google.protobuf.struct_pb2 import Struct
from google.rpc import error_details_pb2, status_pb2
from leadrouter.v1 import (
    admin_pb2_grpc,
    billing_pb2_grpc,
    distribution_pb2_grpc,
    marketplace_pb2_grpc,
    post_log_pb2_grpc,
    quality_pb2_grpc,
    reports_pb2_grpc,
    visits_pb2_grpc,
)


def _with_key(details: Any, key: str) -> Any:
    metadata = [*(details.metadata or ()), ("authorization", f"Bearer {key}")]
    return details._replace(metadata=metadata)


class _KeyInterceptor(grpc.UnaryUnaryClientInterceptor):
    def __init__(self, key: str) -> None:
        self._key = key

    def intercept_unary_unary(
        self, continuation: Callable[[Any, Any], Any], client_call_details: Any, request: Any
    ) -> Any:
        return continuation(_with_key(client_call_details, self._key), request)


class _AsyncKeyInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, key: str) -> None:
        self._key = key

    async def intercept_unary_unary(
        self, continuation: Callable[[Any, Any], Any], client_call_details: Any, request: Any
    ) -> Any:
        return await continuation(_with_key(client_call_details, self._key), request)


@contextmanager
def admin(target: str, key: str) -> Iterator[admin_pb2_grpc.AdminServiceStub]:
    """A blocking AdminService stub whose calls carry the key."""
    with grpc.insecure_channel(target) as channel:
        yield admin_pb2_grpc.AdminServiceStub(grpc.intercept_channel(channel, _KeyInterceptor(key)))


@asynccontextmanager
async def admin_async(target: str, key: str) -> AsyncIterator[admin_pb2_grpc.AdminServiceAsyncStub]:
    """An asyncio AdminService stub whose calls carry the key."""
    async with grpc.aio.insecure_channel(
        target, interceptors=[_AsyncKeyInterceptor(key)]
    ) as channel:
        yield cast("admin_pb2_grpc.AdminServiceAsyncStub", admin_pb2_grpc.AdminServiceStub(channel))


@contextmanager
def distribution(target: str, key: str) -> Iterator[distribution_pb2_grpc.DistributionServiceStub]:
    """A blocking DistributionService stub whose calls carry the key."""
    with grpc.insecure_channel(target) as channel:
        yield distribution_pb2_grpc.DistributionServiceStub(
            grpc.intercept_channel(channel, _KeyInterceptor(key))
        )


@asynccontextmanager
async def visits_async(
    target: str, key: str
) -> AsyncIterator[visits_pb2_grpc.VisitServiceAsyncStub]:
    """An asyncio VisitService stub whose calls carry the key."""
    async with grpc.aio.insecure_channel(
        target, interceptors=[_AsyncKeyInterceptor(key)]
    ) as channel:
        yield cast(
            "visits_pb2_grpc.VisitServiceAsyncStub", visits_pb2_grpc.VisitServiceStub(channel)
        )


@asynccontextmanager
async def distribution_async(
    target: str, key: str
) -> AsyncIterator[distribution_pb2_grpc.DistributionServiceAsyncStub]:
    """An asyncio DistributionService stub whose calls carry the key."""
    async with grpc.aio.insecure_channel(
        target, interceptors=[_AsyncKeyInterceptor(key)]
    ) as channel:
        yield cast(
            "distribution_pb2_grpc.DistributionServiceAsyncStub",
            distribution_pb2_grpc.DistributionServiceStub(channel),
        )


@contextmanager
def quality(target: str, key: str) -> Iterator[quality_pb2_grpc.QualityServiceStub]:
    """A blocking QualityService stub whose calls carry the key."""
    with grpc.insecure_channel(target) as channel:
        yield quality_pb2_grpc.QualityServiceStub(
            grpc.intercept_channel(channel, _KeyInterceptor(key))
        )


@asynccontextmanager
async def quality_async(
    target: str, key: str
) -> AsyncIterator[quality_pb2_grpc.QualityServiceAsyncStub]:
    """An asyncio QualityService stub whose calls carry the key."""
    async with grpc.aio.insecure_channel(
        target, interceptors=[_AsyncKeyInterceptor(key)]
    ) as channel:
        yield cast(
            "quality_pb2_grpc.QualityServiceAsyncStub",
            quality_pb2_grpc.QualityServiceStub(channel),
        )


@contextmanager
def billing(target: str, key: str) -> Iterator[billing_pb2_grpc.BillingServiceStub]:
    """A blocking BillingService stub whose calls carry the key."""
    with grpc.insecure_channel(target) as channel:
        yield billing_pb2_grpc.BillingServiceStub(
            grpc.intercept_channel(channel, _KeyInterceptor(key))
        )


@asynccontextmanager
async def billing_async(
    target: str, key: str
) -> AsyncIterator[billing_pb2_grpc.BillingServiceAsyncStub]:
    """An asyncio BillingService stub whose calls carry the key."""
    async with grpc.aio.insecure_channel(
        target, interceptors=[_AsyncKeyInterceptor(key)]
    ) as channel:
        yield cast(
            "billing_pb2_grpc.BillingServiceAsyncStub",
            billing_pb2_grpc.BillingServiceStub(channel),
        )


@contextmanager
def reports(target: str, key: str) -> Iterator[reports_pb2_grpc.ReportServiceStub]:
    """A blocking ReportService stub whose calls carry the key."""
    with grpc.insecure_channel(target) as channel:
        yield reports_pb2_grpc.ReportServiceStub(
            grpc.intercept_channel(channel, _KeyInterceptor(key))
        )


@asynccontextmanager
async def reports_async(
    target: str, key: str
) -> AsyncIterator[reports_pb2_grpc.ReportServiceAsyncStub]:
    """An asyncio ReportService stub whose calls carry the key."""
    async with grpc.aio.insecure_channel(
        target, interceptors=[_AsyncKeyInterceptor(key)]
    ) as channel:
        yield cast(
            "reports_pb2_grpc.ReportServiceAsyncStub",
            reports_pb2_grpc.ReportServiceStub(channel),
        )


@contextmanager
def marketplace(target: str, key: str) -> Iterator[marketplace_pb2_grpc.MarketplaceServiceStub]:
    """A blocking MarketplaceService stub whose calls carry the key."""
    with grpc.insecure_channel(target) as channel:
        yield marketplace_pb2_grpc.MarketplaceServiceStub(
            grpc.intercept_channel(channel, _KeyInterceptor(key))
        )


@asynccontextmanager
async def marketplace_async(
    target: str, key: str
) -> AsyncIterator[marketplace_pb2_grpc.MarketplaceServiceAsyncStub]:
    """An asyncio MarketplaceService stub whose calls carry the key."""
    async with grpc.aio.insecure_channel(
        target, interceptors=[_AsyncKeyInterceptor(key)]
    ) as channel:
        yield cast(
            "marketplace_pb2_grpc.MarketplaceServiceAsyncStub",
            marketplace_pb2_grpc.MarketplaceServiceStub(channel),
        )


@contextmanager
def post_log(target: str, key: str) -> Iterator[post_log_pb2_grpc.PostLogServiceStub]:
    """A blocking PostLogService stub whose calls carry the key."""
    with grpc.insecure_channel(target) as channel:
        yield post_log_pb2_grpc.PostLogServiceStub(
            grpc.intercept_channel(channel, _KeyInterceptor(key))
        )


def struct(document: dict[str, Any]) -> Struct:
    """A config document as the google.protobuf.Struct ApplyConfig takes."""
    message = Struct()
    message.update(document)
    return message


def document(message: Struct) -> Any:
    """A google.protobuf.Struct as plain JSON values. A Struct holds every number as a double:
    whole ones come back as integers (an id of 7, not 7.0)."""
    return _whole(MessageToDict(message))


def _whole(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole(v) for v in value]
    return value


def violations(error: grpc.RpcError) -> list[tuple[str, str]]:
    """The (path, reason) pairs of an INVALID_ARGUMENT error's google.rpc.BadRequest, if any."""
    trailers = error.trailing_metadata() or ()
    found: list[tuple[str, str]] = []
    for key, value in trailers:
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            bad_request = error_details_pb2.BadRequest()
            if detail.Unpack(bad_request):
                found.extend((v.field, v.description) for v in bad_request.field_violations)
    return found
