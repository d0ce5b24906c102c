"""Request shapes of real LeadExec integrations, through real HTTP: GET posts with everything in
the query string, paths in any case and with a trailing slash, the status URL's query form."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from leadrouter.v1 import admin_pb2

from clients.client import struct
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
CALL = {"ivrnumber": "8005550100", "callduration": "95"}
SMALL_BODY = 16 * 1024
INSERT_KINDS = ("general", "returnsends", "transfer", "manualredirect", "autoredirect", "calldata")


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    """The receiver as `serve` runs it (the lead service in process); redirects not followed."""
    settings = replace(Settings(), receiver_address="127.0.0.1:0", max_body_bytes=SMALL_BODY)
    async with (
        receiver(settings, served.local) as address,
        httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as client,
    ):
        yield client


def credentials(ids: dict[str, str]) -> dict[str, str]:
    return {k: ids[k] for k in ("vid", "lid", "aid", "password")}


async def lead_rows(pool: Any, *lead_ids: int) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT * FROM leads WHERE id = ANY(%s) ORDER BY id", [list(lead_ids)]
        )
        return list(await cursor.fetchall())


async def lead_count(pool: Any) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT count(*) AS n FROM leads")
        return int((await cursor.fetchone())["n"])


# -- GET posts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", INSERT_KINDS)
async def test_a_get_with_everything_in_the_query_string_inserts_a_lead(
    http: httpx.AsyncClient, ids: Any, kind: str
) -> None:
    query = {**credentials(ids), **FIELDS, **(CALL if kind == "calldata" else {})}
    answer = await http.get(f"/processor/insert/{kind}/json", params=query)
    body = answer.json()
    assert (answer.status_code, body["ResponseType"]) == (200, "No_Error"), body
    assert body["LeadIdentifier"] > 0


async def stored_alike(
    http: httpx.AsyncClient,
    new_account: Any,
    stub_for: Any,
    pool: Any,
    method: str = "POST",
    more: dict[str, str] | None = None,
    **shape: Any,
) -> dict[str, Any]:
    """Post a lead URL-encoded, then by `method` in another shape (each of httpx's request
    keywords in `shape` made from the lead by a function), to an account that takes the same
    lead twice: both are stored alike. The second's row."""
    document = copy.deepcopy(EXAMPLE)
    document["sources"][0]["campaigns"][0]["dup_day_max"] = 0  # the same lead twice
    tenant = await new_account()
    async with stub_for(tenant.api_key) as stub:
        applied = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))
    lead = {
        "vid": str(applied.sources["acme-media"]),
        "lid": str(applied.lead_types["auto-insurance"]),
        "aid": str(applied.campaigns["acme-auto-web"]),
        "password": "acme-secret",
        **FIELDS,
        "Unlisted": "kept",
        "reference": "ref-7",
        **(more or {}),
    }
    url = "/processor/insert/general/json"
    form = await http.post(url, data=lead)
    other = await http.request(method, url, **{k: make(lead) for k, make in shape.items()})
    assert (form.json()["ResponseType"], other.json()["ResponseType"]) == ("No_Error", "No_Error")
    by_form, by_other = await lead_rows(
        pool, form.json()["LeadIdentifier"], other.json()["LeadIdentifier"]
    )
    differ = {"id", "post_id", "received_at"}
    assert {k: v for k, v in by_other.items() if k not in differ} == {
        k: v for k, v in by_form.items() if k not in differ
    }
    assert (by_other["reference"], by_other["extras"]) == ("ref-7", {"Unlisted": "kept"})
    return by_other


async def test_a_get_insert_and_a_post_insert_store_the_same_lead(
    http: httpx.AsyncClient, new_account: Any, stub_for: Any, pool: Any
) -> None:
    more = {"City": "Las Vegas", "noSell": "true", "sendDelay": "2"}
    row = await stored_alike(
        http, new_account, stub_for, pool, "GET", more, params=lambda lead: lead
    )
    assert (row["no_sell"], row["fields"]["City"]) == (True, "Las Vegas")


@pytest.mark.parametrize("content_type", ["application/json", "text/plain;charset=UTF-8"])
async def test_a_flat_json_lead_is_stored_as_the_same_lead_posted_as_a_form(
    http: httpx.AsyncClient, new_account: Any, stub_for: Any, pool: Any, content_type: str
) -> None:
    await stored_alike(
        http,
        new_account,
        stub_for,
        pool,
        content=lambda lead: json.dumps(lead).encode(),
        headers=lambda _: {"content-type": content_type},
    )


async def test_a_multipart_form_is_stored_as_the_same_lead_posted_url_encoded(
    http: httpx.AsyncClient, new_account: Any, stub_for: Any, pool: Any
) -> None:
    """PHP's cURL with its fields given as an array posts multipart/form-data."""
    await stored_alike(
        http,
        new_account,
        stub_for,
        pool,
        files=lambda lead: {name: (None, str(value)) for name, value in lead.items()},
    )


async def test_a_get_updates_a_lead(http: httpx.AsyncClient, ids: Any, pool: Any) -> None:
    posted = (
        await http.post("/processor/insert/general/json", data={**credentials(ids), **FIELDS})
    ).json()
    query = {**credentials(ids), "lpleaduid": posted["LeadIdentifier"], "LastName": "Lee-Smith"}
    answer = (await http.get("/processor/update/json", params=query)).json()
    assert (answer["ResponseType"], answer["ResponseDetails"]) == (
        "No_Error",
        "Lead information updated",
    )
    [row] = await lead_rows(pool, posted["LeadIdentifier"])
    assert row["fields"]["LastName"] == "Lee-Smith"


async def test_a_get_checks_for_a_duplicate(http: httpx.AsyncClient, ids: Any) -> None:
    posted = (
        await http.post("/processor/insert/general/json", data={**credentials(ids), **FIELDS})
    ).json()
    query = {**credentials(ids), "Email": "ann@example.com", "Phone": "7025550100"}
    found = (await http.get("/processor/duplicate/check/json", params=query)).json()
    assert (found["IsDuplicate"], found["DuplicateLeadId"]) == (True, posted["LeadIdentifier"])


async def test_a_head_to_a_posting_url_is_refused_and_stores_nothing(
    http: httpx.AsyncClient, ids: Any, pool: Any
) -> None:
    answer = await http.head(
        "/processor/insert/general/json", params={**credentials(ids), **FIELDS}
    )
    assert answer.status_code == 405
    assert await lead_count(pool) == 0


# -- the answer's format without a response type in the URL ------------------------------------


def is_xml_post_response(answer: httpx.Response, response_type: str = "No_Error") -> bool:
    return (
        answer.headers["content-type"].startswith("application/xml")
        and "<PostResponse " in answer.text
        and f"<ResponseType>{response_type}</ResponseType>" in answer.text
    )


async def test_a_url_encoded_post_without_a_response_type_is_answered_in_xml(
    http: httpx.AsyncClient, ids: Any
) -> None:
    answer = await http.post("/processor/insert/general", data={**credentials(ids), **FIELDS})
    assert is_xml_post_response(answer), answer.text


async def test_a_get_without_a_response_type_is_answered_in_xml(
    http: httpx.AsyncClient, ids: Any
) -> None:
    answer = await http.get("/processor/insert/general", params={**credentials(ids), **FIELDS})
    assert is_xml_post_response(answer), answer.text


async def test_a_json_post_without_a_response_type_is_answered_in_json(
    http: httpx.AsyncClient, ids: Any
) -> None:
    document = {"source": credentials(ids), "leads": [{"fields": FIELDS}]}
    answer = await http.post("/processor/insert/general", json=document)
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["ResponseType"] == "No_Error"


async def test_an_update_without_a_response_type_follows_the_same_rule(
    http: httpx.AsyncClient, ids: Any
) -> None:
    posted = (
        await http.post("/processor/insert/general/json", data={**credentials(ids), **FIELDS})
    ).json()
    update = {**credentials(ids), "lpleaduid": posted["LeadIdentifier"], "Age": "31"}
    answer = await http.post("/processor/update", data=update)
    assert is_xml_post_response(answer), answer.text
    document = {
        "source": credentials(ids),
        "leads": [{"properties": {"leadUID": posted["LeadIdentifier"]}, "fields": {"Age": 32}}],
    }
    assert (await http.post("/processor/update", json=document)).json()["ResponseType"] == (
        "No_Error"
    )


async def test_a_duplicate_check_without_a_response_type_follows_the_same_rule(
    http: httpx.AsyncClient, ids: Any
) -> None:
    check = {"Email": "new@example.com", "Phone": "7025550123"}
    by_form = await http.post("/processor/duplicate/check", data={**credentials(ids), **check})
    assert by_form.headers["content-type"].startswith("application/xml")
    assert "<PingResponse " in by_form.text and "<IsDuplicate>false</IsDuplicate>" in by_form.text
    document = {"source": credentials(ids), "leads": [{"fields": check}]}
    by_json = await http.post("/processor/duplicate/check", json=document)
    assert by_json.json()["IsDuplicate"] is False


async def test_the_receivers_own_refusals_without_a_response_type_follow_the_same_rule(
    http: httpx.AsyncClient,
) -> None:
    too_large = await http.post("/processor/insert/general", data={"Notes": "x" * SMALL_BODY})
    assert too_large.status_code == 413
    assert is_xml_post_response(too_large, "Data_Errors"), too_large.text
    big = {"source": {"vid": 1}, "leads": [{"fields": {"Notes": "x" * SMALL_BODY}}]}
    as_json = await http.post("/processor/insert/ping/async", json=big)
    assert as_json.status_code == 413 and as_json.json()["ResponseType"] == "Data_Errors"


# -- paths --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/processor/insert/AutoRedirect",
        "/Processor/Insert/General/JSON",
        "/PROCESSOR/INSERT/RETURNSENDS/Json",
        "/processor/insert/general/json/",
        "/processor/insert/Transfer/",
        "/Processor/Insert/ManualRedirect/Json/",
        "//processor/insert/general/json",
        "/processor//insert/General//json//",
    ],
)
async def test_a_path_in_any_case_or_with_a_trailing_slash_is_answered_directly(
    http: httpx.AsyncClient, ids: Any, path: str
) -> None:
    url = http.base_url.copy_with(raw_path=path.encode())  # as sent: `//x` is not a host here
    answer = await http.post(url, data={**credentials(ids), **FIELDS})
    assert answer.status_code == 200, answer.text
    assert "No_Error" in answer.text


@pytest.mark.parametrize(
    "path", ["/Processor/Update/JSON/", "/processor/Duplicate/Check/json/", "/Processor/update/"]
)
async def test_update_and_duplicate_check_paths_ignore_case_and_a_trailing_slash(
    http: httpx.AsyncClient, ids: Any, path: str
) -> None:
    answer = await http.post(path, data={**credentials(ids), "Email": "ann@example.com"})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("path", "kind"),
    [("/processor/insert/Ping/Async/", "xml"), ("/Processor/Insert/Ping/Json/Async/", "json")],
)
async def test_the_async_ping_is_answered_in_any_case(
    http: httpx.AsyncClient, path: str, kind: str
) -> None:
    answer = await http.get(path, params={"vid": "999999999"})  # refused at once: no source
    assert answer.status_code == 200, answer.text
    if kind == "json":
        assert answer.json()["WillAccept"] is False
    else:
        assert "<PingResponse " in answer.text and "<WillAccept>false<" in answer.text


# -- behind a proxy -----------------------------------------------------------------------------


@pytest.mark.parametrize(("trusted", "logged"), [(None, "203.0.113.9"), ("10.1.2.3", "127.0.0.1")])
async def test_the_posts_address_comes_from_x_forwarded_for_only_through_a_trusted_proxy(
    served: Served,
    ids: Any,
    pool: Any,
    monkeypatch: pytest.MonkeyPatch,
    trusted: str | None,
    logged: str,
) -> None:
    """uvicorn's FORWARDED_ALLOW_IPS (default: loopback) names the proxies believed."""
    if trusted is None:
        monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    else:
        monkeypatch.setenv("FORWARDED_ALLOW_IPS", trusted)
    settings = replace(Settings(), receiver_address="127.0.0.1:0")
    async with (
        receiver(settings, served.local) as address,
        httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as client,
    ):
        answer = await client.post(
            "/processor/insert/general/json",
            data={**credentials(ids), **FIELDS},
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT remote_ip FROM posts WHERE id = %s", [answer.json()["PostID"]]
        )
        assert (await cursor.fetchone())["remote_ip"] == logged


# -- JSON answers shaped as the document shows them ---------------------------------------------


def json_post(ids: dict[str, str], kind: str, **fields: str) -> dict[str, Any]:
    """A JSON-body post as the document's examples show it (call details in `properties`)."""
    properties = {"ivrNumber": "8005550100", "callDuration": 95} if kind == "calldata" else {}
    source = {k: int(v) if v.isdigit() else v for k, v in credentials(ids).items()}
    return {"source": source, "leads": [{"properties": properties, "fields": {**FIELDS, **fields}}]}


@pytest.mark.parametrize("kind", ["returnsends", "transfer", "calldata"])
async def test_a_json_body_is_answered_with_an_array_where_the_document_shows_one(
    http: httpx.AsyncClient, ids: Any, kind: str
) -> None:
    answer = (await http.post(f"/processor/insert/{kind}/json", json=json_post(ids, kind))).json()
    assert isinstance(answer, list) and len(answer) == 1
    assert answer[0]["ResponseType"] == "No_Error"
    refused = await http.post(f"/processor/insert/{kind}", json=json_post(ids, kind, Age="12"))
    assert [r["ResponseType"] for r in refused.json()] == ["Outside_Criteria"]


@pytest.mark.parametrize("kind", ["general", "manualredirect", "autoredirect"])
async def test_a_json_body_is_answered_with_an_object_where_the_document_shows_one(
    http: httpx.AsyncClient, ids: Any, kind: str
) -> None:
    answer = (await http.post(f"/processor/insert/{kind}/json", json=json_post(ids, kind))).json()
    assert isinstance(answer, dict) and answer["ResponseType"] == "No_Error"


@pytest.mark.parametrize("kind", ["returnsends", "transfer", "calldata"])
async def test_a_url_encoded_post_is_answered_with_the_single_object(
    http: httpx.AsyncClient, ids: Any, kind: str
) -> None:
    data = {**credentials(ids), **FIELDS, **(CALL if kind == "calldata" else {})}
    answer = (await http.post(f"/processor/insert/{kind}/json", data=data)).json()
    assert isinstance(answer, dict) and answer["ResponseType"] == "No_Error"


async def test_a_json_update_is_answered_with_the_single_object(
    http: httpx.AsyncClient, ids: Any
) -> None:
    posted = await http.post("/processor/insert/returnsends/json", json=json_post(ids, "x"))
    lead_id = posted.json()[0]["LeadIdentifier"]
    document = {
        "source": credentials(ids),
        "leads": [{"properties": {"leadUID": lead_id}, "fields": {"Age": 31}}],
    }
    answer = (await http.post("/processor/update/json", json=document)).json()
    assert isinstance(answer, dict) and answer["ResponseType"] == "No_Error"


# -- field values -------------------------------------------------------------------------------


async def test_a_json_field_holding_an_array_or_an_object_is_refused_by_name(
    http: httpx.AsyncClient, ids: Any, pool: Any
) -> None:
    document = json_post(ids, "general")
    document["leads"][0]["fields"].update({"Phone": ["702-555-0100"], "Home": {"Zip": "89101"}})
    answer = (await http.post("/processor/insert/general/json", json=document)).json()
    assert (answer["isValidPost"], answer["ResponseType"]) == (False, "Data_Errors")
    assert answer["ResponseDetails"] == (
        "JSON error: a field's value must be text, a number, true, false or null: "
        "Phone is an array; Home is an object"
    )
    assert await lead_count(pool) == 0
    status = (await http.get(f"/information/status/{answer['PostID']}")).json()
    assert status["RejectionReason"] == answer["ResponseDetails"]


async def test_unknown_fields_are_ignored_and_logged_with_the_post_id(
    http: httpx.AsyncClient, ids: Any, pool: Any, caplog: pytest.LogCaptureFixture
) -> None:
    data = {**credentials(ids), **FIELDS, "Referrer": "partner-9", "utm_source": "x"}
    with caplog.at_level(logging.INFO, logger="server.services.intake.post_log"):
        answer = (await http.post("/processor/insert/general/json", data=data)).json()
    assert answer["ResponseType"] == "No_Error"
    assert [r.getMessage() for r in caplog.records] == [
        f"post {answer['PostID']}: 2 unknown fields ignored: 'Referrer', 'utm_source'"
    ]
    [row] = await lead_rows(pool, answer["LeadIdentifier"])
    assert "Referrer" not in row["fields"]


# -- the source's key -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    ["authorization", "access_token", "api-key"],
    ids=["bearer", "access_token", "api-key"],
)
async def test_the_source_key_may_come_in_any_of_its_headers(
    http: httpx.AsyncClient, ids: Any, header: str
) -> None:
    value = f"Bearer {ids['source_key']}" if header == "authorization" else ids["source_key"]
    data = {**credentials(ids), **FIELDS}
    del data["password"]
    answer = await http.post("/processor/insert/general/json", data=data, headers={header: value})
    assert answer.json()["ResponseType"] == "No_Error"


async def test_a_wrong_key_in_an_api_key_header_is_refused(
    http: httpx.AsyncClient, ids: Any
) -> None:
    data = {**credentials(ids), **FIELDS}
    answer = await http.post(
        "/processor/insert/general/json", data=data, headers={"api-key": "lr_nope_nope"}
    )
    assert answer.json()["ResponseType"] == "No_Account_Found"


# -- status -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/information/status?PostID={id}",
        "/information/queuestatus?PostID={id}",
        "/Information/Status?postid={id}",
        "/information/status/{id}/",
        "/Information/QueueStatus/{id}",
    ],
)
async def test_the_status_is_read_by_path_or_by_query_string(
    http: httpx.AsyncClient, ids: Any, url: str
) -> None:
    posted = (
        await http.post("/processor/insert/general/json", data={**credentials(ids), **FIELDS})
    ).json()
    answer = await http.get(url.format(id=posted["PostID"]))
    status = answer.json()
    assert answer.status_code == 200, answer.text
    assert (status["PostID"], status["LeadIdentifier"]) == (
        posted["PostID"],
        posted["LeadIdentifier"],
    )


async def test_a_status_without_a_post_id_says_it_is_required(http: httpx.AsyncClient) -> None:
    answer = await http.get("/information/status")
    assert answer.status_code == 400
    assert answer.json()["ResponseDetails"] == "PostID is required"


# -- updates tell the unauthenticated nothing ---------------------------------------------------


async def test_an_update_with_failing_credentials_is_refused_alike_whether_the_lead_exists(
    http: httpx.AsyncClient, ids: Any, new_account: Any, stub_for: Any, pool: Any
) -> None:
    posted = (
        await http.post("/processor/insert/general/json", data={**credentials(ids), **FIELDS})
    ).json()
    stranger = await new_account("Stranger")
    async with stub_for(stranger.api_key) as stub:
        theirs = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(EXAMPLE)))
    their_lead = (
        await http.post(
            "/processor/insert/general/json",
            data={
                "vid": theirs.sources["acme-media"],
                "lid": theirs.lead_types["auto-insurance"],
                "password": "acme-secret",
                **FIELDS,
            },
        )
    ).json()["LeadIdentifier"]
    mine = posted["LeadIdentifier"]
    attempts = {
        "an existing lead, a wrong password": {"lpleaduid": mine, "password": "wrong"},
        "an existing lead, no password": {"lpleaduid": mine, "password": ""},
        "a made-up lead, a wrong password": {"lpleaduid": mine + 1000, "password": "wrong"},
        "a made-up lead, the right password": {"lpleaduid": mine + 1000},
        "another source's lead": {"lpleaduid": their_lead},
    }
    answers = {}
    for name, attempt in attempts.items():
        data = {**credentials(ids), "LastName": "Mallory", **attempt}
        answer = await http.post("/processor/update/json", data=data)
        body = answer.json()
        status = (await http.get(f"/information/status/{body['PostID']}")).json()
        answers[name] = (
            answer.status_code,
            {k: v for k, v in body.items() if k not in ("PostID", "StatusURL")},
            {k: v for k, v in status.items() if k not in ("PostID", "DateReceived")},
        )
    assert len({json.dumps(a, sort_keys=True) for a in answers.values()}) == 1, answers
    code, body, status = answers["an existing lead, a wrong password"]
    assert (code, body["ResponseType"], body["ResponseDetails"]) == (
        200,
        "No_Account_Found",
        "No lead of this lead source and lead type matches lpleaduid and these credentials",
    )
    assert (body["LeadIdentifier"], body["VendorAccountAssigned"]) == (0, 0)
    assert (status["LeadIdentifier"], status["VendorAccountAssigned"]) == (0, 0)
    [row] = await lead_rows(pool, mine)
    assert row["fields"]["LastName"] == "Lee"


async def test_the_post_log_keeps_the_real_reason_of_a_refused_update(
    http: httpx.AsyncClient, ids: Any, pool: Any
) -> None:
    posted = (
        await http.post("/processor/insert/general/json", data={**credentials(ids), **FIELDS})
    ).json()
    data = {**credentials(ids), "password": "wrong", "lpleaduid": posted["LeadIdentifier"]}
    refused = (await http.post("/processor/update/json", data={**data, "Age": "31"})).json()
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT campaign_id, lead_id, steps FROM posts WHERE id = %s", [refused["PostID"]]
        )
        logged = await cursor.fetchone()
    assert (logged["campaign_id"], logged["lead_id"]) == (None, None)
    assert logged["steps"][-1]["detail"] == (
        f"The password does not match (lead {posted['LeadIdentifier']}, campaign {ids['aid']})"
    )


async def test_an_update_refused_before_its_lead_is_sought_still_says_why(
    http: httpx.AsyncClient, ids: Any
) -> None:
    data = {**credentials(ids), "lpleaduid": "abc", "Age": "31"}
    refused = (await http.post("/processor/update/json", data=data)).json()
    assert refused["ResponseDetails"] == "lpleaduid must be a whole number, got 'abc'"
    unknown_type = {**credentials(ids), "lid": "999999", "lpleaduid": "1", "Age": "31"}
    refused = (await http.post("/processor/update/json", data=unknown_type)).json()
    assert refused["ResponseType"] == "LeadType_ID_Missing"
