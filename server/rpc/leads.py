"""leadrouter.v1.LeadService: translates messages and calls the intake use case."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, TypeAlias

from google.protobuf.timestamp_pb2 import Timestamp
from leadrouter.v1 import admin_pb2, leads_pb2, leads_pb2_grpc

from server.domain.buyers.specs import AccountType
from server.domain.catalog import instructions
from server.domain.intake.call_data import CALL_DATE, CALL_DURATION, CALL_RESULT, IVR_NUMBER
from server.domain.intake.screening import DeliveredSend, SaleKind, delivered, visitor_redirect
from server.domain.sales.sends import SendStatus
from server.errors import InvalidArgument, NotFound, Violation
from server.rpc.convert import decimal_text, struct
from server.services.distribution import Distributor
from server.services.intake import LeadIntake, PostedLead, PostOutcome, Submission

Context: TypeAlias = Any  # grpc.aio.ServicerContext; grpc ships no type stubs


def sale_kind(number: int) -> SaleKind:
    try:
        return SaleKind(number)
    except ValueError:
        raise InvalidArgument([Violation("sale_kind", f"unknown value {number}")]) from None


def call_input(call: leads_pb2.CallInput) -> tuple[tuple[str, str], ...]:
    """A lead's posted call data, by pseudo-field name."""
    return (
        (IVR_NUMBER.name, call.ivr_number),
        (CALL_DURATION.name, call.call_duration),
        (CALL_RESULT.name, call.call_result),
        (CALL_DATE.name, call.call_date),
    )


def submission(request: leads_pb2.SubmitLeadsRequest) -> Submission:
    credentials = request.credentials
    return Submission(
        vid=credentials.vid,
        lid=credentials.lid,
        aid=credentials.aid,
        password=credentials.password,
        api_key=credentials.api_key,
        send_delay_hours=request.send_delay_hours,
        leads=tuple(
            PostedLead(
                reference=lead.reference,
                no_sell=lead.no_sell,
                fields=tuple((f.name, f.value) for f in lead.fields),
                call=call_input(lead.call),
            )
            for lead in request.leads
        ),
        remote_ip=request.remote_ip,
        request_format=request.request_format,
        raw_request=request.raw_request,
        parse_error=request.parse_error,
        lead_uid=request.lead_uid,
        process_delivery=request.process_delivery,
        sale_kind=sale_kind(request.sale_kind),
    )


def delivered_send(row: dict[str, Any]) -> DeliveredSend:
    """A row of `list_sends`, as the answer to a post needs it."""
    return DeliveredSend(
        client_id=row["client_id"],
        client_name=row["client_name"],
        sold=row["status"] == SendStatus.SOLD,
        price=row["price"],
        redirect_url=row["redirect_url"],
        account_type=AccountType(row["account_type"]),
        agent_name=row["agent_name"],
        agent_phone=row["agent_phone"],
    )


def add_deliveries(
    result: leads_pb2.PostResult, kind: SaleKind, rows: list[dict[str, Any]]
) -> None:
    """Fill a post's answer from its lead's sends: every send, the redirect URL, the agents."""
    sends = [delivered_send(row) for row in rows]
    result.sends.extend(
        leads_pb2.SendSummary(
            client_id=s.client_id,
            client_name=s.client_name,
            redirect_url=s.redirect_url,
            valid=s.sold,
            price=decimal_text(s.price),
        )
        for s in sends
    )
    outcome = delivered(kind, sends)
    result.redirect_url = outcome.redirect_url
    result.agents.extend(
        leads_pb2.TransferAgent(
            client_id=a.client_id,
            client_name=a.client_name,
            agent_name=a.agent_name,
            agent_phone=a.agent_phone,
        )
        for a in outcome.agents
    )


def result_message(outcome: PostOutcome) -> leads_pb2.PostResult:
    return leads_pb2.PostResult(
        post_id=outcome.post_id,
        is_valid_post=outcome.accepted,
        response_type=int(outcome.response),  # type: ignore[arg-type]
        response_details=outcome.details,
        lead_id=outcome.lead_id,
        campaign_id=outcome.campaign_id,
        pending_qc_review=outcome.pending_qc,
        price=str(outcome.price),
    )


def _stamp(target: Timestamp, value: datetime | None) -> None:
    if value is not None:
        target.FromDatetime(value)


def status_message(row: dict[str, Any]) -> leads_pb2.PostStatus:
    message = leads_pb2.PostStatus(
        post_id=str(row["id"]),
        lead_id=row["lead_id"] or 0,
        is_valid=row["is_valid"],
        rejection_reason="" if row["is_valid"] else row["response_details"],
        campaign_id=row["campaign_id"] or 0,
        qc_pending_review=bool(row["pending_qc"]) and row["qc_reviewed_at"] is None,
        qc_rejected=bool(row["qc_rejected"]),
        qc_rejection_reason=row["qc_reason"] or "",
        is_returned=row["returned_at"] is not None,
        return_reason=row["return_reason"] or "",
        price=decimal_text(row["price"] or Decimal(0)),
    )
    _stamp(message.date_received, row["received_at"])
    _stamp(message.qc_date_of_review, row["qc_reviewed_at"])
    _stamp(message.date_of_return, row["returned_at"])
    return message


class LeadServicer(leads_pb2_grpc.LeadServiceServicer):
    def __init__(self, intake: LeadIntake, distributor: Distributor) -> None:
        self._intake = intake
        self._distributor = distributor

    async def SubmitLeads(
        self, request: leads_pb2.SubmitLeadsRequest, context: Context
    ) -> leads_pb2.SubmitLeadsResponse:
        posted = submission(request)
        outcomes = await self._intake.submit(posted)
        results = [result_message(o) for o in outcomes]
        kind = posted.sale_kind
        if request.wait_for_sends or kind.delivers_before_answer:
            for outcome, result in zip(outcomes, results, strict=True):
                if outcome.lead_id:
                    rows = await self._distributor.deliver_now(outcome.account_id, outcome.lead_id)
                    add_deliveries(result, kind, rows)
        response = leads_pb2.SubmitLeadsResponse(results=results)
        if kind is SaleKind.Redirect:
            urls = [r.redirect_url for r in results]
            response.redirect_to = visitor_redirect(urls, request.return_url)
        return response

    async def UpdateLead(
        self, request: leads_pb2.SubmitLeadsRequest, context: Context
    ) -> leads_pb2.SubmitLeadsResponse:
        outcome = await self._intake.update(submission(request))
        return leads_pb2.SubmitLeadsResponse(results=[result_message(outcome)])

    async def GetSourceInstructions(
        self, request: leads_pb2.SourceInstructionsRequest, context: Context
    ) -> admin_pb2.PostingInstructions:
        credentials = request.credentials
        document = await self._intake.source_instructions(
            Submission(
                vid=credentials.vid,
                lid=credentials.lid,
                aid=credentials.aid,
                password=credentials.password,
                api_key=credentials.api_key,
            ),
            request.receiver_url,
        )
        return admin_pb2.PostingInstructions(
            markdown=instructions.to_markdown(document), document=struct(document)
        )

    async def CheckDuplicate(
        self, request: leads_pb2.SubmitLeadsRequest, context: Context
    ) -> leads_pb2.DuplicateCheck:
        found = await self._intake.check_duplicate(submission(request))
        message = leads_pb2.DuplicateCheck(
            post_id=found.post_id,
            is_duplicate=found.is_duplicate,
            duplicate_lead_id=found.lead_id,
            response=found.response,
        )
        _stamp(message.received_on, found.received_on)
        return message

    async def GetPostStatus(
        self, request: leads_pb2.GetPostStatusRequest, context: Context
    ) -> leads_pb2.PostStatus:
        row = await self._intake.post_status(request.post_id)
        if row is None:
            raise NotFound(f"no post {request.post_id!r}")
        return status_message(row)
