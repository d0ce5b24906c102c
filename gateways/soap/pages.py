"""What service.asmx shows a person and writes outside SOAP: the method list, each method's
help page with a sample SOAP 1.1, SOAP 1.2 and HTTP request, plain faults, and the HTTP
GET/POST forms' plain XML results."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from lxml import etree

from gateways.soap.models import TNS

SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"


@dataclass(frozen=True)
class Method:
    name: str
    doc: str
    params: tuple[tuple[str, str], ...]  # (name, XML type)
    result: str | None  # the result's XML type name; None: nothing is returned
    result_element: str | None


def _type_name(kind: Any) -> str:
    name = str(kind.get_type_name())
    primitive = {"integer64": "long", "integer32": "int", "unicode": "string", "double": "double"}
    return primitive.get(name.lower(), name)


def methods(application: Any) -> dict[str, Method]:
    found: dict[str, Method] = {}
    for name, descriptors in sorted(application.interface.service_method_map.items()):
        descriptor = descriptors[0]
        name = name.split("}", 1)[-1]
        params = tuple(
            (param, _type_name(kind)) for param, kind in descriptor.in_message._type_info.items()
        )
        out = list(descriptor.out_message._type_info.items())
        found[name] = Method(
            name=name,
            doc=(descriptor.doc or "").strip(),
            params=params,
            result=_type_name(out[0][1]) if out else None,
            result_element=out[0][0] if out else None,
        )
    return found


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def index(found: dict[str, Method], address: str) -> str:
    items = "".join(
        f"<li><a href='{escape(address)}?op={escape(m.name)}'>{escape(m.name)}</a></li>"
        for m in found.values()
    )
    return _page(
        "Service",
        f"<p>The following operations are supported. For a formal definition, please review "
        f"the <a href='{escape(address)}?WSDL'>Service Description</a>.</p><ul>{items}</ul>",
    )


def unknown(name: str) -> str:
    return _page("Service", f"<p>{escape(name)} is not an operation of this service.</p>")


def _sample_params(method: Method, indent: str) -> str:
    return "".join(f"{indent}<{p}>{t}</{p}>\n" for p, t in method.params)


def method_page(method: Method, address: str) -> str:
    host = address.split("//", 1)[-1].split("/", 1)[0]
    params = _sample_params(method, "      ")
    soap11 = (
        f"POST /service.asmx HTTP/1.1\nHost: {host}\nContent-Type: text/xml; charset=utf-8\n"
        f'Content-Length: length\nSOAPAction: "{TNS}{method.name}"\n\n'
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<soap:Envelope xmlns:soap="{SOAP11_ENV}">\n  <soap:Body>\n'
        f'    <{method.name} xmlns="{TNS}">\n{params}    </{method.name}>\n'
        "  </soap:Body>\n</soap:Envelope>"
    )
    soap12 = (
        f"POST /service.asmx HTTP/1.1\nHost: {host}\n"
        "Content-Type: application/soap+xml; charset=utf-8\nContent-Length: length\n\n"
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<soap12:Envelope xmlns:soap12="{SOAP12_ENV}">\n  <soap12:Body>\n'
        f'    <{method.name} xmlns="{TNS}">\n{params}    </{method.name}>\n'
        "  </soap12:Body>\n</soap12:Envelope>"
    )
    query = "&".join(f"{p}=string" for p, _ in method.params)
    http = (
        f"GET /service.asmx/{method.name}?{query} HTTP/1.1\nHost: {host}\n\n"
        f"POST /service.asmx/{method.name} HTTP/1.1\nHost: {host}\n"
        "Content-Type: application/x-www-form-urlencoded\nContent-Length: length\n\n"
        f"{query}"
    )
    rows = "".join(f"<tr><td>{escape(p)}</td><td>{escape(t)}</td></tr>" for p, t in method.params)
    result = escape(method.result or "nothing")
    body = (
        f"<p>{escape(method.doc)}</p>"
        f"<h2>Parameters</h2><table><tr><th>Name</th><th>Type</th></tr>{rows}</table>"
        f"<p>Returns: {result}</p>"
        f"<h2>SOAP 1.1</h2><pre>{escape(soap11)}</pre>"
        f"<h2>SOAP 1.2</h2><pre>{escape(soap12)}</pre>"
        f"<h2>HTTP GET and POST</h2><pre>{escape(http)}</pre>"
    )
    return _page(f"Service: {method.name}", body)


def fault11(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP11_ENV}"><soap:Body><soap:Fault>'
        f"<faultcode>soap:{code}</faultcode><faultstring>{escape(message)}</faultstring>"
        "</soap:Fault></soap:Body></soap:Envelope>"
    ).encode()


def fault12(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP12_ENV}"><soap:Body><soap:Fault>'
        f"<soap:Code><soap:Value>soap:{code}</soap:Value></soap:Code>"
        f'<soap:Reason><soap:Text xml:lang="en">{escape(message)}</soap:Text></soap:Reason>'
        "</soap:Fault></soap:Body></soap:Envelope>"
    ).encode()


def fault_text(answer: bytes) -> str:
    """The message of a fault Spyne wrote as plain XML."""
    try:
        root = etree.fromstring(answer)
    except etree.XMLSyntaxError:
        return "the request could not be processed"
    found = root.find(".//faultstring")
    return found.text or "" if found is not None else "the request could not be processed"


def plain_result(answer: bytes, method: Method) -> bytes:
    """ASMX's HTTP form result: the return value alone, as an element named by its type in
    the service's namespace (an empty body when the method returns nothing)."""
    if method.result is None:
        return b""
    root = etree.fromstring(answer)
    result = next(iter(root), None)
    out = etree.Element(f"{{{TNS}}}{method.result}", nsmap={None: TNS})
    if result is not None:
        out.text = result.text
        for child in result:
            out.append(child)
    etree.cleanup_namespaces(out, top_nsmap={None: TNS})
    written: bytes = etree.tostring(out, xml_declaration=True, encoding="utf-8")
    return written
