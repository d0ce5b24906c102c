"""Posting leads, as the insert URLs do: submit them, deliver them first when the answer
needs the buyers' outcome, and choose where a redirect sends its visitor.

A caller that waits a limited time is answered within it: past `answer_deadline` no further
lead is started and no delivery waited for, so that no lead stored is left without its answer
(docs/decisions.md, "An answer for every lead stored").
"""

from __future__ import annotations

import time
from collections.abc import Sequence
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
from server.services.intake.submit import Record, SubmitLeads


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


# How long the synchronous insert URLs wait for a lead's deliveries at most.
DELIVERY_WAIT_SECONDS = 25.0


def answer_deadline(time_remaining: float | None) -> float | None:
    """When to start no more work (time.monotonic()) for a caller that waits `time_remaining`
    seconds (None: as long as it takes): a fifth of the time, and at least a second, is kept
    for the lead in hand and the answer."""
    if time_remaining is None:
        return None
    return time.monotonic() + time_remaining - max(1.0, time_remaining / 5)


class PostLeads:
    """The insert URLs' use case: submit, deliver before answering, choose the redirect."""

    def __init__(self, submit: SubmitLeads, engine: Distributor) -> None:
        self._submit = submit
        self._engine = engine

    async def post(
        self,
        submission: Submission,
        *,
        wait_for_sends: bool = False,
        return_url: str = "",
        deadline: float | None = None,
        answered: Sequence[PostOutcome] = (),
        record: Record | None = None,
    ) -> PostAnswer:
        """Store the posted leads; when the caller waits for the sends (returnsends), or the
        kind of sale needs the buyers' outcome (live transfer: the agents; redirect: the URL),
        walk each accepted lead's waterfall before answering. Past `deadline` (see
        `answer_deadline`) the leads not started are answered as not processed, and the sends
        of those stored are listed as they stand.

        A queued post's worker gives the answers of the leads an earlier attempt stored
        (`answered`: they are not stored again, only answered) and has each lead's answer
        recorded in the transaction that stores it (`record`, see SubmitLeads.submit)."""
        kind = submission.sale_kind
        outcomes = list(answered)
        if not outcomes or len(outcomes) < len(submission.leads):
            outcomes += await self._submit.submit(
                submission, deadline, start=len(outcomes), record=record
            )
        at_once = self.answer_at_once(submission, outcomes, wait_for_sends=wait_for_sends)
        if at_once is not None:
            return at_once
        answers = [await self._delivered(LeadAnswer(o), kind, deadline) for o in outcomes]
        redirect_to = ""
        if kind is SaleKind.Redirect:
            urls = [a.delivered.redirect_url if a.delivered else "" for a in answers]
            redirect_to = visitor_redirect(urls, return_url)
        return PostAnswer(answers, redirect_to)

    @staticmethod
    def answer_at_once(
        submission: Submission, outcomes: Sequence[PostOutcome], *, wait_for_sends: bool
    ) -> PostAnswer | None:
        """The answer to the submitted leads' `outcomes` when it needs no delivery first;
        None when it does (the caller waits for the sends, or the kind of sale needs the
        buyers' outcome)."""
        if wait_for_sends or submission.sale_kind.delivers_before_answer:
            return None
        return PostAnswer([LeadAnswer(o) for o in outcomes], redirect_to="")

    async def _delivered(
        self, answer: LeadAnswer, kind: SaleKind, deadline: float | None
    ) -> LeadAnswer:
        outcome = answer.outcome
        if not outcome.lead_id:
            return answer
        wait = DELIVERY_WAIT_SECONDS
        if deadline is not None:
            wait = max(0.0, min(wait, deadline - time.monotonic()))
        sends = await self._engine.deliver_now(outcome.account_id, outcome.lead_id, wait)
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
