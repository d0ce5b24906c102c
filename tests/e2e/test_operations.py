"""Manual operations end to end (docs/operations.md): config applied and leads posted over
gRPC, buyers as real HTTP servers on loopback, the operations called on DistributionService."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from leadrouter.v1 import admin_pb2, distribution_pb2, leads_pb2, leads_pb2_grpc

from clients.client import admin_async, distribution_async, struct, violations
from tests.e2e.test_distribution import EXAMPLE, LEAD, Market, client
from tests.support.buyers import BuyerServer

S = distribution_pb2.SendStatus
D = distribution_pb2
NOW = datetime.now(UTC)
Build = Callable[..., Any]


def lead(i: int, **fields: str) -> dict[str, str]:
    return {**LEAD, "Email": f"m{i}@example.com", "Phone": f"702557{i:04d}", **fields}


@pytest.fixture
def build(grpc_address: str, new_account: Any, stub_for: Any) -> Build:
    """A tenant with the example source, its web campaign set as asked (pricing, QC bin),
    and these buyers."""

    async def create(
        clients: list[dict[str, Any]], *, max_sell: int = 1, **settings: Any
    ) -> Market:
        document = copy.deepcopy(EXAMPLE)
        campaign = document["sources"][0]["campaigns"][0]
        campaign["max_sell"] = max_sell
        if {"price_per_sale", "revenue_share_percent"} & settings.keys():
            del campaign["price_per_lead"]
        campaign.update(settings)
        document["clients"] = clients
        tenant = await new_account("Operations")
        async with stub_for(tenant.api_key) as stub:
            ids = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))
        return Market(grpc_address, tenant.api_key, ids)

    return create


async def call(m: Market, method: str, request: Any) -> Any:
    async with distribution_async(m.address, m.key) as stub:
        return await getattr(stub, method)(request)


async def refused(m: Market, method: str, request: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(m, method, request)
    return caught.value


def manual(m: Market, lead_id: int, buyer: str, **extra: Any) -> D.ProcessClientDeliveryRequest:
    return D.ProcessClientDeliveryRequest(
        lead_id=lead_id,
        client_id=m.ids.clients[buyer],
        account_id=m.ids.accounts[f"{buyer}/main"],
        **extra,
    )


async def for_send(m: Market, lead_id: int) -> list[Any]:
    found = await call(m, "GetClientsForSend", D.GetClientsForSendRequest(lead_id=lead_id))
    return list(found.clients)


async def post_status(m: Market, post_id: str) -> Any:
    async with grpc.aio.insecure_channel(m.address) as channel:
        return await leads_pb2_grpc.LeadServiceStub(channel).GetPostStatus(
            leads_pb2.GetPostStatusRequest(post_id=post_id)
        )


async def scanned(m: Market, lead_id: int) -> str:
    """The lead's scan log once the engine has scanned it: the general insert answers first."""
    for _ in range(200):
        log = await m.scan_log(lead_id)
        if log:
            return log
        await asyncio.sleep(0.05)
    raise AssertionError(f"lead {lead_id} was never scanned")


# -- ProcessClientDelivery --------------------------------------------------------------------


async def test_a_manual_send_delivers_now_and_answers_with_the_buyer_response(
    build: Build, buyers: BuyerServer
) -> None:
    m = await build([client("a", buyers, automation_enabled=False)])
    posted = await m.post(lead(1))
    assert await m.settled(posted.lead_id, 0) == []
    answer = await call(m, "ProcessClientDelivery", manual(m, posted.lead_id, "a", notes="phoned"))
    assert (answer.is_valid, answer.status, answer.response) == (
        True,
        S.SEND_STATUS_SOLD,
        "accepted",
    )
    assert (answer.send.automated, answer.send.price, answer.send.client_name) == (
        False,
        "20",
        "Buyer a",
    )
    [got] = buyers.of("a")
    assert got.headers["idempotency-key"] == f"leadrouter-send-{answer.send.id}"
    [entry] = await for_send(m, posted.lead_id)
    assert (entry.send_id, entry.send_notes, entry.is_valid) == (answer.send.id, "phoned", True)
    [listed] = await m.settled(posted.lead_id)
    assert (listed.id, listed.notes, listed.resend_of) == (answer.send.id, "phoned", 0)
    assert entry.date_sent.ToDatetime(UTC) >= NOW - timedelta(minutes=1)
    assert f"Send {answer.send.id} to Buyer a / main" in await m.scan_log(posted.lead_id)


async def test_a_manual_send_the_buyer_refuses_is_rejected(
    build: Build, buyers: BuyerServer
) -> None:
    m = await build([client("a", buyers, automation_enabled=False)])
    buyers.behave("a", answer="no thanks")
    posted = await m.post(lead(1))
    answer = await call(m, "ProcessClientDelivery", manual(m, posted.lead_id, "a"))
    assert (answer.is_valid, answer.status, answer.response) == (
        False,
        S.SEND_STATUS_REJECTED,
        "no thanks",
    )


@pytest.mark.slow  # waits for retries or delays in real time
async def test_a_manual_send_that_cannot_reach_the_buyer_is_retried_by_the_worker(
    build: Build, buyers: BuyerServer
) -> None:
    m = await build([client("a", buyers, automation_enabled=False)])
    buyers.behave("a", delay=2.5)  # longer than the delivery's 2 s timeout
    posted = await m.post(lead(1))
    answer = await call(m, "ProcessClientDelivery", manual(m, posted.lead_id, "a"))
    assert (answer.is_valid, answer.status) == (False, S.SEND_STATUS_SCHEDULED)
    assert answer.send.reason.startswith("transport failure (attempt 1)")
    buyers.behave("a")
    [sold] = await m.settled(posted.lead_id)
    assert (sold.id, sold.status, sold.automated) == (answer.send.id, S.SEND_STATUS_SOLD, False)


async def test_a_manual_send_may_go_over_a_cap_and_counts_against_it(
    build: Build, buyers: BuyerServer
) -> None:
    m = await build([client("a", buyers, day_max=1)])
    first = await m.post(lead(1), no_sell=True)
    answer = await call(m, "ProcessClientDelivery", manual(m, first.lead_id, "a"))
    assert answer.status == S.SEND_STATUS_SOLD
    second = await m.post(lead(2))
    assert "day cap" in await scanned(m, second.lead_id)
    assert await m.sends(second.lead_id) == []
    over = await call(m, "ProcessClientDelivery", manual(m, second.lead_id, "a"))
    assert over.status == S.SEND_STATUS_SOLD
    assert len(buyers.of("a")) == 2


async def test_a_buyer_that_bought_the_lead_is_not_sent_it_again(
    build: Build, buyers: BuyerServer
) -> None:
    m = await build([client("a", buyers)])
    posted = await m.post(lead(1))
    [sold] = await m.settled(posted.lead_id)
    error = await refused(m, "ProcessClientDelivery", manual(m, posted.lead_id, "a"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == f"Buyer a already bought lead {posted.lead_id} (send {sold.id})"


async def test_a_manual_send_takes_the_named_open_order_of_the_buyer(
    build: Build, buyers: BuyerServer
) -> None:
    def order(key: str, **settings: Any) -> dict[str, Any]:
        return {
            "key": key,
            "start": (NOW - timedelta(days=1)).isoformat(),
            "end": (NOW + timedelta(days=29)).isoformat(),
            "items": [{"key": "leads", "quantity": 5}],
            **settings,
        }

    a = client("a", buyers, use_order=True, automation_enabled=False)
    a["orders"] = [order("first"), order("second"), order("held", status="OnHold")]
    b = client("b", buyers, automation_enabled=False)
    b["orders"] = [order("theirs")]
    m = await build([a, b])
    posted = await m.post(lead(1))
    named = m.ids.orders["a/second"]
    answer = await call(m, "ProcessClientDelivery", manual(m, posted.lead_id, "a", order_id=named))
    assert (answer.status, answer.send.order_id) == (S.SEND_STATUS_SOLD, named)
    other = await m.post(lead(2))
    error = await refused(
        m,
        "ProcessClientDelivery",
        manual(m, other.lead_id, "a", order_id=m.ids.orders["b/theirs"]),
    )
    assert (error.code(), error.details()) == (
        grpc.StatusCode.NOT_FOUND,
        f"Buyer a has no order {m.ids.orders['b/theirs']}",
    )
    error = await refused(
        m, "ProcessClientDelivery", manual(m, other.lead_id, "a", order_id=m.ids.orders["a/held"])
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "is OnHold" in error.details()
    unnamed = await call(m, "ProcessClientDelivery", manual(m, other.lead_id, "a"))
    assert unnamed.send.order_id == m.ids.orders["a/first"]


async def test_manual_send_input_is_checked_and_named(build: Build, buyers: BuyerServer) -> None:
    m = await build([client("a", buyers), client("b", buyers)])
    posted = await m.post(lead(1), no_sell=True)
    error = await refused(m, "ProcessClientDelivery", D.ProcessClientDeliveryRequest())
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [path for path, _ in violations(error)] == ["lead_id", "client_id", "account_id"]
    mixed = D.ProcessClientDeliveryRequest(
        lead_id=posted.lead_id,
        client_id=m.ids.clients["a"],
        account_id=m.ids.accounts["b/main"],
    )
    error = await refused(m, "ProcessClientDelivery", mixed)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [path for path, _ in violations(error)] == ["account_id"]
    error = await refused(
        m, "ProcessClientDelivery", manual(m, posted.lead_id, "a", notes="x" * 1001)
    )
    assert violations(error) == [("notes", "at most 1000 characters")]
    assert buyers.received == []


async def test_another_accounts_lead_and_buyer_are_not_found(
    build: Build, buyers: BuyerServer
) -> None:
    mine = await build([client("a", buyers)])
    theirs = await build([client("z", buyers)])
    their_lead = await theirs.post(lead(1), no_sell=True)
    my_lead = await mine.post(lead(2), no_sell=True)
    request = manual(mine, their_lead.lead_id, "a")
    error = await refused(mine, "ProcessClientDelivery", request)
    assert (error.code(), error.details()) == (
        grpc.StatusCode.NOT_FOUND,
        f"no lead {their_lead.lead_id}",
    )
    request = D.ProcessClientDeliveryRequest(
        lead_id=my_lead.lead_id,
        client_id=theirs.ids.clients["z"],
        account_id=theirs.ids.accounts["z/main"],
    )
    error = await refused(mine, "ProcessClientDelivery", request)
    assert error.code() == grpc.StatusCode.NOT_FOUND
    confirm = D.ConfirmSaleRequest(lead_id=their_lead.lead_id, client_id=theirs.ids.clients["z"])
    assert (await refused(mine, "ConfirmSale", confirm)).code() == grpc.StatusCode.NOT_FOUND
    error = await refused(mine, "GetClientsForSend", D.GetClientsForSendRequest(lead_id=1 << 40))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert buyers.received == []


async def test_a_lead_held_for_qc_review_is_not_sent_by_hand(
    build: Build, buyers: BuyerServer
) -> None:
    m = await build([client("a", buyers)], use_qc_bin=True)
    posted = await m.post(lead(1))
    error = await refused(m, "ProcessClientDelivery", manual(m, posted.lead_id, "a"))
    assert (error.code(), error.details()) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        f"lead {posted.lead_id} waits in the QC bin; approve it before sending it",
    )
    assert buyers.received == []


# -- ResendLead ---------------------------------------------------------------------------------


async def test_a_rejected_send_is_resent_as_a_new_manual_send(
    build: Build, buyers: BuyerServer
) -> None:
    m = await build([client("a", buyers)])
    buyers.behave("a", answer="busy, try later")
    posted = await m.post(lead(1))
    [rejected] = await m.settled(posted.lead_id)
    assert rejected.status == S.SEND_STATUS_REJECTED
    buyers.behave("a", answer="accepted")
    answer = await call(m, "ResendLead", D.ResendLeadRequest(send_id=rejected.id))
    assert (answer.is_valid, answer.send.automated) == (True, False)
    assert answer.send.id != rejected.id
    assert answer.send.account_id == rejected.account_id
    first, again = await for_send(m, posted.lead_id)
    assert (first.send_id, first.status, again.resend_of) == (
        rejected.id,
        S.SEND_STATUS_REJECTED,
        rejected.id,
    )
    assert len(buyers.of("a")) == 2
    listed = await m.settled(posted.lead_id, 2)
    resends = [(x.id, x.resend_of) for x in listed]
    assert resends == [(rejected.id, 0), (answer.send.id, rejected.id)]
    error = await refused(m, "ResendLead", D.ResendLeadRequest(send_id=answer.send.id))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "already bought" in error.details()
    error = await refused(m, "ResendLead", D.ResendLeadRequest(send_id=1 << 40))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    error = await refused(m, "ResendLead", D.ResendLeadRequest())
    assert violations(error) == [("send_id", "is required")]


# -- LogClientSend ------------------------------------------------------------------------------


async def test_a_send_made_elsewhere_is_recorded_as_a_sale_without_delivering(
    build: Build, buyers: BuyerServer
) -> None:
    m = await build([client("a", buyers, day_max=1)])
    posted = await m.post(lead(1), no_sell=True)
    request = D.LogClientSendRequest(
        client_id=m.ids.clients["a"],
        lead_id=posted.lead_id,
        account_id=m.ids.accounts["a/main"],
        delivery_id=m.ids.deliveries["a/post"],
        post_string="first_name=Ann&email=ann%40example.com",
        response="OK 123",
    )
    logged = (await call(m, "LogClientSend", request)).send
    assert (logged.status, logged.automated, logged.request, logged.response) == (
        S.SEND_STATUS_SOLD,
        False,
        "first_name=Ann&email=ann%40example.com",
        "OK 123",
    )
    assert buyers.received == []
    assert [s.id for s in await m.sends(posted.lead_id)] == [logged.id]
    later = await m.post(lead(2))
    assert "day cap" in await scanned(m, later.lead_id)
    error = await refused(m, "LogClientSend", request)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_logged_send_may_be_a_rejection_and_its_delivery_and_text_are_checked(
    build: Build, buyers: BuyerServer
) -> None:
    m = await build([client("a", buyers), client("b", buyers)])
    posted = await m.post(lead(1), no_sell=True)
    request = D.LogClientSendRequest(
        client_id=m.ids.clients["a"],
        lead_id=posted.lead_id,
        account_id=m.ids.accounts["a/main"],
        response="duplicate",
        is_valid=False,
    )
    logged = (await call(m, "LogClientSend", request)).send
    assert (logged.status, logged.delivery_id) == (
        S.SEND_STATUS_REJECTED,
        m.ids.deliveries["a/post"],
    )
    request.delivery_id = m.ids.deliveries["b/post"]
    error = await refused(m, "LogClientSend", request)
    assert [path for path, _ in violations(error)] == ["delivery_id"]
    request.delivery_id, request.response = 0, "no\x00"  # PostgreSQL text cannot hold NUL
    error = await refused(m, "LogClientSend", request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(error) == [("response", "holds a NUL character")]
    assert len(await m.sends(posted.lead_id)) == 1


# -- ConfirmSale --------------------------------------------------------------------------------


async def test_confirming_a_per_sale_lead_settles_the_source_once(
    build: Build, buyers: BuyerServer
) -> None:
    m = await build([client("a", buyers, price="30")], price_per_sale="25")
    posted = await m.post(lead(1))
    assert posted.price == "0"
    [sold] = await m.settled(posted.lead_id)
    assert (sold.HasField("confirmed_at"), sold.source_share) == (False, "0")
    request = D.ConfirmSaleRequest(lead_id=posted.lead_id, client_id=m.ids.clients["a"])
    done = await call(m, "ConfirmSale", request)
    assert (list(done.send_ids), done.pricing_model, done.settlement, done.lead_price) == (
        [sold.id],
        "per_sale",
        "25",
        "25",
    )
    [listed] = await m.settled(posted.lead_id)
    assert (listed.source_share, listed.confirmed_at) == ("25", done.confirmed_at)
    assert (await post_status(m, posted.post_id)).price == "25"
    [entry] = await for_send(m, posted.lead_id)
    assert (entry.source_share, entry.confirmed_at.ToDatetime(UTC)) == (
        "25",
        done.confirmed_at.ToDatetime(UTC),
    )
    error = await refused(m, "ConfirmSale", request)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "already confirmed" in error.details()
    assert (await post_status(m, posted.post_id)).price == "25"


async def test_confirming_a_revenue_share_lead_pays_its_share_of_the_buyer_price(
    build: Build, buyers: BuyerServer
) -> None:
    m = await build([client("a", buyers, price="30")], revenue_share_percent="40")
    posted = await m.post(lead(1))
    await m.settled(posted.lead_id)
    done = await call(
        m, "ConfirmSale", D.ConfirmSaleRequest(lead_id=posted.lead_id, client_id=m.ids.clients["a"])
    )
    assert (done.pricing_model, done.settlement, done.lead_price) == ("revenue_share", "12", "12")
    assert (await post_status(m, posted.post_id)).price == "12"


async def test_confirming_a_per_lead_sale_changes_no_price(
    build: Build, buyers: BuyerServer
) -> None:
    m = await build([client("a", buyers)])
    posted = await m.post(lead(1))
    await m.settled(posted.lead_id)
    done = await call(
        m, "ConfirmSale", D.ConfirmSaleRequest(lead_id=posted.lead_id, client_id=m.ids.clients["a"])
    )
    assert (done.settlement, done.lead_price) == ("0", "12.5")
    assert (await post_status(m, posted.post_id)).price == "12.5"


async def test_a_buyer_confirming_a_rejected_lead_makes_it_a_sale(
    build: Build, buyers: BuyerServer
) -> None:
    m = await build([client("a", buyers), client("b", buyers, price="5")], price_per_sale="7")
    buyers.behave("a", answer="pending review")
    posted = await m.post(lead(1))
    sends = await m.settled(posted.lead_id, 2)
    assert [(s.client_name, s.status) for s in sends] == [
        ("Buyer a", S.SEND_STATUS_REJECTED),
        ("Buyer b", S.SEND_STATUS_SOLD),
    ]
    request = D.ConfirmSaleRequest(lead_id=posted.lead_id, client_id=m.ids.clients["a"])
    done = await call(m, "ConfirmSale", request)
    assert list(done.send_ids) == [sends[0].id]
    assert [s.status for s in await m.sends(posted.lead_id)] == [S.SEND_STATUS_SOLD] * 2
    assert done.lead_price == "7"


async def test_a_buyer_never_sent_the_lead_cannot_confirm_it(
    build: Build, buyers: BuyerServer
) -> None:
    m = await build([client("a", buyers), client("b", buyers, price="5")])
    posted = await m.post(lead(1))
    await m.settled(posted.lead_id)
    request = D.ConfirmSaleRequest(lead_id=posted.lead_id, client_id=m.ids.clients["b"])
    error = await refused(m, "ConfirmSale", request)
    assert (error.code(), error.details()) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        f"lead {posted.lead_id} was never sent to Buyer b",
    )
    error = await refused(m, "ConfirmSale", D.ConfirmSaleRequest(lead_id=posted.lead_id))
    assert violations(error) == [("client_id", "is required")]


# -- redirects and transfers --------------------------------------------------------------------


async def test_a_redirect_notification_is_stored_on_the_send_it_came_from(
    build: Build, buyers: BuyerServer
) -> None:
    url = "https://a.example/welcome"
    m = await build([client("a", buyers, account_type="redirect", redirect_url=url)])
    posted = await m.post(lead(1))
    [sold] = await m.settled(posted.lead_id)
    assert (sold.redirect_url, sold.HasField("redirect_notified_at")) == (url, False)
    request = D.RedirectStatusNotifyRequest(
        lead_id=posted.lead_id, redirect=url, is_valid=True, response="landed"
    )
    notified = await call(m, "RedirectStatusNotify", request)
    assert notified.send_id == sold.id
    [entry] = await for_send(m, posted.lead_id)
    assert (entry.redirect_valid, entry.redirect_response) == (True, "landed")
    assert entry.HasField("redirect_notified_at")
    [listed] = await m.settled(posted.lead_id)
    assert (listed.redirect_valid, listed.redirect_response, listed.redirect_notified_at) == (
        True,
        "landed",
        entry.redirect_notified_at,
    )
    request.redirect = "https://elsewhere.example/"
    error = await refused(m, "RedirectStatusNotify", request)
    assert error.code() == grpc.StatusCode.NOT_FOUND
    request.redirect = " "
    error = await refused(m, "RedirectStatusNotify", request)
    assert violations(error) == [("redirect", "is required")]


async def test_clients_for_redirect_and_transfer_list_only_their_account_type(
    build: Build, buyers: BuyerServer
) -> None:
    m = await build(
        [
            client("std", buyers, price="50"),
            client("redir", buyers, account_type="redirect", redirect_url="https://r.example/"),
            client(
                "live",
                buyers,
                price="40",
                account_type="live_transfer",
                agent_name="Sam Agent",
                agent_phone="7025550199",
                automation_enabled=False,
            ),
        ]
    )
    posted = await m.post(lead(1), no_sell=True)
    redirect = await call(
        m, "GetClientsForRedirect", D.GetClientsForRedirectRequest(lead_id=posted.lead_id)
    )
    assert [(c.client_name, c.redirect_url, c.automation) for c in redirect.clients] == [
        ("Buyer redir", "https://r.example/", True)
    ]
    transfer = await call(
        m, "GetClientsForTransfer", D.GetClientsForTransferRequest(lead_id=posted.lead_id)
    )
    assert [
        (c.client_name, c.agent_name, c.agent_phone, c.automation, c.price)
        for c in transfer.clients
    ] == [("Buyer live", "Sam Agent", "7025550199", False, "40")]
    assert buyers.received == []


# -- GetClientsForSend --------------------------------------------------------------------------


async def test_clients_for_send_lists_the_sends_then_the_automated_accounts_left(
    build: Build, buyers: BuyerServer
) -> None:
    first = client("first", buyers, price="50")
    first["contact_first_name"], first["city"], first["email"] = "Ada", "Reno", "ada@first.example"
    m = await build(
        [
            first,
            client("second", buyers, price="30"),
            client("manual", buyers, price="90", automation_enabled=False),
        ],
        max_sell=2,
    )
    buyers.behave("first", answer="nope")
    posted = await m.post(lead(1), no_sell=True)
    before = await for_send(m, posted.lead_id)
    assert [(c.client_name, c.send_id, c.rank) for c in before] == [
        ("Buyer first", 0, 1),
        ("Buyer second", 0, 2),
    ]
    assert (before[0].contact_first_name, before[0].city, before[0].email) == (
        "Ada",
        "Reno",
        "ada@first.example",
    )
    sent = await call(m, "ProcessClientDelivery", manual(m, posted.lead_id, "first"))
    after = await for_send(m, posted.lead_id)
    assert [(c.client_name, c.send_id, c.is_valid, c.response) for c in after] == [
        ("Buyer first", sent.send.id, False, "nope"),
        ("Buyer first", 0, False, ""),
        ("Buyer second", 0, False, ""),
    ]
    assert after[0].status == S.SEND_STATUS_REJECTED


# -- GetAllCriteriaAccounts ---------------------------------------------------------------------


async def test_criteria_accounts_are_found_by_field_and_value(
    build: Build, buyers: BuyerServer
) -> None:
    m = await build(
        [
            client(
                "west", buyers, criteria=[{"field": "State", "operator": "In", "value": "CA,NV"}]
            ),
            client("nv", buyers, criteria=[{"field": "State", "operator": "Equal", "value": "NV"}]),
            client(
                "adult",
                buyers,
                criteria=[{"field": "Age", "operator": "GreaterOrEqual", "value": "18"}],
            ),
            client("any", buyers),
        ]
    )
    lead_type = m.ids.lead_types["auto-insurance"]
    async with admin_async(m.address, m.key) as stub:
        found = await stub.GetLeadType(admin_pb2.GetLeadTypeRequest(id=lead_type))
    fields = {f.name: f.id for f in found.fields}

    async def accounts(field: str, value: str) -> list[int]:
        request = D.GetAllCriteriaAccountsRequest(
            lead_type_id=lead_type, lead_field_id=fields[field], value=value
        )
        return [a.id for a in (await call(m, "GetAllCriteriaAccounts", request)).accounts]

    acct = m.ids.accounts
    assert await accounts("State", "nv") == [acct["west/main"], acct["nv/main"]]
    assert await accounts("State", "CA") == [acct["west/main"]]
    assert await accounts("State", "TX") == []
    assert await accounts("Age", "") == [acct["adult/main"]]
    request = D.GetAllCriteriaAccountsRequest(lead_type_id=lead_type, lead_field_id=1 << 40)
    error = await refused(m, "GetAllCriteriaAccounts", request)
    assert error.code() == grpc.StatusCode.NOT_FOUND
    error = await refused(m, "GetAllCriteriaAccounts", D.GetAllCriteriaAccountsRequest())
    assert [path for path, _ in violations(error)] == ["lead_type_id", "lead_field_id"]


# -- GetClientsForCriteria ----------------------------------------------------------------------


async def test_clients_for_criteria_lists_the_accounts_that_would_take_such_a_lead(
    build: Build, buyers: BuyerServer
) -> None:
    west = client(
        "west", buyers, price="40", criteria=[{"field": "State", "operator": "In", "value": "CA"}]
    )
    west["contact_first_name"], west["email"] = "Wes", "wes@west.example"
    west["website"] = "https://west.example"
    m = await build([west, client("any", buyers, price="30")])
    lead_type = m.ids.lead_types["auto-insurance"]

    async def matching(**values: str) -> list[tuple[str, int, str]]:
        request = D.GetClientsForCriteriaRequest(
            lead_type_id=lead_type,
            fields=[leads_pb2.FieldValue(name=k, value=v) for k, v in values.items()],
        )
        found = await call(m, "GetClientsForCriteria", request)
        return [(c.client_name, c.rank, c.price) for c in found.clients]

    assert await matching(State="CA", Zip="90210") == [
        ("Buyer west", 1, "40"),
        ("Buyer any", 2, "30"),
    ]
    assert await matching(State="NV") == [("Buyer any", 1, "30")]
    found = await call(
        m,
        "GetClientsForCriteria",
        D.GetClientsForCriteriaRequest(
            lead_type_id=lead_type, fields=[leads_pb2.FieldValue(name="State", value="CA")]
        ),
    )
    assert (found.clients[0].contact_first_name, found.clients[0].email) == (
        "Wes",
        "wes@west.example",
    )
    assert (found.clients[0].website, found.clients[1].website) == ("https://west.example", "")
    missing = await refused(
        m, "GetClientsForCriteria", D.GetClientsForCriteriaRequest(lead_type_id=1 << 40)
    )
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    bad = D.GetClientsForCriteriaRequest(
        lead_type_id=lead_type, fields=[leads_pb2.FieldValue(name="Age", value="old")]
    )
    assert (
        await refused(m, "GetClientsForCriteria", bad)
    ).code() == grpc.StatusCode.INVALID_ARGUMENT
