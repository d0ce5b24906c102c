"""The marketplace end to end over gRPC: records, packs and promo codes saved and listed,
packs bought into client orders the engine fills, promo use limits under concurrency, aged
lead searches and data pulls that sell each lead once, and a pull's CSV export."""

from __future__ import annotations

import asyncio
import copy
import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from leadrouter.v1 import admin_pb2, billing_pb2, buyers_pb2, catalog_pb2, distribution_pb2
from leadrouter.v1 import marketplace_pb2 as M

from clients.client import billing_async, marketplace_async, struct
from server.storage import marketplace as marketplace_store
from tests.e2e.test_distribution import EXAMPLE, LEAD, Market, client
from tests.support.buyers import BuyerServer


def age_at_least(years: int) -> buyers_pb2.Criterion:
    return buyers_pb2.Criterion(
        type=buyers_pb2.CRITERION_TYPE_FIELD_VALUE,
        field="Age",
        operator=catalog_pb2.OPERATOR_GREATER_OR_EQUAL,
        value=str(years),
    )


class Shop(Market):
    """A tenant with buyers whose delivery accounts take leads only against orders."""

    def __init__(self, address: str, key: str, ids: Any, pool: Any) -> None:
        super().__init__(address, key, ids)
        self.pool = pool

    async def call(self, method: str, request: Any) -> Any:
        async with marketplace_async(self.address, self.key) as stub:
            return await getattr(stub, method)(request)

    async def refused(self, method: str, request: Any) -> grpc.aio.AioRpcError:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await self.call(method, request)
        return caught.value

    def client_id(self, key: str) -> int:
        return int(self.ids.clients[key])

    def account_id(self, key: str) -> int:
        return int(self.ids.accounts[f"{key}/main"])

    @property
    def lead_type_id(self) -> int:
        return int(self.ids.lead_types["auto-insurance"])

    async def lead(self, i: int, age: int, days_old: float) -> int:
        """A lead received `days_old` days ago (moved back in time once stored)."""
        fields = {**LEAD, "Email": f"m{i}@example.com", "Phone": f"702558{i:04d}", "Age": str(age)}
        lead_id = int((await self.post(fields)).lead_id)
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE leads SET received_at = now() - make_interval(secs => %s) WHERE id = %s",
                [days_old * 86400, lead_id],
            )
            await conn.commit()
        return lead_id

    async def sold_sends(self, lead_id: int) -> list[Any]:
        return [
            s for s in await self.sends(lead_id) if s.status == distribution_pb2.SEND_STATUS_SOLD
        ]

    async def ledger(self, client_id: int) -> list[tuple[str, Decimal, Decimal, int]]:
        """The client's ledger: each entry's kind, amount, balance left and lead."""
        async with billing_async(self.address, self.key) as stub:
            found = await stub.ListLedgerEntries(
                billing_pb2.ListLedgerEntriesRequest(client_id=client_id)
            )
        return [
            (
                billing_pb2.LedgerEntryKind.Name(e.kind).removeprefix("LEDGER_ENTRY_KIND_"),
                Decimal(e.amount),
                Decimal(e.balance),
                e.lead_id,
            )
            for e in found.entries
        ]

    async def pack(self, **fields: Any) -> Any:
        spec: dict[str, Any] = {
            "pack_type": M.PACK_TYPE_STANDARD,
            "lead_type_id": self.lead_type_id,
            "quantity": 100,
            "price": "250",
            "description": "Auto leads",
        }
        spec.update(fields)
        return await self.call("SaveLeadPack", M.LeadPack(**spec))


ShopFactory = Callable[..., Any]


@pytest.fixture
def shop(
    grpc_address: str, new_account: Any, stub_for: Any, pool: Any, buyers: BuyerServer
) -> ShopFactory:
    async def create(*keys: str) -> Shop:
        document = copy.deepcopy(EXAMPLE)
        document["clients"] = [client(k, buyers, use_order=True) for k in keys]
        document["sources"][0]["campaigns"][0]["max_sell"] = 1
        tenant = await new_account("Market")
        async with stub_for(tenant.api_key) as stub:
            ids = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))
        return Shop(grpc_address, tenant.api_key, ids, pool)

    return create


async def test_records_are_saved_renamed_and_listed(shop: ShopFactory) -> None:
    market = await shop("b1")
    category = await market.call("SaveLeadCategory", M.Named(id=-1, name="Auto"))
    renamed = await market.call("SaveLeadCategory", M.Named(id=category.id, name="Auto US"))
    await market.call("SaveReseller", M.Named(name="Partner"))
    pack_category = await market.call("SaveLeadPackCategory", M.Named(name="Starter"))
    assert renamed.id == category.id
    listed = await market.call("ListLeadCategories", M.ListNamedRequest())
    assert [(n.id, n.name) for n in listed.items] == [(category.id, "Auto US")]
    assert [n.name for n in (await market.call("ListResellers", M.ListNamedRequest())).items] == [
        "Partner"
    ]
    packs = await market.call("ListLeadPackCategories", M.ListNamedRequest())
    assert [n.id for n in packs.items] == [pack_category.id]
    taken = await market.refused("SaveReseller", M.Named(name="Partner"))
    assert taken.code() == grpc.StatusCode.ALREADY_EXISTS
    missing = await market.refused("SaveLeadCategory", M.Named(id=999999, name="x"))
    assert missing.code() == grpc.StatusCode.NOT_FOUND


async def test_packs_and_promo_codes_are_saved_and_filtered(shop: ShopFactory) -> None:
    market = await shop("b1")
    reseller = await market.call("SaveReseller", M.Named(name="Partner"))
    category = await market.call("SaveLeadPackCategory", M.Named(name="Starter"))
    lead_category = await market.call("SaveLeadCategory", M.Named(name="Auto"))
    expires = datetime.now(UTC) + timedelta(days=30)
    pack = await market.pack(
        reseller_id=reseller.id,
        pack_category_id=category.id,
        lead_category_id=lead_category.id,
        order_min=10,
        order_max=200,
        criteria=[age_at_least(18)],
    )
    pack.expires_at.FromDatetime(expires)
    pack = await market.call("SaveLeadPack", pack)
    aged = await market.pack(pack_type=M.PACK_TYPE_AGED, start_day=30, end_day=90)
    assert pack.lead_type_name == "Auto Insurance" and pack.account_id > 0
    assert pack.status == M.PACK_STATUS_ACTIVE and pack.criteria[0].id > 0
    assert pack.price == "250" and pack.expires_at.ToDatetime(tzinfo=UTC) == expires
    by_category = await market.call(
        "ListLeadPacks", M.ListLeadPacksRequest(pack_category_id=category.id)
    )
    assert [p.id for p in by_category.packs] == [pack.id]
    by_type = await market.call("ListLeadPacks", M.ListLeadPacksRequest(pack_type=M.PACK_TYPE_AGED))
    assert [p.id for p in by_type.packs] == [aged.id]
    assert [p.id for p in (await market.call("ListLeadPacks", M.ListLeadPacksRequest())).packs] == [
        pack.id,
        aged.id,
    ]
    bad = await market.refused(
        "SaveLeadPack",
        M.LeadPack(
            pack_type=M.PACK_TYPE_STANDARD,
            lead_type_id=market.lead_type_id,
            quantity=0,
            price="1",
            order_min=5,
            order_max=2,
            criteria=[buyers_pb2.Criterion(field="Nope", value="1")],
        ),
    )
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    for word in ("quantity", "order_max", "Nope"):
        assert word in bad.details()
    promo = await market.call(
        "SavePromoCode",
        M.PromoCode(
            reseller_id=reseller.id,
            code="SPRING",
            money_value="5",
            percent_value="10",
            use_limit=2,
            pack_ids=[pack.id],
        ),
    )
    await market.call("SavePromoCode", M.PromoCode(code="ALL", percent_value="50"))
    of_reseller = await market.call(
        "ListPromoCodes", M.ListPromoCodesRequest(reseller_id=reseller.id)
    )
    assert [(p.id, p.code, list(p.pack_ids), p.uses) for p in of_reseller.promo_codes] == [
        (promo.id, "SPRING", [pack.id], 0)
    ]
    everyone = await market.call("ListPromoCodes", M.ListPromoCodesRequest())
    assert [p.code for p in everyone.promo_codes] == ["SPRING", "ALL"]
    unknown_pack = await market.refused(
        "SavePromoCode", M.PromoCode(code="X", money_value="1", pack_ids=[999999])
    )
    assert unknown_pack.code() == grpc.StatusCode.NOT_FOUND


async def test_a_bought_pack_is_a_client_order_the_engine_fills(shop: ShopFactory) -> None:
    market = await shop("b1")
    pack = await market.pack(order_min=10, order_max=200)
    await market.call(
        "SavePromoCode",
        M.PromoCode(code="SPRING", money_value="5", percent_value="10", use_limit=1),
    )
    client_id, account_id = market.client_id("b1"), market.account_id("b1")
    before = await market.post({**LEAD, "Email": "before@example.com", "Phone": "7025580999"})
    assert await market.sold_sends(int(before.lead_id)) == []
    bought = await market.call(
        "BuyLeadPack",
        M.BuyLeadPackRequest(
            client_id=client_id,
            delivery_account_id=account_id,
            pack_id=pack.id,
            quantity=40,
            promo_code="SPRING",
        ),
    )
    # 40 of 100 leads at 250: 100.00; 5 off and 10% of 100.00 off: 85.00
    assert (bought.list_price, bought.discount, bought.price) == ("100", "15", "85")
    assert bought.order.client_id == client_id
    assert [(i.quantity, i.account_id) for i in bought.order.items] == [(40, account_id)]
    used_up = await market.refused(
        "BuyLeadPack",
        M.BuyLeadPackRequest(
            client_id=client_id,
            delivery_account_id=account_id,
            pack_id=pack.id,
            quantity=40,
            promo_code="SPRING",
        ),
    )
    assert used_up.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "limit" in used_up.details()
    too_few = await market.refused(
        "BuyLeadPack",
        M.BuyLeadPackRequest(
            client_id=client_id, delivery_account_id=account_id, pack_id=pack.id, quantity=5
        ),
    )
    assert too_few.code() == grpc.StatusCode.FAILED_PRECONDITION
    # the pack is charged when bought, and the lead filling its order is not charged again
    assert await market.ledger(client_id) == [("PACK", Decimal(-85), Decimal(-85), 0)]
    lead = await market.post({**LEAD, "Email": "after@example.com", "Phone": "7025580998"})
    sends = await market.settled(int(lead.lead_id))
    assert [(s.client_id, s.order_id) for s in sends] == [(client_id, bought.order.id)]
    assert await market.ledger(client_id) == [("PACK", Decimal(-85), Decimal(-85), 0)]
    promos = await market.call("ListPromoCodes", M.ListPromoCodesRequest())
    assert [p.uses for p in promos.promo_codes] == [1]


async def test_a_promo_use_limit_holds_under_concurrent_purchases(shop: ShopFactory) -> None:
    market = await shop("b1")
    pack = await market.pack()
    await market.call("SavePromoCode", M.PromoCode(code="FEW", money_value="1", use_limit=3))
    request = M.BuyLeadPackRequest(
        client_id=market.client_id("b1"),
        delivery_account_id=market.account_id("b1"),
        pack_id=pack.id,
        promo_code="FEW",
    )
    outcomes = await asyncio.gather(
        *(market.call("BuyLeadPack", request) for _ in range(8)), return_exceptions=True
    )
    bought = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(bought) == 3 and len(refused) == 5
    assert {e.code() for e in refused} == {grpc.StatusCode.FAILED_PRECONDITION}
    assert {b.price for b in bought} == {"249"}


async def test_aged_packs_and_expired_packs_are_not_bought(shop: ShopFactory) -> None:
    market = await shop("b1")
    aged = await market.pack(pack_type=M.PACK_TYPE_AGED)
    request = M.BuyLeadPackRequest(
        client_id=market.client_id("b1"),
        delivery_account_id=market.account_id("b1"),
        pack_id=aged.id,
    )
    assert (await market.refused("BuyLeadPack", request)).code() == (
        grpc.StatusCode.FAILED_PRECONDITION
    )
    expired = M.LeadPack(
        pack_type=M.PACK_TYPE_STANDARD, lead_type_id=market.lead_type_id, quantity=1, price="1"
    )
    expired.expires_at.FromDatetime(datetime.now(UTC) - timedelta(days=1))
    expired = await market.call("SaveLeadPack", expired)
    request.pack_id = expired.id
    refused = await market.refused("BuyLeadPack", request)
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION and "expired" in refused.details()


async def test_aged_leads_are_searched_and_pulled_once(shop: ShopFactory) -> None:
    market = await shop("b1", "b2")
    b1, b2 = market.client_id("b1"), market.client_id("b2")
    young = await market.lead(1, 30, 2)
    a = await market.lead(2, 30, 10)
    c = await market.lead(3, 20, 9)
    b = await market.lead(4, 30, 40)

    async def search(client_id: int, **fields: Any) -> list[int]:
        request = M.FindAgedLeadsRequest(
            client_id=client_id, lead_type_id=market.lead_type_id, **fields
        )
        found = await market.call("FindAgedLeads", request)
        return [lead.lead_id for lead in found.leads]

    assert await search(b1, start_day=7, end_day=30, criteria=[age_at_least(25)]) == [a]
    assert await search(b1, start_day=7, end_day=30) == [a, c]
    assert await search(b1, start_day=7) == [b, a, c]
    assert await search(b1, start_day=1, end_day=3) == [young]
    unknown = await market.refused(
        "FindAgedLeads",
        M.FindAgedLeadsRequest(client_id=99999999, lead_type_id=market.lead_type_id),
    )
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    priced = await market.call(
        "FindAgedLeads",
        M.FindAgedLeadsRequest(
            client_id=b1, lead_type_id=market.lead_type_id, start_day=7, lead_price="2.5"
        ),
    )
    assert {lead.price for lead in priced.leads} == {"2.5"}

    pulled = await market.call(
        "SaveDataPull",
        M.DataPull(
            id=-1,
            client_id=b1,
            delivery_account_id=market.account_id("b1"),
            lead_ids=[a, c],
            total_price="10.01",
            status=1,
            card_transaction_id=77,
        ),
    )
    assert list(pulled.sold_lead_ids) == [a, c] and list(pulled.already_pulled_lead_ids) == []
    assert [(s.client_id, s.price) for s in await market.sold_sends(a)] == [(b1, "5.01")]
    assert [s.price for s in await market.sold_sends(c)] == ["5"]
    assert await search(b1, start_day=7) == [b]
    # campaign max sell 1: the leads sold to b1 show to b2 only over their max
    assert await search(b2, start_day=7) == [b]
    assert await search(b2, start_day=7, use_over_max=True) == [b, a, c]

    edited = await market.call(
        "SaveDataPull", M.DataPull(id=pulled.pull.id, lead_ids=[a, b], total_price="15")
    )
    assert list(edited.sold_lead_ids) == [b] and list(edited.already_pulled_lead_ids) == [a]
    assert list(edited.pull.lead_ids) == [a, c, b] and edited.pull.total_price == "15"
    again = await market.call(
        "SaveDataPull",
        M.DataPull(
            client_id=b1, delivery_account_id=market.account_id("b1"), lead_ids=[a], total_price="3"
        ),
    )
    assert list(again.sold_lead_ids) == [] and list(again.already_pulled_lead_ids) == [a]
    for lead_id in (a, b, c):
        assert len(await market.sold_sends(lead_id)) == 1
    # each lead pulled is charged once, at its share, with the balance it left
    assert await market.ledger(b1) == [
        ("SALE", Decimal("-5.01"), Decimal("-5.01"), a),
        ("SALE", Decimal("-5.00"), Decimal("-10.01"), c),
        ("SALE", Decimal("-5.00"), Decimal("-15.01"), b),
    ]

    exported = await market.call("ExportDataPull", M.ExportDataPullRequest(id=pulled.pull.id))
    rows = list(csv.reader(io.StringIO(exported.csv)))
    assert exported.leads == 3
    assert rows[0][:4] == ["LeadUID", "ReceivedAt", "Price", "FirstName"]
    assert [(int(r[0]), r[2]) for r in rows[1:]] == [(a, "5.01"), (c, "5.00"), (b, "5.00")]
    assert all(r[3] == "Ann" for r in rows[1:])


async def test_a_pull_refuses_unknown_leads_and_other_clients_accounts(shop: ShopFactory) -> None:
    market = await shop("b1", "b2")
    lead = await market.lead(1, 30, 10)
    other_account = await market.refused(
        "SaveDataPull",
        M.DataPull(
            client_id=market.client_id("b1"),
            delivery_account_id=market.account_id("b2"),
            lead_ids=[lead],
            total_price="1",
        ),
    )
    assert other_account.code() == grpc.StatusCode.NOT_FOUND
    unknown = await market.refused(
        "SaveDataPull",
        M.DataPull(
            client_id=market.client_id("b1"),
            delivery_account_id=market.account_id("b1"),
            lead_ids=[lead, 99999999],
            total_price="1",
        ),
    )
    assert unknown.code() == grpc.StatusCode.NOT_FOUND and "99999999" in unknown.details()
    assert await market.sold_sends(lead) == []


async def test_a_campaigns_lead_category_filters_aged_leads(
    shop: ShopFactory, stub_for: Any
) -> None:
    market = await shop("b1")
    auto = await market.call("SaveLeadCategory", M.Named(name="Auto"))
    home = await market.call("SaveLeadCategory", M.Named(name="Home"))
    lead = await market.lead(1, 30, 10)
    campaign_id = int(market.ids.campaigns["acme-auto-web"])
    async with stub_for(market.key) as admin:
        updated = await admin.UpdateCampaign(
            admin_pb2.UpdateCampaignRequest(
                campaign=catalog_pb2.Campaign(id=campaign_id, lead_category_id=auto.id),
                update_mask=FieldMask(paths=["lead_category_id"]),
            )
        )
        assert updated.lead_category_id == auto.id
        # config as code does not name lead categories: applying it again keeps the category
        document = copy.deepcopy(EXAMPLE)
        document["sources"][0]["campaigns"][0]["max_sell"] = 1
        await admin.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))
        kept = await admin.GetCampaign(admin_pb2.GetCampaignRequest(id=campaign_id))
        assert kept.lead_category_id == auto.id
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await admin.UpdateCampaign(
                admin_pb2.UpdateCampaignRequest(
                    campaign=catalog_pb2.Campaign(id=campaign_id, lead_category_id=99999999),
                    update_mask=FieldMask(paths=["lead_category_id"]),
                )
            )
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND

    async def search(category: int) -> list[int]:
        request = M.FindAgedLeadsRequest(
            client_id=market.client_id("b1"),
            lead_type_id=market.lead_type_id,
            start_day=7,
            lead_category_id=category,
        )
        return [found.lead_id for found in (await market.call("FindAgedLeads", request)).leads]

    assert await search(auto.id) == [lead]
    assert await search(home.id) == []
    assert await search(0) == [lead]


async def test_a_delivery_methods_lead_category_is_saved_kept_and_cleared(
    shop: ShopFactory, stub_for: Any, buyers: BuyerServer
) -> None:
    market = await shop("b1")
    auto = await market.call("SaveLeadCategory", M.Named(name="Auto"))
    delivery_id = int(market.ids.deliveries["b1/post"])

    async def save(category: int) -> buyers_pb2.Delivery:
        async with stub_for(market.key) as admin:
            saved: buyers_pb2.Delivery = await admin.SaveDelivery(
                admin_pb2.SaveDeliveryRequest(
                    delivery=buyers_pb2.Delivery(id=delivery_id, lead_category_id=category),
                    update_mask=FieldMask(paths=["lead_category_id"]),
                )
            )
            return saved

    async def stored() -> int:
        async with stub_for(market.key) as admin:
            found = await admin.GetDelivery(admin_pb2.GetDeliveryRequest(id=delivery_id))
            return int(found.lead_category_id)

    assert (await save(auto.id)).lead_category_id == auto.id
    # config as code does not name lead categories: applying the document again keeps it
    document = copy.deepcopy(EXAMPLE)
    document["clients"] = [client("b1", buyers, use_order=True)]
    document["sources"][0]["campaigns"][0]["max_sell"] = 1
    async with stub_for(market.key) as admin:
        await admin.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))
    assert await stored() == auto.id
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await save(99999999)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    assert "lead_category_id" in (unknown.value.details() or "")
    other = await shop("b2")  # another account's category is as unknown as a made-up one
    theirs = await other.call("SaveLeadCategory", M.Named(name="Theirs"))
    with pytest.raises(grpc.aio.AioRpcError) as foreign:
        await save(theirs.id)
    assert foreign.value.code() == grpc.StatusCode.NOT_FOUND
    assert await stored() == auto.id
    assert (await save(0)).lead_category_id == 0


def state_is(state: str) -> buyers_pb2.Criterion:
    return buyers_pb2.Criterion(
        type=buyers_pb2.CRITERION_TYPE_FIELD_VALUE,
        field="State",
        operator=catalog_pb2.OPERATOR_EQUAL,
        value=state,
    )


CA = {**LEAD, "Zip": "90210", "State": "CA"}
NY = {**LEAD, "Zip": "10001", "State": "NY"}


async def posted(market: Shop, fields: dict[str, str], i: int) -> int:
    lead = await market.post({**fields, "Email": f"p{i}@example.com", "Phone": f"702557{i:04d}"})
    return int(lead.lead_id)


async def scanned(market: Shop, lead_id: int) -> str:
    """The lead's scan log once its first scan is written."""
    for _ in range(200):
        log = await market.scan_log(lead_id)
        if "Scan of lead" in log:
            return log
        await asyncio.sleep(0.05)
    raise AssertionError(f"lead {lead_id} was never scanned")


async def buy(market: Shop, pack_id: int, quantity: int = 10) -> Any:
    return await market.call(
        "BuyLeadPack",
        M.BuyLeadPackRequest(
            client_id=market.client_id("b1"),
            delivery_account_id=market.account_id("b1"),
            pack_id=pack_id,
            quantity=quantity,
        ),
    )


async def test_a_packs_order_takes_only_leads_meeting_its_criteria_as_bought(
    shop: ShopFactory,
) -> None:
    market = await shop("b1")
    pack = await market.pack(criteria=[state_is("CA")])
    bought = await buy(market, pack.id)
    # a later edit of the pack does not change the order already bought
    edited = M.LeadPack()
    edited.CopyFrom(pack)
    del edited.criteria[:]
    edited.criteria.append(state_is("NY"))
    await market.call("SaveLeadPack", edited)
    ny = await posted(market, NY, 1)
    log = await scanned(market, ny)
    assert await market.sends(ny) == []
    # the order keeps the pack's criteria as bought (State = CA), not the edited ones
    assert (
        f"order {bought.order.id} does not take the lead (lead pack {pack.id}'s criteria "
        "failed: State=NY is not CA)"
    ) in log
    assert "no order takes the lead" in log
    ca = await posted(market, CA, 2)
    sends = await market.settled(ca)
    assert [(s.client_id, s.order_id) for s in sends] == [(market.client_id("b1"), bought.order.id)]


async def test_a_packs_order_takes_only_leads_of_its_lead_category(
    shop: ShopFactory, stub_for: Any
) -> None:
    market = await shop("b1")
    home = await market.call("SaveLeadCategory", M.Named(name="Home"))
    pack = await market.pack(lead_category_id=home.id)
    bought = await buy(market, pack.id)
    none = await posted(market, CA, 1)
    log = await scanned(market, none)
    assert await market.sends(none) == []
    assert f"takes leads of category {home.id} only (lead pack {pack.id})" in log
    campaign_id = int(market.ids.campaigns["acme-auto-web"])
    async with stub_for(market.key) as admin:
        await admin.UpdateCampaign(
            admin_pb2.UpdateCampaignRequest(
                campaign=catalog_pb2.Campaign(id=campaign_id, lead_category_id=home.id),
                update_mask=FieldMask(paths=["lead_category_id"]),
            )
        )
    homes = await posted(market, CA, 2)
    sends = await market.settled(homes)
    assert [s.order_id for s in sends] == [bought.order.id]


async def test_a_lead_fills_the_open_order_it_matches(shop: ShopFactory) -> None:
    market = await shop("b1")
    california = await buy(market, (await market.pack(criteria=[state_is("CA")])).id)
    new_york = await buy(market, (await market.pack(criteria=[state_is("NY")])).id)
    ny = await posted(market, NY, 1)
    assert [s.order_id for s in await market.settled(ny)] == [new_york.order.id]
    ca = await posted(market, CA, 2)
    assert [s.order_id for s in await market.settled(ca)] == [california.order.id]


async def test_the_snapshot_loads_the_terms_of_pack_orders_that_may_still_take_a_lead(
    shop: ShopFactory,
) -> None:
    market = await shop("b1")
    pack = await market.pack(criteria=[age_at_least(30)])
    bought = []
    for _ in range(3):
        found = await market.call(
            "BuyLeadPack",
            M.BuyLeadPackRequest(
                client_id=market.client_id("b1"),
                delivery_account_id=market.account_id("b1"),
                pack_id=pack.id,
            ),
        )
        bought.append(found.order.id)
    open_, closed, ended = bought
    async with market.pool.connection() as conn:
        account_id = await conn.execute(
            "SELECT account_id FROM client_orders WHERE id = %s", [open_]
        )
        (tenant,) = (await account_id.fetchone()).values()

        async def loaded() -> list[int]:
            filters = await marketplace_store.order_filters(conn, tenant, market.lead_type_id)
            return [f.order_id for f in filters]

        assert await loaded() == [open_, closed, ended]
        await conn.execute("UPDATE client_orders SET status = 2 WHERE id = %s", [closed])
        await conn.execute(
            "UPDATE client_orders SET start_at = now() - interval '2 days',"
            " end_at = now() - interval '1 day' WHERE id = %s",
            [ended],
        )
        assert await loaded() == [open_]
        await conn.execute("UPDATE client_orders SET renewal = 1 WHERE id = %s", [ended])
        assert await loaded() == [open_, ended]  # renewed on its end date: not over
        await conn.rollback()
