"""The service.asmx methods of lead sources, campaigns and lead types through zeep."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import zeep
from leadrouter.v1 import admin_pb2

from clients.client import struct
from tests.e2e.conftest import EXAMPLE


async def soap(client: Any, method: str, **params: Any) -> Any:
    return await asyncio.to_thread(getattr(client.service, method), **params)


async def fault(client: Any, method: str, **params: Any) -> Any:
    with pytest.raises(zeep.exceptions.Fault) as refused:
        await soap(client, method, **params)
    return refused.value


@pytest.fixture
async def tenant(new_account: Any, stub_for: Any) -> dict[str, Any]:
    made = await new_account()
    async with stub_for(made.api_key) as stub:
        applied = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(EXAMPLE)))
    return {"key": made.api_key, "ids": applied}


def vendor(client: Any, **values: Any) -> Any:
    kind = client.get_type("ns0:VendorInfoType")
    base = {
        "LPVendorUID": -1, "Name": "Lead Co", "State": 0, "SystemVendor": False, "Status": 1,
        "AdminUID": 0, "CherryAccountUID": 0, "AccountUID": 0, "DefaultReturnDay": 5,
    }  # fmt: skip
    return kind(**{**base, **values})


async def test_add_edit_vendor_creates_then_edits_a_source(
    soap_client: Any, tenant: dict[str, Any], stub_for: Any
) -> None:
    key = tenant["key"]
    made = await soap(
        soap_client, "AddEditVendor", Key=key,
        vInfo=vendor(soap_client, City="Reno", Email="ops@lead.example", UserName="leadco",
                     Password="pw-secret-1", ReturnString="obsolete", ReturnPostURL="x"),
    )  # fmt: skip
    again = await soap(
        soap_client, "AddEditVendor", Key=key,
        vInfo=vendor(soap_client, LPVendorUID=made, Name="Lead Co 2", City="Vegas"),
    )  # fmt: skip
    assert again == made
    async with stub_for(key) as stub:
        stored = await stub.GetSource(admin_pb2.GetSourceRequest(id=made))
    assert (stored.name, stored.city, stored.default_return_days) == ("Lead Co 2", "Vegas", 5)
    assert stored.has_password  # an empty Password kept the stored one
    assert stored.email == ""  # sent empty this time: LeadExec's AddEdit saves what it is sent


async def test_add_edit_vendor_refusals(
    soap_client: Any, tenant: dict[str, Any], new_account: Any, stub_for: Any
) -> None:
    key = tenant["key"]
    nameless = await fault(
        soap_client, "AddEditVendor", Key=key, vInfo=vendor(soap_client, Name="")
    )
    assert nameless.code.endswith("Client") and "name" in nameless.message
    other = await new_account("Other")
    theirs = tenant["ids"].sources["acme-media"]
    missing = await fault(
        soap_client, "AddEditVendor", Key=other.api_key,
        vInfo=vendor(soap_client, LPVendorUID=theirs, Name="Taken over"),
    )  # fmt: skip
    assert missing.code.endswith("Client")
    async with stub_for(key) as stub:
        kept = await stub.GetSource(admin_pb2.GetSourceRequest(id=theirs))
    assert kept.name != "Taken over"
