"""Site visits through the real wire: the receiver's pixel and beacon over HTTP, the visit
service over gRPC, a lead posted with its visit id, and service.asmx's two methods through
zeep on the served WSDL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import httpx
import pytest
from leadrouter.v1 import admin_pb2, visits_pb2, visits_pb2_grpc

from clients.client import struct, visits_async
from server.bootstrap import receiver
from server.config import Settings
from server.rpc.app import Served
from tests.e2e.conftest import EXAMPLE
from tests.support.soap import fault, soap

V = visits_pb2
PACIFIC = ZoneInfo("America/Los_Angeles")
FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
FIELDS = {
    "FirstName": "Ann",
    "LastName": "Lee",
    "Email": "ann@example.com",
    "Phone": "702-555-0100",
    "Zip": "89101",
    "Age": "30",
}


@dataclass(frozen=True)
class Site:
    key: str
    tracking_id: int
    post: dict[str, str]  # what its lead source posts with


@pytest.fixture
async def site(new_account: Any, stub_for: Any, grpc_address: str) -> Site:
    made = await new_account()
    async with stub_for(made.api_key) as stub:
        applied = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(EXAMPLE)))
    async with visits_async(grpc_address, made.api_key) as visits:
        tracking = await visits.CreateTracking(V.CreateTrackingRequest(name="acme.example"))
    post = {
        "vid": str(applied.sources["acme-media"]),
        "lid": str(applied.lead_types["auto-insurance"]),
        "aid": str(applied.campaigns["acme-auto-web"]),
        "password": "acme-secret",
    }
    return Site(made.api_key, tracking.id, post)


@pytest.fixture(params=["network", "in_process"])
async def http(request: Any, served: Served) -> AsyncIterator[httpx.AsyncClient]:
    settings = replace(Settings(), receiver_address="127.0.0.1:0")
    target = f"127.0.0.1:{served.port}" if request.param == "network" else served.local
    async with (
        receiver(settings, target) as address,
        httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as client,
    ):
        yield client


async def _visit(grpc_address: str, key: str, visit_id: str) -> V.Visit:
    async with visits_async(grpc_address, key) as visits:
        found: V.Visit = await visits.GetVisit(V.GetVisitRequest(visit_id=visit_id))
        return found


async def test_tracking_settings_are_the_accounts_own(
    site: Site, grpc_address: str, new_account: Any
) -> None:
    async with visits_async(grpc_address, site.key) as visits:
        listed = await visits.ListTrackings(V.ListTrackingsRequest())
    assert [(t.id, t.name) for t in listed.trackings] == [(site.tracking_id, "acme.example")]
    other = await new_account("Other")
    async with visits_async(grpc_address, other.api_key) as visits:
        assert not (await visits.ListTrackings(V.ListTrackingsRequest())).trackings
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await visits.GetVisit(V.GetVisitRequest(visit_id="anything"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_reading_visits_needs_the_accounts_key(grpc_address: str, site: Site) -> None:
    async with grpc.aio.insecure_channel(grpc_address) as channel:
        stub = visits_pb2_grpc.VisitServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.GetVisit(V.GetVisitRequest(visit_id="x"))
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        recorded = await stub.RecordVisit(
            V.RecordVisitRequest(tracking_id=site.tracking_id, page_url="https://a.example/")
        )
    assert recorded.recorded and recorded.visit_id


async def test_the_pixel_records_page_views_of_a_visit(
    http: httpx.AsyncClient, site: Site, grpc_address: str
) -> None:
    first = await http.get(
        "/track/pixel.gif",
        params={
            "t": site.tracking_id,
            "v": "page-made-1",
            "r": "https://www.bing.com/search?q=cheap+car+insurance",
        },
        headers={"referer": "https://acme.example/landing?src=ad", "user-agent": FIREFOX},
    )
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/gif"
    assert first.content.startswith(b"GIF89a") and len(first.content) == 43
    assert "no-store" in first.headers["cache-control"]
    assert first.headers["x-visit-id"] == "page-made-1"
    again = await http.get(
        "/Track/Pixel.GIF",
        params={
            "TrackingUID": site.tracking_id,
            "VisitID": "page-made-1",
            "url": "https://acme.example/quote",
        },
    )
    assert again.status_code == 200 and again.headers["x-visit-id"] == "page-made-1"
    visit = await _visit(grpc_address, site.key, "page-made-1")
    assert (visit.tracking_id, visit.page_views, visit.first_visit) == (site.tracking_id, 2, True)
    assert (visit.url, visit.host, visit.enter_page, visit.exit_page) == (
        "https://acme.example/landing?src=ad",
        "acme.example",
        "/landing",
        "/quote",
    )
    assert (visit.referrer_host, visit.search_engine, visit.search_term) == (
        "www.bing.com",
        "Bing",
        "cheap car insurance",
    )
    assert (visit.browser, visit.os, visit.user_agent) == ("Firefox 121", "Ubuntu", FIREFOX)
    assert visit.ip == "127.0.0.1"


async def test_a_pixel_without_a_visit_id_gets_a_new_one(
    http: httpx.AsyncClient, site: Site, grpc_address: str
) -> None:
    answer = await http.get(
        "/track/pixel.gif", params={"t": site.tracking_id, "u": "https://a.example/"}
    )
    made = answer.headers["x-visit-id"]
    assert len(made) == 32
    assert (await _visit(grpc_address, site.key, made)).page_views == 1


@pytest.mark.parametrize("tracking", ["424242424242", "not-a-number", ""])
async def test_an_unknown_tracking_id_still_gets_its_pixel_and_records_nothing(
    http: httpx.AsyncClient, site: Site, grpc_address: str, tracking: str
) -> None:
    answer = await http.get("/track/pixel.gif", params={"t": tracking, "v": "ghost-visit"})
    assert answer.status_code == 200 and answer.content.startswith(b"GIF89a")
    assert "x-visit-id" not in answer.headers
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await _visit(grpc_address, site.key, "ghost-visit")
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_the_beacon_answers_the_visit_id_and_moves_the_visit_on(
    http: httpx.AsyncClient, site: Site, grpc_address: str
) -> None:
    body = {"trackingId": site.tracking_id, "url": "https://acme.example/", "visitorId": "b-1"}
    # sendBeacon's text/plain: no CORS preflight
    answer = await http.post(
        "/track/visit", content=json.dumps(body), headers={"content-type": "text/plain"}
    )
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "*"
    visit_id = answer.json()["visitId"]
    form = {"t": str(site.tracking_id), "v": visit_id, "u": "https://acme.example/thanks"}
    moved = await http.post("/TRACK/visit", data=form)
    assert moved.json() == {"visitId": visit_id}
    visit = await _visit(grpc_address, site.key, visit_id)
    assert (visit.page_views, visit.exit_page, visit.first_visit) == (2, "/thanks", True)
    later = await http.post("/track/visit", json={**body, "url": "https://acme.example/back"})
    assert not (await _visit(grpc_address, site.key, later.json()["visitId"])).first_visit


async def test_the_beacon_says_when_it_recorded_nothing(http: httpx.AsyncClient) -> None:
    unknown = await http.post("/track/visit", json={"trackingId": 424242424242})
    assert unknown.status_code == 204 and unknown.content == b""
    broken = await http.post(
        "/track/visit", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400
    preflight = await http.options("/track/visit")
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["access-control-allow-methods"]
    too_large = await http.post("/track/visit", content=b"u=" + b"x" * 20_000)
    assert too_large.status_code == 413


async def test_a_lead_posted_with_its_visit_id_is_linked_to_the_visit(
    http: httpx.AsyncClient, site: Site, grpc_address: str
) -> None:
    await http.get(
        "/track/pixel.gif",
        params={"t": site.tracking_id, "v": "v-lead-1", "u": "https://acme.example/form"},
    )
    posted = await http.post(
        "/processor/insert/general/json", data={**site.post, **FIELDS, "VisitID": "v-lead-1"}
    )
    assert posted.json()["ResponseType"] == "No_Error"
    lead_id = posted.json()["LeadIdentifier"]
    document = {
        "source": site.post,
        "leads": [
            {"properties": {"visitId": "v-lead-2"}, "fields": {**FIELDS, "Email": "b@example.com"}}
        ],
    }
    second = await http.post("/processor/insert/general/json", json=document)
    assert second.json()["ResponseType"] == "No_Error"
    async with visits_async(grpc_address, site.key) as visits:
        linked = await visits.GetLeadVisits(V.GetLeadVisitsRequest(lead_id=lead_id))
        assert [(v.visit_id, v.exit_page) for v in linked.visits] == [("v-lead-1", "/form")]
        # linked before its visit is recorded: found once the beacon comes
        other = V.GetLeadVisitsRequest(lead_id=second.json()["LeadIdentifier"])
        assert not (await visits.GetLeadVisits(other)).visits
        await visits.RecordVisit(
            V.RecordVisitRequest(tracking_id=site.tracking_id, visit_id="v-lead-2")
        )
        assert [v.visit_id for v in (await visits.GetLeadVisits(other)).visits] == ["v-lead-2"]
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await visits.GetLeadVisits(V.GetLeadVisitsRequest(lead_id=999_999_999))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_visit_id_is_not_a_lead_field(
    http: httpx.AsyncClient, site: Site, pool: Any
) -> None:
    posted = await http.post(
        "/processor/insert/general/json", data={**site.post, **FIELDS, "visit_id": "v-9"}
    )
    lead_id = posted.json()["LeadIdentifier"]
    async with pool.connection() as conn:
        row = await (
            await conn.execute("SELECT fields FROM leads WHERE id = %s", (lead_id,))
        ).fetchone()
    assert not any(name.lower().startswith("visit") for name in row["fields"])


# -- service.asmx


async def test_soap_site_visit_for_a_visit_id_has_every_property(
    soap_client: Any, site: Site, grpc_address: str
) -> None:
    async with visits_async(grpc_address, site.key) as visits:
        await visits.RecordVisit(
            V.RecordVisitRequest(
                tracking_id=site.tracking_id,
                visit_id="soap-visit",
                page_url="https://acme.example/in?x=1",
                referrer="https://duckduckgo.com/?q=term+life",
                remote_ip="198.51.100.7",
                user_agent=FIREFOX,
            )
        )
        await visits.RecordVisit(
            V.RecordVisitRequest(
                tracking_id=site.tracking_id,
                visit_id="soap-visit",
                page_url="https://acme.example/out",
            )
        )
    stored = await _visit(grpc_address, site.key, "soap-visit")
    found = await soap(
        soap_client, "GetSiteVisitInformationForVisitId", key=site.key, visitId="soap-visit"
    )
    assert found.TrackingUID == site.tracking_id and found.VisitUID == "soap-visit"
    assert (found.URL, found.Host, found.EnterPage, found.ExitPage) == (
        "https://acme.example/in?x=1",
        "acme.example",
        "/in",
        "/out",
    )
    assert (found.Referrer, found.ReferrerHost) == (
        "https://duckduckgo.com/?q=term+life",
        "duckduckgo.com",
    )
    assert (found.SearchEngine, found.SearchTerm) == ("DuckDuckGo", "term life")
    assert (found.UserAgent, found.IP, found.Browser, found.OS) == (
        FIREFOX,
        "198.51.100.7",
        "Firefox 121",
        "Ubuntu",
    )
    assert (found.PageViews, found.FirstVisit) == (2, True)
    entered = stored.enter_date.ToDatetime(tzinfo=UTC).astimezone(PACIFIC).replace(tzinfo=None)
    exited = stored.exit_date.ToDatetime(tzinfo=UTC).astimezone(PACIFIC).replace(tzinfo=None)
    assert (found.EnterDate.replace(tzinfo=None), found.ExitDate.replace(tzinfo=None)) == (
        entered,
        exited,
    )
    assert isinstance(found.EnterDate, datetime)
    missing = await fault(
        soap_client, "GetSiteVisitInformationForVisitId", key=site.key, visitId="nope"
    )
    assert missing.code.endswith("Client")


async def test_soap_site_visit_for_a_lead(
    soap_client: Any, site: Site, http: httpx.AsyncClient
) -> None:
    await http.get(
        "/track/pixel.gif",
        params={"t": site.tracking_id, "v": "soap-lead", "u": "https://acme.example/f"},
    )
    posted = await http.post(
        "/processor/insert/general/json", data={**site.post, **FIELDS, "VisitID": "soap-lead"}
    )
    lead_id = posted.json()["LeadIdentifier"]
    found = await soap(soap_client, "GetSiteVisitInformationForLead", key=site.key, leadUid=lead_id)
    assert (found.VisitUID, found.TrackingUID, found.EnterPage) == (
        "soap-lead",
        site.tracking_id,
        "/f",
    )
    plain = await http.post(
        "/processor/insert/general/json", data={**site.post, **FIELDS, "Email": "c@example.com"}
    )
    none = await fault(
        soap_client,
        "GetSiteVisitInformationForLead",
        key=site.key,
        leadUid=plain.json()["LeadIdentifier"],
    )
    assert none.code.endswith("Client") and "no site visit" in none.message
    refused = await fault(
        soap_client, "GetSiteVisitInformationForLead", key="wrong-key", leadUid=lead_id
    )
    assert refused.code.endswith("Client")
    # a key gRPC metadata cannot carry is refused as any malformed key
    odd = await fault(soap_client, "GetSiteVisitInformationForLead", key="Ø5j", leadUid=lead_id)
    assert odd.code.endswith("Client") and odd.message == "the API key is malformed"


async def test_soap_an_id_no_visit_can_have_is_not_found(soap_url: str, site: Site) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.get(
            f"{soap_url}/GetSiteVisitInformationForVisitId",
            params={"key": site.key, "visitId": "bad\x00id"},
        )
    assert answer.status_code == 404 and "no visit" in answer.text
