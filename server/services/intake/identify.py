"""Identifying a post: which lead source, lead type and campaign it is for, and whether its
credentials hold, in LeadExec's order (vid, lid, aid, then password and/or API key).

What the identifiers resolve to is kept per process (`PostTargets`) and used only while the
account's catalog version, read in the post's own transaction, is the one it was read at;
passwords already verified against a stored hash are kept too (`PasswordCache`), so a post
does not pay for scrypt each time.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from server.domain import secrets
from server.domain.catalog.fields import FieldSpec
from server.domain.catalog.specs import CampaignSpec, Status
from server.domain.intake.limits import UNAUTHENTICATED_PER_MINUTE, over_limits
from server.domain.intake.screening import ResponseType, Step
from server.domain.minute_cap import MinuteCap
from server.errors import Unauthenticated
from server.services.accounts import authenticate_in
from server.services.intake.requests import Submission
from server.storage import leads as lead_store
from server.storage.catalog import PostTarget, find_post_target
from server.storage.database import Connection

log = logging.getLogger(__name__)

UNATTRIBUTED = 0  # the reserved account that holds posts no account can be found for
V2_KEY_REQUIRED = "The V2 receiver requires the lead source's API key"


@dataclass
class Target:
    """What a request's identifiers resolved to, as far as they got, and what its use case
    gathered on the way (steps for the post log)."""

    account_id: int = UNATTRIBUTED
    source_id: int | None = None
    lead_type_id: int | None = None
    campaign_id: int | None = None
    campaign: CampaignSpec | None = None
    password_hash: str | None = None
    time_zone: ZoneInfo | None = None  # the account's
    lead_id: int = 0  # an update's lead
    lead: lead_store.SourceLead | None = None  # and that lead, locked for the update
    fields: list[FieldSpec] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    request_post_id: str = ""  # the post log entry holding the request's body, once logged
    authenticated: bool = False  # the request's credentials held
    # whether the post log keeps this request: not one whose credentials did not hold, past
    # the cap a minute of its account
    logged: bool = True


class Refused(Exception):
    """A post refused with a ResponseType, before or instead of storing anything."""

    def __init__(self, response: ResponseType, details: str) -> None:
        super().__init__(details)
        self.response, self.details = response, details


class PasswordCache:
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


class PostTargets:
    """What posts' identifiers resolved to, by identifiers, most recently used first. An entry
    is only used once the post's own transaction has read that its catalog version holds."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._known: OrderedDict[_TargetKey, PostTarget] = OrderedDict()

    async def find(
        self, conn: Connection, source_id: int, lead_type_id: int | None, campaign_id: int | None
    ) -> PostTarget | None:
        key = (source_id, lead_type_id, campaign_id)
        known = self._known.get(key)
        found = await find_post_target(conn, source_id, lead_type_id, campaign_id, known)
        if found is None:
            self._known.pop(key, None)
            return None
        self._known[key] = found
        self._known.move_to_end(key)
        if len(self._known) > self._size:
            self._known.popitem(last=False)
        return found


# How a use case finds the campaign once the source and lead type are known: by default the
# campaign the post names (aid), or the source's one active campaign; an update's, its lead's.
Locate = Callable[[Connection, Submission, Target, PostTarget], Awaitable[int]]


class Identifier:
    """Identifies posts for every intake use case of this process, sharing its caches."""

    def __init__(
        self,
        unauthenticated_per_minute: int = UNAUTHENTICATED_PER_MINUTE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`unauthenticated_per_minute`: how many requests whose credentials did not hold this
        process logs per account and minute (account 0 for those naming no lead source); the
        rest are answered alike, and not logged."""
        self._passwords = PasswordCache()
        self._targets = PostTargets()
        self._unauthenticated = MinuteCap(unauthenticated_per_minute)
        self._clock = clock

    async def identified(
        self,
        conn: Connection,
        submission: Submission,
        target: Target,
        locate: Locate | None = None,
    ) -> Refused | None:
        """Identify the request and check it holds a readable lead; why not, or None.

        An unreadable body outranks an identity failure: the identifiers may have been inside
        it, and the source needs the parse error's position, not "vid is required". So does a
        request past the limits of domain/intake/limits.py.
        """
        refused: Refused | None = None
        try:
            await self.identify(conn, submission, target, locate)
        except Refused as exc:
            refused = exc
        if not target.authenticated:
            target.logged = self._log_unauthenticated(target.account_id)
        if submission.parse_error:
            return Refused(ResponseType.Data_Errors, submission.parse_error)
        too_large = over_limits([len(lead.fields) for lead in submission.leads])
        if too_large:
            return Refused(ResponseType.Data_Errors, too_large)
        if refused is None and not submission.leads:
            return Refused(ResponseType.Data_Errors, "The request holds no lead")
        return refused

    def _log_unauthenticated(self, account_id: int) -> bool:
        """Whether a request whose credentials did not hold is logged: anyone can send one, so
        each process logs at most `unauthenticated_per_minute` per account a minute."""
        if self._unauthenticated.take(account_id, self._clock()):
            return True
        if self._unauthenticated.first_refusal(account_id):
            most = self._unauthenticated.per_minute
            log.warning(
                "account %s: posts whose credentials did not hold past %d this minute: "
                "answered, not logged",
                account_id,
                most,
            )
        return False

    async def identify(
        self,
        conn: Connection,
        submission: Submission,
        target: Target,
        locate: Locate | None = None,
    ) -> None:
        """vid (or the source's API key), lid, the campaign (`locate`; by default aid or the
        source's one active campaign), then the campaign's password and/or the API key.

        The catalog is read in one statement (`find_post_target`), or only its version when
        this process already holds what these identifiers resolve to; the checks that follow
        refuse in the same order, with the same words, whichever it was.
        """
        key_source: int | None = None
        if submission.v2 and not submission.api_key:
            raise Refused(ResponseType.No_Account_Found, V2_KEY_REQUIRED)
        if submission.api_key:
            try:
                caller = await authenticate_in(conn, submission.api_key)
            except Unauthenticated as exc:
                raise Refused(ResponseType.No_Account_Found, exc.message) from None
            if caller.source_id is None:
                raise Refused(ResponseType.No_Account_Found, "The API key is not a lead source key")
            key_source = caller.source_id
        vid = submission.vid.strip() or (str(key_source) if key_source else "")
        if not vid:
            raise Refused(ResponseType.Vendor_ID_Missing, "vid (lead source id) is required")
        source_id = number(vid, ResponseType.Vendor_ID_Missing, "vid")
        lead_type_id = number_or_none(submission.lid)
        named = number_or_none(submission.aid) if locate is None else None
        found = await self._targets.find(conn, source_id, lead_type_id, named)
        if found is None:
            raise Refused(ResponseType.Vendor_ID_Missing, f"Unknown lead source vid={vid}")
        target.account_id, target.source_id = found.account_id, source_id
        target.time_zone = found.time_zone
        if key_source is not None and key_source != source_id:
            raise Refused(
                ResponseType.No_Account_Found, "The API key belongs to another lead source"
            )
        if found.source_status != Status.Active:
            raise Refused(ResponseType.Account_Disabled, "The lead source is disabled")
        _lead_type(submission, target, found)
        campaign_id = await (locate or campaign_named)(conn, submission, target, found)
        resolved = found.campaign.id if found.campaign is not None else named
        if campaign_id != resolved:  # located otherwise (an update's lead): read that campaign
            found = await self._targets.find(conn, source_id, lead_type_id, campaign_id)
        _load_campaign(target, campaign_id, found)
        self._authorise(submission, target, key_source is not None)

    def _authorise(self, submission: Submission, target: Target, has_key: bool) -> None:
        assert target.campaign is not None
        stored = target.password_hash
        password_ok = stored is None or (
            bool(submission.password) and self._passwords.matches(submission.password, stored)
        )
        if target.campaign.require_api_key:
            if not has_key:
                raise Refused(
                    ResponseType.No_Account_Found,
                    "This campaign requires the lead source's API key",
                )
            if not password_ok:
                raise Refused(ResponseType.No_Account_Found, "The password does not match")
        elif not (password_ok or has_key):
            detail = "does not match" if submission.password else "is required"
            raise Refused(ResponseType.No_Account_Found, f"The password {detail}")
        target.authenticated = True


def _lead_type(submission: Submission, target: Target, found: PostTarget) -> None:
    lid = submission.lid.strip()
    if not lid:
        raise Refused(ResponseType.LeadType_ID_Missing, "lid (lead type id) is required")
    lead_type_id = number(lid, ResponseType.LeadType_ID_Missing, "lid")
    if not found.lead_type_found:
        raise Refused(ResponseType.LeadType_ID_Missing, f"Unknown lead type lid={lid}")
    target.lead_type_id = lead_type_id


def _load_campaign(target: Target, campaign_id: int, found: PostTarget | None) -> None:
    stored = found.campaign if found is not None else None
    if (
        stored is None
        or stored.id != campaign_id
        or stored.spec.source_id != target.source_id
        or stored.spec.lead_type_id != target.lead_type_id
    ):
        raise Refused(
            ResponseType.No_Account_Found,
            f"No campaign aid={campaign_id} for this lead source and lead type",
        )
    assert found is not None
    target.campaign_id, target.campaign = campaign_id, stored.spec
    target.fields = list(found.fields)
    target.password_hash = stored.password_hash


async def campaign_named(
    conn: Connection, submission: Submission, target: Target, found: PostTarget
) -> int:
    """The campaign a post names (aid), or the source's one active campaign for the lead type."""
    aid = submission.aid.strip()
    if aid:
        return number(aid, ResponseType.No_Account_Found, "aid")
    if len(found.active_campaigns) != 1:
        reason = "no active campaign" if not found.active_campaigns else "several active campaigns"
        raise Refused(
            ResponseType.No_Account_Found,
            f"The lead source has {reason} for lid={submission.lid.strip()}: send aid",
        )
    return found.active_campaigns[0]


async def campaign_of_lead(
    conn: Connection, submission: Submission, target: Target, found: PostTarget
) -> int:
    """For an update: the campaign of the lead named by lpleaduid, which must be the source's."""
    lead_id = number(submission.lead_uid.strip(), ResponseType.No_Account_Found, "lpleaduid")
    assert target.source_id is not None
    lead = await lead_store.lock_source_lead(conn, target.account_id, lead_id, target.source_id)
    if lead is None or lead.lead_type_id != target.lead_type_id:
        raise Refused(
            ResponseType.No_Account_Found,
            f"No lead {lead_id} of this lead source and lead type",
        )
    target.lead_id, target.lead = lead_id, lead
    return lead.campaign_id


def micros(started: float) -> int:
    """Microseconds since `started` (a time.perf_counter() reading), for a post log step."""
    return int((time.perf_counter() - started) * 1_000_000)


def number(text: str, response: ResponseType, name: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise Refused(response, f"{name} must be a whole number, got {text!r}")
    return int(text)


def number_or_none(text: str) -> int | None:
    """`text` read as `number` reads it, or None where that refuses (it says why in turn)."""
    try:
        return number(text.strip(), ResponseType.Data_Errors, "")
    except (Refused, ValueError):
        return None
