"""Hostile and oversized input through real HTTP and gRPC: every request is answered in the
legacy format, never with a server error or a dropped connection, and every lead stored is
answered (docs/decisions.md, "An answer for every lead stored")."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import grpc
import httpx
import pytest
from leadrouter.v1 import leads_pb2, leads_pb2_grpc

from gateways.receiver.forms import MAX_NESTING
from server.bootstrap import receiver
from server.config import Settings
from server.domain.intake.limits import MAX_FIELDS_PER_LEAD, MAX_LEADS_PER_REQUEST
from server.domain.intake.post_bodies import without_password
from server.rpc.app import Served
from tests.e2e.test_receiver_http import FIELDS, credentials

# digits that str.isdigit() accepts and that are no ASCII digits: superscript two, and 123 in
# Arabic-Indic digits (which int() reads)
NOT_ASCII_DIGITS = ["²", "١٢٣"]


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    """The receiver with its default body cap, over one keep-alive connection."""
    settings = replace(Settings(), receiver_address="127.0.0.1:0")
    limits = httpx.Limits(max_connections=1)
    async with (
        receiver(settings, served.local) as address,
        httpx.AsyncClient(base_url=f"http://{address}", timeout=60, limits=limits) as client,
    ):
        yield client


async def stored_leads(pool: Any, source_id: str) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) AS n FROM leads WHERE source_id = %s", [int(source_id)]
        )
        row = await cursor.fetchone()
    return int(row["n"])


def source(ids: dict[str, str]) -> dict[str, Any]:
    return {k: int(v) if v.isdigit() else v for k, v in credentials(ids).items()}


@pytest.mark.parametrize("value", NOT_ASCII_DIGITS)
@pytest.mark.parametrize(
    ("name", "response"),
    [("vid", "Vendor_ID_Missing"), ("lid", "LeadType_ID_Missing"), ("aid", "No_Account_Found")],
)
async def test_an_id_in_digits_other_than_ascii_is_refused_as_malformed(
    http: httpx.AsyncClient, ids: dict[str, str], pool: Any, name: str, response: str, value: str
) -> None:
    form = {**credentials(ids), **FIELDS, name: value}
    for path in ("/processor/insert/general/json", "/processor/duplicate/check/json"):
        answer = await http.post(path, data=form)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        details = body.get("ResponseDetails") or body.get("Response")
        assert f"{name} must be a whole number, got {value!r}" in details
    inserted = (await http.post("/processor/insert/general/json", data=form)).json()
    assert inserted["ResponseType"] == response
    assert await stored_leads(pool, ids["vid"]) == 0


@pytest.mark.parametrize("value", NOT_ASCII_DIGITS)
async def test_an_update_naming_its_lead_in_digits_other_than_ascii_is_refused(
    http: httpx.AsyncClient, ids: dict[str, str], value: str
) -> None:
    form = {**credentials(ids), "lpleaduid": value, "FirstName": "Bo"}
    answer = await http.post("/processor/update/json", data=form)
    assert answer.status_code == 200, answer.text
    assert answer.json()["ResponseType"] == "No_Account_Found"
    assert f"lpleaduid must be a whole number, got {value!r}" in answer.json()["ResponseDetails"]


@pytest.mark.parametrize(
    "declaration",
    ['<?xml version="" encoding="n"?><L', '<?xml version="1.0" encoding="utf-7"?><Leads/>'],
)
async def test_an_xml_encoding_that_cannot_be_read_is_a_data_error_and_the_connection_lives(
    http: httpx.AsyncClient, ids: dict[str, str], declaration: str
) -> None:
    answer = await http.post(
        "/processor/insert/general/xml",
        content=declaration,
        headers={"content-type": "application/xml"},
    )
    assert answer.status_code == 200, answer.text
    assert "<ResponseType>Data_Errors</ResponseType>" in answer.text
    assert "the declared encoding cannot be read" in answer.text
    after = await http.post("/processor/insert/general/json", data={**credentials(ids), **FIELDS})
    assert after.json()["ResponseType"] == "No_Error"  # on the same keep-alive connection


async def test_more_leads_than_a_request_may_hold_are_refused_whole_before_any_is_stored(
    http: httpx.AsyncClient, ids: dict[str, str], pool: Any
) -> None:
    leads = [
        {"fields": {**FIELDS, "Email": f"x{n}@example.com"}}
        for n in range(MAX_LEADS_PER_REQUEST + 1)
    ]
    answer = await http.post(
        "/processor/insert/general/json", json={"source": source(ids), "leads": leads}
    )
    assert answer.status_code == 200, answer.text
    refused = answer.json()  # one answer, an object, stands for the whole request
    assert refused["ResponseType"] == "Data_Errors"
    assert refused["ResponseDetails"] == (
        f"The request holds {MAX_LEADS_PER_REQUEST + 1} leads; at most {MAX_LEADS_PER_REQUEST} "
        "may be posted in one request"
    )
    assert await stored_leads(pool, ids["vid"]) == 0


async def test_a_lead_of_too_many_fields_is_refused_before_any_is_stored(
    http: httpx.AsyncClient, ids: dict[str, str], pool: Any
) -> None:
    extra = {f"Extra{n}": "x" for n in range(MAX_FIELDS_PER_LEAD)}
    leads = [{"fields": FIELDS}, {"fields": {**FIELDS, **extra}}]
    answer = await http.post(
        "/processor/insert/general/json", json={"source": source(ids), "leads": leads}
    )
    answers = answer.json()
    assert [a["ResponseType"] for a in answers] == ["Data_Errors", "Data_Errors"]
    count = len(FIELDS) + MAX_FIELDS_PER_LEAD
    assert answers[0]["ResponseDetails"] == (
        f"Lead 2 holds {count} fields; at most {MAX_FIELDS_PER_LEAD} are allowed per lead"
    )
    assert await stored_leads(pool, ids["vid"]) == 0


@pytest.mark.parametrize("password", ["right", "wrong"])
async def test_a_request_of_many_leads_logs_its_body_once(
    http: httpx.AsyncClient, ids: dict[str, str], pool: Any, password: str
) -> None:
    """Each lead has its post log entry, but only the first keeps the request's body (up to
    64 KiB; its password removed): a 1 MiB request of 500 leads, bad credentials or not,
    wrote 32 MiB."""
    posting = source(ids) if password == "right" else {**source(ids), "password": "wrong"}
    leads = [
        {"fields": {**FIELDS, "Email": f"z{n}@example.com", "Phone": f"702556{n:04d}"}}
        for n in range(3)
    ]
    answer = await http.post(
        "/processor/insert/general/json", json={"source": posting, "leads": leads}
    )
    post_ids = [a["PostID"] for a in answer.json()]
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT id::text, lead_index, length(request_body) AS size,"
            " request_post_id::text FROM posts WHERE id = ANY(%s::uuid[]) ORDER BY lead_index",
            [post_ids],
        )
        rows = await cursor.fetchall()
    assert [r["id"] for r in rows] == post_ids
    kept = without_password(answer.request.content)  # as the post log keeps every body
    assert rows[0]["size"] == len(kept) and rows[0]["request_post_id"] is None
    for further in rows[1:]:
        assert further["size"] == 0 and further["request_post_id"] == post_ids[0]


@pytest.mark.parametrize("kind", ["json", "xml"])
async def test_nesting_past_the_limit_is_a_data_error(
    http: httpx.AsyncClient, ids: dict[str, str], kind: str
) -> None:
    depth = MAX_NESTING + 1
    if kind == "json":
        body, media = "[" * depth + "]" * depth, "application/json"
    else:
        body, media = "<a>" * depth + "</a>" * depth, "application/xml"
    answer = await http.post(
        f"/processor/insert/general/{kind}", content=body, headers={"content-type": media}
    )
    assert answer.status_code == 200
    assert f"nested deeper than {MAX_NESTING} levels" in answer.text


async def test_every_lead_of_a_request_within_the_limits_is_answered(
    http: httpx.AsyncClient, ids: dict[str, str], pool: Any
) -> None:
    leads = [
        {"fields": {**FIELDS, "Email": f"y{n}@example.com", "Phone": f"702555{n:04d}"}}
        for n in range(MAX_LEADS_PER_REQUEST)
    ]
    answer = await http.post(
        "/processor/insert/general/json", json={"source": source(ids), "leads": leads}
    )
    assert answer.status_code == 200, answer.text
    answers = answer.json()
    assert len(answers) == MAX_LEADS_PER_REQUEST
    stored = [a for a in answers if a["LeadIdentifier"]]
    assert await stored_leads(pool, ids["vid"]) == len(stored)
    for unanswered in answers[len(stored) :]:  # any lead the time left no room for
        assert unanswered["ResponseDetails"].startswith("Not processed")


async def test_leads_the_callers_deadline_leaves_no_room_for_are_answered_not_processed(
    served: Served, ids: dict[str, str], pool: Any
) -> None:
    """A caller waiting one second leaves no time past the service's reserve: the first lead
    is taken (a request always makes progress), every other is answered as not processed,
    and none of those is stored."""
    request = leads_pb2.SubmitLeadsRequest(
        credentials=leads_pb2.Credentials(**credentials(ids)),
        leads=[
            leads_pb2.LeadInput(
                fields=[
                    leads_pb2.FieldValue(name=k, value=v)
                    for k, v in {**FIELDS, "Email": f"z{n}@example.com"}.items()
                ]
            )
            for n in range(20)
        ],
        request_format="json",
    )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{served.port}") as channel:
        answer = await leads_pb2_grpc.LeadServiceStub(channel).SubmitLeads(request, timeout=1.0)
    first, *rest = answer.results
    assert first.is_valid_post and first.lead_id
    assert {r.response_details for r in rest} == {
        "Not processed: the request ran out of time after 1 of 20 leads; nothing was stored "
        "for this lead, post it again"
    }
    assert {(r.post_id, r.lead_id) for r in rest} == {("", 0)}
    assert await stored_leads(pool, ids["vid"]) == 1


async def test_an_unexpected_failure_is_answered_in_the_legacy_format_with_a_logged_reference(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from gateways.receiver.app import create_app

    class Broken:
        """A lead service stub whose every method fails as no gRPC call does."""

        def __getattr__(self, method: str) -> Any:
            async def call(request: Any, timeout: float) -> Any:  # noqa: ASYNC109
                raise RuntimeError(f"{method}: a fault of the lead service's client")

            return call

    transport = httpx.ASGITransport(app=create_app(Broken()))
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
        with caplog.at_level(logging.ERROR, logger="gateways.receiver.app"):
            answer = await client.post("/processor/insert/general/xml", data={"vid": "1"})
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("application/xml")
    reference = answer.text.split("(ref ")[1].split(")")[0]
    assert "<ResponseType>Data_Errors</ResponseType>" in answer.text
    assert any(reference in record.getMessage() for record in caplog.records)
