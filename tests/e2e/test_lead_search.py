"""Searching stored leads by their contact details: SearchLeads over gRPC, SearchForLead
through zeep, and the index that answers it."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import grpc
import pytest
import zeep
from leadrouter.v1 import admin_pb2, catalog_pb2, leads_pb2, leads_pb2_grpc

from clients.client import admin_async
from server.storage.queries import q
from tests.e2e.test_distribution import Market
from tests.e2e.test_operations import build, lead  # noqa: F401  (build is a fixture)

ROOT = Path(__file__).parents[2]
KEYS = "SELECT id, contact_keys FROM leads ORDER BY id"


@pytest.fixture
async def market(build: Any) -> Market:  # noqa: F811
    m = await build([])
    await m.post(lead(1, Email="Ann.Lee@Example.com", Phone="(702) 555-0101"))
    await m.post(lead(2, Email="bob@example.com", Phone="702.555.0102"))
    return m


async def search(m: Market, **values: Any) -> list[Any]:
    lid = m.ids.lead_types["auto-insurance"]
    async with admin_async(m.address, m.key) as stub:
        found = await stub.SearchLeads(admin_pb2.SearchLeadsRequest(lead_type_id=lid, **values))
    return list(found.leads)


async def test_leads_are_found_by_email_and_phone_as_people_write_them(market: Market) -> None:
    [ann] = await search(market, email=" ann.lee@EXAMPLE.com ")
    assert (ann.lead.campaign_id, ann.is_valid_post, ann.response_type) == (
        market.ids.campaigns["acme-auto-web"], True, "No_Error"
    )  # fmt: skip
    assert [f.lead.id for f in await search(market, primary_phone="7025550101")] == [ann.lead.id]
    [bob] = await search(market, primary_phone="+1 (702) 555 0102")
    assert bob.lead.id != ann.lead.id
    assert await search(market, email="ann.lee@example.com", primary_phone="7025550102") == []
    assert await search(market, email="nobody@example.com") == []


async def test_leads_are_found_by_address_with_case_and_blanks_ignored(market: Market) -> None:
    lid = market.ids.lead_types["auto-insurance"]
    street = catalog_pb2.LeadField(
        lead_type_id=lid,
        name="Street",
        data_type=catalog_pb2.DATA_TYPE_VARCHAR,
        special=catalog_pb2.SPECIAL_FIELD_ADDRESS,
    )
    async with admin_async(market.address, market.key) as stub:
        await stub.CreateLeadField(admin_pb2.CreateLeadFieldRequest(field=street))
    posted = await market.post(lead(3, Street="12  Main\tSt. Apt 4"))
    [found] = await search(market, address=" 12 MAIN st.  apt 4 ")
    assert found.lead.id == posted.lead_id
    assert await search(market, address="12 Main St.") == []


async def test_an_update_moves_the_lead_to_its_new_email(market: Market) -> None:
    [ann] = await search(market, email="ann.lee@example.com")
    new = "ann@new.example"
    request = leads_pb2.SubmitLeadsRequest(
        credentials=leads_pb2.Credentials(
            vid=str(market.ids.sources["acme-media"]),
            lid=str(market.ids.lead_types["auto-insurance"]),
            password="acme-secret",
        ),
        lead_uid=str(ann.lead.id),
        leads=[leads_pb2.LeadInput(fields=[leads_pb2.FieldValue(name="Email", value=new)])],
    )
    async with grpc.aio.insecure_channel(market.address) as channel:
        answer = await leads_pb2_grpc.LeadServiceStub(channel).UpdateLead(request)
    assert answer.results[0].response_type == leads_pb2.NO_ERROR, answer
    assert await search(market, email="ann.lee@example.com") == []
    assert [f.lead.id for f in await search(market, email="ANN@new.example")] == [ann.lead.id]
    assert [f.lead.id for f in await search(market, primary_phone="702 555 0101")] == [ann.lead.id]


async def test_another_account_finds_only_its_own_leads(market: Market, build: Any) -> None:  # noqa: F811
    other = await build([])
    theirs = await other.post(lead(1, Email="bob@example.com"))
    assert [f.lead.id for f in await search(other, email="bob@example.com")] == [theirs.lead_id]
    [ours] = await search(market, email="bob@example.com")
    assert ours.lead.id != theirs.lead_id


async def test_a_search_needs_a_value_and_a_lead_type_of_the_account(
    market: Market, new_account: Any, grpc_address: str
) -> None:
    lid = market.ids.lead_types["auto-insurance"]
    async with admin_async(market.address, market.key) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as empty:
            await stub.SearchLeads(admin_pb2.SearchLeadsRequest(lead_type_id=lid, email=" "))
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    other = await new_account("Other")
    async with admin_async(grpc_address, other.api_key) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as theirs:
            await stub.SearchLeads(
                admin_pb2.SearchLeadsRequest(lead_type_id=lid, email="bob@example.com")
            )
    assert theirs.value.code() == grpc.StatusCode.NOT_FOUND


async def test_search_for_lead_through_zeep(soap_client: Any, market: Market) -> None:
    lid = market.ids.lead_types["auto-insurance"]
    found = await asyncio.to_thread(
        soap_client.service.SearchForLead, Key=market.key, LID=lid, Email="BOB@example.com"
    )
    [bob] = found
    assert (bob.isValidPost, bob.ResponseType, bob.LID, bob.AID) == (
        True, "No_Error", lid, market.ids.campaigns["acme-auto-web"]
    )  # fmt: skip
    assert bob.Price == 12.5
    with pytest.raises(zeep.exceptions.Fault) as refused:
        await asyncio.to_thread(soap_client.service.SearchForLead, Key=market.key, LID=lid)
    assert refused.value.code.endswith("Client")


async def test_the_search_reads_the_index_not_every_lead(market: Market, pool: Any) -> None:
    """The named statement itself, custom and generic plan, on 30,000 copies of a posted lead
    (its fields, its own email) each with its post. Contact keys are nearly all distinct, so
    PostgreSQL keeps no element statistics for them and guesses that a key matches 0.5% of
    the leads; from 10,000 to 100,000 leads that guess made a plain join hash every post."""
    account = await _account_of(pool, market)
    lid = market.ids.lead_types["auto-insurance"]
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO posts (account_id, id, lead_type_id, is_valid, response_type,"
            " response_details) SELECT %s, md5(g::text)::uuid, %s, true, 0, 'Lead was accepted'"
            " FROM generate_series(1, 30000) g",
            (account, lid),
        )
        await conn.execute(
            "INSERT INTO leads (account_id, post_id, source_id, campaign_id, lead_type_id,"
            " fields, pricing_model, price, contact_keys)"
            " SELECT account_id, md5(g::text)::uuid, source_id, campaign_id, lead_type_id,"
            " fields || jsonb_build_object('Email', 'x' || g || '@example.com'),"
            " pricing_model, price, ARRAY['e:x' || g || '@example.com', 'p:70255' || g]"
            " FROM (SELECT * FROM leads WHERE account_id = %s LIMIT 1) l,"
            " generate_series(1, 30000) g",
            (account,),
        )
        await conn.execute("ANALYZE leads")
        await conn.execute("ANALYZE posts")
        params = {"account_id": account, "lead_type_id": lid, "keys": ["e:bob@example.com"]}
        custom = await conn.execute(
            "EXPLAIN (FORMAT JSON) " + q("search_leads"), {**params, "limit": 100}
        )
        plans = [(await custom.fetchone())["QUERY PLAN"]]
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        await conn.execute(f"PREPARE search(bigint, bigint, text[], bigint) AS {_numbered()}")
        generic = await conn.execute(
            f"EXPLAIN (FORMAT JSON) EXECUTE search({account}, {lid},"
            " ARRAY['e:bob@example.com'], 100)"
        )
        plans.append((await generic.fetchone())["QUERY PLAN"])
    for plan in plans:
        scans = _scans(plan[0]["Plan"])
        assert ("Bitmap Index Scan", "leads_contact_keys", "") in scans, scans
        assert not [s for s in scans if s[0] == "Seq Scan"], scans


def _scans(node: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every node of a JSON plan: its type, index and table."""
    own = (node["Node Type"], node.get("Index Name", ""), node.get("Relation Name", ""))
    return [own] + [s for child in node.get("Plans", []) for s in _scans(child)]


def _numbered() -> str:
    """search_leads with its psycopg placeholders as $1, $2 (in order of appearance)."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    return re.sub(r"%\((\w+)\)s", number, q("search_leads")).rstrip().rstrip(";")


async def _account_of(pool: Any, m: Market) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT account_id FROM leads WHERE campaign_id = %s LIMIT 1",
            (m.ids.campaigns["acme-auto-web"],),
        )
        return int((await cursor.fetchone())["account_id"])


async def test_the_migration_gives_stored_leads_the_keys_new_leads_get(
    market: Market, pool: Any
) -> None:
    """Migration 0016 fills the keys of the leads stored before it, in SQL: the same keys
    server/domain/intake/contacts.py gives a lead posted now."""
    migration = (ROOT / "server/storage/migrations/0016_lead_contact_keys.sql").read_text()
    backfill = migration[migration.index("UPDATE leads") : migration.index("CREATE INDEX")]
    async with pool.connection() as conn:
        before = await (
            await conn.execute("SELECT id, contact_keys FROM leads ORDER BY id")
        ).fetchall()
        await conn.execute("UPDATE leads SET contact_keys = '{}'")
        await conn.execute(backfill)
        after = await (
            await conn.execute("SELECT id, contact_keys FROM leads ORDER BY id")
        ).fetchall()
    assert len(before) == 2 and all(len(r["contact_keys"]) == 2 for r in before)
    assert [(r["id"], sorted(r["contact_keys"])) for r in after] == [
        (r["id"], sorted(r["contact_keys"])) for r in before
    ]
