"""Checking whether a lead would be a duplicate, without posting it (/processor/duplicate)."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

from server.domain.catalog.fields import clean_lead_values
from server.domain.intake.duplicates import duplicate_key
from server.domain.intake.screening import ResponseType, Step
from server.services.intake import post_log
from server.services.intake.identify import Identifier, Refused, Target, micros
from server.services.intake.requests import DuplicateFinding, PostOutcome, Submission
from server.storage import leads as lead_store
from server.storage.database import Connection, Pool, transaction


class CheckDuplicate:
    """Whether a lead's duplicate-check values were received within the campaign's window."""

    def __init__(self, pool: Pool, identifier: Identifier) -> None:
        self._pool = pool
        self._identifier = identifier

    async def check(self, submission: Submission) -> DuplicateFinding:
        """The first lead's finding. Identity is checked as for a post; only the post log is
        written, in the same transaction."""
        target = Target()
        post_id = str(uuid.uuid4())
        started = time.perf_counter()
        async with transaction(self._pool) as conn:
            try:
                refused = await self._identifier.identified(conn, submission, target)
                if refused is not None:
                    raise refused
                finding, outcome = await _find(conn, submission, target, post_id)
            except Refused as exc:
                finding = DuplicateFinding(post_id, False, exc.details)
                outcome = PostOutcome(
                    post_id, exc.response, exc.details, campaign_id=target.campaign_id or 0
                )
            steps = [
                *target.steps,
                Step(
                    "duplicate_check",
                    "failed" if finding.is_duplicate else "passed",
                    finding.response,
                    micros(started),
                ),
            ]
            await post_log.log(conn, submission, target, 0, outcome, steps)
        return finding


async def _find(
    conn: Connection, submission: Submission, target: Target, post_id: str
) -> tuple[DuplicateFinding, PostOutcome]:
    assert target.campaign is not None
    checked = [replace(f, required=False) for f in target.fields if f.duplicate_check]
    cleaned = clean_lead_values(checked, dict(submission.leads[0].fields))
    if not cleaned.ok:
        detail = "; ".join(str(p) for p in cleaned.problems)
        raise Refused(ResponseType.Data_Errors, f"Invalid fields: {detail}")
    key = duplicate_key(target.lead_type_id or 0, target.fields, cleaned.values)
    if key is None:
        names = ", ".join(f.name for f in checked) or "none"
        raise Refused(
            ResponseType.Data_Errors,
            f"No duplicate-check field was posted (this lead type checks: {names})",
        )
    days = target.campaign.dup_day_max
    found = None
    if days > 0:
        found = await lead_store.find_duplicate(
            conn, target.account_id, target.lead_type_id or 0, key, days
        )
    campaign_id = target.campaign_id or 0
    if found is None:
        text = "Not a duplicate" if days > 0 else "The campaign checks no duplicates"
        return (
            DuplicateFinding(post_id, False, text),
            PostOutcome(post_id, ResponseType.No_Error, text, campaign_id=campaign_id),
        )
    same_source = found.source_id == target.source_id
    when = found.received_at
    text = (
        "Duplicate Lead, "
        + (f"{found.id} " if same_source else "")
        + (f"Last Received On: {when:%m/%d/%Y %I:%M:%S %p} UTC")
    )
    return (
        DuplicateFinding(post_id, True, text, found.id if same_source else 0, when),
        PostOutcome(post_id, ResponseType.Duplicate_Lead, text, campaign_id=campaign_id),
    )
