"""The legacy HTTP lead receiver: LeadExec's /processor and /information URLs over Starlette.

It reads the request (forms.py), calls leadrouter.v1.LeadService over gRPC, and writes the
answer (responses.py). Every decision is the lead service's; errors this layer meets itself
(body too large, too slow, the lead service unreachable) are
answered in the legacy format too, never as a stack trace.

The insert endpoints differ only in what they tell the service (`SaleKind`, waiting for the
sends, reading call data) and in what they write back:

| endpoint | SaleKind | answer |
| --- | --- | --- |
| general | GENERAL | PostResponse |
| returnsends | GENERAL, wait_for_sends | PostResponse with `Sends` |
| transfer | LIVE_TRANSFER | PostResponse with `ClientInfos` |
| manualredirect | REDIRECT | PostResponse; `RedirectURL` is the buyer's |
| autoredirect | REDIRECT | 303 to the buyer's URL, else to `returnurl`, else PostResponse |
| calldata | CALL, call data read | PostResponse |

The ping (PingLead) reads the same request forms and answers LeadExec's PingResponse: whether
buyers were found, the order that reserves them, its estimated price and expiry.

Each insert endpoint, the ping included, has an `/async` variant (QueueLeads): the post is
answered at once with LeadExec's LeadQueueResponse, or refused as the synchronous endpoint
refuses it, and the lead service processes it later; its answer, written here too
(`written_answer`, a ping's `written_ping`), is then shown by the queue status URL.

The V2 receiver (`/v2/insert/general[/json|/xml]`, LeadExec's "V2 lead receiver") takes
JSON and XML bodies only, requires the lead source's API key (`api-key` header or
`Authorization: Bearer`), reads each lead's `tags` and `offer` properties too, and answers
each lead's PostResponse with the offers of the buyers it was eligible for (docs/receiver.md,
"The V2 receiver"). Its ping (`/v2/insert/ping`) answers the PingResponse with the offers of
the buyers its order reserved. Both have `/async` forms, queued on the same terms.

The tracking pixel and beacon (`/track/pixel.gif`, `/track/visit`) record site visits
(tracking.py, docs/visits.md).

Paths are matched ignoring case, with or without a trailing slash, repeated slashes read as
one, and answered where they are (never redirected). The posting URLs (insert, update,
duplicate check) take GET as well as POST: PHP integrations build the whole post into the
query string and call it with cURL.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import grpc
from leadrouter.v1 import leads_pb2
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Scope

from gateways.receiver import forms, instructions_page, responses, tracking

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_READ_TIMEOUT = 30.0
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
# The methods of the URLs that post: a GET carries the whole post in its query string.
POSTING = ("GET", "POST")
READING = ("GET", "HEAD")
# Characters left as they are when a URL is written into a Location header (Starlette's set).
_LOCATION_SAFE = ":/%#?=@[]!$&'()*+,;"


@dataclass(frozen=True)
class ReceiverSettings:
    max_body: int = DEFAULT_MAX_BODY
    read_timeout: float = DEFAULT_READ_TIMEOUT
    grpc_timeout: float = 30.0


class _TooLarge(Exception):
    """The body is over the configured cap."""


@dataclass(frozen=True)
class _Endpoint:
    """What an insert endpoint asks of the lead service and how it answers."""

    sale_kind: leads_pb2.SaleKind.ValueType = leads_pb2.SALE_KIND_GENERAL
    wait_for_sends: bool = False
    call_data: bool = False  # read each lead's call details (calldata)
    sends: bool = False  # list the sends (returnsends)
    agents: bool = False  # list the agents (transfer)
    redirects: bool = False  # answer with an HTTP redirect (autoredirect)
    # a JSON body's JSON answer is an array, even of one (returnsends, transfer, calldata: the
    # document's JSON-body examples show one there, and an object for general and update)
    json_array: bool = False


GENERAL = _Endpoint()
# The /async ping URLs' answer forms (AnswerForm.endpoint): the legacy ping's and the V2's.
PINGS = ("ping", "v2/ping")
V2_GENERAL = "v2/general"  # the V2 general insert's /async answer form
# The insert URLs, by the name in their path.
INSERTS = {
    "general": GENERAL,
    "returnsends": _Endpoint(wait_for_sends=True, sends=True, json_array=True),
    "transfer": _Endpoint(leads_pb2.SALE_KIND_LIVE_TRANSFER, agents=True, json_array=True),
    "manualredirect": _Endpoint(leads_pb2.SALE_KIND_REDIRECT),
    "autoredirect": _Endpoint(leads_pb2.SALE_KIND_REDIRECT, redirects=True),
    "calldata": _Endpoint(leads_pb2.SALE_KIND_CALL, call_data=True, json_array=True),
}


def create_app(
    stub: Any, settings: ReceiverSettings | None = None, visits: Any = None
) -> Starlette:
    """The receiver calling `stub` (a LeadService asyncio stub) for every decision, and
    `visits` (a VisitService asyncio stub) for the tracking pixel and beacon, which it serves
    only when given one."""
    settings = settings or ReceiverSettings()

    def posting(call: Any, endpoint: _Endpoint) -> Handler:
        """A route answering with PostResponses from `call` (SubmitLeads or UpdateLead)."""

        async def handle(request: Request) -> Response:
            incoming = await _incoming(request, settings, endpoint)
            if isinstance(incoming, Response):
                return incoming
            try:
                answer = await call(incoming.message, timeout=settings.grpc_timeout)
            except grpc.aio.AioRpcError as error:
                return _unavailable(incoming.kind, error)
            answered = _post_results(request, incoming, answer.results, endpoint)
            if endpoint.redirects and answer.redirect_to:
                answered.status_code = 303
                answered.headers["location"] = quote(answer.redirect_to, safe=_LOCATION_SAFE)
            return answered

        return handle

    async def queue(
        request: Request, message: leads_pb2.SubmitLeadsRequest, kind: str, name: str
    ) -> leads_pb2.QueueLeadsResponse | Response:
        """QueueLeads for the /async URL of insert endpoint `name` (a ping's: `ping` or
        `v2/ping`), answered in `kind`; or the error answering it."""
        ask = leads_pb2.QueueLeadsRequest(
            request=message,
            answer=leads_pb2.AnswerForm(
                endpoint=name, response_type=kind, receiver_url=str(request.base_url)
            ),
            ping=name in PINGS,
        )
        try:
            answer: leads_pb2.QueueLeadsResponse = await stub.QueueLeads(
                ask, timeout=settings.grpc_timeout
            )
        except grpc.aio.AioRpcError as error:
            return _unavailable(kind, error)
        return answer

    def queued_answer(
        request: Request, answer: leads_pb2.QueueLeadsResponse, kind: str
    ) -> Response:
        """LeadExec's LeadQueueResponse: queued, or why not."""
        status_url = _queue_status_url(str(request.base_url), answer.post_id)
        args = (answer.queued, answer.post_id, answer.details, status_url if answer.queued else "")
        if kind == "xml":
            return Response(responses.queue_answer_xml(*args), 200, media_type=XML_TYPE)
        return _json(responses.queue_answer_json(*args))

    def queueing(name: str, endpoint: _Endpoint) -> Handler:
        """An /async route: the post queued (LeadQueueResponse), or refused as at once as its
        synchronous URL refuses it (PostResponses)."""

        async def handle(request: Request) -> Response:
            incoming = await _incoming(request, settings, endpoint)
            if isinstance(incoming, Response):
                return incoming
            answer = await queue(request, incoming.message, incoming.kind, name)
            if isinstance(answer, Response):
                return answer
            if answer.refused:
                return _post_results(request, incoming, answer.refused, endpoint)
            return queued_answer(request, answer, incoming.kind)

        return handle

    def ping_queueing(name: str) -> Handler:
        """A ping's /async route (`ping`, or the V2 ping's `v2/ping`): the ping queued
        (LeadQueueResponse), or refused at once as its synchronous URL refuses it
        (PingResponse)."""

        async def handle(request: Request) -> Response:
            if name == "v2/ping":
                read = await v2_incoming(request)
                if isinstance(read, Response):
                    return read
                message, kind = read[0], read[2]
            else:
                incoming = await _incoming(request, settings, GENERAL)
                if isinstance(incoming, Response):
                    return incoming
                message, kind = incoming.message, incoming.kind
            answer = await queue(request, message, kind, name)
            if isinstance(answer, Response):
                return answer
            if answer.HasField("refused_ping"):
                media_type, body = written_ping(name, kind, answer.refused_ping)
                return Response(body, 200, media_type=media_type)
            return queued_answer(request, answer, kind)

        return handle

    insert = {name: posting(stub.SubmitLeads, endpoint) for name, endpoint in INSERTS.items()}
    queued = {name: queueing(name, endpoint) for name, endpoint in INSERTS.items()}
    queued["ping"] = ping_queueing("ping")
    v2_ping_later = _guarded(ping_queueing("v2/ping"), _v2_kind)
    update = posting(stub.UpdateLead, GENERAL)

    async def v2_incoming(
        request: Request,
    ) -> tuple[leads_pb2.SubmitLeadsRequest, forms.Submission, str] | Response:
        """A V2 request read: the lead service's request, the submission and the answer's
        kind; or the refusal, unless its body is JSON or XML and it carries an API key."""
        wanted = str(request.path_params.get("response_type", ""))
        if wanted and wanted.casefold() not in ("json", "xml"):
            return _error("json", 404, "Data_Errors", "The response type must be json or xml")
        try:
            body = await _read_body(request, settings)
        except _TooLarge:
            limit = f"{settings.max_body} bytes"
            return _error(_v2_kind(request), 413, "Data_Errors", f"The body is over {limit}")
        except TimeoutError:
            detail = "The body took too long to arrive"
            return _error(_v2_kind(request), 408, "Data_Errors", detail)
        except ClientDisconnect:
            return Response(status_code=400)
        content_type = request.headers.get("content-type")
        if _v2_format(body, content_type) is None:
            return _error(_v2_kind(request), 415, "Data_Errors", V2_FORMATS)
        key = forms.api_key_from_headers(request.headers)
        if not key:
            return _error(_v2_kind(request), 401, "No_Account_Found", V2_KEY)
        submission = forms.parse_submission(
            body, content_type, list(request.query_params.multi_items()), key, v2=True
        )
        kind = wanted.casefold() or ("xml" if submission.request_format == "xml" else "json")
        remote_ip = request.client.host if request.client else ""
        message = forms.to_request(submission, body, remote_ip)
        message.v2 = True
        return message, submission, kind

    async def v2_insert(request: Request) -> Response:
        """A V2 post: refused unless its body is JSON or XML and it carries an API key."""
        incoming = await v2_incoming(request)
        if isinstance(incoming, Response):
            return incoming
        message, submission, kind = incoming
        try:
            answer = await stub.SubmitLeads(message, timeout=settings.grpc_timeout)
        except grpc.aio.AioRpcError as error:
            return _unavailable(kind, error)
        no_sell = [lead.no_sell for lead in submission.leads]
        media_type, body = _written_v2(kind, str(request.base_url), answer.results, no_sell)
        return Response(body, 200, media_type=media_type)

    async def v2_insert_later(request: Request) -> Response:
        """A V2 post's /async URL: queued (LeadQueueResponse) on the V2 receiver's terms, or
        refused at once as the V2 post is."""
        incoming = await v2_incoming(request)
        if isinstance(incoming, Response):
            return incoming
        message, submission, kind = incoming
        answer = await queue(request, message, kind, V2_GENERAL)
        if isinstance(answer, Response):
            return answer
        if answer.refused:
            no_sell = [lead.no_sell for lead in submission.leads]
            base = str(request.base_url)
            media_type, body = _written_v2(kind, base, answer.refused, no_sell)
            return Response(body, 200, media_type=media_type)
        return queued_answer(request, answer, kind)

    async def v2_ping(request: Request) -> Response:
        """A V2 ping: the inbound ping (PingLead) read and refused as a V2 post is, answered
        with the PingResponse and the offers of the buyers its order reserved."""
        incoming = await v2_incoming(request)
        if isinstance(incoming, Response):
            return incoming
        message, _, kind = incoming
        try:
            found = await stub.PingLead(message, timeout=settings.grpc_timeout)
        except grpc.aio.AioRpcError as error:
            return _unavailable(kind, error)
        media_type, body = written_ping("v2/ping", kind, found)
        return Response(body, 200, media_type=media_type)

    async def duplicate_check(request: Request) -> Response:
        incoming = await _incoming(request, settings, GENERAL)
        if isinstance(incoming, Response):
            return incoming
        try:
            found = await stub.CheckDuplicate(incoming.message, timeout=settings.grpc_timeout)
        except grpc.aio.AioRpcError as error:
            return _unavailable(incoming.kind, error)
        if incoming.kind == "xml":
            return Response(responses.duplicate_check_xml(found), 200, media_type=XML_TYPE)
        return _json(responses.duplicate_check_json(found))

    async def ping(request: Request) -> Response:
        incoming = await _incoming(request, settings, GENERAL)
        if isinstance(incoming, Response):
            return incoming
        try:
            found = await stub.PingLead(incoming.message, timeout=settings.grpc_timeout)
        except grpc.aio.AioRpcError as error:
            return _unavailable(incoming.kind, error)
        media_type, body = written_ping("ping", incoming.kind, found)
        return Response(body, 200, media_type=media_type)

    async def posting_instructions(request: Request) -> Response:
        query = request.query_params
        credentials = leads_pb2.Credentials(
            vid=query.get("vid", ""),
            lid=query.get("lid", ""),
            aid=query.get("aid", ""),
            password=query.get("password", ""),
            api_key=query.get("key", "") or forms.api_key_from_headers(request.headers),
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
        document = instructions_page.document(found.document)
        if "json" in request.headers.get("accept", ""):
            return _json(document)
        return Response(instructions_page.render(document), 200, media_type=HTML_TYPE)

    async def post_status(request: Request) -> leads_pb2.PostStatus | Response:
        """The post the status URL names: its PostID in the path, or in the query string
        (`?PostID=`); or the error answering it."""
        post_id = request.path_params.get("post_id") or _query_value(request, "postid")
        wanted = _accepted_kind(request)
        if not post_id:
            return _error(wanted, 400, "Data_Errors", "PostID is required")
        try:
            found: leads_pb2.PostStatus = await stub.GetPostStatus(
                leads_pb2.GetPostStatusRequest(post_id=post_id), timeout=settings.grpc_timeout
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return _error(wanted, 404, "Data_Errors", f"No post {post_id}")
            return _unavailable(wanted, error)
        return found

    async def status(request: Request) -> Response:
        """A post's status report: JSON, or XML when Accept asks for it."""
        found = await post_status(request)
        if isinstance(found, Response):
            return found
        if _accepted_kind(request) == "xml":
            return Response(responses.post_status_xml(found), 200, media_type=XML_TYPE)
        return _json(responses.post_status_json(found))

    async def queue_status(request: Request) -> Response:
        """A queued post's status report, with where it stands in the queue and, once
        processed, its answer; in the format its async URL asked for, which its answer is
        written in. Any other post's is its status report."""
        found = await post_status(request)
        if isinstance(found, Response):
            return found
        if found.queue_state == leads_pb2.QUEUE_STATE_UNSPECIFIED:
            return await status(request)
        if found.answer_format == "xml":
            return Response(responses.queue_status_xml(found), 200, media_type=XML_TYPE)
        return _json(responses.queue_status_json(found))

    v2_general_later = _guarded(v2_insert_later, _v2_kind)
    routes = []
    insert["ping"] = ping
    for name in insert:
        handler = insert[name]
        later = queued[name]
        routes += [
            _route(f"/processor/insert/{name}", handler, POSTING),
            _route(f"/processor/insert/{name}/async", later, POSTING),
            _route(f"/processor/insert/{name}/{{response_type}}", handler, POSTING),
            _route(f"/processor/insert/{name}/{{response_type}}/async", later, POSTING),
        ]
    routes += [
        _LegacyRoute("/v2/insert/general", _guarded(v2_insert, _v2_kind), POSTING),
        _LegacyRoute("/v2/insert/general/async", v2_general_later, POSTING),
        _LegacyRoute("/v2/insert/general/{response_type}", _guarded(v2_insert, _v2_kind), POSTING),
        _LegacyRoute("/v2/insert/general/{response_type}/async", v2_general_later, POSTING),
        _LegacyRoute("/v2/insert/ping", _guarded(v2_ping, _v2_kind), POSTING),
        _LegacyRoute("/v2/insert/ping/async", v2_ping_later, POSTING),
        _LegacyRoute("/v2/insert/ping/{response_type}", _guarded(v2_ping, _v2_kind), POSTING),
        _LegacyRoute("/v2/insert/ping/{response_type}/async", v2_ping_later, POSTING),
        _route("/processor/update", update, POSTING),
        _route("/processor/update/{response_type}", update, POSTING),
        _route("/processor/duplicate/check", duplicate_check, POSTING),
        _route("/processor/duplicate/check/{response_type}", duplicate_check, POSTING),
        _route("/processor/instructions", posting_instructions, READING, _accepted_kind),
        _route("/information/status", status, READING, _accepted_kind),
        _route("/information/status/{post_id}", status, READING, _accepted_kind),
        _route("/information/queuestatus", queue_status, READING, _accepted_kind),
        _route("/information/queuestatus/{post_id}", queue_status, READING, _accepted_kind),
    ]
    if visits is not None:
        routes += [
            _LegacyRoute("/track/pixel.gif", tracking.pixel_handler(visits), ("GET",)),
            _LegacyRoute("/track/visit", tracking.beacon_handler(visits), ("POST", "OPTIONS")),
        ]
    app = Starlette(routes=routes)
    app.router.redirect_slashes = False  # a trailing slash is matched by the routes themselves
    return app


Handler = Callable[[Request], Awaitable[Response]]


class _LegacyRoute(Route):
    """A route matched as LeadExec's URLs are: ignoring case (ASCII letters only), with or
    without one trailing slash, and slashes repeated anywhere read as one (a base URL ending in
    `/` joined to a path starting with one). Only the methods given are taken: Starlette adds
    HEAD to a GET route, and a HEAD to a posting URL would store a lead while its answer is
    dropped."""

    def __init__(self, path: str, handler: Handler, methods: Sequence[str]) -> None:
        super().__init__(path, handler, methods=list(methods))
        self.methods = set(methods)
        pattern = self.path_regex.pattern
        assert pattern.endswith("$"), pattern
        self.path_regex = re.compile(pattern[:-1] + "/?$", re.IGNORECASE | re.ASCII)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope["path"]
        if "//" in path:
            scope = {**scope, "path": _REPEATED_SLASHES.sub("/", path)}
        return super().matches(scope)


_REPEATED_SLASHES = re.compile("/{2,}")


def _route(
    path: str,
    handler: Handler,
    methods: Sequence[str],
    kind: Callable[[Request], str] | None = None,
) -> Route:
    """`kind`: the format of the route's answers when it fails; by default `_posted_kind`."""
    return _LegacyRoute(path, _guarded(handler, kind or _posted_kind), methods)


def _posted_kind(request: Request) -> str:
    """The format of an answer given before the body is read (or when reading it failed): the
    URL segment, else JSON for a body declared JSON and XML for any other, as `_response_kind`
    decides once the body is read."""
    wanted = str(request.path_params.get("response_type", ""))
    if wanted:
        return wanted
    declared = forms.declared_format(request.headers.get("content-type"))
    return "json" if declared == "json" else "xml"


V2_FORMATS = (
    "The V2 receiver takes JSON or XML bodies only (Content-Type application/json or "
    "application/xml); URL-encoded and query-string posts go to /processor/insert/..."
)
V2_KEY = (
    "The V2 receiver requires the lead source's API key: send it in the api-key header "
    "or as Authorization: Bearer KEY"
)


def _v2_format(body: bytes, content_type: str | None) -> str | None:
    """json or xml, as the Content-Type declares it or, without one, as the body looks; None
    for anything else (URL-encoded, an empty body)."""
    if not body.strip():
        return None
    declared = forms.declared_format(content_type)
    found = declared if content_type and content_type.strip() else forms.sniffed_format(body)
    return found if found in ("json", "xml") else None


def _v2_kind(request: Request) -> str:
    """The format of a V2 answer given before the body is read: the URL segment, else XML for
    a body declared XML and JSON for any other."""
    wanted = str(request.path_params.get("response_type", "")).casefold()
    if wanted in ("json", "xml"):
        return wanted
    declared = forms.declared_format(request.headers.get("content-type"))
    return "xml" if declared == "xml" else "json"


def _accepted_kind(request: Request) -> str:
    """json or xml, as the Accept header asks: JSON unless it names XML (the status report)."""
    return "xml" if "xml" in request.headers.get("accept", "") else "json"


def _guarded(handler: Handler, kind: Callable[[Request], str]) -> Handler:
    """The handler, answering in the legacy format, with a reference that is in the log, when
    it fails unexpectedly: no exception reaches the HTTP server, which would answer a bare 500
    and drop the keep-alive connection."""

    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except Exception:
            reference = uuid.uuid4().hex[:12]
            where = f"{request.method} {request.url.path}"
            log.exception("the receiver failed on %s (ref %s)", where, reference)
            return _error(
                kind(request), 500, "Data_Errors", f"The receiver failed (ref {reference})"
            )

    return guarded


def _query_value(request: Request, name: str) -> str:
    """The first non-empty query value whose name is `name` (lower case), ignoring case."""
    return next((v for k, v in request.query_params.multi_items() if k.lower() == name and v), "")


async def _read_body(request: Request, settings: ReceiverSettings) -> bytes:
    """The body, refused past the cap (declared or streamed) or when it arrives too slowly."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > settings.max_body:
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


async def _incoming(
    request: Request, settings: ReceiverSettings, endpoint: _Endpoint
) -> _Incoming | Response:
    """The posted request as a lead service message for `endpoint`, or the legacy error
    answering it."""
    wanted = request.path_params.get("response_type", "")
    try:
        body = await _read_body(request, settings)
    except _TooLarge:
        limit = f"{settings.max_body} bytes"
        return _error(_posted_kind(request), 413, "Data_Errors", f"The body is over {limit}")
    except TimeoutError:
        detail = "The body took too long to arrive"
        return _error(_posted_kind(request), 408, "Data_Errors", detail)
    except ClientDisconnect:
        return Response(status_code=400)
    submission = forms.parse_submission(
        body,
        request.headers.get("content-type"),
        list(request.query_params.multi_items()),
        forms.api_key_from_headers(request.headers),
        call_data=endpoint.call_data,
    )
    kind = _response_kind(wanted, submission.request_format)
    if kind is None:
        return _error("json", 404, "Data_Errors", "The response type must be json or xml")
    remote_ip = request.client.host if request.client else ""
    raw = forms.kept_request(body, request.scope.get("query_string", b""))
    message = forms.to_request(submission, raw, remote_ip)
    message.wait_for_sends = endpoint.wait_for_sends
    message.sale_kind = endpoint.sale_kind
    return _Incoming(message, kind)


def _response_kind(wanted: str, request_format: str) -> str | None:
    """json or xml: the URL segment; without one, JSON for a JSON body and XML for any other.
    URL-encoded and GET posts come from integrations (PHP, classic ASP) that read the answer
    with an XML parser, as LeadExec's XML PostResponse."""
    if not wanted:
        return "json" if request_format == "json" else "xml"
    folded = wanted.casefold()
    return folded if folded in ("json", "xml") else None


def _post_results(
    request: Request,
    incoming: _Incoming,
    results: Sequence[leads_pb2.PostResult],
    endpoint: _Endpoint,
) -> Response:
    """The PostResponses, as `endpoint` writes them."""
    media_type, body = _written(
        endpoint, incoming.kind, incoming.message.request_format, str(request.base_url), results
    )
    return Response(body, 200, media_type=media_type)


def written_answer(
    endpoint: str,
    kind: str,
    request_format: str,
    base_url: str,
    answer: leads_pb2.SubmitLeadsResponse,
    no_sell: Sequence[bool] = (),
) -> tuple[str, bytes]:
    """A request's answer (its media type and body) as the insert URL `endpoint` writes it
    (json or xml, as `kind` says) for a request of this format; `base_url`: the receiver's,
    as the request reached it; `no_sell`: its leads' flags (the V2 general insert,
    `v2/general`, says a noSell lead was not distributed). The lead service has a queued
    post's answer written here, so that it is the synchronous URL's answer to the byte."""
    if endpoint == V2_GENERAL:
        return _written_v2(kind, base_url, answer.results, no_sell)
    return _written(INSERTS.get(endpoint, GENERAL), kind, request_format, base_url, answer.results)


def _written_v2(
    kind: str, base_url: str, results: Sequence[leads_pb2.PostResult], no_sell: Sequence[bool]
) -> tuple[str, bytes]:
    """A V2 post's answer: each PostResponse with its offers."""
    status_urls = [_status_url(base_url, r.post_id) for r in results]
    written = responses.post_results_v2(results, status_urls, no_sell, kind)
    if isinstance(written, str):
        return XML_TYPE, written.encode()
    return JSON_TYPE, _json_bytes(written)


def written_ping(endpoint: str, kind: str, found: leads_pb2.PingResult) -> tuple[str, bytes]:
    """A ping's answer (its media type and body) as the ping URL `endpoint` (`ping`, or the
    V2 ping's `v2/ping`) writes it, in json or xml as `kind` says. The lead service has a
    queued ping's answer written here, so that it is the synchronous URL's answer to the
    byte."""
    v2 = endpoint == "v2/ping"
    if kind == "xml":
        xml = responses.ping_v2_xml(found) if v2 else responses.ping_xml(found)
        return XML_TYPE, xml.encode()
    written = responses.ping_v2_json(found) if v2 else responses.ping_json(found)
    return JSON_TYPE, _json_bytes(written)


def _written(
    endpoint: _Endpoint,
    kind: str,
    request_format: str,
    base_url: str,
    results: Sequence[leads_pb2.PostResult],
) -> tuple[str, bytes]:
    status_urls = [_status_url(base_url, r.post_id) for r in results]
    lists = {"sends": endpoint.sends, "agents": endpoint.agents}
    if kind == "xml":
        return XML_TYPE, responses.post_results_xml(results, status_urls, **lists).encode()
    as_array = endpoint.json_array and request_format == "json"
    return JSON_TYPE, _json_bytes(
        responses.post_results_json(results, status_urls, **lists, array=as_array)
    )


def _status_url(base_url: str, post_id: str) -> str:
    """The status route's address for a post: what url_for("status") gives, without a route
    lookup per lead."""
    return f"{base_url}information/status/{quote(post_id, safe='')}" if post_id else ""


def _queue_status_url(base_url: str, post_id: str) -> str:
    """The queue status route's address for a queued post."""
    return f"{base_url}information/queuestatus/{quote(post_id, safe='')}"


def _json(content: object, status_code: int = 200) -> Response:
    return Response(_json_bytes(content), status_code, media_type=JSON_TYPE)


def _json_bytes(content: object) -> bytes:
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


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
