"""Property-based tests of service.asmx through real HTTP, with the real gRPC services and
PostgreSQL: envelopes of every method with odd values, spoiled and nested XML, DTDs, odd
content types and SOAPActions, and the HTTP forms with odd parameters.

For every request: the answer is a success, a 4xx, or a SOAP Fault the caller caused
(`Client`/`Sender`, which SOAP answers with HTTP 500), never a `Server` fault; nothing is
logged as an error; and a normal call works right after it on the same connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import given, reject
from hypothesis import strategies as st
from leadrouter.v1 import admin_pb2
from lxml import etree

from clients.client import struct
from gateways.soap.app import create_app
from gateways.soap.backend import Backend
from tests.e2e.conftest import EXAMPLE
from tests.support import fuzz, soap_fuzz
from tests.support.logs import Records, logged_errors

METHODS = {
    name: tuple(p for p, _ in method.params)
    for name, method in create_app(
        Backend(admin=None, distribution=None)
    ).state.gateway.methods.items()
}


@dataclass
class Target:
    client: httpx.AsyncClient
    key: str
    ids: tuple[str, ...]
    errors: Records


@pytest.fixture
async def target(soap_url: str, new_account: Any, stub_for: Any) -> AsyncIterator[Target]:
    made = await new_account()
    async with stub_for(made.api_key) as stub:
        applied = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(EXAMPLE)))
    ids = tuple(
        str(i)
        for i in (
            *applied.lead_types.values(),
            *applied.sources.values(),
            *applied.campaigns.values(),
        )
    )
    base = soap_url.rsplit("/service.asmx", 1)[0]
    async with httpx.AsyncClient(
        base_url=base, timeout=60, limits=httpx.Limits(max_connections=1)
    ) as client:
        with logged_errors() as errors:
            yield Target(client, made.api_key, ids, errors)


def _fault_code(answer: httpx.Response) -> str:
    try:
        root = etree.fromstring(answer.content)
    except etree.XMLSyntaxError:
        return ""
    for tag in ("faultcode", "{http://www.w3.org/2003/05/soap-envelope}Value"):
        found = root.find(f".//{tag}")
        if found is not None and found.text:
            return found.text
    return ""


async def normal_call(target: Target) -> None:
    answer = await target.client.get(
        "/service.asmx/GetLeadTypes", params={"Key": target.key, "LeadTypeUID": "0"}
    )
    assert answer.status_code == 200, answer.text


async def holds_up(target: Target, request: soap_fuzz.Request) -> None:
    try:
        built = target.client.build_request(
            request.method,
            request.path,
            headers=list(request.headers),
            content=request.body or None,
        )
    except (httpx.InvalidURL, httpx.LocalProtocolError, UnicodeEncodeError):
        reject()
    target.errors.found.clear()
    try:
        answer = await target.client.send(built)
    except httpx.LocalProtocolError:
        reject()
    except httpx.TransportError as error:
        pytest.fail(f"the connection failed: {error!r}")
    if answer.status_code >= 500:
        code = _fault_code(answer)
        kind = code.rsplit(":", 1)[-1].split(".", 1)[0]  # soap:Client.XMLSyntaxError -> Client
        assert kind in ("Client", "Sender"), answer.text[:2000]
    assert "Traceback" not in answer.text
    assert not target.errors.found, [r.getMessage() for r in target.errors.found]
    await normal_call(target)


@fuzz.fuzzing(150)
@given(data=st.data())
async def test_any_request_to_service_asmx_holds_up(target: Target, data: Any) -> None:
    await holds_up(target, data.draw(soap_fuzz.requests(METHODS, target.key, target.ids)))
