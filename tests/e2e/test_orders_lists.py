"""Orders and distribution lists end to end: config applied over gRPC, leads posted over gRPC,
buyers as real HTTP servers on loopback."""

from __future__ import annotations

import copy
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from leadrouter.v1 import admin_pb2, buyers_pb2

from clients.client import admin_async, struct
from tests.e2e.test_distribution import EXAMPLE, LEAD, Market, client, post_across
from tests.support.buyers import BuyerServer

NOW = datetime.now(UTC)


def order(key: str, quantity: int, **settings: Any) -> dict[str, Any]:
    return {
        "key": key,
        "start": (NOW - timedelta(days=1)).isoformat(),
        "end": (NOW + timedelta(days=29)).isoformat(),
        "items": [{"key": "leads", "quantity": quantity}],
        **settings,
    }


def ordered(key: str, buyers: BuyerServer, orders: list[dict[str, Any]], **kw: Any) -> Any:
    buyer = client(key, buyers, **{"price": "90", "use_order": True, **kw})
    buyer["orders"] = orders
    return buyer


async def apply(
    grpc_address: str, new_account: Any, stub_for: Any, clients: list[Any], **extra: Any
) -> tuple[Market, Any]:
    document = copy.deepcopy(EXAMPLE)
    document["clients"] = clients
    document.update(extra)
    tenant = await new_account("Orders")
    async with stub_for(tenant.api_key) as stub:
        ids = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))
    return Market(grpc_address, tenant.api_key, ids), document


def lead(i: int, **fields: str) -> dict[str, str]:
    return {**LEAD, "Email": f"o{i}@example.com", "Phone": f"702556{i:04d}", **fields}


async def winners(m: Market, count: int, **fields: str) -> list[str]:
    names = []
    for i in range(count):
        posted = await m.post(lead(i, **fields))
        names.append((await m.settled(posted.lead_id))[0].client_name)
    return names


async def stored_order(m: Market, client_key: str) -> buyers_pb2.Order:
    async with admin_async(m.address, m.key) as stub:
        found = await stub.GetClient(admin_pb2.GetClientRequest(key=client_key))
    [only] = found.orders
    return only


async def test_an_order_takes_its_quantity_and_no_more(
    grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    m, _ = await apply(
        grpc_address,
        new_account,
        stub_for,
        [ordered("o", buyers, [order("nov", 3)]), client("rest", buyers, price="10")],
    )
    assert list(m.ids.orders) == ["o/nov"]
    assert await winners(m, 5) == ["Buyer o"] * 3 + ["Buyer rest"] * 2
    found = await stored_order(m, "o")
    assert (found.quantity, found.sent, found.renewals) == (3, 3, 0)
    assert (found.items[0].sent, found.items[0].held) == (3, 3)
    posted = await m.post(lead(9))
    sends = await m.settled(posted.lead_id)
    assert sends[0].order_id == 0
    log = await m.scan_log(posted.lead_id)
    assert f"order {found.id} is full (3 sold, 0 pending, of 3)" in log
    first = await m.settled((await m.post(lead(10, Email="z@example.com"))).lead_id)
    assert first[0].client_name == "Buyer rest"


async def test_sends_record_the_order_and_item_they_count_against(
    grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    m, _ = await apply(
        grpc_address, new_account, stub_for, [ordered("o", buyers, [order("nov", 3)])]
    )
    posted = await m.post(lead(1))
    [send] = await m.settled(posted.lead_id)
    found = await stored_order(m, "o")
    assert (send.order_id, send.order_item_id) == (found.id, found.items[0].id)


async def test_without_an_open_order_the_account_is_passed_over(
    grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    m, _ = await apply(
        grpc_address,
        new_account,
        stub_for,
        [
            ordered("held", buyers, [order("x", 5, status="OnHold")]),
            ordered("none", buyers, []),
            ordered("later", buyers, [order("y", 5, start=(NOW + timedelta(days=2)).isoformat())]),
            client("rest", buyers, price="10"),
        ],
    )
    posted = await m.post(lead(1))
    assert [s.client_name for s in await m.settled(posted.lead_id)] == ["Buyer rest"]
    log = await m.scan_log(posted.lead_id)
    assert "is OnHold" in log
    assert "uses orders and its buyer has no open order" in log
    assert "starts" in log


async def test_an_order_renewed_on_qty_fill_starts_a_new_period(
    grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    m, _ = await apply(
        grpc_address,
        new_account,
        stub_for,
        [
            ordered("o", buyers, [order("n", 2, renewal="On_Qty_Fill")]),
            client("rest", buyers, price="10"),
        ],
    )
    assert await winners(m, 5) == ["Buyer o"] * 5
    found = await stored_order(m, "o")
    assert (found.renewals, found.sent, found.quantity) == (2, 1, 2)
    assert found.period_start.ToDatetime(UTC) > NOW


async def test_an_order_renewed_on_end_date_moves_to_the_period_covering_now(
    grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    past = order(
        "n",
        2,
        renewal="On_End_Date",
        start=(NOW - timedelta(days=10)).isoformat(),
        end=(NOW - timedelta(days=9)).isoformat(),
    )
    ended = order(
        "m",
        2,
        start=(NOW - timedelta(days=10)).isoformat(),
        end=(NOW - timedelta(days=9)).isoformat(),
    )
    m, _ = await apply(
        grpc_address,
        new_account,
        stub_for,
        [ordered("o", buyers, [past]), ordered("e", buyers, [ended], price="95")],
    )
    posted = await m.post(lead(1))
    assert [s.client_name for s in await m.settled(posted.lead_id)] == ["Buyer o"]
    found = await stored_order(m, "o")
    start, end = found.period_start.ToDatetime(UTC), found.period_end.ToDatetime(UTC)
    assert start <= datetime.now(UTC) < end and end - start == timedelta(days=1)
    assert (found.renewals, found.sent) == (1, 1)
    log = await m.scan_log(posted.lead_id)
    assert f"order {found.id} of Buyer o renewed" in log
    assert f"order {(await stored_order(m, 'e')).id} ended" in log


async def test_two_servers_keep_an_order_exact(
    grpc_address: str,
    new_account: Any,
    stub_for: Any,
    buyers: BuyerServer,
    second_server: str,
) -> None:
    m, _ = await apply(
        grpc_address,
        new_account,
        stub_for,
        [ordered("o", buyers, [order("n", 5)]), client("rest", buyers, price="10")],
    )
    leads = await post_across(m, second_server, 30)
    won = Counter([(await m.settled(lead))[0].client_name for lead in leads])
    assert won == {"Buyer o": 5, "Buyer rest": 25}
    assert (await stored_order(m, "o")).sent == 5


def zip_list(**settings: Any) -> dict[str, Any]:
    return {
        "key": "zips",
        "lead_type": "auto-insurance",
        "field": "Zip",
        "description": "Las Vegas ZIPs",
        "items": [{"value": "89101", "client": "b"}, {"value": "89102"}],
        **settings,
    }


async def test_a_distribution_list_gives_a_value_to_its_buyer(
    grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    m, _ = await apply(
        grpc_address,
        new_account,
        stub_for,
        [client(k, buyers, price=p) for k, p in (("a", "50"), ("b", "20"), ("c", "10"))],
        distribution_lists=[zip_list(default_client="c")],
    )
    assert list(m.ids.distribution_lists) == ["zips"]
    assert await winners(m, 1, Zip="89101") == ["Buyer b"]
    assert await winners(m, 1, Zip="89102", Email="u@example.com") == ["Buyer c"]
    posted = await m.post(lead(5, Zip="89103"))
    assert (await m.settled(posted.lead_id))[0].client_name == "Buyer c"
    log = await m.scan_log(posted.lead_id)
    assert "distribution list 'Las Vegas ZIPs' has no buyer for zip=89103; its catch-all is" in log


async def test_without_a_catch_all_an_unlisted_value_goes_by_automation(
    grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    m, _ = await apply(
        grpc_address,
        new_account,
        stub_for,
        [client(k, buyers, price=p) for k, p in (("a", "50"), ("b", "20"))],
        distribution_lists=[zip_list()],
    )
    assert await winners(m, 1, Zip="89102") == ["Buyer a"]
    posted = await m.post(lead(3, Zip="89101"))
    assert (await m.settled(posted.lead_id))[0].client_name == "Buyer b"
    assert "distribution list 'Las Vegas ZIPs' assigns zip=89101 to Buyer b" in (
        await m.scan_log(posted.lead_id)
    )


async def test_a_depend_field_limits_when_a_list_applies(
    grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    m, _ = await apply(
        grpc_address,
        new_account,
        stub_for,
        [client(k, buyers, price=p) for k, p in (("a", "50"), ("b", "20"))],
        distribution_lists=[
            zip_list(key="ca", depend_field="State", depend_value="CA"),
        ],
    )
    # the ZIP 89101 is in Nevada, so the list (for California leads) does not apply
    assert await winners(m, 1, Zip="89101") == ["Buyer a"]


async def test_lists_and_orders_read_back_and_apply_again_unchanged(
    grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    clients = [ordered("o", buyers, [order("n", 4)]), client("b", buyers)]
    m, document = await apply(
        grpc_address, new_account, stub_for, clients, distribution_lists=[zip_list()]
    )
    async with admin_async(m.address, m.key) as stub:
        found = await stub.ListDistributionLists(admin_pb2.ListDistributionListsRequest())
        [dlist] = found.lists
        assert (dlist.field, dlist.assigned, dlist.unassigned) == ("Zip", 1, 1)
        assert [(i.value, i.client_id) for i in dlist.items] == [
            ("89101", m.ids.clients["b"]),
            ("89102", 0),
        ]
        again = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))
        changed = [(c.kind, c.key) for c in again.changes if c.action != "unchanged"]
        assert changed == []
        document["distribution_lists"][0]["items"][1]["client"] = "o"
        document["clients"][0]["orders"][0]["items"][0]["quantity"] = 6
        again = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))
        changed = [(c.kind, c.key) for c in again.changes if c.action != "unchanged"]
        assert changed == [("order item", "o/n/leads"), ("distribution list", "zips")]
    assert (await stored_order(m, "o")).quantity == 6


async def test_a_list_naming_an_unknown_buyer_is_refused_whole(
    grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    import grpc
    import pytest

    from clients.client import violations

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await apply(
            grpc_address,
            new_account,
            stub_for,
            [client("a", buyers)],
            distribution_lists=[zip_list(default_client="ghost")],
        )
    assert dict(violations(raised.value)) == {
        "distribution_lists[0].default_client": "no buyer with key 'ghost'",
        "distribution_lists[0].items[0].client": "no buyer with key 'b'",
    }
