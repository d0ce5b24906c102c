"""leadrouter.v1.DistributionService: translates messages and calls the distribution engine."""

from __future__ import annotations

from typing import Any, TypeAlias

from leadrouter.v1 import distribution_pb2, distribution_pb2_grpc

from server.errors import InvalidArgument
from server.rpc.convert import decimal_text
from server.rpc.interceptor import caller
from server.services import distribution
from server.services.catalog import Pool
from server.services.distribution import Distributor, Scan

Context: TypeAlias = Any  # grpc.aio.ServicerContext; grpc ships no type stubs


def _account() -> int:
    return caller().account_id


def send_message(row: dict[str, Any]) -> distribution_pb2.Send:
    message = distribution_pb2.Send(
        id=row["id"],
        lead_id=row["lead_id"],
        client_id=row["client_id"],
        client_name=row["client_name"],
        account_id=row["delivery_account_id"],
        delivery_id=row["delivery_id"],
        status=row["status"],
        valid=row["status"] == distribution.SOLD,
        price=decimal_text(row["price"]),
        request=row["request"],
        response=row["response"],
        reason=row["reason"],
        redirect_url=row["redirect_url"],
        attempts=row["attempts"],
        elapsed_ms=row["elapsed_ms"],
        automated=row["automated"],
        order_id=row["order_id"] or 0,
        order_item_id=row["order_item_id"] or 0,
    )
    message.created_at.FromDatetime(row["created_at"])
    if row["sent_at"] is not None:
        message.sent_at.FromDatetime(row["sent_at"])
    return message


def scan_message(scan: Scan) -> distribution_pb2.ScanResult:
    ordered = scan.ranked + [e for e in scan.entries if not e.rank]
    return distribution_pb2.ScanResult(
        lead_id=scan.lead_id,
        max_sells=scan.max_sells,
        summary=scan.report,
        accounts=[
            distribution_pb2.ScannedAccount(
                client_id=e.view.client_id,
                client_name=e.view.client_name,
                account_id=e.view.id,
                account_name=e.view.description or e.view.key,
                eligible=bool(e.rank),
                rank=e.rank,
                reason=e.reason,
            )
            for e in ordered
        ],
    )


class DistributionServicer(distribution_pb2_grpc.DistributionServiceServicer):
    def __init__(self, pool: Pool, distributor: Distributor) -> None:
        self._pool = pool
        self._distributor = distributor

    async def GetClientsForLead(
        self, request: distribution_pb2.GetClientsForLeadRequest, context: Context
    ) -> distribution_pb2.ClientsForLead:
        scan = await self._distributor.scan_lead(
            _account(),
            request.lead_id,
            automated_only=request.automated_only,
            allow_over_max=request.allow_over_max,
        )
        return distribution_pb2.ClientsForLead(
            clients=[
                distribution_pb2.ClientForLead(
                    client_id=e.view.client_id,
                    client_name=e.view.client_name,
                    account_id=e.view.id,
                    order_id=scan.orders[e.view.id].order_id if e.view.id in scan.orders else 0,
                    order_item_id=(
                        scan.orders[e.view.id].item_id if e.view.id in scan.orders else 0
                    ),
                    automation=e.view.automation_enabled,
                    price=decimal_text(e.view.price),
                    reason=e.reason,
                )
                for e in scan.ranked
            ]
        )

    async def DryRun(
        self, request: distribution_pb2.DryRunRequest, context: Context
    ) -> distribution_pb2.ScanResult:
        if request.lead_id:
            scan = await self._distributor.scan_lead(_account(), request.lead_id)
            return scan_message(scan)
        if not request.lead_type_id:
            raise InvalidArgument("give a lead_id, or a lead_type_id and fields")
        scan = await self._distributor.scan_fields(
            _account(), request.lead_type_id, [(f.name, f.value) for f in request.fields]
        )
        return scan_message(scan)

    async def GetLeadScanLog(
        self, request: distribution_pb2.GetLeadScanLogRequest, context: Context
    ) -> distribution_pb2.LeadScanLog:
        rows = await distribution.scan_log(self._pool, _account(), request.lead_id)
        log = distribution_pb2.LeadScanLog()
        for row in rows:
            entry = log.entries.add(lead_id=row["lead_id"], log=row["log"])
            entry.scan_date.FromDatetime(row["scanned_at"])
        return log

    async def ListSends(
        self, request: distribution_pb2.ListSendsRequest, context: Context
    ) -> distribution_pb2.ListSendsResponse:
        rows = await distribution.list_sends(self._pool, _account(), request.lead_id)
        return distribution_pb2.ListSendsResponse(sends=[send_message(r) for r in rows])
