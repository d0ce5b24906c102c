"""A `leadrouter serve` killed while deliveries are in flight loses none of them: after a
restart every accepted lead is delivered as decided. A buyer sees a lead twice only when it
had it before the kill and its answer was lost, and then both carry the same Idempotency-Key."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import pytest
from leadrouter.v1 import distribution_pb2, leads_pb2, leads_pb2_grpc

from clients.client import distribution
from tests.e2e.test_cli import (
    EXAMPLE,
    Serve,
    Server,
    apply,
    leadrouter,
    succeeded,
    write_json,
)

pytestmark = pytest.mark.slow  # starts server processes

LEADS = 12
ANSWER_AFTER = 1.5  # the buyer holds each request this long: the kill lands mid-delivery
LEASE = "2"


class SlowBuyer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.keys: list[tuple[str, float]] = []  # (Idempotency-Key, when received)
        self.first = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/buy"


class _Handler(BaseHTTPRequestHandler):
    server: SlowBuyer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.server.keys.append((self.headers.get("idempotency-key", ""), time.monotonic()))
        self.server.first.set()
        time.sleep(ANSWER_AFTER)
        body = b"accepted"
        try:
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the server that asked is gone: the answer is lost

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def buyer() -> Iterator[SlowBuyer]:
    server = SlowBuyer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def post(address: str, ids: dict[str, Any], index: int) -> int:
    fields = {
        "FirstName": "Ann",
        "LastName": "Lee",
        "Email": f"crash{index}@example.com",
        "Phone": f"70255501{index:02d}",
        "Zip": "89101",
        "Age": "40",
    }
    request = leads_pb2.SubmitLeadsRequest(
        credentials=leads_pb2.Credentials(
            vid=str(ids["sources"]["acme-media"]),
            lid=str(ids["lead_types"]["auto-insurance"]),
            aid=str(ids["campaigns"]["acme-auto-web"]),
            password="acme-secret",
        ),
        leads=[
            leads_pb2.LeadInput(
                fields=[leads_pb2.FieldValue(name=k, value=v) for k, v in fields.items()]
            )
        ],
    )
    with grpc.insecure_channel(address) as channel:
        result = leads_pb2_grpc.LeadServiceStub(channel).SubmitLeads(request).results[0]
    assert result.lead_id, result.response_details
    return int(result.lead_id)


def test_a_killed_server_delivers_every_lead_after_restart(
    tmp_path: Path, buyer: SlowBuyer
) -> None:
    data_dir = tmp_path / "data"
    env = {"LEADROUTER_LEASE_SECONDS": LEASE}
    first = Serve(data_dir, env=env)
    try:
        address = first.wait_ready()
        account = succeeded(leadrouter("accounts", "create", "Crash", "--data-dir", data_dir))
        document = json.loads(EXAMPLE.read_text())
        document["clients"] = [
            {
                "key": "slow",
                "name": "Slow Buyer",
                "deliveries": [
                    {
                        "key": "post",
                        "type": "http_post",
                        "lead_type": "auto-insurance",
                        "address": buyer.url,
                        "response_search": "accepted",
                        "timeout_seconds": 5,
                    }
                ],
                "accounts": [{"key": "all", "delivery": "post", "price": "10"}],
            }
        ]
        document_path = write_json(tmp_path / "doc.json", document)
        ids = succeeded(apply(Server(address, data_dir), document_path, account["api_key"]))
        leads = [post(address, ids, i) for i in range(LEADS)]
        assert buyer.first.wait(10), "no delivery started"
        time.sleep(0.3)  # let the other in-flight deliveries reach the buyer
        first.kill()
        first.process.wait(10)
        killed_at = time.monotonic()
    finally:
        first.kill()
    second = Serve(data_dir, env=env)
    try:
        address = second.wait_ready()
        deadline = time.monotonic() + 60
        with distribution(address, account["api_key"]) as stub:
            while True:
                sends = {
                    lead: list(
                        stub.ListSends(distribution_pb2.ListSendsRequest(lead_id=lead)).sends
                    )
                    for lead in leads
                }
                if all(
                    s and s[0].status == distribution_pb2.SEND_STATUS_SOLD for s in sends.values()
                ):
                    break
                assert time.monotonic() < deadline, f"not delivered: {sends}"
                time.sleep(0.2)
    finally:
        assert second.terminate() == 0
    assert all(len(s) == 1 for s in sends.values()), "a lead was sent twice to one account"
    expected = {f"leadrouter-send-{s[0].id}" for s in sends.values()}
    received = Counter(key for key, _ in buyer.keys)
    assert set(received) == expected  # every send reached the buyer, with its own key
    before_kill = {key for key, when in buyer.keys if when < killed_at}
    repeated = {key for key, count in received.items() if count > 1}
    assert repeated <= before_kill  # only answers lost in the kill were asked again
    assert all(count <= 2 for count in received.values())
    assert before_kill  # the kill really did land mid-delivery
