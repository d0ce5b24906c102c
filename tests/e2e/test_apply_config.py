"""Config as code through ApplyConfig: the example applies, twice changes nothing, bad is whole."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest
from leadrouter.v1 import admin_pb2

from clients.client import struct, violations
from tests.conftest import snapshot

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "acme.json").read_text())


def without_field(document: dict[str, Any], name: str) -> dict[str, Any]:
    """A copy of the document whose first lead type no longer has the named field."""
    changed = copy.deepcopy(document)
    fields = changed["lead_types"][0]["fields"]
    changed["lead_types"][0]["fields"] = [f for f in fields if f["name"] != name]
    return changed


def request(document: dict[str, Any], dry_run: bool = False) -> admin_pb2.ApplyConfigRequest:
    return admin_pb2.ApplyConfigRequest(document=struct(document), dry_run=dry_run)


async def test_the_example_applies_and_names_every_entity(new_account: Any, stub_for: Any) -> None:
    tenant = await new_account()
    async with stub_for(tenant.api_key) as stub:
        result = await stub.ApplyConfig(request(EXAMPLE))
        campaigns = await stub.ListCampaigns(admin_pb2.ListCampaignsRequest())
    assert set(result.lead_types) == {"auto-insurance"}
    assert set(result.sources) == {"acme-media"}
    assert set(result.campaigns) == {"acme-auto-web", "acme-auto-rev"}
    by_key = {c.key: c for c in campaigns.campaigns}
    assert by_key["acme-auto-web"].price_per_lead == "12.50"
    assert Decimal(by_key["acme-auto-rev"].revenue_share_percent) == Decimal("40")
    assert by_key["acme-auto-rev"].day_max == 5 and by_key["acme-auto-rev"].hour_max == -1


async def test_applying_twice_changes_nothing(pool: Any, new_account: Any, stub_for: Any) -> None:
    tenant = await new_account()
    async with stub_for(tenant.api_key) as stub:
        first = await stub.ApplyConfig(request(EXAMPLE))
        before = await snapshot(pool)
        second = await stub.ApplyConfig(request(EXAMPLE))
    assert await snapshot(pool) == before
    assert (dict(second.lead_types), dict(second.sources), dict(second.campaigns)) == (
        dict(first.lead_types),
        dict(first.sources),
        dict(first.campaigns),
    )
    assert {c.action for c in second.changes} == {"unchanged"}


async def test_a_changed_setting_updates_only_that_campaign(
    new_account: Any, stub_for: Any
) -> None:
    tenant = await new_account()
    changed = copy.deepcopy(EXAMPLE)
    changed["sources"][0]["campaigns"][1]["day_max"] = 7
    async with stub_for(tenant.api_key) as stub:
        await stub.ApplyConfig(request(EXAMPLE))
        result = await stub.ApplyConfig(request(changed))
    actions = {(c.kind, c.key): c.action for c in result.changes}
    assert actions[("campaign", "acme-auto-rev")] == "updated"
    assert actions[("campaign", "acme-auto-web")] == "unchanged"


async def test_a_fields_layout_is_applied_and_read_back(new_account: Any, stub_for: Any) -> None:
    tenant = await new_account()
    changed = copy.deepcopy(EXAMPLE)
    changed["lead_types"][0]["fields"][0].update(col_span=2, width=250, height=30)
    name = changed["lead_types"][0]["fields"][0]["name"]
    async with stub_for(tenant.api_key) as stub:
        await stub.ApplyConfig(request(EXAMPLE))
        result = await stub.ApplyConfig(request(changed))
        lead_type = await stub.GetLeadType(
            admin_pb2.GetLeadTypeRequest(id=result.lead_types["auto-insurance"])
        )
    actions = {(c.kind, c.key): c.action for c in result.changes if c.action != "unchanged"}
    assert actions == {("lead_field", f"auto-insurance/{name}"): "updated"}
    first, second = lead_type.fields[:2]
    assert (first.col_span, first.width, first.height) == (2, 250, 30)
    assert (second.col_span, second.width, second.height) == (0, 0, 0)


def with_buyer(criteria: list[dict[str, Any]]) -> dict[str, Any]:
    document = copy.deepcopy(EXAMPLE)
    document["clients"] = [
        {
            "key": "west",
            "name": "West",
            "deliveries": [
                {"key": "post", "type": "http_post", "lead_type": "auto-insurance",
                 "address": "https://buyer.example/post"}
            ],
            "accounts": [{"key": "main", "delivery": "post", "criteria": criteria}],
        }
    ]  # fmt: skip
    return document


async def test_criteria_applied_again_keep_their_ids_and_a_changed_one_is_new(
    new_account: Any, stub_for: Any
) -> None:
    state = {"field": "State", "operator": "In", "value": "CA,NV"}
    adult = {"field": "Age", "operator": "GreaterOrEqual", "value": "18"}
    async with stub_for((await new_account()).api_key) as stub:
        applied = await stub.ApplyConfig(request(with_buyer([state, adult])))
        account = admin_pb2.GetDeliveryAccountRequest(id=applied.accounts["west/main"])
        first = await stub.GetDeliveryAccount(account)
        again = await stub.ApplyConfig(request(with_buyer([adult, state])))
        reordered = await stub.GetDeliveryAccount(account)
        await stub.ApplyConfig(request(with_buyer([state, {**adult, "value": "21"}])))
        changed = await stub.GetDeliveryAccount(account)
    ids = {c.field: c.id for c in first.criteria}
    assert all(ids.values()) and len(set(ids.values())) == 2
    assert {(c.kind, c.action) for c in again.changes} >= {("account", "updated")}  # the order
    assert [(c.field, c.id) for c in reordered.criteria] == [
        ("Age", ids["Age"]),
        ("State", ids["State"]),
    ]
    assert changed.criteria[0].id == ids["State"]
    assert changed.criteria[1].id not in (0, ids["Age"], ids["State"])


async def test_an_invalid_document_is_rejected_whole(
    pool: Any, new_account: Any, stub_for: Any
) -> None:
    tenant = await new_account()
    bad = copy.deepcopy(EXAMPLE)
    bad["lead_types"].append({"key": "fresh", "name": "Fresh", "fields": [{"name": "A"}]})
    bad["sources"][0]["campaigns"][0]["day_max"] = -4
    bad["sources"][0]["campaigns"][1]["lead_type"] = "nowhere"
    bad["lead_types"][0]["fields"][6]["special"] = "Town"
    before = await snapshot(pool)
    async with stub_for(tenant.api_key) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ApplyConfig(request(bad))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(path for path, _ in violations(caught.value)) == [
        "lead_types[0].fields[6].special",
        "sources[0].campaigns[0].day_max",
        "sources[0].campaigns[1].lead_type",
    ]
    assert await snapshot(pool) == before


async def test_a_new_rule_on_a_dropped_field_rejects_the_whole_document(
    pool: Any, new_account: Any, stub_for: Any
) -> None:
    tenant = await new_account()
    async with stub_for(tenant.api_key) as stub:
        await stub.ApplyConfig(request(EXAMPLE))
        before = await snapshot(pool)
        dropped = without_field(EXAMPLE, "Age")
        dropped["sources"][0]["campaigns"][0]["rules"] = []
        dropped["sources"][0]["campaigns"].append(
            {
                "key": "late",
                "name": "Late",
                "lead_type": "auto-insurance",
                "rules": [{"field": "Age", "operator": "Less", "value": "99"}],
            }
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ApplyConfig(request(dropped))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert await snapshot(pool) == before


async def test_a_field_still_used_by_a_stored_rule_is_not_dropped(
    pool: Any, new_account: Any, stub_for: Any
) -> None:
    tenant = await new_account()
    async with stub_for(tenant.api_key) as stub:
        await stub.ApplyConfig(request(EXAMPLE))
        before = await snapshot(pool)
        dropped = without_field(EXAMPLE, "Age")
        del dropped["sources"]
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ApplyConfig(request(dropped))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [p for p, _ in violations(caught.value)] == ["lead_types[0].fields"]
    assert await snapshot(pool) == before


async def test_a_dry_run_reports_and_changes_nothing(
    pool: Any, new_account: Any, stub_for: Any
) -> None:
    tenant = await new_account()
    before = await snapshot(pool)
    async with stub_for(tenant.api_key) as stub:
        result = await stub.ApplyConfig(request(EXAMPLE, dry_run=True))
    assert {c.action for c in result.changes} == {"created"}
    assert set(result.campaigns) == {"acme-auto-web", "acme-auto-rev"}
    assert await snapshot(pool) == before


async def test_a_document_may_use_a_lead_type_applied_earlier(
    new_account: Any, stub_for: Any
) -> None:
    tenant = await new_account()
    later = {
        "sources": [
            {
                "key": "beta",
                "name": "Beta",
                "campaigns": [
                    {
                        "key": "beta-web",
                        "name": "Beta Web",
                        "lead_type": "auto-insurance",
                        "rules": [{"field": "age", "operator": "Between", "value": "18,65"}],
                    }
                ],
            }
        ]
    }
    async with stub_for(tenant.api_key) as stub:
        first = await stub.ApplyConfig(request({"lead_types": EXAMPLE["lead_types"]}))
        result = await stub.ApplyConfig(request(later))
        campaign = await stub.GetCampaign(
            admin_pb2.GetCampaignRequest(id=result.campaigns["beta-web"])
        )
    assert campaign.lead_type_id == first.lead_types["auto-insurance"]


async def test_a_field_and_the_rule_using_it_can_go_together(
    new_account: Any, stub_for: Any
) -> None:
    tenant = await new_account()
    dropped = without_field(EXAMPLE, "Age")
    dropped["sources"][0]["campaigns"][0]["rules"] = []
    async with stub_for(tenant.api_key) as stub:
        await stub.ApplyConfig(request(EXAMPLE))
        result = await stub.ApplyConfig(request(dropped))
        lead_type = await stub.GetLeadType(
            admin_pb2.GetLeadTypeRequest(id=result.lead_types["auto-insurance"])
        )
    assert "Age" not in [f.name for f in lead_type.fields]
    assert ("lead_field", "auto-insurance/Age", "deleted") in [
        (c.kind, c.key, c.action) for c in result.changes
    ]
