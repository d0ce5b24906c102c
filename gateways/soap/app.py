"""service.asmx over HTTP, as ASMX serves it (docs/soap.md):

| request | answer |
| --- | --- |
| `POST /service.asmx`, SOAP 1.1 (`text/xml`) or 1.2 (`application/soap+xml`) | SOAP |
| `GET /service.asmx?WSDL` (any case) | the WSDL, both bindings |
| `GET /service.asmx?op=Method` | the method's help page |
| `GET /service.asmx` | the list of methods |
| `GET` or `POST /service.asmx/Method` (a query string, or a form: URL-encoded, multipart) | XML |

Spyne reads and writes the messages; its applications run in this gateway's own thread pool
so a slow method never holds the event loop. Bodies are capped and XML with a DTD is refused
before Spyne sees it (Spyne's parser already resolves no entities and reads no network).
"""

from __future__ import annotations

import asyncio
import io
import logging
import math
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

import spyne.const
from spyne import Application
from spyne.protocol.http import HttpRpc
from spyne.protocol.soap import Soap11, Soap12
from spyne.protocol.xml import XmlDocument
from spyne.server.wsgi import WsgiApplication
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from gateways import http_forms
from gateways.soap import pages, wsdl
from gateways.soap.backend import Backend
from gateways.soap.models import TNS
from gateways.soap.service import Service

log = logging.getLogger(__name__)

SOAP11_TYPE = "text/xml; charset=utf-8"
SOAP12_TYPE = "application/soap+xml; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
# any case, repeated slashes read as one (a base URL ending in `/` joined to `/service.asmx`)
_PATH = re.compile(r"^/+service\.asmx(?:/+(?P<method>[^/]+))?/*$", re.IGNORECASE)

# Spyne logs every fault it answers with a traceback; faults are answers here, and the
# gateway logs what is worth logging (faults.py).
SPYNE_LOGGERS = ("spyne.server", "spyne.protocol", "spyne.application", "spyne.util")


def _quiet_spyne() -> None:
    """Spyne's process-wide habits that do not suit a gateway serving many calls at once: its
    loggers (above), and a full `gc.collect()` after a call whenever a second has passed
    since the last, which stops every thread for 10-15 ms (docs/decisions.md)."""
    for name in SPYNE_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    spyne.const.MIN_GC_INTERVAL = math.inf


@dataclass(frozen=True)
class SoapSettings:
    max_body: int = 1024 * 1024
    threads: int = 16  # the gateway's worker threads: calls served at once
    read_timeout: float = 30.0


def _application(
    services: Sequence[type], in_protocol: Any, out_protocol: Any, backend: Backend
) -> Any:
    application = Application(
        list(services), tns=TNS, name="Service", in_protocol=in_protocol, out_protocol=out_protocol
    )
    application.backend = backend
    return application


Answer = tuple[int, dict[str, str], bytes]
UNREADABLE = "the request is not a message this service can read"


@dataclass(frozen=True)
class _Wsgi:
    """A Spyne application behind its WSGI adapter, called once per request in a thread.

    Methods turn their own errors into faults (Service.call_wrapper), so what escapes Spyne
    comes from reading the request: an empty body, an envelope without a body element. Spyne
    lets some of those escape as exceptions; they are the caller's, answered as `refusal`."""

    app: Any
    refusal: Callable[[str], Answer]

    def __call__(self, environ: dict[str, Any]) -> Answer:
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
            started.append((int(status.split(" ", 1)[0]), dict(headers)))

        try:
            body = b"".join(self.app(environ, start_response))
        except Exception as error:  # a StopIteration must not reach the event loop's future
            log.info("service.asmx could not read a request: %r", error)
            return self.refusal(UNREADABLE)
        status, headers = started[0]
        return status, headers, body


class _PlainXml(XmlDocument):  # type: ignore[misc]  # spyne ships no types
    """The HTTP forms' output: a fault's HTTP status is the one faults.py chose for it."""

    def fault_to_http_response_code(self, fault: Any) -> str:
        status = getattr(fault, "http_status", None)
        if status is None:
            return str(super().fault_to_http_response_code(fault))
        return f"{status} {HTTPStatus(status).phrase}"


class _TooLarge(Exception):
    """The body is over the cap."""


class SoapGateway:
    """The routes of service.asmx over the given Spyne services."""

    def __init__(self, backend: Backend, settings: SoapSettings, services: Sequence[type]) -> None:
        _quiet_spyne()
        self.settings = settings
        soap11 = _application(services, Soap11(validator="lxml"), Soap11(), backend)
        soap12 = _application(services, Soap12(validator="lxml"), Soap12(), backend)
        forms = _application(services, HttpRpc(validator="soft"), _PlainXml(), backend)
        self._soap11 = _Wsgi(
            WsgiApplication(soap11), lambda m: (500, {}, pages.fault11("Client", m))
        )
        self._soap12 = _Wsgi(
            WsgiApplication(soap12), lambda m: (500, {}, pages.fault12("Sender", m))
        )
        self._forms = _Wsgi(WsgiApplication(forms), lambda m: (400, {}, pages.fault11("Client", m)))
        self._wsdl = wsdl.build(soap11)
        self._methods = pages.methods(soap11)
        self._by_lower = {name.lower(): name for name in self._methods}
        self._executor = ThreadPoolExecutor(settings.threads, thread_name_prefix="soap")

    @property
    def methods(self) -> dict[str, pages.Method]:
        """The methods served, by name."""
        return dict(self._methods)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    async def handle(self, request: Request) -> Response:
        match = _PATH.match(request.url.path)
        if match is None:
            return Response("Not found: the service is at /service.asmx", 404, media_type=TEXT_TYPE)
        method = match.group("method")
        try:
            body = await self._body(request)
        except _TooLarge:
            return self._refusal(
                request, method, 413, f"request body over {self.settings.max_body} bytes"
            )
        except (ClientDisconnect, TimeoutError):
            return Response(status_code=400)
        if _DTD.search(body):
            return self._refusal(
                request, method, 400, "XML with a DTD or entity declarations is refused"
            )
        if method is not None:
            return await self._form(request, method, body)
        if request.method == "POST":
            return await self._soap(request, body)
        if request.method not in ("GET", "HEAD"):
            return Response(status_code=405, headers={"Allow": "GET, POST"})
        query = {k.lower(): v for k, v in request.query_params.items()}
        base = self._address(request)
        if "wsdl" in query or "WSDL" in request.url.query:
            return Response(self._wsdl.replace(wsdl.ADDRESS, base), media_type=SOAP11_TYPE)
        if "op" in query:
            name = self._by_lower.get(query["op"].lower())
            if name is None:
                return Response(pages.unknown(query["op"]), 404, media_type=HTML_TYPE)
            return Response(pages.method_page(self._methods[name], base), media_type=HTML_TYPE)
        return Response(pages.index(self._methods, base), media_type=HTML_TYPE)

    async def _body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.settings.max_body:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        async with asyncio.timeout(self.settings.read_timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > self.settings.max_body:
                    raise _TooLarge
                chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _address(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}/service.asmx"

    def _environ(self, request: Request, body: bytes, path: str, query: str) -> dict[str, Any]:
        return {
            "REQUEST_METHOD": request.method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": request.headers.get("content-type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_SOAPACTION": request.headers.get("soapaction", ""),
            "SERVER_NAME": request.url.hostname or "localhost",
            "SERVER_PORT": str(request.url.port or 80),
            "wsgi.url_scheme": request.url.scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(),
        }

    async def _run(self, app: _Wsgi, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, app, environ)

    async def _soap(self, request: Request, body: bytes) -> Response:
        content_type = request.headers.get("content-type", "").lower()
        if content_type.startswith("application/soap+xml"):
            app, media = self._soap12, SOAP12_TYPE
        elif content_type.startswith("text/xml") or not content_type:
            app, media = self._soap11, SOAP11_TYPE
        else:
            return Response(
                pages.fault11(
                    "Client",
                    f"unsupported content type {content_type!r}: send "
                    "text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2)",
                ),
                415,
                media_type=SOAP11_TYPE,
            )
        status, _, answer = await self._run(app, self._environ(request, body, "/", ""))
        return Response(answer, status, media_type=media)

    async def _form(self, request: Request, method: str, body: bytes) -> Response:
        """ASMX's HTTP GET and POST forms: parameters by name, the result as plain XML."""
        name = self._by_lower.get(method.lower())
        if name is None:
            return Response(f"{method} is not a method of this service", 404, media_type=TEXT_TYPE)
        if request.method == "POST":
            try:
                query = urlencode(_posted_form(request.headers.get("content-type"), body))
            except http_forms.FormError as error:
                return Response(f"The form cannot be read: {error}", 400, media_type=TEXT_TYPE)
        elif request.method in ("GET", "HEAD"):
            query = request.url.query
        else:
            return Response(status_code=405, headers={"Allow": "GET, POST"})
        environ = self._environ(request, b"", f"/{name}", query)
        environ["REQUEST_METHOD"] = "GET"
        status, _, answer = await self._run(self._forms, environ)
        if status >= 400:
            return Response(pages.fault_text(answer), status, media_type=TEXT_TYPE)
        return Response(
            pages.plain_result(answer, self._methods[name]), media_type="text/xml; charset=utf-8"
        )

    def _refusal(self, request: Request, method: str | None, status: int, message: str) -> Response:
        if method is not None or request.method != "POST":
            return Response(message, status, media_type=TEXT_TYPE)
        if request.headers.get("content-type", "").lower().startswith("application/soap+xml"):
            return Response(pages.fault12("Sender", message), status, media_type=SOAP12_TYPE)
        return Response(pages.fault11("Client", message), status, media_type=SOAP11_TYPE)


def _posted_form(content_type: str | None, body: bytes) -> list[tuple[str, str]]:
    """The HTTP POST form's parameters: URL-encoded, or multipart/form-data (PHP's cURL with
    an array), as ASP.NET reads either; text that is not UTF-8 read as Windows-1252."""
    boundary = http_forms.multipart_boundary(content_type)
    if boundary is not None:
        return http_forms.multipart_pairs(body, boundary)
    return http_forms.urlencoded_pairs(body)


def create_app(
    backend: Backend, settings: SoapSettings | None = None, services: Sequence[type] = (Service,)
) -> Starlette:
    gateway = SoapGateway(backend, settings or SoapSettings(), services)
    app = Starlette(
        routes=[
            Route(
                "/{path:path}",
                gateway.handle,
                methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"],
            )
        ]
    )
    app.state.gateway = gateway
    return app
