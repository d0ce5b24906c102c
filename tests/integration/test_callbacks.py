"""Callbacks on the real database and the real wire: queued in the caller's transaction,
leased to one process at a time, POSTed to a receiver on loopback that verifies the
signature with the recipe docs/receiver.md gives, retried by the schedule (short here) with
the same event id, refused and never retried for an address the account may not call."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from server.adapters.callbacks import CallbackClient
from server.bootstrap import callbacks
from server.domain.accounts import AccountSettings
from server.domain.callbacks.records import CallbackState, Outcome
from server.domain.callbacks.signing import verify
from server.errors import FailedPrecondition
from server.services.accounts import Accounts
from server.services.callbacks import CallbackReports, Callbacks, queue_callback
from server.services.config_apply import ConfigApply
from server.services.signing_secrets import SigningSecrets
from server.storage import callbacks as store
from server.storage.database import transaction
from tests.support.callbacks import (
    FAST,
    Receiver,
    Reply,
    callback_receiver,
    documented_verify,
    report,
    settled,
)
from tests.support.documents import EXAMPLE

BODY = b'{"PostID":"x","isValidPost":true,"ResponseType":"No_Error"}'


async def tenant(pool: Any, allow_private: bool = True) -> tuple[int, int]:
    """A new account with the example config: its id and its lead source's."""
    created = await Accounts(pool).create_account("Callbacks")
    ids = await ConfigApply(pool).apply(created.account_id, EXAMPLE)
    if allow_private:
        await Accounts(pool).update_settings(
            created.account_id, AccountSettings(allow_private_callbacks=True), None
        )
    return created.account_id, ids.sources["acme-media"]


async def queue(
    pool: Any, account: int, source: int, url: str, body: bytes = BODY, aged: str = ""
) -> str:
    """Queue a callback; `aged` (an interval) backdates it in the same transaction, so a
    running sender cannot make its first attempt before it is aged."""
    post_id = str(uuid.uuid4())
    async with transaction(pool) as conn:
        await queue_callback(conn, account, source, post_id, url, "application/json", body)
        if aged:
            await conn.execute(
                "UPDATE callbacks SET created_at = now() - %s::interval WHERE post_id = %s",
                (aged, post_id),
            )
    return post_id


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with callback_receiver() as found:
        yield found


@pytest.fixture
async def sender(pool: Any) -> AsyncIterator[Callbacks]:
    async with callbacks(pool, FAST) as running:
        yield running


# -- queueing


async def test_a_callback_is_queued_with_the_callers_transaction_only(pool: Any) -> None:
    account, source = await tenant(pool)
    post_id = str(uuid.uuid4())
    with pytest.raises(RuntimeError):
        async with transaction(pool) as conn:
            await queue_callback(conn, account, source, post_id, "http://a.example/", "x", b"")
            raise RuntimeError("the post's outcome could not be recorded")
    assert await CallbackReports(pool).for_post(account, post_id) == []
    async with transaction(pool) as conn:
        await queue_callback(conn, account, source, post_id, "http://a.example/", "x", b"")
    found = await report(pool, account, post_id)
    assert (found.state, found.attempts, found.url) == (
        CallbackState.PENDING,
        (),
        "http://a.example/",
    )


async def test_a_post_has_one_callback_and_a_blank_url_queues_none(pool: Any) -> None:
    account, source = await tenant(pool)
    post_id = str(uuid.uuid4())
    async with transaction(pool) as conn:
        for url in ("http://a.example/1", "http://a.example/2"):
            await queue_callback(conn, account, source, post_id, url, "x", b"")
        await queue_callback(conn, account, source, str(uuid.uuid4()), "  ", "x", b"")
    assert [c.url for c in await CallbackReports(pool).for_post(account, post_id)] == [
        "http://a.example/1"
    ]
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT count(*) AS n FROM callbacks")
        assert (await cursor.fetchone())["n"] == 1


async def test_another_accounts_post_lists_no_callback(pool: Any) -> None:
    account, source = await tenant(pool)
    other, _ = await tenant(pool)
    post_id = await queue(pool, account, source, "http://a.example/")
    assert await CallbackReports(pool).for_post(other, post_id) == []


# -- leases


async def test_a_callback_is_leased_to_one_process_and_finished_only_under_its_lease(
    pool: Any,
) -> None:
    account, source = await tenant(pool)
    await queue(pool, account, source, "http://a.example/")
    async with transaction(pool) as conn:
        [first] = await store.claim_due(conn, 30.0, 10)
        assert await store.claim_due(conn, 30.0, 10) == []
        await conn.execute("UPDATE callbacks SET lease_until = now() - interval '1 second'")
    async with transaction(pool) as conn:  # the process holding it died
        [second] = await store.claim_due(conn, 30.0, 10)
    assert (second.lease.callback_id, second.lease.lease) == (
        first.lease.callback_id,
        first.lease.lease + 1,
    )
    assert (second.url, second.body, second.attempts) == (first.url, first.body, 0)
    async with transaction(pool) as conn:
        late = await store.finish(
            conn,
            first.lease,
            CallbackState.DELIVERED,
            outcome=Outcome.DELIVERED,
            status=200,
            error="",
            elapsed_ms=1.0,
            retry_in=0.0,
        )
        assert late is False
        assert await store.finish(
            conn,
            second.lease,
            CallbackState.PENDING,
            outcome=Outcome.FAILED,
            status=500,
            error="answered 500",
            elapsed_ms=1.0,
            retry_in=60.0,
        )


# -- sending


async def test_a_signed_callback_verifies_with_the_documented_recipe(
    pool: Any, sender: Callbacks, receiver: Receiver
) -> None:
    account, source = await tenant(pool)
    secret = (await SigningSecrets(pool).create(account, source)).secret
    post_id = await queue(pool, account, source, receiver.url("/hook?source=1"))
    found = await settled(pool, sender, account, post_id)
    assert (found.state, found.signed) == (CallbackState.DELIVERED, True)
    [request] = receiver.received
    assert (request.method, request.target, request.body) == ("POST", "/hook?source=1", BODY)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-leadrouter-event-id"] == found.event_id
    assert request.headers["idempotency-key"] == found.event_id
    assert request.headers["user-agent"] == "leadrouter"
    documented = documented_verify()
    header = request.headers["x-leadrouter-signature"]
    assert documented(secret, header, request.body)
    assert not documented(secret, header, request.body + b" ")
    assert not documented("lrsig_another", header, request.body)
    [attempt] = found.attempts
    assert (attempt.number, attempt.outcome, attempt.status) == (1, Outcome.DELIVERED, 200)


async def test_the_signature_is_stamped_with_the_senders_clock(
    pool: Any, receiver: Receiver
) -> None:
    account, source = await tenant(pool)
    secret = (await SigningSecrets(pool).create(account, source)).secret
    post_id = await queue(pool, account, source, receiver.url())
    sender = Callbacks(pool, CallbackClient(), FAST, clock=lambda: 1_700_000_000.9)
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    try:
        await settled(pool, sender, account, post_id)
    finally:
        stop.set()
        await running
    header = receiver.received[0].headers["x-leadrouter-signature"]
    assert header.startswith("t=1700000000,v1=")
    assert verify(secret, header, BODY, now=1_700_000_000 + 300)
    assert not verify(secret, header, BODY, now=1_700_000_000 + 301)  # replayed too late


async def test_a_source_without_a_secret_gets_its_callbacks_unsigned(
    pool: Any, sender: Callbacks, receiver: Receiver
) -> None:
    account, source = await tenant(pool)
    post_id = await queue(pool, account, source, receiver.url())
    found = await settled(pool, sender, account, post_id)
    assert (found.state, found.signed) == (CallbackState.DELIVERED, False)
    assert "x-leadrouter-signature" not in receiver.received[0].headers


async def test_a_rotated_secret_signs_from_then_on(
    pool: Any, sender: Callbacks, receiver: Receiver
) -> None:
    account, source = await tenant(pool)
    secrets = SigningSecrets(pool)
    old = (await secrets.create(account, source)).secret
    new = (await secrets.rotate(account, source)).secret
    await settled(pool, sender, account, await queue(pool, account, source, receiver.url()))
    header = receiver.received[0].headers["x-leadrouter-signature"]
    assert documented_verify()(new, header, BODY)
    assert not documented_verify()(old, header, BODY)


async def test_a_receiver_failing_three_times_gets_the_callback_once_more_and_no_more(
    pool: Any, sender: Callbacks, receiver: Receiver
) -> None:
    account, source = await tenant(pool)
    receiver.script += [Reply(500, b"down"), Reply(503, b"busy"), Reply(404, b"")]
    post_id = await queue(pool, account, source, receiver.url())
    found = await settled(pool, sender, account, post_id)
    await sender.idle()
    assert found.state is CallbackState.DELIVERED
    assert len(receiver.received) == 4
    assert {r.headers["x-leadrouter-event-id"] for r in receiver.received} == {found.event_id}
    assert [(a.number, a.outcome, a.status, a.error) for a in found.attempts] == [
        (1, Outcome.FAILED, 500, "answered 500: down"),
        (2, Outcome.FAILED, 503, "answered 503: busy"),
        (3, Outcome.FAILED, 404, "answered 404"),
        (4, Outcome.DELIVERED, 200, ""),
    ]
    assert found.next_attempt_at is None and found.finished_at is not None


async def test_a_timeout_is_retried(pool: Any, sender: Callbacks, receiver: Receiver) -> None:
    account, source = await tenant(pool)
    receiver.script.append(Reply(delay=5.0))
    post_id = await queue(pool, account, source, receiver.url())
    found = await settled(pool, sender, account, post_id)
    assert [(a.outcome, a.status, a.error) for a in found.attempts] == [
        (Outcome.FAILED, None, "no answer within 0.5s"),
        (Outcome.DELIVERED, 200, ""),
    ]


async def test_a_private_address_is_refused_once_and_never_retried(
    pool: Any, sender: Callbacks, receiver: Receiver
) -> None:
    account, source = await tenant(pool, allow_private=False)
    post_id = await queue(pool, account, source, receiver.url())
    await settled(pool, sender, account, post_id)
    for _ in range(3):  # polls that would find it, were it due again
        sender.wake()
        await sender.idle()
    found = await report(pool, account, post_id)
    assert found.state is CallbackState.REFUSED
    [attempt] = found.attempts
    assert (attempt.outcome, attempt.status) == (Outcome.REFUSED, None)
    assert attempt.error == (
        "127.0.0.1 is in the loopback range; the account does not allow private callbacks"
    )
    assert receiver.received == []


async def test_a_server_that_allows_no_private_callbacks_refuses_them_whatever_the_account_says(
    pool: Any, receiver: Receiver
) -> None:
    account, source = await tenant(pool, allow_private=True)
    post_id = await queue(pool, account, source, receiver.url())
    async with callbacks(pool, replace(FAST, private_by_account=False)) as sender:
        await settled(pool, sender, account, post_id)
    found = await report(pool, account, post_id)
    assert found.state is CallbackState.REFUSED
    [attempt] = found.attempts
    assert attempt.error == (
        "127.0.0.1 is in the loopback range; the server does not allow private callbacks"
    )
    assert receiver.received == []


async def test_an_account_may_not_allow_private_callbacks_on_a_server_that_allows_none(
    pool: Any,
) -> None:
    account, _ = await tenant(pool, allow_private=True)  # allowed before the server said no
    strict = Accounts(pool, private_callbacks=False)
    assert (await strict.settings(account)).allow_private_callbacks is False  # as it applies
    with pytest.raises(FailedPrecondition, match="LEADROUTER_PRIVATE_CALLBACKS=never"):
        await strict.update_settings(account, AccountSettings(allow_private_callbacks=True), None)
    # the other settings may still be changed
    changed = await strict.update_settings(
        account, AccountSettings(max_queued_posts=7), frozenset({"max_queued_posts"})
    )
    assert (changed.max_queued_posts, changed.allow_private_callbacks) == (7, False)


async def test_a_callback_is_failed_once_three_days_have_passed(
    pool: Any, sender: Callbacks, receiver: Receiver
) -> None:
    account, source = await tenant(pool)
    receiver.script.append(Reply(500, b"down"))
    post_id = await queue(pool, account, source, receiver.url(), aged="3 days")
    found = await settled(pool, sender, account, post_id)
    assert found.state is CallbackState.FAILED
    assert [a.outcome for a in found.attempts] == [Outcome.FAILED]
    assert len(receiver.received) == 1


async def test_an_unknown_name_is_retried_not_refused(pool: Any, sender: Callbacks) -> None:
    account, source = await tenant(pool)
    # the last attempt the schedule allows
    post_id = await queue(pool, account, source, "http://callback.invalid/hook", aged="3 days")
    found = await settled(pool, sender, account, post_id)
    assert found.state is CallbackState.FAILED
    assert found.attempts[0].error.startswith("could not resolve callback.invalid")
