"""leadrouter.v1.QualityService: translates messages and calls the QC and returns use cases."""

from __future__ import annotations

from typing import Any, TypeAlias

from leadrouter.v1 import leads_pb2, quality_pb2, quality_pb2_grpc

from server.domain.sales.quality import Decision, QcLead, ReturnedSend
from server.rpc.convert import decimal_text, stamp
from server.rpc.interceptor import caller
from server.services.quality.returns import Returns
from server.services.quality.review import QcReview

Context: TypeAlias = Any  # grpc.aio.ServicerContext; grpc ships no type stubs


def _account() -> int:
    return caller().account_id


def _text(value: object) -> str:
    """A stored field value as the wire's text (booleans as 1 and 0, as delivered)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def qc_lead_message(lead: QcLead) -> quality_pb2.QcLead:
    message = quality_pb2.QcLead(
        lead_id=lead.lead_id,
        post_id=str(lead.post_id),
        source_id=lead.source_id,
        campaign_id=lead.campaign_id,
        lead_type_id=lead.lead_type_id,
        reference=lead.reference,
        fields=[leads_pb2.FieldValue(name=k, value=_text(v)) for k, v in lead.fields.items()],
        price=decimal_text(lead.price),
    )
    stamp(message.received_at, lead.received_at)
    return message


def decision_message(decision: Decision) -> quality_pb2.QcDecision:
    message = quality_pb2.QcDecision(lead_id=decision.lead_id, approved=decision.approved)
    stamp(message.reviewed_at, decision.reviewed_at)
    stamp(message.distribution_due_at, decision.due_at)
    return message


def returned_message(send: ReturnedSend) -> quality_pb2.ReturnedSend:
    message = quality_pb2.ReturnedSend(
        send_id=send.send_id,
        lead_id=send.lead_id,
        client_id=send.client_id,
        client_name=send.client_name,
        price=decimal_text(send.price),
        reason=send.return_reason,
    )
    stamp(message.sold_at, send.sold_at)
    stamp(message.returned_at, send.returned_at)
    return message


class QualityServicer(quality_pb2_grpc.QualityServiceServicer):
    """The QC bin's review and buyers' returns of an account."""

    def __init__(self, review: QcReview, returns: Returns) -> None:
        self._review = review
        self._returns = returns

    async def ListQcLeads(
        self, request: quality_pb2.ListQcLeadsRequest, context: Context
    ) -> quality_pb2.ListQcLeadsResponse:
        page = await self._review.list_bin(
            _account(), request.campaign_id, request.page_size, request.after_lead_id
        )
        return quality_pb2.ListQcLeadsResponse(
            leads=[qc_lead_message(r) for r in page.rows], next_after_lead_id=page.next_after
        )

    async def ApproveLead(
        self, request: quality_pb2.ApproveLeadRequest, context: Context
    ) -> quality_pb2.QcDecision:
        decision = await self._review.approve(_account(), request.lead_id, request.note)
        return decision_message(decision)

    async def RejectLead(
        self, request: quality_pb2.RejectLeadRequest, context: Context
    ) -> quality_pb2.QcDecision:
        decision = await self._review.reject(_account(), request.lead_id, request.reason)
        return decision_message(decision)

    async def ReturnSend(
        self, request: quality_pb2.ReturnSendRequest, context: Context
    ) -> quality_pb2.ReturnSendResponse:
        outcome = await self._returns.return_sends(
            _account(),
            request.reason,
            send_id=request.send_id,
            lead_id=request.lead_id,
            client_id=request.client_id,
        )
        return quality_pb2.ReturnSendResponse(
            sends=[returned_message(r) for r in outcome.sends],
            return_days=outcome.return_days,
            lead_returned=outcome.lead_returned,
            returned_to_source=outcome.returned_to_source,
            source_credit=decimal_text(outcome.source_credit),
        )

    async def ListReturns(
        self, request: quality_pb2.ListReturnsRequest, context: Context
    ) -> quality_pb2.ListReturnsResponse:
        page = await self._returns.list_returns(
            _account(), request.client_id, request.lead_id, request.page_size, request.after_send_id
        )
        return quality_pb2.ListReturnsResponse(
            sends=[returned_message(r) for r in page.rows], next_after_send_id=page.next_after
        )
