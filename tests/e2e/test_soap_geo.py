"""The service.asmx methods of US states and ZIP codes, through zeep and the HTTP GET form."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from lxml import etree

from tests.support.soap import fault, soap

TNS = "{http://tempuri.org/}"


@pytest.fixture
async def key(new_account: Any) -> str:
    return str((await new_account()).api_key)


async def test_states_and_zip_codes_over_soap(soap_client: Any, key: str) -> None:
    states = await soap(soap_client, "GetStateList", Key=key)
    california = next(s for s in states if s.Abbr == "CA")
    assert (california.StateUID, california.Name) == (6, "California")
    nevada = await soap(soap_client, "GetUSZipCodesforState", Key=key, State="NV")
    assert "89101" in nevada
    county = await soap(soap_client, "GetUSZipCodesforCounty", Key=key, County="Clark", State="NV")
    fips = await soap(soap_client, "GetUSZipCodesforFIPS", Key=key, FIPS="32003")
    assert county == fips and "89101" in county
    near = await soap(
        soap_client, "GetUSZipCodesfromRadius", Key=key, ZipCode="89101", Miles=5.0, InState=True
    )
    assert near[0] == "89101" and "89102" in near


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("GetUSZipCodesforState", {"State": "Atlantis"}),
        ("GetUSZipCodesforCounty", {"County": "Nowhere", "State": "NV"}),
        ("GetUSZipCodesforFIPS", {"FIPS": "99999"}),
        ("GetUSZipCodesfromRadius", {"ZipCode": "89101", "Miles": 9000.0, "InState": False}),
        ("GetStateList", {}),
    ],
)
async def test_geo_refusals(
    soap_client: Any, key: str, method: str, params: dict[str, Any]
) -> None:
    # GetStateList has nothing to get wrong but its key
    refused = await fault(
        soap_client, method, Key="" if method == "GetStateList" else key, **params
    )
    assert refused.code.endswith("Client")


async def test_zip_codes_through_the_http_get_form(soap_url: str, key: str) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.get(
            f"{soap_url}/GetUSZipCodesfromRadius",
            params={"Key": key, "ZipCode": "89101", "Miles": "2", "InState": "true"},
        )
    assert answer.status_code == 200, answer.text
    root = etree.fromstring(answer.content)
    assert root.tag == f"{TNS}ArrayOfString"
    assert root[0].text == "89101"
    assert all(e.tag == f"{TNS}string" for e in root)
