"""The legacy receiver over real HTTP: the three request forms, responses, limits, status."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from leadrouter.v1 import admin_pb2

from clients.client import struct
from gateways.receiver.http_server import MAX_HEAD_BYTES
from server.bootstrap import receiver
from server.config import Settings
from server.rpc.app import Served

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "acme.json").read_text())
FIELDS = {
    "FirstName": "Ann",
    "LastName": "Lee",
    "Email": "ann@example.com",
    "Phone": "702-555-0100",
    "Zip": "89101",
    "Age": "30",
}
SMALL_BODY = 4096


@pytest.fixture(params=["network", "in_process"])
async def http(request: Any, served: Served) -> AsyncIterator[httpx.AsyncClient]:
    """The receiver calling the lead service over a loopback gRPC connection (as one served
    alone does), or in this process (as one served beside it does): the same answers."""
    settings = replace(Settings(), receiver_address="127.0.0.1:0", max_body_bytes=SMALL_BODY)
    target = f"127.0.0.1:{served.port}" if request.param == "network" else served.local
    async with (
        receiver(settings, target) as address,
        httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as client,
    ):
        yield client


def credentials(ids: dict[str, str]) -> dict[str, str]:
    return {k: ids[k] for k in ("vid", "lid", "aid", "password")}


def xml_body(ids: dict[str, str], *leads: dict[str, str]) -> str:
    attrs = " ".join(f'{k}="{v}"' for k, v in credentials(ids).items())
    items = "".join(
        "<Lead>" + "".join(f"<{k}>{v}</{k}>" for k, v in lead.items()) + "</Lead>" for lead in leads
    )
    return f'<?xml version="1.0"?><Leads {attrs}>{items}</Leads>'


async def test_a_url_encoded_lead_is_accepted(http: httpx.AsyncClient, ids: Any) -> None:
    answer = await http.post("/processor/insert/general/json", data={**credentials(ids), **FIELDS})
    body = answer.json()
    assert answer.status_code == 200
    assert list(body) == [
        "PostID",
        "isValidPost",
        "ResponseType",
        "ResponseDetails",
        "LeadIdentifier",
        "VendorAccountAssigned",
        "PendingQCReview",
        "Price",
        "RedirectURL",
        "StatusURL",
    ]
    assert (body["isValidPost"], body["ResponseType"], body["Price"]) == (True, "No_Error", 12.5)
    assert (
        body["StatusURL"] == f"{str(http.base_url).rstrip('/')}/information/status/{body['PostID']}"
    )


async def test_credentials_may_come_in_the_query_string(http: httpx.AsyncClient, ids: Any) -> None:
    answer = await http.post("/processor/insert/general/json", params=credentials(ids), data=FIELDS)
    assert answer.json()["ResponseType"] == "No_Error"


async def test_a_json_lead_is_accepted(http: httpx.AsyncClient, ids: Any) -> None:
    document = {
        "source": {k: int(v) if v.isdigit() else v for k, v in credentials(ids).items()},
        "leads": [{"properties": {"reference": "ref-1"}, "fields": {**FIELDS, "Age": 30}}],
    }
    answer = await http.post("/processor/insert/general/json", json=document)
    assert answer.json()["ResponseType"] == "No_Error"


async def test_an_xml_lead_without_a_response_type_is_answered_in_xml(
    http: httpx.AsyncClient, ids: Any
) -> None:
    answer = await http.post(
        "/processor/insert/general",
        content=xml_body(ids, FIELDS),
        headers={"content-type": "application/xml"},
    )
    assert answer.headers["content-type"].startswith("application/xml")
    assert (
        "<PostResponse " in answer.text and "<ResponseType>No_Error</ResponseType>" in answer.text
    )


async def test_several_xml_leads_are_answered_in_order(http: httpx.AsyncClient, ids: Any) -> None:
    second = {**FIELDS, "Email": "bob@example.com", "Phone": "7025550199", "Age": "12"}
    answer = await http.post(
        "/processor/insert/general/json",
        content=xml_body(ids, FIELDS, second),
        headers={"content-type": "text/xml"},
    )
    assert [r["ResponseType"] for r in answer.json()] == ["No_Error", "Outside_Criteria"]


async def test_a_json_body_sent_as_plain_text_is_still_read(
    http: httpx.AsyncClient, ids: Any
) -> None:
    document = {"source": credentials(ids), "leads": [{"fields": FIELDS}]}
    answer = await http.post(
        "/processor/insert/general/json",
        content=json.dumps(document),
        headers={"content-type": "text/plain"},
    )
    assert answer.json()["ResponseType"] == "No_Error"


async def test_missing_fields_are_named_in_data_errors(http: httpx.AsyncClient, ids: Any) -> None:
    answer = await http.post("/processor/insert/general/json", data=credentials(ids))
    body = answer.json()
    assert (body["isValidPost"], body["ResponseType"]) == (False, "Data_Errors")
    assert "FirstName" in body["ResponseDetails"] and "Email" in body["ResponseDetails"]


async def test_the_source_api_key_replaces_the_password(http: httpx.AsyncClient, ids: Any) -> None:
    data = {**credentials(ids), **FIELDS}
    del data["password"]
    answer = await http.post(
        "/processor/insert/general/json",
        data=data,
        headers={"authorization": f"Bearer {ids['source_key']}"},
    )
    assert answer.json()["ResponseType"] == "No_Error"


async def test_a_field_holding_nul_is_a_logged_data_error(
    http: httpx.AsyncClient, ids: Any
) -> None:
    """PostgreSQL text cannot hold NUL: the lead is refused by name, not lost in a 503."""
    data = {**credentials(ids), **FIELDS, "FirstName": "An\x00n", "reference": "r\x00"}
    answer = await http.post("/processor/insert/general/json", data=data)
    body = answer.json()
    assert (answer.status_code, body["ResponseType"]) == (200, "Data_Errors")
    assert body["ResponseDetails"] == (
        "Invalid or missing fields: FirstName: holds a NUL character; "
        "reference: holds a NUL character"
    )
    status = (await http.get(f"/information/status/{body['PostID']}")).json()
    assert status["RejectionReason"] == body["ResponseDetails"]


async def test_malformed_json_gets_data_errors_with_its_position(
    http: httpx.AsyncClient, ids: Any
) -> None:
    answer = await http.post(
        "/processor/insert/general/json",
        params=credentials(ids),
        content='{"leads": [',
        headers={"content-type": "application/json"},
    )
    body = answer.json()
    assert body["ResponseType"] == "Data_Errors" and "line 1, column" in body["ResponseDetails"]


async def test_an_entity_bomb_is_refused(http: httpx.AsyncClient, ids: Any) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
        + "]><Leads><Lead><FirstName>&lol9;</FirstName></Lead></Leads>"
    ).replace("&lol0;", "&lol;")
    answer = await http.post(
        "/processor/insert/general/xml",
        params=credentials(ids),
        content=bomb,
        headers={"content-type": "application/xml"},
    )
    assert "<ResponseType>Data_Errors</ResponseType>" in answer.text
    assert "not allowed" in answer.text


async def test_a_body_over_the_cap_gets_413_in_the_legacy_format(http: httpx.AsyncClient) -> None:
    answer = await http.post(
        "/processor/insert/general/json", data={"Comments": "x" * (SMALL_BODY + 1)}
    )
    assert answer.status_code == 413
    assert answer.json()["ResponseType"] == "Data_Errors"


async def _raw_exchange(address: str, chunks: list[bytes]) -> bytes:
    """Writes these chunks one by one on a fresh connection; everything read until it closes
    (or 10 s pass)."""
    host, port = address.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
        async with asyncio.timeout(10):
            return await reader.read(-1)
    except ConnectionResetError:  # the server hung up while we were still writing
        return b""
    finally:
        writer.close()


async def test_a_head_over_the_cap_gets_431_and_the_receiver_goes_on(
    http: httpx.AsyncClient,
) -> None:
    line = b"POST /processor/insert/general/json HTTP/1.1\r\nHost: x\r\n"
    header = b"X-Padding: " + b"a" * 1000 + b"\r\n"
    count = MAX_HEAD_BYTES // len(header) + 2
    answer = await _raw_exchange(http.base_url.netloc.decode(), [line, *[header] * count])
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b"over 65536 bytes" in answer
    after = await http.post("/processor/insert/general/json", data={"vid": "1"})
    assert after.json()["ResponseType"] == "Vendor_ID_Missing"


async def test_a_large_body_arriving_with_its_head_is_not_taken_for_a_head(
    served: Served,
) -> None:
    settings = replace(Settings(), receiver_address="127.0.0.1:0", max_body_bytes=1024 * 1024)
    body = b"Comments=" + b"x" * (2 * MAX_HEAD_BYTES)
    head = (
        b"POST /processor/insert/general/json HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    async with receiver(settings, served.local) as address:
        answer = await _raw_exchange(address, [head + body])
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["ResponseType"] == "Vendor_ID_Missing"


async def test_an_unknown_response_type_is_refused(http: httpx.AsyncClient, ids: Any) -> None:
    answer = await http.post("/processor/insert/general/html", data=credentials(ids))
    assert answer.status_code == 404 and answer.json()["isValidPost"] is False


@pytest.mark.parametrize(
    "path", ["/processor/insert/ping/async", "/processor/insert/ping/xml/async"]
)
async def test_the_async_ping_refuses_an_unknown_source_at_once_as_the_ping_does(
    http: httpx.AsyncClient, path: str
) -> None:
    answer = await http.post(path, data={"vid": "999999999"})
    synchronous = await http.post(path.removesuffix("/async"), data={"vid": "999999999"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith(
        "application/xml"
    )
    root = ElementTree.fromstring(answer.content)
    assert root.tag == "PingResponse" and root.findtext("WillAccept") == "false"
    expected = ElementTree.fromstring(synchronous.content).findtext("Response")
    assert root.findtext("Response") == expected and expected


async def test_the_status_url_reports_the_post(http: httpx.AsyncClient, ids: Any) -> None:
    posted = (
        await http.post("/processor/insert/general/json", data={**credentials(ids), **FIELDS})
    ).json()
    status = (await http.get(posted["StatusURL"])).json()
    queued = (await http.get(f"/information/queuestatus/{posted['PostID']}")).json()
    assert status == queued
    assert (status["PostID"], status["IsValid"], status["LeadIdentifier"]) == (
        posted["PostID"],
        True,
        posted["LeadIdentifier"],
    )
    assert status["DateReceived"].endswith("Z")
    assert status["ReturnDetails"]["IsReturned"] is False


async def test_an_unknown_post_is_404_in_the_legacy_format(http: httpx.AsyncClient) -> None:
    answer = await http.get("/information/status/0b5f8d8e-0000-0000-0000-000000000000")
    assert answer.status_code == 404 and answer.json()["isValidPost"] is False


async def test_a_duplicate_check_finds_an_earlier_lead_of_the_same_source(
    http: httpx.AsyncClient, ids: Any
) -> None:
    posted = (
        await http.post("/processor/insert/general/json", data={**credentials(ids), **FIELDS})
    ).json()
    answer = await http.post(
        "/processor/duplicate/check/json",
        data={**credentials(ids), "email": "ANN@example.com", "Phone": "(702) 555-0100"},
    )
    found = answer.json()
    assert list(found) == ["IsDuplicate", "DuplicateLeadId", "ReceivedOn", "Response"]
    assert (found["IsDuplicate"], found["DuplicateLeadId"]) == (True, posted["LeadIdentifier"])
    assert found["ReceivedOn"].endswith("Z")
    assert found["Response"].startswith(f"Duplicate Lead, {posted['LeadIdentifier']} Last")


async def test_a_duplicate_check_stores_no_lead(http: httpx.AsyncClient, ids: Any) -> None:
    check = {**credentials(ids), "Email": "new@example.com", "Phone": "7025550123"}
    first = (await http.post("/processor/duplicate/check/json", data=check)).json()
    again = (await http.post("/processor/duplicate/check/json", data=check)).json()
    assert (first["IsDuplicate"], again["IsDuplicate"]) == (False, False)
    assert first["ReceivedOn"] is None and first["Response"] == "Not a duplicate"


async def test_a_duplicate_check_in_json_is_answered_in_xml_on_request(
    http: httpx.AsyncClient, ids: Any
) -> None:
    await http.post("/processor/insert/general/json", data={**credentials(ids), **FIELDS})
    document = {
        "source": credentials(ids),
        "leads": [{"fields": {"Email": "ann@example.com", "Phone": "7025550100"}}],
    }
    answer = await http.post("/processor/duplicate/check/xml", json=document)
    assert "<PingResponse " in answer.text and "<IsDuplicate>true</IsDuplicate>" in answer.text


async def test_a_duplicate_check_with_a_wrong_password_says_why(
    http: httpx.AsyncClient, ids: Any
) -> None:
    check = {**credentials(ids), "password": "nope", "Email": "ann@example.com"}
    found = (await http.post("/processor/duplicate/check/json", data=check)).json()
    assert found["IsDuplicate"] is False and "password" in found["Response"]


async def test_a_duplicate_check_without_duplicate_fields_says_which_count(
    http: httpx.AsyncClient, ids: Any
) -> None:
    found = (
        await http.post("/processor/duplicate/check/json", data={**credentials(ids), "Age": "30"})
    ).json()
    assert found["IsDuplicate"] is False
    assert "Email" in found["Response"] and "Phone" in found["Response"]


async def post_lead(http: httpx.AsyncClient, ids: dict[str, str]) -> dict[str, Any]:
    answer = await http.post("/processor/insert/general/json", data={**credentials(ids), **FIELDS})
    posted = dict(answer.json())
    assert posted["ResponseType"] == "No_Error"
    return posted


async def test_a_source_updates_fields_of_its_lead(
    http: httpx.AsyncClient, ids: Any, pool: Any
) -> None:
    posted = await post_lead(http, ids)
    answer = await http.post(
        "/processor/update/json",
        data={
            "vid": ids["vid"],
            "lid": ids["lid"],
            "password": ids["password"],
            "lpleaduid": posted["LeadIdentifier"],
            "LastName": "Lee-Smith",
            "Phone": "(702) 555-0999",
        },
    )
    body = answer.json()
    assert (body["ResponseType"], body["ResponseDetails"]) == (
        "No_Error",
        "Lead information updated",
    )
    assert body["LeadIdentifier"] == posted["LeadIdentifier"]
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT fields FROM leads WHERE id = %s", [posted["LeadIdentifier"]]
        )
        fields = (await cursor.fetchone())["fields"]
    assert (fields["LastName"], fields["Phone"], fields["FirstName"]) == (
        "Lee-Smith",
        "7025550999",
        "Ann",
    )


async def test_leaduid_is_accepted_for_lpleaduid_and_invalid_values_are_refused(
    http: httpx.AsyncClient, ids: Any
) -> None:
    posted = await post_lead(http, ids)
    answer = await http.post(
        "/processor/update/json",
        data={
            "vid": ids["vid"],
            "lid": ids["lid"],
            "password": ids["password"],
            "leadUID": posted["LeadIdentifier"],
            "Email": "not-an-email",
        },
    )
    body = answer.json()
    assert body["ResponseType"] == "Data_Errors" and "Email" in body["ResponseDetails"]


async def test_an_update_needs_the_campaigns_password_or_key(
    http: httpx.AsyncClient, ids: Any
) -> None:
    posted = await post_lead(http, ids)
    answer = await http.post(
        "/processor/update/json",
        data={
            "vid": ids["vid"],
            "lid": ids["lid"],
            "lpleaduid": posted["LeadIdentifier"],
            "LastName": "Mallory",
        },
    )
    assert answer.json()["ResponseType"] == "No_Account_Found"
    keyed = await http.post(
        "/processor/update/json",
        data={
            "vid": ids["vid"],
            "lid": ids["lid"],
            "lpleaduid": posted["LeadIdentifier"],
            "LastName": "Keyed",
        },
        headers={"authorization": f"Bearer {ids['source_key']}"},
    )
    assert keyed.json()["ResponseType"] == "No_Error"


async def test_a_source_cannot_update_another_sources_lead(
    http: httpx.AsyncClient, ids: Any, new_account: Any, stub_for: Any
) -> None:
    posted = await post_lead(http, ids)
    stranger = await new_account("Stranger")
    async with stub_for(stranger.api_key) as stub:
        theirs = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(EXAMPLE)))
    answer = await http.post(
        "/processor/update/json",
        data={
            "vid": theirs.sources["acme-media"],
            "lid": theirs.lead_types["auto-insurance"],
            "password": "acme-secret",
            "lpleaduid": posted["LeadIdentifier"],
            "LastName": "Hijacked",
        },
    )
    assert answer.json()["ResponseType"] == "No_Account_Found"


async def test_process_delivery_says_the_lead_is_distributed_again(
    http: httpx.AsyncClient, ids: Any
) -> None:
    posted = await post_lead(http, ids)
    answer = await http.post(
        "/processor/update/xml",
        data={
            "vid": ids["vid"],
            "lid": ids["lid"],
            "password": ids["password"],
            "lpleaduid": posted["LeadIdentifier"],
            "processDelivery": "true",
            "Age": "31",
        },
    )
    assert "<ResponseType>No_Error</ResponseType>" in answer.text
    assert "delivery will be processed again" in answer.text


async def test_a_source_opens_its_posting_instructions_in_a_browser(
    http: httpx.AsyncClient, ids: Any
) -> None:
    page = await http.get(
        "/processor/instructions",
        params={"key": ids["source_key"], "lid": ids["lid"], "aid": ids["aid"]},
    )
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Posting instructions: Acme Auto Web</h1>" in page.text
    assert f"<code>aid</code> (campaign): {ids['aid']}" in page.text
    assert "<code>CreditRating</code>" in page.text and "Excellent, Good, Fair, Poor" in page.text
    assert f"{str(http.base_url).rstrip('/')}/processor/insert/general/json" in page.text


async def test_posting_instructions_need_the_sources_credentials(
    http: httpx.AsyncClient, ids: Any
) -> None:
    refused = await http.get(
        "/processor/instructions",
        params={"vid": ids["vid"], "lid": ids["lid"], "aid": ids["aid"], "password": "wrong"},
    )
    assert refused.status_code == 403 and "password" in refused.text
    by_password = await http.get(
        "/processor/instructions",
        params={**credentials(ids)},
        headers={"accept": "application/json"},
    )
    assert by_password.json()["identifiers"]["aid"] == int(ids["aid"])
    assert type(by_password.json()["identifiers"]["aid"]) is int  # 3, not 3.0: as it is posted


async def test_a_malformed_body_carrying_the_credentials_gets_data_errors_with_its_position(
    http: httpx.AsyncClient, ids: Any
) -> None:
    broken = xml_body(ids, FIELDS).replace("</Lead>", "</Lead", 1)
    answer = await http.post(
        "/processor/insert/general/json",
        content=broken,
        headers={"content-type": "application/xml"},
    )
    body = answer.json()
    assert body["ResponseType"] == "Data_Errors"
    assert "line 1, column" in body["ResponseDetails"]
