"""The gRPC server: services, health checking, reflection and the interceptor, on one port."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection
from leadrouter.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    billing_pb2,
    billing_pb2_grpc,
    distribution_pb2,
    distribution_pb2_grpc,
    geo_pb2,
    geo_pb2_grpc,
    leads_pb2,
    leads_pb2_grpc,
    marketplace_pb2,
    marketplace_pb2_grpc,
    portal_pb2,
    portal_pb2_grpc,
    post_log_pb2,
    post_log_pb2_grpc,
    quality_pb2,
    quality_pb2_grpc,
    reports_pb2,
    reports_pb2_grpc,
    visits_pb2,
    visits_pb2_grpc,
)

from server.rpc.admin import AdminServicer
from server.rpc.billing import BillingServicer
from server.rpc.distribution import DistributionServicer
from server.rpc.geo import GeoServicer
from server.rpc.in_process import InProcessServer
from server.rpc.interceptor import Authenticate, ServiceInterceptor
from server.rpc.leads import LeadServicer
from server.rpc.marketplace import MarketplaceServicer
from server.rpc.portal import PortalServicer
from server.rpc.post_log import PostLogServicer
from server.rpc.quality import QualityServicer
from server.rpc.reports import ReportServicer
from server.rpc.visits import VisitServicer

SERVICE_NAMES = (
    admin_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name,
    leads_pb2.DESCRIPTOR.services_by_name["LeadService"].full_name,
    distribution_pb2.DESCRIPTOR.services_by_name["DistributionService"].full_name,
    quality_pb2.DESCRIPTOR.services_by_name["QualityService"].full_name,
    geo_pb2.DESCRIPTOR.services_by_name["GeoService"].full_name,
    portal_pb2.DESCRIPTOR.services_by_name["PortalService"].full_name,
    billing_pb2.DESCRIPTOR.services_by_name["BillingService"].full_name,
    visits_pb2.DESCRIPTOR.services_by_name["VisitService"].full_name,
    reports_pb2.DESCRIPTOR.services_by_name["ReportService"].full_name,
    marketplace_pb2.DESCRIPTOR.services_by_name["MarketplaceService"].full_name,
    post_log_pb2.DESCRIPTOR.services_by_name["PostLogService"].full_name,
)


@dataclass(frozen=True)
class Servicers:
    """Every gRPC service of the server, with the check of a caller's key, as the composition
    root (server/bootstrap.py) builds them."""

    authenticate: Authenticate
    admin: AdminServicer
    leads: LeadServicer
    distribution: DistributionServicer
    quality: QualityServicer
    geo: GeoServicer
    portal: PortalServicer
    billing: BillingServicer
    visits: VisitServicer
    reports: ReportServicer
    marketplace: MarketplaceServicer
    post_log: PostLogServicer


@dataclass(frozen=True)
class Served:
    """The started server, its port, and its services as this process calls them without the
    network (the receiver gateway does)."""

    server: grpc.aio.Server
    port: int
    local: InProcessServer


async def create_server(servicers: Servicers, address: str) -> Served:
    """Start the server on `address` (port 0 picks one), with health checking, reflection and
    the interceptor that authenticates callers and maps errors to status codes."""
    interceptors = [ServiceInterceptor(servicers.authenticate)]
    server = grpc.aio.server(interceptors=interceptors)
    local = InProcessServer(interceptors)
    for target in (server, local):
        registrar = cast(grpc.aio.Server, target)  # InProcessServer takes what the server takes
        admin_pb2_grpc.add_AdminServiceServicer_to_server(servicers.admin, registrar)
        leads_pb2_grpc.add_LeadServiceServicer_to_server(servicers.leads, registrar)
        distribution_pb2_grpc.add_DistributionServiceServicer_to_server(
            servicers.distribution, registrar
        )
        quality_pb2_grpc.add_QualityServiceServicer_to_server(servicers.quality, registrar)
        geo_pb2_grpc.add_GeoServiceServicer_to_server(servicers.geo, registrar)
        portal_pb2_grpc.add_PortalServiceServicer_to_server(servicers.portal, registrar)
        billing_pb2_grpc.add_BillingServiceServicer_to_server(servicers.billing, registrar)
        visits_pb2_grpc.add_VisitServiceServicer_to_server(servicers.visits, registrar)
        reports_pb2_grpc.add_ReportServiceServicer_to_server(servicers.reports, registrar)
        marketplace_pb2_grpc.add_MarketplaceServiceServicer_to_server(
            servicers.marketplace, registrar
        )
        post_log_pb2_grpc.add_PostLogServiceServicer_to_server(servicers.post_log, registrar)
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection(
        (
            *SERVICE_NAMES,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    await server.start()
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    for name in SERVICE_NAMES:
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    return Served(server, port, local)
