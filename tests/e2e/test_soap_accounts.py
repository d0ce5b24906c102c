"""GetClientAccounts, GetClientAccount and GetAllCriteriaAccounts through zeep: delivery
accounts with their criteria's field ids and their delivery methods."""

from __future__ import annotations

from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import zeep
from leadrouter.v1 import admin_pb2

from clients.client import admin_async
from tests.e2e.test_distribution import client
from tests.e2e.test_operations import build  # noqa: F401  (build is a fixture)
from tests.support.buyers import BuyerServer
from tests.support.soap import fault, soap

PACIFIC = ZoneInfo("America/Los_Angeles")


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
        method = await stub.GetDelivery(
            admin_pb2.GetDeliveryRequest(id=ids.deliveries["west/post"])
        )
    assert criterion.LeadFieldUID == {f.name: f.id for f in lead_type.fields}["State"]
    stored = await stub_criteria(market, ids.accounts["west/main"])
    assert criterion.ClientCriteriaUID == stored[0].id > 0
    details = account.DeliveryDetails
    assert (details.ClientDeliveryUID, details.DeliveryAddress) == (
        ids.deliveries["west/post"],
        buyers.address("west"),
    )
    added = method.created_at.ToDatetime(tzinfo=UTC).astimezone(PACIFIC).replace(tzinfo=None)
    assert details.DateAdded == added  # Pacific wall time, as every DateAdded
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


async def stub_criteria(market: Any, account_id: int) -> Any:
    async with admin_async(market.address, market.key) as stub:
        found = await stub.GetDeliveryAccount(admin_pb2.GetDeliveryAccountRequest(id=account_id))
    return list(found.criteria)


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
    [before] = current.Criteria.ClientCriteriaType
    state = before.LeadFieldUID
    criterion = {"ClientCriteriaUID": before.ClientCriteriaUID, "LeadFieldUID": state,
                 "Type": "FieldValue", "Operator": "Equal", "Value": "CA"}  # fmt: skip
    added_criteria = [  # new: -1, and an id that is none of this account's criteria
        {**criterion, "ClientCriteriaUID": -1, "Operator": "NotEqual", "Value": "NV"},
        {**criterion, "ClientCriteriaUID": 987654, "Operator": "NotEqual", "Value": "OR"},
    ]
    edited = await soap(
        soap_client, "AddEditClientAccount", Key=market.key,
        account=account_type(
            soap_client, ClientAccountUID=current.ClientAccountUID, ClientUID=ids.clients["west"],
            DeliveryUID=current.DeliveryUID, Price=55.25, DayMax=3, Description="West, CA only",
            Criteria={"ClientCriteriaType": [criterion, *added_criteria]},
        ),
    )  # fmt: skip
    answered = await soap(
        soap_client, "GetClientAccount", Key=market.key, ClientUID=ids.clients["west"],
        AccountUID=edited,
    )  # fmt: skip
    uids = [c.ClientCriteriaUID for c in answered.Criteria.ClientCriteriaType]
    assert uids[0] == before.ClientCriteriaUID  # kept
    assert len(set(uids)) == 3 and all(u > 0 for u in uids) and 987654 not in uids
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
    assert [(c.field, c.value, c.field_id, c.id) for c in stored.criteria] == [
        ("State", "CA", state, before.ClientCriteriaUID)
    ]
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


def delivery_type(client_: Any, **values: Any) -> Any:
    kind = client_.get_type("ns0:DeliveryType")
    base = {
        "ClientDeliveryUID": -1, "ClientUID": 0, "Type": 1, "Status": True,
        "DateAdded": "0001-01-01T00:00:00", "inTesting": False, "LeadTypeUID": 0,
        "useRegEx": False, "SMTPAuth": False, "EmailNotify": False, "LeadCatUID": 0,
    }  # fmt: skip
    return kind(**{**base, **values})


async def test_add_edit_client_delivery(soap_client: Any, market: Any, buyers: BuyerServer) -> None:
    ids = market.ids
    lid = ids.lead_types["auto-insurance"]
    setting = soap_client.get_type("ns0:FieldSettingType")
    day = soap_client.get_type("ns0:DeliveryDayType")
    async with admin_async(market.address, market.key) as stub:
        lead_type = await stub.GetLeadType(admin_pb2.GetLeadTypeRequest(id=lid))
    field_ids = {f.name: f.id for f in lead_type.fields}
    mappings = {"FieldSettingType": [
        setting(FieldName="email_address", LeadFieldUID=0, LeadField="Email"),
        setting(FieldName="state", LeadFieldUID=field_ids["State"]),  # named by id alone
        setting(FieldName="source", LeadFieldUID=-1, DefaultValue="soap"),
    ]}  # fmt: skip
    days = {"DeliveryDayType": [day(DayOfWeek=1, StartTime="09:00", EndTime="17:00")]}
    async with admin_async(market.address, market.key) as stub:
        before = await stub.GetDelivery(
            admin_pb2.GetDeliveryRequest(id=ids.deliveries["west/post"])
        )
    edited = await soap(
        soap_client, "AddEditClientDelivery", Key=market.key,
        delivery=delivery_type(
            soap_client, ClientDeliveryUID=ids.deliveries["west/post"],
            ClientUID=ids.clients["west"], Name="West post", LeadTypeUID=lid,
            DeliveryAddress=buyers.address("west"), DateAdded="2001-02-03T04:05:06",
            ResponseSearch="accepted", FieldSettings=mappings, DeliveryDays=days,
        ),
    )  # fmt: skip
    added = await soap(
        soap_client, "AddEditClientDelivery", Key=market.key,
        delivery=delivery_type(
            soap_client, ClientUID=ids.clients["west"], Type=5, Name="Mail", LeadTypeUID=lid,
            EmailAddress="leads@west.example", EmailSubject="New lead", EmailTemplate="{{Email}}",
            SMTPServer="127.0.0.1",
        ),
    )  # fmt: skip
    async with admin_async(market.address, market.key) as stub:
        post = await stub.GetDelivery(admin_pb2.GetDeliveryRequest(id=edited))
        mail = await stub.GetDelivery(admin_pb2.GetDeliveryRequest(id=added))
    assert (post.name, post.timeout_seconds, post.key) == ("West post", 2.0, "post")  # kept
    assert post.created_at == before.created_at  # DateAdded is answered only
    assert mail.created_at.seconds >= before.created_at.seconds
    assert [(m.param, m.field, m.constant) for m in post.mappings] == [
        ("email_address", "Email", ""), ("state", "State", ""), ("source", "", "soap"),
    ]  # fmt: skip
    [account] = await soap(
        soap_client, "GetClientAccounts", Key=market.key, ClientUID=ids.clients["west"]
    )
    answered = account.DeliveryDetails.FieldSettings.FieldSettingType
    assert [(f.FieldName, f.LeadFieldUID, f.LeadField or "") for f in answered] == [
        ("email_address", field_ids["Email"], "Email"), ("state", field_ids["State"], "State"),
        ("source", 0, ""),
    ]  # fmt: skip
    assert [(d.weekday, d.start, d.end) for d in post.days] == [(0, "09:00", "17:00")]  # Monday
    assert (mail.type, mail.email_to, mail.template) == (5, "leads@west.example", "{{Email}}")
    with pytest.raises(zeep.exceptions.Fault) as refused:
        await soap(
            soap_client, "AddEditClientDelivery", Key=market.key,
            delivery=delivery_type(soap_client, ClientUID=ids.clients["west"], Name="No type",
                                   Type=99, LeadTypeUID=lid),
        )  # fmt: skip
    assert refused.value.code.endswith("Client")
    for wrong in (
        setting(FieldName="x", LeadFieldUID=987654),  # no field of the lead type
        setting(FieldName="x", LeadFieldUID=field_ids["State"], LeadField="Email"),
    ):
        bad = await fault(
            soap_client, "AddEditClientDelivery", Key=market.key,
            delivery=delivery_type(
                soap_client, ClientDeliveryUID=edited, ClientUID=ids.clients["west"],
                Name="West post", LeadTypeUID=lid, DeliveryAddress=buyers.address("west"),
                FieldSettings={"FieldSettingType": [wrong]},
            ),
        )  # fmt: skip
        assert bad.code.endswith("Client") and "mappings[0].field_id" in bad.message


async def test_add_edit_client_delivery_keeps_its_notices(
    soap_client: Any, market: Any, buyers: BuyerServer
) -> None:
    ids = market.ids
    west = {
        "ClientDeliveryUID": ids.deliveries["west/post"], "ClientUID": ids.clients["west"],
        "Name": "West post", "LeadTypeUID": ids.lead_types["auto-insurance"],
        "DeliveryAddress": buyers.address("west"), "ResponseSearch": "accepted",
        "SMTPServer": "127.0.0.1", "fAddress": "leads@router.example",
    }  # fmt: skip
    client_email = "Subject: Thanks, {{FirstName}}\nWe got your request."

    async def details() -> Any:
        account = await soap(
            soap_client, "GetClientAccount", Key=market.key, ClientUID=ids.clients["west"],
            AccountUID=ids.accounts["west/main"],
        )  # fmt: skip
        return account.DeliveryDetails

    await soap(
        soap_client, "AddEditClientDelivery", Key=market.key,
        delivery=delivery_type(
            soap_client, **west, EmailNotify=True, NotifyEmail="ops@router.example, desk@x.example",
            ClientEmail=client_email,
        ),
    )  # fmt: skip
    found = await details()
    assert (found.EmailNotify, found.NotifyEmail, found.ClientEmail) == (
        True, "ops@router.example, desk@x.example", client_email
    )  # fmt: skip
    assert (found.SMTPServer, found.fAddress) == ("127.0.0.1", "leads@router.example")
    await soap(
        soap_client, "AddEditClientDelivery", Key=market.key,
        delivery=delivery_type(soap_client, **west, EmailNotify=True, tAddress="t@x.example"),
    )  # fmt: skip
    found = await details()  # no NotifyEmail: tAddress is whom notifications go to
    assert (found.EmailNotify, found.NotifyEmail, found.ClientEmail) == (True, "t@x.example", None)
    await soap(
        soap_client, "AddEditClientDelivery", Key=market.key,
        delivery=delivery_type(soap_client, **west),
    )  # fmt: skip
    found = await details()
    assert (found.EmailNotify, found.NotifyEmail, found.ClientEmail) == (False, None, None)
    for wrong in (
        {"EmailNotify": True},  # to nobody
        {"EmailNotify": True, "NotifyEmail": "not an address"},
        {"ClientEmail": "Hi {{Nickname}}"},
        {"ClientEmail": "Thanks", "SMTPServer": ""},
    ):
        with pytest.raises(zeep.exceptions.Fault) as refused:
            await soap(
                soap_client, "AddEditClientDelivery", Key=market.key,
                delivery=delivery_type(soap_client, **{**west, **wrong}),
            )  # fmt: skip
        assert refused.value.code.endswith("Client"), wrong


async def test_add_edit_client_order(soap_client: Any, market: Any) -> None:
    ids = market.ids
    order_kind = soap_client.get_type("ns0:ClientOrderType")
    item_kind = soap_client.get_type("ns0:ClientOrderItemType")

    def order(**values: Any) -> Any:
        base = {
            "ClientOrderUID": -1, "ClientUID": ids.clients["west"],
            "StartDate": "2026-12-01T00:00:00", "EndDate": "2027-01-01T00:00:00", "Qty": 0,
            "Sent": 0, "Status": "Open", "Renewal": "No_Renewal", "AutoCharge": False,
            "Items": {"ClientOrderItemType": [item_kind(
                ClientOrderItemUID=0, ClientOrderUID=0, ClientAccountUID=ids.accounts["west/main"],
                Description="December", Qty=50, Sent=0,
            )]},
        }  # fmt: skip
        return order_kind(**{**base, **values})

    made = await soap(soap_client, "AddEditClientOrder", Key=market.key, order=order())
    again = await soap(
        soap_client, "AddEditClientOrder", Key=market.key,
        order=order(ClientOrderUID=made, Status="OnHold", Renewal="On_End_Date"),
    )  # fmt: skip
    async with admin_async(market.address, market.key) as stub:
        stored = await stub.GetOrder(admin_pb2.GetOrderRequest(id=made))
    assert again == made
    assert (stored.status, stored.renewal, stored.quantity) == (3, 1, 50)
    # Pacific midnight is 08:00 UTC
    assert stored.start.ToDatetime().isoformat() == "2026-12-01T08:00:00"
    with pytest.raises(zeep.exceptions.Fault) as refused:
        await soap(soap_client, "AddEditClientOrder", Key=market.key,
                   order=order(ClientUID=987654))  # fmt: skip
    assert refused.value.code.endswith("Client")
