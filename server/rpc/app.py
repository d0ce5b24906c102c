"""The gRPC server: services, health checking, reflection and the interceptor, on one port."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import cast

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection
from leadrouter.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    distribution_pb2,
    distribution_pb2_grpc,
    leads_pb2,
    leads_pb2_grpc,
    quality_pb2,
    quality_pb2_grpc,
)

from server.adapters import zip_codes
from server.rpc.admin import AdminServicer
from server.rpc.distribution import DistributionServicer
from server.rpc.in_process import InProcessServer
from server.rpc.interceptor import ServiceInterceptor
from server.rpc.leads import LeadServicer
from server.rpc.quality import QualityServicer
from server.services import leads as lead_reads
from server.services.accounts import Accounts
from server.services.buyers.edits import BuyerEdits
from server.services.buyers.reads import BuyerReads
from server.services.catalog import Catalog
from server.services.config_apply import ConfigApply
from server.services.distribution import Distributor
from server.services.intake import LeadIntake
from server.services.quality.returns import Returns
from server.services.quality.review import QcReview
from server.storage.database import Pool

SERVICE_NAMES = (
    admin_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name,
    leads_pb2.DESCRIPTOR.services_by_name["LeadService"].full_name,
    distribution_pb2.DESCRIPTOR.services_by_name["DistributionService"].full_name,
    quality_pb2.DESCRIPTOR.services_by_name["QualityService"].full_name,
)


@dataclass(frozen=True)
class Served:
    """The started server, its port, and its services as this process calls them without the
    network (the receiver gateway does)."""

    server: grpc.aio.Server
    port: int
    local: InProcessServer


async def create_server(
    pool: Pool,
    address: str,
    distributor: Distributor,
    receiver_url: str = "http://127.0.0.1:8080",
) -> Served:
    """Build and start the server on `address` (port 0 picks one)."""

    accounts = Accounts(pool)
    interceptors = [ServiceInterceptor(accounts.authenticate)]
    server = grpc.aio.server(interceptors=interceptors)
    local = InProcessServer(interceptors)
    admin = AdminServicer(
        accounts=accounts,
        catalog=Catalog(pool),
        buyer_reads=BuyerReads(pool),
        buyer_edits=BuyerEdits(pool),
        config=ConfigApply(pool),
        find_leads=partial(lead_reads.find_by_reference, pool),
        receiver_url=receiver_url,
    )
    intake = LeadIntake(pool, zip_codes.city_state, distributor)
    leads = LeadServicer(intake, distributor)
    distribution = DistributionServicer(pool, distributor)
    quality = QualityServicer(QcReview(pool, on_approved=distributor.wake), Returns(pool))
    for target in (server, local):
        registrar = cast(grpc.aio.Server, target)  # InProcessServer takes what the server takes
        admin_pb2_grpc.add_AdminServiceServicer_to_server(admin, registrar)
        leads_pb2_grpc.add_LeadServiceServicer_to_server(leads, registrar)
        distribution_pb2_grpc.add_DistributionServiceServicer_to_server(distribution, registrar)
        quality_pb2_grpc.add_QualityServiceServicer_to_server(quality, registrar)
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
