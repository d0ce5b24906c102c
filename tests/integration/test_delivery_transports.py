"""Delivery transports over the real wire: an HTTP buyer, an SMTP server and an FTP server,
all on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import functools
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from server.adapters.delivery import HttpTransport, Transports, transmit
from server.adapters.delivery.http import MAX_BODY_BYTES, MAX_REDIRECTS
from server.domain.delivery.answers import interpret
from server.domain.delivery.render import render
from server.domain.delivery.spec import (
    AuthType,
    DeliverySpec,
    DeliveryType,
    FieldMapping,
    HttpRequest,
    LeadPayload,
    ResponseRules,
)
from tests.support.ftp import ftp_server

MAPPINGS = (FieldMapping("first_name", "FirstName"), FieldMapping("phone", "Phone"))
LEAD = LeadPayload(
    lead_id=7,
    send_id=42,
    price=Decimal("12.50"),
    values={"FirstName": 'Ann "A" <&>', "Phone": "5551234567"},
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- an HTTP buyer -------------------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client: tuple[str, int]


class BuyerServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up early (a timeout, a cut-short answer) is expected

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), BuyerHandler)
        self.received: list[Received] = []
        self.ended: list[tuple[str, int]] = []  # clients whose connection has closed
        self.barrier: threading.Barrier | None = None  # for /together

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@functools.cache
def gzip_bomb() -> bytes:
    """64 MiB of zeros, gzipped to about 64 KiB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    return b"".join(packer.compress(zeros) for _ in range(64)) + packer.flush()


class BuyerHandler(BaseHTTPRequestHandler):
    """Records each request; the path picks the answer."""

    protocol_version = "HTTP/1.1"
    server: BuyerServer

    def finish(self) -> None:
        super().finish()
        self.server.ended.append(self.client_address)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.casefold(): value for name, value in self.headers.items()}
        self.server.received.append(
            Received(self.command, self.path, headers, body, self.client_address)
        )
        path = self.path.split("?")[0]
        if path == "/slow":
            time.sleep(1.0)
        if path.startswith("/status/"):
            self._reply(int(path.rsplit("/", 1)[1]), b"<error>buyer is down</error>")
        elif path == "/moved":
            self._reply(302, b"", (("Location", "/landing"),))
        elif path.startswith("/hops/"):  # /hops/N redirects N times, then answers
            hops = int(path.rsplit("/", 1)[1])
            if hops:
                self._reply(302, b"", (("Location", f"/hops/{hops - 1}"),))
            else:
                self._reply(200, b"landed")
        elif path == "/huge":
            self._reply(200, b"x" * (MAX_BODY_BYTES * 4))
        elif path == "/gzipped":
            body = zlib.compress(b"<result>Accepted</result>", wbits=31)
            self._reply(200, body, (("Content-Encoding", "gzip"),))
        elif path == "/gzip-bomb":
            self._reply(200, gzip_bomb(), (("Content-Encoding", "gzip"),))
        elif path == "/latin-1":
            self._reply(200, b"caf\xe9", content_type="text/plain; charset=iso-8859-1")
        elif path == "/no-charset":
            self._reply(200, b"caf\xe9", content_type="text/plain")
        elif path == "/unknown-charset":
            self._reply(200, "café".encode(), content_type="text/plain; charset=no-such-code")
        elif path == "/cookie":
            self._reply(200, b"ok", (("Set-Cookie", "session=buyer-secret; Path=/"),))
        elif path == "/trickle":  # a byte every 50 ms for a second
            self.send_response(200)
            self.send_header("Content-Length", "20")
            self.end_headers()
            for _ in range(20):
                self.wfile.write(b".")
                self.wfile.flush()
                time.sleep(0.05)
        elif path == "/hang-up":
            self.close_connection = True
        elif path == "/cut-short":  # promises 100 bytes, sends 10, hangs up
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"x" * 10)
            self.close_connection = True
        elif path == "/not-http":
            self.wfile.write(b"SURPRISE\r\n\r\n")
            self.close_connection = True
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in (b"<result>", b"Accepted", b"</result>"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/until-close":  # neither a length nor chunks: the body ends with the line
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<result>Accepted</result>")
            self.close_connection = True
        elif path == "/close":
            self._reply(200, b"closing", (("Connection", "close"),))
        elif path == "/then-close":  # a kept-alive answer, then the buyer closes all the same
            self._reply(200, b"bye")
            self.close_connection = True
        elif path == "/interim":  # 100 Continue and 103 Early Hints before the answer
            self.send_response_only(100)
            self.end_headers()
            self.send_response_only(103)
            self.send_header("Link", "</style.css>; rel=preload")
            self.end_headers()
            self._reply(200, b"final")
        elif path == "/deflated":
            body = zlib.compress(b"<result>Accepted</result>")
            self._reply(200, body, (("Content-Encoding", "deflate"),))
        elif path == "/deflated-raw":  # deflate without its zlib wrapper, as some servers send
            packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
            body = packer.compress(b"<result>Accepted</result>") + packer.flush()
            self._reply(200, body, (("Content-Encoding", "deflate"),))
        elif path == "/elsewhere":  # the same buyer under another name: another origin
            landing = f"http://localhost:{self.server.server_address[1]}/landing"
            self._reply(302, b"", (("Location", landing),))
        elif path == "/together":  # answers once every party of the barrier has arrived
            assert self.server.barrier is not None
            try:
                self.server.barrier.wait(timeout=5)
            except threading.BrokenBarrierError:
                self._reply(503, b"too few at once")
            else:
                self._reply(200, b"together")
        else:
            self._reply(200, b"<result>Accepted</result><price>3.25</price>")

    def _reply(
        self,
        status: int,
        body: bytes,
        headers: tuple[tuple[str, str], ...] = (),
        content_type: str = "text/xml; charset=utf-8",
    ) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def buyer() -> Iterator[BuyerServer]:
    server = BuyerServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def received(buyer: BuyerServer) -> list[Received]:
    buyer.received.clear()
    buyer.ended.clear()
    return buyer.received


@pytest.fixture
async def http() -> AsyncIterator[HttpTransport]:
    transport = HttpTransport(allow_private=True)
    yield transport
    await transport.aclose()


def http_spec(buyer: BuyerServer, kind: DeliveryType, **overrides: Any) -> DeliverySpec:
    settings: dict[str, Any] = {
        "type": kind,
        "address": f"{buyer.url}/leads",
        "mappings": MAPPINGS,
        "timeout_seconds": 5.0,
    }
    settings.update(overrides)
    return DeliverySpec(**settings)


async def deliver(http: HttpTransport, delivery: DeliverySpec) -> Any:
    return await transmit(render(delivery, LEAD), http, allow_private=True)


async def test_a_form_post_arrives_with_its_body(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    await deliver(http, http_spec(buyer, DeliveryType.HttpPost))
    assert (received[0].method, received[0].path) == ("POST", "/leads")
    assert received[0].body == b"first_name=Ann+%22A%22+%3C%26%3E&phone=5551234567"
    assert received[0].headers["content-type"] == "application/x-www-form-urlencoded"


async def test_a_get_arrives_with_its_query(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    delivery = http_spec(buyer, DeliveryType.HttpGet, address=f"{buyer.url}/leads?src=lr")
    await deliver(http, delivery)
    assert (received[0].method, received[0].body) == ("GET", b"")
    assert received[0].path == "/leads?src=lr&first_name=Ann+%22A%22+%3C%26%3E&phone=5551234567"


async def test_a_json_post_arrives_with_its_document(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    template = '{"name": "{{FirstName}}", "lead": {{lead_id}}}'
    await deliver(http, http_spec(buyer, DeliveryType.JsonPost, template=template))
    assert received[0].body == b'{"name": "Ann \\"A\\" <&>", "lead": 7}'
    assert json.loads(received[0].body) == {"name": 'Ann "A" <&>', "lead": 7}
    assert received[0].headers["content-type"] == "application/json"


async def test_an_xml_post_arrives_with_its_document(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    await deliver(http, http_spec(buyer, DeliveryType.XmlPost))
    assert received[0].body == (
        b'<?xml version="1.0" encoding="utf-8"?><Lead>'
        b'<first_name>Ann "A" &lt;&amp;&gt;</first_name><phone>5551234567</phone></Lead>'
    )


async def test_custom_headers_arrive(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    headers = (("X-Source", "leadrouter-test"), ("X-Campaign", "42"))
    await deliver(http, http_spec(buyer, DeliveryType.HttpPost, headers=headers))
    assert (received[0].headers["x-source"], received[0].headers["x-campaign"]) == (
        "leadrouter-test",
        "42",
    )


async def test_the_idempotency_key_and_user_agent_arrive(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    await deliver(http, http_spec(buyer, DeliveryType.HttpPost))
    assert received[0].headers["idempotency-key"] == "leadrouter-send-42"
    assert received[0].headers["user-agent"] == "leadrouter"


async def test_basic_auth_arrives(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    delivery = http_spec(
        buyer, DeliveryType.HttpPost, auth=AuthType.Basic, username="acme", password="pa:ss"
    )
    await deliver(http, delivery)
    scheme, _, token = received[0].headers["authorization"].partition(" ")
    assert (scheme, base64.b64decode(token)) == ("Basic", b"acme:pa:ss")


async def test_bearer_auth_arrives(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    delivery = http_spec(buyer, DeliveryType.JsonPost, auth=AuthType.Bearer, password="tok-1")
    await deliver(http, delivery)
    assert received[0].headers["authorization"] == "Bearer tok-1"


async def test_the_buyers_answer_comes_back(buyer: BuyerServer, http: HttpTransport) -> None:
    result = await deliver(http, http_spec(buyer, DeliveryType.HttpPost))
    assert (result.status, result.body, result.error) == (
        200,
        "<result>Accepted</result><price>3.25</price>",
        "",
    )
    assert result.elapsed_ms > 0


async def test_the_answer_is_read_by_the_response_rules(
    buyer: BuyerServer, http: HttpTransport
) -> None:
    rules = ResponseRules(search="accepted", price_search=r"<price>(.*?)</price>")
    result = await deliver(http, http_spec(buyer, DeliveryType.HttpPost, response=rules))
    outcome = interpret(rules, result.status, result.body)
    assert (outcome.accepted, outcome.price) == (True, Decimal("3.25"))


async def test_an_error_status_is_an_answer_not_a_transport_failure(
    buyer: BuyerServer, http: HttpTransport
) -> None:
    delivery = http_spec(buyer, DeliveryType.HttpPost, address=buyer.url + "/status/503")
    result = await deliver(http, delivery)
    assert (result.status, result.body, result.error) == (503, "<error>buyer is down</error>", "")


async def test_a_post_does_not_follow_a_redirect(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    delivery = http_spec(buyer, DeliveryType.HttpPost, address=buyer.url + "/moved")
    result = await deliver(http, delivery)
    assert (result.status, len(received)) == (302, 1)


async def test_a_get_follows_a_redirect(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    delivery = http_spec(buyer, DeliveryType.HttpGet, address=buyer.url + "/moved")
    result = await deliver(http, delivery)
    assert (result.status, received[-1].path) == (200, "/landing")


async def test_a_huge_answer_is_cut_short(buyer: BuyerServer, http: HttpTransport) -> None:
    delivery = http_spec(buyer, DeliveryType.HttpGet, address=buyer.url + "/huge")
    result = await deliver(http, delivery)
    assert (result.status, len(result.body)) == (200, MAX_BODY_BYTES)


async def test_a_slow_buyer_times_out(buyer: BuyerServer, http: HttpTransport) -> None:
    delivery = http_spec(
        buyer, DeliveryType.HttpPost, address=buyer.url + "/slow", timeout_seconds=0.2
    )
    result = await deliver(http, delivery)
    assert (result.status, result.error) == (None, "timed out after 0.2s")
    assert result.elapsed_ms < 900


async def test_a_refused_connection_is_a_transport_failure(http: HttpTransport) -> None:
    delivery = DeliverySpec(
        type=DeliveryType.HttpPost, address=f"http://127.0.0.1:{free_port()}/", mappings=MAPPINGS
    )
    result = await deliver(http, delivery)
    assert result.status is None
    assert result.error.startswith("could not connect: ")


async def test_connections_are_reused(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    for _ in range(3):
        await deliver(http, http_spec(buyer, DeliveryType.HttpPost))
    assert len({r.client for r in received}) == 1


async def test_many_deliveries_run_at_once(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    delivery = http_spec(buyer, DeliveryType.JsonPost)
    results = await asyncio.gather(*(deliver(http, delivery) for _ in range(50)))
    assert {r.status for r in results} == {200}
    assert len(received) == 50


async def test_transports_close_their_client(buyer: BuyerServer) -> None:
    async with Transports(allow_private=True) as transports:
        result = await transports.send(render(http_spec(buyer, DeliveryType.HttpPost), LEAD))
    assert result.status == 200


def request(
    url: str,
    *,
    method: str = "GET",
    headers: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
    timeout: float = 5.0,
) -> HttpRequest:
    return HttpRequest(
        method=method,
        url=url,
        headers=headers,
        body=body,
        content_type="",
        timeout_seconds=timeout,
        follow_redirects=method == "GET",
        log_url=url,
        log_body=body,
    )


async def test_a_post_carries_its_headers_in_order_and_nothing_else(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    headers = (("X-Source", "leadrouter-test"), ("X-Campaign", "42"))
    delivery = http_spec(
        buyer,
        DeliveryType.HttpPost,
        headers=headers,
        auth=AuthType.Basic,
        username="acme",
        password="pa:ss",
    )
    await deliver(http, delivery)
    assert list(received[0].headers) == [
        "host",
        "user-agent",
        "content-type",
        "x-source",
        "x-campaign",
        "authorization",
        "idempotency-key",
        "content-length",
    ]


async def test_a_get_carries_no_headers_of_the_clients_own(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    await http.send(request(f"{buyer.url}/leads", headers=(("X-Only", "1"),)))
    assert list(received[0].headers) == ["host", "x-only"]


async def test_the_address_is_sent_with_its_escapes_untouched(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    await http.send(request(f"{buyer.url}/a%41b?sig=x%2fy%7e&d=[1]&e=%ZZ"))
    assert received[0].path == "/a%41b?sig=x%2fy%7e&d=[1]&e=%ZZ"


async def test_a_hand_typed_address_is_encoded(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    result = await http.send(request(f"{buyer.url}/a b/café"))
    assert (result.status, received[0].path) == (200, "/a%20b/caf%C3%A9")


async def test_a_get_follows_as_many_redirects_as_allowed(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    result = await http.send(request(f"{buyer.url}/hops/{MAX_REDIRECTS}"))
    assert (result.status, result.body, result.error) == (200, "landed", "")
    assert len(received) == MAX_REDIRECTS + 1


async def test_a_get_gives_up_after_too_many_redirects(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    result = await http.send(request(f"{buyer.url}/hops/{MAX_REDIRECTS + 1}?key=secret"))
    assert (result.status, result.error) == (
        None,
        f"TooManyRedirects: more than {MAX_REDIRECTS} redirects",
    )
    assert len(received) == MAX_REDIRECTS + 1


async def test_a_post_is_not_redirected_however_many_hops(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    result = await http.send(request(f"{buyer.url}/hops/2", method="POST", body=b"a=1"))
    assert (result.status, [r.path for r in received]) == (302, ["/hops/2"])


async def test_the_answer_is_decoded_with_its_charset(
    buyer: BuyerServer, http: HttpTransport
) -> None:
    result = await http.send(request(f"{buyer.url}/latin-1"))
    assert result.body == "café"


async def test_an_answer_without_a_charset_is_read_as_utf8(
    buyer: BuyerServer, http: HttpTransport
) -> None:
    result = await http.send(request(f"{buyer.url}/no-charset"))
    assert result.body == "caf\ufffd"


async def test_an_answer_in_an_unknown_charset_is_read_as_utf8(
    buyer: BuyerServer, http: HttpTransport
) -> None:
    result = await http.send(request(f"{buyer.url}/unknown-charset"))
    assert (result.body, result.error) == ("café", "")


async def test_a_compressed_answer_is_inflated(buyer: BuyerServer, http: HttpTransport) -> None:
    result = await http.send(request(f"{buyer.url}/gzipped"))
    assert (result.status, result.body) == (200, "<result>Accepted</result>")


async def test_a_compressed_answer_is_cut_short_without_inflating_it_all(
    buyer: BuyerServer, http: HttpTransport
) -> None:
    gzip_bomb()  # built before measuring
    tracemalloc.start()
    try:
        result = await http.send(request(f"{buyer.url}/gzip-bomb"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (result.status, result.body) == (200, "\0" * MAX_BODY_BYTES)
    assert peak < 16 * 1024 * 1024  # the whole answer would be 64 MiB


async def test_the_timeout_covers_the_whole_answer(buyer: BuyerServer, http: HttpTransport) -> None:
    result = await http.send(request(f"{buyer.url}/trickle", timeout=0.2))
    assert (result.status, result.error) == (None, "timed out after 0.2s")


async def test_a_buyer_hanging_up_is_a_transport_failure(
    buyer: BuyerServer, http: HttpTransport
) -> None:
    result = await http.send(request(f"{buyer.url}/hang-up", method="POST", body=b"a=1"))
    assert (result.status, result.error) == (None, "ServerDisconnectedError: Server disconnected")


async def test_an_unusable_address_is_a_transport_failure_that_keeps_its_secrets(
    http: HttpTransport,
) -> None:
    result = await http.send(request("http://127.0.0.1:99999/leads?key=secret"))
    assert (result.status, result.error) == (None, "ValueError: Port out of range 0-65535")


async def test_an_address_that_is_not_http_is_a_transport_failure(http: HttpTransport) -> None:
    result = await http.send(request("ftp://127.0.0.1/leads?key=secret"))
    assert (result.status, result.error) == (
        None,
        "NonHttpUrlClientError: not an http or https address",
    )


async def test_a_buyers_cookie_is_not_sent_back(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    named = buyer.url.replace("127.0.0.1", "localhost")  # no client keeps cookies for an IP
    await http.send(request(f"{named}/cookie"))
    await http.send(request(f"{named}/leads"))
    assert "cookie" not in received[1].headers


async def test_many_deliveries_to_one_buyer_are_in_flight_at_once(
    buyer: BuyerServer, http: HttpTransport
) -> None:
    parties = 120  # more than the pool of 100 many HTTP clients keep by default
    buyer.barrier = threading.Barrier(parties)
    results = await asyncio.gather(
        *(http.send(request(f"{buyer.url}/together", timeout=10)) for _ in range(parties))
    )
    assert {(r.status, r.body) for r in results} == {(200, "together")}


async def test_a_transport_built_outside_the_event_loop_works(buyer: BuyerServer) -> None:
    # no event loop runs in that thread
    transport = await asyncio.to_thread(functools.partial(HttpTransport, allow_private=True))
    async with transport:
        result = await transport.send(request(f"{buyer.url}/leads"))
    assert result.status == 200


async def test_a_transport_never_used_closes() -> None:
    async with HttpTransport(allow_private=True):
        pass


async def test_a_buyer_cutting_its_answer_short_is_a_transport_failure(
    buyer: BuyerServer, http: HttpTransport
) -> None:
    result = await http.send(request(f"{buyer.url}/cut-short"))
    assert (result.status, result.error) == (None, "ServerDisconnectedError: Server disconnected")


async def test_an_answer_that_is_not_http_is_a_transport_failure(
    buyer: BuyerServer, http: HttpTransport
) -> None:
    result = await http.send(request(f"{buyer.url}/not-http"))
    assert result.status is None
    assert result.error.startswith("MalformedAnswerError: ")


async def test_a_chunked_answer_is_read_whole(buyer: BuyerServer, http: HttpTransport) -> None:
    result = await http.send(request(f"{buyer.url}/chunked"))
    assert (result.status, result.body, result.error) == (200, "<result>Accepted</result>", "")


async def test_an_answer_without_a_length_is_read_until_the_buyer_closes(
    buyer: BuyerServer, http: HttpTransport
) -> None:
    result = await http.send(request(f"{buyer.url}/until-close"))
    assert (result.status, result.body, result.error) == (200, "<result>Accepted</result>", "")


async def test_interim_answers_are_skipped(buyer: BuyerServer, http: HttpTransport) -> None:
    result = await http.send(request(f"{buyer.url}/interim"))
    assert (result.status, result.body) == (200, "final")


@pytest.mark.parametrize("path", ["/deflated", "/deflated-raw"])
async def test_a_deflated_answer_is_inflated(
    buyer: BuyerServer, http: HttpTransport, path: str
) -> None:
    result = await http.send(request(f"{buyer.url}{path}"))
    assert (result.status, result.body) == (200, "<result>Accepted</result>")


async def test_a_connection_the_buyer_says_it_closes_is_not_reused(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    closing = await http.send(request(f"{buyer.url}/close"))
    after = await http.send(request(f"{buyer.url}/leads"))
    assert (closing.status, closing.body, after.status, after.error) == (200, "closing", 200, "")
    assert received[0].client != received[1].client


async def _ended(buyer: BuyerServer, client: Any, seconds: float = 10.0) -> None:
    """Until the buyer (a server in another thread) has seen this connection end."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while client not in buyer.ended:
        assert loop.time() < deadline, f"the connection did not end within {seconds:g}s"
        await asyncio.sleep(0.01)


async def test_an_idle_connection_the_buyer_closed_is_not_reused(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    await http.send(request(f"{buyer.url}/then-close"))
    await _ended(buyer, received[0].client)
    await asyncio.sleep(0.05)  # and its close reaches the idle connection
    after = await http.send(request(f"{buyer.url}/leads"))
    assert (after.status, after.error) == (200, "")
    assert received[0].client != received[1].client


async def test_a_timed_out_connection_is_closed_not_reused(
    buyer: BuyerServer, received: list[Received]
) -> None:
    async with HttpTransport(
        allow_private=True, max_connections=1
    ) as transport:  # left open, it would hold the place
        slow = await transport.send(request(f"{buyer.url}/slow", timeout=0.2))
        after = await transport.send(request(f"{buyer.url}/leads", timeout=2))
    assert (slow.error, after.status, after.error) == ("timed out after 0.2s", 200, "")
    assert received[0].client != received[1].client


async def test_a_connection_whose_answer_was_cut_short_is_not_reused(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    huge = await http.send(request(f"{buyer.url}/huge"))
    after = await http.send(request(f"{buyer.url}/leads"))
    assert (len(huge.body), after.status, after.error) == (MAX_BODY_BYTES, 200, "")
    assert received[0].client != received[1].client


async def test_an_idle_connection_is_closed_once_it_expires(
    buyer: BuyerServer, received: list[Received]
) -> None:
    async with HttpTransport(allow_private=True, keepalive_expiry=0.2) as transport:
        await transport.send(request(f"{buyer.url}/leads"))
        await _ended(buyer, received[0].client)  # closed by the transport, not the buyer
        after = await transport.send(request(f"{buyer.url}/leads"))
    assert after.status == 200
    assert received[0].client != received[1].client


async def test_no_more_connections_than_allowed_are_open(
    buyer: BuyerServer, received: list[Received]
) -> None:
    async with HttpTransport(allow_private=True, max_connections=2) as transport:
        results = await asyncio.gather(
            *(transport.send(request(f"{buyer.url}/leads")) for _ in range(10))
        )
    assert {r.status for r in results} == {200}
    assert len({r.client for r in received}) <= 2


async def test_a_full_pool_makes_room_for_another_buyer(buyer: BuyerServer) -> None:
    other = buyer.url.replace("127.0.0.1", "localhost")  # the same server, another origin
    async with HttpTransport(allow_private=True, max_connections=1) as transport:
        first = await transport.send(request(f"{buyer.url}/leads"))
        second = await transport.send(request(f"{other}/leads", timeout=2))
    assert (first.status, second.status, second.error) == (200, 200, "")


@pytest.mark.parametrize(
    "header",
    [
        ("X-Note", "a\r\nX-Injected: 1"),
        ("X-Note", "a\nX-Injected: 1"),
        ("X-Note", "a\0b"),
        ("X-Note\r\nX-Injected", "1"),
    ],
)
async def test_a_header_with_a_line_break_is_refused_and_nothing_is_sent(
    buyer: BuyerServer, received: list[Received], http: HttpTransport, header: tuple[str, str]
) -> None:
    result = await http.send(request(f"{buyer.url}/leads", headers=(header,)))
    assert (result.status, result.error) == (None, "ValueError: a header holds a line break or NUL")
    assert received == []


async def test_a_header_the_transport_sets_is_refused(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    result = await http.send(request(f"{buyer.url}/leads", headers=(("Host", "buyer.example"),)))
    assert (result.status, result.error) == (None, "ValueError: Host is set by the transport")
    assert received == []


async def test_credentials_in_the_address_arrive_as_basic_auth(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    await http.send(request(buyer.url.replace("://", "://acme:pa%3Ass@") + "/leads"))
    scheme, _, token = received[0].headers["authorization"].partition(" ")
    assert (scheme, base64.b64decode(token)) == ("Basic", b"acme:pa:ss")


async def test_a_redirect_to_another_origin_leaves_the_credentials_behind(
    buyer: BuyerServer, received: list[Received], http: HttpTransport
) -> None:
    headers = (("Authorization", "Bearer tok-1"), ("X-Source", "lr"))
    result = await http.send(request(f"{buyer.url}/elsewhere", headers=headers))
    assert (result.status, received[1].path) == (200, "/landing")
    assert received[0].headers["authorization"] == "Bearer tok-1"
    assert "authorization" not in received[1].headers
    assert received[1].headers["x-source"] == "lr"


# --- an HTTPS buyer ------------------------------------------------------------------------


@dataclass
class TlsBuyer:
    url: str
    certificate: Path


@pytest.fixture(scope="module")
def tls_buyer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsBuyer]:
    """A buyer behind TLS, with a self-signed certificate for 127.0.0.1."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    certificate, key = folder / "cert.pem", folder / "key.pem"
    make = "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
    name = "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"
    subprocess.run(
        [openssl, *make.split(), *name.split(), "-keyout", str(key), "-out", str(certificate)],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, key)
    server = BuyerServer()
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield TlsBuyer(f"https://127.0.0.1:{server.server_address[1]}", certificate)
    server.shutdown()
    server.server_close()
    thread.join()


async def test_an_untrusted_certificate_is_refused(
    tls_buyer: TlsBuyer, http: HttpTransport
) -> None:
    result = await http.send(request(f"{tls_buyer.url}/leads"))
    assert result.status is None
    assert result.error.startswith("could not connect: ")
    assert "CERTIFICATE_VERIFY_FAILED" in result.error


async def test_a_certificate_trusted_by_the_given_context_is_accepted(
    tls_buyer: TlsBuyer,
) -> None:
    context = ssl.create_default_context(cafile=tls_buyer.certificate)
    async with HttpTransport(allow_private=True, verify=context) as transport:
        result = await transport.send(request(f"{tls_buyer.url}/leads"))
    assert (result.status, result.error) == (200, "")


async def test_verification_can_be_turned_off(tls_buyer: TlsBuyer) -> None:
    async with HttpTransport(allow_private=True, verify=False) as transport:
        result = await transport.send(request(f"{tls_buyer.url}/leads"))
    assert (result.status, result.error) == (200, "")


# --- an SMTP server ------------------------------------------------------------------------


@dataclass
class Mailbox:
    envelopes: list[Any] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.startswith("nobody@"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def message(self, index: int = -1) -> EmailMessage:
        content = self.envelopes[index].content
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def check_login(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data == (b"mailer", b"right")
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[tuple[Controller, Mailbox]]:
    mailbox = Mailbox()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=check_login,
        auth_require_tls=False,
    )
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[Controller, Mailbox]) -> Mailbox:
    smtp_server[1].envelopes.clear()
    return smtp_server[1]


def email_spec(smtp_server: tuple[Controller, Mailbox], **overrides: Any) -> DeliverySpec:
    settings: dict[str, Any] = {
        "type": DeliveryType.Email,
        "mappings": MAPPINGS,
        "email_to": "sales@buyer.example, boss@buyer.example",
        "email_cc": "cc@buyer.example",
        "email_bcc": "audit@buyer.example",
        "email_from": "Leads <leads@leadrouter.example>",
        "email_subject": "Lead {{lead_id}} for you",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_server[0].port,
        "timeout_seconds": 5.0,
    }
    settings.update(overrides)
    return DeliverySpec(**settings)


async def send(delivery: DeliverySpec) -> Any:
    async with Transports(allow_private=True) as transports:
        return await transports.send(render(delivery, LEAD))


async def test_an_email_reaches_every_recipient(
    smtp_server: tuple[Controller, Mailbox], mailbox: Mailbox
) -> None:
    await send(email_spec(smtp_server))
    envelope = mailbox.envelopes[0]
    assert envelope.mail_from == "leads@leadrouter.example"
    assert envelope.rcpt_tos == [
        "sales@buyer.example",
        "boss@buyer.example",
        "cc@buyer.example",
        "audit@buyer.example",
    ]


async def test_an_email_carries_its_headers(
    smtp_server: tuple[Controller, Mailbox], mailbox: Mailbox
) -> None:
    await send(email_spec(smtp_server))
    message = mailbox.message()
    assert message["Subject"] == "Lead 7 for you"
    assert message["To"] == "sales@buyer.example, boss@buyer.example"
    assert message["Cc"] == "cc@buyer.example"
    assert message["Message-ID"] == "<leadrouter-send-42@leadrouter>"
    assert message["Date"] is not None


async def test_every_attempt_of_a_send_mails_the_same_idempotency_key(
    smtp_server: tuple[Controller, Mailbox], mailbox: Mailbox
) -> None:
    await send(email_spec(smtp_server))
    await send(email_spec(smtp_server))  # the same send again, as a retry renders it
    keys = [(m["Idempotency-Key"], m["Message-ID"]) for m in map(mailbox.message, (0, 1))]
    assert keys == [("leadrouter-send-42", "<leadrouter-send-42@leadrouter>")] * 2


async def test_an_email_hides_its_bcc(
    smtp_server: tuple[Controller, Mailbox], mailbox: Mailbox
) -> None:
    await send(email_spec(smtp_server))
    assert mailbox.message()["Bcc"] is None


async def test_an_email_carries_its_body(
    smtp_server: tuple[Controller, Mailbox], mailbox: Mailbox
) -> None:
    await send(email_spec(smtp_server, template="Hello,\n.\nName: {{FirstName}} ✓\n"))
    lines = mailbox.message().get_content().splitlines()
    assert lines == ["Hello,", ".", 'Name: Ann "A" <&> ✓']


async def test_an_email_result_is_the_servers_reply(
    smtp_server: tuple[Controller, Mailbox], mailbox: Mailbox
) -> None:
    result = await send(email_spec(smtp_server))
    assert (result.status, result.body, result.error) == (
        250,
        "250 Message accepted for delivery",
        "",
    )


async def test_an_email_in_testing_goes_to_the_test_address(
    smtp_server: tuple[Controller, Mailbox], mailbox: Mailbox
) -> None:
    await send(email_spec(smtp_server, in_testing=True, test_address="qa@leadrouter.example"))
    assert mailbox.envelopes[0].rcpt_tos == ["qa@leadrouter.example"]


async def test_an_email_logs_in_when_a_user_is_set(
    smtp_server: tuple[Controller, Mailbox], mailbox: Mailbox
) -> None:
    result = await send(email_spec(smtp_server, smtp_username="mailer", smtp_password="right"))
    assert (result.status, result.error) == (250, "")


async def test_a_wrong_smtp_password_is_a_transport_failure(
    smtp_server: tuple[Controller, Mailbox], mailbox: Mailbox
) -> None:
    result = await send(email_spec(smtp_server, smtp_username="mailer", smtp_password="wrong"))
    assert (result.status, bool(result.error), mailbox.envelopes) == (535, True, [])


async def test_starttls_is_required_when_configured(
    smtp_server: tuple[Controller, Mailbox], mailbox: Mailbox
) -> None:
    result = await send(email_spec(smtp_server, smtp_starttls=True))
    assert "STARTTLS" in result.error
    assert mailbox.envelopes == []


async def test_refused_recipients_are_a_transport_failure(
    smtp_server: tuple[Controller, Mailbox], mailbox: Mailbox
) -> None:
    delivery = email_spec(smtp_server, email_to="nobody@buyer.example", email_cc="", email_bcc="")
    result = await send(delivery)
    assert result.error.startswith("every recipient was refused")
    assert mailbox.envelopes == []


async def test_one_refused_recipient_does_not_stop_the_rest(
    smtp_server: tuple[Controller, Mailbox], mailbox: Mailbox
) -> None:
    result = await send(email_spec(smtp_server, email_cc="nobody@buyer.example"))
    assert result.status == 250
    assert "nobody@buyer.example" not in mailbox.envelopes[0].rcpt_tos


async def test_an_unreachable_smtp_server_is_a_transport_failure(
    smtp_server: tuple[Controller, Mailbox],
) -> None:
    result = await send(email_spec(smtp_server, smtp_port=free_port()))
    assert (result.status, "ConnectionRefusedError" in result.error) == (None, True)


# --- an FTP server -------------------------------------------------------------------------


@dataclass
class FtpSite:
    port: int
    home: Path


@pytest.fixture(scope="module")
def ftp_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FtpSite]:
    home = tmp_path_factory.mktemp("ftp")
    (home / "incoming").mkdir()
    with ftp_server(home, "acme", "pw") as port:
        yield FtpSite(port=port, home=home)


def ftp_spec(site: FtpSite, **overrides: Any) -> DeliverySpec:
    settings: dict[str, Any] = {
        "type": DeliveryType.Ftp,
        "address": f"ftp://127.0.0.1:{site.port}/incoming",
        "mappings": MAPPINGS,
        "ftp_username": "acme",
        "ftp_password": "pw",
        "timeout_seconds": 5.0,
    }
    settings.update(overrides)
    return DeliverySpec(**settings)


async def test_a_csv_file_is_stored(ftp_site: FtpSite) -> None:
    lead = LeadPayload(lead_id=101, send_id=1, price=Decimal(1), values=LEAD.values)
    await send_lead(ftp_spec(ftp_site), lead)
    stored = (ftp_site.home / "incoming" / "lead-101-send-1.csv").read_bytes()
    assert stored == b'first_name,phone\r\n"Ann ""A"" <&>",5551234567\r\n'


async def test_an_xml_file_is_stored(ftp_site: FtpSite) -> None:
    lead = LeadPayload(lead_id=102, send_id=2, price=Decimal(1), values=LEAD.values)
    await send_lead(ftp_spec(ftp_site, ftp_file_format="xml"), lead)
    stored = (ftp_site.home / "incoming" / "lead-102-send-2.xml").read_bytes()
    assert stored == (
        b'<?xml version="1.0" encoding="utf-8"?><Lead>'
        b'<first_name>Ann "A" &lt;&amp;&gt;</first_name><phone>5551234567</phone></Lead>'
    )


async def test_every_attempt_of_a_send_uploads_the_same_file_name(ftp_site: FtpSite) -> None:
    lead = LeadPayload(lead_id=104, send_id=4, price=Decimal(1), values=LEAD.values)
    await send_lead(ftp_spec(ftp_site), lead)
    await send_lead(ftp_spec(ftp_site), lead)  # the same send again, as a retry renders it
    stored = sorted(p.name for p in (ftp_site.home / "incoming").glob("lead-104-*"))
    assert stored == ["lead-104-send-4.csv"]


async def test_an_upload_result_is_the_servers_reply(ftp_site: FtpSite) -> None:
    lead = LeadPayload(lead_id=103, send_id=3, price=Decimal(1), values=LEAD.values)
    result = await send_lead(ftp_spec(ftp_site), lead)
    assert (result.status, result.body[:3], result.error) == (226, "226", "")


async def test_a_wrong_ftp_password_is_a_transport_failure(ftp_site: FtpSite) -> None:
    result = await send_lead(ftp_spec(ftp_site, ftp_password="nope"), LEAD)
    assert (result.status, result.error[:14]) == (530, "FTP error: 530")


async def test_a_missing_ftp_directory_is_a_transport_failure(ftp_site: FtpSite) -> None:
    delivery = ftp_spec(ftp_site, address=f"ftp://127.0.0.1:{ftp_site.port}/nowhere")
    result = await send_lead(delivery, LEAD)
    assert (result.status, bool(result.error)) == (550, True)


async def test_an_unreachable_ftp_server_is_a_transport_failure(ftp_site: FtpSite) -> None:
    result = await send_lead(ftp_spec(ftp_site, address=f"ftp://127.0.0.1:{free_port()}/"), LEAD)
    assert (result.status, "ConnectionRefusedError" in result.error) == (None, True)


async def send_lead(delivery: DeliverySpec, lead: LeadPayload) -> Any:
    async with Transports(allow_private=True) as transports:
        return await transports.send(render(delivery, lead))
