"""Post log bodies removed past their account's post_body_days, on the real database: the
entries stay, the reports do not move, a queued post still waiting keeps its body (and holds
the removal behind it) until it is processed, other accounts keep theirs, and each body is
read once: a sweep with nothing due passes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from server.adapters import zip_codes
from server.domain.accounts import AccountSettings
from server.services.accounts import Accounts
from server.services.config_apply import ConfigApply
from server.services.intake.identify import Identifier
from server.services.intake.post_log import PostBodyRetention
from server.services.intake.requests import PostedLead, Submission
from server.services.intake.submit import SubmitLeads
from tests.support.documents import EXAMPLE


async def tenant(pool: Any, days: int | None) -> tuple[int, Submission]:
    """A new account with the example config keeping bodies `days`; a post of its source."""
    created = await Accounts(pool).create_account("Bodies")
    ids = await ConfigApply(pool).apply(created.account_id, EXAMPLE)
    if days is not None:
        await Accounts(pool).update_settings(
            created.account_id, AccountSettings(post_body_days=days), frozenset({"post_body_days"})
        )
    post = Submission(
        vid=str(ids.sources["acme-media"]),
        lid=str(ids.lead_types["auto-insurance"]),
        aid=str(ids.campaigns["acme-auto-web"]),
        password="acme-secret",
        leads=(PostedLead(fields=(("FirstName", "Ann"), ("Zip", "89101"))),),
    )
    return created.account_id, post


async def send(pool: Any, post: Submission, n: int, age_days: int) -> str:
    """Post it (refused or not: its entry keeps its body), aged `age_days`; its PostID."""
    body = f"vid={post.vid}&password=acme-secret&FirstName=Ann&n={n}".encode()
    submit = SubmitLeads(pool, Identifier(1000), zip_codes.city_state)
    [answer] = await submit.submit(Submission(**{**post.__dict__, "raw_request": body}))
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE posts SET received_at = now() - make_interval(days => %s) WHERE id = %s",
            (age_days, uuid.UUID(answer.post_id)),
        )
    return answer.post_id


async def bodies(pool: Any, account: int) -> dict[str, tuple[bytes, bool]]:
    """Each entry's body, and whether it was marked removed."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT id::text AS id, request_body, request_removed_at IS NOT NULL AS removed "
            "FROM posts WHERE account_id = %s",
            (account,),
        )
        return {r["id"]: (bytes(r["request_body"]), r["removed"]) for r in await cursor.fetchall()}


async def report_deltas(pool: Any) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT count(*) AS n FROM report_deltas")
        return int((await cursor.fetchone())["n"])


async def test_bodies_past_their_days_are_removed_and_their_entries_kept(pool: Any) -> None:
    account, post = await tenant(pool, days=30)
    old = [await send(pool, post, n, age_days=40 + n) for n in range(5)]
    recent = await send(pool, post, 9, age_days=2)
    keeper, keeping_post = await tenant(pool, days=None)
    kept_old = await send(pool, keeping_post, 1, age_days=400)
    deltas = await report_deltas(pool)

    retention = PostBodyRetention(pool, batch=2)
    assert await retention.sweep() == 5  # in batches of two
    found = await bodies(pool, account)
    assert {found[i] for i in old} == {(b"", True)}
    assert found[recent][0].startswith(b"vid=") and found[recent][1] is False
    assert b"password=REMOVED" in found[recent][0]  # as every kept body
    assert (await bodies(pool, keeper))[kept_old][1] is False
    assert await report_deltas(pool) == deltas  # the reports count entries, not bodies
    assert await retention.sweep() == 0  # nothing due is read again


async def test_a_queued_post_waiting_keeps_its_body_until_it_is_processed(pool: Any) -> None:
    account, post = await tenant(pool, days=30)
    before = await send(pool, post, 1, age_days=50)
    waiting = await send(pool, post, 2, age_days=45)
    after = await send(pool, post, 3, age_days=40)
    async with pool.connection() as conn:  # the queued post's own entry, as QueueLeads writes it
        await conn.execute(
            "INSERT INTO queued_posts (account_id, post_id, source_id, request, endpoint, "
            "response_format, receiver_url, queued_at) "
            "SELECT account_id, id, source_id, '{\"FirstName\": \"Ann\"}', 'general', 'json', "
            "'http://r.example', received_at FROM posts WHERE id = %s",
            (uuid.UUID(waiting),),
        )
    retention = PostBodyRetention(pool)
    await retention.sweep()
    found = await bodies(pool, account)
    assert found[before][1] is True
    assert (found[waiting][1], found[after][1]) == (False, False)  # held behind the waiting one

    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE queued_posts SET state = 'processed', processed_at = now() WHERE post_id = %s",
            (uuid.UUID(waiting),),
        )
    assert await retention.sweep() == 2
    found = await bodies(pool, account)
    assert (found[waiting], found[after]) == ((b"", True), (b"", True))
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT request FROM queued_posts WHERE post_id = %s", (uuid.UUID(waiting),)
        )
        assert bytes((await cursor.fetchone())["request"]) == b""  # its fields went too


async def test_an_account_that_sets_no_days_keeps_its_bodies(pool: Any) -> None:
    account, post = await tenant(pool, days=None)
    old = await send(pool, post, 1, age_days=3000)
    assert await PostBodyRetention(pool).sweep() == 0
    assert (await bodies(pool, account))[old][1] is False
