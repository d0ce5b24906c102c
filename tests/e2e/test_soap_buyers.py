"""The service.asmx methods of buyers through zeep: GetClientList, GetClientData, AddEditClient
and the client groups."""

from __future__ import annotations

from typing import Any

import pytest
import zeep
from google.protobuf.field_mask_pb2 import FieldMask
from leadrouter.v1 import admin_pb2, buyers_pb2

from clients.client import struct
from tests.e2e.test_distribution import client
from tests.e2e.test_portal_grpc import document
from tests.support.soap import fault, soap


@pytest.fixture
async def tenant(new_account: Any, stub_for: Any) -> Any:
    config = document()
    config["clients"][0].update(
        {"contact_first_name": "Ann", "email": "ann@acme.example", "city": "Reno",
         "notes": "pays on time", "automation": "RoundRobin", "time_zone": "America/New_York"}
    )  # fmt: skip
    made = await new_account()
    async with stub_for(made.api_key) as stub:
        applied = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(config)))
    return made, applied


async def test_client_list(soap_client: Any, tenant: Any) -> None:
    made, applied = tenant
    found = {c.ClientUID: c for c in await soap(soap_client, "GetClientList", Key=made.api_key)}
    acme = found[applied.clients["acme"]]
    assert set(found) == set(applied.clients.values())
    assert (acme.AccountUID, acme.Status, acme.AutomationType) == (made.account_id, 6, "RoundRobin")
    assert (acme.Username, acme.Password, acme.Notes) == ("Ann.Buyer", None, "pays on time")
    assert acme.TimeZoneName == "America/New_York" and acme.TimeOffset in (-5, -4)
    assert acme.DateAdded.year >= 2026


async def test_client_data(soap_client: Any, tenant: Any) -> None:
    made, applied = tenant
    fields = await soap(
        soap_client, "GetClientData", Key=made.api_key, ClientUID=applied.clients["acme"]
    )
    values = {f.Descriptor: f.FieldValue for f in fields}
    assert (values["Company"], values["FirstName"], values["Email"], values["City"]) == (
        "Acme Buyer", "Ann", "ann@acme.example", "Reno"
    )  # fmt: skip
    # the State field holds the state's id (its StateUID), the buyer's "nv" being Nevada
    assert values["State"] == "32"
    assert [f.Descriptor for f in fields if f.isState] == ["State"]
    bits = {f.SpecialBit for f in fields}
    assert {"Company", "FirstName", "Email", "NoSpecialBit"} <= bits
    with pytest.raises(zeep.exceptions.Fault) as refused:
        await soap(soap_client, "GetClientData", Key=made.api_key, ClientUID=1 << 40)
    assert refused.value.code.endswith("Client")


async def test_set_default_field_mappings(
    soap_client: Any, new_account: Any, stub_for: Any, buyers: Any
) -> None:
    config = document()
    config["clients"] = [client("acme", buyers)]
    made = await new_account()
    async with stub_for(made.api_key) as stub:
        applied = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(config)))
        delivery_id = applied.deliveries["acme/post"]
        before = await stub.GetDelivery(admin_pb2.GetDeliveryRequest(id=delivery_id))
        lead_type = await stub.GetLeadType(admin_pb2.GetLeadTypeRequest(id=before.lead_type_id))
        await soap(
            soap_client, "SetDefaultFieldMappings", Key=made.api_key, DeliveryUID=delivery_id
        )
        after = await stub.GetDelivery(admin_pb2.GetDeliveryRequest(id=delivery_id))
    names = [f.name for f in lead_type.fields]
    assert [(m.param, m.field) for m in after.mappings] == [(n, n) for n in names]
    assert [(m.param, m.field) for m in before.mappings] != [(n, n) for n in names]
    assert (after.address, after.type, after.name) == (before.address, before.type, before.name)
    other = await new_account("Other")
    for key, uid in ((made.api_key, 1 << 40), (other.api_key, delivery_id)):
        with pytest.raises(zeep.exceptions.Fault) as refused:
            await soap(soap_client, "SetDefaultFieldMappings", Key=key, DeliveryUID=uid)
        assert refused.value.code.endswith("Client")


async def test_client_groups_over_soap(soap_client: Any, tenant: Any) -> None:
    made, _ = tenant
    kind = soap_client.get_type("ns0:ClientGroupType")
    made_id = await soap(
        soap_client, "AddEditClientGroup", Key=made.api_key,
        Group=kind(ClientGroupUID=-1, Description="Gold", DisplayOrder=2, ClientCount=99),
    )  # fmt: skip
    groups = await soap(soap_client, "GetClientGroups", Key=made.api_key)
    gold = next(g for g in groups if g.ClientGroupUID == made_id)
    assert (gold.Description, gold.DisplayOrder, gold.ClientCount) == ("Gold", 2, 0)
    with pytest.raises(zeep.exceptions.Fault) as refused:
        await soap(
            soap_client, "AddEditClientGroup", Key=made.api_key,
            Group=kind(ClientGroupUID=987654, Description="X", DisplayOrder=0, ClientCount=0),
        )  # fmt: skip
    assert refused.value.code.endswith("Client")


def client_item(client: Any, **values: Any) -> Any:
    kind = client.get_type("ns0:ClientItemType")
    base = {
        "ClientUID": -1, "DateAdded": "0001-01-01T00:00:00", "Status": "Active",
        "InternalUID": 0, "UserUID": 0, "TimeOffset": 0, "IsLocked": False, "LockedBy": 0,
        "DateLocked": "0001-01-01T00:00:00", "ResellerUID": -1, "GroupUID": 0,
        "OverrideReassign": False,
    }  # fmt: skip
    return kind(**{**base, **values})


def field_data(client: Any, **values: str) -> Any:
    ids = {
        "Company": 1, "FirstName": 2, "Email": 4, "PrimaryPhoneExt": 6, "AlternatePhone": 7,
        "City": 9, "State": 10, "AlternatePhoneExt": 12, "FaxNumber": 13, "JobTitle": 15,
        "WebSite": 16, "MobilePhone": 17,
    }  # fmt: skip
    kind = client.get_type("ns0:ClientFieldType")
    return {
        "ClientFieldType": [
            kind(ClientFieldUID=ids[name], DataType="Varchar", Required=False, Status=True,
                 Computed=False, Enumerated=False, SpecialBit="NoSpecialBit", isState=False,
                 FieldValue=value)
            for name, value in values.items()
        ]
    }  # fmt: skip


async def test_add_edit_client(soap_client: Any, tenant: Any, stub_for: Any) -> None:
    made, applied = tenant
    key = made.api_key
    new_id = await soap(
        soap_client, "AddEditClient", Key=key,
        Client=client_item(
            soap_client, Notes="new", Username="new.buyer", Password="secret-pass-1", Status="New"
        ),
        FieldData=field_data(soap_client, Company="New Co", Email="new@co.example"),
    )  # fmt: skip
    groups = await soap(soap_client, "GetClientGroups", Key=key)
    acme = applied.clients["acme"]
    edited = await soap(
        soap_client, "AddEditClient", Key=key,
        Client=client_item(soap_client, ClientUID=acme, Notes="edited", Username="Ann.Buyer",
                           Status="Suspended", TimeZoneName="America/Chicago"),
        FieldData=field_data(soap_client, Email="edited@acme.example"),
    )  # fmt: skip
    assert edited == acme
    async with stub_for(key) as stub:
        fresh = await stub.GetClient(admin_pb2.GetClientRequest(id=new_id))
        kept = await stub.GetClient(admin_pb2.GetClientRequest(id=acme))
    assert (fresh.name, fresh.email, fresh.username, fresh.has_password, fresh.status) == (
        "New Co", "new@co.example", "new.buyer", True, 1  # New: the first member of ClientStatus
    )  # fmt: skip
    assert (kept.notes, kept.email, kept.status, kept.time_zone) == (
        "edited", "edited@acme.example", 9, "America/Chicago"
    )  # fmt: skip
    # not in the SOAP types, kept as stored: name, city, automation, password
    assert (kept.name, kept.city, kept.automation, kept.has_password) == (
        "Acme Buyer",
        "Reno",
        3,
        True,
    )
    assert not groups  # no group named yet
    for item, fields in (
        (client_item(soap_client, ClientUID=987654), None),
        (client_item(soap_client, ClientUID=acme, GroupUID=987654), None),
        (client_item(soap_client), field_data(soap_client, Email="no-name@co.example")),
    ):
        with pytest.raises(zeep.exceptions.Fault) as refused:
            await soap(soap_client, "AddEditClient", Key=key, Client=item, FieldData=fields)
        assert refused.value.code.endswith("Client")


async def test_add_edit_client_saves_the_state_by_its_state_list_id_or_as_text(
    soap_client: Any, tenant: Any, stub_for: Any
) -> None:
    made, _ = tenant
    key = made.api_key
    states = {s.Abbr: s.StateUID for s in await soap(soap_client, "GetStateList", Key=key)}

    async def edit(client_id: int, state: str) -> Any:
        return await soap(
            soap_client, "AddEditClient", Key=key,
            Client=client_item(soap_client, ClientUID=client_id),
            FieldData=field_data(soap_client, State=state),
        )  # fmt: skip

    async def shown(client_id: int) -> Any:
        found = await soap(soap_client, "GetClientData", Key=key, ClientUID=client_id)
        return next(f.FieldValue for f in found if f.Descriptor == "State")

    new_id = await soap(
        soap_client, "AddEditClient", Key=key, Client=client_item(soap_client),
        FieldData=field_data(soap_client, Company="West Co", State=str(states["CA"])),
    )  # fmt: skip
    added = await shown(new_id)
    async with stub_for(key) as stub:
        stored = await stub.GetClient(admin_pb2.GetClientRequest(id=new_id))
        await edit(new_id, "NV")  # text, as integrations may send it
        by_text = await stub.GetClient(admin_pb2.GetClientRequest(id=new_id))
        shown_by_text = await shown(new_id)
        unknown = await fault(
            soap_client, "AddEditClient", Key=key,
            Client=client_item(soap_client, ClientUID=new_id),
            FieldData=field_data(soap_client, State="99"),
        )  # fmt: skip
        kept = await stub.GetClient(admin_pb2.GetClientRequest(id=new_id))
        await edit(new_id, "0")
        cleared = await stub.GetClient(admin_pb2.GetClientRequest(id=new_id))
        shown_cleared = await shown(new_id)
    assert added == str(states["CA"]) == "6"
    assert (stored.state, stored.state_id, stored.name) == ("CA", 6, "West Co")
    assert (by_text.state, by_text.state_id, shown_by_text) == ("NV", 32, "32")
    assert unknown.code.endswith("Client") and "99" in unknown.message
    assert (kept.state, kept.state_id) == ("NV", 32)
    assert (cleared.state, cleared.state_id, shown_cleared) == ("", 0, None)  # empty: None


MORE_FIELDS = {
    "PrimaryPhoneExt": "12",
    "AlternatePhone": "702-555-0101",
    "AlternatePhoneExt": "3",
    "FaxNumber": "702-555-0102",
    "JobTitle": "Buyer",
    "WebSite": "https://acme.example",
    "MobilePhone": "702-555-0103",
}


async def test_more_client_fields_are_kept_and_fields_left_out_keep_their_values(
    soap_client: Any, tenant: Any, stub_for: Any
) -> None:
    made, _ = tenant
    key = made.api_key
    new_id = await soap(
        soap_client, "AddEditClient", Key=key, Client=client_item(soap_client),
        FieldData=field_data(soap_client, Company="More Co", **MORE_FIELDS),
    )  # fmt: skip
    added = await soap(soap_client, "GetClientData", Key=key, ClientUID=new_id)
    await soap(
        soap_client, "AddEditClient", Key=key, Client=client_item(soap_client, ClientUID=new_id),
        FieldData=field_data(soap_client, JobTitle="Owner", FaxNumber=""),
    )  # fmt: skip
    edited = await soap(soap_client, "GetClientData", Key=key, ClientUID=new_id)
    async with stub_for(key) as stub:
        stored = await stub.GetClient(admin_pb2.GetClientRequest(id=new_id))
    shown = {f.Descriptor: (f.ClientFieldUID, f.SpecialBit, f.FieldValue) for f in added}
    assert {name: shown[name][2] for name in MORE_FIELDS} == MORE_FIELDS
    assert (shown["PrimaryPhoneExt"][:2], shown["MobilePhone"][:2]) == (
        (6, "PrimaryPhoneExt"), (17, "MobilePhone")
    )  # fmt: skip
    values = {f.Descriptor: f.FieldValue for f in edited}
    # an empty FieldValue reads back as None through zeep
    assert {name: values[name] for name in MORE_FIELDS} == {
        **MORE_FIELDS, "JobTitle": "Owner", "FaxNumber": None
    }  # fmt: skip
    assert (stored.website, stored.job_title, stored.fax, stored.phone_ext) == (
        "https://acme.example", "Owner", "", "12"
    )  # fmt: skip


PORTAL = ("ShowLeadGrade", "ShowLeadSource", "ShowCampaign", "AllowCalls", "AllowReassign")


async def test_portal_settings_are_answered_and_add_edit_client_changes_override_reassign_only(
    soap_client: Any, tenant: Any, stub_for: Any
) -> None:
    made, applied = tenant
    key, acme = made.api_key, applied.clients["acme"]
    every = buyers_pb2.PortalSettings(
        show_lead_grade=True, show_lead_source=True, show_campaign=True, allow_calls=True,
        allow_reassign=True, override_reassign=True,
    )  # fmt: skip
    async with stub_for(key) as stub:
        await stub.SaveClient(
            admin_pb2.SaveClientRequest(
                client=buyers_pb2.Client(id=acme, portal=every),
                update_mask=FieldMask(paths=["portal"]),
            )
        )

    async def listed(client_id: int) -> Any:
        found = await soap(soap_client, "GetClientList", Key=key)
        return next(c for c in found if c.ClientUID == client_id)

    before = await listed(acme)
    await soap(
        soap_client, "AddEditClient", Key=key,
        Client=client_item(soap_client, ClientUID=acme, Username="Ann.Buyer",
                           OverrideReassign=False),
        FieldData=None,
    )  # fmt: skip
    after = await listed(acme)
    login = await soap(
        soap_client, "ClientLogin", Key=key, Username="Ann.Buyer", Password="right-password"
    )
    new_id = await soap(
        soap_client, "AddEditClient", Key=key,
        Client=client_item(soap_client, OverrideReassign=True),
        FieldData=field_data(soap_client, Company="Reassigns"),
    )  # fmt: skip
    added = await listed(new_id)
    assert [getattr(before, name) for name in (*PORTAL, "OverrideReassign")] == [True] * 6
    # the type carries OverrideReassign alone: the other settings are kept
    assert [getattr(after, name) for name in PORTAL] == [True] * 5
    assert after.OverrideReassign is False and login.OverrideReassign is False
    assert [getattr(added, name) for name in PORTAL] == [False] * 5
    assert added.OverrideReassign is True
