"""service.asmx as ASMX serves it: the WSDL with both SOAP bindings, SOAP 1.1 through zeep, a
hand-written SOAP 1.2 envelope, the HTTP GET and POST forms, the help pages, and hostile or
malformed requests refused as faults without harm."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import zeep
from leadrouter.v1 import admin_pb2
from lxml import etree

from clients.client import struct
from tests.e2e.conftest import EXAMPLE
from tests.support.soap import soap

TNS = "http://tempuri.org/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"


def _envelope12(method: str, params: str) -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><soap12:Envelope xmlns:soap12="{SOAP12}">'
        f'<soap12:Body><{method} xmlns="{TNS}">{params}</{method}></soap12:Body>'
        "</soap12:Envelope>"
    )


def _envelope11(method: str, params: str) -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP11}">'
        f'<soap:Body><{method} xmlns="{TNS}">{params}</{method}></soap:Body></soap:Envelope>'
    )


@pytest.fixture
async def tenant(new_account: Any, stub_for: Any) -> dict[str, Any]:
    """An account with the example config: its admin key and the ids config made."""
    made = await new_account()
    async with stub_for(made.api_key) as stub:
        applied = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(EXAMPLE)))
    return {
        "key": made.api_key,
        "account": made.account_id,
        "lid": applied.lead_types["auto-insurance"],
    }


@pytest.mark.parametrize("query", ["WSDL", "wsdl", "Wsdl"])
async def test_the_wsdl_binds_every_method_over_soap_11_and_12(soap_url: str, query: str) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{soap_url}?{query}")
    assert answer.status_code == 200
    root = etree.fromstring(answer.content)
    assert root.get("targetNamespace") == TNS
    wsdl = "{http://schemas.xmlsoap.org/wsdl/}"
    assert {b.get("name") for b in root.iter(f"{wsdl}binding")} == {"ServiceSoap", "ServiceSoap12"}
    ports = [p for p in root.iter(f"{wsdl}port")]
    assert {p.get("name") for p in ports} == {"ServiceSoap", "ServiceSoap12"}
    for port in ports:  # the address is the one the caller used
        assert port[0].get("location") == soap_url


async def test_zeep_reads_lead_types_over_soap_11(soap_client: Any, tenant: dict[str, Any]) -> None:
    found = await soap(soap_client, "GetLeadTypes", Key=tenant["key"], LeadTypeUID=0)
    assert [t.LeadTypeUID for t in found] == [tenant["lid"]]
    assert found[0].Descriptor == "Auto Insurance"
    assert found[0].AccountUID == tenant["account"]
    fields = await soap(soap_client, "GetLeadFields", Key=tenant["key"], LeadTypeUID=tenant["lid"])
    by_name = {f.Descriptor: f for f in fields}
    assert by_name["Email"].SpecialBit == "Email"
    assert by_name["FirstName"].FieldDataType == "Varchar"


async def test_zeep_over_soap_12(soap_url: str, tenant: dict[str, Any]) -> None:
    client = await asyncio.to_thread(zeep.Client, f"{soap_url}?WSDL", port_name="ServiceSoap12")
    found = await soap(client, "GetLeadTypes", Key=tenant["key"], LeadTypeUID=tenant["lid"])
    assert [t.LeadTypeUID for t in found] == [tenant["lid"]]
    with pytest.raises(zeep.exceptions.Fault) as refused:
        await soap(client, "GetLeadTypes", Key="lr_nope", LeadTypeUID=0)
    assert refused.value.code.endswith("Sender")


@pytest.mark.parametrize(
    ("key", "message"),
    [("", "Key is required"), ("lr_wrong_key", "API key"), ("not a key", "API key")],
)
async def test_a_bad_or_missing_key_is_a_client_fault(
    soap_client: Any, key: str, message: str
) -> None:
    with pytest.raises(zeep.exceptions.Fault) as refused:
        await soap(soap_client, "GetLeadTypes", Key=key, LeadTypeUID=0)
    assert refused.value.code.endswith("Client")
    assert message in refused.value.message


async def test_a_missing_entity_is_a_client_fault(soap_client: Any, tenant: dict[str, Any]) -> None:
    with pytest.raises(zeep.exceptions.Fault) as refused:
        await soap(soap_client, "GetLeadFields", Key=tenant["key"], LeadTypeUID=987654)
    assert refused.value.code.endswith("Client")
    assert "987654" in refused.value.message


async def test_a_hand_written_soap_12_envelope(soap_url: str, tenant: dict[str, Any]) -> None:
    body = _envelope12("GetLeadTypes", f"<Key>{tenant['key']}</Key><LeadTypeUID>0</LeadTypeUID>")
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            soap_url, content=body, headers={"Content-Type": "application/soap+xml; charset=utf-8"}
        )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/soap+xml")
    root = etree.fromstring(answer.content)
    assert root.tag == f"{{{SOAP12}}}Envelope"
    ids = root.findall(f".//{{{TNS}}}LeadTypeUID")
    assert [int(i.text) for i in ids] == [tenant["lid"]]


async def test_the_http_get_and_post_forms(soap_url: str, tenant: dict[str, Any]) -> None:
    params = {"Key": tenant["key"], "LeadTypeUID": "0"}
    async with httpx.AsyncClient() as http:
        got = await http.get(f"{soap_url}/GetLeadTypes", params=params)
        posted = await http.post(f"{soap_url}/GetLeadTypes", data=params)
        multipart = await http.post(  # PHP's cURL with an array of fields
            f"{soap_url}/GetLeadTypes", files={k: (None, v) for k, v in params.items()}
        )
        lower = await http.get(f"{soap_url.lower()}/getleadtypes", params=params)
        doubled = await http.get(  # as sent: httpx would read `//service.asmx` as a host
            httpx.URL(soap_url).copy_with(
                raw_path=b"//service.asmx//GetLeadTypes/?" + urlencode(params).encode()
            )
        )
    for answer in (got, posted, multipart, lower, doubled):
        assert answer.status_code == 200, answer.text
        root = etree.fromstring(answer.content)
        assert root.tag == f"{{{TNS}}}ArrayOfLeadTypeType"
        assert [int(i.text) for i in root.iter(f"{{{TNS}}}LeadTypeUID")] == [tenant["lid"]]


async def test_a_multipart_form_that_does_not_parse_is_refused(soap_url: str) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{soap_url}/GetLeadTypes",
            content=b'--XyZ\r\nContent-Disposition: form-data; name="Key"\r\n\r\nk',
            headers={"content-type": "multipart/form-data; boundary=XyZ"},
        )
    assert answer.status_code == 400
    assert answer.text == "The form cannot be read: the body ends before its closing boundary"


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"Key": "lr_wrong_key", "LeadTypeUID": "0"}, 401, "API key"),
        ({"LeadTypeUID": "0"}, 400, "Key is required"),
        ({"Key": "KEY", "LeadTypeUID": "abc"}, 400, "LeadTypeUID"),
        ({"Key": "KEY", "LeadTypeUID": "424242"}, 404, "424242"),
    ],
)
async def test_the_forms_answer_refusals_with_the_matching_http_status(
    soap_url: str, tenant: dict[str, Any], params: dict[str, str], status: int, message: str
) -> None:
    params = {k: tenant["key"] if v == "KEY" else v for k, v in params.items()}
    async with httpx.AsyncClient() as http:
        for answer in (
            await http.get(f"{soap_url}/GetLeadFields", params=params),
            await http.post(f"{soap_url}/GetLeadFields", data=params),
        ):
            assert answer.status_code == status
            assert message in answer.text
            assert "Traceback" not in answer.text


async def test_the_method_list_and_help_pages(soap_url: str) -> None:
    async with httpx.AsyncClient() as http:
        index = await http.get(soap_url)
        page = await http.get(f"{soap_url}?op=GetClientsForLead")
        unknown = await http.get(f"{soap_url}?op=NoSuchMethod")
    assert index.status_code == 200
    assert "?op=GetLeadTypes" in index.text
    assert page.status_code == 200
    for part in ("LeadUID", "AllowOverMax", "SOAPAction", "soap12:Envelope", "/GetClientsForLead?"):
        assert part in page.text
    assert unknown.status_code == 404


async def test_malformed_xml_is_a_client_fault(soap_url: str) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            soap_url, content=b"<soap:Envelope><unclosed>", headers={"Content-Type": "text/xml"}
        )
    assert answer.status_code in (400, 500)
    assert b"Client" in answer.content
    assert b"Traceback" not in answer.content


BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
)
EXTERNAL = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


@pytest.mark.parametrize("prolog", [BOMB, EXTERNAL], ids=["entity-bomb", "external-entity"])
async def test_dtds_and_entities_are_refused(
    soap_url: str, tenant: dict[str, Any], prolog: str
) -> None:
    body = _envelope11("GetLeadTypes", f"<Key>{tenant['key']}</Key><LeadTypeUID>0</LeadTypeUID>")
    body = prolog + body.split("?>", 1)[1]
    async with httpx.AsyncClient() as http:
        answer = await http.post(soap_url, content=body, headers={"Content-Type": "text/xml"})
        after = await http.get(
            f"{soap_url}/GetLeadTypes", params={"Key": tenant["key"], "LeadTypeUID": 0}
        )
    assert answer.status_code == 400
    assert b"DTD" in answer.content
    assert b"root:" not in answer.content
    assert after.status_code == 200  # and the service goes on


async def test_an_oversized_body_is_refused(soap_url: str) -> None:
    body = _envelope11("GetLeadTypes", "<Key>" + "x" * (70 * 1024) + "</Key>")
    async with httpx.AsyncClient() as http:
        answer = await http.post(soap_url, content=body, headers={"Content-Type": "text/xml"})
    assert answer.status_code == 413
    assert b"Client" in answer.content


async def test_an_unknown_content_type_is_refused(soap_url: str) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            soap_url, content=b"{}", headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 415


@pytest.mark.parametrize(
    "body",
    [
        b"",
        f'<soap:Envelope xmlns:soap="{SOAP11}"/>'.encode(),
        f'<soap:Envelope xmlns:soap="{SOAP11}"><soap:Body/></soap:Envelope>'.encode(),
    ],
    ids=["empty", "no-body", "empty-body"],
)
@pytest.mark.parametrize("content_type", ["text/xml", "application/soap+xml"])
async def test_an_empty_request_or_envelope_is_a_client_fault(
    soap_url: str, tenant: dict[str, Any], body: bytes, content_type: str
) -> None:
    """Found by tests/e2e/test_soap_fuzz.py: an empty body hung the call (Spyne's
    StopIteration cannot cross into the event loop) and an empty soap:Body was a 500 without
    an envelope."""
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(soap_url, content=body, headers={"Content-Type": content_type})
        after = await http.get(
            f"{soap_url}/GetLeadTypes", params={"Key": tenant["key"], "LeadTypeUID": 0}
        )
    assert answer.status_code == 500
    root = etree.fromstring(answer.content)
    code = root.findtext(".//faultcode") or root.findtext(f".//{{{SOAP12}}}Value") or ""
    assert code.rsplit(":", 1)[-1].split(".")[0] in ("Client", "Sender")
    assert after.status_code == 200


SAMPLE = {"long": "0", "int": "0", "double": "0", "boolean": "false", "string": "x"}


def _every_method() -> dict[str, tuple[tuple[str, str], ...]]:
    from gateways.soap.app import create_app
    from gateways.soap.backend import Backend

    gateway = create_app(Backend(admin=None, distribution=None)).state.gateway
    return {name: method.params for name, method in gateway.methods.items()}


async def test_every_method_refuses_a_bad_key(soap_url: str) -> None:
    methods = _every_method()
    assert len(methods) == 52
    async with httpx.AsyncClient() as http:
        for method, params in sorted(methods.items()):
            body = "".join(
                f"<{name}>{'lr_not_a_live_key' if name.lower() == 'key' else SAMPLE[kind]}</{name}>"
                for name, kind in params
                if name.lower() == "key" or kind in SAMPLE
            )
            answer = await http.post(
                soap_url,
                content=_envelope11(method, body),
                headers={"Content-Type": "text/xml", "SOAPAction": f'"{TNS}{method}"'},
            )
            assert answer.status_code == 500, method
            root = etree.fromstring(answer.content)
            assert (root.findtext(".//faultcode") or "").endswith("Client"), answer.text
            message = root.findtext(".//faultstring") or ""
            # a method whose entity parameter is left out says so before the key is checked
            assert "API key" in message or message.endswith("is required"), answer.text
