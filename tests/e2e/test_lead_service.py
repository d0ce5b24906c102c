"""LeadService through a real gRPC channel: identity, screening, caps, duplicates, post log."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import grpc
import pytest
from leadrouter.v1 import admin_pb2, catalog_pb2, leads_pb2, leads_pb2_grpc

from clients.client import struct
from server.adapters.delivery import Transports
from server.bootstrap import servicers
from server.rpc.app import create_server
from server.services.distribution.engine import Distributor
from server.storage.database import open_pool

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "acme.json").read_text())
R = leads_pb2.ResponseType
GOOD = {
    "FirstName": "Ann",
    "LastName": "Lee",
    "Email": "ann@example.com",
    "Phone": "(702) 555-0100",
    "Zip": "89101",
    "Age": "30",
}


class Acme:
    """The example config applied to a fresh account, and a way to post to it."""

    def __init__(self, address: str, key: str, ids: admin_pb2.ApplyConfigResponse) -> None:
        self.address, self.key = address, key
        self.vid = str(ids.sources["acme-media"])
        self.lid = str(ids.lead_types["auto-insurance"])
        self.web = str(ids.campaigns["acme-auto-web"])
        self.rev = str(ids.campaigns["acme-auto-rev"])

    def request(self, fields: dict[str, str] | None = None, **credentials: str) -> Any:
        values = {"vid": self.vid, "lid": self.lid, "aid": self.web, "password": "acme-secret"}
        values.update(credentials)
        lead = leads_pb2.LeadInput(
            fields=[leads_pb2.FieldValue(name=k, value=v) for k, v in (fields or GOOD).items()]
        )
        return leads_pb2.SubmitLeadsRequest(
            credentials=leads_pb2.Credentials(**values),
            leads=[lead],
            request_format="urlencoded",
            raw_request=b"raw body",
            remote_ip="127.0.0.1",
        )

    async def post(self, fields: dict[str, str] | None = None, **credentials: str) -> Any:
        return (await self.submit(self.request(fields, **credentials))).results[0]

    async def submit(self, request: Any, address: str | None = None) -> Any:
        async with grpc.aio.insecure_channel(address or self.address) as channel:
            return await leads_pb2_grpc.LeadServiceStub(channel).SubmitLeads(request)


@pytest.fixture
async def acme(grpc_address: str, new_account: Any, stub_for: Any) -> Acme:
    tenant = await new_account("Acme tenant")
    async with stub_for(tenant.api_key) as stub:
        ids = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(EXAMPLE)))
    return Acme(grpc_address, tenant.api_key, ids)


async def lead_row(pool: Any, lead_id: int) -> dict[str, Any]:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT * FROM leads WHERE id = %s", [lead_id])
        row = await cursor.fetchone()
    assert row is not None
    return dict(row)


async def test_a_good_lead_is_accepted_priced_and_stored(acme: Acme, pool: Any) -> None:
    result = await acme.post()
    assert (result.response_type, result.is_valid_post) == (R.NO_ERROR, True)
    assert result.lead_id > 0 and result.campaign_id == int(acme.web)
    assert result.price == "12.50"
    row = await lead_row(pool, result.lead_id)
    assert row["fields"]["Phone"] == "7025550100"
    assert (row["fields"]["City"], row["fields"]["State"]) == ("Las Vegas", "NV")


async def test_bad_fields_are_all_named(acme: Acme) -> None:
    result = await acme.post({"Email": "nope", "Zip": "1", "Age": "x"})
    assert result.response_type == R.DATA_ERRORS and not result.is_valid_post
    for name in ("FirstName", "LastName", "Email", "Phone", "Zip", "Age"):
        assert name in result.response_details


async def test_a_lead_outside_the_rules_is_refused(acme: Acme) -> None:
    result = await acme.post({**GOOD, "Age": "17"})
    assert result.response_type == R.OUTSIDE_CRITERIA and "Age=17" in result.response_details


@pytest.mark.parametrize(
    ("credentials", "expected"),
    [
        ({"vid": ""}, R.VENDOR_ID_MISSING),
        ({"vid": "abc"}, R.VENDOR_ID_MISSING),
        ({"vid": "987654"}, R.VENDOR_ID_MISSING),
        ({"lid": ""}, R.LEAD_TYPE_ID_MISSING),
        ({"lid": "987654"}, R.LEAD_TYPE_ID_MISSING),
        ({"aid": "987654"}, R.NO_ACCOUNT_FOUND),
        ({"password": "wrong"}, R.NO_ACCOUNT_FOUND),
        ({"password": ""}, R.NO_ACCOUNT_FOUND),
        ({"aid": ""}, R.NO_ACCOUNT_FOUND),  # the source has two active campaigns
    ],
)
async def test_identity_failures_map_to_their_response_type(
    acme: Acme, credentials: dict[str, str], expected: int
) -> None:
    result = await acme.post(**credentials)
    assert result.response_type == expected and result.lead_id == 0
    assert result.post_id


async def test_the_source_api_key_replaces_the_password(acme: Acme, stub_for: Any) -> None:
    async with stub_for(acme.key) as stub:
        made = await stub.CreateSourceKey(
            admin_pb2.CreateSourceKeyRequest(source_id=int(acme.vid), name="web")
        )
    result = await acme.post(password="", api_key=made.secret)
    assert result.response_type == R.NO_ERROR


async def test_another_sources_key_is_refused(acme: Acme, stub_for: Any) -> None:
    async with stub_for(acme.key) as stub:
        other = await stub.CreateSource(
            admin_pb2.CreateSourceRequest(source=catalog_pb2.Source(name="Other"))
        )
        made = await stub.CreateSourceKey(admin_pb2.CreateSourceKeyRequest(source_id=other.id))
    result = await acme.post(password="", api_key=made.secret)
    assert result.response_type == R.NO_ACCOUNT_FOUND


async def test_a_disabled_campaign_is_account_disabled(acme: Acme, stub_for: Any) -> None:
    disabled = json.loads(json.dumps(EXAMPLE))
    disabled["sources"][0]["campaigns"][0]["status"] = "disabled"
    async with stub_for(acme.key) as stub:
        await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(disabled)))
    assert (await acme.post()).response_type == R.ACCOUNT_DISABLED


async def test_the_same_lead_twice_is_a_duplicate(acme: Acme) -> None:
    first = await acme.post()
    second = await acme.post({**GOOD, "Email": "ANN@example.com ", "FirstName": "Annie"})
    assert first.response_type == R.NO_ERROR
    assert second.response_type == R.DUPLICATE_LEAD
    assert str(first.lead_id) in second.response_details


async def test_two_identical_leads_at_once_give_one_lead(acme: Acme) -> None:
    results = await asyncio.gather(*(acme.post() for _ in range(2)))
    assert sorted(r.response_type for r in results) == [R.NO_ERROR, R.DUPLICATE_LEAD]


async def test_a_day_cap_of_five_takes_exactly_five_of_fifty_across_two_servers(
    acme: Acme, database_url: str
) -> None:
    other_pool = await open_pool(database_url, max_size=4)
    engine = Distributor(other_pool, Transports(allow_private=True))
    try:
        async with servicers(other_pool, engine) as built:
            other = await create_server(built, "127.0.0.1:0")
            requests = [
                acme.request(
                    {**GOOD, "Email": f"person{i}@example.com", "Phone": f"702555{i:04d}"},
                    aid=acme.rev,
                    password="acme-secret-2",
                )
                for i in range(50)
            ]
            addresses = [acme.address, f"127.0.0.1:{other.port}"]
            try:
                responses = await asyncio.gather(
                    *(acme.submit(r, addresses[i % 2]) for i, r in enumerate(requests))
                )
            finally:
                await other.server.stop(None)
    finally:
        await other_pool.close()
    counts = Counter(r.results[0].response_type for r in responses)
    assert counts == {R.NO_ERROR: 5, R.POST_OVER_MAX: 45}


async def test_several_leads_are_answered_in_order(acme: Acme) -> None:
    request = acme.request()
    bad = leads_pb2.LeadInput(fields=[leads_pb2.FieldValue(name="Email", value="x")])
    request.leads.append(bad)
    response = await acme.submit(request)
    assert [r.response_type for r in response.results] == [R.NO_ERROR, R.DATA_ERRORS]
    assert len({r.post_id for r in response.results}) == 2


async def test_an_unreadable_body_is_data_errors_and_logged(acme: Acme, pool: Any) -> None:
    request = acme.request()
    del request.leads[:]
    request.parse_error = "XML error at line 1, column 5: mismatched tag"
    result = (await acme.submit(request)).results[0]
    assert result.response_type == R.DATA_ERRORS and "line 1, column 5" in result.response_details
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT response_type FROM posts WHERE id = %s", [result.post_id]
        )
        assert (await cursor.fetchone())["response_type"] == R.DATA_ERRORS


async def test_every_post_is_logged_with_its_steps(acme: Acme, pool: Any) -> None:
    accepted = await acme.post()
    refused = await acme.post({**GOOD, "Age": "12", "Email": "kid@example.com"})
    unknown = await acme.post(vid="987654")
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT id::text, account_id, is_valid, request_body, steps FROM posts"
        )
        rows = {r["id"]: r for r in await cursor.fetchall()}
    assert rows[accepted.post_id]["is_valid"] and not rows[refused.post_id]["is_valid"]
    assert rows[refused.post_id]["request_body"] == b"raw body"
    assert rows[unknown.post_id]["account_id"] == 0
    names = [s["name"] for s in rows[accepted.post_id]["steps"]]
    assert names[:2] == ["identify", "validate_fields"] and names[-1] == "store"
    assert "campaign_rules" in [s["name"] for s in rows[refused.post_id]["steps"]]


async def test_the_status_of_a_post(acme: Acme) -> None:
    accepted = await acme.post()
    refused = await acme.post({**GOOD, "Age": "12", "Email": "kid@example.com"})
    async with grpc.aio.insecure_channel(acme.address) as channel:
        stub = leads_pb2_grpc.LeadServiceStub(channel)
        good = await stub.GetPostStatus(leads_pb2.GetPostStatusRequest(post_id=accepted.post_id))
        bad = await stub.GetPostStatus(leads_pb2.GetPostStatusRequest(post_id=refused.post_id))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetPostStatus(leads_pb2.GetPostStatusRequest(post_id="nope"))
    assert (good.is_valid, good.lead_id, good.price) == (True, accepted.lead_id, "12.5")
    assert good.HasField("date_received") and not good.is_returned
    assert not bad.is_valid and "Age=12" in bad.rejection_reason
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_source_of_another_account_cannot_post_into_this_campaign(
    acme: Acme, new_account: Any, stub_for: Any
) -> None:
    stranger = await new_account("Stranger")
    async with stub_for(stranger.api_key) as stub:
        mine = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(EXAMPLE)))
    result = await acme.post(vid=str(mine.sources["acme-media"]), password="acme-secret")
    assert result.response_type in (R.LEAD_TYPE_ID_MISSING, R.NO_ACCOUNT_FOUND)
    assert result.lead_id == 0


async def test_leads_are_found_by_reference_within_the_account(
    acme: Acme, stub_for: Any, new_account: Any
) -> None:
    request = acme.request()
    request.leads[0].reference = "batch-42"
    request.leads[0].no_sell = True
    posted = (await acme.submit(request)).results[0]
    async with stub_for(acme.key) as stub:
        found = await stub.FindLeads(admin_pb2.FindLeadsRequest(reference="batch-42"))
        none = await stub.FindLeads(admin_pb2.FindLeadsRequest(reference="batch-43"))
    assert [(lead.id, lead.no_sell, lead.price) for lead in found.leads] == [
        (posted.lead_id, True, "12.5")
    ]
    assert not none.leads
    stranger = await new_account("Stranger")
    async with stub_for(stranger.api_key) as stub:
        theirs = await stub.FindLeads(admin_pb2.FindLeadsRequest(reference="batch-42"))
    assert not theirs.leads
