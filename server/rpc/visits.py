"""leadrouter.v1.VisitService: translates messages and calls the use cases, nothing more."""

from __future__ import annotations

from typing import Any, TypeAlias

from leadrouter.v1 import visits_pb2, visits_pb2_grpc

from server.domain.visits import Tracking, VisitRecord
from server.rpc.convert import stamp
from server.rpc.interceptor import caller
from server.services.visits import RecordVisit, Trackings, VisitReads

Context: TypeAlias = Any  # grpc.aio.ServicerContext; grpc ships no type stubs


def visit_message(visit: VisitRecord) -> visits_pb2.Visit:
    message = visits_pb2.Visit(
        tracking_id=visit.tracking_id,
        visit_id=visit.visit_id,
        user_agent=visit.user_agent,
        ip=visit.ip,
        url=visit.url,
        host=visit.host,
        enter_page=visit.enter_page,
        exit_page=visit.exit_page,
        referrer=visit.referrer,
        referrer_host=visit.referrer_host,
        search_engine=visit.search_engine,
        search_term=visit.search_term,
        browser=visit.browser,
        os=visit.os,
        device=visit.device,
        page_views=visit.page_views,
        first_visit=visit.first_visit,
    )
    stamp(message.enter_date, visit.enter_date)
    stamp(message.exit_date, visit.exit_date)
    return message


def tracking_message(tracking: Tracking) -> visits_pb2.Tracking:
    message = visits_pb2.Tracking(id=tracking.id, name=tracking.name)
    stamp(message.created_at, tracking.created_at)
    return message


class VisitServicer(visits_pb2_grpc.VisitServiceServicer):
    """Tracking settings, recording page views, and reading visits."""

    def __init__(self, trackings: Trackings, record: RecordVisit, reads: VisitReads) -> None:
        self._trackings = trackings
        self._record = record
        self._reads = reads

    async def RecordVisit(
        self, request: visits_pb2.RecordVisitRequest, context: Context
    ) -> visits_pb2.RecordVisitResponse:
        done = await self._record.record(
            request.tracking_id,
            request.visit_id,
            request.page_url,
            request.referrer,
            request.visitor_id,
            request.remote_ip,
            request.user_agent,
        )
        return visits_pb2.RecordVisitResponse(recorded=done.recorded, visit_id=done.visit_id)

    async def GetVisit(
        self, request: visits_pb2.GetVisitRequest, context: Context
    ) -> visits_pb2.Visit:
        return visit_message(await self._reads.visit(caller().account_id, request.visit_id))

    async def GetLeadVisits(
        self, request: visits_pb2.GetLeadVisitsRequest, context: Context
    ) -> visits_pb2.Visits:
        found = await self._reads.lead_visits(caller().account_id, request.lead_id)
        return visits_pb2.Visits(visits=[visit_message(v) for v in found])

    async def CreateTracking(
        self, request: visits_pb2.CreateTrackingRequest, context: Context
    ) -> visits_pb2.Tracking:
        return tracking_message(await self._trackings.create(caller().account_id, request.name))

    async def ListTrackings(
        self, request: visits_pb2.ListTrackingsRequest, context: Context
    ) -> visits_pb2.Trackings:
        found = await self._trackings.list(caller().account_id)
        return visits_pb2.Trackings(trackings=[tracking_message(t) for t in found])
