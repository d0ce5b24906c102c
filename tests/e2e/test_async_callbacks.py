"""An /async post with a `returnurl`, end to end over real HTTP: queued, processed as its
synchronous URL would process it, and its answer POSTed to the source's receiver, signed with
the source's signing secret and verified with the recipe of docs/receiver.md."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from leadrouter.v1 import callbacks_pb2

from server.bootstrap import callbacks, receiver, servicers
from server.config import Settings
from server.rpc.app import create_server
from server.services.distribution.engine import Distributor
from tests.e2e.conftest import QUEUE
from tests.e2e.test_receiver_async import (  # noqa: F401  (market: a fixture)
    FORMS,
    INSERT_KINDS,
    comparable,
    lead,
    market,
    processed,
    queue_answer,
    send,
    stored_answer,
)
from tests.e2e.test_receiver_distribution import Tenant
from tests.support.callbacks import FAST, Reply, callback_receiver, documented_verify

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def http_with_callbacks(pool: Any, distributor: Distributor) -> AsyncIterator[Any]:
    """gRPC and the receiver as `serve` wires them, the callbacks' sender included."""
    async with (
        callbacks(pool, FAST) as sender,
        servicers(pool, distributor, queue=QUEUE, callbacks=sender) as built,
    ):
        served = await create_server(built, "127.0.0.1:0")
        settings = replace(Settings(), receiver_address="127.0.0.1:0")
        try:
            async with (
                receiver(settings, served.local) as address,
                httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as client,
            ):
                yield client, f"127.0.0.1:{served.port}"
        finally:
            await served.server.stop(None)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("kind", INSERT_KINDS)
async def test_a_queued_post_calls_its_returnurl_back_signed(
    http_with_callbacks: Any,
    market: Tenant,  # noqa: F811
    stub_for: Any,
    kind: str,
    form: str,
) -> None:
    http, _ = http_with_callbacks
    response_type = FORMS[form]
    source_id = int(market.credentials()["vid"])
    async with stub_for(market.key) as stub:
        allow = callbacks_pb2.AccountSettings(allow_private_callbacks=True)
        await stub.UpdateAccountSettings(callbacks_pb2.UpdateAccountSettingsRequest(settings=allow))
        made = await stub.CreateSigningSecret(
            callbacks_pb2.CreateSigningSecretRequest(source_id=source_id)
        )
    async with callback_receiver() as source:
        queued = await send(
            http,
            form,
            f"/processor/insert/{kind}/{response_type}/async",
            market,
            lead(40),
            returnurl=source.url(),
        )
        assert queued.status_code == 200, queued.text
        status_url = queue_answer(queued, response_type)["StatusURL"]
        status = await processed(http, status_url)
        await asyncio.wait_for(source.arrived.wait(), 30)
        [call] = source.received
    assert call.method == "POST"
    assert call.headers["content-type"].startswith(f"application/{response_type}")
    # the answer its synchronous URL would have given, as the queue status holds it
    assert comparable(call.body.decode()) == comparable(stored_answer(status, response_type))
    assert "No_Error" in call.body.decode()
    verify = documented_verify()
    signature = call.headers["x-leadrouter-signature"]
    assert verify(made.secret, signature, call.body)
    assert not verify("another secret", signature, call.body)
    assert call.headers["x-leadrouter-event-id"]


@pytest.mark.parametrize("kind", ["json", "xml"])
async def test_the_queue_status_shows_the_callbacks_attempts(
    http_with_callbacks: Any,
    market: Tenant,  # noqa: F811
    stub_for: Any,
    kind: str,
) -> None:
    http, _ = http_with_callbacks
    async with stub_for(market.key) as stub:
        allow = callbacks_pb2.AccountSettings(allow_private_callbacks=True)
        await stub.UpdateAccountSettings(callbacks_pb2.UpdateAccountSettingsRequest(settings=allow))
    async with callback_receiver() as source:
        source.script.append(Reply(503, b"busy"))
        queued = await send(
            http,
            kind,
            f"/processor/insert/general/{kind}/async",
            market,
            lead(42 if kind == "json" else 43),
            returnurl=source.url(),
        )
        status_url = re.search(r'StatusURL(?:":"|>)([^"<]+)', queued.text)
        assert status_url is not None, queued.text
        await processed(http, status_url[1])
        for _ in range(300):
            status = await http.get(status_url[1])
            if re.search(r'"State":"Delivered"|<State>Delivered<', status.text):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"the callback is not delivered: {status.text}")
    if kind == "json":
        callback = status.json()["Callback"]
        attempts = [(a["Number"], a["Outcome"], a["HttpStatus"]) for a in callback["Attempts"]]
        assert callback["URL"] == source.url() and callback["FinishedOn"]
        assert callback["EventID"] == source.received[0].headers["x-leadrouter-event-id"]
    else:
        root = ElementTree.fromstring(status.content)
        callback = root.find("Callback")
        assert callback is not None and callback.findtext("URL") == source.url()
        attempts = [
            (
                int(a.findtext("Number", "")),
                a.findtext("Outcome"),
                int(a.findtext("HttpStatus", "")),
            )
            for a in callback.iterfind("Attempts/Attempt")
        ]
    assert attempts == [(1, "Failed", 503), (2, "Delivered", 200)]
    assert len(source.received) == 2
