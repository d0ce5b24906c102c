"""Receiving posted leads: identify the campaign, screen each lead, enforce caps and duplicates,
store it, and log every post, accepted or not.

Identity is checked in LeadExec's order (vid, lid, aid, then password and/or API key). Each
lead then runs the pure screening steps; an accepted one is stored after locking its campaign
row when the campaign has a cap (so hour/day/month caps are exact under concurrency, across
processes) and then an advisory lock on its duplicate key (so two identical leads at the same
instant give one lead and one Duplicate_Lead).

A request is identified, and its first lead screened, stored and logged, in one transaction:
a single post costs one commit. What the identifiers resolve to is kept per process, and
used only while the account's catalog version, read in the post's own transaction, is the one
it was read at.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from psycopg.types.json import Jsonb

from server.domain import secrets
from server.domain.catalog.fields import FieldSpec, clean_lead_values
from server.domain.catalog.specs import CampaignSpec, PricingModel, Status
from server.domain.intake.duplicates import duplicate_key
from server.domain.intake.screening import (
    ResponseType,
    SaleKind,
    Screening,
    Step,
    ZipLookup,
    redistribution_refusal,
    screen,
)
from server.errors import Unauthenticated
from server.services import catalog
from server.services.accounts import authenticate_in
from server.services.distribution import Distributor, NewJob, Reserved
from server.storage import catalog as catalog_store
from server.storage.database import Connection, Pool, rolled_back, transaction
from server.storage.queries import q

log = logging.getLogger(__name__)

UNATTRIBUTED = 0  # the reserved account that holds posts no account can be found for
MAX_LOGGED_BODY = 64 * 1024


@dataclass(frozen=True)
class PostedLead:
    reference: str = ""
    no_sell: bool = False
    fields: tuple[tuple[str, str], ...] = ()
    call: tuple[tuple[str, str], ...] = ()  # call data by pseudo-field name, as posted


@dataclass(frozen=True)
class Submission:
    """One request as posted; identifiers unparsed."""

    vid: str = ""
    lid: str = ""
    aid: str = ""
    password: str = ""
    api_key: str = ""
    send_delay_hours: str = ""
    leads: tuple[PostedLead, ...] = ()
    remote_ip: str = ""
    request_format: str = ""
    raw_request: bytes = b""
    parse_error: str = ""
    lead_uid: str = ""
    process_delivery: bool = False
    sale_kind: SaleKind = SaleKind.General


@dataclass(frozen=True)
class PostOutcome:
    post_id: str
    response: ResponseType
    details: str
    lead_id: int = 0
    campaign_id: int = 0
    price: Decimal = Decimal("0")
    pending_qc: bool = False
    account_id: int = 0

    @property
    def accepted(self) -> bool:
        return self.response is ResponseType.No_Error


@dataclass(frozen=True)
class DuplicateFinding:
    post_id: str
    is_duplicate: bool
    response: str
    lead_id: int = 0  # only when the earlier lead came from the same source
    received_on: datetime | None = None


@dataclass
class _Target:
    """What the identifiers resolved to, as far as they got."""

    account_id: int = UNATTRIBUTED
    source_id: int | None = None
    lead_type_id: int | None = None
    campaign_id: int | None = None
    campaign: CampaignSpec | None = None
    password_hash: str | None = None
    lead_id: int = 0  # an update's lead
    fields: list[FieldSpec] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    # lead id -> the sends its first distribution step reserved in its acceptance transaction
    first_steps: dict[int, list[Reserved]] = field(default_factory=dict)


class _Refused(Exception):
    def __init__(self, response: ResponseType, details: str) -> None:
        super().__init__(details)
        self.response, self.details = response, details


class _PasswordCache:
    """Remembers passwords already verified against a stored hash, so each post does not pay
    for scrypt. Keyed by the stored hash, so a changed password invalidates itself."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._known: OrderedDict[tuple[str, bytes], None] = OrderedDict()

    def matches(self, presented: str, stored: str) -> bool:
        key = (stored, hashlib.sha256(presented.encode()).digest())
        if key in self._known:
            self._known.move_to_end(key)
            return True
        if not secrets.password_matches(presented, stored):
            return False
        self._known[key] = None
        if len(self._known) > self._size:
            self._known.popitem(last=False)
        return True


_TargetKey = tuple[int, int | None, int | None]  # source, lead type, campaign named


class _PostTargets:
    """What posts' identifiers resolved to, by identifiers, most recently used first. An entry
    is only used once the post's own transaction has read that its catalog version holds."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._known: OrderedDict[_TargetKey, catalog_store.PostTarget] = OrderedDict()

    async def find(
        self, conn: Connection, source_id: int, lead_type_id: int | None, campaign_id: int | None
    ) -> catalog_store.PostTarget | None:
        key = (source_id, lead_type_id, campaign_id)
        known = self._known.get(key)
        found = await catalog_store.find_post_target(
            conn, source_id, lead_type_id, campaign_id, known
        )
        if found is None:
            self._known.pop(key, None)
            return None
        self._known[key] = found
        self._known.move_to_end(key)
        if len(self._known) > self._size:
            self._known.popitem(last=False)
        return found


class LeadIntake:
    def __init__(
        self,
        pool: Pool,
        zip_lookup: ZipLookup,
        engine: Distributor | None = None,
    ) -> None:
        """`engine`: this process's distribution engine. It takes each accepted lead's first
        step in the transaction that stores the lead, and hears of each lead once committed,
        to deliver and walk it at once. Without one, leads wait for a worker's poll."""
        self._pool = pool
        self._zip_lookup = zip_lookup
        self._passwords = _PasswordCache()
        self._targets = _PostTargets()
        self._engine = engine

    async def submit(self, submission: Submission) -> list[PostOutcome]:
        """One outcome per posted lead, in order (one outcome when the request had none).

        The request is identified, and its first lead screened, stored and logged, in one
        transaction (a refusal is logged in it too); each further lead has one of its own.
        """
        target = _Target()
        started = time.perf_counter()
        async with transaction(self._pool) as conn:
            refused = await self._identified(conn, submission, target)
            target.steps.append(
                Step(
                    "identify",
                    "failed" if refused else "passed",
                    refused.details if refused else "",
                    _micros(started),
                )
            )
            if refused is not None:
                count = max(1, len(submission.leads))
                return [
                    await self._log_refusal(conn, submission, target, index, refused)
                    for index in range(count)
                ]
            outcomes = [await self._receive(conn, submission, target, 0, identified=True)]
        self._hand_over(outcomes[-1], target)
        for index in range(1, len(submission.leads)):
            async with transaction(self._pool) as conn:
                outcomes.append(await self._receive(conn, submission, target, index))
            self._hand_over(outcomes[-1], target)
        return outcomes

    def _hand_over(self, outcome: PostOutcome, target: _Target) -> None:
        """Once a lead's transaction committed: this process's engine delivers the sends its
        first step reserved, or walks it (no need to wait for a poll)."""
        if self._engine is None or not outcome.lead_id or outcome.pending_qc:
            return
        sends = target.first_steps.pop(outcome.lead_id, None)
        if sends is None:
            self._engine.accepted([(outcome.account_id, outcome.lead_id)])
        else:
            self._engine.deliver_first(outcome.account_id, outcome.lead_id, sends)

    # -- identity ---------------------------------------------------------------------------

    async def _identified(
        self,
        conn: Connection,
        submission: Submission,
        target: _Target,
        locate: _Locate | None = None,
    ) -> _Refused | None:
        """Identify the request and check it holds a readable lead; why not, or None.

        An unreadable body outranks an identity failure: the identifiers may have been inside
        it, and the source needs the parse error's position, not "vid is required".
        """
        refused: _Refused | None = None
        try:
            await self._identify(conn, submission, target, locate)
        except _Refused as exc:
            refused = exc
        if submission.parse_error:
            return _Refused(ResponseType.Data_Errors, submission.parse_error)
        if refused is None and not submission.leads:
            return _Refused(ResponseType.Data_Errors, "The request holds no lead")
        return refused

    async def _identify(
        self,
        conn: Connection,
        submission: Submission,
        target: _Target,
        locate: _Locate | None = None,
    ) -> None:
        """vid (or the source's API key), lid, the campaign (`locate`; by default aid or the
        source's one active campaign), then the campaign's password and/or the API key.

        The catalog is read in one statement (`find_post_target`), or only its version when
        this process already holds what these identifiers resolve to; the checks that follow
        refuse in the same order, with the same words, whichever it was.
        """
        key_source: int | None = None
        if submission.api_key:
            try:
                caller = await authenticate_in(conn, submission.api_key)
            except Unauthenticated as exc:
                raise _Refused(ResponseType.No_Account_Found, exc.message) from None
            if caller.source_id is None:
                raise _Refused(
                    ResponseType.No_Account_Found, "The API key is not a lead source key"
                )
            key_source = caller.source_id
        vid = submission.vid.strip() or (str(key_source) if key_source else "")
        if not vid:
            raise _Refused(ResponseType.Vendor_ID_Missing, "vid (lead source id) is required")
        source_id = _number(vid, ResponseType.Vendor_ID_Missing, "vid")
        lead_type_id = _number_or_none(submission.lid)
        named = _number_or_none(submission.aid) if locate is None else None
        found = await self._targets.find(conn, source_id, lead_type_id, named)
        if found is None:
            raise _Refused(ResponseType.Vendor_ID_Missing, f"Unknown lead source vid={vid}")
        target.account_id, target.source_id = found.account_id, source_id
        if key_source is not None and key_source != source_id:
            raise _Refused(
                ResponseType.No_Account_Found, "The API key belongs to another lead source"
            )
        if found.source_status != Status.Active:
            raise _Refused(ResponseType.Account_Disabled, "The lead source is disabled")
        self._lead_type(submission, target, found)
        campaign_id = await (locate or _campaign_named)(conn, submission, target, found)
        resolved = found.campaign.id if found.campaign is not None else named
        if campaign_id != resolved:  # located otherwise (an update's lead): read that campaign
            found = await self._targets.find(conn, source_id, lead_type_id, campaign_id)
        self._load_campaign(target, campaign_id, found)
        self._authorise(submission, target, key_source is not None)

    def _lead_type(
        self, submission: Submission, target: _Target, found: catalog_store.PostTarget
    ) -> None:
        lid = submission.lid.strip()
        if not lid:
            raise _Refused(ResponseType.LeadType_ID_Missing, "lid (lead type id) is required")
        lead_type_id = _number(lid, ResponseType.LeadType_ID_Missing, "lid")
        if not found.lead_type_found:
            raise _Refused(ResponseType.LeadType_ID_Missing, f"Unknown lead type lid={lid}")
        target.lead_type_id = lead_type_id

    def _load_campaign(
        self, target: _Target, campaign_id: int, found: catalog_store.PostTarget | None
    ) -> None:
        stored = found.campaign if found is not None else None
        if (
            stored is None
            or stored.id != campaign_id
            or stored.spec.source_id != target.source_id
            or stored.spec.lead_type_id != target.lead_type_id
        ):
            raise _Refused(
                ResponseType.No_Account_Found,
                f"No campaign aid={campaign_id} for this lead source and lead type",
            )
        assert found is not None
        target.campaign_id, target.campaign = campaign_id, stored.spec
        target.fields = list(found.fields)
        target.password_hash = stored.password_hash

    def _authorise(self, submission: Submission, target: _Target, has_key: bool) -> None:
        assert target.campaign is not None
        stored = target.password_hash
        password_ok = stored is None or (
            bool(submission.password) and self._passwords.matches(submission.password, stored)
        )
        if target.campaign.require_api_key:
            if not has_key:
                raise _Refused(
                    ResponseType.No_Account_Found,
                    "This campaign requires the lead source's API key",
                )
            if not password_ok:
                raise _Refused(ResponseType.No_Account_Found, "The password does not match")
        elif not (password_ok or has_key):
            detail = "does not match" if submission.password else "is required"
            raise _Refused(ResponseType.No_Account_Found, f"The password {detail}")

    # -- one lead ---------------------------------------------------------------------------

    async def _receive(
        self,
        conn: Connection,
        submission: Submission,
        target: _Target,
        index: int,
        *,
        identified: bool = False,
    ) -> PostOutcome:
        """Screen, store and log one lead in the caller's transaction. `identified`: the
        request was identified in this transaction too, so the campaign's status was read in
        it."""
        assert target.campaign is not None and target.campaign_id is not None
        campaign = target.campaign
        lead = submission.leads[index]
        posted = dict(lead.fields)
        call = dict(lead.call) if submission.sale_kind.takes_call_data else None
        screening = screen(campaign, target.fields, posted, self._zip_lookup, call, lead.reference)
        steps = [*target.steps, *screening.steps]
        post_id = str(uuid.uuid4())
        if not screening.accepted:
            outcome = PostOutcome(
                post_id, screening.response, screening.details, campaign_id=target.campaign_id
            )
            await self._log(conn, submission, target, index, outcome, steps)
            return outcome
        outcome = await self._store(
            conn, submission, target, index, post_id, screening, steps, identified
        )
        if not outcome.accepted:
            await self._log(conn, submission, target, index, outcome, steps)
        return outcome

    async def _store(
        self,
        conn: Connection,
        submission: Submission,
        target: _Target,
        index: int,
        post_id: str,
        screening: Screening,
        steps: list[Step],
        identified: bool,
    ) -> PostOutcome:
        """Check the campaign's status, caps and duplicates, then store the lead and log its
        post in one statement; a refusal here is left to the caller to log.

        Only a campaign with a cap is locked (FOR UPDATE), so that posts to it take their turn
        and its counts stay exact; others are not, and their posts run side by side. The status
        of an uncapped campaign was read in this transaction when it identified the request,
        else it is read again here.
        """
        assert target.campaign is not None and target.campaign_id is not None
        campaign, campaign_id = target.campaign, target.campaign_id
        lead = submission.leads[index]
        values = screening.values
        account_types = submission.sale_kind.account_types
        clock = time.perf_counter()
        status, counts = campaign.status, None
        ids = {"account_id": target.account_id, "id": campaign_id}
        if _capped(campaign):
            # Pipelined (one round trip), but two statements: the count's snapshot is taken
            # once the lock is held, so it sees every lead of the posts that held it before.
            async with conn.pipeline():
                locked = await conn.execute(q("lock_campaign_for_post"), ids)
                counted = await conn.execute(
                    q("count_campaign_leads"),
                    {
                        "account_id": target.account_id,
                        "campaign_id": campaign_id,
                        "count_returns": campaign.count_returns,
                    },
                )
            found, counts = await locked.fetchone(), await counted.fetchone()
            status = Status.Unspecified if found is None else found["status"]
        elif not identified:
            cursor = await conn.execute(q("campaign_status_for_post"), ids)
            found = await cursor.fetchone()
            status = Status.Unspecified if found is None else found["status"]
        if status != Status.Active:
            steps.append(Step("campaign_status", "failed", "disabled meanwhile", _micros(clock)))
            return PostOutcome(
                post_id,
                ResponseType.Account_Disabled,
                "The campaign is disabled",
                campaign_id=campaign_id,
            )
        over = _cap_reached(campaign, counts)
        steps.append(Step("caps", "failed" if over else "passed", over or "", _micros(clock)))
        if over:
            return PostOutcome(
                post_id,
                ResponseType.Post_Over_Max,
                f"The campaign's {over}",
                campaign_id=campaign_id,
            )
        clock = time.perf_counter()
        dup_key = duplicate_key(target.lead_type_id or 0, target.fields, values)
        if dup_key is not None and campaign.dup_day_max > 0:
            # Pipelined too: the search's snapshot is taken once the key's lock is held.
            async with conn.pipeline():
                await conn.execute(
                    q("lock_duplicate_key"),
                    {"lock": f"{target.account_id}:{target.lead_type_id}:{dup_key.hex()}"},
                )
                cursor = await conn.execute(
                    q("find_duplicate"),
                    {
                        "account_id": target.account_id,
                        "lead_type_id": target.lead_type_id,
                        "duplicate_key": dup_key,
                        "days": campaign.dup_day_max,
                    },
                )
            earlier = await cursor.fetchone()
            if earlier is not None:
                detail = (
                    f"duplicate of lead {earlier['id']}"
                    if earlier["source_id"] == (target.source_id)
                    else "duplicate of an earlier lead"
                )
                steps.append(Step("duplicate_check", "failed", detail, _micros(clock)))
                return PostOutcome(
                    post_id,
                    ResponseType.Duplicate_Lead,
                    f"Duplicate lead: {detail} within {campaign.dup_day_max} days",
                    campaign_id=campaign_id,
                )
            steps.append(Step("duplicate_check", "passed", "", _micros(clock)))
        else:
            steps.append(
                Step(
                    "duplicate_check",
                    "skipped",
                    "no duplicate fields posted"
                    if dup_key is None
                    else "the campaign checks no duplicates",
                    _micros(clock),
                )
            )
        price = (
            campaign.pricing.amount
            if campaign.pricing.model is PricingModel.PerLead
            else (Decimal("0"))
        )
        accepted = PostOutcome(
            post_id,
            ResponseType.No_Error,
            "Lead was accepted",
            campaign_id=campaign_id,
            price=price,
            pending_qc=campaign.use_qc_bin,
            account_id=target.account_id,
        )
        send_delay = _send_delay(submission.send_delay_hours)
        types = None if account_types is None else [int(t) for t in account_types]
        params = {
            **_post_params(submission, target, index, accepted, steps),
            "post_id": post_id,
            "reference": lead.reference,
            "no_sell": lead.no_sell,
            "send_delay_hours": send_delay,
            "fields": Jsonb(values),
            "extras": Jsonb(screening.extras),
            "duplicate_key": dup_key,
            "pricing_model": campaign.pricing.model.value,
            "pending_qc": campaign.use_qc_bin,
            "max_sells": campaign.max_sell,
            "call_data": Jsonb(screening.call_data),
            "account_types": types,
        }
        # a lead distributed now gets its first step here, after a savepoint sent with it
        stepping = (
            self._engine is not None
            and not lead.no_sell
            and not campaign.use_qc_bin
            and send_delay == 0
        )
        if stepping:
            async with conn.pipeline():
                cursor = await conn.execute(q("insert_lead"), params)
                await conn.execute(q("savepoint_first_step"))
        else:
            cursor = await conn.execute(q("insert_lead"), params)
        row = await cursor.fetchone()
        assert row is not None
        steps.append(Step("store", "passed", f"lead {row['id']}"))  # as insert_lead logs it
        if stepping and row["queued"]:
            job = NewJob(
                account_id=target.account_id,
                lead_id=row["id"],
                lead_type_id=target.lead_type_id or 0,
                fields=values,
                call_data=screening.call_data,
                max_sells=campaign.max_sell,
                account_types=types,
                now=row["now"],
                buyer_version=row["buyer_version"],
            )
            sends = await self._first_step(conn, job)
            if sends is not None:
                target.first_steps[row["id"]] = sends
        return replace(accepted, lead_id=row["id"])

    async def _first_step(self, conn: Connection, job: NewJob) -> list[Reserved] | None:
        """The lead's first distribution step in its acceptance transaction; the sends it
        reserved, or None when the walk is left to take it. A step that fails is undone back
        to its savepoint and the lead stays accepted: a deadlock with another walker (whose
        waterfall locks the same accounts in another order) is expected now and then; any
        other failure is logged, and the walk meets it again."""
        assert self._engine is not None
        try:
            return await self._engine.first_step(conn, job)
        except Exception as problem:
            if rolled_back(problem):
                log.info("lead %s: first step rolled back (%s); walking it", job.lead_id, problem)
            else:
                log.exception("lead %s: first step failed; walking it", job.lead_id)
            await conn.execute(q("rollback_first_step"))
            return None

    # -- the post log -----------------------------------------------------------------------

    async def _log_refusal(
        self,
        conn: Connection,
        submission: Submission,
        target: _Target,
        index: int,
        refused: _Refused,
    ) -> PostOutcome:
        outcome = PostOutcome(
            str(uuid.uuid4()),
            refused.response,
            refused.details,
            campaign_id=target.campaign_id or 0,
        )
        await self._log(conn, submission, target, index, outcome, target.steps)
        return outcome

    async def _log(
        self,
        conn: Connection,
        submission: Submission,
        target: _Target,
        index: int,
        outcome: PostOutcome,
        steps: Sequence[Step],
    ) -> None:
        """Log a post that stored no lead (an accepted one is logged by insert_lead)."""
        await conn.execute(
            q("insert_post"), _post_params(submission, target, index, outcome, steps)
        )

    async def check_duplicate(self, submission: Submission) -> DuplicateFinding:
        """Whether the first lead's duplicate-check values were received within the campaign's
        window. Identity is checked as for a post; only the post log is written, in the same
        transaction."""
        target = _Target()
        post_id = str(uuid.uuid4())
        started = time.perf_counter()
        async with transaction(self._pool) as conn:
            try:
                refused = await self._identified(conn, submission, target)
                if refused is not None:
                    raise refused
                finding, outcome = await self._find_duplicate(conn, submission, target, post_id)
            except _Refused as exc:
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
                    _micros(started),
                ),
            ]
            await self._log(conn, submission, target, 0, outcome, steps)
        return finding

    async def _find_duplicate(
        self, conn: Connection, submission: Submission, target: _Target, post_id: str
    ) -> tuple[DuplicateFinding, PostOutcome]:
        assert target.campaign is not None
        checked = [replace(f, required=False) for f in target.fields if f.duplicate_check]
        cleaned = clean_lead_values(checked, dict(submission.leads[0].fields))
        if not cleaned.ok:
            detail = "; ".join(str(p) for p in cleaned.problems)
            raise _Refused(ResponseType.Data_Errors, f"Invalid fields: {detail}")
        key = duplicate_key(target.lead_type_id or 0, target.fields, cleaned.values)
        if key is None:
            names = ", ".join(f.name for f in checked) or "none"
            raise _Refused(
                ResponseType.Data_Errors,
                f"No duplicate-check field was posted (this lead type checks: {names})",
            )
        days = target.campaign.dup_day_max
        if days <= 0:
            found = None
        else:
            cursor = await conn.execute(
                q("find_duplicate"),
                {
                    "account_id": target.account_id,
                    "lead_type_id": target.lead_type_id,
                    "duplicate_key": key,
                    "days": days,
                },
            )
            found = await cursor.fetchone()
        if found is None:
            text = "Not a duplicate" if days > 0 else "The campaign checks no duplicates"
            return (
                DuplicateFinding(post_id, False, text),
                PostOutcome(
                    post_id, ResponseType.No_Error, text, campaign_id=target.campaign_id or 0
                ),
            )
        same_source = found["source_id"] == target.source_id
        when = found["received_at"]
        text = (
            "Duplicate Lead, "
            + (f"{found['id']} " if same_source else "")
            + (f"Last Received On: {when:%m/%d/%Y %I:%M:%S %p} UTC")
        )
        return (
            DuplicateFinding(post_id, True, text, found["id"] if same_source else 0, when),
            PostOutcome(
                post_id, ResponseType.Duplicate_Lead, text, campaign_id=target.campaign_id or 0
            ),
        )

    async def update(self, submission: Submission) -> PostOutcome:
        """Change fields of a lead the source posted earlier. Each posted field is cleaned and
        checked like a new lead's (required does not apply); the duplicate key follows.
        Identified, changed and logged in one transaction (a refusal changes nothing)."""
        target = _Target()
        post_id = str(uuid.uuid4())
        started = time.perf_counter()
        redistribute = False
        async with transaction(self._pool) as conn:
            try:
                refused = await self._identified(conn, submission, target, _campaign_of_lead)
                if refused is not None:
                    raise refused
                if len(submission.leads) != 1:
                    raise _Refused(ResponseType.Data_Errors, "An update carries exactly one lead")
                target.steps.append(Step("identify", "passed", "", _micros(started)))
                outcome, redistribute = await self._apply_update(conn, submission, target, post_id)
            except _Refused as refused:  # raised before the lead is changed
                target.steps.append(Step("update", "failed", refused.details, _micros(started)))
                outcome = PostOutcome(
                    post_id,
                    refused.response,
                    refused.details,
                    lead_id=target.lead_id,
                    campaign_id=target.campaign_id or 0,
                )
            await self._log(conn, submission, target, 0, outcome, target.steps)
        if redistribute and self._engine is not None:
            self._engine.accepted([(target.account_id, target.lead_id)])  # its job is due now
        return outcome

    async def _apply_update(
        self, conn: Connection, submission: Submission, target: _Target, post_id: str
    ) -> tuple[PostOutcome, bool]:
        """Change the lead, and with processDelivery restart its distribution; the outcome,
        and whether the lead's distribution job was restarted."""
        cursor = await conn.execute(
            q("find_source_lead"),
            {"account_id": target.account_id, "id": target.lead_id, "source_id": target.source_id},
        )
        lead = await cursor.fetchone()
        if lead is None:  # deleted meanwhile
            raise _Refused(ResponseType.No_Account_Found, f"No lead {target.lead_id}")
        posted = dict(submission.leads[0].fields)
        if not posted and not submission.process_delivery:
            raise _Refused(ResponseType.Data_Errors, "The update holds no field")
        optional = [replace(f, required=False) for f in target.fields]
        cleaned = clean_lead_values(optional, posted)
        if not cleaned.ok:
            detail = "; ".join(str(p) for p in cleaned.problems)
            raise _Refused(ResponseType.Data_Errors, f"Invalid fields: {detail}")
        values = {**lead["fields"], **cleaned.values}
        extras = {**lead["extras"], **cleaned.extras}
        await conn.execute(
            q("update_lead_fields"),
            {
                "account_id": target.account_id,
                "id": target.lead_id,
                "fields": Jsonb(values),
                "extras": Jsonb(extras),
                "duplicate_key": duplicate_key(target.lead_type_id or 0, target.fields, values),
            },
        )
        changed = ", ".join(sorted({*cleaned.values, *cleaned.extras}))
        target.steps.append(Step("update", "passed", changed or "no field"))
        details = "Lead information updated"
        redistribute = False
        if submission.process_delivery:
            refusal = redistribution_refusal(
                no_sell=lead["no_sell"],
                pending_qc=lead["pending_qc"],
                qc_reviewed=lead["qc_reviewed"],
                qc_rejected=lead["qc_rejected"],
            )
            if refusal:
                details += f"; processDelivery: not distributed, {refusal}"
                target.steps.append(Step("process_delivery", "skipped", refusal))
            else:
                assert target.campaign is not None
                await conn.execute(
                    q("restart_distribution"),
                    {
                        "account_id": target.account_id,
                        "lead_id": target.lead_id,
                        "max_sells": target.campaign.max_sell,
                    },
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
            price=lead["price"],
        )
        return outcome, redistribute

    async def source_instructions(
        self, submission: Submission, receiver_url: str
    ) -> dict[str, Any]:
        """The posting instructions of the campaign the source identifies itself for."""
        target = _Target()
        refused: _Refused | None = None
        async with transaction(self._pool) as conn:
            try:
                await self._identify(conn, submission, target)
            except _Refused as exc:
                refused = exc  # the API key's use is still recorded
        if refused is not None:
            raise Unauthenticated(refused.details) from None
        assert target.campaign_id is not None
        return await catalog.posting_instructions(
            self._pool, target.account_id, target.campaign_id, "", receiver_url
        )

    async def post_status(self, post_id: str) -> dict[str, Any] | None:
        try:
            uuid.UUID(post_id)
        except ValueError:
            return None
        async with transaction(self._pool) as conn:
            cursor = await conn.execute(q("get_post_status"), {"id": post_id})
            return await cursor.fetchone()


_Locate = Callable[[Connection, "Submission", "_Target", catalog_store.PostTarget], Awaitable[int]]


async def _campaign_named(
    conn: Connection, submission: Submission, target: _Target, found: catalog_store.PostTarget
) -> int:
    """The campaign a post names (aid), or the source's one active campaign for the lead type."""
    aid = submission.aid.strip()
    if aid:
        return _number(aid, ResponseType.No_Account_Found, "aid")
    if len(found.active_campaigns) != 1:
        reason = "no active campaign" if not found.active_campaigns else "several active campaigns"
        raise _Refused(
            ResponseType.No_Account_Found,
            f"The lead source has {reason} for lid={submission.lid.strip()}: send aid",
        )
    return found.active_campaigns[0]


async def _campaign_of_lead(
    conn: Connection, submission: Submission, target: _Target, found: catalog_store.PostTarget
) -> int:
    """For an update: the campaign of the lead named by lpleaduid, which must be the source's."""
    lead_id = _number(submission.lead_uid.strip(), ResponseType.No_Account_Found, "lpleaduid")
    cursor = await conn.execute(
        q("find_source_lead"),
        {"account_id": target.account_id, "id": lead_id, "source_id": target.source_id},
    )
    lead = await cursor.fetchone()
    if lead is None or lead["lead_type_id"] != target.lead_type_id:
        raise _Refused(
            ResponseType.No_Account_Found,
            f"No lead {lead_id} of this lead source and lead type",
        )
    target.lead_id = lead_id
    return int(lead["campaign_id"])


def _step_json(step: Step) -> dict[str, Any]:
    """A step as the post log stores it: what `dataclasses.asdict` gives, which deep-copies
    every value and took 7 µs a step against 0.4 µs here (about 7 steps a post)."""
    return {
        "name": step.name,
        "outcome": step.outcome,
        "detail": step.detail,
        "micros": step.micros,
    }


def _micros(started: float) -> int:
    return int((time.perf_counter() - started) * 1_000_000)


def _number(text: str, response: ResponseType, name: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise _Refused(response, f"{name} must be a whole number, got {text!r}")
    return int(text)


def _number_or_none(text: str) -> int | None:
    """`text` read as `_number` reads it, or None where that refuses (it says why in turn)."""
    try:
        return _number(text.strip(), ResponseType.Data_Errors, "")
    except (_Refused, ValueError):
        return None


def _send_delay(text: str) -> Decimal:
    try:
        hours = Decimal(text.strip() or "0")
    except InvalidOperation:
        return Decimal("0")
    return hours if hours.is_finite() and 0 <= hours < 100_000 else Decimal("0")


def _capped(campaign: CampaignSpec) -> bool:
    """Whether the campaign has a cap to count (a maximum per hour, day or month)."""
    return max(campaign.hour_max, campaign.day_max, campaign.month_max) >= 0


def _cap_reached(campaign: CampaignSpec, counts: dict[str, Any] | None) -> str | None:
    """The cap a new lead would exceed, as words, or None; `counts` by count_campaign_leads."""
    if counts is None:
        return None
    caps = [("hour", campaign.hour_max), ("day", campaign.day_max), ("month", campaign.month_max)]
    for period, limit in caps:
        if limit >= 0 and counts[period] >= limit:
            return f"{period} maximum of {limit} leads is reached"
    return None


def _post_params(
    submission: Submission,
    target: _Target,
    index: int,
    outcome: PostOutcome,
    steps: Sequence[Step],
) -> dict[str, Any]:
    """The post log entry of one posted lead, as insert_post (and insert_lead) take it."""
    body = submission.raw_request
    return {
        "account_id": target.account_id,
        "id": outcome.post_id,
        "source_id": target.source_id if target.account_id != UNATTRIBUTED else None,
        "campaign_id": target.campaign_id,
        "lead_type_id": target.lead_type_id,
        "remote_ip": submission.remote_ip,
        "request_format": submission.request_format,
        "request_body": body[:MAX_LOGGED_BODY],
        "request_truncated": len(body) > MAX_LOGGED_BODY,
        "lead_index": index,
        "is_valid": outcome.accepted,
        "response_type": int(outcome.response),
        "response_details": outcome.details,
        "lead_id": outcome.lead_id or None,
        "price": outcome.price,
        "steps": Jsonb([_step_json(s) for s in steps]),
    }
