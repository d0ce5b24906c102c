"""The post log read over gRPC (PostLogService), of leads posted through the real receiver:
newest first, filtered, a page at a time, each entry whole with the request as it came (its
password removed), to the account's admin key only; and the account's post_body_days."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp
from leadrouter.v1 import admin_pb2, callbacks_pb2, leads_pb2, post_log_pb2, post_log_pb2_grpc

from clients.client import struct
from tests.e2e.conftest import EXAMPLE
from tests.e2e.test_receiver_distribution import LEAD

PASSWORD = "acme-secret"


def lead(n: int) -> dict[str, str]:
    """A lead no other of the test duplicates (by email and phone)."""
    return {**LEAD, "Email": f"p{n}@example.com", "Phone": f"(702) 555-01{n:02d}"}


@dataclass(frozen=True)
class Poster:
    key: str  # the account's admin key
    source_key: str
    form: dict[str, str]  # vid, lid, aid and password
    source: int
    campaign: int


@pytest.fixture
async def log(grpc_address: str) -> AsyncIterator[post_log_pb2_grpc.PostLogServiceStub]:
    async with grpc.aio.insecure_channel(grpc_address) as channel:
        yield post_log_pb2_grpc.PostLogServiceStub(channel)


async def poster(new_account: Any, stub_for: Any) -> Poster:
    tenant = await new_account()
    async with stub_for(tenant.api_key) as stub:
        applied = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(EXAMPLE)))
        source = applied.sources["acme-media"]
        made = await stub.CreateSourceKey(admin_pb2.CreateSourceKeyRequest(source_id=source))
    form = {
        "vid": str(source),
        "lid": str(applied.lead_types["auto-insurance"]),
        "aid": str(applied.campaigns["acme-auto-web"]),
        "password": PASSWORD,
    }
    return Poster(tenant.api_key, made.secret, form, source, applied.campaigns["acme-auto-web"])


@pytest.fixture
async def tenant(new_account: Any, stub_for: Any) -> Poster:
    return await poster(new_account, stub_for)


def key(secret: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {secret}")]


async def posted(http: httpx.AsyncClient, **kwargs: Any) -> list[str]:
    """The PostIDs of a post to the general insert URL, in order."""
    answer = await http.post("/processor/insert/general/json", **kwargs)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    results = body if isinstance(body, list) else body.get("Results", [body])
    return [r["PostID"] for r in results]


async def code_of(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    code: grpc.StatusCode = raised.value.code()
    return code


async def test_posts_are_listed_newest_first_and_read_whole_with_the_password_removed(
    http: httpx.AsyncClient, log: Any, tenant: Poster
) -> None:
    [sold] = await posted(http, data={**tenant.form, **lead(1)})
    [refused] = await posted(http, data={**tenant.form, **lead(2), "Zip": "not a zip"})
    document = {
        "source": {k: tenant.form[k] for k in ("vid", "lid", "aid", "password")},
        "leads": [{"fields": lead(3)}, {"fields": lead(4)}],
    }
    first, second = await posted(http, json=document)

    listed = await log.ListPosts(post_log_pb2.ListPostsRequest(), metadata=key(tenant.key))
    order = [(p.received_at.ToDatetime(), p.post_id) for p in listed.posts]
    assert order == sorted(order, reverse=True)  # by time, then id (a request's leads may tie)
    assert {p.post_id for p in listed.posts[:2]} == {first, second}
    assert [p.post_id for p in listed.posts][2:] == [refused, sold]
    assert listed.next_page_token == ""
    assert all(p.request == b"" for p in listed.posts)  # bodies are GetPost's
    by_id = {p.post_id: p for p in listed.posts}
    assert (by_id[sold].is_valid, by_id[sold].response_type) == (True, leads_pb2.NO_ERROR)
    assert by_id[sold].lead_id > 0 and by_id[sold].source_id == tenant.source
    assert (by_id[refused].is_valid, by_id[refused].response_type) == (
        False,
        leads_pb2.DATA_ERRORS,
    )
    assert by_id[refused].lead_id == 0 and "Zip" in by_id[refused].response

    refusals = await log.ListPosts(
        post_log_pb2.ListPostsRequest(outcome=post_log_pb2.POST_OUTCOME_FILTER_REFUSED),
        metadata=key(tenant.key),
    )
    assert [p.post_id for p in refusals.posts] == [refused]
    other_source = await log.ListPosts(
        post_log_pb2.ListPostsRequest(source_id=tenant.source + 1000), metadata=key(tenant.key)
    )
    assert list(other_source.posts) == []

    entry = await log.GetPost(post_log_pb2.GetPostRequest(post_id=sold), metadata=key(tenant.key))
    assert entry.request_format == "urlencoded" and entry.remote_ip == "127.0.0.1"
    assert b"password=REMOVED" in entry.request and b"FirstName=Ann" in entry.request
    assert PASSWORD.encode() not in entry.request
    assert entry.steps[0].name == "identify"
    assert not entry.HasField("request_removed_at") and entry.price == by_id[sold].price

    further = await log.GetPost(
        post_log_pb2.GetPostRequest(post_id=second), metadata=key(tenant.key)
    )
    kept = json.loads(further.request)
    assert (further.lead_index, further.request_post_id) == (1, first)
    assert kept["source"]["password"] == "REMOVED"
    assert kept["leads"][1]["fields"]["Email"] == "p4@example.com"


async def test_a_get_posts_query_string_is_kept_as_its_request(
    http: httpx.AsyncClient, log: Any, tenant: Poster
) -> None:
    """A GET sends its lead in the query string: that is the request the log shows."""
    answer = await http.get("/processor/insert/general/json", params={**tenant.form, **lead(1)})
    assert answer.status_code == 200, answer.text
    entry = await log.GetPost(
        post_log_pb2.GetPostRequest(post_id=answer.json()["PostID"]), metadata=key(tenant.key)
    )
    assert entry.request.startswith(f"vid={tenant.form['vid']}&".encode())
    assert b"password=REMOVED&FirstName=Ann" in entry.request and entry.is_valid
    sent = answer.request.url.query  # the query string as it went, bytes
    assert entry.request == sent.replace(PASSWORD.encode(), b"REMOVED")


async def test_the_log_is_read_a_page_at_a_time(
    http: httpx.AsyncClient, log: Any, tenant: Poster
) -> None:
    document = {
        "source": {k: tenant.form[k] for k in ("vid", "lid", "aid", "password")},
        "leads": [{"fields": lead(n)} for n in range(3)],
    }
    ids = await posted(http, json=document) + await posted(http, data={**tenant.form, **lead(3)})
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = await log.ListPosts(
            post_log_pb2.ListPostsRequest(page_size=3, page_token=token), metadata=key(tenant.key)
        )
        seen += [p.post_id for p in page.posts]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert pages == 2 and sorted(seen) == sorted(ids) and seen[0] == ids[-1]

    [newest] = (
        await log.ListPosts(post_log_pb2.ListPostsRequest(page_size=1), metadata=key(tenant.key))
    ).posts
    before = Timestamp()
    before.CopyFrom(newest.received_at)
    older = await log.ListPosts(
        post_log_pb2.ListPostsRequest(received_before=before), metadata=key(tenant.key)
    )
    assert sorted(p.post_id for p in older.posts) == sorted(ids[:3])
    since = await log.ListPosts(
        post_log_pb2.ListPostsRequest(received_after=before), metadata=key(tenant.key)
    )
    assert [p.post_id for p in since.posts] == [ids[-1]]

    for wrong in (
        post_log_pb2.ListPostsRequest(page_token="not a token"),
        post_log_pb2.ListPostsRequest(page_size=1001),
        post_log_pb2.ListPostsRequest(page_size=-1),
        post_log_pb2.ListPostsRequest(received_after=before, received_before=before),
        post_log_pb2.ListPostsRequest(outcome=7),  # type: ignore[arg-type]
        post_log_pb2.ListPostsRequest(received_after=Timestamp(seconds=10**12)),  # year 33658
    ):
        assert await code_of(log.ListPosts(wrong, metadata=key(tenant.key))) == (
            grpc.StatusCode.INVALID_ARGUMENT
        )


async def test_an_account_reads_its_own_log_only_and_with_its_admin_key(
    http: httpx.AsyncClient, log: Any, tenant: Poster, new_account: Any, stub_for: Any
) -> None:
    other = await poster(new_account, stub_for)
    [mine] = await posted(http, data={**tenant.form, **lead(1)})
    request = post_log_pb2.GetPostRequest(post_id=mine)
    assert (
        list((await log.ListPosts(post_log_pb2.ListPostsRequest(), metadata=key(other.key))).posts)
        == []
    )
    assert await code_of(log.GetPost(request, metadata=key(other.key))) == (
        grpc.StatusCode.NOT_FOUND
    )
    malformed = post_log_pb2.GetPostRequest(post_id="not-a-post")
    assert await code_of(log.GetPost(malformed, metadata=key(tenant.key))) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    assert await code_of(log.GetPost(request)) == grpc.StatusCode.UNAUTHENTICATED
    assert await code_of(log.GetPost(request, metadata=key(tenant.source_key))) == (
        grpc.StatusCode.PERMISSION_DENIED
    )


async def test_the_days_a_post_log_keeps_bodies_are_an_account_setting(
    stub_for: Any, tenant: Poster
) -> None:
    async with stub_for(tenant.key) as stub:
        assert (
            await stub.GetAccountSettings(callbacks_pb2.GetAccountSettingsRequest())
        ).post_body_days == 0
        changed = await stub.UpdateAccountSettings(
            callbacks_pb2.UpdateAccountSettingsRequest(
                settings=callbacks_pb2.AccountSettings(post_body_days=90),
                update_mask=FieldMask(paths=["post_body_days"]),
            )
        )
        assert (changed.post_body_days, changed.max_queued_posts) == (90, 0)
        for days in (3651, -1):
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await stub.UpdateAccountSettings(
                    callbacks_pb2.UpdateAccountSettingsRequest(
                        settings=callbacks_pb2.AccountSettings(post_body_days=days),
                        update_mask=FieldMask(paths=["post_body_days"]),
                    )
                )
            assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "post_body_days" in (raised.value.details() or "")
        kept = await stub.GetAccountSettings(callbacks_pb2.GetAccountSettingsRequest())
        assert kept.post_body_days == 90
        cleared = await stub.UpdateAccountSettings(
            callbacks_pb2.UpdateAccountSettingsRequest(
                settings=callbacks_pb2.AccountSettings(post_body_days=0),
                update_mask=FieldMask(paths=["post_body_days"]),
            )
        )
        assert cleared.post_body_days == 0
