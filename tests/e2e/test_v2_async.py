"""The V2 general insert's /async URL over real HTTP (/v2/insert/general[/json|/xml]/async):
refused at once on the V2 receiver's terms, else queued and processed as the V2 post is; the
answer kept for the queue status is the V2 post's, offers and noSell wording included, and
only the buyer whose offer was chosen with consent receives the lead."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from tests.e2e.test_receiver_async import processed, stored_answer
from tests.e2e.test_receiver_v2 import (
    FIELDS,
    Market,
    http,
    market,
    received,
    three_buyers,
)
from tests.support.buyers import BuyerServer

__all__ = ["http", "market"]  # fixtures

pytestmark = pytest.mark.asyncio


async def test_a_queued_v2_post_is_answered_and_delivered_as_the_v2_post_is(
    market: Any, buyers: BuyerServer, http: httpx.AsyncClient, idle: Any
) -> None:
    m: Market = await market(three_buyers(buyers))
    alpha = await m.offer_id("a")
    chosen = {"ids": [str(alpha)], "consent": True, "ipAddress": "203.0.113.9"}
    sent = await http.post(
        "/V2/Insert/General/JSON/Async/", json=m.body({"offer": chosen}), headers=m.headers()
    )
    queued = sent.json()
    assert sent.status_code == 200 and queued["QueueSuccessful"] is True, queued
    kept = (await processed(http, queued["StatusURL"])).json()["Response"]
    assert kept["ResponseType"] == "No_Error", kept
    assert sorted(o["CompanyName"] for o in kept["Offers"]) == ["Alpha", "Beta"]
    assert len(await received(buyers, "a")) == 1
    await idle()
    assert buyers.of("b") == [] and buyers.of("c") == []
    [record] = (await m.consent(kept["LeadIdentifier"])).records
    assert record.offer_id == alpha and record.ip_address == "203.0.113.9"


async def test_a_queued_v2_xml_post_keeps_the_v2_xml_answer_with_its_nosell_wording(
    market: Any, http: httpx.AsyncClient
) -> None:
    m: Market = await market([], one_to_one=False)
    fields = "".join(f"<{name}>{value}</{name}>" for name, value in FIELDS.items())
    document = (
        f'<Leads lid="{m.ids.lead_types["auto-insurance"]}" '
        f'aid="{m.ids.campaigns["acme-auto-web"]}"><Lead nosell="true">{fields}</Lead></Leads>'
    )
    headers = {"content-type": "application/xml", "authorization": f"Bearer {m.source_key}"}
    sent = await http.post("/v2/insert/general/async", content=document, headers=headers)
    root = ElementTree.fromstring(sent.text)
    assert root.tag == "LeadQueueResponse" and root.findtext("QueueSuccessful") == "true"
    status = await processed(http, root.findtext("StatusURL") or "")
    kept = ElementTree.fromstring(stored_answer(status, "xml").encode())
    assert kept.tag == "PostResponse" and kept.findtext("ResponseType") == "No_Error"
    assert kept.findtext("ResponseDetails") == "Lead was accepted (noSell: stored, not distributed)"
    assert kept.find("Offers") is not None


async def test_a_v2_async_post_is_refused_at_once_on_the_v2_receivers_terms(
    market: Any, http: httpx.AsyncClient
) -> None:
    m: Market = await market([], one_to_one=False)
    keyless = await http.post("/v2/insert/general/json/async", json=m.body())
    assert keyless.status_code == 401 and keyless.json()["ResponseType"] == "No_Account_Found"
    form = {"lid": str(m.ids.lead_types["auto-insurance"]), **FIELDS}
    encoded = await http.post("/v2/insert/general/async", data=form, headers=m.headers())
    assert encoded.status_code == 415
    wrong = await http.post(
        "/v2/insert/general/json/async", json=m.body(), headers={"api-key": "lr_wrong"}
    )
    refused = wrong.json()
    assert wrong.status_code == 200 and "QueueSuccessful" not in refused
    assert refused["ResponseType"] == "No_Account_Found" and refused["Offers"] == []
