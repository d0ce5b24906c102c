"""The WSDL as ASMX serves it: one document binding every method over SOAP 1.1
(`ServiceSoap`) and SOAP 1.2 (`ServiceSoap12`), soapAction = namespace + method name.

Spyne writes one binding for its application's protocol; this adds the SOAP 1.2 binding and
port beside the SOAP 1.1 ones and names them as ASMX does. Built once per application; the
service address is filled in per request from the address the caller used.
"""

from __future__ import annotations

import copy
from typing import Any

from lxml import etree
from spyne.interface.wsdl import Wsdl11

from gateways.soap.models import TNS

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP11_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP12_NS = "http://schemas.xmlsoap.org/wsdl/soap12/"
HTTP_TRANSPORT = "http://schemas.xmlsoap.org/soap/http"
ADDRESS = "http://service.asmx.address/"  # replaced by the caller's URL when served


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def build(application: Any) -> str:
    """The WSDL of a Spyne application with a SOAP 1.1 protocol, as a template whose address
    is ADDRESS."""
    interface = Wsdl11(application.interface)
    interface.build_interface_document(ADDRESS)
    root = etree.fromstring(interface.get_interface_document())
    port_type = root.find(_q(WSDL_NS, "portType"))
    binding = root.find(_q(WSDL_NS, "binding"))
    service = root.find(_q(WSDL_NS, "service"))
    assert port_type is not None and binding is not None and service is not None
    _sort_definitions(root)
    port_type.set("name", "ServiceSoap")
    binding.set("name", "ServiceSoap")
    binding.set("type", "tns:ServiceSoap")
    for element in binding.iter(_q(SOAP11_NS, "binding")):
        element.set("transport", HTTP_TRANSPORT)
    for operation in binding.iter(_q(SOAP11_NS, "operation")):
        parent = operation.getparent()
        assert parent is not None
        operation.set("soapAction", TNS + str(parent.get("name")))

    soap12 = _as_soap12(binding)
    binding.addnext(soap12)

    service.set("name", "Service")
    for port in list(service):
        service.remove(port)
    for name, ns in (("ServiceSoap", SOAP11_NS), ("ServiceSoap12", SOAP12_NS)):
        port = etree.SubElement(service, _q(WSDL_NS, "port"), name=name, binding=f"tns:{name}")
        etree.SubElement(port, _q(ns, "address"), location=ADDRESS)
    # ASMX puts the service last
    root.remove(service)
    root.append(service)
    written: bytes = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    return written.decode()


def _sort_definitions(root: Any) -> None:
    """Spyne's order of schema types and messages varies from run to run; a contract is
    compared byte for byte (tests/golden/service.wsdl), so order them by kind and name."""
    xs = "{http://www.w3.org/2001/XMLSchema}"
    kinds = {f"{xs}simpleType": 0, f"{xs}complexType": 1, f"{xs}element": 2}
    for schema in root.iter(f"{xs}schema"):
        _reorder(schema, lambda e: (kinds.get(e.tag, 3), str(e.get("name"))))
    messages = [m for m in root if m.tag == _q(WSDL_NS, "message")]
    if messages:
        anchor = messages[0].getprevious()
        for message in messages:
            root.remove(message)
        for message in sorted(messages, key=lambda m: str(m.get("name")), reverse=True):
            anchor.addnext(message)
    for parent in (root.find(_q(WSDL_NS, "portType")), root.find(_q(WSDL_NS, "binding"))):
        if parent is not None:
            _reorder(parent, lambda e: (e.tag == _q(WSDL_NS, "operation"), str(e.get("name"))))


def _reorder(parent: Any, key: Any) -> None:
    children = sorted(parent, key=key)
    for child in children:
        parent.remove(child)
    parent.extend(children)


def _as_soap12(binding: Any) -> Any:
    copied = copy.deepcopy(binding)
    copied.set("name", "ServiceSoap12")
    for element in list(copied.iter()):
        if isinstance(element.tag, str) and element.tag.startswith(f"{{{SOAP11_NS}}}"):
            element.tag = _q(SOAP12_NS, etree.QName(element).localname)
    return copied


def operations(wsdl: str) -> list[str]:
    """The operation names a WSDL offers (its SOAP 1.1 port type)."""
    root = etree.fromstring(wsdl.encode())
    port_type = root.find(_q(WSDL_NS, "portType"))
    return [str(op.get("name")) for op in port_type.iter(_q(WSDL_NS, "operation"))]
