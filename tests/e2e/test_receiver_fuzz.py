"""Property-based tests of every receiver URL through real HTTP, with the real lead service and
PostgreSQL: arbitrary bodies, content types, headers, query strings, encodings, nesting and
sizes.

For every request: no answer >= 500, the keep-alive connection still works, no error or
traceback in the log, nothing stored or changed unless the answer says a lead was accepted
(for a post an /async URL queued: its answer once processed), and a normal lead is accepted
right after it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, reject
from hypothesis import strategies as st
from leadrouter.v1 import admin_pb2

from clients.client import struct
from server.bootstrap import receiver
from server.config import Settings
from server.rpc.app import Served
from tests.support import fuzz
from tests.support.logs import Records, logged_errors

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "acme.json").read_text())
ACCEPTED = re.compile(r'"isValidPost":\s*true|<isValidPost>true</isValidPost>')
# an /async URL's answer to a post it queued, with the PostID (JSON, or XML)
QUEUED = re.compile(
    r'^\{"QueueSuccessful":true,"PostID":"([^"]+)"'
    r"|<QueueSuccessful>true</QueueSuccessful>\s*<PostID>([^<]+)</PostID>"
)
PROCESSED = re.compile(r'"QueueStatus":"Processed"|<QueueStatus>Processed</QueueStatus>')
_probes = itertools.count()


@dataclass
class Receiver:
    client: httpx.AsyncClient
    pool: Any
    known: fuzz.Known
    errors: Records


@pytest.fixture
async def known(new_account: Any, stub_for: Any) -> fuzz.Known:
    """The example's source, lead type (with a field of every data type) and campaign (its day
    cap lifted), and a source key."""
    document = fuzz.fuzzing_config(EXAMPLE)
    tenant = await new_account()
    async with stub_for(tenant.api_key) as stub:
        applied = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))
        made = await stub.CreateSourceKey(
            admin_pb2.CreateSourceKeyRequest(source_id=applied.sources["acme-media"])
        )
    return fuzz.Known(
        vid=str(applied.sources["acme-media"]),
        lid=str(applied.lead_types["auto-insurance"]),
        aid=str(applied.campaigns["acme-auto-web"]),
        source_key=made.secret,
    )


@pytest.fixture
async def target(served: Served, pool: Any, known: fuzz.Known) -> AsyncIterator[Receiver]:
    """The receiver served as `serve` serves it (the lead service in process), one keep-alive
    connection to it, and a lead already posted, for updates and status to name."""
    settings = replace(Settings(), receiver_address="127.0.0.1:0")
    async with (
        receiver(settings, served.local) as address,
        httpx.AsyncClient(
            base_url=f"http://{address}", timeout=60, limits=httpx.Limits(max_connections=1)
        ) as client,
    ):
        posted = await post_normal_lead(client, known)
        known = replace(
            known, lead_uids=(str(posted["LeadIdentifier"]),), post_ids=(posted["PostID"],)
        )
        with logged_errors() as errors:
            yield Receiver(client, pool, known, errors)


async def post_normal_lead(client: httpx.AsyncClient, known: fuzz.Known) -> dict[str, Any]:
    number = next(_probes)
    body = fuzz.valid_form(known, Email=f"probe{number}@example.com", Phone=f"70{number:08d}")
    answer = await client.post(
        "/processor/insert/general/json",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200, answer.text
    posted = dict(answer.json())
    assert posted["ResponseType"] == "No_Error", posted
    return posted


async def stored(pool: Any) -> tuple[int, str]:
    """How many leads are stored, and a digest of what a post or an update may change."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) AS n, md5(coalesce(string_agg(id::text || fields::text"
            " || extras::text || coalesce(encode(duplicate_key, 'hex'), ''), ',' ORDER BY id),"
            " '')) AS digest FROM leads"
        )
        row = await cursor.fetchone()
    return row["n"], row["digest"]


def _header_value(value: str) -> bytes:
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


async def processed_answer(client: httpx.AsyncClient, answer: httpx.Response) -> str:
    """For a post an /async URL queued, its queue status once processed (it holds the answer
    its synchronous URL would have given); else the answer itself."""
    queued = QUEUED.search(answer.text)
    if queued is None:
        return answer.text
    post_id = queued[1] or queued[2]
    for _ in range(600):
        status = await client.get(f"/information/queuestatus/{post_id}")
        if PROCESSED.search(status.text):
            return status.text
        await asyncio.sleep(0.05)
    pytest.fail(f"queued post {post_id} was not processed: {status.text[:2000]}")


async def holds_up(target: Receiver, request: fuzz.Request) -> None:
    """The properties every request must keep."""
    client = target.client
    try:
        built = client.build_request(
            request.method,
            request.target,
            headers=[(name.encode(), _header_value(value)) for name, value in request.headers],
            content=request.body,
        )
    except (httpx.InvalidURL, httpx.LocalProtocolError, UnicodeEncodeError):
        reject()  # not a request httpx can send; the bench sends such bytes raw
    target.errors.found.clear()
    before = await stored(target.pool)
    try:
        answer = await client.send(built)
    except httpx.LocalProtocolError:
        reject()  # h11 refuses to send it (a header value with edge spaces, say)
    except httpx.TransportError as error:
        pytest.fail(f"the connection failed: {error!r}")
    assert answer.status_code < 500, answer.text[:2000]
    answered = await processed_answer(client, answer)
    after = await stored(target.pool)
    path = request.path.lower()
    accepted = len(ACCEPTED.findall(answered)) if answer.status_code in (200, 303) else 0
    if path.startswith(("/processor/insert/", "/v2/insert/")):
        assert after[0] - before[0] == accepted, answer.text[:2000]
        if not accepted:
            assert after == before, "a refused post changed a stored lead"
    elif not (path.startswith("/processor/update") and accepted):
        assert after == before, f"nothing may change here: {answer.text[:2000]}"
    assert not target.errors.found, target.errors.text()
    await post_normal_lead(client, target.known)  # on the same keep-alive connection


@fuzz.fuzzing(120)
@given(data=st.data())
async def test_any_request_to_any_receiver_url_holds_up(target: Receiver, data: Any) -> None:
    await holds_up(target, data.draw(fuzz.requests(target.known)))


@fuzz.fuzzing(80)
@given(data=st.data())
async def test_posts_with_real_credentials_hold_up(target: Receiver, data: Any) -> None:
    await holds_up(target, data.draw(fuzz.posts(target.known)))


@fuzz.fuzzing(40)
@given(data=st.data())
async def test_ids_in_other_scripts_digits_hold_up(target: Receiver, data: Any) -> None:
    await holds_up(target, data.draw(fuzz.id_posts(target.known)))


@fuzz.fuzzing(4)
@given(data=st.data())
async def test_many_leads_and_fields_hold_up(target: Receiver, data: Any) -> None:
    body = data.draw(fuzz.many_bodies(target.known, max_leads=150))
    path = data.draw(st.sampled_from(fuzz.INSERT_PATHS))
    await holds_up(target, fuzz.Request("POST", path, (), body))


@fuzz.fuzzing(15)
@given(data=st.data())
async def test_deep_nesting_holds_up(target: Receiver, data: Any) -> None:
    body = data.draw(fuzz.nested_bodies())
    path = data.draw(st.sampled_from([*fuzz.INSERT_PATHS, "/processor/update"]))
    await holds_up(target, fuzz.Request("POST", path, (), body))
