"""ClientLogin, isUsernameUnique and VendorUserNameUnique through zeep."""

from __future__ import annotations

from typing import Any

import pytest
from leadrouter.v1 import admin_pb2

from clients.client import struct
from tests.e2e.test_portal_grpc import document
from tests.support.soap import fault, soap


@pytest.fixture
async def tenant(new_account: Any, stub_for: Any) -> Any:
    made = await new_account()
    async with stub_for(made.api_key) as stub:
        applied = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document())))
    return made, applied


async def test_client_login(soap_client: Any, tenant: Any) -> None:
    made, applied = tenant
    found = await soap(
        soap_client,
        "ClientLogin",
        Key=made.api_key,
        Username="ann.buyer",
        Password="right-password",
    )
    assert (found.ClientUID, found.Username, found.Status) == (
        applied.clients["acme"],
        "Ann.Buyer",
        "Active",
    )
    assert found.Password in (None, "")  # never answered: stored as a hash
    assert found.DateAdded.year >= 2026
    wrong = await fault(
        soap_client, "ClientLogin", Key=made.api_key, Username="ann.buyer", Password="nope"
    )
    assert wrong.code.endswith("Client") and wrong.message == "user name or password is wrong"


async def test_user_names_unique(soap_client: Any, tenant: Any, new_account: Any) -> None:
    made, applied = tenant
    key = made.api_key
    assert await soap(soap_client, "isUsernameUnique", Key=key, Username="Ann.Buyer") is False
    assert await soap(soap_client, "isUsernameUnique", Key=key, Username="fresh.name") is True
    assert await soap(soap_client, "VendorUserNameUnique", Key=key, UserName="source.one") is False
    own = applied.sources["acme-media"]
    assert (
        await soap(
            soap_client, "VendorUserNameUnique", Key=key, UserName="source.one", VendorUID=own
        )
        is True
    )
    refused = await fault(soap_client, "isUsernameUnique", Key=key, Username="")
    assert refused.code.endswith("Client")
    other = await new_account("Other")
    assert (
        await soap(soap_client, "isUsernameUnique", Key=other.api_key, Username="Ann.Buyer") is True
    )
