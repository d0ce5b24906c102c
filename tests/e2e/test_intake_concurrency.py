"""Submitting leads (SubmitLeads) on a real database, as several processes would run it:
each its own pool and its own cache of what posts' identifiers resolve to. Caps and
duplicates hold for posts made at once; a catalog change made by one process is seen by the
other's next post; an accepted post costs one transaction."""

from __future__ import annotations

import asyncio
import copy
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from server.adapters import zip_codes
from server.domain.intake.screening import ResponseType
from server.services.accounts import Accounts
from server.services.config_apply import ConfigApply
from server.services.intake.identify import Identifier
from server.services.intake.requests import PostedLead, Submission
from server.services.intake.submit import SubmitLeads
from server.storage import catalog as catalog_store
from server.storage.database import open_pool

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "acme.json").read_text())
GOOD = {
    "FirstName": "Ann",
    "LastName": "Lee",
    "Email": "ann@example.com",
    "Phone": "7025550100",
    "Zip": "89101",
    "Age": "30",
}
R = ResponseType


@dataclass
class Acme:
    account_id: int
    ids: Any  # ApplyResult

    def post(self, campaign: str = "acme-auto-web", number: int = 0, **changed: str) -> Submission:
        """A post of one lead (distinct by `number`) to a campaign of the example config."""
        fields = {**GOOD, "Email": f"p{number}@example.com", "Phone": f"702555{number:04d}"}
        return Submission(
            vid=str(self.ids.sources["acme-media"]),
            lid=str(self.ids.lead_types["auto-insurance"]),
            aid=str(self.ids.campaigns[campaign]),
            password=changed.pop("password", _password(campaign)),
            leads=(PostedLead(fields=tuple({**fields, **changed}.items())),),
            raw_request=b"raw body",
        )


def _password(campaign: str) -> str:
    return "acme-secret" if campaign == "acme-auto-web" else "acme-secret-2"


class CountingPool:
    """A pool that counts the connections taken from it (one per transaction)."""

    def __init__(self, pool: Any) -> None:
        self._pool, self.taken = pool, 0

    def connection(self, *args: Any, **kwargs: Any) -> Any:
        self.taken += 1
        return self._pool.connection(*args, **kwargs)


@pytest.fixture
async def acme(pool: Any) -> Acme:
    tenant = await Accounts(pool).create_account("Acme")
    return Acme(tenant.account_id, await ConfigApply(pool).apply(tenant.account_id, EXAMPLE))


@pytest.fixture
async def other_pool(database_url: str) -> AsyncIterator[Any]:
    """A second process's pool on the same database."""
    other = await open_pool(database_url, max_size=4)
    yield other
    await other.close()


def intake(pool: Any) -> SubmitLeads:
    return SubmitLeads(pool, Identifier(), zip_codes.city_state)


async def outcomes_of(posts: list[tuple[SubmitLeads, Submission]]) -> Counter[ResponseType]:
    results = await asyncio.gather(*(each.submit(post) for each, post in posts))
    return Counter(outcome.response for result in results for outcome in result)


async def test_a_day_cap_holds_for_posts_at_once_through_two_processes(
    acme: Acme, pool: Any, other_pool: Any
) -> None:
    both = [intake(pool), intake(other_pool)]
    posts = [(both[i % 2], acme.post("acme-auto-rev", i)) for i in range(30)]
    assert await outcomes_of(posts) == {R.No_Error: 5, R.Post_Over_Max: 25}


async def test_an_hour_cap_set_meanwhile_holds_for_the_next_posts(
    acme: Acme, pool: Any, other_pool: Any
) -> None:
    both = [intake(pool), intake(other_pool)]
    assert await outcomes_of([(both[0], acme.post(number=100)), (both[1], acme.post(number=101))])
    capped = copy.deepcopy(EXAMPLE)
    capped["sources"][0]["campaigns"][0]["hour_max"] = 6  # two taken already
    await ConfigApply(other_pool).apply(acme.account_id, capped)
    posts = [(both[i % 2], acme.post(number=i)) for i in range(20)]
    assert await outcomes_of(posts) == {R.No_Error: 4, R.Post_Over_Max: 16}


async def test_identical_leads_at_once_to_an_uncapped_campaign_give_one_lead(
    acme: Acme, pool: Any, other_pool: Any
) -> None:
    uncapped = copy.deepcopy(EXAMPLE)
    uncapped["sources"][0]["campaigns"][0]["day_max"] = -1
    await ConfigApply(pool).apply(acme.account_id, uncapped)
    both = [intake(pool), intake(other_pool)]
    distinct = [(both[i % 2], acme.post(number=i)) for i in range(10)]
    same = [(both[i % 2], acme.post(number=99)) for i in range(10)]
    assert await outcomes_of(distinct + same) == {R.No_Error: 11, R.Duplicate_Lead: 9}


async def test_a_catalog_change_by_another_process_is_seen_by_the_next_post(
    acme: Acme, pool: Any, other_pool: Any
) -> None:
    here = intake(pool)
    assert (await here.submit(acme.post(number=1)))[0].accepted
    changed = copy.deepcopy(EXAMPLE)
    web = changed["sources"][0]["campaigns"][0]
    web["status"] = "disabled"
    await ConfigApply(other_pool).apply(acme.account_id, changed)
    assert (await here.submit(acme.post(number=2)))[0].response is R.Account_Disabled

    web["status"], web["password"] = "active", "new-secret"
    web["rules"].append({"field": "Zip", "operator": "Equal", "value": "89101"})
    await ConfigApply(other_pool).apply(acme.account_id, changed)
    old = await here.submit(acme.post(number=3))
    assert (old[0].response, old[0].details) == (R.No_Account_Found, "The password does not match")
    outside = await here.submit(acme.post(number=4, password="new-secret", Zip="89102"))
    assert outside[0].response is R.Outside_Criteria
    assert (await here.submit(acme.post(number=5, password="new-secret")))[0].accepted


async def test_an_accepted_post_is_one_transaction_and_logs_every_step(
    acme: Acme, pool: Any
) -> None:
    counting = CountingPool(pool)
    here = intake(counting)
    await here.submit(acme.post(number=1))  # what the identifiers resolve to is now known
    counting.taken = 0
    outcome = (await here.submit(acme.post(number=2)))[0]
    assert outcome.accepted and counting.taken == 1
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT lead_id, is_valid, response_details, steps FROM posts WHERE id = %s",
            [outcome.post_id],
        )
        logged = await cursor.fetchone()
    assert (logged["lead_id"], logged["is_valid"]) == (outcome.lead_id, True)
    assert logged["response_details"] == "Lead was accepted"
    assert [(s["name"], s["outcome"]) for s in logged["steps"]] == [
        ("identify", "passed"),
        ("validate_fields", "passed"),
        ("append_city_state", "changed"),
        ("campaign_rules", "passed"),
        ("campaign_status", "passed"),
        ("caps", "passed"),
        ("duplicate_check", "passed"),
        ("store", "passed"),
    ]
    assert logged["steps"][-1] == {
        "name": "store",
        "outcome": "passed",
        "detail": f"lead {outcome.lead_id}",
        "micros": 0,
    }


async def test_a_refusal_found_while_identifying_is_logged_in_the_same_transaction(
    acme: Acme, pool: Any
) -> None:
    counting = CountingPool(pool)
    refused = (await intake(counting).submit(acme.post(password="wrong")))[0]
    assert refused.response is R.No_Account_Found and counting.taken == 1
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT steps FROM posts WHERE id = %s", [refused.post_id])
        logged = await cursor.fetchone()
    assert [(s["name"], s["outcome"], s["detail"]) for s in logged["steps"]] == [
        ("identify", "failed", "The password does not match")
    ]


async def test_each_further_lead_of_a_request_has_its_own_transaction(
    acme: Acme, pool: Any
) -> None:
    counting = CountingPool(pool)
    first, second = acme.post(number=1), acme.post(number=2)
    both = Submission(**{**first.__dict__, "leads": first.leads + second.leads})
    outcomes = await intake(counting).submit(both)
    assert [o.response for o in outcomes] == [R.No_Error, R.No_Error]
    assert counting.taken == 2


async def test_what_identifiers_resolve_to_is_read_again_only_after_a_catalog_write(
    acme: Acme, pool: Any
) -> None:
    source, lead_type = acme.ids.sources["acme-media"], acme.ids.lead_types["auto-insurance"]
    campaign = acme.ids.campaigns["acme-auto-web"]
    async with pool.connection() as conn:
        first = await catalog_store.find_post_target(conn, source, lead_type, campaign)
        assert first is not None and first.campaign is not None
        assert first.campaign.spec.name == "Acme Auto Web" and len(first.fields) == 10
        again = await catalog_store.find_post_target(conn, source, lead_type, campaign, first)
    assert again is first
    renamed = copy.deepcopy(EXAMPLE)
    renamed["sources"][0]["campaigns"][0]["name"] = "Acme Auto Web 2"
    await ConfigApply(pool).apply(acme.account_id, renamed)
    async with pool.connection() as conn:
        fresh = await catalog_store.find_post_target(conn, source, lead_type, campaign, first)
    assert fresh is not None and fresh.campaign is not None
    assert fresh.version > first.version and fresh.campaign.spec.name == "Acme Auto Web 2"


async def test_a_campaign_cap_names_the_cap_reached_as_buyer_caps_do(acme: Acme, pool: Any) -> None:
    """Campaign caps follow domain/caps.py: the answer and the post log's caps step name the
    cap in the words a buyer's cap uses in the scan log."""
    here = intake(pool)
    for number in range(5):  # acme-auto-rev takes 5 leads a day
        [accepted] = await here.submit(acme.post("acme-auto-rev", number))
        assert accepted.accepted
    [refused] = await here.submit(acme.post("acme-auto-rev", 5))
    assert (refused.response, refused.details) == (
        R.Post_Over_Max,
        "The campaign's day cap 5 reached",
    )
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT steps FROM posts WHERE id = %s", (refused.post_id,))
        row = await cursor.fetchone()
    caps = next(step for step in row["steps"] if step["name"] == "caps")
    assert (caps["outcome"], caps["detail"]) == ("failed", "day cap 5 reached")
