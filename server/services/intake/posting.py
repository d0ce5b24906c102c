"""Posting leads, as the insert URLs do: submit them, deliver them first when the answer
needs the buyers' outcome, and choose where a redirect sends its visitor."""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.intake.screening import (
    Delivered,
    DeliveredSend,
    SaleKind,
    delivered,
    visitor_redirect,
)
from server.domain.sales.sends import Send
from server.services.distribution.engine import Distributor
from server.services.intake.requests import PostOutcome, Submission
from server.services.intake.submit import SubmitLeads


@dataclass(frozen=True)
class LeadAnswer:
    """One lead's answer: its outcome and, when it was delivered before answering, its
    sends in waterfall order and what they mean for the answer."""

    outcome: PostOutcome
    sends: tuple[Send, ...] = ()
    delivered: Delivered | None = None


@dataclass(frozen=True)
class PostAnswer:
    leads: list[LeadAnswer]
    redirect_to: str  # where a redirect post sends its visitor; "" for other posts


class PostLeads:
    """The insert URLs' use case: submit, deliver before answering, choose the redirect."""

    def __init__(self, submit: SubmitLeads, engine: Distributor) -> None:
        self._submit = submit
        self._engine = engine

    async def post(
        self, submission: Submission, *, wait_for_sends: bool = False, return_url: str = ""
    ) -> PostAnswer:
        """Store the posted leads; when the caller waits for the sends (returnsends), or the
        kind of sale needs the buyers' outcome (live transfer: the agents; redirect: the URL),
        walk each accepted lead's waterfall before answering."""
        kind = submission.sale_kind
        answers = [LeadAnswer(o) for o in await self._submit.submit(submission)]
        if wait_for_sends or kind.delivers_before_answer:
            answers = [await self._delivered(answer, kind) for answer in answers]
        redirect_to = ""
        if kind is SaleKind.Redirect:
            urls = [a.delivered.redirect_url if a.delivered else "" for a in answers]
            redirect_to = visitor_redirect(urls, return_url)
        return PostAnswer(answers, redirect_to)

    async def _delivered(self, answer: LeadAnswer, kind: SaleKind) -> LeadAnswer:
        outcome = answer.outcome
        if not outcome.lead_id:
            return answer
        sends = await self._engine.deliver_now(outcome.account_id, outcome.lead_id)
        meaning = delivered(kind, [_delivered_send(s) for s in sends])
        return LeadAnswer(outcome, tuple(sends), meaning)


def _delivered_send(send: Send) -> DeliveredSend:
    return DeliveredSend(
        client_id=send.client_id,
        client_name=send.client_name,
        sold=send.sold,
        price=send.price,
        redirect_url=send.redirect_url,
        account_type=send.account_type,
        agent_name=send.agent_name,
        agent_phone=send.agent_phone,
    )
