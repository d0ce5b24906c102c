"""The service.asmx methods of lead sources, campaigns and lead types through zeep."""

from __future__ import annotations

from typing import Any

import pytest
from leadrouter.v1 import admin_pb2, catalog_pb2

from clients.client import struct
from tests.e2e.conftest import EXAMPLE
from tests.support.soap import fault, soap


@pytest.fixture
async def tenant(new_account: Any, stub_for: Any) -> dict[str, Any]:
    made = await new_account()
    async with stub_for(made.api_key) as stub:
        applied = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(EXAMPLE)))
    return {"key": made.api_key, "ids": applied}


def vendor(client: Any, **values: Any) -> Any:
    kind = client.get_type("ns0:VendorInfoType")
    base = {
        "LPVendorUID": -1, "Name": "Lead Co", "State": 0, "SystemVendor": False, "Status": 1,
        "AdminUID": 0, "CherryAccountUID": 0, "AccountUID": 0, "DefaultReturnDay": 5,
    }  # fmt: skip
    return kind(**{**base, **values})


async def test_add_edit_vendor_creates_then_edits_a_source(
    soap_client: Any, tenant: dict[str, Any], stub_for: Any
) -> None:
    key = tenant["key"]
    made = await soap(
        soap_client, "AddEditVendor", Key=key,
        vInfo=vendor(soap_client, City="Reno", Email="ops@lead.example", UserName="leadco",
                     Password="pw-secret-1", ReturnString="obsolete", ReturnPostURL="x"),
    )  # fmt: skip
    again = await soap(
        soap_client, "AddEditVendor", Key=key,
        vInfo=vendor(soap_client, LPVendorUID=made, Name="Lead Co 2", City="Vegas"),
    )  # fmt: skip
    assert again == made
    async with stub_for(key) as stub:
        stored = await stub.GetSource(admin_pb2.GetSourceRequest(id=made))
    assert (stored.name, stored.city, stored.default_return_days) == ("Lead Co 2", "Vegas", 5)
    assert stored.has_password  # an empty Password kept the stored one
    assert stored.email == ""  # sent empty this time: LeadExec's AddEdit saves what it is sent


async def test_add_edit_vendor_saves_the_state_by_its_state_list_id(
    soap_client: Any, tenant: dict[str, Any], stub_for: Any
) -> None:
    key = tenant["key"]
    states = {s.Abbr: s.StateUID for s in await soap(soap_client, "GetStateList", Key=key)}
    made = await soap(
        soap_client, "AddEditVendor", Key=key, vInfo=vendor(soap_client, State=states["NV"])
    )
    async with stub_for(key) as stub:
        added = await stub.GetSource(admin_pb2.GetSourceRequest(id=made))
        await soap(
            soap_client, "AddEditVendor", Key=key,
            vInfo=vendor(soap_client, LPVendorUID=made, State=states["CA"]),
        )  # fmt: skip
        moved = await stub.GetSource(admin_pb2.GetSourceRequest(id=made))
        unknown = await fault(
            soap_client, "AddEditVendor", Key=key,
            vInfo=vendor(soap_client, LPVendorUID=made, State=99),
        )  # fmt: skip
        kept = await stub.GetSource(admin_pb2.GetSourceRequest(id=made))
        # State is a property of the type: 0 (none) clears it, as an empty City would
        await soap(
            soap_client, "AddEditVendor", Key=key, vInfo=vendor(soap_client, LPVendorUID=made)
        )
        cleared = await stub.GetSource(admin_pb2.GetSourceRequest(id=made))
    assert (added.state, added.state_id) == ("NV", 32)
    assert (moved.state, moved.state_id) == ("CA", states["CA"])
    assert unknown.code.endswith("Client") and "99" in unknown.message
    assert (kept.state, kept.state_id) == ("CA", 6)
    assert (cleared.state, cleared.state_id) == ("", 0)


async def test_add_edit_vendor_refusals(
    soap_client: Any, tenant: dict[str, Any], new_account: Any, stub_for: Any
) -> None:
    key = tenant["key"]
    nameless = await fault(
        soap_client, "AddEditVendor", Key=key, vInfo=vendor(soap_client, Name="")
    )
    assert nameless.code.endswith("Client") and "name" in nameless.message
    other = await new_account("Other")
    theirs = tenant["ids"].sources["acme-media"]
    missing = await fault(
        soap_client, "AddEditVendor", Key=other.api_key,
        vInfo=vendor(soap_client, LPVendorUID=theirs, Name="Taken over"),
    )  # fmt: skip
    assert missing.code.endswith("Client")
    async with stub_for(key) as stub:
        kept = await stub.GetSource(admin_pb2.GetSourceRequest(id=theirs))
    assert kept.name != "Taken over"


def campaign_type(client: Any, **values: Any) -> Any:
    kind = client.get_type("ns0:VendorAccountType")
    base = {
        "VendorAccountUID": -1, "AccountVendorUID": 0, "VendorUID": 0, "AccountUID": 0,
        "LeadTypeUID": 0, "Status": 1, "MonthMax": -1, "DayMax": -1, "HourMax": -1,
        "Flagged": False, "OrderSystem": False, "ReturnDayCount": 7, "ShowOnCherryPick": False,
        "ClientDataVendor": False, "countReturns": False, "LeadPrice": 12.5, "useQCBin": False,
        "MaxSell": 2, "DupDayMax": 30, "ExclusiveClientUID": 0, "LeadCatUID": 0,
        "EmailVerify": False, "AppendCityStateFromPostalCode": True,
    }  # fmt: skip
    return kind(**{**base, **values})


async def test_add_edit_vendor_account_creates_then_edits_a_campaign(
    soap_client: Any, tenant: dict[str, Any], stub_for: Any
) -> None:
    key, ids = tenant["key"], tenant["ids"]
    lid, vid = ids.lead_types["auto-insurance"], ids.sources["acme-media"]
    async with stub_for(key) as stub:
        lead_type = await stub.GetLeadType(admin_pb2.GetLeadTypeRequest(id=lid))
    age = {f.name: f.id for f in lead_type.fields}["Age"]
    rule = {"LeadFieldUID": age, "Operator": "GreaterOrEqual", "Value": "21"}
    made = await soap(
        soap_client, "AddEditVendorAccount", Key=key,
        aInfo=campaign_type(soap_client, AccountName="Soap web", VendorUID=vid, LeadTypeUID=lid,
                            Rules={"RuleType": [rule]}),
    )  # fmt: skip
    edited = await soap(
        soap_client, "AddEditVendorAccount", Key=key,
        aInfo=campaign_type(soap_client, VendorAccountUID=ids.campaigns["acme-auto-web"],
                            AccountName="Acme Auto Web 2", VendorUID=vid, LeadTypeUID=lid,
                            DayMax=50, LeadPrice=9.99),
    )  # fmt: skip
    assert edited == ids.campaigns["acme-auto-web"]
    async with stub_for(key) as stub:
        new = await stub.GetCampaign(admin_pb2.GetCampaignRequest(id=made))
        kept = await stub.GetCampaign(admin_pb2.GetCampaignRequest(id=edited))
    assert (new.name, new.price_per_lead, new.max_sell, new.return_days) == (
        "Soap web",
        "12.50",
        2,
        7,
    )
    assert [(r.field, r.value) for r in new.rules] == [("Age", "21")]
    assert (kept.name, kept.day_max, kept.price_per_lead) == ("Acme Auto Web 2", 50, "9.99")
    assert (kept.key, kept.has_password) == ("acme-auto-web", True)  # not in the SOAP type: kept
    bad = await fault(
        soap_client, "AddEditVendorAccount", Key=key,
        aInfo=campaign_type(soap_client, AccountName="Bad", VendorUID=vid, LeadTypeUID=lid,
                            Rules={"RuleType": [{**rule, "LeadFieldUID": 987654}]}),
    )  # fmt: skip
    assert bad.code.endswith("Client") and "987654" in bad.message


async def test_get_lead_fields_answers_each_fields_layout(
    soap_client: Any, tenant: dict[str, Any], stub_for: Any
) -> None:
    """Lead fields are saved over gRPC or config as code (the document has no AddEditLeadField);
    GetLeadFields answers what they keep."""
    key, lid = tenant["key"], tenant["ids"].lead_types["auto-insurance"]
    async with stub_for(key) as stub:
        lead_type = await stub.GetLeadType(admin_pb2.GetLeadTypeRequest(id=lid))
        age = {f.name: f for f in lead_type.fields}["Age"]
        age.col_span, age.width, age.height = 2, 120, 24
        await stub.UpdateLeadField(admin_pb2.UpdateLeadFieldRequest(field=age))
    fields = await soap(soap_client, "GetLeadFields", Key=key, LeadTypeUID=lid)
    layout = {f.Descriptor: (f.ColSpan, f.Width, f.Height) for f in fields}
    assert layout["Age"] == (2, 120, 24)
    assert layout["Email"] == (0, 0, 0)


async def test_get_lead_fields_answers_a_computed_fields_expression(
    soap_client: Any, tenant: dict[str, Any], stub_for: Any
) -> None:
    key, lid = tenant["key"], tenant["ids"].lead_types["auto-insurance"]
    field = catalog_pb2.LeadField(
        lead_type_id=lid,
        name="AgeNextYear",
        data_type=catalog_pb2.DATA_TYPE_INT,
        computed="Age + 1",
    )
    async with stub_for(key) as stub:
        await stub.CreateLeadField(admin_pb2.CreateLeadFieldRequest(field=field))
    fields = {
        f.Descriptor: f for f in await soap(soap_client, "GetLeadFields", Key=key, LeadTypeUID=lid)
    }
    assert (fields["AgeNextYear"].Computed, fields["AgeNextYear"].ComputedExpr) == (True, "Age + 1")
    assert fields["Age"].Computed is False and not fields["Age"].ComputedExpr
