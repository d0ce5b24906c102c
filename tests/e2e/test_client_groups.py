"""Client groups over gRPC: entities with ids and a display order; a buyer names its group."""

from __future__ import annotations

import copy
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2
from leadrouter.v1 import admin_pb2, buyers_pb2

from clients.client import struct
from tests.e2e.conftest import EXAMPLE


@pytest.fixture
async def tenant(new_account: Any, stub_for: Any) -> Any:
    config = copy.deepcopy(EXAMPLE)
    config["clients"] = [
        {"key": "a", "name": "A", "group": "West"},
        {"key": "b", "name": "B", "group": "west"},
        {"key": "c", "name": "C", "group": "East"},
    ]
    made = await new_account()
    async with stub_for(made.api_key) as stub:
        applied = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(config)))
    return made, applied


def save(name: str, id_: int = 0, order: int = 0) -> admin_pb2.SaveClientGroupRequest:
    return admin_pb2.SaveClientGroupRequest(
        group=admin_pb2.ClientGroup(id=id_, name=name, display_order=order)
    )


async def test_groups_in_use_are_entities_with_ids(tenant: Any, stub_for: Any) -> None:
    made, applied = tenant
    async with stub_for(made.api_key) as stub:
        groups = (await stub.ListClientGroups(admin_pb2.ListClientGroupsRequest())).groups
        west = next(g for g in groups if g.name == "West")
        client = await stub.GetClient(admin_pb2.GetClientRequest(id=applied.clients["b"]))
    assert sorted((g.name, g.client_count) for g in groups) == [("East", 1), ("West", 2)]
    assert west.id > 0 and client.group_id == west.id


async def test_save_orders_renames_and_refuses(
    tenant: Any, stub_for: Any, new_account: Any
) -> None:
    made, applied = tenant
    async with stub_for(made.api_key) as stub:
        groups = {
            g.name: g
            for g in (await stub.ListClientGroups(admin_pb2.ListClientGroupsRequest())).groups
        }
        new = await stub.SaveClientGroup(save("North", order=-1))
        renamed = await stub.SaveClientGroup(save("Pacific", groups["West"].id, order=5))
        listed = (await stub.ListClientGroups(admin_pb2.ListClientGroupsRequest())).groups
        buyer = await stub.GetClient(admin_pb2.GetClientRequest(id=applied.clients["a"]))
        with pytest.raises(grpc.aio.AioRpcError) as taken:
            await stub.SaveClientGroup(save("east", new.id))
        with pytest.raises(grpc.aio.AioRpcError) as nameless:
            await stub.SaveClientGroup(save(" "))
    assert [(g.name, g.client_count, g.display_order) for g in listed] == [
        ("North", 0, -1), ("East", 1, 0), ("Pacific", 2, 5)
    ]  # fmt: skip
    assert (renamed.id, buyer.group, buyer.group_id) == (groups["West"].id, "Pacific", renamed.id)
    assert taken.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert nameless.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    other = await new_account("Other")
    async with stub_for(other.api_key) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as theirs:
            await stub.SaveClientGroup(save("Mine", groups["East"].id))
        assert not (await stub.ListClientGroups(admin_pb2.ListClientGroupsRequest())).groups
    assert theirs.value.code() == grpc.StatusCode.NOT_FOUND


async def test_save_client_with_a_mask_and_a_group_by_id(tenant: Any, stub_for: Any) -> None:
    made, applied = tenant
    async with stub_for(made.api_key) as stub:
        east = next(
            g
            for g in (await stub.ListClientGroups(admin_pb2.ListClientGroupsRequest())).groups
            if g.name == "East"
        )
        saved = await stub.SaveClient(
            admin_pb2.SaveClientRequest(
                client=buyers_pb2.Client(id=applied.clients["a"], notes="masked", group_id=east.id),
                update_mask=field_mask_pb2.FieldMask(paths=["notes", "group"]),
            )
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.SaveClient(
                admin_pb2.SaveClientRequest(
                    client=buyers_pb2.Client(id=applied.clients["a"]),
                    update_mask=field_mask_pb2.FieldMask(paths=["created_at"]),
                )
            )
    assert (saved.name, saved.notes, saved.group, saved.group_id) == (
        "A",
        "masked",
        "East",
        east.id,
    )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
