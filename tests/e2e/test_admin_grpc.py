"""The admin service through a real gRPC channel: authentication, account isolation, errors."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2
from leadrouter.v1 import admin_pb2, catalog_pb2

from clients.client import violations

pytestmark = pytest.mark.asyncio

DT = catalog_pb2.DataType


def lead_type(key: str = "auto") -> catalog_pb2.LeadType:
    return catalog_pb2.LeadType(
        key=key,
        name="Auto",
        fields=[
            catalog_pb2.LeadField(name="Email", data_type=DT.DATA_TYPE_VARCHAR, required=True),
            catalog_pb2.LeadField(name="Age", data_type=DT.DATA_TYPE_INT),
        ],
    )


async def seed(stub: Any) -> dict[str, int]:
    """A lead type, a source and a campaign with a rule; their ids."""
    created = await stub.CreateLeadType(admin_pb2.CreateLeadTypeRequest(lead_type=lead_type()))
    source = await stub.CreateSource(
        admin_pb2.CreateSourceRequest(source=catalog_pb2.Source(key="acme", name="Acme"))
    )
    campaign = await stub.CreateCampaign(
        admin_pb2.CreateCampaignRequest(
            campaign=catalog_pb2.Campaign(
                key="web",
                name="Web",
                source_id=source.id,
                lead_type_id=created.id,
                channel=catalog_pb2.CHANNEL_POST,
                password="s3cret",
                price_per_lead="12.50",
                rules=[
                    catalog_pb2.Rule(
                        field="Age", operator=catalog_pb2.OPERATOR_GREATER_OR_EQUAL, value="18"
                    )
                ],
            )
        )
    )
    return {
        "lead_type": created.id,
        "field": created.fields[1].id,
        "source": source.id,
        "campaign": campaign.id,
    }


async def expect(code: grpc.StatusCode, call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code, caught.value.details()
    return caught.value


async def test_a_call_without_a_key_is_unauthenticated(grpc_address: str) -> None:
    async with grpc.aio.insecure_channel(grpc_address) as channel:
        from leadrouter.v1 import admin_pb2_grpc

        stub = admin_pb2_grpc.AdminServiceStub(channel)
        error = await expect(
            grpc.StatusCode.UNAUTHENTICATED, stub.ListLeadTypes(admin_pb2.ListLeadTypesRequest())
        )
    assert "authorization" in (error.details() or "")


async def test_a_made_up_key_is_unauthenticated(stub_for: Any) -> None:
    async with stub_for("lr_abcdefgh_" + "x" * 43) as stub:
        await expect(
            grpc.StatusCode.UNAUTHENTICATED, stub.ListLeadTypes(admin_pb2.ListLeadTypesRequest())
        )


async def test_a_revoked_key_is_unauthenticated(pool: Any, new_account: Any, stub_for: Any) -> None:
    from server.services.accounts import Accounts

    tenant = await new_account()
    info, secret = await Accounts(pool).create_key(tenant.account_id, "temp")
    await Accounts(pool).revoke_key(tenant.account_id, info.id)
    async with stub_for(secret) as stub:
        await expect(
            grpc.StatusCode.UNAUTHENTICATED, stub.ListLeadTypes(admin_pb2.ListLeadTypesRequest())
        )


async def test_a_keys_use_is_recorded_at_most_once_a_minute(
    pool: Any, new_account: Any, stub_for: Any
) -> None:
    tenant = await new_account()

    async def last_used(set_to: str | None = None) -> Any:
        async with pool.connection() as conn:
            if set_to is not None:
                await conn.execute(
                    f"UPDATE api_keys SET last_used_at = now() - interval '{set_to}'"
                    " WHERE account_id = %s",
                    (tenant.account_id,),
                )
            cursor = await conn.execute(
                "SELECT last_used_at FROM api_keys WHERE account_id = %s", (tenant.account_id,)
            )
            return (await cursor.fetchone())["last_used_at"]

    assert await last_used() is None
    async with stub_for(tenant.api_key) as stub:
        await stub.ListLeadTypes(admin_pb2.ListLeadTypesRequest())
        first = await last_used()
        assert first is not None
        recent = await last_used(set_to="10 seconds")
        await stub.ListLeadTypes(admin_pb2.ListLeadTypesRequest())
        assert await last_used() == recent  # used again within the minute: not written
        stale = await last_used(set_to="2 minutes")
        await stub.ListLeadTypes(admin_pb2.ListLeadTypesRequest())
        assert await last_used() > stale


async def test_a_source_key_cannot_call_the_admin_api(new_account: Any, stub_for: Any) -> None:
    tenant = await new_account()
    async with stub_for(tenant.api_key) as stub:
        ids = await seed(stub)
        created = await stub.CreateSourceKey(
            admin_pb2.CreateSourceKeyRequest(source_id=ids["source"], name="posting")
        )
    assert created.secret.startswith("lr_") and created.key.prefix in created.secret
    async with stub_for(created.secret) as source_stub:
        await expect(
            grpc.StatusCode.PERMISSION_DENIED,
            source_stub.ListLeadTypes(admin_pb2.ListLeadTypesRequest()),
        )


async def test_another_account_sees_nothing_of_the_first(new_account: Any, stub_for: Any) -> None:
    a, b = await new_account("A"), await new_account("B")
    async with stub_for(a.api_key) as stub_a:
        await seed(stub_a)
    async with stub_for(b.api_key) as stub_b:
        assert not (await stub_b.ListLeadTypes(admin_pb2.ListLeadTypesRequest())).lead_types
        assert not (await stub_b.ListSources(admin_pb2.ListSourcesRequest())).sources
        assert not (await stub_b.ListCampaigns(admin_pb2.ListCampaignsRequest())).campaigns


@pytest.mark.parametrize(
    "call",
    [
        lambda s, ids: s.GetLeadType(admin_pb2.GetLeadTypeRequest(id=ids["lead_type"])),
        lambda s, ids: s.GetSource(admin_pb2.GetSourceRequest(id=ids["source"])),
        lambda s, ids: s.GetCampaign(admin_pb2.GetCampaignRequest(id=ids["campaign"])),
        lambda s, ids: s.UpdateLeadType(
            admin_pb2.UpdateLeadTypeRequest(
                lead_type=catalog_pb2.LeadType(id=ids["lead_type"], name="Stolen")
            )
        ),
        lambda s, ids: s.UpdateSource(
            admin_pb2.UpdateSourceRequest(
                source=catalog_pb2.Source(id=ids["source"], name="Stolen")
            )
        ),
        lambda s, ids: s.UpdateCampaign(
            admin_pb2.UpdateCampaignRequest(
                campaign=catalog_pb2.Campaign(
                    id=ids["campaign"],
                    name="Stolen",
                    source_id=ids["source"],
                    lead_type_id=ids["lead_type"],
                    channel=catalog_pb2.CHANNEL_POST,
                )
            )
        ),
        lambda s, ids: s.UpdateLeadField(
            admin_pb2.UpdateLeadFieldRequest(
                field=catalog_pb2.LeadField(id=ids["field"], name="Age", data_type=DT.DATA_TYPE_INT)
            )
        ),
        lambda s, ids: s.DeleteLeadField(admin_pb2.DeleteLeadFieldRequest(id=ids["field"])),
        lambda s, ids: s.CreateLeadField(
            admin_pb2.CreateLeadFieldRequest(
                field=catalog_pb2.LeadField(
                    lead_type_id=ids["lead_type"], name="X", data_type=DT.DATA_TYPE_INT
                )
            )
        ),
        lambda s, ids: s.CreateSourceKey(admin_pb2.CreateSourceKeyRequest(source_id=ids["source"])),
        lambda s, ids: s.ListSourceKeys(admin_pb2.ListSourceKeysRequest(source_id=ids["source"])),
    ],
    ids=[
        "get-type",
        "get-source",
        "get-campaign",
        "update-type",
        "update-source",
        "update-campaign",
        "update-field",
        "delete-field",
        "create-field",
        "create-key",
        "list-keys",
    ],
)
async def test_another_account_cannot_read_or_change_the_first(
    new_account: Any, stub_for: Any, call: Any
) -> None:
    a, b = await new_account("A"), await new_account("B")
    async with stub_for(a.api_key) as stub_a:
        ids = await seed(stub_a)
        before = await stub_a.GetCampaign(admin_pb2.GetCampaignRequest(id=ids["campaign"]))
    async with stub_for(b.api_key) as stub_b:
        await expect(grpc.StatusCode.NOT_FOUND, call(stub_b, ids))
    async with stub_for(a.api_key) as stub_a:
        after = await stub_a.GetCampaign(admin_pb2.GetCampaignRequest(id=ids["campaign"]))
        lead_type_after = await stub_a.GetLeadType(
            admin_pb2.GetLeadTypeRequest(id=ids["lead_type"])
        )
    assert after == before
    assert [f.name for f in lead_type_after.fields] == ["Email", "Age"]


async def test_a_campaign_cannot_use_another_accounts_source(
    new_account: Any, stub_for: Any
) -> None:
    a, b = await new_account("A"), await new_account("B")
    async with stub_for(a.api_key) as stub_a:
        ids = await seed(stub_a)
    async with stub_for(b.api_key) as stub_b:
        own = await stub_b.CreateLeadType(admin_pb2.CreateLeadTypeRequest(lead_type=lead_type()))
        await expect(
            grpc.StatusCode.NOT_FOUND,
            stub_b.CreateCampaign(
                admin_pb2.CreateCampaignRequest(
                    campaign=catalog_pb2.Campaign(
                        name="Theft",
                        source_id=ids["source"],
                        lead_type_id=own.id,
                        channel=catalog_pb2.CHANNEL_POST,
                    )
                )
            ),
        )


async def test_invalid_fields_are_all_listed_with_paths(new_account: Any, stub_for: Any) -> None:
    tenant = await new_account()
    bad = catalog_pb2.LeadType(
        key="bad",
        name="Bad",
        fields=[
            catalog_pb2.LeadField(name="9lives", data_type=DT.DATA_TYPE_INT),
            catalog_pb2.LeadField(name="Zip", data_type=DT.DATA_TYPE_VARCHAR, validation="(["),
        ],
    )
    async with stub_for(tenant.api_key) as stub:
        error = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.CreateLeadType(admin_pb2.CreateLeadTypeRequest(lead_type=bad)),
        )
        assert not (await stub.ListLeadTypes(admin_pb2.ListLeadTypesRequest())).lead_types
    paths = [path for path, _ in violations(error)]
    assert paths == ["lead_type.fields[0].name", "lead_type.fields[1].validation"]


async def test_a_campaign_reads_back_with_defaults_and_no_password(
    new_account: Any, stub_for: Any
) -> None:
    tenant = await new_account()
    async with stub_for(tenant.api_key) as stub:
        ids = await seed(stub)
        campaign = await stub.GetCampaign(admin_pb2.GetCampaignRequest(id=ids["campaign"]))
    assert (campaign.hour_max, campaign.day_max, campaign.month_max) == (-1, -1, -1)
    assert (campaign.dup_day_max, campaign.max_sell) == (30, 1)
    assert campaign.price_per_lead == "12.50"
    assert campaign.has_password and not campaign.HasField("password")
    assert [(r.field, r.value) for r in campaign.rules] == [("Age", "18")]


async def test_a_field_used_by_a_rule_cannot_be_deleted(new_account: Any, stub_for: Any) -> None:
    tenant = await new_account()
    async with stub_for(tenant.api_key) as stub:
        ids = await seed(stub)
        await expect(
            grpc.StatusCode.FAILED_PRECONDITION,
            stub.DeleteLeadField(admin_pb2.DeleteLeadFieldRequest(id=ids["field"])),
        )


async def test_a_taken_key_is_already_exists(new_account: Any, stub_for: Any) -> None:
    tenant = await new_account()
    async with stub_for(tenant.api_key) as stub:
        await stub.CreateLeadType(admin_pb2.CreateLeadTypeRequest(lead_type=lead_type()))
        await expect(
            grpc.StatusCode.ALREADY_EXISTS,
            stub.CreateLeadType(admin_pb2.CreateLeadTypeRequest(lead_type=lead_type())),
        )


async def test_a_revoked_source_key_is_listed_as_revoked(new_account: Any, stub_for: Any) -> None:
    tenant = await new_account()
    async with stub_for(tenant.api_key) as stub:
        ids = await seed(stub)
        made = await stub.CreateSourceKey(admin_pb2.CreateSourceKeyRequest(source_id=ids["source"]))
        await stub.RevokeSourceKey(
            admin_pb2.RevokeSourceKeyRequest(source_id=ids["source"], key_id=made.key.id)
        )
        listed = await stub.ListSourceKeys(admin_pb2.ListSourceKeysRequest(source_id=ids["source"]))
    assert [k.id for k in listed.keys] == [made.key.id]
    assert listed.keys[0].HasField("revoked_at")
    assert made.secret not in str(listed)


async def test_fields_are_added_and_changed_one_by_one(new_account: Any, stub_for: Any) -> None:
    tenant = await new_account()
    async with stub_for(tenant.api_key) as stub:
        ids = await seed(stub)
        added = await stub.CreateLeadField(
            admin_pb2.CreateLeadFieldRequest(
                field=catalog_pb2.LeadField(
                    lead_type_id=ids["lead_type"],
                    name="Zip",
                    data_type=DT.DATA_TYPE_VARCHAR,
                    validation="^[0-9]{5}$",
                )
            )
        )
        changed = await stub.UpdateLeadField(
            admin_pb2.UpdateLeadFieldRequest(
                field=catalog_pb2.LeadField(
                    id=added.id,
                    name="Zip",
                    data_type=DT.DATA_TYPE_VARCHAR,
                    required=True,
                    validation="^[0-9]{5}$",
                )
            )
        )
        lead_type_now = await stub.GetLeadType(admin_pb2.GetLeadTypeRequest(id=ids["lead_type"]))
    assert (added.position, added.lead_type_id) == (2, ids["lead_type"])
    assert changed.required and changed.position == 2
    assert [f.name for f in lead_type_now.fields] == ["Email", "Age", "Zip"]


async def test_a_fields_layout_is_stored_changed_and_checked(
    new_account: Any, stub_for: Any
) -> None:
    tenant = await new_account()
    layout = {"col_span": 2, "width": 300, "height": 80}
    async with stub_for(tenant.api_key) as stub:
        ids = await seed(stub)
        added = await stub.CreateLeadField(
            admin_pb2.CreateLeadFieldRequest(
                field=catalog_pb2.LeadField(
                    lead_type_id=ids["lead_type"], name="Notes", data_type=DT.DATA_TYPE_VARCHAR,
                    **layout,
                )
            )
        )  # fmt: skip
        changed = await stub.UpdateLeadField(
            admin_pb2.UpdateLeadFieldRequest(
                field=catalog_pb2.LeadField(
                    id=added.id, name="Notes", data_type=DT.DATA_TYPE_VARCHAR, col_span=1,
                    width=400, height=120,
                )
            )
        )  # fmt: skip
        lead_type_now = await stub.GetLeadType(admin_pb2.GetLeadTypeRequest(id=ids["lead_type"]))
        error = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.UpdateLeadField(
                admin_pb2.UpdateLeadFieldRequest(
                    field=catalog_pb2.LeadField(
                        id=added.id, name="Notes", data_type=DT.DATA_TYPE_VARCHAR, width=-1
                    )
                )
            ),
        )
        kept = await stub.GetLeadType(admin_pb2.GetLeadTypeRequest(id=ids["lead_type"]))
    assert (added.col_span, added.width, added.height) == (2, 300, 80)
    assert (changed.col_span, changed.width, changed.height) == (1, 400, 120)
    notes = {f.name: f for f in lead_type_now.fields}["Notes"]
    assert (notes.col_span, notes.width, notes.height) == (1, 400, 120)
    assert [path for path, _ in violations(error)] == ["field.width"]
    assert {f.name: f.width for f in kept.fields}["Notes"] == 400


async def test_a_field_name_taken_case_insensitively_is_invalid(
    new_account: Any, stub_for: Any
) -> None:
    tenant = await new_account()
    async with stub_for(tenant.api_key) as stub:
        ids = await seed(stub)
        error = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.CreateLeadField(
                admin_pb2.CreateLeadFieldRequest(
                    field=catalog_pb2.LeadField(
                        lead_type_id=ids["lead_type"], name="EMAIL", data_type=DT.DATA_TYPE_VARCHAR
                    )
                )
            ),
        )
    assert [path for path, _ in violations(error)] == ["field.name"]


async def test_posting_instructions_by_key_and_only_for_the_owner(
    new_account: Any, stub_for: Any
) -> None:
    a, b = await new_account("A"), await new_account("B")
    async with stub_for(a.api_key) as stub_a:
        ids = await seed(stub_a)
        found = await stub_a.GetPostingInstructions(
            admin_pb2.GetPostingInstructionsRequest(
                campaign_key="web", receiver_url="https://leads.example.com"
            )
        )
    assert f"`aid` (campaign): {ids['campaign']}" in found.markdown
    assert found.document["identifiers"]["vid"] == ids["source"]
    async with stub_for(b.api_key) as stub_b:
        await expect(
            grpc.StatusCode.NOT_FOUND,
            stub_b.GetPostingInstructions(
                admin_pb2.GetPostingInstructionsRequest(campaign_id=ids["campaign"])
            ),
        )


async def test_an_update_mask_changes_only_the_fields_it_names(
    new_account: Any, stub_for: Any
) -> None:
    tenant = await new_account()
    async with stub_for(tenant.api_key) as stub:
        ids = await seed(stub)
        changed = await stub.UpdateCampaign(
            admin_pb2.UpdateCampaignRequest(
                campaign=catalog_pb2.Campaign(id=ids["campaign"], name="Renamed", day_max=9),
                update_mask=field_mask_pb2.FieldMask(paths=["name", "day_max"]),
            )
        )
        source = await stub.UpdateSource(
            admin_pb2.UpdateSourceRequest(
                source=catalog_pb2.Source(id=ids["source"], city="Reno"),
                update_mask=field_mask_pb2.FieldMask(paths=["city"]),
            )
        )
        refused = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.UpdateCampaign(
                admin_pb2.UpdateCampaignRequest(
                    campaign=catalog_pb2.Campaign(id=ids["campaign"]),
                    update_mask=field_mask_pb2.FieldMask(paths=["name", "has_password", "nope"]),
                )
            ),
        )
    assert (changed.name, changed.day_max) == ("Renamed", 9)
    # the rest as stored: key, channel, pricing, password, rules, other caps
    assert (changed.key, changed.price_per_lead, changed.has_password) == ("web", "12.50", True)
    assert (changed.hour_max, changed.max_sell) == (-1, 1)
    assert [(r.field, r.value) for r in changed.rules] == [("Age", "18")]
    assert (source.key, source.name, source.city) == ("acme", "Acme", "Reno")
    assert violations(refused) == [
        ("update_mask", "not a field that can be changed: has_password, nope")
    ]


async def test_a_source_state_is_saved_by_id_and_answered_with_its_id(
    new_account: Any, stub_for: Any
) -> None:
    tenant = await new_account()

    def update(source: catalog_pb2.Source, *paths: str) -> Any:
        mask = field_mask_pb2.FieldMask(paths=list(paths))
        return admin_pb2.UpdateSourceRequest(source=source, update_mask=mask)

    async with stub_for(tenant.api_key) as stub:
        by_id = await stub.CreateSource(
            admin_pb2.CreateSourceRequest(source=catalog_pb2.Source(name="By id", state_id=32))
        )
        by_text = await stub.CreateSource(
            admin_pb2.CreateSourceRequest(source=catalog_pb2.Source(name="By text", state="ca"))
        )
        abroad = await stub.CreateSource(
            admin_pb2.CreateSourceRequest(source=catalog_pb2.Source(name="Abroad", state="Ontario"))
        )
        moved = await stub.UpdateSource(
            update(catalog_pb2.Source(id=by_id.id, state_id=6), "state_id")
        )
        # a mask that leaves state_id out does not read it
        renamed = await stub.UpdateSource(
            update(catalog_pb2.Source(id=by_id.id, name="Renamed", state_id=99), "name")
        )
        listed = await stub.ListSources(admin_pb2.ListSourcesRequest())
        unknown = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.UpdateSource(update(catalog_pb2.Source(id=by_id.id, state_id=99), "state_id")),
        )
        other = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.CreateSource(
                admin_pb2.CreateSourceRequest(
                    source=catalog_pb2.Source(name="Both", state="NV", state_id=6)
                )
            ),
        )
        cleared = await stub.UpdateSource(update(catalog_pb2.Source(id=by_id.id), "state_id"))
    assert (by_id.state, by_id.state_id) == ("NV", 32)
    assert (by_text.state, by_text.state_id) == ("ca", 6)
    assert (abroad.state, abroad.state_id) == ("Ontario", 0)
    assert (moved.state, moved.state_id, moved.name) == ("CA", 6, "By id")
    assert (renamed.state, renamed.state_id, renamed.name) == ("CA", 6, "Renamed")
    assert {s.name: s.state_id for s in listed.sources} == {"Renamed": 6, "By text": 6, "Abroad": 0}
    assert [path for path, _ in violations(unknown)] == ["source.state_id"]
    assert [path for path, _ in violations(other)] == ["source.state"]
    assert (cleared.state, cleared.state_id) == ("", 0)
