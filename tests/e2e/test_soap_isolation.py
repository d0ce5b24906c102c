"""Account isolation through service.asmx: every method called with account B's key on account
A's ids is refused or answers B's own (empty) data, and changes nothing of A's."""

from __future__ import annotations

from typing import Any

import pytest
import zeep
from leadrouter.v1 import admin_pb2

from clients.client import admin_async, struct
from tests.e2e.test_distribution import client
from tests.e2e.test_operations import build, lead  # noqa: F401  (build is a fixture)
from tests.e2e.test_soap_accounts import account_type, delivery_type
from tests.e2e.test_soap_buyers import client_item
from tests.e2e.test_soap_catalog import campaign_type
from tests.support.buyers import BuyerServer
from tests.support.soap import soap


def calls(a: Any, lead_id: int, send_id: int) -> dict[str, dict[str, Any]]:
    """Every method with A's ids."""
    ids = a.ids
    buyer, account = ids.clients["any"], ids.accounts["any/main"]
    lid, source = ids.lead_types["auto-insurance"], ids.sources["acme-media"]
    return {
        "GetLeadTypes": {"LeadTypeUID": lid},
        "GetLeadFields": {"LeadTypeUID": lid},
        "SearchForLead": {"LID": lid, "Email": "ann@example.com"},
        "GetLeadScanLog": {"LeadUID": lead_id},
        "GetClientsForLead": {"LeadUID": lead_id, "Automated": False, "AllowOverMax": True},
        "GetClientsForRedirect": {"LeadUID": lead_id},
        "GetClientsForTransfer": {"LeadUID": lead_id},
        "GetClientsForSend": {"LeadUID": lead_id},
        "GetClientsforCriteria": {"lid": lid},
        "GetClientsforCriteriaAdvanced": {"LeadTypeUID": lid, "Criteria": None},
        "ProcessClientDelivery": {
            "LeadUID": lead_id, "ClientUID": buyer, "ClientAccountUID": account,
            "ClientOrderUID": 0, "Notes": "",
        },
        "ResendLead": {"leadSendUid": send_id},
        "ConfirmSale": {"LeadUID": lead_id, "ClientUID": buyer},
        "RedirectStatusNotify": {
            "LeadUID": lead_id, "Redirect": "x", "isValid": True, "Response": "",
        },
        "LogClientSend": {
            "ClientUID": buyer, "LeadUID": lead_id, "DeliveryUID": 0, "PostString": "",
            "Response": "", "ClientOrderUID": 0, "ClientOrderItemUID": 0,
            "ClientAccountUID": account,
        },
        "GetClientList": {},
        "GetClientGroups": {},
        "AddEditClient": {"Client": "CLIENT", "FieldData": None},
        "AddEditClientGroup": {"Group": "GROUP"},
        "GetClientAccounts": {"ClientUID": buyer},
        "GetClientAccount": {"ClientUID": buyer, "AccountUID": account},
        "AddEditClientAccount": {"account": "ACCOUNT"},
        "AddEditClientDelivery": {"delivery": "DELIVERY"},
        "AddEditClientOrder": {"order": "ORDER"},
        "GetAllCriteriaAccounts": {"LeadTypeUID": lid, "LeadFieldUID": 1, "Value": ""},
        "GetCustomLists": {},
        "AddClearCustomItemAssignment": {
            "ClientUID": buyer, "CustomListUID": ids.distribution_lists["zips"],
            "CustomItemUID": 0, "Clear": True,
        },
        "AddEditCustomListItem": {"Item": "LIST_ITEM"},
        "GetCustomList": {"ClientUID": None, "CustomListUID": ids.distribution_lists["zips"]},
        "SetDefaultFieldMappings": {"DeliveryUID": ids.deliveries["any/post"]},
        "GetClientData": {"ClientUID": buyer},
        "ClientLogin": {"Username": "any", "Password": "whatever-it-is"},
        "isUsernameUnique": {"Username": "any"},
        "VendorUserNameUnique": {"UserName": "any", "VendorUID": source},
        "AddEditVendor": {"vInfo": "VENDOR"},
        "AddEditVendorAccount": {"aInfo": "CAMPAIGN"},
        "GetPromoCodes": {"ResellerUID": 0},
        "GetLeadPacks": {"LeadPackUID": None, "LeadPackCatUID": None, "Type": "Not_Set",
                         "ResellerUID": 0, "ClientUID": buyer},
        "GetLeadPackCats": {},
        "GetAgedLeadswCriteria": {
            "ao": {"Customer": buyer, "CustomerAccount": account, "LeadPrice": 1.0,
                   "StartDay": 0, "EndDay": 0, "LeadCategory": None, "LeadTypeUID": lid,
                   "UseOverMax": True},
            "criteria": None,
        },
        "AddEditDataPullInfo": {
            "data": {"DataPullUID": -1, "AccountUID": 0, "ClientUID": buyer,
                     "ClientAccountUID": account, "Leads": str(lead_id), "TotalPrice": 1.0,
                     "Status": 0, "CardTransUID": 0},
        },
    }  # fmt: skip


NEUTRAL = {"GetStateList", "GetUSZipCodesforState", "GetUSZipCodesforCounty",
           "GetUSZipCodesforFIPS", "GetUSZipCodesfromRadius"}  # fmt: skip
"""Reference data, the same for every account: nothing of A's to reach."""


@pytest.fixture
async def market(build: Any, buyers: BuyerServer) -> Any:  # noqa: F811
    m = await build([client("any", buyers, price="30")], max_sell=1)
    document = {
        "distribution_lists": [
            {"key": "zips", "lead_type": "auto-insurance", "field": "Zip",
             "items": [{"value": "89101", "client": "any"}]}
        ]
    }  # fmt: skip
    async with admin_async(m.address, m.key) as stub:
        applied = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))
    m.ids.distribution_lists.update(applied.distribution_lists)
    return m


async def test_account_b_reaches_nothing_of_account_a(
    soap_client: Any, market: Any, new_account: Any
) -> None:
    posted = await market.post(lead(1, Zip="90210"))
    sends = await market.settled(posted.lead_id)
    before = [
        (s.id, s.status, s.confirmed_at.seconds, s.redirect_notified_at.seconds) for s in sends
    ]
    other = await new_account("B")
    offered = set(soap_client.service._binding._operations) - NEUTRAL
    async with admin_async(market.address, market.key) as stub:
        group = await stub.SaveClientGroup(
            admin_pb2.SaveClientGroupRequest(group=admin_pb2.ClientGroup(name="Mine"))
        )
    a_group = group.id
    buyer_id = market.ids.clients["any"]
    lid = market.ids.lead_types["auto-insurance"]
    table = calls(market, posted.lead_id, sends[0].id)
    assert offered == set(table), "every method needs its row here"
    a_ids = {
        *market.ids.clients.values(),
        *market.ids.lead_types.values(),
        *market.ids.accounts.values(),
        posted.lead_id,
        a_group,
    }
    for method, params in table.items():
        if params.get("delivery") == "DELIVERY":
            params = {"delivery": delivery_type(
                soap_client, ClientDeliveryUID=market.ids.deliveries["any/post"],
                ClientUID=buyer_id, Name="Taken", LeadTypeUID=lid,
            )}  # fmt: skip
        if params.get("order") == "ORDER":
            kind = soap_client.get_type("ns0:ClientOrderType")
            params = {"order": kind(
                ClientOrderUID=-1, ClientUID=buyer_id, StartDate="2026-12-01T00:00:00",
                EndDate="2027-01-01T00:00:00", Qty=0, Sent=0, Status="Open",
                Renewal="No_Renewal", AutoCharge=False,
            )}  # fmt: skip
        if params.get("account") == "ACCOUNT":
            params = {"account": account_type(
                soap_client, ClientAccountUID=market.ids.accounts["any/main"], ClientUID=buyer_id,
                DeliveryUID=market.ids.deliveries["any/post"], Description="Taken",
            )}  # fmt: skip
        if params.get("Client") == "CLIENT":
            params = {
                "Client": client_item(soap_client, ClientUID=buyer_id, Notes="Taken"),
                "FieldData": None,
            }
        if params.get("Group") == "GROUP":
            kind = soap_client.get_type("ns0:ClientGroupType")
            params = {"Group": kind(
                ClientGroupUID=a_group, Description="Taken", DisplayOrder=0, ClientCount=0
            )}  # fmt: skip
        if params.get("Item") == "LIST_ITEM":
            kind = soap_client.get_type("ns0:CustomListItem")
            params = {"Item": kind(
                CustomItemUID=-1, CustomListUID=market.ids.distribution_lists["zips"],
                Value="90210", ClientUID=0,
            )}  # fmt: skip
        if params.get("aInfo") == "CAMPAIGN":
            params = {"aInfo": campaign_type(
                soap_client, VendorAccountUID=market.ids.campaigns["acme-auto-web"],
                AccountName="Taken", VendorUID=market.ids.sources["acme-media"],
                LeadTypeUID=market.ids.lead_types["auto-insurance"],
            )}  # fmt: skip
        if params.get("vInfo") == "VENDOR":
            kind = soap_client.get_type("ns0:VendorInfoType")
            params = {"vInfo": kind(
                LPVendorUID=market.ids.sources["acme-media"], Name="Taken", State=0,
                SystemVendor=False, Status=1, AdminUID=0, CherryAccountUID=0, AccountUID=0,
                DefaultReturnDay=0,
            )}  # fmt: skip
        key = "key" if method in ("ResendLead", "GetClientsforCriteria") else "Key"
        try:
            answer = await soap(soap_client, method, **{key: other.api_key}, **params)
        except zeep.exceptions.Fault as fault:
            assert fault.code.endswith("Client"), (method, fault.message)
            continue
        # answered: B's own data, which holds none of A's entities
        rows = answer if isinstance(answer, list) else [answer] if answer is not None else []
        for row in rows:
            names = ("ClientUID", "LeadTypeUID", "LeadUID", "ClientAccountUID", "ClientGroupUID")
            seen = {getattr(row, n, None) for n in names}
            assert not seen & a_ids, (method, row)
        if method in ("isUsernameUnique", "VendorUserNameUnique"):
            assert answer is True, method  # A's names do not count for B
    after = [
        (s.id, s.status, s.confirmed_at.seconds, s.redirect_notified_at.seconds)
        for s in await market.sends(posted.lead_id)
    ]
    assert after == before
    async with admin_async(market.address, market.key) as stub:
        source = await stub.GetSource(
            admin_pb2.GetSourceRequest(id=market.ids.sources["acme-media"])
        )
        campaign = await stub.GetCampaign(
            admin_pb2.GetCampaignRequest(id=market.ids.campaigns["acme-auto-web"])
        )
        buyer = await stub.GetClient(admin_pb2.GetClientRequest(id=buyer_id))
    assert buyer.notes != "Taken"
    assert all(a.description != "Taken" for a in buyer.accounts)
    assert all(d.name != "Taken" for d in buyer.deliveries)
    assert not buyer.orders
    assert source.name != "Taken"
    assert campaign.name != "Taken"
