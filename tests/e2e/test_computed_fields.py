"""Computed fields (LeadExec's Computed and ComputedExpr) through a real gRPC channel: defined on a
lead type, worked out when a lead is posted or updated, guarded when the fields they use change,
and answered by service.asmx's GetLeadFields."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from leadrouter.v1 import admin_pb2, catalog_pb2, leads_pb2, leads_pb2_grpc

from tests.e2e.test_lead_service import GOOD, Acme, acme, lead_row  # noqa: F401  (a fixture)

pytestmark = pytest.mark.asyncio

DT = catalog_pb2.DataType


async def add_field(market: Acme, stub_for: Any, name: str, data_type: Any, computed: str) -> Any:
    field = catalog_pb2.LeadField(
        lead_type_id=int(market.lid), name=name, data_type=data_type, computed=computed
    )
    async with stub_for(market.key) as stub:
        return await stub.CreateLeadField(admin_pb2.CreateLeadFieldRequest(field=field))


@pytest.fixture
async def computed(acme: Acme, stub_for: Any) -> Acme:  # noqa: F811
    await add_field(acme, stub_for, "AgeNextYear", DT.DATA_TYPE_INT, "Age + 1")
    await add_field(acme, stub_for, "FullName", DT.DATA_TYPE_VARCHAR, "FirstName + ' ' + LastName")
    await add_field(acme, stub_for, "Rating", DT.DATA_TYPE_VARCHAR, "CreditRating + ' credit'")
    return acme


async def test_a_posted_lead_gets_its_computed_fields(computed: Acme, pool: Any) -> None:
    answer = await computed.post({**GOOD, "AgeNextYear": "99"})
    assert answer.response_type == leads_pb2.NO_ERROR, answer
    row = await lead_row(pool, answer.lead_id)
    assert row["fields"]["AgeNextYear"] == 31  # worked out; the posted 99 is ignored
    assert row["fields"]["FullName"] == "Ann Lee"
    assert "AgeNextYear" not in row["extras"]


async def test_a_value_that_cannot_be_worked_out_leaves_the_field_empty(
    computed: Acme, pool: Any
) -> None:
    answer = await computed.post()  # no CreditRating
    assert answer.response_type == leads_pb2.NO_ERROR, answer
    assert "Rating" not in (await lead_row(pool, answer.lead_id))["fields"]
    rated = await computed.post({**GOOD, "Email": "rated@example.com", "CreditRating": "Good"})
    assert (await lead_row(pool, rated.lead_id))["fields"]["Rating"] == "Good credit"


async def test_an_update_works_the_fields_out_again(computed: Acme, pool: Any) -> None:
    posted = await computed.post()
    request = leads_pb2.SubmitLeadsRequest(
        credentials=leads_pb2.Credentials(
            vid=computed.vid, lid=computed.lid, aid=computed.web, password="acme-secret"
        ),
        lead_uid=str(posted.lead_id),
        leads=[leads_pb2.LeadInput(fields=[leads_pb2.FieldValue(name="Age", value="40")])],
    )
    async with grpc.aio.insecure_channel(computed.address) as channel:
        answer = await leads_pb2_grpc.LeadServiceStub(channel).UpdateLead(request)
    assert answer.results[0].response_type == leads_pb2.NO_ERROR, answer
    assert (await lead_row(pool, posted.lead_id))["fields"]["AgeNextYear"] == 41


@pytest.mark.parametrize(
    ("data_type", "expression", "reason"),
    [
        (DT.DATA_TYPE_INT, "Age +", "syntax error"),
        (DT.DATA_TYPE_INT, "Height * 2", "Height"),
        (DT.DATA_TYPE_INT, "FirstName", "gives text where a Int field holds number"),
    ],
)
async def test_an_expression_that_cannot_work_is_refused(
    acme: Acme,  # noqa: F811
    stub_for: Any,
    data_type: Any,
    expression: str,
    reason: str,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await add_field(acme, stub_for, "Score", data_type, expression)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "field.computed" in (refused.value.details() or "")
    assert reason in (refused.value.details() or "")


async def test_a_computed_field_cannot_be_required_or_use_another(
    computed: Acme, stub_for: Any
) -> None:
    field = catalog_pb2.LeadField(
        lead_type_id=int(computed.lid),
        name="Twice",
        data_type=DT.DATA_TYPE_INT,
        required=True,
        computed="AgeNextYear * 2",
    )
    async with stub_for(computed.key) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.CreateLeadField(admin_pb2.CreateLeadFieldRequest(field=field))
    details = refused.value.details() or ""
    assert "field.required" in details and "AgeNextYear" in details


async def test_a_field_a_computed_field_uses_keeps_its_name_and_stays(
    computed: Acme, stub_for: Any
) -> None:
    async with stub_for(computed.key) as stub:
        lead_type = await stub.GetLeadType(admin_pb2.GetLeadTypeRequest(id=int(computed.lid)))
        age = next(f for f in lead_type.fields if f.name == "Age")
        renamed = catalog_pb2.LeadField()
        renamed.CopyFrom(age)
        renamed.name = "Years"
        for call in (
            stub.UpdateLeadField(admin_pb2.UpdateLeadFieldRequest(field=renamed)),
            stub.DeleteLeadField(admin_pb2.DeleteLeadFieldRequest(id=age.id)),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call
            assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "AgeNextYear" in (refused.value.details() or "")
        after = await stub.GetLeadType(admin_pb2.GetLeadTypeRequest(id=int(computed.lid)))
    assert "Age" in [f.name for f in after.fields]
    [next_year] = [f for f in after.fields if f.name == "AgeNextYear"]
    assert next_year.computed == "Age + 1"
