"""The legacy HTTP lead receiver: LeadExec's /processor and /information URLs over Starlette.

It reads the request (forms.py), calls leadrouter.v1.LeadService over gRPC, and writes the
answer (responses.py). Every decision is the lead service's; errors this layer meets itself
(body too large, too slow, an endpoint not enabled yet, the lead service unreachable) are
answered in the legacy format too, never as a stack trace.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.json_format import MessageToDict
from leadrouter.v1 import leads_pb2
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from gateways.receiver import forms, instructions_page, responses

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_READ_TIMEOUT = 30.0
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
# Insert endpoints that come with the distribution, ping-post and async work.
NOT_ENABLED = ("transfer", "manualredirect", "autoredirect", "calldata", "ping")


@dataclass(frozen=True)
class ReceiverSettings:
    max_body: int = DEFAULT_MAX_BODY
    read_timeout: float = DEFAULT_READ_TIMEOUT
    grpc_timeout: float = 30.0


class _TooLarge(Exception):
    """The body is over the configured cap."""


def create_app(stub: Any, settings: ReceiverSettings | None = None) -> Starlette:
    """The receiver calling `stub` (a LeadService asyncio stub) for every decision."""
    settings = settings or ReceiverSettings()

    def posting(call: Any, *, sends: bool = False) -> Callable[[Request], Awaitable[Response]]:
        """A route answering with PostResponses from `call` (SubmitLeads or UpdateLead);
        with `sends`, each lead is delivered first and its sends are listed."""

        async def handle(request: Request) -> Response:
            incoming = await _incoming(request, settings)
            if isinstance(incoming, Response):
                return incoming
            incoming.message.wait_for_sends = sends
            try:
                answer = await call(incoming.message, timeout=settings.grpc_timeout)
            except grpc.aio.AioRpcError as error:
                return _unavailable(incoming.kind, error)
            return _post_results(request, incoming.kind, answer.results, sends=sends)

        return handle

    insert_general, update = posting(stub.SubmitLeads), posting(stub.UpdateLead)
    return_sends = posting(stub.SubmitLeads, sends=True)

    async def duplicate_check(request: Request) -> Response:
        incoming = await _incoming(request, settings)
        if isinstance(incoming, Response):
            return incoming
        try:
            found = await stub.CheckDuplicate(incoming.message, timeout=settings.grpc_timeout)
        except grpc.aio.AioRpcError as error:
            return _unavailable(incoming.kind, error)
        if incoming.kind == "xml":
            return Response(responses.duplicate_check_xml(found), 200, media_type=XML_TYPE)
        return _json(responses.duplicate_check_json(found))

    async def posting_instructions(request: Request) -> Response:
        query = request.query_params
        credentials = leads_pb2.Credentials(
            vid=query.get("vid", ""),
            lid=query.get("lid", ""),
            aid=query.get("aid", ""),
            password=query.get("password", ""),
            api_key=query.get("key", "")
            or forms.api_key_from_authorization(request.headers.get("authorization")),
        )
        ask = leads_pb2.SourceInstructionsRequest(
            credentials=credentials, receiver_url=str(request.base_url).rstrip("/")
        )
        try:
            found = await stub.GetSourceInstructions(ask, timeout=settings.grpc_timeout)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                text = f"Posting instructions are not available: {error.details()}"
                return Response(text, 403, media_type="text/plain; charset=utf-8")
            return _unavailable("json", error)
        document = MessageToDict(found.document)
        if "json" in request.headers.get("accept", ""):
            return _json(document)
        return Response(instructions_page.render(document), 200, media_type=HTML_TYPE)

    async def not_enabled(request: Request) -> Response:
        kind = request.path_params.get("response_type", "json")
        name = request.url.path
        return _error(kind, 501, "Data_Errors", f"{name} is not enabled on this server yet")

    async def status(request: Request) -> Response:
        post_id = request.path_params["post_id"]
        wanted = "xml" if "xml" in request.headers.get("accept", "") else "json"
        try:
            found = await stub.GetPostStatus(
                leads_pb2.GetPostStatusRequest(post_id=post_id), timeout=settings.grpc_timeout
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return _error(wanted, 404, "Data_Errors", f"No post {post_id}")
            return _unavailable(wanted, error)
        if wanted == "xml":
            return Response(responses.post_status_xml(found), 200, media_type=XML_TYPE)
        return _json(responses.post_status_json(found))

    routes = [
        Route("/processor/insert/general", insert_general, methods=["POST"]),
        Route("/processor/insert/general/{response_type}", insert_general, methods=["POST"]),
        Route("/processor/insert/general/{response_type}/async", not_enabled, methods=["POST"]),
        Route("/processor/insert/returnsends", return_sends, methods=["POST"]),
        Route("/processor/insert/returnsends/{response_type}", return_sends, methods=["POST"]),
        Route("/processor/insert/returnsends/{response_type}/async", not_enabled, methods=["POST"]),
        Route("/processor/update", update, methods=["POST"]),
        Route("/processor/update/{response_type}", update, methods=["POST"]),
        Route("/processor/duplicate/check", duplicate_check, methods=["POST"]),
        Route("/processor/duplicate/check/{response_type}", duplicate_check, methods=["POST"]),
        Route("/processor/instructions", posting_instructions, methods=["GET"]),
        Route("/information/status/{post_id}", status, methods=["GET"]),
        Route("/information/queuestatus/{post_id}", status, methods=["GET"]),
    ]
    for name in NOT_ENABLED:
        routes.append(Route(f"/processor/insert/{name}", not_enabled, methods=["POST"]))
        routes.append(
            Route(f"/processor/insert/{name}/{{response_type}}", not_enabled, methods=["POST"])
        )
        routes.append(
            Route(
                f"/processor/insert/{name}/{{response_type}}/async", not_enabled, methods=["POST"]
            )
        )
    return Starlette(routes=routes)


async def _read_body(request: Request, settings: ReceiverSettings) -> bytes:
    """The body, refused past the cap (declared or streamed) or when it arrives too slowly."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_body:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async with asyncio.timeout(settings.read_timeout):
        async for chunk in request.stream():
            size += len(chunk)
            if size > settings.max_body:
                raise _TooLarge
            chunks.append(chunk)
    return b"".join(chunks)


@dataclass(frozen=True)
class _Incoming:
    message: leads_pb2.SubmitLeadsRequest
    kind: str  # the response format: json or xml


async def _incoming(request: Request, settings: ReceiverSettings) -> _Incoming | Response:
    """The posted request as a lead service message, or the legacy error answering it."""
    wanted = request.path_params.get("response_type", "")
    try:
        body = await _read_body(request, settings)
    except _TooLarge:
        limit = f"{settings.max_body} bytes"
        return _error(wanted or "json", 413, "Data_Errors", f"The body is over {limit}")
    except TimeoutError:
        return _error(wanted or "json", 408, "Data_Errors", "The body took too long to arrive")
    except ClientDisconnect:
        return Response(status_code=400)
    submission = forms.parse_submission(
        body,
        request.headers.get("content-type"),
        list(request.query_params.multi_items()),
        forms.api_key_from_authorization(request.headers.get("authorization")),
    )
    kind = _response_kind(wanted, submission.request_format)
    if kind is None:
        return _error("json", 404, "Data_Errors", "The response type must be json or xml")
    remote_ip = request.client.host if request.client else ""
    return _Incoming(forms.to_request(submission, body, remote_ip), kind)


def _response_kind(wanted: str, request_format: str) -> str | None:
    """json or xml: the URL segment, or the request's own format when there is none."""
    if not wanted:
        return "xml" if request_format == "xml" else "json"
    folded = wanted.casefold()
    return folded if folded in ("json", "xml") else None


def _post_results(
    request: Request, kind: str, results: Sequence[leads_pb2.PostResult], *, sends: bool = False
) -> Response:
    status_urls = [_status_url(request, r.post_id) for r in results]
    if kind == "xml":
        body = responses.post_results_xml(results, status_urls, sends=sends)
        return Response(body, 200, media_type=XML_TYPE)
    return _json(responses.post_results_json(results, status_urls, sends=sends))


def _status_url(request: Request, post_id: str) -> str:
    return str(request.url_for("status", post_id=post_id)) if post_id else ""


def _json(content: object, status_code: int = 200) -> Response:
    body = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status_code, media_type=JSON_TYPE)


def _error(kind: str, status_code: int, response_type: str, details: str) -> Response:
    if kind.casefold() == "xml":
        return Response(
            responses.error_xml(response_type, details), status_code, media_type=XML_TYPE
        )
    return _json(responses.error_json(response_type, details), status_code)


def _unavailable(kind: str, error: grpc.aio.AioRpcError) -> Response:
    reference = uuid.uuid4().hex[:12]
    log.error("lead service call failed (ref %s): %s %s", reference, error.code(), error.details())
    return _error(kind, 503, "Data_Errors", f"The lead service is unavailable (ref {reference})")
