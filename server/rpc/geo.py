"""leadrouter.v1.GeoService: translates messages and calls the use case, nothing more."""

from __future__ import annotations

from typing import Any, TypeAlias

from leadrouter.v1 import geo_pb2, geo_pb2_grpc

from server.errors import InvalidArgument
from server.services.geo import Geo

Context: TypeAlias = Any  # grpc.aio.ServicerContext; grpc ships no type stubs


class GeoServicer(geo_pb2_grpc.GeoServiceServicer):
    """US states and ZIP codes."""

    def __init__(self, geo: Geo) -> None:
        self._geo = geo

    async def ListStates(
        self, request: geo_pb2.ListStatesRequest, context: Context
    ) -> geo_pb2.ListStatesResponse:
        states = await self._geo.states()
        return geo_pb2.ListStatesResponse(
            states=[
                geo_pb2.State(id=s.id, name=s.name, abbreviation=s.abbreviation) for s in states
            ]
        )

    async def ListZipCodes(
        self, request: geo_pb2.ListZipCodesRequest, context: Context
    ) -> geo_pb2.ZipCodes:
        which = request.WhichOneof("of")
        if which == "state":
            found = await self._geo.zip_codes_of_state(request.state)
        elif which == "county":
            found = await self._geo.zip_codes_of_county(request.county.county, request.county.state)
        elif which == "fips":
            found = await self._geo.zip_codes_of_fips(request.fips)
        else:
            raise InvalidArgument("give a state, a county and its state, or a FIPS code")
        return geo_pb2.ZipCodes(zip_codes=found)

    async def ZipCodesInRadius(
        self, request: geo_pb2.ZipCodesInRadiusRequest, context: Context
    ) -> geo_pb2.ZipCodes:
        found = await self._geo.zip_codes_within(request.zip_code, request.miles, request.in_state)
        return geo_pb2.ZipCodes(zip_codes=found)
