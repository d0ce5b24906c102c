"""The V2 receiver over real HTTP, with static offers and 1-to-1 consent: a JSON or XML post
with the source's API key, its properties stored and read back over gRPC; the refusals of
URL-encoded posts and missing or wrong keys; offers returned, chosen and enforced against
real buyer servers on loopback; consent evidence stored, read back and kept per account."""

from __future__ import annotations

import asyncio
import copy
import json
import os
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import grpc
import httpx
import psycopg
import pytest
from google.protobuf import field_mask_pb2
from leadrouter.v1 import admin_pb2, buyers_pb2, distribution_pb2

from clients.client import distribution_async, document, struct
from server.bootstrap import receiver
from server.config import Settings
from server.domain.intake.offers import NO_CONSENT
from tests.support.buyers import BuyerServer

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "acme.json").read_text())
FIELDS = {
    "FirstName": "Ann",
    "LastName": "Lee",
    "Email": "ann@example.com",
    "Phone": "(702) 555-0100",
    "Zip": "89101",
    "Age": "30",
}


def offer(company: str, consent_text: str) -> dict[str, str]:
    return {
        "company_name": company,
        "company_phone": "(702) 555-0199",
        "name": f"{company} quote",
        "description": "A free auto insurance quote",
        "url": f"https://{company.lower()}.example",
        "image_url": f"https://{company.lower()}.example/logo.png",
        "privacy_url": f"https://{company.lower()}.example/privacy",
        "terms_url": f"https://{company.lower()}.example/terms",
        "duration": "30 days",
        "amount": "0.00",
        "tcpa_consent_text": consent_text,
    }


def buyer(key: str, buyers: BuyerServer, **account: Any) -> dict[str, Any]:
    return {
        "key": key,
        "name": f"Buyer {key}",
        "deliveries": [
            {
                "key": "post",
                "type": "http_post",
                "lead_type": "auto-insurance",
                "address": buyers.address(key),
                "response_search": "accepted",
                "timeout_seconds": 2,
            }
        ],
        "accounts": [{"key": "main", "delivery": "post", "price": "20", **account}],
    }


@pytest.fixture
async def http(grpc_address: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = replace(Settings(), receiver_address="127.0.0.1:0")
    async with (
        receiver(settings, grpc_address) as address,
        httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as client,
    ):
        yield client


class Market:
    """An account with the example lead source, its campaign returning client offers or not,
    buyers with offers, and the source's API key."""

    def __init__(self, stub_for: Any, grpc_address: str, key: str) -> None:
        self.stub_for, self.grpc_address, self.key = stub_for, grpc_address, key
        self.ids: Any = None
        self.source_key = ""

    async def apply(self, clients: list[dict[str, Any]], *, one_to_one: bool) -> Any:
        document = copy.deepcopy(EXAMPLE)
        campaign = document["sources"][0]["campaigns"][0]
        campaign["return_client_offers"] = one_to_one
        document["clients"] = clients
        async with self.stub_for(self.key) as stub:
            self.ids = await stub.ApplyConfig(
                admin_pb2.ApplyConfigRequest(document=struct(document))
            )
            if not self.source_key:
                made = await stub.CreateSourceKey(
                    admin_pb2.CreateSourceKeyRequest(source_id=self.ids.sources["acme-media"])
                )
                self.source_key = made.secret
        return self.ids

    def body(self, properties: dict[str, Any] | None = None, **fields: str) -> dict[str, Any]:
        return {
            "source": {
                "lid": self.ids.lead_types["auto-insurance"],
                "aid": self.ids.campaigns["acme-auto-web"],
            },
            "leads": [{"properties": properties or {}, "fields": {**FIELDS, **fields}}],
        }

    def headers(self) -> dict[str, str]:
        return {"api-key": self.source_key}

    async def offer_id(self, client: str) -> int:
        async with self.stub_for(self.key) as stub:
            found = await stub.GetDeliveryAccount(
                admin_pb2.GetDeliveryAccountRequest(id=self.ids.accounts[f"{client}/main"])
            )
        return int(found.offer.id)

    async def consent(self, lead_id: int) -> Any:
        async with self.stub_for(self.key) as stub:
            return await stub.GetConsentEvidence(
                admin_pb2.GetConsentEvidenceRequest(lead_id=lead_id)
            )

    async def scan_log(self, lead_id: int) -> str:
        async with distribution_async(self.grpc_address, self.key) as stub:
            found = await stub.GetLeadScanLog(
                distribution_pb2.GetLeadScanLogRequest(lead_id=lead_id)
            )
        return "\n".join(e.log for e in found.entries)


@pytest.fixture
def market(new_account: Any, stub_for: Any, grpc_address: str) -> Any:
    async def create(clients: list[dict[str, Any]], *, one_to_one: bool = True) -> Market:
        account = await new_account("V2 market")
        made = Market(stub_for, grpc_address, account.api_key)
        await made.apply(clients, one_to_one=one_to_one)
        return made

    return create


async def lead_count(pool: Any) -> int:
    async with pool.connection() as conn:
        row = await (await conn.execute("SELECT count(*) AS n FROM leads")).fetchone()
    assert row is not None
    return int(row["n"])


async def received(buyers: BuyerServer, key: str) -> list[Any]:
    for _ in range(200):
        if buyers.of(key):
            return buyers.of(key)
        await asyncio.sleep(0.05)
    raise AssertionError(f"buyer {key} received nothing")


def three_buyers(buyers: BuyerServer) -> list[dict[str, Any]]:
    """a and b match every lead; c only leads aged 60 or more. Each has an offer."""
    old = [{"field": "Age", "operator": "GreaterOrEqual", "value": "60"}]
    return [
        buyer("a", buyers, offer=offer("Alpha", "I agree to be called by Alpha.")),
        buyer("b", buyers, offer=offer("Beta", "I agree to be called by Beta.")),
        buyer("c", buyers, offer=offer("Gamma", "I agree to Gamma."), criteria=old),
    ]


# -- the V2 receiver ----------------------------------------------------------------------------


async def test_a_v2_post_stores_its_properties_and_grpc_reads_them_back(
    market: Any, http: httpx.AsyncClient, stub_for: Any
) -> None:
    m = await market([], one_to_one=False)
    properties = {"reference": "ref-v2-1", "noSell": True, "tags": ["web", "spring promo"]}
    answer = await http.post("/V2/Insert/General/", json=m.body(properties), headers=m.headers())
    body = answer.json()
    assert answer.status_code == 200 and body["ResponseType"] == "No_Error", body
    assert body["ResponseDetails"] == "Lead was accepted (noSell: stored, not distributed)"
    assert body["Offers"] == []
    evidence = await m.consent(body["LeadIdentifier"])
    assert (evidence.reference, evidence.no_sell) == ("ref-v2-1", True)
    assert list(evidence.tags) == ["web", "spring promo"]
    assert not evidence.one_to_one and list(evidence.records) == []
    async with stub_for(m.key) as stub:
        found = await stub.FindLeads(admin_pb2.FindLeadsRequest(reference="ref-v2-1"))
    assert [list(lead.tags) for lead in found.leads] == [["web", "spring promo"]]


async def test_a_v2_xml_post_reads_its_tags_and_answers_in_xml(
    market: Any, http: httpx.AsyncClient
) -> None:
    m = await market([], one_to_one=False)
    fields = "".join(f"<{name}>{value}</{name}>" for name, value in FIELDS.items())
    document = (
        f'<Leads lid="{m.ids.lead_types["auto-insurance"]}" '
        f'aid="{m.ids.campaigns["acme-auto-web"]}"><Lead reference="x-1">'
        f"<Tags><Tag>xml</Tag><Tag>second</Tag></Tags>{fields}</Lead></Leads>"
    )
    answer = await http.post(
        "/v2/insert/general",
        content=document,
        headers={"content-type": "application/xml", "authorization": f"Bearer {m.source_key}"},
    )
    root = ElementTree.fromstring(answer.text)
    assert root.tag == "PostResponse" and root.findtext("ResponseType") == "No_Error"
    evidence = await m.consent(int(root.findtext("LeadIdentifier") or 0))
    assert list(evidence.tags) == ["xml", "second"] and evidence.reference == "x-1"


async def test_a_url_encoded_v2_post_is_refused_and_nothing_is_stored(
    market: Any, http: httpx.AsyncClient, pool: Any
) -> None:
    m = await market([], one_to_one=False)
    before = await lead_count(pool)
    form = {"lid": str(m.ids.lead_types["auto-insurance"]), **FIELDS}
    answer = await http.post("/v2/insert/general/xml", data=form, headers=m.headers())
    assert answer.status_code == 415
    root = ElementTree.fromstring(answer.text)
    assert root.findtext("isValidPost") == "false"
    assert "JSON or XML bodies only" in (root.findtext("ResponseDetails") or "")
    query_only = await http.get("/v2/insert/general", params=form, headers=m.headers())
    assert query_only.status_code == 415 and query_only.json()["ResponseType"] == "Data_Errors"
    assert await lead_count(pool) == before


async def test_a_v2_post_without_a_key_or_with_a_wrong_one_is_refused(
    market: Any, http: httpx.AsyncClient, pool: Any
) -> None:
    m = await market([], one_to_one=False)
    before = await lead_count(pool)
    missing = await http.post("/v2/insert/general/json", json=m.body())
    assert missing.status_code == 401
    assert missing.json()["ResponseType"] == "No_Account_Found"
    assert "API key" in missing.json()["ResponseDetails"]
    wrong_key = "lr_abcdefgh_" + "x" * 43
    wrong = await http.post(
        "/v2/insert/general/json", json=m.body(), headers={"api-key": wrong_key}
    )
    body = wrong.json()
    assert body["isValidPost"] is False and body["ResponseType"] == "No_Account_Found"
    details = body["ResponseDetails"]
    assert "Acme" not in details and str(m.ids.sources["acme-media"]) not in details
    assert await lead_count(pool) == before


# -- offers and 1-to-1 consent ----------------------------------------------------------------


async def test_offers_are_read_and_written_as_config_and_applying_twice_writes_nothing(
    market: Any, buyers: BuyerServer
) -> None:
    clients = three_buyers(buyers)
    m = await market(clients)
    first = await m.offer_id("a")
    async with m.stub_for(m.key) as stub:
        found = await stub.GetDeliveryAccount(
            admin_pb2.GetDeliveryAccountRequest(id=m.ids.accounts["a/main"])
        )
    assert found.offer.company_name == "Alpha" and found.offer.amount == "0"
    assert found.offer.tcpa_consent_text == "I agree to be called by Alpha."
    assert found.offer.terms_url == "https://alpha.example/terms"
    again = await m.apply(clients, one_to_one=True)
    assert {c.action for c in again.changes} == {"unchanged"}
    clients[0]["accounts"][0]["offer"]["description"] = "Now with roadside help"
    changed = await m.apply(clients, one_to_one=True)
    actions = {(c.kind, c.key): c.action for c in changed.changes if c.action != "unchanged"}
    assert actions == {("account", "a/main"): "updated"}
    assert await m.offer_id("a") == first  # the offer keeps its id


async def test_a_post_is_answered_with_the_offers_of_the_buyers_it_is_eligible_for(
    market: Any, buyers: BuyerServer, http: httpx.AsyncClient, idle: Any
) -> None:
    m = await market(three_buyers(buyers))
    answer = await http.post("/v2/insert/general", json=m.body(), headers=m.headers())
    body = answer.json()
    assert body["ResponseType"] == "No_Error", body
    offered = {o["CompanyName"]: o for o in body["Offers"]}
    assert sorted(offered) == ["Alpha", "Beta"]  # not Gamma: the lead is 30
    alpha = offered["Alpha"]
    assert alpha["OfferID"] == str(await m.offer_id("a"))
    assert alpha["Buyer"] == "Buyer a" and alpha["ClientUID"] == m.ids.clients["a"]
    assert alpha["TCPAConsentText"] == "I agree to be called by Alpha."
    assert alpha["Duration"] == "30 days" and alpha["Amount"] == 0
    await idle()
    assert buyers.received == []  # no offer chosen: no consent, no buyer
    assert NO_CONSENT in await m.scan_log(body["LeadIdentifier"])


async def test_only_the_buyer_whose_offer_was_chosen_with_consent_receives_the_lead(
    market: Any, buyers: BuyerServer, http: httpx.AsyncClient, idle: Any
) -> None:
    m = await market(three_buyers(buyers))
    alpha = await m.offer_id("a")
    chosen = {
        "ids": [str(alpha)],
        "consent": True,
        "consentedAt": "2026-12-01T10:15:00Z",
        "ipAddress": "203.0.113.7",
        "userAgent": "Mozilla/5.0 (test)",
        "pageUrl": "https://quotes.example/auto",
        "trustedFormCertUrl": "https://cert.trustedform.com/0123abcd",
    }
    answer = await http.post(
        "/v2/insert/general/json", json=m.body({"offer": chosen}), headers=m.headers()
    )
    body = answer.json()
    assert body["ResponseType"] == "No_Error", body
    assert len(await received(buyers, "a")) == 1
    await idle()
    assert buyers.of("b") == [] and buyers.of("c") == []
    log = await m.scan_log(body["LeadIdentifier"])
    assert "Buyer b" in log and NO_CONSENT in log
    evidence = await m.consent(body["LeadIdentifier"])
    assert evidence.one_to_one
    [record] = evidence.records
    assert record.offer_id == alpha and record.consent
    assert record.delivery_account_id == m.ids.accounts["a/main"]
    assert record.consent_text == "I agree to be called by Alpha."
    assert record.consented_at.ToJsonString() == "2026-12-01T10:15:00Z"
    assert (record.ip_address, record.user_agent) == ("203.0.113.7", "Mozilla/5.0 (test)")
    assert record.page_url == "https://quotes.example/auto"
    assert record.trusted_form_cert == "https://cert.trustedform.com/0123abcd"


async def test_a_1_to_1_lead_is_not_sent_by_hand_to_a_buyer_the_consumer_did_not_consent_to(
    market: Any, buyers: BuyerServer, http: httpx.AsyncClient, idle: Any
) -> None:
    m = await market(three_buyers(buyers))
    chosen = {"ids": [str(await m.offer_id("a"))], "consent": True}
    answer = await http.post(
        "/v2/insert/general/json", json=m.body({"offer": chosen}), headers=m.headers()
    )
    lead_id = answer.json()["LeadIdentifier"]
    await received(buyers, "a")
    await idle()
    async with distribution_async(m.grpc_address, m.key) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.ProcessClientDelivery(
                distribution_pb2.ProcessClientDeliveryRequest(
                    lead_id=lead_id,
                    client_id=m.ids.clients["b"],
                    account_id=m.ids.accounts["b/main"],
                )
            )
        sends = await stub.ListSends(distribution_pb2.ListSendsRequest(lead_id=lead_id))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "did not consent to Buyer b" in (refused.value.details() or "")
    assert [s.client_id for s in sends.sends] == [m.ids.clients["a"]]
    assert buyers.of("b") == []


async def test_an_offer_chosen_without_consent_sends_the_lead_to_nobody(
    market: Any, buyers: BuyerServer, http: httpx.AsyncClient, idle: Any
) -> None:
    m = await market(three_buyers(buyers))
    chosen = {"id": str(await m.offer_id("b")), "consent": False, "jornayaLeadId": "J-1"}
    answer = await http.post(
        "/v2/insert/general", json=m.body({"offer": chosen}), headers=m.headers()
    )
    body = answer.json()
    assert body["ResponseType"] == "No_Error", body
    await idle()
    assert buyers.received == []
    [record] = (await m.consent(body["LeadIdentifier"])).records
    assert not record.consent and record.jornaya_lead_id == "J-1"


async def test_an_offer_chosen_in_xml_is_enforced(
    market: Any, buyers: BuyerServer, http: httpx.AsyncClient, idle: Any
) -> None:
    m = await market(three_buyers(buyers))
    fields = "".join(f"<{name}>{value}</{name}>" for name, value in FIELDS.items())
    document = (
        f'<Leads lid="{m.ids.lead_types["auto-insurance"]}" '
        f'aid="{m.ids.campaigns["acme-auto-web"]}"><Lead>'
        f'<Offer consent="true"><Id>{await m.offer_id("b")}</Id>'
        f"<IpAddress>198.51.100.2</IpAddress></Offer>{fields}</Lead></Leads>"
    )
    answer = await http.post(
        "/v2/insert/general/xml",
        content=document,
        headers={"content-type": "text/xml", **m.headers()},
    )
    root = ElementTree.fromstring(answer.text)
    assert root.findtext("ResponseType") == "No_Error", answer.text
    names = sorted(o.findtext("CompanyName") or "" for o in root.iter("Offer"))
    assert names == ["Alpha", "Beta"]
    assert len(await received(buyers, "b")) == 1
    await idle()
    assert buyers.of("a") == []


async def test_a_post_naming_an_offer_not_offered_is_refused_and_nothing_is_stored(
    market: Any, buyers: BuyerServer, http: httpx.AsyncClient, pool: Any, idle: Any
) -> None:
    m = await market(three_buyers(buyers))
    other = await market(
        [buyer("z", buyers, offer=offer("Zeta", "I agree to Zeta."))], one_to_one=True
    )
    not_offered = {
        "a buyer the lead does not match": str(await m.offer_id("c")),
        "another account's offer": str(await other.offer_id("z")),
        "an unknown id": "999999999",
    }
    before = await lead_count(pool)
    for case, offer_id in not_offered.items():
        chosen = {"ids": [str(await m.offer_id("a")), offer_id], "consent": True}
        answer = await http.post(
            "/v2/insert/general", json=m.body({"offer": chosen}), headers=m.headers()
        )
        body = answer.json()
        assert body["isValidPost"] is False, case
        assert body["ResponseType"] == "Data_Errors", case
        assert f"Offer '{offer_id}' was not offered for this lead" in body["ResponseDetails"]
        assert sorted(o["CompanyName"] for o in body["Offers"]) == ["Alpha", "Beta"], case
    assert await lead_count(pool) == before
    await idle()
    assert buyers.received == []


async def test_an_offer_block_on_a_campaign_without_offers_is_refused(
    market: Any, buyers: BuyerServer, http: httpx.AsyncClient
) -> None:
    m = await market(three_buyers(buyers), one_to_one=False)
    chosen = {"ids": [str(await m.offer_id("a"))], "consent": True}
    answer = await http.post(
        "/v2/insert/general", json=m.body({"offer": chosen}), headers=m.headers()
    )
    body = answer.json()
    assert body["ResponseType"] == "Data_Errors"
    assert "does not return client offers" in body["ResponseDetails"]


async def test_consent_evidence_keeps_the_text_shown_and_stays_in_its_account(
    market: Any, buyers: BuyerServer, http: httpx.AsyncClient, new_account: Any, stub_for: Any
) -> None:
    clients = three_buyers(buyers)
    m = await market(clients)
    chosen = {"ids": [str(await m.offer_id("a"))], "consent": True}
    answer = await http.post(
        "/v2/insert/general", json=m.body({"offer": chosen}), headers=m.headers()
    )
    lead_id = answer.json()["LeadIdentifier"]
    clients[0]["accounts"][0]["offer"]["tcpa_consent_text"] = "New words."
    await m.apply(clients, one_to_one=True)
    [record] = (await m.consent(lead_id)).records
    assert record.consent_text == "I agree to be called by Alpha."
    stranger = await new_account("Stranger")
    async with stub_for(stranger.api_key) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetConsentEvidence(admin_pb2.GetConsentEvidenceRequest(lead_id=lead_id))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_an_offer_is_saved_kept_and_removed_through_grpc(
    market: Any, buyers: BuyerServer
) -> None:
    m = await market([buyer("a", buyers)])
    account_id = m.ids.accounts["a/main"]
    async with m.stub_for(m.key) as stub:
        stored = await stub.GetDeliveryAccount(admin_pb2.GetDeliveryAccountRequest(id=account_id))
        assert not stored.HasField("offer")
        stored.offer.CopyFrom(buyers_pb2.StaticOffer(**offer("Alpha", "I agree.")))
        saved = await stub.SaveDeliveryAccount(admin_pb2.SaveDeliveryAccountRequest(account=stored))
        assert saved.offer.id and saved.offer.company_name == "Alpha"
        assert saved.offer.delivery_account_id == account_id
        priced = buyers_pb2.DeliveryAccount(id=account_id, price="30")
        kept = await stub.SaveDeliveryAccount(
            admin_pb2.SaveDeliveryAccountRequest(
                account=priced, update_mask=field_mask_pb2.FieldMask(paths=["price"])
            )
        )
        assert (kept.price, kept.offer.id) == ("30", saved.offer.id)
        bad = buyers_pb2.DeliveryAccount(id=account_id, offer=buyers_pb2.StaticOffer())
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.SaveDeliveryAccount(
                admin_pb2.SaveDeliveryAccountRequest(
                    account=bad, update_mask=field_mask_pb2.FieldMask(paths=["offer"])
                )
            )
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "account.offer.tcpa_consent_text" in (caught.value.details() or "")
        removed = await stub.SaveDeliveryAccount(
            admin_pb2.SaveDeliveryAccountRequest(
                account=buyers_pb2.DeliveryAccount(id=account_id),
                update_mask=field_mask_pb2.FieldMask(paths=["offer"]),
            )
        )
        assert not removed.HasField("offer") and removed.price == "30"


async def test_consent_evidence_is_append_only(
    market: Any, buyers: BuyerServer, http: httpx.AsyncClient, pool: Any
) -> None:
    """No statement of the storage changes or removes a consent record, and the database
    refuses one that tries."""
    folder = Path(__file__).parents[2] / "server" / "storage" / "sql"
    statements = " ".join((folder / name).read_text() for name in sorted(os.listdir(folder)))
    flat = " ".join(statements.split())
    assert "UPDATE consent_evidence" not in flat and "DELETE FROM consent_evidence" not in flat
    m = await market(three_buyers(buyers))
    chosen = {"ids": [str(await m.offer_id("a"))], "consent": True}
    answer = await http.post(
        "/v2/insert/general", json=m.body({"offer": chosen}), headers=m.headers()
    )
    lead_id = answer.json()["LeadIdentifier"]
    for change in (
        "UPDATE consent_evidence SET consent = false WHERE lead_id = %s",
        "DELETE FROM consent_evidence WHERE lead_id = %s",
    ):
        async with pool.connection() as conn:
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                await conn.execute(change, [lead_id])
    assert [r.consent for r in (await m.consent(lead_id)).records] == [True]


async def test_posting_instructions_describe_the_offer_block_and_list_the_offers(
    market: Any, buyers: BuyerServer
) -> None:
    m = await market(three_buyers(buyers))
    async with m.stub_for(m.key) as stub:
        found = await stub.GetPostingInstructions(
            admin_pb2.GetPostingInstructionsRequest(campaign_key="acme-auto-web")
        )
    offers = document(found.document)["offers"]
    assert offers["url"].endswith("/v2/insert/general/{json|xml}")
    assert offers["ping_url"].endswith("/v2/insert/ping/{json|xml}")
    assert "orderId" in offers["ping"] and "its order reserved" in offers["ping"]
    assert f"`POST {offers['ping_url']}`" in found.markdown
    assert offers["offer_block"]["consent"] is True
    listed = [(o["id"], o["company_name"]) for o in offers["offers"]]
    assert listed == [
        (str(await m.offer_id("a")), "Alpha"),
        (str(await m.offer_id("b")), "Beta"),
        (str(await m.offer_id("c")), "Gamma"),
    ]
    assert "## Offers and 1-to-1 consent" in found.markdown
    assert "I agree to be called by Beta." in found.markdown
    plain = await market([buyer("a", buyers)], one_to_one=False)
    async with plain.stub_for(plain.key) as stub:
        other = await stub.GetPostingInstructions(
            admin_pb2.GetPostingInstructionsRequest(campaign_key="acme-auto-web")
        )
    assert document(other.document)["offers"] is None
    assert "1-to-1" not in other.markdown
