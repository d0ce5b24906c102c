"""leadrouter.v1.LeadService: translates messages and calls the intake use cases."""

from __future__ import annotations

from typing import Any, TypeAlias

from leadrouter.v1 import admin_pb2, leads_pb2, leads_pb2_grpc

from server.domain.catalog import instructions
from server.domain.intake.call_data import CALL_DATE, CALL_DURATION, CALL_RESULT, IVR_NUMBER
from server.domain.intake.offers import OfferChoice, Offered
from server.domain.intake.queueing import QueueState
from server.domain.intake.records import LeadSummary, PostStatus
from server.domain.intake.screening import SaleKind
from server.errors import InvalidArgument, NotFound, Violation
from server.rpc.convert import callback_message, decimal_text, offer_fields, stamp, struct
from server.services.intake.duplicates import CheckDuplicate
from server.services.intake.instructions import SourceInstructions
from server.services.intake.ping import PingLead
from server.services.intake.posting import LeadAnswer, PostAnswer, PostLeads, answer_deadline
from server.services.intake.queueing import AnswerForm, QueuedRequest, QueueLeads
from server.services.intake.requests import PingAnswer, PostedLead, PostOutcome, Submission
from server.services.intake.update import UpdateLead
from server.services.leads import Leads

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
                tags=tuple(lead.tags),
                offer=offer_choice(lead.offer),
                visit_id=lead.visit_id,
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
        v2=request.v2,
        order_id=request.order_id,
    )


def offer_choice(offer: leads_pb2.OfferChoice) -> OfferChoice:
    return OfferChoice(
        offer_ids=tuple(offer.offer_ids),
        consent=offer.consent,
        consented_at=offer.consented_at,
        ip_address=offer.ip_address,
        user_agent=offer.user_agent,
        page_url=offer.page_url,
        trusted_form_cert=offer.trusted_form_cert,
        jornaya_lead_id=offer.jornaya_lead_id,
    )


def offer_message(offered: Offered) -> leads_pb2.Offer:
    message = leads_pb2.Offer(
        id=str(offered.id), client_id=offered.client_id, client_name=offered.client_name
    )
    for name, value in offer_fields(offered.offer).items():
        setattr(message, name, value)
    return message


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
        offers=[offer_message(o) for o in outcome.offers],
    )


def answer_message(answer: LeadAnswer) -> leads_pb2.PostResult:
    """A lead's answer: its outcome, and when it was delivered first, every send, the
    redirect URL and the agents."""
    result = result_message(answer.outcome)
    if answer.delivered is None:
        return result
    result.sends.extend(
        leads_pb2.SendSummary(
            client_id=s.client_id,
            client_name=s.client_name,
            redirect_url=s.redirect_url,
            valid=s.sold,
            price=decimal_text(s.price),
        )
        for s in answer.sends
    )
    result.redirect_url = answer.delivered.redirect_url
    result.agents.extend(
        leads_pb2.TransferAgent(
            client_id=a.client_id,
            client_name=a.client_name,
            agent_name=a.agent_name,
            agent_phone=a.agent_phone,
        )
        for a in answer.delivered.agents
    )
    return result


def response_message(answer: PostAnswer) -> leads_pb2.SubmitLeadsResponse:
    """A request's answers, as SubmitLeads gives them."""
    return leads_pb2.SubmitLeadsResponse(
        results=[answer_message(a) for a in answer.leads], redirect_to=answer.redirect_to
    )


QUEUE_STATES = {
    QueueState.Queued: leads_pb2.QUEUE_STATE_QUEUED,
    QueueState.Processing: leads_pb2.QUEUE_STATE_PROCESSING,
    QueueState.Processed: leads_pb2.QUEUE_STATE_PROCESSED,
}


def status_message(status: PostStatus) -> leads_pb2.PostStatus:
    message = leads_pb2.PostStatus(
        post_id=status.post_id,
        lead_id=status.lead_id,
        is_valid=status.is_valid,
        rejection_reason="" if status.is_valid else status.response_details,
        campaign_id=status.campaign_id,
        qc_pending_review=status.qc_pending_review,
        qc_rejected=status.qc_rejected,
        qc_rejection_reason=status.qc_reason,
        is_returned=status.returned_at is not None,
        return_reason=status.return_reason,
        price=decimal_text(status.price),
    )
    stamp(message.date_received, status.received_at)
    stamp(message.qc_date_of_review, status.qc_reviewed_at)
    stamp(message.date_of_return, status.returned_at)
    queue = status.queue
    if queue is not None:
        message.queue_state = QUEUE_STATES[queue.state]
        message.answer_format = queue.response_format
        stamp(message.date_processed, queue.processed_at)
        message.answer_content_type = queue.answer_type
        message.answer = queue.answer
        if queue.callback is not None:
            message.callback.CopyFrom(callback_message(queue.callback))
    return message


def ping_message(answer: PingAnswer) -> leads_pb2.PingResult:
    message = leads_pb2.PingResult(
        request_id=answer.request_id,
        will_accept=answer.will_accept,
        order_id=answer.order_id,
        estimated_price=decimal_text(answer.price),
        response=answer.details,
        response_type=int(answer.response),  # type: ignore[arg-type]
        campaign_id=answer.campaign_id,
        offers=[offer_message(o) for o in answer.offers],
    )
    stamp(message.order_expires_on, answer.expires_at)
    return message


def lead_summary(lead: LeadSummary) -> admin_pb2.LeadSummary:
    message = admin_pb2.LeadSummary(
        id=lead.id,
        post_id=lead.post_id,
        source_id=lead.source_id,
        campaign_id=lead.campaign_id,
        lead_type_id=lead.lead_type_id,
        reference=lead.reference,
        no_sell=lead.no_sell,
        price=decimal_text(lead.price),
        tags=lead.tags,
    )
    stamp(message.received_at, lead.received_at)
    return message


class LeadServicer(leads_pb2_grpc.LeadServiceServicer):
    def __init__(
        self,
        post: PostLeads,
        queue: QueueLeads,
        update: UpdateLead,
        duplicates: CheckDuplicate,
        instructions: SourceInstructions,
        leads: Leads,
        ping: PingLead,
    ) -> None:
        self._post = post
        self._queue = queue
        self._update = update
        self._duplicates = duplicates
        self._instructions = instructions
        self._leads = leads
        self._ping = ping

    async def SubmitLeads(
        self, request: leads_pb2.SubmitLeadsRequest, context: Context
    ) -> leads_pb2.SubmitLeadsResponse:
        answer = await self._post.post(
            submission(request),
            wait_for_sends=request.wait_for_sends,
            return_url=request.return_url,
            deadline=answer_deadline(context.time_remaining()),
        )
        return response_message(answer)

    async def QueueLeads(
        self, request: leads_pb2.QueueLeadsRequest, context: Context
    ) -> leads_pb2.QueueLeadsResponse:
        posted = request.request
        form = request.answer
        answer = await self._queue.queue(
            QueuedRequest(
                submission(posted), posted.wait_for_sends, posted.return_url, request.ping
            ),
            AnswerForm(form.endpoint, form.response_type, form.receiver_url),
        )
        message = leads_pb2.QueueLeadsResponse(
            queued=answer.queued,
            post_id=answer.post_id,
            details=answer.details,
            refused=[result_message(outcome) for outcome in answer.refused],
        )
        if answer.refused_ping is not None:
            message.refused_ping.CopyFrom(ping_message(answer.refused_ping))
        return message

    async def PingLead(
        self, request: leads_pb2.SubmitLeadsRequest, context: Context
    ) -> leads_pb2.PingResult:
        return ping_message(await self._ping.ping(submission(request)))

    async def UpdateLead(
        self, request: leads_pb2.SubmitLeadsRequest, context: Context
    ) -> leads_pb2.SubmitLeadsResponse:
        outcome = await self._update.update(submission(request))
        return leads_pb2.SubmitLeadsResponse(results=[result_message(outcome)])

    async def GetSourceInstructions(
        self, request: leads_pb2.SourceInstructionsRequest, context: Context
    ) -> admin_pb2.PostingInstructions:
        credentials = request.credentials
        document = await self._instructions.instructions(
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
        found = await self._duplicates.check(submission(request))
        message = leads_pb2.DuplicateCheck(
            post_id=found.post_id,
            is_duplicate=found.is_duplicate,
            duplicate_lead_id=found.lead_id,
            response=found.response,
        )
        stamp(message.received_on, found.received_on)
        return message

    async def GetPostStatus(
        self, request: leads_pb2.GetPostStatusRequest, context: Context
    ) -> leads_pb2.PostStatus:
        status = await self._leads.post_status(request.post_id)
        if status is None:
            raise NotFound(f"no post {request.post_id!r}")
        return status_message(status)
