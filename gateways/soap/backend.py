"""How the service.asmx methods reach leadrouter: one blocking gRPC call per method, made from
the gateway's worker threads, with the method's Key as the call's admin API key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import Message
from leadrouter.v1 import (
    admin_pb2_grpc,
    billing_pb2_grpc,
    distribution_pb2_grpc,
    geo_pb2_grpc,
    marketplace_pb2_grpc,
    portal_pb2_grpc,
    reports_pb2_grpc,
    visits_pb2_grpc,
)

from gateways.soap.faults import GatewayFault, client_fault, from_rpc_error


@dataclass(frozen=True)
class Backend:
    """The gRPC services a method may call, and the deadline of each call."""

    admin: Any
    distribution: Any
    geo: Any = None
    portal: Any = None
    billing: Any = None
    visits: Any = None
    reports: Any = None
    marketplace: Any = None
    timeout: float = 30.0

    @classmethod
    def on(cls, channel: grpc.Channel, timeout: float = 30.0) -> Backend:
        return cls(
            admin=admin_pb2_grpc.AdminServiceStub(channel),
            distribution=distribution_pb2_grpc.DistributionServiceStub(channel),
            geo=geo_pb2_grpc.GeoServiceStub(channel),
            portal=portal_pb2_grpc.PortalServiceStub(channel),
            billing=billing_pb2_grpc.BillingServiceStub(channel),
            visits=visits_pb2_grpc.VisitServiceStub(channel),
            reports=reports_pb2_grpc.ReportServiceStub(channel),
            marketplace=marketplace_pb2_grpc.MarketplaceServiceStub(channel),
            timeout=timeout,
        )

    def call(self, service: str, method: str, request: Message, key: str | None) -> Any:
        """`service.method(request)` as the account whose admin key `key` is; a failure is
        raised as the SOAP Fault it maps to."""
        key = (key or "").strip()
        if not key:
            raise client_fault("Key is required: an admin API key of the account")
        if not (key.isascii() and key.isprintable()):  # gRPC metadata could not carry it
            raise GatewayFault("Client", "the API key is malformed", 401)
        stub = getattr(getattr(self, service), method)
        try:
            return stub(
                request, metadata=(("authorization", f"Bearer {key}"),), timeout=self.timeout
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error, method) from None
