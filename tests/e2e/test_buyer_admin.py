"""Buyers edited by id over gRPC (the AddEditClient* calls): saved, checked, read back, and
used by the distribution engine for the next lead."""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp
from leadrouter.v1 import admin_pb2, buyers_pb2, catalog_pb2, distribution_pb2

from clients.client import struct, violations
from tests.e2e.test_distribution import EXAMPLE, LEAD, Market
from tests.support.buyers import BuyerServer

MIGRATIONS = Path(__file__).parents[2] / "server" / "storage" / "migrations"
S = distribution_pb2.SendStatus
OP = catalog_pb2.Operator
CT = buyers_pb2.CriterionType
DT = catalog_pb2.DataType


async def expect(code: grpc.StatusCode, call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code, caught.value.details()
    return caught.value


async def tenant(new_account: Any, stub_for: Any, grpc_address: str) -> Market:
    """A tenant with the example lead type, source and campaign, and no buyers yet."""
    document = copy.deepcopy(EXAMPLE)
    document["sources"][0]["campaigns"][0]["max_sell"] = 1
    created = await new_account("Buyers by id")
    async with stub_for(created.api_key) as stub:
        ids = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))
    return Market(grpc_address, created.api_key, ids)


def http_delivery(client_id: int, lead_type_id: int, address: str, **more: Any) -> Any:
    return buyers_pb2.Delivery(
        client_id=client_id,
        key="post",
        name="Form post",
        type=buyers_pb2.DELIVERY_TYPE_HTTP_POST,
        enabled=True,
        lead_type_id=lead_type_id,
        address=address,
        response_search="accepted",
        timeout_seconds=2,
        mappings=[
            buyers_pb2.FieldMapping(param="first_name", field="FirstName"),
            buyers_pb2.FieldMapping(param="state", field="State"),
            buyers_pb2.FieldMapping(param="source", constant="leadrouter"),
        ],
        **more,
    )


def nevada_account(client_id: int, delivery_id: int, price: str = "20") -> Any:
    return buyers_pb2.DeliveryAccount(
        client_id=client_id,
        key="nv",
        delivery_id=delivery_id,
        price=price,
        day_max=50,
        criteria=[
            buyers_pb2.Criterion(field="State", operator=OP.OPERATOR_EQUAL, value="NV"),
            buyers_pb2.Criterion(type=CT.CRITERION_TYPE_EXPRESSION, expression="Age >= 18"),
        ],
    )


async def build_buyer(stub: Any, m: Market, buyers: BuyerServer, name: str = "rpc") -> Any:
    """A buyer, its HTTP delivery method and a delivery account, all created by id."""
    client = await stub.SaveClient(
        admin_pb2.SaveClientRequest(
            client=buyers_pb2.Client(
                id=-1, key=name, name=f"Buyer {name}", group="West", priority=1, weight=1
            )
        )
    )
    lead_type_id = m.ids.lead_types["auto-insurance"]
    delivery = await stub.SaveDelivery(
        admin_pb2.SaveDeliveryRequest(
            delivery=http_delivery(client.id, lead_type_id, buyers.address(name))
        )
    )
    account = await stub.SaveDeliveryAccount(
        admin_pb2.SaveDeliveryAccountRequest(account=nevada_account(client.id, delivery.id))
    )
    return client, delivery, account


def form(received: Any) -> dict[str, list[str]]:
    from urllib.parse import parse_qs

    return parse_qs(received.body.decode())


async def buyer_version(pool: Any, account_id: int) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT version FROM buyer_versions WHERE account_id = %s", [account_id]
        )
        row = await cursor.fetchone()
    return int(row["version"]) if row else 0


async def test_a_buyer_created_by_id_gets_the_next_lead(
    grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    m = await tenant(new_account, stub_for, grpc_address)
    first = await m.post(wait=True)
    assert await m.sends(first.lead_id) == []  # the engine has seen the account without buyers
    async with stub_for(m.key) as stub:
        client, delivery, account = await build_buyer(stub, m, buyers)
    assert client.id > 0 and delivery.client_id == client.id and account.delivery_id == delivery.id
    lead = await m.post({**LEAD, "Email": "second@example.com", "Phone": "7025550111"})
    sends = await m.settled(lead.lead_id)
    assert [(s.client_name, s.status, s.price) for s in sends] == [
        ("Buyer rpc", S.SEND_STATUS_SOLD, "20")
    ]
    [got] = buyers.of("rpc")
    assert form(got) == {"first_name": ["Ann"], "state": ["NV"], "source": ["leadrouter"]}


async def test_an_unset_priority_and_weight_are_1_as_in_config_as_code(
    grpc_address: str, new_account: Any, stub_for: Any
) -> None:
    """Left unset, they would read as proto3's 0: a priority 0 buyer would be served before
    every buyer of priority 1, and weight 0 would give a Weighted buyer no share."""
    m = await tenant(new_account, stub_for, grpc_address)
    async with stub_for(m.key) as stub:
        unset = await stub.SaveClient(
            admin_pb2.SaveClientRequest(client=buyers_pb2.Client(id=-1, name="Unset"))
        )
        chosen = await stub.SaveClient(
            admin_pb2.SaveClientRequest(
                client=buyers_pb2.Client(id=-1, name="Chosen", priority=0, weight=3)
            )
        )
        unset = await stub.GetClient(admin_pb2.GetClientRequest(id=unset.id))
        chosen = await stub.GetClient(admin_pb2.GetClientRequest(id=chosen.id))
    assert (unset.priority, unset.weight) == (1, 1)
    assert (chosen.priority, chosen.weight) == (0, 3)


async def test_text_the_database_cannot_hold_is_invalid_argument(
    grpc_address: str, new_account: Any, stub_for: Any
) -> None:
    """No check names NUL in a buyer's notes: the database refuses it, and the caller hears
    INVALID_ARGUMENT, not an internal error; nothing is written."""
    m = await tenant(new_account, stub_for, grpc_address)
    async with stub_for(m.key) as stub:
        error = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.SaveClient(
                admin_pb2.SaveClientRequest(
                    client=buyers_pb2.Client(id=-1, name="Nul", notes="a\x00b")
                )
            ),
        )
        listed = await stub.ListClients(admin_pb2.ListClientsRequest())
    assert "NUL" in error.details()
    assert list(listed.clients) == []


async def test_an_edit_by_id_changes_what_the_engine_does(
    grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    m = await tenant(new_account, stub_for, grpc_address)
    async with stub_for(m.key) as stub:
        client, delivery, account = await build_buyer(stub, m, buyers)
        lead = await m.post()
        assert [s.price for s in await m.settled(lead.lead_id)] == ["20"]
        edited = nevada_account(0, delivery.id, price="35.50")
        edited.id = account.id
        saved = await stub.SaveDeliveryAccount(admin_pb2.SaveDeliveryAccountRequest(account=edited))
        renamed = await stub.SaveClient(
            admin_pb2.SaveClientRequest(
                client=buyers_pb2.Client(id=client.id, name="Renamed", group="West")
            )
        )
    assert (saved.id, saved.client_id, saved.price) == (account.id, client.id, "35.5")
    assert (renamed.id, renamed.key, renamed.name) == (client.id, "rpc", "Renamed")  # key kept
    lead = await m.post({**LEAD, "Email": "again@example.com", "Phone": "7025550112"})
    sends = await m.settled(lead.lead_id)
    assert [(s.client_name, s.price) for s in sends] == [("Renamed", "35.5")]


async def test_a_delivery_method_answers_when_it_was_added_and_keeps_it(
    grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    m = await tenant(new_account, stub_for, grpc_address)
    before = datetime.now(UTC) - timedelta(seconds=5)  # the database's clock, not ours
    async with stub_for(m.key) as stub:
        _, delivery, _ = await build_buyer(stub, m, buyers)
        edited = copy.deepcopy(delivery)
        edited.name = "Renamed"
        edited.created_at.FromDatetime(datetime(2001, 1, 1, tzinfo=UTC))  # read only: ignored
        saved = await stub.SaveDelivery(admin_pb2.SaveDeliveryRequest(delivery=edited))
        error = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.SaveDelivery(
                admin_pb2.SaveDeliveryRequest(
                    delivery=edited, update_mask=FieldMask(paths=["name", "created_at"])
                )
            ),
        )
        read = await stub.GetDelivery(admin_pb2.GetDeliveryRequest(id=delivery.id))
    added = delivery.created_at.ToDatetime(tzinfo=UTC)
    assert before <= added <= datetime.now(UTC) + timedelta(seconds=5)
    assert saved.name == "Renamed"
    assert saved.created_at == read.created_at == delivery.created_at
    assert "created_at" in error.details()


async def test_mappings_may_name_their_field_by_id_and_answer_its_id(
    grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    m = await tenant(new_account, stub_for, grpc_address)
    lead_type_id = m.ids.lead_types["auto-insurance"]
    async with stub_for(m.key) as stub:
        _, delivery, _ = await build_buyer(stub, m, buyers)
        lead_type = await stub.GetLeadType(admin_pb2.GetLeadTypeRequest(id=lead_type_id))
        other = await stub.CreateLeadType(
            admin_pb2.CreateLeadTypeRequest(
                lead_type=catalog_pb2.LeadType(
                    key="other",
                    name="Other",
                    fields=[catalog_pb2.LeadField(name="Email", data_type=DT.DATA_TYPE_VARCHAR)],
                )
            )
        )
        ids = {f.name: f.id for f in lead_type.fields}
        edited = copy.deepcopy(delivery)
        del edited.mappings[:]
        edited.mappings.extend(
            [
                buyers_pb2.FieldMapping(param="mail", field_id=ids["Email"]),
                buyers_pb2.FieldMapping(param="src", constant="lr"),
            ]
        )
        saved = await stub.SaveDelivery(admin_pb2.SaveDeliveryRequest(delivery=edited))
        read = await stub.GetDelivery(admin_pb2.GetDeliveryRequest(id=delivery.id))
        refused = []
        for wrong in (987654, other.fields[0].id):
            edited.mappings[0].field_id = wrong
            error = await expect(
                grpc.StatusCode.INVALID_ARGUMENT,
                stub.SaveDelivery(admin_pb2.SaveDeliveryRequest(delivery=edited)),
            )
            refused.extend(violations(error))
        kept = await stub.GetDelivery(admin_pb2.GetDeliveryRequest(id=delivery.id))
    assert [(p.param, p.field, p.field_id) for p in delivery.mappings] == [
        ("first_name", "FirstName", ids["FirstName"]),
        ("state", "State", ids["State"]),
        ("source", "", 0),
    ]
    assert [(p.param, p.field, p.field_id) for p in saved.mappings] == [
        ("mail", "Email", ids["Email"]),
        ("src", "", 0),
    ]
    assert read.mappings == saved.mappings == kept.mappings
    assert [path for path, _ in refused] == ["delivery.mappings[0].field_id"] * 2


async def test_criteria_keep_their_ids_and_new_ones_get_ids_of_their_own(
    pool: Any, grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    m = await tenant(new_account, stub_for, grpc_address)
    async with stub_for(m.key) as stub:
        client, delivery, account = await build_buyer(stub, m, buyers)
        other_spec = nevada_account(client.id, delivery.id)
        other_spec.key = "nv2"
        other = await stub.SaveDeliveryAccount(
            admin_pb2.SaveDeliveryAccountRequest(account=other_spec)
        )
        state, adult = account.criteria
        edited = copy.deepcopy(account)
        edited.criteria[0].value = "CA"  # changed: the same criterion, its id kept
        edited.criteria.extend(
            [
                buyers_pb2.Criterion(id=-1, field="Zip", operator=OP.OPERATOR_EQUAL, value="89101"),
                # another account's criterion, and a repeat: new criteria
                buyers_pb2.Criterion(
                    id=other.criteria[0].id, field="City", operator=OP.OPERATOR_EQUAL, value="Reno"
                ),
                buyers_pb2.Criterion(
                    id=state.id, field="Email", operator=OP.OPERATOR_CONTAINS, value="@"
                ),
            ]
        )
        saved = await stub.SaveDeliveryAccount(admin_pb2.SaveDeliveryAccountRequest(account=edited))
        account_id = await _account_id(pool, client.id)
        version = await buyer_version(pool, account_id)
        again = await stub.SaveDeliveryAccount(admin_pb2.SaveDeliveryAccountRequest(account=saved))
        read = await stub.GetDeliveryAccount(admin_pb2.GetDeliveryAccountRequest(id=account.id))
        assert await buyer_version(pool, account_id) == version  # saved as read: nothing written
    first = [state.id, adult.id, *(c.id for c in other.criteria)]
    assert all(i > 0 for i in first) and len(set(first)) == 4
    assert [(c.id, c.value) for c in saved.criteria[:2]] == [(state.id, "CA"), (adult.id, "")]
    added = [c.id for c in saved.criteria[2:]]
    assert all(i > 0 for i in added) and not set(added) & set(first) and len(set(added)) == 3
    assert read.criteria == again.criteria == saved.criteria


async def test_the_migration_numbers_the_criteria_stored_before_it_in_order(
    pool: Any, grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    migration = (MIGRATIONS / "0019_service_asmx_properties.sql").read_text()
    backfill = migration[migration.index("UPDATE delivery_accounts") :]
    m = await tenant(new_account, stub_for, grpc_address)
    async with stub_for(m.key) as stub:
        _, _, account = await build_buyer(stub, m, buyers)
        async with pool.connection() as conn:  # the account as stored before 0019
            await conn.execute(
                "UPDATE delivery_accounts SET criteria = (SELECT jsonb_agg(c - 'id' ORDER BY n)"
                " FROM jsonb_array_elements(criteria) WITH ORDINALITY AS e(c, n)) WHERE id = %s",
                [account.id],
            )
        unnumbered = await stub.GetDeliveryAccount(
            admin_pb2.GetDeliveryAccountRequest(id=account.id)
        )
        async with pool.connection() as conn:
            await conn.execute(backfill)
        numbered = await stub.GetDeliveryAccount(admin_pb2.GetDeliveryAccountRequest(id=account.id))
    assert [c.id for c in unnumbered.criteria] == [0, 0]
    new_ids = [c.id for c in numbered.criteria]
    assert all(new_ids) and new_ids == sorted(set(new_ids))  # in order, each its own
    assert not set(new_ids) & {c.id for c in account.criteria}
    assert [(c.field, c.expression) for c in numbered.criteria] == [
        (c.field, c.expression) for c in account.criteria
    ]


async def _account_id(pool: Any, client_id: int) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT account_id FROM clients WHERE id = %s", [client_id])
        row = await cursor.fetchone()
    return int(row["account_id"])


async def test_saving_what_was_read_changes_nothing_and_matches_config_as_code(
    pool: Any, grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    created = await new_account("Round trip")
    async with stub_for(created.api_key) as stub:
        ids = await stub.ApplyConfig(
            admin_pb2.ApplyConfigRequest(document=struct(copy.deepcopy(EXAMPLE)))
        )
        m = Market(grpc_address, created.api_key, ids)
        client, delivery, account = await build_buyer(stub, m, buyers)
        now = datetime.now(UTC).replace(microsecond=0)
        order = await stub.SaveOrder(
            admin_pb2.SaveOrderRequest(
                order=buyers_pb2.Order(
                    client_id=client.id,
                    key="june",
                    start=_ts(now - timedelta(days=1)),
                    end=_ts(now + timedelta(days=29)),
                    items=[buyers_pb2.OrderItem(key="leads", quantity=5, account_id=account.id)],
                )
            )
        )
        version = await buyer_version(pool, created.account_id)
        stored = await stub.GetClient(admin_pb2.GetClientRequest(id=client.id))
        again = await stub.SaveClient(admin_pb2.SaveClientRequest(client=stored))
        for d in stored.deliveries:
            await stub.SaveDelivery(admin_pb2.SaveDeliveryRequest(delivery=d))
        for a in stored.accounts:
            await stub.SaveDeliveryAccount(admin_pb2.SaveDeliveryAccountRequest(account=a))
        for o in stored.orders:
            await stub.SaveOrder(admin_pb2.SaveOrderRequest(order=o))
        assert await buyer_version(pool, created.account_id) == version
        assert again == stored
        assert [o.id for o in stored.orders] == [order.id]
        # the same buyer described as config as code is the same buyer, unchanged
        document = copy.deepcopy(EXAMPLE)
        document["clients"] = [
            {
                "key": "rpc",
                "name": "Buyer rpc",
                "group": "West",
                "deliveries": [
                    {
                        "key": "post",
                        "name": "Form post",
                        "type": "http_post",
                        "lead_type": "auto-insurance",
                        "address": buyers.address("rpc"),
                        "response_search": "accepted",
                        "timeout_seconds": 2,
                        "mappings": [
                            {"param": "first_name", "field": "FirstName"},
                            {"param": "state", "field": "State"},
                            {"param": "source", "constant": "leadrouter"},
                        ],
                    }
                ],
                "accounts": [
                    {
                        "key": "nv",
                        "delivery": "post",
                        "price": "20",
                        "day_max": 50,
                        "criteria": [
                            {"field": "State", "operator": "Equal", "value": "NV"},
                            {"type": "Expression", "expression": "Age >= 18"},
                        ],
                    }
                ],
                "orders": [
                    {
                        "key": "june",
                        "start": (now - timedelta(days=1)).isoformat(),
                        "end": (now + timedelta(days=29)).isoformat(),
                        "items": [{"key": "leads", "quantity": 5, "account": "nv"}],
                    }
                ],
            }
        ]
        applied = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))
    assert applied.clients["rpc"] == client.id
    assert applied.deliveries["rpc/post"] == delivery.id
    assert applied.accounts["rpc/nv"] == account.id
    changed = [(c.kind, c.key) for c in applied.changes if c.action != "unchanged"]
    assert changed == []
    assert await buyer_version(pool, created.account_id) == version


def _ts(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


async def test_every_problem_is_listed_with_its_path_and_nothing_is_written(
    grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    m = await tenant(new_account, stub_for, grpc_address)
    async with stub_for(m.key) as stub:
        client, delivery, _ = await build_buyer(stub, m, buyers)
        bad_account = buyers_pb2.DeliveryAccount(
            client_id=client.id,
            delivery_id=delivery.id,
            price="-1",
            hour_max=-2,
            criteria=[
                buyers_pb2.Criterion(type=CT.CRITERION_TYPE_EXPRESSION, expression="Age ** 2 > 3"),
                buyers_pb2.Criterion(field="Shoe", operator=OP.OPERATOR_EQUAL, value="9"),
                buyers_pb2.Criterion(field="Age", operator=OP.OPERATOR_GREATER, value="old"),
            ],
        )
        error = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.SaveDeliveryAccount(admin_pb2.SaveDeliveryAccountRequest(account=bad_account)),
        )
        assert [p for p, _ in violations(error)] == [
            "account.price",
            "account.hour_max",
            "account.criteria[0].expression",
            "account.criteria[1].field",
            "account.criteria[2].value",
        ]
        bad_delivery = http_delivery(
            client.id,
            m.ids.lead_types["auto-insurance"],
            "mailto:nobody",
            days=[buyers_pb2.DayWindow(weekday=0, start="9", end="17:00")],
        )
        bad_delivery.mappings.append(buyers_pb2.FieldMapping(param="x", field="NoSuchField"))
        error = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.SaveDelivery(admin_pb2.SaveDeliveryRequest(delivery=bad_delivery)),
        )
        paths = [p for p, _ in violations(error)]
        assert "delivery.days[0].start" in paths
        assert "delivery.address" in paths
        assert "delivery.mappings[3].field" in paths
        error = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.SaveClient(
                admin_pb2.SaveClientRequest(
                    client=buyers_pb2.Client(name=" ", time_zone="Mars/Base", password="short")
                )
            ),
        )
        assert [p for p, _ in violations(error)] == [
            "client.name",
            "client.time_zone",
            "client.password",
        ]
        after = await stub.GetClient(admin_pb2.GetClientRequest(id=client.id))
        assert len(after.accounts) == 1 and len(after.deliveries) == 1
        assert len((await stub.ListClients(admin_pb2.ListClientsRequest())).clients) == 1


async def test_another_accounts_buyers_are_not_found(
    grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    a = await tenant(new_account, stub_for, grpc_address)
    b = await tenant(new_account, stub_for, grpc_address)
    async with stub_for(a.key) as stub:
        client, delivery, account = await build_buyer(stub, a, buyers)
        dlist = await stub.SaveDistributionList(
            admin_pb2.SaveDistributionListRequest(
                distribution_list=buyers_pb2.DistributionList(
                    lead_type_id=a.ids.lead_types["auto-insurance"], field="Zip"
                )
            )
        )
        before = await stub.GetClient(admin_pb2.GetClientRequest(id=client.id))
    b_type = b.ids.lead_types["auto-insurance"]
    async with stub_for(b.key) as stub:
        calls = [
            stub.SaveClient(
                admin_pb2.SaveClientRequest(client=buyers_pb2.Client(id=client.id, name="Theft"))
            ),
            stub.SaveDelivery(
                admin_pb2.SaveDeliveryRequest(
                    delivery=http_delivery(client.id, b_type, buyers.address("x"))
                )
            ),
            stub.SaveDeliveryAccount(
                admin_pb2.SaveDeliveryAccountRequest(account=nevada_account(client.id, delivery.id))
            ),
            stub.GetDeliveryAccount(admin_pb2.GetDeliveryAccountRequest(id=account.id)),
            stub.GetDelivery(admin_pb2.GetDeliveryRequest(id=delivery.id)),
            stub.GetDistributionList(admin_pb2.GetDistributionListRequest(id=dlist.id)),
            stub.AssignListItem(
                admin_pb2.AssignListItemRequest(list_id=dlist.id, value="1", clear=True)
            ),
        ]
        for call in calls:
            await expect(grpc.StatusCode.NOT_FOUND, call)
        own = await stub.SaveClient(
            admin_pb2.SaveClientRequest(client=buyers_pb2.Client(name="Own"))
        )
        # B's own buyer cannot take A's delivery method either
        await expect(
            grpc.StatusCode.NOT_FOUND,
            stub.SaveDeliveryAccount(
                admin_pb2.SaveDeliveryAccountRequest(account=nevada_account(own.id, delivery.id))
            ),
        )
    async with stub_for(a.key) as stub:
        assert await stub.GetClient(admin_pb2.GetClientRequest(id=client.id)) == before


async def test_secrets_are_write_only_and_kept_when_left_unset(
    grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    m = await tenant(new_account, stub_for, grpc_address)
    lead_type_id = m.ids.lead_types["auto-insurance"]
    async with stub_for(m.key) as stub:
        client = await stub.SaveClient(
            admin_pb2.SaveClientRequest(
                client=buyers_pb2.Client(name="Locked", username="locked", password="portal-pass")
            )
        )
        assert client.has_password and not client.HasField("password")
        delivery = http_delivery(
            client.id,
            lead_type_id,
            buyers.address("auth"),
            auth=buyers_pb2.AUTH_TYPE_BASIC,
            username="api",
            password="s3cret-token",
        )
        saved = await stub.SaveDelivery(admin_pb2.SaveDeliveryRequest(delivery=delivery))
        assert saved.has_password and not saved.HasField("password")
        await stub.SaveDeliveryAccount(
            admin_pb2.SaveDeliveryAccountRequest(account=nevada_account(client.id, saved.id))
        )
        # edit without the secrets: both are kept
        delivery.id = saved.id
        delivery.name = "Renamed"
        delivery.ClearField("password")
        edited = await stub.SaveDelivery(admin_pb2.SaveDeliveryRequest(delivery=delivery))
        kept = await stub.SaveClient(
            admin_pb2.SaveClientRequest(
                client=buyers_pb2.Client(id=client.id, name="Locked", username="locked")
            )
        )
        assert (edited.name, edited.has_password, kept.has_password) == ("Renamed", True, True)
        listed = await stub.ListClients(admin_pb2.ListClientsRequest())
        assert "s3cret-token" not in str(listed) and "portal-pass" not in str(listed)
        lead = await m.post()
        assert [s.status for s in await m.settled(lead.lead_id)] == [S.SEND_STATUS_SOLD]
        [got] = buyers.of("auth")
        expected = base64.b64encode(b"api:s3cret-token").decode()
        assert got.headers["authorization"] == f"Basic {expected}"
        # an empty password clears the buyer's portal password
        cleared = await stub.SaveClient(
            admin_pb2.SaveClientRequest(
                client=buyers_pb2.Client(id=client.id, name="Locked", password="")
            )
        )
        assert not cleared.has_password


MORE_CONTACT = {
    "phone_ext": "12",
    "alternate_phone": "702-555-0101",
    "alternate_phone_ext": "3",
    "fax": "702-555-0102",
    "job_title": "Buyer",
    "website": "https://acme.example",
    "mobile_phone": "702-555-0103",
}


def more_contact(client: buyers_pb2.Client) -> dict[str, str]:
    return {name: getattr(client, name) for name in MORE_CONTACT}


async def test_more_contact_details_are_kept_and_an_update_mask_changes_only_those_named(
    new_account: Any, stub_for: Any
) -> None:
    created = await new_account("Contacts")
    async with stub_for(created.api_key) as stub:
        saved = await stub.SaveClient(
            admin_pb2.SaveClientRequest(client=buyers_pb2.Client(name="Acme", **MORE_CONTACT))
        )
        edited = await stub.SaveClient(
            admin_pb2.SaveClientRequest(
                client=buyers_pb2.Client(
                    id=saved.id, job_title="Owner", website="https://else.example"
                ),
                update_mask=FieldMask(paths=["job_title", "fax"]),
            )
        )
        read = await stub.GetClient(admin_pb2.GetClientRequest(id=saved.id))
        applied = await stub.ApplyConfig(
            admin_pb2.ApplyConfigRequest(
                document=struct({"clients": [{"key": "doc", "name": "Doc", **MORE_CONTACT}]})
            )
        )
        from_document = await stub.GetClient(admin_pb2.GetClientRequest(id=applied.clients["doc"]))
    assert more_contact(saved) == more_contact(from_document) == MORE_CONTACT
    assert read == edited
    assert more_contact(read) == {**MORE_CONTACT, "job_title": "Owner", "fax": ""}
    assert read.name == "Acme"


async def test_portal_settings_are_kept_and_a_mask_may_name_one_of_them(
    new_account: Any, stub_for: Any
) -> None:
    created = await new_account("Portal settings")
    every = buyers_pb2.PortalSettings(
        show_lead_grade=True, show_lead_source=True, show_campaign=True, allow_calls=True,
        allow_reassign=True, override_reassign=True,
    )  # fmt: skip

    def edit(client_id: int, paths: list[str], **settings: bool) -> Any:
        return admin_pb2.SaveClientRequest(
            client=buyers_pb2.Client(
                id=client_id, name="Ignored", portal=buyers_pb2.PortalSettings(**settings)
            ),
            update_mask=FieldMask(paths=paths),
        )

    async with stub_for(created.api_key) as stub:
        saved = await stub.SaveClient(
            admin_pb2.SaveClientRequest(client=buyers_pb2.Client(name="Acme", portal=every))
        )
        one = await stub.SaveClient(edit(saved.id, ["portal.allow_calls"], show_campaign=False))
        whole = await stub.SaveClient(edit(saved.id, ["portal"], show_campaign=True))
        read = await stub.GetClient(admin_pb2.GetClientRequest(id=saved.id))
        error = await expect(
            grpc.StatusCode.INVALID_ARGUMENT, stub.SaveClient(edit(saved.id, ["portal.nope"]))
        )
        applied = await stub.ApplyConfig(
            admin_pb2.ApplyConfigRequest(
                document=struct(
                    {"clients": [{"key": "doc", "name": "Doc", "portal": {"allow_reassign": True}}]}
                )
            )
        )
        from_document = await stub.GetClient(admin_pb2.GetClientRequest(id=applied.clients["doc"]))
    assert saved.portal == every
    # the mask named allow_calls: it is off now; show_campaign was not named: kept on
    one_off = buyers_pb2.PortalSettings()
    one_off.CopyFrom(every)
    one_off.allow_calls = False
    assert one.portal == one_off and one.name == "Acme"
    assert whole.portal == buyers_pb2.PortalSettings(show_campaign=True) == read.portal
    assert violations(error) == [("update_mask", "not a field that can be changed: portal.nope")]
    assert from_document.portal == buyers_pb2.PortalSettings(allow_reassign=True)


async def test_a_taken_user_name_is_already_exists(
    grpc_address: str, new_account: Any, stub_for: Any
) -> None:
    m = await tenant(new_account, stub_for, grpc_address)
    async with stub_for(m.key) as stub:
        await stub.SaveClient(
            admin_pb2.SaveClientRequest(client=buyers_pb2.Client(name="One", username="shared"))
        )
        await expect(
            grpc.StatusCode.ALREADY_EXISTS,
            stub.SaveClient(
                admin_pb2.SaveClientRequest(
                    client=buyers_pb2.Client(name="Two", username="SHARED", key="two")
                )
            ),
        )
        assert len((await stub.ListClients(admin_pb2.ListClientsRequest())).clients) == 1


async def test_a_taken_delivery_key_is_already_exists(
    grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    m = await tenant(new_account, stub_for, grpc_address)
    async with stub_for(m.key) as stub:
        client, _, _ = await build_buyer(stub, m, buyers)
        twin = http_delivery(client.id, m.ids.lead_types["auto-insurance"], buyers.address("b"))
        await expect(
            grpc.StatusCode.ALREADY_EXISTS,
            stub.SaveDelivery(admin_pb2.SaveDeliveryRequest(delivery=twin)),
        )
        twin.key = ""  # a method without a key is never matched by config as code
        saved = await stub.SaveDelivery(admin_pb2.SaveDeliveryRequest(delivery=twin))
        assert saved.key == ""
        found = await stub.GetClient(admin_pb2.GetClientRequest(id=client.id))
    assert [d.key for d in found.deliveries] == ["post", ""]


async def test_orders_are_saved_with_their_complete_item_list(
    grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    m = await tenant(new_account, stub_for, grpc_address)
    now = datetime.now(UTC).replace(microsecond=0)
    async with stub_for(m.key) as stub:
        client, _, account = await build_buyer(stub, m, buyers)
        message = buyers_pb2.Order(
            id=-1,
            client_id=client.id,
            start=_ts(now),
            end=_ts(now + timedelta(days=30)),
            items=[
                buyers_pb2.OrderItem(description="any", quantity=3),
                buyers_pb2.OrderItem(description="nv", quantity=2, account_id=account.id),
            ],
        )
        order = await stub.SaveOrder(admin_pb2.SaveOrderRequest(order=message))
        assert (order.quantity, order.status) == (5, buyers_pb2.ORDER_STATUS_OPEN)
        first, second = order.items
        edit = buyers_pb2.Order(
            id=order.id,
            start=order.start,
            end=order.end,
            status=buyers_pb2.ORDER_STATUS_ON_HOLD,
            items=[
                buyers_pb2.OrderItem(id=second.id, description="nv", quantity=7),
                buyers_pb2.OrderItem(description="new", quantity=1),
            ],
        )
        edited = await stub.SaveOrder(admin_pb2.SaveOrderRequest(order=edit))
        assert edited.id == order.id and edited.status == buyers_pb2.ORDER_STATUS_ON_HOLD
        assert [(i.description, i.quantity, i.account_id) for i in edited.items] == [
            ("nv", 7, 0),
            ("new", 1, 0),
        ]
        assert edited.items[0].id == second.id and first.id not in [i.id for i in edited.items]
        bad = buyers_pb2.Order(
            client_id=client.id,
            end=_ts(now),
            items=[
                buyers_pb2.OrderItem(id=first.id, quantity=0),
                buyers_pb2.OrderItem(quantity=1, account_id=999999),
            ],
        )
        error = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.SaveOrder(admin_pb2.SaveOrderRequest(order=bad)),
        )
        assert [p for p, _ in violations(error)] == [
            "order.start",
            "order.items[0].quantity",
            "order.items[0].id",
            "order.items[1].account_id",
        ]
        assert [
            o.id for o in (await stub.GetClient(admin_pb2.GetClientRequest(id=client.id))).orders
        ] == [order.id]


async def test_list_items_assigned_one_by_one_steer_leads(
    grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    m = await tenant(new_account, stub_for, grpc_address)
    async with stub_for(m.key) as stub:
        rich, _, _ = await build_buyer(stub, m, buyers, "rich")
        poor, poor_delivery, poor_account = await build_buyer(stub, m, buyers, "poor")
        cheaper = nevada_account(0, poor_delivery.id, price="5")
        cheaper.id = poor_account.id
        await stub.SaveDeliveryAccount(admin_pb2.SaveDeliveryAccountRequest(account=cheaper))
        dlist = await stub.SaveDistributionList(
            admin_pb2.SaveDistributionListRequest(
                distribution_list=buyers_pb2.DistributionList(
                    key="zips",
                    lead_type_id=m.ids.lead_types["auto-insurance"],
                    field="Zip",
                    description="Vegas",
                    items=[buyers_pb2.DistributionListItem(value="89102", client_id=rich.id)],
                )
            )
        )
        assigned = await stub.AssignListItem(
            admin_pb2.AssignListItemRequest(list_id=dlist.id, value=" 89101 ", client_id=poor.id)
        )
        assert [(i.value, i.client_id) for i in assigned.items] == [
            ("89101", poor.id),
            ("89102", rich.id),
        ]
        lead = await m.post()
        assert [s.client_name for s in await m.settled(lead.lead_id)] == ["Buyer poor"]
        cleared = await stub.AssignListItem(
            admin_pb2.AssignListItemRequest(list_id=dlist.id, value="89101", clear=True)
        )
        assert (cleared.assigned, cleared.unassigned) == (1, 1)
        lead = await m.post({**LEAD, "Email": "later@example.com", "Phone": "7025550113"})
        assert [s.client_name for s in await m.settled(lead.lead_id)] == ["Buyer rich"]
        groups = await stub.ListClientGroups(admin_pb2.ListClientGroupsRequest())
        assert [(g.name, g.client_count) for g in groups.groups] == [("West", 2)]
        error = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.SaveDistributionList(
                admin_pb2.SaveDistributionListRequest(
                    distribution_list=buyers_pb2.DistributionList(
                        id=dlist.id,
                        lead_type_id=m.ids.lead_types["auto-insurance"],
                        field="Zipp",
                        default_client_id=424242,
                        items=[
                            buyers_pb2.DistributionListItem(value="1"),
                            buyers_pb2.DistributionListItem(value="1 ", client_id=434343),
                        ],
                    )
                )
            ),
        )
        assert [p for p, _ in violations(error)] == [
            "distribution_list.field",
            "distribution_list.items[1].value",
            "distribution_list.default_client_id",
            "distribution_list.items[1].client_id",
        ]
        unchanged = await stub.GetDistributionList(
            admin_pb2.GetDistributionListRequest(id=dlist.id)
        )
        assert unchanged == cleared


async def test_a_delivery_cannot_move_to_a_lead_type_its_accounts_criteria_do_not_fit(
    grpc_address: str, new_account: Any, stub_for: Any, buyers: BuyerServer
) -> None:
    m = await tenant(new_account, stub_for, grpc_address)
    async with stub_for(m.key) as stub:
        _, delivery, account = await build_buyer(stub, m, buyers)
        other = await stub.CreateLeadType(
            admin_pb2.CreateLeadTypeRequest(
                lead_type=catalog_pb2.LeadType(
                    key="other",
                    name="Other",
                    fields=[
                        catalog_pb2.LeadField(
                            name="FirstName", data_type=catalog_pb2.DATA_TYPE_VARCHAR
                        ),
                        catalog_pb2.LeadField(
                            name="State", data_type=catalog_pb2.DATA_TYPE_VARCHAR
                        ),
                    ],
                )
            )
        )
        moved = copy.deepcopy(delivery)
        moved.lead_type_id = other.id
        for mapping in moved.mappings:  # the ids are the old lead type's: name fields by name
            mapping.field_id = 0
        error = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.SaveDelivery(admin_pb2.SaveDeliveryRequest(delivery=moved)),
        )
        [(path, reason)] = violations(error)
        assert path == "delivery.lead_type_id"
        assert reason.startswith(f"its delivery account {account.id}: criteria[1].expression:")
        assert await stub.GetDelivery(admin_pb2.GetDeliveryRequest(id=delivery.id)) == delivery


async def test_a_buyer_state_is_saved_by_id_and_answered_with_its_id(
    new_account: Any, stub_for: Any
) -> None:
    created = await new_account("Buyer states")

    def save(client: buyers_pb2.Client, *paths: str) -> Any:
        return admin_pb2.SaveClientRequest(client=client, update_mask=FieldMask(paths=paths))

    async with stub_for(created.api_key) as stub:
        by_id = await stub.SaveClient(save(buyers_pb2.Client(name="By id", state_id=32)))
        by_text = await stub.SaveClient(save(buyers_pb2.Client(name="By text", state="ca")))
        abroad = await stub.SaveClient(save(buyers_pb2.Client(name="Abroad", state="Ontario")))
        moved = await stub.SaveClient(save(buyers_pb2.Client(id=by_id.id, state_id=6), "state_id"))
        # a mask that leaves state_id out does not read it
        renamed = await stub.SaveClient(
            save(buyers_pb2.Client(id=by_id.id, name="Renamed", state_id=99), "name")
        )
        listed = await stub.ListClients(admin_pb2.ListClientsRequest())
        unknown = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.SaveClient(save(buyers_pb2.Client(id=by_id.id, state_id=99), "state_id")),
        )
        other = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.SaveClient(save(buyers_pb2.Client(name="Both", state="NV", state_id=6))),
        )
        kept = await stub.GetClient(admin_pb2.GetClientRequest(id=by_id.id))
        cleared = await stub.SaveClient(save(buyers_pb2.Client(id=by_id.id), "state_id"))
    assert (by_id.state, by_id.state_id) == ("NV", 32)
    assert (by_text.state, by_text.state_id) == ("ca", 6)
    assert (abroad.state, abroad.state_id) == ("Ontario", 0)
    assert (moved.state, moved.state_id, moved.name) == ("CA", 6, "By id")
    assert (renamed.state, renamed.state_id, renamed.name) == ("CA", 6, "Renamed")
    assert {c.name: c.state_id for c in listed.clients} == {"Renamed": 6, "By text": 6, "Abroad": 0}
    assert [path for path, _ in violations(unknown)] == ["client.state_id"]
    assert [path for path, _ in violations(other)] == ["client.state"]
    assert (kept.state, kept.state_id) == ("CA", 6)  # the refused edit changed nothing
    assert (cleared.state, cleared.state_id, cleared.name) == ("", 0, "Renamed")
