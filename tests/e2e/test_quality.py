"""Quality control and returns end to end: leads posted over gRPC, buyers as real HTTP servers
on loopback, reviews and returns through QualityService, and the lead source's view through
the receiver's status URL over HTTP."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import grpc
import httpx
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from leadrouter.v1 import admin_pb2, leads_pb2, leads_pb2_grpc, quality_pb2

from clients.client import quality_async, struct
from server.bootstrap import receiver
from server.config import Settings
from tests.e2e.test_distribution import EXAMPLE, LEAD, Market, client
from tests.support.buyers import BuyerServer

Q = quality_pb2


@pytest.fixture
async def http(grpc_address: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = replace(Settings(), receiver_address="127.0.0.1:0")
    async with (
        receiver(settings, grpc_address) as address,
        httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as http_client,
    ):
        yield http_client


class Shop(Market):
    """A tenant posting into the example campaign, reviewing and returning through gRPC."""

    def __init__(self, address: str, key: str, ids: Any, pool: Any) -> None:
        super().__init__(address, key, ids)
        self.pool = pool

    async def call(self, method: str, request: Any) -> Any:
        async with quality_async(self.address, self.key) as stub:
            return await getattr(stub, method)(request)

    async def refused(self, method: str, request: Any) -> grpc.aio.AioRpcError:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await self.call(method, request)
        return caught.value

    async def bin(self, **request: Any) -> Any:
        return await self.call("ListQcLeads", Q.ListQcLeadsRequest(**request))

    async def sold(self, lead_id: int, count: int = 1) -> list[Any]:
        sends = await self.settled(lead_id, count)
        assert [s.valid for s in sends] == [True] * count, sends
        return sends

    async def has_job(self, lead_id: int) -> bool:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT 1 FROM distribution_jobs WHERE lead_id = %s", [lead_id]
            )
            return await cursor.fetchone() is not None

    async def age_sale(self, send_id: int, days: float) -> None:
        """Move a sale back in time, as if the buyer had bought it `days` ago."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE sends SET sent_at = now() - make_interval(secs => %s) WHERE id = %s",
                [days * 86400, send_id],
            )
            await conn.commit()


ShopFactory = Callable[..., Any]


@pytest.fixture
def shop(grpc_address: str, new_account: Any, stub_for: Any, pool: Any) -> ShopFactory:
    async def create(
        clients: list[dict[str, Any]],
        *,
        qc: bool = False,
        return_days: int = 0,
        default_return_days: int = 0,
        count_returns: bool = False,
        max_sell: int = 1,
    ) -> Shop:
        document = copy.deepcopy(EXAMPLE)
        document["sources"][0]["default_return_days"] = default_return_days
        document["sources"][0]["campaigns"][0].update(
            use_qc_bin=qc,
            return_days=return_days,
            count_returns=count_returns,
            max_sell=max_sell,
        )
        document["clients"] = clients
        tenant = await new_account("Shop")
        async with stub_for(tenant.api_key) as stub:
            ids = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))
        return Shop(grpc_address, tenant.api_key, ids, pool)

    return create


def another(i: int) -> dict[str, str]:
    """A lead that is not a duplicate of the others."""
    return {**LEAD, "Email": f"qc{i}@example.com", "Phone": f"702557{i:04d}"}


async def status_json(http: httpx.AsyncClient, post_id: str) -> Any:
    answer = await http.get(f"/information/status/{post_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()


async def status_xml(http: httpx.AsyncClient, post_id: str) -> ElementTree.Element:
    answer = await http.get(
        f"/information/queuestatus/{post_id}", headers={"Accept": "application/xml"}
    )
    assert answer.status_code == 200, answer.text
    return ElementTree.fromstring(answer.text)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def same_instant(text: str, stamp: Timestamp) -> bool:
    """The status URL's date (milliseconds, UTC) is the moment of the gRPC timestamp."""
    exact = stamp.ToDatetime(tzinfo=UTC)
    return moment(text) == exact.replace(microsecond=exact.microsecond // 1000 * 1000)


# -- the QC bin ---------------------------------------------------------------------------------


async def test_a_qc_lead_waits_in_the_bin_until_approved_then_is_delivered(
    shop: ShopFactory, buyers: BuyerServer, http: httpx.AsyncClient, idle: Any
) -> None:
    s = await shop([client("buyer", buyers)], qc=True)
    lead = await s.post()
    assert lead.pending_qc_review
    held = await s.bin()
    assert [x.lead_id for x in held.leads] == [lead.lead_id] and held.next_after_lead_id == 0
    assert {f.name: f.value for f in held.leads[0].fields}["Email"] == "ann@example.com"
    assert held.leads[0].price == "12.5" and held.leads[0].post_id == lead.post_id
    await idle()  # the worker polled and found nothing to do
    assert not await s.has_job(lead.lead_id)
    assert buyers.received == [] and await s.sends(lead.lead_id) == []
    waiting = (await status_json(http, lead.post_id))["QualityControlDetails"]
    assert waiting == {
        "PendingReview": True,
        "DateOfReview": None,
        "IsQualityControlRejected": False,
        "RejectionReason": "",
    }

    decision = await s.call("ApproveLead", Q.ApproveLeadRequest(lead_id=lead.lead_id, note="ok"))

    assert decision.approved and decision.HasField("distribution_due_at")
    [sale] = await s.sold(lead.lead_id)
    assert sale.client_name == "Buyer buyer" and len(buyers.of("buyer")) == 1
    assert list((await s.bin()).leads) == []
    reviewed = (await status_json(http, lead.post_id))["QualityControlDetails"]
    assert reviewed["PendingReview"] is False and reviewed["IsQualityControlRejected"] is False
    assert same_instant(reviewed["DateOfReview"], decision.reviewed_at)


async def test_an_approved_lead_keeps_its_sources_send_delay(
    shop: ShopFactory, buyers: BuyerServer, http: httpx.AsyncClient, idle: Any
) -> None:
    s = await shop([client("buyer", buyers)], qc=True)
    lead = await s.post(send_delay_hours="2")
    decision = await s.call("ApproveLead", Q.ApproveLeadRequest(lead_id=lead.lead_id))
    received = moment((await status_json(http, lead.post_id))["DateReceived"])
    due = decision.distribution_due_at.ToDatetime(tzinfo=UTC)
    assert abs(due - (received + timedelta(hours=2))) < timedelta(milliseconds=1)
    await idle()
    assert buyers.received == [] and await s.has_job(lead.lead_id)


async def test_an_approved_lead_is_sold_up_to_the_campaigns_max_sell_count(
    shop: ShopFactory, buyers: BuyerServer, idle: Any
) -> None:
    s = await shop(
        [client(k, buyers, price=p) for k, p in (("x", "5"), ("y", "7"), ("z", "9"))],
        qc=True,
        max_sell=2,
    )
    lead = await s.post()
    await s.call("ApproveLead", Q.ApproveLeadRequest(lead_id=lead.lead_id))
    await s.sold(lead.lead_id, 2)
    await idle()
    assert sorted(x.client_name for x in await s.sends(lead.lead_id)) == ["Buyer y", "Buyer z"]


async def test_a_rejected_lead_is_never_delivered_and_the_status_says_why(
    shop: ShopFactory, buyers: BuyerServer, http: httpx.AsyncClient, idle: Any
) -> None:
    s = await shop([client("buyer", buyers)], qc=True)
    lead = await s.post()

    decision = await s.call(
        "RejectLead", Q.RejectLeadRequest(lead_id=lead.lead_id, reason="  fake name ")
    )

    assert not decision.approved and not decision.HasField("distribution_due_at")
    await idle()
    assert buyers.received == [] and not await s.has_job(lead.lead_id)
    assert list((await s.bin()).leads) == []
    body = await status_json(http, lead.post_id)
    qc = body["QualityControlDetails"]
    assert (qc["PendingReview"], qc["IsQualityControlRejected"], qc["RejectionReason"]) == (
        False,
        True,
        "fake name",
    )
    assert qc["DateOfReview"] is not None
    assert body["IsValid"] is True  # the post was accepted; the review rejected the lead
    xml = await status_xml(http, lead.post_id)
    assert xml.findtext("QualityControlDetails/IsQualityControlRejected") == "true"
    assert xml.findtext("QualityControlDetails/RejectionReason") == "fake name"


async def test_a_review_is_final(shop: ShopFactory, buyers: BuyerServer) -> None:
    s = await shop([client("buyer", buyers)], qc=True)
    approved = await s.post(another(1))
    rejected = await s.post(another(2))
    await s.call("ApproveLead", Q.ApproveLeadRequest(lead_id=approved.lead_id))
    await s.call("RejectLead", Q.RejectLeadRequest(lead_id=rejected.lead_id, reason="junk"))

    again = await s.refused("ApproveLead", Q.ApproveLeadRequest(lead_id=approved.lead_id))
    undo = await s.refused("ApproveLead", Q.ApproveLeadRequest(lead_id=rejected.lead_id))
    flip = await s.refused(
        "RejectLead", Q.RejectLeadRequest(lead_id=approved.lead_id, reason="changed my mind")
    )

    assert again.code() == undo.code() == flip.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "was already approved" in (again.details() or "")
    assert "was rejected in QC review" in (undo.details() or "")
    assert "was already approved" in (flip.details() or "")
    await s.sold(approved.lead_id)
    assert len(await s.sends(approved.lead_id)) == 1  # approved once, distributed once


async def test_two_reviewers_at_once_make_one_review(
    shop: ShopFactory, buyers: BuyerServer, idle: Any
) -> None:
    s = await shop([client("buyer", buyers)], qc=True)
    lead = await s.post()
    outcomes = await asyncio.gather(
        *(s.call("ApproveLead", Q.ApproveLeadRequest(lead_id=lead.lead_id)) for _ in range(4)),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(refused) == 3
    assert {e.code() for e in refused} == {grpc.StatusCode.FAILED_PRECONDITION}
    await s.sold(lead.lead_id)
    await idle()
    assert len(await s.sends(lead.lead_id)) == 1 and len(buyers.of("buyer")) == 1


async def test_an_approved_no_sell_lead_leaves_the_bin_undistributed(
    shop: ShopFactory, buyers: BuyerServer, idle: Any
) -> None:
    s = await shop([client("buyer", buyers)], qc=True)
    lead = await s.post(no_sell=True)
    decision = await s.call("ApproveLead", Q.ApproveLeadRequest(lead_id=lead.lead_id))
    assert decision.approved and not decision.HasField("distribution_due_at")
    assert list((await s.bin()).leads) == []
    await idle()
    assert not await s.has_job(lead.lead_id) and buyers.received == []


async def test_a_lead_not_held_for_review_cannot_be_reviewed(
    shop: ShopFactory, buyers: BuyerServer
) -> None:
    s = await shop([client("buyer", buyers)], qc=False)
    lead = await s.post()
    error = await s.refused("ApproveLead", Q.ApproveLeadRequest(lead_id=lead.lead_id))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "is not in the QC bin" in (error.details() or "")


async def test_a_rejection_needs_a_reason(shop: ShopFactory, buyers: BuyerServer) -> None:
    s = await shop([client("buyer", buyers)], qc=True)
    lead = await s.post()
    error = await s.refused("RejectLead", Q.RejectLeadRequest(lead_id=lead.lead_id, reason=" "))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [x.lead_id for x in (await s.bin()).leads] == [lead.lead_id]


async def test_the_bin_is_listed_in_pages_and_by_campaign(
    shop: ShopFactory, buyers: BuyerServer
) -> None:
    s = await shop([client("buyer", buyers)], qc=True)
    posted = [(await s.post(another(i))).lead_id for i in range(3)]
    first = await s.bin(page_size=2)
    second = await s.bin(page_size=2, after_lead_id=first.next_after_lead_id)
    assert [x.lead_id for x in first.leads] == posted[:2]
    assert [x.lead_id for x in second.leads] == posted[2:] and second.next_after_lead_id == 0
    other_campaign = s.ids.campaigns["acme-auto-rev"]
    assert list((await s.bin(campaign_id=other_campaign)).leads) == []
    mine = await s.bin(campaign_id=s.ids.campaigns["acme-auto-web"])
    assert len(mine.leads) == 3
    error = await s.refused("ListQcLeads", Q.ListQcLeadsRequest(page_size=1001))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


# -- returns ------------------------------------------------------------------------------------


async def test_a_return_inside_the_window_shows_in_the_status_and_credits_the_buyer(
    shop: ShopFactory, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    s = await shop([client("buyer", buyers, price="20")], return_days=5)
    lead = await s.post()
    [sale] = await s.sold(lead.lead_id)
    assert (sale.HasField("returned_at"), sale.return_reason) == (False, "")
    await s.age_sale(sale.id, 4.9)
    before = await status_json(http, lead.post_id)
    assert before["ReturnDetails"] == {
        "IsReturned": False,
        "DateOfReturn": None,
        "ReturnReason": "",
    }

    answer = await s.call(
        "ReturnSend", Q.ReturnSendRequest(send_id=sale.id, reason="disconnected number")
    )

    [returned] = answer.sends
    assert (returned.send_id, returned.lead_id, returned.price, returned.reason) == (
        sale.id,
        lead.lead_id,
        "20",
        "disconnected number",
    )
    assert answer.return_days == 5 and answer.lead_returned
    listed = await s.call("ListReturns", Q.ListReturnsRequest())
    assert [(x.send_id, x.client_name, x.price) for x in listed.sends] == [
        (sale.id, "Buyer buyer", "20")
    ]
    body = await status_json(http, lead.post_id)
    details = body["ReturnDetails"]
    assert details["IsReturned"] is True and details["ReturnReason"] == "disconnected number"
    assert same_instant(details["DateOfReturn"], returned.returned_at)
    xml = await status_xml(http, lead.post_id)
    assert xml.tag == "LeadQueueResponse"
    assert {child.tag: child.text for child in xml.find("ReturnDetails") or []} == {
        "IsReturned": "true",
        "DateOfReturn": details["DateOfReturn"],
        "ReturnReason": "disconnected number",
    }
    [sent] = await s.sends(lead.lead_id)
    assert sent.valid  # the sale stays a sale, returned
    assert (sent.returned_at, sent.return_reason) == (returned.returned_at, "disconnected number")


async def test_a_return_after_the_window_is_refused(
    shop: ShopFactory, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    s = await shop([client("buyer", buyers)], return_days=5)
    lead = await s.post()
    [sale] = await s.sold(lead.lead_id)
    await s.age_sale(sale.id, 5.01)
    error = await s.refused("ReturnSend", Q.ReturnSendRequest(send_id=sale.id, reason="late"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "return window" in (error.details() or "") and "5 days" in (error.details() or "")
    assert (await status_json(http, lead.post_id))["ReturnDetails"]["IsReturned"] is False
    assert list((await s.call("ListReturns", Q.ListReturnsRequest())).sends) == []


async def test_a_campaign_without_return_days_takes_the_sources_default(
    shop: ShopFactory, buyers: BuyerServer
) -> None:
    s = await shop([client("buyer", buyers)], return_days=0, default_return_days=3)
    lead = await s.post()
    [sale] = await s.sold(lead.lead_id)
    answer = await s.call("ReturnSend", Q.ReturnSendRequest(send_id=sale.id, reason="dup"))
    assert answer.return_days == 3 and len(answer.sends) == 1


async def test_no_returns_without_any_return_days(shop: ShopFactory, buyers: BuyerServer) -> None:
    s = await shop([client("buyer", buyers)], return_days=0, default_return_days=0)
    lead = await s.post()
    [sale] = await s.sold(lead.lead_id)
    error = await s.refused("ReturnSend", Q.ReturnSendRequest(send_id=sale.id, reason="dup"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "accepts no returns" in (error.details() or "")


@pytest.mark.parametrize(("count_returns", "credit"), [(True, "12.5"), (False, "0")])
async def test_counting_returns_decides_the_sources_credit(
    shop: ShopFactory, buyers: BuyerServer, count_returns: bool, credit: str
) -> None:
    s = await shop([client("buyer", buyers)], return_days=5, count_returns=count_returns)
    lead = await s.post()
    [sale] = await s.sold(lead.lead_id)

    answer = await s.call(
        "ReturnSend",
        Q.ReturnSendRequest(
            lead_id=lead.lead_id, client_id=s.ids.clients["buyer"], reason="wrong state"
        ),
    )

    assert [x.send_id for x in answer.sends] == [sale.id]
    assert answer.lead_returned
    assert (answer.returned_to_source, answer.source_credit) == (count_returns, credit)
    async with s.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT price - source_credit AS owed FROM leads WHERE id = %s", [lead.lead_id]
        )
        row = await cursor.fetchone()
    assert str(row["owed"].normalize()) == ("0" if count_returns else "12.5")


async def test_a_second_return_of_a_sale_is_refused(shop: ShopFactory, buyers: BuyerServer) -> None:
    s = await shop([client("buyer", buyers)], return_days=5)
    lead = await s.post()
    [sale] = await s.sold(lead.lead_id)
    await s.call("ReturnSend", Q.ReturnSendRequest(send_id=sale.id, reason="first"))
    again = await s.refused("ReturnSend", Q.ReturnSendRequest(send_id=sale.id, reason="second"))
    by_buyer = await s.refused(
        "ReturnSend",
        Q.ReturnSendRequest(lead_id=lead.lead_id, client_id=s.ids.clients["buyer"], reason="x"),
    )
    assert again.code() == by_buyer.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "already returned" in (again.details() or "") and "(first)" in (again.details() or "")
    [listed] = (await s.call("ListReturns", Q.ListReturnsRequest())).sends
    assert listed.reason == "first"


async def test_only_a_sale_can_be_returned(shop: ShopFactory, buyers: BuyerServer) -> None:
    buyers.behave("picky", answer="rejected")
    s = await shop(
        [client("picky", buyers, price="50"), client("easy", buyers, price="10")], return_days=5
    )
    lead = await s.post()
    sends = await s.settled(lead.lead_id, 2)
    refused = next(x for x in sends if not x.valid)
    error = await s.refused("ReturnSend", Q.ReturnSendRequest(send_id=refused.id, reason="x"))
    never = await s.refused(
        "ReturnSend", Q.ReturnSendRequest(lead_id=lead.lead_id, client_id=999999, reason="x")
    )
    assert error.code() == never.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "not sold" in (error.details() or "")
    assert "never sent to buyer 999999" in (never.details() or "")


async def test_a_lead_sold_twice_is_returned_when_its_last_sale_is(
    shop: ShopFactory, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    s = await shop(
        [client(k, buyers, price=p) for k, p in (("x", "5"), ("y", "7"))],
        return_days=5,
        count_returns=True,
        max_sell=2,
    )
    lead = await s.post()
    first, second = await s.sold(lead.lead_id, 2)

    one = await s.call("ReturnSend", Q.ReturnSendRequest(send_id=first.id, reason="bad"))
    assert not one.lead_returned and one.source_credit == "0"
    assert (await status_json(http, lead.post_id))["ReturnDetails"]["IsReturned"] is False

    two = await s.call("ReturnSend", Q.ReturnSendRequest(send_id=second.id, reason="worse"))
    assert two.lead_returned and two.returned_to_source and two.source_credit == "12.5"
    details = (await status_json(http, lead.post_id))["ReturnDetails"]
    assert details["IsReturned"] is True and details["ReturnReason"] == "worse"
    listed = await s.call("ListReturns", Q.ListReturnsRequest(page_size=1))
    rest = await s.call(
        "ListReturns", Q.ListReturnsRequest(after_send_id=listed.next_after_send_id)
    )
    assert [x.send_id for x in [*listed.sends, *rest.sends]] == [first.id, second.id]


async def test_a_return_names_one_sale_or_a_lead_and_a_buyer(
    shop: ShopFactory, buyers: BuyerServer
) -> None:
    s = await shop([client("buyer", buyers)], return_days=5)
    lead = await s.post()
    [sale] = await s.sold(lead.lead_id)
    both = await s.refused(
        "ReturnSend", Q.ReturnSendRequest(send_id=sale.id, lead_id=lead.lead_id, reason="x")
    )
    neither = await s.refused("ReturnSend", Q.ReturnSendRequest(lead_id=lead.lead_id, reason="x"))
    no_reason = await s.refused("ReturnSend", Q.ReturnSendRequest(send_id=sale.id))
    codes = {both.code(), neither.code(), no_reason.code()}
    assert codes == {grpc.StatusCode.INVALID_ARGUMENT}


# -- accounts -----------------------------------------------------------------------------------


async def test_another_accounts_leads_and_sends_are_not_found(
    shop: ShopFactory, buyers: BuyerServer
) -> None:
    mine = await shop([client("a", buyers)], qc=True, return_days=5)
    theirs = await shop([client("b", buyers)], qc=True, return_days=5)
    held = await mine.post(another(1))
    sold = await mine.post(another(2))
    await mine.call("ApproveLead", Q.ApproveLeadRequest(lead_id=sold.lead_id))
    [sale] = await mine.sold(sold.lead_id)
    client_id = mine.ids.clients["a"]

    errors = [
        await theirs.refused("ApproveLead", Q.ApproveLeadRequest(lead_id=held.lead_id)),
        await theirs.refused(
            "RejectLead", Q.RejectLeadRequest(lead_id=held.lead_id, reason="mine now")
        ),
        await theirs.refused("ReturnSend", Q.ReturnSendRequest(send_id=sale.id, reason="x")),
        await theirs.refused(
            "ReturnSend",
            Q.ReturnSendRequest(lead_id=sold.lead_id, client_id=client_id, reason="x"),
        ),
    ]

    assert [e.code() for e in errors] == [grpc.StatusCode.NOT_FOUND] * 4
    assert list((await theirs.bin()).leads) == []
    assert [x.lead_id for x in (await mine.bin()).leads] == [held.lead_id]
    assert list((await theirs.call("ListReturns", Q.ListReturnsRequest())).sends) == []
    assert (await mine.sends(sold.lead_id))[0].valid
    await mine.call("ReturnSend", Q.ReturnSendRequest(send_id=sale.id, reason="still mine"))


async def test_an_approved_lead_keeps_the_account_types_its_endpoint_sells_to(
    shop: ShopFactory, buyers: BuyerServer
) -> None:
    """A lead posted for a live transfer and held for QC goes, once approved, only to live
    transfer accounts: the types are kept on the lead, not only on its job."""
    s = await shop(
        [
            client("desk", buyers, price="90"),
            client("agents", buyers, price="10", account_type="live_transfer"),
        ],
        qc=True,
    )
    request = leads_pb2.SubmitLeadsRequest(
        credentials=leads_pb2.Credentials(
            vid=str(s.ids.sources["acme-media"]),
            lid=str(s.ids.lead_types["auto-insurance"]),
            aid=str(s.ids.campaigns["acme-auto-web"]),
            password="acme-secret",
        ),
        leads=[
            leads_pb2.LeadInput(
                fields=[leads_pb2.FieldValue(name=k, value=v) for k, v in another(1).items()]
            )
        ],
        sale_kind=leads_pb2.SALE_KIND_LIVE_TRANSFER,
    )
    async with grpc.aio.insecure_channel(s.address) as channel:
        answer = await leads_pb2_grpc.LeadServiceStub(channel).SubmitLeads(request)
    lead_id = answer.results[0].lead_id
    assert answer.results[0].pending_qc_review
    await s.call("ApproveLead", Q.ApproveLeadRequest(lead_id=lead_id))
    [sale] = await s.sold(lead_id)
    assert sale.client_name == "Buyer agents"
    assert "this lead was posted for LiveTransfer accounts only" in await s.scan_log(lead_id)
