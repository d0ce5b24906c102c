"""The /async insert URLs over real HTTP: each is answered at once with LeadExec's
LeadQueueResponse, processed as its synchronous URL would process it, and its queue status then
shows the answer that URL gives; refusals are answered at once and queue nothing; the queue
has a per-account limit. Buyers are real HTTP servers on loopback."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace
from typing import Any

import httpx
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from leadrouter.v1 import callbacks_pb2

from server.bootstrap import receiver, servicers
from server.config import Settings
from server.rpc.app import create_server
from server.services.distribution.engine import Distributor
from tests.e2e.conftest import QUEUE
from tests.e2e.test_receiver_distribution import LEAD, Tenant, buyer, transfer_buyer
from tests.support.buyers import BuyerServer

INSERT_KINDS = ("general", "returnsends", "transfer", "manualredirect", "autoredirect", "calldata")
# how each form is posted, and the answer's format its URL asks for
FORMS = {"urlencoded": "json", "get": "xml", "json": "json", "xml": "xml"}
CALL = {"ivrnumber": "8005550100", "callduration": "95"}
QUEUED_KEYS = ["QueueSuccessful", "PostID", "ResponseDetails", "StatusURL"]


@pytest.fixture
async def market(new_account: Any, stub_for: Any, buyers: BuyerServer) -> Tenant:
    """A tenant whose leads sell to a standard, a live-transfer and a redirect buyer."""
    buyers.behave("redirect", answer="accepted url=https://buyer.example/welcome")
    account = await new_account("Async market")
    tenant = Tenant(stub_for, account.api_key, max_sell=3)
    await tenant.apply(
        [
            buyer("standard", buyers, price="30"),
            transfer_buyer("live", buyers, "John Smith", "7025551212", price="20"),
            buyer("redirect", buyers, price="10", account_type="redirect"),
        ]
    )
    return tenant


def lead(number: int) -> dict[str, str]:
    return {**LEAD, "Email": f"async{number}@example.com", "Phone": f"702555{number:04d}"}


async def send(
    http: httpx.AsyncClient,
    form: str,
    path: str,
    tenant: Tenant,
    fields: dict[str, str],
    **extra: str,
) -> httpx.Response:
    """Post one lead in one of the request forms."""
    credentials = tenant.credentials()
    call = CALL if "calldata" in path else {}
    if form == "urlencoded":
        return await http.post(path, data={**credentials, **extra, **call, **fields})
    if form == "get":
        return await http.get(path, params={**credentials, **extra, **call, **fields})
    if form == "json":
        properties = {"ivrNumber": call["ivrnumber"], "callDuration": 95} if call else {}
        document = {
            "source": {**credentials, **({"returnURL": extra["returnurl"]} if extra else {})},
            "leads": [{"properties": properties, "fields": fields}],
        }
        return await http.post(path, json=document)
    attrs = " ".join(f'{k}="{v}"' for k, v in {**credentials, **extra}.items())
    calls = "<IVRNumber>8005550100</IVRNumber><CallDuration>95</CallDuration>" if call else ""
    values = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
    body = f'<?xml version="1.0"?><Leads {attrs}><Lead>{calls}{values}</Lead></Leads>'
    return await http.post(path, content=body, headers={"content-type": "application/xml"})


def queue_answer(answer: httpx.Response, kind: str) -> dict[str, Any]:
    """A LeadQueueResponse, JSON or XML, as a dict of its four values."""
    assert answer.status_code == 200, answer.text
    if kind == "json":
        body = answer.json()
        assert list(body) == QUEUED_KEYS
        return dict(body)
    assert answer.headers["content-type"].startswith("application/xml")
    assert answer.text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<LeadQueueResponse ')
    found = {k: re.search(f"<{k}>([^<]*)</{k}>|<{k} />", answer.text) for k in QUEUED_KEYS}
    values = {k: (m[1] or "") if m else None for k, m in found.items()}
    return {**values, "QueueSuccessful": values["QueueSuccessful"] == "true"}


async def processed(http: httpx.AsyncClient, status_url: str) -> httpx.Response:
    """The queue status once the post is processed."""
    for _ in range(300):
        answer = await http.get(status_url)
        assert answer.status_code == 200, answer.text
        if re.search(r'"QueueStatus":"Processed"|<QueueStatus>Processed<', answer.text):
            return answer
        await asyncio.sleep(0.05)
    raise AssertionError(f"not processed: {answer.text}")


def stored_answer(status: httpx.Response, kind: str) -> str:
    """The answer a queue status holds, as its synchronous URL would have written it (bar
    indentation, for XML)."""
    if kind == "json":
        return json.dumps(status.json()["Response"], separators=(",", ":"), ensure_ascii=False)
    inner = status.text.split("<Response>", 1)[1].rsplit("</Response>", 1)[0].strip()
    return '<?xml version="1.0" encoding="utf-8"?>' + inner


def comparable(answer: str) -> str:
    """An answer without what differs between two posts of equal leads: PostID,
    LeadIdentifier and StatusURL, and the whitespace between XML elements."""
    answer = re.sub(r'"(PostID|StatusURL)":"[^"]*"', r'"\1":""', answer)
    answer = re.sub(r'"LeadIdentifier":\d+', '"LeadIdentifier":0', answer)
    answer = re.sub(r"<(PostID|StatusURL|LeadIdentifier)>[^<]*</\1>", r"<\1 />", answer)
    return re.sub(r">\s+<", "><", answer)


async def wait_for_buyers(buyers: BuyerServer, count: int) -> None:
    """Until the buyers received `count` leads: a general post's sales go on after its answer."""
    for _ in range(200):
        if len(buyers.received) >= count:
            return
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("kind", INSERT_KINDS)
async def test_an_async_insert_is_queued_then_answered_as_its_synchronous_url_answers(
    http: httpx.AsyncClient, market: Tenant, buyers: BuyerServer, kind: str, form: str
) -> None:
    response_type = FORMS[form]
    sync = await send(http, form, f"/processor/insert/{kind}/{response_type}", market, lead(1))
    assert sync.status_code in (200, 303), sync.text
    await wait_for_buyers(buyers, 1)
    queued = await send(
        http, form, f"/processor/insert/{kind}/{response_type}/async", market, lead(2)
    )
    answer = queue_answer(queued, response_type)
    assert answer["QueueSuccessful"] is True
    assert answer["ResponseDetails"] == "Lead has been queued for processing"
    base = str(http.base_url).rstrip("/")
    assert answer["StatusURL"] == f"{base}/information/queuestatus/{answer['PostID']}"
    status = await processed(http, answer["StatusURL"])
    assert status.headers["content-type"] == sync.headers["content-type"]
    assert comparable(stored_answer(status, response_type)) == comparable(sync.text)
    assert "No_Error" in sync.text


async def test_the_queue_status_shows_the_post_and_its_lead_once_processed(
    http: httpx.AsyncClient, market: Tenant
) -> None:
    posted = await http.post("/processor/insert/returnsends/json/async", data=market.posted())
    post_id = posted.json()["PostID"]
    status = (await processed(http, f"/information/queuestatus?postid={post_id}")).json()
    answer = status["Response"][0] if isinstance(status["Response"], list) else status["Response"]
    assert list(status)[:2] == ["PostID", "QueueStatus"]
    assert list(status)[-3:] == ["DateProcessed", "Response", "Callback"]
    assert status["Callback"] is None  # it posted no returnurl
    assert (status["PostID"], status["IsValid"]) == (post_id, True)
    assert status["LeadIdentifier"] == answer["LeadIdentifier"] > 0
    assert [s["ClientName"] for s in answer["Sends"]] == [
        "Buyer standard",
        "Buyer live",
        "Buyer redirect",
    ]
    assert status["DateProcessed"].endswith("Z") and status["DateReceived"].endswith("Z")
    report = (await http.get(f"/information/status/{post_id}")).json()
    assert report["LeadIdentifier"] == answer["LeadIdentifier"] and "QueueStatus" not in report
    lead_report = (await http.get(answer["StatusURL"])).json()
    assert lead_report["PostID"] == answer["PostID"] != post_id


async def test_a_process_without_a_callback_sender_still_queues_the_callback(
    http: httpx.AsyncClient, market: Tenant
) -> None:
    # `served` has no sender: another process's sender delivers what this one queues
    posted = await send(
        http, "json", "/processor/insert/general/json/async", market, lead(7),
        returnurl="https://callbacks.example/hook",
    )  # fmt: skip
    post_id = queue_answer(posted, "json")["PostID"]
    status = (await processed(http, f"/information/queuestatus/{post_id}")).json()
    callback = status["Callback"]
    assert callback is not None, status
    assert callback["URL"] == "https://callbacks.example/hook"


async def test_async_paths_ignore_case_a_trailing_slash_and_a_missing_response_type(
    http: httpx.AsyncClient, market: Tenant
) -> None:
    upper = await http.post("/Processor/Insert/General/JSON/Async/", data=market.posted())
    assert queue_answer(upper, "json")["QueueSuccessful"] is True
    bare = await http.post(
        "/processor/insert/general/async", data={**market.credentials(), **lead(3)}
    )
    assert queue_answer(bare, "xml")["QueueSuccessful"] is True  # URL-encoded: XML
    status = await processed(http, queue_answer(bare, "xml")["StatusURL"])
    assert status.text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<LeadQueueResponse ')
    assert "<Response>\n    <PostResponse " in status.text


async def queued_rows(pool: Any) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT * FROM queued_posts ORDER BY queued_at")
        return list(await cursor.fetchall())


async def test_a_refused_credential_is_answered_at_once_and_nothing_is_queued(
    http: httpx.AsyncClient, market: Tenant, pool: Any
) -> None:
    posted = {**market.posted(), "password": "wrong"}
    answer = await http.post("/processor/insert/general/json/async", data=posted)
    body = answer.json()
    assert (answer.status_code, body["ResponseType"], body["isValidPost"]) == (
        200,
        "No_Account_Found",
        False,
    )
    assert body["ResponseDetails"] == "The password does not match"
    assert await queued_rows(pool) == []
    status = (await http.get(f"/information/queuestatus/{body['PostID']}")).json()
    assert "QueueStatus" not in status and status["IsValid"] is False


async def test_an_unreadable_body_is_answered_at_once_and_nothing_is_queued(
    http: httpx.AsyncClient, market: Tenant, pool: Any
) -> None:
    answer = await http.post(
        "/processor/insert/transfer/xml/async",
        content=b"<Leads><Lead>",
        headers={"content-type": "application/xml"},
    )
    assert "<ResponseType>Data_Errors</ResponseType>" in answer.text
    assert "<PostResponse " in answer.text
    assert await queued_rows(pool) == []


async def test_a_returnurl_is_kept_and_one_that_is_no_web_url_is_refused(
    http: httpx.AsyncClient, market: Tenant, pool: Any
) -> None:
    bad = await send(
        http, "json", "/processor/insert/general/json/async", market, lead(4), returnurl="ftp://x"
    )
    assert bad.json()["ResponseType"] == "Data_Errors"
    assert "returnurl must be an absolute http or https URL" in bad.json()["ResponseDetails"]
    assert await queued_rows(pool) == []
    good = await send(
        http,
        "xml",
        "/processor/insert/general/xml/async",
        market,
        lead(5),
        returnurl="https://source.example/done?id=7",
    )
    assert queue_answer(good, "xml")["QueueSuccessful"] is True
    [row] = await queued_rows(pool)
    assert row["return_url"] == "https://source.example/done?id=7"


async def test_the_queue_holds_at_most_the_accounts_limit_of_posts_waiting(
    pool: Any, distributor: Distributor, market: Tenant, buyers: BuyerServer
) -> None:
    buyers.behave("standard", delay=1.5)  # returnsends waits for it: the posts stay unprocessed
    settings = replace(Settings(), receiver_address="127.0.0.1:0")
    async with servicers(pool, distributor, queue=replace(QUEUE, max_queued=2)) as built:
        served = await create_server(built, "127.0.0.1:0")
        try:
            async with (
                receiver(settings, served.local) as address,
                httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as http,
            ):
                path = "/processor/insert/returnsends/json/async"
                first = [
                    (await http.post(path, data={**market.credentials(), **lead(n)})).json()
                    for n in (10, 11)
                ]
                over = (await http.post(path, data={**market.credentials(), **lead(12)})).json()
                assert [a["QueueSuccessful"] for a in first] == [True, True]
                assert over["QueueSuccessful"] is False and over["StatusURL"] == ""
                assert over["ResponseDetails"].startswith("Not queued: the account has 2 posts")
                assert len(await queued_rows(pool)) == 2
                for queued in first:
                    await processed(http, queued["StatusURL"])
                again = (await http.post(path, data={**market.credentials(), **lead(12)})).json()
                assert again["QueueSuccessful"] is True
                await processed(http, again["StatusURL"])
        finally:
            await served.server.stop(None)


async def test_posts_queued_at_once_fill_the_limit_exactly(
    pool: Any, distributor: Distributor, market: Tenant, buyers: BuyerServer
) -> None:
    """Posts arriving together are queued in groups; a group that would pass the limit is
    cut to the room the posts really waiting leave, so exactly the limit is queued."""
    buyers.behave("standard", delay=1.5)  # returnsends waits for it: the posts stay unprocessed
    settings = replace(Settings(), receiver_address="127.0.0.1:0")
    async with servicers(pool, distributor, queue=replace(QUEUE, max_queued=7)) as built:
        served = await create_server(built, "127.0.0.1:0")
        try:
            async with (
                receiver(settings, served.local) as address,
                httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as http,
            ):
                path = "/processor/insert/returnsends/json/async"

                async def post(n: int) -> Any:
                    return (await http.post(path, data={**market.credentials(), **lead(n)})).json()

                answers = await asyncio.gather(*(post(n) for n in range(30, 50)))
                queued = [a for a in answers if a["QueueSuccessful"]]
                assert len(queued) == 7, [a["ResponseDetails"] for a in answers]
                assert all(
                    a["ResponseDetails"].startswith("Not queued: the account has 7 posts")
                    for a in answers
                    if not a["QueueSuccessful"]
                )
                assert len(await queued_rows(pool)) == 7
                for answer in queued:
                    await processed(http, answer["StatusURL"])
                # processed, they leave room again, however many were counted before
                again = await asyncio.gather(*(post(n) for n in range(50, 55)))
                assert [a["QueueSuccessful"] for a in again] == [True] * 5
                for answer in again:
                    await processed(http, answer["StatusURL"])
        finally:
            await served.server.stop(None)


async def test_an_accounts_own_limit_replaces_the_servers(
    pool: Any, distributor: Distributor, market: Tenant, buyers: BuyerServer
) -> None:
    buyers.behave("standard", delay=1.5)  # returnsends waits for it: the posts stay unprocessed
    settings = replace(Settings(), receiver_address="127.0.0.1:0")

    async def limit(most: int) -> None:  # 0: the server's
        settings = callbacks_pb2.AccountSettings(max_queued_posts=most)
        mask = FieldMask(paths=["max_queued_posts"])
        async with market.stub_for(market.key) as stub:
            request = callbacks_pb2.UpdateAccountSettingsRequest(
                settings=settings, update_mask=mask
            )
            await stub.UpdateAccountSettings(request)

    await limit(1)
    async with servicers(pool, distributor, queue=replace(QUEUE, max_queued=2)) as built:
        served = await create_server(built, "127.0.0.1:0")
        try:
            async with (
                receiver(settings, served.local) as address,
                httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as http,
            ):
                path = "/processor/insert/returnsends/json/async"
                first = (await http.post(path, data={**market.credentials(), **lead(20)})).json()
                over = (await http.post(path, data={**market.credentials(), **lead(21)})).json()
                assert first["QueueSuccessful"] is True and over["QueueSuccessful"] is False
                assert over["ResponseDetails"].startswith("Not queued: the account has 1 posts")
                await limit(0)
                again = (await http.post(path, data={**market.credentials(), **lead(21)})).json()
                assert again["QueueSuccessful"] is True  # the server's limit of 2 again
                for queued in (first, again):
                    await processed(http, queued["StatusURL"])
        finally:
            await served.server.stop(None)
