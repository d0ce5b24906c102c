"""The receiver's site-visit tracking: an image pixel and a JSON beacon (docs/visits.md).

    GET  /track/pixel.gif?t=TRACKING&v=VISIT&u=PAGE&r=REFERRER&vi=VISITOR
    POST /track/visit     {"trackingId": ..., "visitId": ..., "url": ..., "referrer": ...}

Each records one page view through VisitService.RecordVisit, with the client's address and
user agent. The pixel always answers its 1x1 transparent GIF, never cached, whatever became
of the view (an unknown tracking id, the lead service down): a pixel must never break a page.
Its page is the `u` parameter, else the Referer header (the page an <img> is on); the visit's
id is answered in the `X-Visit-ID` header. The beacon answers `{"visitId": ...}` (200) when
the view was recorded, 204 when not; it takes a JSON or URL-encoded body (what
`navigator.sendBeacon` sends) and answers any origin (CORS).

Parameter names are matched ignoring case, each with its aliases (`NAMES`); body values
win over the query string's.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

import grpc
from leadrouter.v1 import visits_pb2
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

log = logging.getLogger(__name__)

# The 1x1 transparent GIF (43 bytes).
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
NO_CACHE = {
    "cache-control": "no-store, no-cache, must-revalidate, max-age=0",
    "pragma": "no-cache",
    "expires": "0",
}
CORS = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "POST, OPTIONS",
    "access-control-allow-headers": "content-type",
    "access-control-max-age": "86400",
}
MAX_BEACON_BODY = 16 * 1024
GRPC_TIMEOUT = 5.0
# What each value of a page view may be called (lower case).
NAMES: dict[str, tuple[str, ...]] = {
    "tracking": ("t", "tid", "trackinguid", "trackingid", "tracking_id", "tracking"),
    "visit": ("v", "visitid", "visit_id", "visituid", "visit"),
    "url": ("u", "url", "pageurl", "page_url", "page"),
    "referrer": ("r", "ref", "referrer", "referer"),
    "visitor": ("vi", "visitorid", "visitor_id", "visitor"),
}
_KIND = {alias: kind for kind, aliases in NAMES.items() for alias in aliases}


def page_view(pairs: Sequence[tuple[str, Any]]) -> dict[str, str]:
    """The page view's values by kind: the first non-empty value of each kind wins."""
    found: dict[str, str] = {}
    for name, value in pairs:
        kind = _KIND.get(str(name).lower())
        text = "" if value is None else str(value).strip()
        if kind and text and kind not in found:
            found[kind] = text
    return found


def _tracking_id(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else 0


def visit_request(values: Mapping[str, str], request: Request) -> visits_pb2.RecordVisitRequest:
    return visits_pb2.RecordVisitRequest(
        tracking_id=_tracking_id(values.get("tracking", "")),
        visit_id=values.get("visit", ""),
        page_url=values.get("url", ""),
        referrer=values.get("referrer", ""),
        visitor_id=values.get("visitor", ""),
        remote_ip=request.client.host if request.client else "",
        user_agent=request.headers.get("user-agent", ""),
    )


async def _record(stub: Any, message: visits_pb2.RecordVisitRequest) -> str:
    """The recorded visit's id; "" when nothing was recorded or the service failed."""
    try:
        answer = await stub.RecordVisit(message, timeout=GRPC_TIMEOUT)
    except grpc.aio.AioRpcError as error:
        log.error("visit not recorded: %s %s", error.code(), error.details())
        return ""
    return str(answer.visit_id) if answer.recorded else ""


def pixel_handler(stub: Any) -> Any:
    async def pixel(request: Request) -> Response:
        values = page_view(list(request.query_params.multi_items()))
        if "url" not in values and request.headers.get("referer"):
            values["url"] = request.headers["referer"]
        try:
            visit_id = await _record(stub, visit_request(values, request))
        except Exception:  # never a broken image
            log.exception("the pixel failed to record a visit")
            visit_id = ""
        headers = dict(NO_CACHE)
        if visit_id:
            headers["x-visit-id"] = visit_id
        return Response(PIXEL, 200, headers=headers, media_type="image/gif")

    return pixel


def _body_pairs(body: bytes) -> list[tuple[str, Any]] | None:
    """A beacon body's values: a JSON object, or URL-encoded; None when unreadable."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return []
    if text.startswith("{"):
        try:
            found = json.loads(text)
        except ValueError:
            return None
        return list(found.items()) if isinstance(found, dict) else None
    return parse_qsl(text, keep_blank_values=False)


async def _read_body(request: Request) -> bytes | None:
    """The body; None past MAX_BEACON_BODY."""
    chunks: list[bytes] = []
    size = 0
    async with asyncio.timeout(10.0):
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BEACON_BODY:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


def beacon_handler(stub: Any) -> Any:
    async def beacon(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=CORS)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BEACON_BODY:
            return Response(status_code=413, headers=CORS)
        try:
            body = await _read_body(request)
        except (ClientDisconnect, TimeoutError):
            return Response(status_code=400, headers=CORS)
        if body is None:
            return Response(status_code=413, headers=CORS)
        pairs = _body_pairs(body)
        if pairs is None:
            return Response(
                b'{"error":"the body must be a JSON object or URL-encoded"}',
                400,
                headers=CORS,
                media_type="application/json",
            )
        values = page_view([*pairs, *request.query_params.multi_items()])
        visit_id = await _record(stub, visit_request(values, request))
        if not visit_id:
            return Response(status_code=204, headers={**CORS, **NO_CACHE})
        answer = json.dumps({"visitId": visit_id}).encode()
        return Response(answer, 200, headers={**CORS, **NO_CACHE}, media_type="application/json")

    return beacon
