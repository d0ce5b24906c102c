"""GetCustomLists and GetCustomList through zeep: distribution lists with their field ids,
items with their own ids, and the buyers' names."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
import zeep
from leadrouter.v1 import admin_pb2

from clients.client import struct
from tests.e2e.conftest import EXAMPLE
from tests.e2e.test_distribution import client
from tests.support.buyers import BuyerServer


async def soap(client_: Any, method: str, **params: Any) -> Any:
    return await asyncio.to_thread(getattr(client_.service, method), **params)


@pytest.fixture
async def tenant(new_account: Any, stub_for: Any, buyers: BuyerServer) -> Any:
    config = copy.deepcopy(EXAMPLE)
    config["clients"] = [client("b", buyers), client("c", buyers)]
    config["distribution_lists"] = [
        {
            "key": "zips", "lead_type": "auto-insurance", "field": "Zip",
            "description": "Las Vegas ZIPs", "default_client": "c",
            "depend_field": "State", "depend_value": "NV",
            "items": [{"value": "89101", "client": "b"}, {"value": "89102"}],
        }
    ]  # fmt: skip
    made = await new_account()
    async with stub_for(made.api_key) as stub:
        applied = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(config)))
        lead_type = await stub.GetLeadType(
            admin_pb2.GetLeadTypeRequest(id=applied.lead_types["auto-insurance"])
        )
    return made, applied, {f.name: f.id for f in lead_type.fields}


async def test_custom_lists(soap_client: Any, tenant: Any) -> None:
    made, applied, fields = tenant
    [found] = await soap(soap_client, "GetCustomLists", Key=made.api_key)
    assert found.CustomListUID == applied.distribution_lists["zips"]
    assert (found.AccountUID, found.LeadFieldUID, found.FieldName) == (
        made.account_id, fields["Zip"], "Zip"
    )  # fmt: skip
    assert (found.DependField, found.LinkFieldText, found.Value) == (fields["State"], "State", "nv")
    assert (found.DefaultClient, found.ClientName) == (applied.clients["c"], "Buyer c")
    assert (found.Assigned, found.Unassigned, found.Status) == (1, 1, 1)
    items = found.Items.CustomListItem
    assert [(i.Value, i.ClientUID, i.ClientName) for i in items] == [
        ("89101", applied.clients["b"], "Buyer b"), ("89102", 0, None)
    ]  # fmt: skip
    assert all(i.CustomItemUID > 0 for i in items) and len({i.CustomItemUID for i in items}) == 2
    one = await soap(
        soap_client, "GetCustomList", Key=made.api_key, CustomListUID=found.CustomListUID
    )
    assert [i.CustomItemUID for i in one.Items.CustomListItem] == [i.CustomItemUID for i in items]
    only_b = await soap(
        soap_client, "GetCustomList", Key=made.api_key, ClientUID=applied.clients["b"],
        CustomListUID=found.CustomListUID,
    )  # fmt: skip
    assert [i.Value for i in only_b.Items.CustomListItem] == ["89101"]
    with pytest.raises(zeep.exceptions.Fault) as refused:
        await soap(soap_client, "GetCustomList", Key=made.api_key, CustomListUID=987654)
    assert refused.value.code.endswith("Client")
