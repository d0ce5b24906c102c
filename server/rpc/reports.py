"""leadrouter.v1.ReportService: translates messages and calls the reports use case."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeAlias

from leadrouter.v1 import reports_pb2, reports_pb2_grpc

from server.domain.reports import Dimension, ProfitAndLoss, ReportQuery, total
from server.errors import InvalidArgument, Violation
from server.rpc.convert import decimal_text
from server.rpc.interceptor import caller
from server.services.reports import Reports

Context: TypeAlias = Any  # grpc.aio.ServicerContext; grpc ships no type stubs


def _account() -> int:
    return caller().account_id


def _day(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidArgument([Violation(where, f"{text!r} is not a day (YYYY-MM-DD)")]) from None


def _dimensions(values: Any) -> frozenset[Dimension]:
    """The request's group_by: none means by day; UNSPECIFIED alone means one total row."""
    if not values:
        return frozenset({Dimension.DAY})
    found: set[Dimension] = set()
    for value in values:
        if value == reports_pb2.REPORT_DIMENSION_UNSPECIFIED:
            continue
        try:
            found.add(Dimension(value))
        except ValueError:
            raise InvalidArgument([Violation("group_by", f"unknown dimension {value}")]) from None
    return frozenset(found)


def row_message(row: ProfitAndLoss) -> reports_pb2.ProfitAndLossRow:
    return reports_pb2.ProfitAndLossRow(
        day=row.day.isoformat() if row.day else "",
        source_id=row.source_id or 0,
        source_name=row.source_name,
        campaign_id=row.campaign_id or 0,
        campaign_name=row.campaign_name,
        buyer_id=row.buyer_id or 0,
        buyer_name=row.buyer_name,
        lead_type_id=row.lead_type_id or 0,
        lead_type_name=row.lead_type_name,
        received=row.received,
        accepted=row.accepted,
        refused=row.refused,
        refusals=[reports_pb2.Refusal(reason=k, count=v) for k, v in row.refusals.items()],
        sold=row.sold,
        sends=row.sends,
        revenue=decimal_text(row.revenue),
        source_cost=decimal_text(row.source_cost),
        returns=row.returns,
        credits=decimal_text(row.credits),
        source_credits=decimal_text(row.source_credits),
        margin=decimal_text(row.margin),
    )


class ReportServicer(reports_pb2_grpc.ReportServiceServicer):
    """An account's profit and loss, and the rebuild of its aggregates."""

    def __init__(self, reports: Reports) -> None:
        self._reports = reports

    async def GetProfitAndLoss(
        self, request: reports_pb2.GetProfitAndLossRequest, context: Context
    ) -> reports_pb2.GetProfitAndLossResponse:
        query = ReportQuery(
            since=_day(request.from_day, "from_day"),
            until=_day(request.to_day, "to_day"),
            by=_dimensions(request.group_by),
            source_id=request.source_id,
            campaign_id=request.campaign_id,
            buyer_id=request.buyer_id,
            lead_type_id=request.lead_type_id,
        )
        rows = await self._reports.profit_and_loss(_account(), query)
        return reports_pb2.GetProfitAndLossResponse(
            rows=[row_message(r) for r in rows], total=row_message(total(rows))
        )

    async def RebuildReports(
        self, request: reports_pb2.RebuildReportsRequest, context: Context
    ) -> reports_pb2.RebuildReportsResponse:
        since = _day(request.from_day, "from_day")
        until = _day(request.to_day, "to_day")
        await self._reports.rebuild(_account(), since, until)
        return reports_pb2.RebuildReportsResponse()

    async def UpdateLeadReportCache(
        self, request: reports_pb2.UpdateLeadReportCacheRequest, context: Context
    ) -> reports_pb2.UpdateLeadReportCacheResponse:
        day = await self._reports.rebuild_lead(_account(), request.lead_id)
        return reports_pb2.UpdateLeadReportCacheResponse(day=day.isoformat())
