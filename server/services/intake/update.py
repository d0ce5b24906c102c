"""Updating a lead from its source (/processor/update): change its fields, and with
processDelivery distribute it again.

An update that fails its credentials tells the caller nothing about the lead it names: once the
lead source and lead type are known, a missing lead, another source's or another type's, and
credentials that fail the lead's campaign all get one answer (`NOT_YOURS`) with no lead or
campaign id, in the answer and in the post's status alike. The post log's steps keep the real
reason, for the account's operators.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime

from server.domain import secrets
from server.domain.catalog.computed import compute_fields, set_computed
from server.domain.catalog.fields import clean_lead_values
from server.domain.intake.contacts import contact_keys
from server.domain.intake.duplicates import duplicate_key
from server.domain.intake.screening import ResponseType, Step, redistribution_refusal
from server.services.distribution.engine import Distributor
from server.services.intake import post_log
from server.services.intake.identify import (
    Identifier,
    Refused,
    Target,
    campaign_of_lead,
    micros,
    number_or_none,
)
from server.services.intake.requests import PostOutcome, Submission
from server.storage import jobs as job_store
from server.storage import leads as lead_store
from server.storage.database import Connection, Pool, transaction

NOT_YOURS = "No lead of this lead source and lead type matches lpleaduid and these credentials"


class UpdateLead:
    """Changes fields of a lead the source posted earlier (UpdateLead)."""

    def __init__(
        self, pool: Pool, identifier: Identifier, engine: Distributor | None = None
    ) -> None:
        self._pool = pool
        self._identifier = identifier
        self._engine = engine

    async def update(self, submission: Submission) -> PostOutcome:
        """Each posted field is cleaned and checked like a new lead's (required does not
        apply); the duplicate key follows. Identified, changed and logged in one transaction
        (a refusal changes nothing)."""
        target = Target()
        post_id = str(uuid.uuid4())
        started = time.perf_counter()
        redistribute = False
        async with transaction(self._pool) as conn:
            try:
                refused = await self._identifier.identified(
                    conn, submission, target, campaign_of_lead
                )
                if refused is not None:
                    raise refused
                if len(submission.leads) != 1:
                    raise Refused(ResponseType.Data_Errors, "An update carries exactly one lead")
                target.steps.append(Step("identify", "passed", "", micros(started)))
                outcome, redistribute = await _apply(conn, submission, target, post_id)
            except Refused as refused:  # raised before the lead is changed
                outcome = _refusal(submission, target, refused, post_id, started)
            await post_log.log(conn, submission, target, 0, outcome, target.steps)
        if redistribute and self._engine is not None:
            self._engine.accepted([(target.account_id, target.lead_id)])  # its job is due now
        return outcome


def _refusal(
    submission: Submission, target: Target, refused: Refused, post_id: str, started: float
) -> PostOutcome:
    """The answer to a refused update, its real reason logged as its last step. A refusal that
    could say whether the lead exists is `NOT_YOURS`, with no lead or campaign id (the post is
    logged without them, since the status URL shows them); when the lead was not found and a
    password was sent, it is checked against a dummy hash, as it would have been against the
    campaign's, so the refusal takes about as long either way."""
    detail = refused.details
    if target.lead_id:
        detail += f" (lead {target.lead_id}, campaign {target.campaign_id})"
    target.steps.append(Step("update", "failed", detail, micros(started)))
    hides_the_lead = (
        refused.response is ResponseType.No_Account_Found
        and target.lead_type_id is not None
        and number_or_none(submission.lead_uid) is not None
    )
    if not hides_the_lead:
        return PostOutcome(
            post_id,
            refused.response,
            refused.details,
            lead_id=target.lead_id,
            campaign_id=target.campaign_id or 0,
        )
    if target.lead is None and submission.password:
        secrets.password_matches(submission.password, secrets.DUMMY_HASH)
    target.campaign_id = None
    return PostOutcome(post_id, ResponseType.No_Account_Found, NOT_YOURS)


async def _apply(
    conn: Connection, submission: Submission, target: Target, post_id: str
) -> tuple[PostOutcome, bool]:
    """Change the lead, and with processDelivery restart its distribution; the outcome, and
    whether the lead's distribution job was restarted."""
    lead = target.lead  # locked when the update was identified
    assert lead is not None
    posted = dict(submission.leads[0].fields)
    if not posted and not submission.process_delivery:
        raise Refused(ResponseType.Data_Errors, "The update holds no field")
    optional = [replace(f, required=False) for f in target.fields]
    cleaned = clean_lead_values(optional, posted)
    post_log.unknown_fields(post_id, cleaned.extras)
    if not cleaned.ok:
        detail = "; ".join(str(p) for p in cleaned.problems)
        raise Refused(ResponseType.Data_Errors, f"Invalid fields: {detail}")
    values = {**lead.fields, **cleaned.values}
    extras = {**lead.extras, **cleaned.extras}
    computed = compute_fields(target.fields, values, datetime.now(UTC))
    if computed is not None:
        set_computed(values, computed)
        target.steps.append(Step("computed_fields", "changed", computed.detail))
    key = duplicate_key(target.lead_type_id or 0, target.fields, values)
    await lead_store.update_lead_fields(
        conn,
        target.account_id,
        target.lead_id,
        values,
        extras,
        key,
        contact_keys(target.fields, values),
    )
    changed = ", ".join(sorted({*cleaned.values, *cleaned.extras}))
    target.steps.append(Step("update", "passed", changed or "no field"))
    details = "Lead information updated"
    redistribute = False
    if submission.process_delivery:
        refusal = redistribution_refusal(
            no_sell=lead.no_sell,
            pending_qc=lead.pending_qc,
            qc_reviewed=lead.qc_reviewed,
            qc_rejected=lead.qc_rejected,
        )
        if refusal:
            details += f"; processDelivery: not distributed, {refusal}"
            target.steps.append(Step("process_delivery", "skipped", refusal))
        else:
            assert target.campaign is not None
            await job_store.restart(
                conn, target.account_id, target.lead_id, target.campaign.max_sell
            )
            details += "; delivery will be processed again"
            target.steps.append(Step("process_delivery", "passed", "distribution restarted"))
            redistribute = True
    outcome = PostOutcome(
        post_id,
        ResponseType.No_Error,
        details,
        lead_id=target.lead_id,
        campaign_id=target.campaign_id or 0,
        price=lead.price,
    )
    return outcome, redistribute
