"""GeoService through a real gRPC channel."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from leadrouter.v1 import geo_pb2, geo_pb2_grpc


@pytest.fixture
async def geo(grpc_address: str, new_account: Any) -> Any:
    tenant = await new_account()
    channel = grpc.aio.insecure_channel(grpc_address)
    stub = geo_pb2_grpc.GeoServiceStub(channel)
    metadata = (("authorization", f"Bearer {tenant.api_key}"),)

    class Calls:
        async def __call__(self, method: str, request: Any) -> Any:
            return await getattr(stub, method)(request, metadata=metadata)

    yield Calls()
    await channel.close()


async def refused(geo: Any, method: str, request: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await geo(method, request)
    return caught.value.code()


async def test_states_and_zip_codes(geo: Any) -> None:
    states = (await geo("ListStates", geo_pb2.ListStatesRequest())).states
    assert {(s.id, s.abbreviation) for s in states} >= {(6, "CA"), (32, "NV"), (11, "DC")}
    assert [s.name for s in states] == sorted(s.name for s in states)
    nevada = await geo("ListZipCodes", geo_pb2.ListZipCodesRequest(state="nv"))
    assert "89101" in nevada.zip_codes
    county = await geo(
        "ListZipCodes",
        geo_pb2.ListZipCodesRequest(county=geo_pb2.CountyOfState(county="Clark", state="NV")),
    )
    fips = await geo("ListZipCodes", geo_pb2.ListZipCodesRequest(fips="32003"))
    assert county.zip_codes == fips.zip_codes and "89101" in county.zip_codes
    near = await geo("ZipCodesInRadius", geo_pb2.ZipCodesInRadiusRequest(zip_code="89101", miles=5))
    assert near.zip_codes[0] == "89101" and "89102" in near.zip_codes


async def test_bad_and_unknown_input_is_refused(geo: Any) -> None:
    code = grpc.StatusCode
    assert (
        await refused(geo, "ListZipCodes", geo_pb2.ListZipCodesRequest()) == code.INVALID_ARGUMENT
    )
    assert (
        await refused(geo, "ListZipCodes", geo_pb2.ListZipCodesRequest(state="ZZ"))
        == code.NOT_FOUND
    )
    assert (
        await refused(geo, "ListZipCodes", geo_pb2.ListZipCodesRequest(fips="x"))
        == code.INVALID_ARGUMENT
    )
    far = geo_pb2.ZipCodesInRadiusRequest(zip_code="89101", miles=10_000)
    assert await refused(geo, "ZipCodesInRadius", far) == code.INVALID_ARGUMENT
    nowhere = geo_pb2.ZipCodesInRadiusRequest(zip_code="00000", miles=5)
    assert await refused(geo, "ZipCodesInRadius", nowhere) == code.NOT_FOUND


async def test_a_call_without_a_key_is_unauthenticated(grpc_address: str) -> None:
    async with grpc.aio.insecure_channel(grpc_address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await geo_pb2_grpc.GeoServiceStub(channel).ListStates(geo_pb2.ListStatesRequest())
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
