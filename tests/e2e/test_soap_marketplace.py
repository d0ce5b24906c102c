"""The marketplace's service.asmx methods through zeep on the served WSDL: GetLeadPackCats,
GetLeadPacks, GetPromoCodes, GetAgedLeadswCriteria and AddEditDataPullInfo; and the lead
category of campaigns and delivery methods (LeadCatUID)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from leadrouter.v1 import admin_pb2
from leadrouter.v1 import marketplace_pb2 as M

from tests.e2e.test_marketplace_grpc import ShopFactory, age_at_least, shop
from tests.e2e.test_soap_accounts import delivery_type
from tests.e2e.test_soap_catalog import campaign_type
from tests.support.buyers import BuyerServer
from tests.support.soap import fault, soap

__all__ = ["shop"]  # the fixture, shared with the gRPC tests

PACIFIC = ZoneInfo("America/Los_Angeles")


async def test_pack_categories_packs_and_promo_codes(soap_client: Any, shop: ShopFactory) -> None:
    market = await shop("b1")
    key = market.key
    starter = await market.call("SaveLeadPackCategory", M.Named(name="Starter"))
    bulk = await market.call("SaveLeadPackCategory", M.Named(name="Bulk"))
    reseller = await market.call("SaveReseller", M.Named(name="Partner"))
    lead_category = await market.call("SaveLeadCategory", M.Named(name="Auto"))
    cats = await soap(soap_client, "GetLeadPackCats", Key=key)
    assert [(c.LeadPackCatUID, c.Name) for c in cats] == [
        (starter.id, "Starter"),
        (bulk.id, "Bulk"),
    ]

    expires = datetime(2031, 1, 15, 20, 0, tzinfo=UTC)
    pack = M.LeadPack(
        pack_type=M.PACK_TYPE_STANDARD,
        lead_type_id=market.lead_type_id,
        description="Fresh auto",
        quantity=100,
        price="249.99",
        pack_category_id=starter.id,
        lead_category_id=lead_category.id,
        reseller_id=reseller.id,
        order_min=10,
        order_max=50,
        include_over_max=True,
        criteria=[age_at_least(21)],
    )
    pack.expires_at.FromDatetime(expires)
    pack = await market.call("SaveLeadPack", pack)
    aged = await market.pack(pack_type=M.PACK_TYPE_AGED, start_day=30, end_day=60)

    found = await soap(
        soap_client,
        "GetLeadPacks",
        Key=key,
        LeadPackUID=None,
        LeadPackCatUID=starter.id,
        Type="Not_Set",
        ResellerUID=0,
        ClientUID=None,
    )
    assert len(found) == 1
    one = found[0]
    assert (one.LeadPackUID, one.Description, one.Qty, one.Price) == (
        pack.id,
        "Fresh auto",
        100,
        249.99,
    )
    assert (one.PackType, one.PackCatUID, one.LeadCatUID) == (
        "Standard",
        starter.id,
        lead_category.id,
    )
    assert (one.OrderMinimum, one.OrderMaximum, one.IncludeOverMax) == (10, 50, True)
    assert one.ExpDate == expires.astimezone(PACIFIC).replace(tzinfo=None)
    assert one.LeadTypeUID == market.lead_type_id and one.LeadTypeName
    [criterion] = one.Criterias.ClientCriteriaType
    fields = await soap(soap_client, "GetLeadFields", Key=key, LeadTypeUID=market.lead_type_id)
    age_field = next(f.LeadFieldUID for f in fields if f.Descriptor == "Age")
    assert (criterion.LeadFieldUID, criterion.Operator, criterion.Value) == (
        age_field,
        "GreaterOrEqual",
        "21",
    )
    by_type = await soap(
        soap_client,
        "GetLeadPacks",
        Key=key,
        LeadPackUID=None,
        LeadPackCatUID=None,
        Type="Aged",
        ResellerUID=0,
        ClientUID=None,
    )
    assert [(p.LeadPackUID, p.StartDayRange, p.EndDayRange) for p in by_type] == [(aged.id, 30, 60)]
    of_reseller = await soap(
        soap_client,
        "GetLeadPacks",
        Key=key,
        LeadPackUID=None,
        LeadPackCatUID=None,
        Type="Not_Set",
        ResellerUID=reseller.id,
        ClientUID=None,
    )
    assert [p.LeadPackUID for p in of_reseller] == [pack.id]

    promo = await market.call(
        "SavePromoCode",
        M.PromoCode(
            reseller_id=reseller.id, code="SPRING", money_value="5.5", pack_ids=[pack.id, aged.id]
        ),
    )
    await market.call("SavePromoCode", M.PromoCode(code="HALF", percent_value="50"))
    codes = await soap(soap_client, "GetPromoCodes", Key=key, ResellerUID=reseller.id)
    assert [
        (c.PromoUID, c.ResellerUID, c.Code, c.MoneyValue, c.PercentageValue) for c in codes
    ] == [(promo.id, reseller.id, "SPRING", 5.5, 0.0)]
    assert sorted(codes[0].LeadPacks.long) == sorted([pack.id, aged.id])
    every = await soap(soap_client, "GetPromoCodes", Key=key, ResellerUID=0)
    assert [c.Code for c in every] == ["SPRING", "HALF"]
    assert (await fault(soap_client, "GetLeadPackCats", Key="wrong")).code.endswith("Client")


async def test_aged_leads_and_a_data_pull(soap_client: Any, shop: ShopFactory) -> None:
    market = await shop("b1")
    key, b1, account = market.key, market.client_id("b1"), market.account_id("b1")
    old = await market.lead(1, 30, 20)
    young_adult = await market.lead(2, 19, 15)
    fresh = await market.lead(3, 30, 1)
    fields = await soap(soap_client, "GetLeadFields", Key=key, LeadTypeUID=market.lead_type_id)
    age_field = next(f.LeadFieldUID for f in fields if f.Descriptor == "Age")
    options = {
        "Customer": b1,
        "CustomerAccount": account,
        "LeadPrice": 1.25,
        "StartDay": 7,
        "EndDay": 30,
        "LeadCategory": None,
        "LeadTypeUID": market.lead_type_id,
        "UseOverMax": False,
    }
    criterion = {
        "ClientCriteriaUID": -1,
        "LeadFieldUID": age_field,
        "Type": "FieldValue",
        "Expression": "",
        "Operator": "GreaterOrEqual",
        "Value": "21",
    }
    found = await soap(
        soap_client,
        "GetAgedLeadswCriteria",
        Key=key,
        ao=options,
        criteria={"ClientCriteriaType": [criterion]},
    )
    assert [(lead.LeadUID, lead.Price) for lead in found] == [(old, 1.25)]
    assert found[0].DateReceived < datetime.now(PACIFIC).replace(tzinfo=None) - timedelta(days=19)
    unfiltered = await soap(
        soap_client, "GetAgedLeadswCriteria", Key=key, ao=options, criteria=None
    )
    assert [lead.LeadUID for lead in unfiltered] == [old, young_adult]
    assert fresh not in [lead.LeadUID for lead in unfiltered]

    data = {
        "DataPullUID": -1,
        "AccountUID": 0,
        "ClientUID": b1,
        "ClientAccountUID": account,
        "Leads": f"{old}|{young_adult}",
        "TotalPrice": 2.5,
        "Status": 1,
        "CardTransUID": 0,
    }
    pull_id = await soap(soap_client, "AddEditDataPullInfo", Key=key, data=data)
    assert pull_id > 0
    assert [s.price for s in await market.sold_sends(old)] == ["1.25"]
    again = await soap(
        soap_client,
        "AddEditDataPullInfo",
        Key=key,
        data={**data, "DataPullUID": pull_id, "Status": 2, "CardTransUID": 55},
    )
    assert again == pull_id
    assert len(await market.sold_sends(old)) == 1 and len(await market.sold_sends(young_adult)) == 1
    after = await soap(soap_client, "GetAgedLeadswCriteria", Key=key, ao=options, criteria=None)
    assert after is None or list(after) == []
    exported = await market.call("ExportDataPull", M.ExportDataPullRequest(id=pull_id))
    assert exported.leads == 2
    bad = await fault(
        soap_client, "AddEditDataPullInfo", Key=key, data={**data, "Leads": f"{old}|x"}
    )
    assert bad.code.endswith("Client")
    unknown = await fault(
        soap_client, "AddEditDataPullInfo", Key=key, data={**data, "Leads": "999999999"}
    )
    assert unknown.code.endswith("Client")


async def test_add_edit_vendor_account_keeps_its_lead_category(
    soap_client: Any, shop: ShopFactory, stub_for: Any
) -> None:
    market = await shop("b1")
    auto = await market.call("SaveLeadCategory", M.Named(name="Auto"))
    campaign_id = int(market.ids.campaigns["acme-auto-web"])
    edited = await soap(
        soap_client, "AddEditVendorAccount", Key=market.key,
        aInfo=campaign_type(soap_client, VendorAccountUID=campaign_id, AccountName="Web",
                            VendorUID=int(market.ids.sources["acme-media"]),
                            LeadTypeUID=market.lead_type_id, LeadCatUID=auto.id),
    )  # fmt: skip
    async with stub_for(market.key) as stub:
        stored = await stub.GetCampaign(admin_pb2.GetCampaignRequest(id=edited))
    assert stored.lead_category_id == auto.id
    refused = await fault(
        soap_client, "AddEditVendorAccount", Key=market.key,
        aInfo=campaign_type(soap_client, VendorAccountUID=campaign_id, AccountName="Web",
                            VendorUID=int(market.ids.sources["acme-media"]),
                            LeadTypeUID=market.lead_type_id, LeadCatUID=99999999),
    )  # fmt: skip
    assert refused.code.endswith("Client")


async def test_add_edit_client_delivery_sets_and_answers_its_lead_category(
    soap_client: Any, shop: ShopFactory, buyers: BuyerServer
) -> None:
    market = await shop("b1")
    auto = await market.call("SaveLeadCategory", M.Named(name="Auto"))
    delivery_id = int(market.ids.deliveries["b1/post"])

    def method(**values: Any) -> Any:
        return delivery_type(
            soap_client, ClientDeliveryUID=delivery_id, ClientUID=market.client_id("b1"),
            Name="Post", LeadTypeUID=market.lead_type_id, DeliveryAddress=buyers.address("b1"),
            ResponseSearch="accepted", **values,
        )  # fmt: skip

    async def answered() -> int:
        [account] = await soap(
            soap_client, "GetClientAccounts", Key=market.key, ClientUID=market.client_id("b1")
        )
        return int(account.DeliveryDetails.LeadCatUID)

    await soap(
        soap_client, "AddEditClientDelivery", Key=market.key, delivery=method(LeadCatUID=auto.id)
    )
    assert await answered() == auto.id
    refused = await fault(
        soap_client, "AddEditClientDelivery", Key=market.key, delivery=method(LeadCatUID=99999999)
    )
    assert refused.code.endswith("Client")
    assert await answered() == auto.id
    await soap(soap_client, "AddEditClientDelivery", Key=market.key, delivery=method(LeadCatUID=0))
    assert await answered() == 0
