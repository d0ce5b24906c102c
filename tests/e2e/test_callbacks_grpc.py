"""Callbacks through the gRPC admin API: signing secrets made and rotated (shown once), the
account setting that lets callbacks reach private addresses, and a post's callback attempts,
each within the caller's account."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from leadrouter.v1 import admin_pb2, callbacks_pb2

from clients.client import struct
from server.bootstrap import callbacks
from server.services.callbacks import Callbacks, queue_callback
from server.storage.database import transaction
from tests.e2e.conftest import EXAMPLE
from tests.support.callbacks import (
    FAST,
    Receiver,
    Reply,
    callback_receiver,
    documented_verify,
    settled,
)

Tenant = tuple[str, int, int]  # admin key, account id, lead source id


@pytest.fixture
async def tenant(new_account: Any, stub_for: Any) -> Tenant:
    created = await new_account()
    async with stub_for(created.api_key) as stub:
        applied = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(EXAMPLE)))
    return created.api_key, created.account_id, applied.sources["acme-media"]


@pytest.fixture
async def other(new_account: Any, stub_for: Any) -> Tenant:
    created = await new_account("Other")
    async with stub_for(created.api_key) as stub:
        applied = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(EXAMPLE)))
    return created.api_key, created.account_id, applied.sources["acme-media"]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with callback_receiver() as found:
        yield found


@pytest.fixture
async def sender(pool: Any) -> AsyncIterator[Callbacks]:
    async with callbacks(pool, FAST) as running:
        yield running


async def code_of(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value.code()


# -- signing secrets


async def test_a_signing_secret_is_shown_when_made_and_rotated(
    tenant: Tenant, stub_for: Any
) -> None:
    key, _, source = tenant
    async with stub_for(key) as stub:
        made = await stub.CreateSigningSecret(
            callbacks_pb2.CreateSigningSecretRequest(source_id=source)
        )
        again = stub.CreateSigningSecret(callbacks_pb2.CreateSigningSecretRequest(source_id=source))
        assert await code_of(again) == grpc.StatusCode.ALREADY_EXISTS
        rotated = await stub.RotateSigningSecret(
            callbacks_pb2.RotateSigningSecretRequest(source_id=source)
        )
        listed = await stub.GetSource(admin_pb2.GetSourceRequest(id=source))
    assert made.source_id == rotated.source_id == source
    assert made.secret.startswith("lrsig_") and rotated.secret.startswith("lrsig_")
    assert made.secret != rotated.secret
    assert made.created_at.seconds > 0 and rotated.created_at.seconds >= made.created_at.seconds
    assert made.secret not in str(listed) and rotated.secret not in str(listed)


async def test_rotating_needs_a_secret_to_rotate(tenant: Tenant, stub_for: Any) -> None:
    key, _, source = tenant
    async with stub_for(key) as stub:
        call = stub.RotateSigningSecret(callbacks_pb2.RotateSigningSecretRequest(source_id=source))
        assert await code_of(call) == grpc.StatusCode.FAILED_PRECONDITION


async def test_another_accounts_source_has_no_secret_to_make_or_rotate(
    tenant: Tenant, other: Tenant, stub_for: Any
) -> None:
    async with stub_for(tenant[0]) as stub:
        for call in (
            stub.CreateSigningSecret(callbacks_pb2.CreateSigningSecretRequest(source_id=other[2])),
            stub.RotateSigningSecret(callbacks_pb2.RotateSigningSecretRequest(source_id=other[2])),
        ):
            assert await code_of(call) == grpc.StatusCode.NOT_FOUND


# -- account settings


async def test_private_callbacks_are_off_until_the_account_allows_them(
    tenant: Tenant, other: Tenant, stub_for: Any
) -> None:
    async with stub_for(tenant[0]) as stub:
        before = await stub.GetAccountSettings(callbacks_pb2.GetAccountSettingsRequest())
        allowed = await stub.UpdateAccountSettings(
            callbacks_pb2.UpdateAccountSettingsRequest(
                settings=callbacks_pb2.AccountSettings(allow_private_callbacks=True)
            )
        )
        unmasked = await stub.UpdateAccountSettings(
            callbacks_pb2.UpdateAccountSettingsRequest(update_mask=FieldMask(paths=[]))
        )
        await stub.UpdateAccountSettings(
            callbacks_pb2.UpdateAccountSettingsRequest(
                settings=callbacks_pb2.AccountSettings(allow_private_callbacks=True)
            )
        )
        bad = stub.UpdateAccountSettings(
            callbacks_pb2.UpdateAccountSettingsRequest(update_mask=FieldMask(paths=["nope"]))
        )
        assert await code_of(bad) == grpc.StatusCode.INVALID_ARGUMENT
        after = await stub.GetAccountSettings(callbacks_pb2.GetAccountSettingsRequest())
    async with stub_for(other[0]) as stub:
        others = await stub.GetAccountSettings(callbacks_pb2.GetAccountSettingsRequest())
    assert (before.allow_private_callbacks, allowed.allow_private_callbacks) == (False, True)
    assert unmasked.allow_private_callbacks is False  # no mask: every field, as sent
    assert after.allow_private_callbacks is True
    assert others.allow_private_callbacks is False


async def test_an_account_sets_its_own_limit_of_posts_waiting(
    tenant: Tenant, other: Tenant, stub_for: Any
) -> None:
    def update(paths: list[str], **fields: Any) -> Any:
        settings = callbacks_pb2.AccountSettings(**fields)
        mask = FieldMask(paths=paths)
        return callbacks_pb2.UpdateAccountSettingsRequest(settings=settings, update_mask=mask)

    async with stub_for(tenant[0]) as stub:
        before = await stub.GetAccountSettings(callbacks_pb2.GetAccountSettingsRequest())
        await stub.UpdateAccountSettings(
            update(["allow_private_callbacks"], allow_private_callbacks=True)
        )
        own = await stub.UpdateAccountSettings(update(["max_queued_posts"], max_queued_posts=25))
        refused = [
            await code_of(
                stub.UpdateAccountSettings(update(["max_queued_posts"], max_queued_posts=n))
            )
            for n in (-1, 1_000_001)
        ]
        output_only = stub.UpdateAccountSettings(update(["queue_limit"], queue_limit=5))
        assert await code_of(output_only) == grpc.StatusCode.INVALID_ARGUMENT
        kept = await stub.GetAccountSettings(callbacks_pb2.GetAccountSettingsRequest())
        server = await stub.UpdateAccountSettings(update(["max_queued_posts"], max_queued_posts=0))
    async with stub_for(other[0]) as stub:
        others = await stub.GetAccountSettings(callbacks_pb2.GetAccountSettingsRequest())
    assert (before.max_queued_posts, before.queue_limit) == (0, 10_000)
    assert (own.max_queued_posts, own.queue_limit) == (25, 25)
    assert own.allow_private_callbacks is True  # a masked update changes only what it names
    assert refused == [grpc.StatusCode.INVALID_ARGUMENT] * 2
    assert (kept.max_queued_posts, kept.queue_limit) == (25, 25)
    assert (server.max_queued_posts, server.queue_limit) == (0, 10_000)
    assert (others.max_queued_posts, others.queue_limit) == (0, 10_000)


# -- a post's callback attempts


async def test_a_posts_attempts_are_listed_to_its_account_only(
    pool: Any,
    sender: Callbacks,
    receiver: Receiver,
    tenant: Tenant,
    other: Tenant,
    stub_for: Any,
    ids: dict[str, str],
) -> None:
    key, account, source = tenant
    async with stub_for(key) as stub:
        await stub.UpdateAccountSettings(
            callbacks_pb2.UpdateAccountSettingsRequest(
                settings=callbacks_pb2.AccountSettings(allow_private_callbacks=True)
            )
        )
        secret = (
            await stub.CreateSigningSecret(
                callbacks_pb2.CreateSigningSecretRequest(source_id=source)
            )
        ).secret
    receiver.script.append(Reply(502, b"bad gateway"))
    post_id = str(uuid.uuid4())
    body = b"<PostResponse><isValidPost>true</isValidPost></PostResponse>"
    async with transaction(pool) as conn:
        await queue_callback(
            conn, account, source, post_id, receiver.url(), "application/xml", body
        )
    await settled(pool, sender, account, post_id)
    request = callbacks_pb2.ListCallbackAttemptsRequest(post_id=post_id)
    async with stub_for(key) as stub:
        [callback] = (await stub.ListCallbackAttempts(request)).callbacks
    async with stub_for(other[0]) as stub:
        assert list((await stub.ListCallbackAttempts(request)).callbacks) == []
        malformed = stub.ListCallbackAttempts(
            callbacks_pb2.ListCallbackAttemptsRequest(post_id="not-a-post")
        )
        assert await code_of(malformed) == grpc.StatusCode.INVALID_ARGUMENT
    async with stub_for(ids["source_key"]) as stub:  # a lead source's own key
        assert (
            await code_of(stub.ListCallbackAttempts(request)) == grpc.StatusCode.PERMISSION_DENIED
        )

    assert (callback.post_id, callback.url, callback.signed) == (post_id, receiver.url(), True)
    assert callback.state == callbacks_pb2.CALLBACK_STATE_DELIVERED
    assert callback.finished_at.seconds > 0 and not callback.HasField("next_attempt_at")
    assert [(a.number, a.outcome, a.http_status, a.error) for a in callback.attempts] == [
        (1, callbacks_pb2.CALLBACK_OUTCOME_FAILED, 502, "answered 502: bad gateway"),
        (2, callbacks_pb2.CALLBACK_OUTCOME_DELIVERED, 200, ""),
    ]
    assert all(a.at.seconds > 0 and a.elapsed_ms > 0 for a in callback.attempts)
    sent = receiver.received
    assert [r.headers["x-leadrouter-event-id"] for r in sent] == [callback.event_id] * 2
    assert sent[-1].headers["content-type"] == "application/xml"
    assert documented_verify()(secret, sent[-1].headers["x-leadrouter-signature"], body)
