"""Posts whose credentials did not hold, on a real database: anyone can send one, so what the
post log keeps of them is bounded (a cap per account a minute in each process, a short body;
those naming no lead source swept by count and age), and the poster is answered alike whether
its post was logged or not."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from server.adapters import zip_codes
from server.domain.intake.limits import UNAUTHENTICATED_BODY
from server.domain.intake.screening import ResponseType
from server.services.config_apply import ConfigApply
from server.services.intake.identify import UNATTRIBUTED, Identifier
from server.services.intake.post_log import UnattributedRetention, UnattributedSettings
from server.services.intake.requests import PostedLead, Submission
from server.services.intake.submit import SubmitLeads

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "acme.json").read_text())
NOW = datetime(2026, 12, 5, 12, 0, 30, tzinfo=UTC)
LEAD = PostedLead(fields=(("FirstName", "Ann"),))


def junk(number: int, body: bytes = b"") -> Submission:
    """A post naming a lead source that does not exist."""
    return Submission(
        vid="987654321",
        lid="1",
        aid="1",
        password="x",
        leads=(LEAD,),
        raw_request=body or f"vid=987654321&n={number}".encode(),
    )


async def logged(pool: Any, *post_ids: str) -> dict[str, dict[str, Any]]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT id::text AS id, account_id, request_body, request_truncated, received_at "
            "FROM posts WHERE id = ANY(%s::uuid[])",
            [list(post_ids)],
        )
        return {row["id"]: row for row in await cursor.fetchall()}


async def unattributed_count(pool: Any) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT count(*) AS n FROM posts WHERE account_id = 0")
        return int((await cursor.fetchone())["n"])


def submitter(pool: Any, per_minute: int, clock: Any = lambda: NOW) -> SubmitLeads:
    return SubmitLeads(pool, Identifier(per_minute, clock=clock), zip_codes.city_state)


async def test_past_the_cap_a_minute_posts_are_answered_alike_and_not_logged(pool: Any) -> None:
    submit = submitter(pool, per_minute=2)
    answers = [(await submit.submit(junk(n)))[0] for n in range(4)]
    assert {(a.response, a.details) for a in answers} == {
        (ResponseType.Vendor_ID_Missing, answers[0].details)
    }
    assert all(a.post_id for a in answers)  # a PostID either way: nothing tells them apart
    rows = await logged(pool, *(a.post_id for a in answers))
    assert set(rows) == {answers[0].post_id, answers[1].post_id}
    assert {row["account_id"] for row in rows.values()} == {UNATTRIBUTED}


async def test_the_cap_counts_each_minute_afresh(pool: Any) -> None:
    now = [NOW]
    submit = submitter(pool, per_minute=1, clock=lambda: now[0])
    first = (await submit.submit(junk(1)))[0]
    over = (await submit.submit(junk(2)))[0]
    now[0] += timedelta(minutes=1)
    next_minute = (await submit.submit(junk(3)))[0]
    rows = await logged(pool, first.post_id, over.post_id, next_minute.post_id)
    assert set(rows) == {first.post_id, next_minute.post_id}


async def test_a_post_naming_no_source_keeps_only_the_start_of_its_body(pool: Any) -> None:
    body = b"vid=987654321&" + b"x" * 10_000
    answer = (await submitter(pool, per_minute=10).submit(junk(1, body)))[0]
    row = (await logged(pool, answer.post_id))[answer.post_id]
    assert bytes(row["request_body"]) == body[:UNAUTHENTICATED_BODY]
    assert row["request_truncated"] is True


async def test_the_sweep_deletes_them_past_their_age_and_beyond_the_count(pool: Any) -> None:
    submit = submitter(pool, per_minute=100)
    answers = [(await submit.submit(junk(n)))[0] for n in range(6)]
    ids = [a.post_id for a in answers]
    async with pool.connection() as conn:  # two of them from ten days ago, the rest in order
        for age, post_id in zip([14400, 14400, 4, 3, 2, 1], ids, strict=True):
            await conn.execute(
                "UPDATE posts SET received_at = %s WHERE id = %s",
                [NOW - timedelta(minutes=age), post_id],
            )
    assert await unattributed_count(pool) == 6

    def retention(kept: int) -> UnattributedRetention:
        settings = UnattributedSettings(kept=kept, days=7, sweep_batch=1)
        return UnattributedRetention(pool, settings, clock=lambda: NOW)

    assert await retention(kept=100).sweep() == 2  # the ten-day-old ones
    assert set(await logged(pool, *ids)) == set(ids[2:])
    assert await retention(kept=2).sweep() == 2  # then all but the newest two
    assert set(await logged(pool, *ids)) == set(ids[4:])
    assert await retention(kept=2).sweep() == 0


async def test_the_sweep_leaves_the_accounts_posts_alone(pool: Any, new_account: Any) -> None:
    tenant = await new_account("A tenant")
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO posts (account_id, id, received_at, is_valid, response_type, "
            "response_details) VALUES (%s, gen_random_uuid(), %s, false, 1, 'old')",
            [tenant.account_id, NOW - timedelta(days=400)],
        )
    settings = UnattributedSettings(kept=1, days=1)
    assert await UnattributedRetention(pool, settings, clock=lambda: NOW).sweep() == 0
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) AS n FROM posts WHERE account_id = %s", [tenant.account_id]
        )
        assert (await cursor.fetchone())["n"] == 1


async def test_the_sweep_runs_until_stopped(pool: Any) -> None:
    answer = (await submitter(pool, per_minute=10).submit(junk(1)))[0]
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE posts SET received_at = now() - interval '30 days' WHERE id = %s",
            [answer.post_id],
        )
    stop = asyncio.Event()
    running = asyncio.create_task(UnattributedRetention(pool).run(stop))
    for _ in range(100):
        if not await logged(pool, answer.post_id):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await running
    assert await logged(pool, answer.post_id) == {}


async def test_wrong_credentials_for_a_real_source_are_capped_per_account(
    pool: Any, new_account: Any
) -> None:
    tenant = await new_account("A tenant")
    applied = await ConfigApply(pool).apply(tenant.account_id, EXAMPLE)
    source = str(applied.sources["acme-media"])
    lid, aid = str(applied.lead_types["auto-insurance"]), str(applied.campaigns["acme-auto-web"])

    def post(password: str, body: bytes = b"body") -> Submission:
        fields = (("FirstName", "Ann"),)
        leads = (PostedLead(fields=fields),)
        return Submission(source, lid, aid, password, leads=leads, raw_request=body)

    submit = submitter(pool, per_minute=1)
    wrong = [(await submit.submit(post("wrong", b"x" * 5000)))[0] for _ in range(2)]
    unknown = (await submit.submit(junk(1)))[0]  # account 0 has a cap of its own
    right = (await submit.submit(post("acme-secret", b"y" * 5000)))[0]
    assert [a.details for a in wrong] == ["The password does not match"] * 2
    rows = await logged(pool, wrong[0].post_id, wrong[1].post_id, unknown.post_id, right.post_id)
    assert set(rows) == {wrong[0].post_id, unknown.post_id, right.post_id}
    assert rows[wrong[0].post_id]["account_id"] == tenant.account_id
    assert len(bytes(rows[wrong[0].post_id]["request_body"])) == UNAUTHENTICATED_BODY
    assert len(bytes(rows[right.post_id]["request_body"])) == 5000  # its source's post: whole
