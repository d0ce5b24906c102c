"""GetClientAccounts, GetClientAccount and GetAllCriteriaAccounts through zeep: delivery
accounts with their criteria's field ids and their delivery methods."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import zeep
from leadrouter.v1 import admin_pb2

from clients.client import admin_async
from tests.e2e.test_distribution import client
from tests.e2e.test_operations import build  # noqa: F401  (build is a fixture)
from tests.support.buyers import BuyerServer


async def soap(client_: Any, method: str, **params: Any) -> Any:
    return await asyncio.to_thread(getattr(client_.service, method), **params)


@pytest.fixture
async def market(build: Any, buyers: BuyerServer) -> Any:  # noqa: F811
    west = client(
        "west", buyers, price="40.5", day_max=9,
        criteria=[{"field": "State", "operator": "In", "value": "CA,NV"}],
    )  # fmt: skip
    return await build([west, client("any", buyers)])


async def test_client_accounts(soap_client: Any, market: Any, buyers: BuyerServer) -> None:
    ids = market.ids
    [account] = await soap(
        soap_client, "GetClientAccounts", Key=market.key, ClientUID=ids.clients["west"]
    )
    assert (account.ClientAccountUID, account.DeliveryUID) == (
        ids.accounts["west/main"],
        ids.deliveries["west/post"],
    )
    assert (account.Price, account.DayMax, account.HourMax, account.Status) == (40.5, 9, -1, 1)
    [criterion] = account.Criteria.ClientCriteriaType
    assert (criterion.Type, criterion.Operator, criterion.Value) == ("FieldValue", "In", "CA,NV")
    async with admin_async(market.address, market.key) as stub:
        lead_type = await stub.GetLeadType(
            admin_pb2.GetLeadTypeRequest(id=ids.lead_types["auto-insurance"])
        )
    assert criterion.LeadFieldUID == {f.name: f.id for f in lead_type.fields}["State"]
    details = account.DeliveryDetails
    assert (details.ClientDeliveryUID, details.DeliveryAddress) == (
        ids.deliveries["west/post"],
        buyers.address("west"),
    )
    assert [f.FieldName for f in details.FieldSettings.FieldSettingType][:2] == [
        "first_name",
        "email",
    ]
    one = await soap(
        soap_client, "GetClientAccount", Key=market.key, ClientUID=ids.clients["west"],
        AccountUID=ids.accounts["west/main"],
    )  # fmt: skip
    assert one.ClientAccountUID == account.ClientAccountUID
    assert one.DeliveryDetails.ClientDeliveryUID == details.ClientDeliveryUID
    assert one.Criteria.ClientCriteriaType[0].LeadFieldUID == criterion.LeadFieldUID
    found = await soap(
        soap_client, "GetAllCriteriaAccounts", Key=market.key,
        LeadTypeUID=ids.lead_types["auto-insurance"], LeadFieldUID=criterion.LeadFieldUID,
        Value="NV",
    )  # fmt: skip
    assert [a.ClientAccountUID for a in found] == [account.ClientAccountUID]
    assert found[0].DeliveryDetails.ClientDeliveryUID == details.ClientDeliveryUID
    for method, params in (
        (
            "GetClientAccount",
            {"ClientUID": ids.clients["any"], "AccountUID": ids.accounts["west/main"]},
        ),
        ("GetClientAccounts", {"ClientUID": 987654}),
        ("GetAllCriteriaAccounts", {"LeadTypeUID": 987654, "LeadFieldUID": 1, "Value": ""}),
    ):
        with pytest.raises(zeep.exceptions.Fault) as refused:
            await soap(soap_client, method, Key=market.key, **params)
        assert refused.value.code.endswith("Client"), method


def account_type(client_: Any, **values: Any) -> Any:
    kind = client_.get_type("ns0:ClientAccountType")
    base = {
        "ClientAccountUID": -1, "ClientUID": 0, "DeliveryUID": 0, "Price": 0.0, "HourMax": -1,
        "DayMax": -1, "MonthMax": -1, "useOrder": False, "Status": 1, "DeliveryDelay": 0,
        "AutomationEnabled": True, "AccountType": 0,
    }  # fmt: skip
    return kind(**{**base, **values})


async def test_add_edit_client_account(soap_client: Any, market: Any) -> None:
    ids = market.ids
    [current] = await soap(
        soap_client, "GetClientAccounts", Key=market.key, ClientUID=ids.clients["west"]
    )
    state = current.Criteria.ClientCriteriaType[0].LeadFieldUID
    criterion = {"ClientCriteriaUID": 0, "LeadFieldUID": state, "Type": "FieldValue",
                 "Operator": "Equal", "Value": "CA"}  # fmt: skip
    edited = await soap(
        soap_client, "AddEditClientAccount", Key=market.key,
        account=account_type(
            soap_client, ClientAccountUID=current.ClientAccountUID, ClientUID=ids.clients["west"],
            DeliveryUID=current.DeliveryUID, Price=55.25, DayMax=3, Description="West, CA only",
            Criteria={"ClientCriteriaType": [criterion]},
        ),
    )  # fmt: skip
    added = await soap(
        soap_client, "AddEditClientAccount", Key=market.key,
        account=account_type(
            soap_client, ClientUID=ids.clients["west"], DeliveryUID=current.DeliveryUID,
            Price=10.0, Description="second",
        ),
    )  # fmt: skip
    async with admin_async(market.address, market.key) as stub:
        stored = await stub.GetDeliveryAccount(admin_pb2.GetDeliveryAccountRequest(id=edited))
        second = await stub.GetDeliveryAccount(admin_pb2.GetDeliveryAccountRequest(id=added))
    assert edited == current.ClientAccountUID and added != edited
    assert (stored.price, stored.day_max, stored.description, stored.key) == (
        "55.25", 3, "West, CA only", "main"
    )  # fmt: skip
    assert [(c.field, c.value, c.field_id) for c in stored.criteria] == [("State", "CA", state)]
    assert (second.price, second.client_id) == ("10", ids.clients["west"])
    for values in (
        {"ClientAccountUID": edited, "ClientUID": ids.clients["west"],
         "DeliveryUID": current.DeliveryUID,
         "Criteria": {"ClientCriteriaType": [{**criterion, "LeadFieldUID": 987654}]}},
        {"ClientAccountUID": 987654, "ClientUID": ids.clients["west"],
         "DeliveryUID": current.DeliveryUID},
    ):  # fmt: skip
        with pytest.raises(zeep.exceptions.Fault) as refused:
            await soap(soap_client, "AddEditClientAccount", Key=market.key,
                       account=account_type(soap_client, **values))  # fmt: skip
        assert refused.value.code.endswith("Client")
