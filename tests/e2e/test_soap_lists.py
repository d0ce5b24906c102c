"""GetCustomLists and GetCustomList through zeep: distribution lists with their field ids,
items with their own ids, and the buyers' names."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import zeep
from leadrouter.v1 import admin_pb2

from clients.client import struct
from tests.e2e.conftest import EXAMPLE
from tests.e2e.test_distribution import client
from tests.support.buyers import BuyerServer
from tests.support.soap import soap


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


async def test_list_items_added_edited_and_assigned_by_id(soap_client: Any, tenant: Any) -> None:
    made, applied, _ = tenant
    key, list_id = made.api_key, applied.distribution_lists["zips"]
    kind = soap_client.get_type("ns0:CustomListItem")

    def item(**values: Any) -> Any:
        return kind(**{"CustomItemUID": -1, "CustomListUID": list_id, "ClientUID": 0, **values})

    async def items() -> dict[str, Any]:
        found = await soap(soap_client, "GetCustomList", Key=key, CustomListUID=list_id)
        return {i.Value: i for i in found.Items.CustomListItem}

    added = await soap(soap_client, "AddEditCustomListItem", Key=key, Item=item(Value="89103"))
    assert (await items())["89103"].CustomItemUID == added
    same = await soap(
        soap_client, "AddEditCustomListItem", Key=key,
        Item=item(CustomItemUID=added, Value="89104", ClientUID=applied.clients["c"]),
    )  # fmt: skip
    assert same == added
    now = await items()
    assert "89103" not in now and (now["89104"].CustomItemUID, now["89104"].ClientUID) == (
        added, applied.clients["c"]
    )  # fmt: skip
    await soap(
        soap_client, "AddClearCustomItemAssignment", Key=key, ClientUID=applied.clients["b"],
        CustomListUID=list_id, CustomItemUID=added, Clear=False,
    )  # fmt: skip
    assert (await items())["89104"].ClientUID == applied.clients["b"]
    await soap(
        soap_client, "AddClearCustomItemAssignment", Key=key, ClientUID=0,
        CustomListUID=list_id, CustomItemUID=added, Clear=True,
    )  # fmt: skip
    assert (await items())["89104"].ClientUID == 0
    taken = now["89101"].CustomItemUID
    for method, params in (
        ("AddEditCustomListItem", {"Item": item(CustomItemUID=added, Value="89101")}),
        ("AddEditCustomListItem", {"Item": item(Value=" ")}),
        ("AddEditCustomListItem", {"Item": item(CustomItemUID=987654, Value="1")}),
        ("AddClearCustomItemAssignment", {"ClientUID": applied.clients["b"],
         "CustomListUID": list_id, "CustomItemUID": -1, "Clear": False}),
        ("AddClearCustomItemAssignment", {"ClientUID": 987654, "CustomListUID": list_id,
         "CustomItemUID": taken, "Clear": False}),
    ):  # fmt: skip
        with pytest.raises(zeep.exceptions.Fault) as refused:
            await soap(soap_client, method, Key=key, **params)
        assert refused.value.code.endswith("Client"), (method, params)
    assert (await items())["89101"].ClientUID == applied.clients["b"]  # untouched
