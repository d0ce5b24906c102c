"""Queued posts (the /async URLs) across real `leadrouter serve` processes: a serve killed
with `kill -9` after queuing loses none of them (the restarted one processes them, the one it
was processing included, without storing its lead twice), and two serve processes on one
database never process one queued post twice."""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from leadrouter.v1 import admin_pb2, callbacks_pb2

from clients.client import admin
from tests.e2e.test_cli import EXAMPLE, Serve, Server, apply, leadrouter, succeeded, write_json
from tests.e2e.test_delivery_recovery import SlowBuyer

pytestmark = pytest.mark.slow  # starts server processes

RECEIVER_READY = re.compile(r"lead receiver listening on (http://\S+:\d+)")
LEASE = "2"
FIELDS = {"FirstName": "Ann", "LastName": "Lee", "Zip": "89101", "Age": "40"}


@pytest.fixture
def buyer() -> Iterator[SlowBuyer]:
    server = SlowBuyer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def market(serve: Serve, grpc_address: str, buyer: SlowBuyer, tmp_path: Path) -> dict[str, Any]:
    """A fresh account whose campaign sells to the slow buyer and checks no duplicates (a
    post processed twice would store two leads): its admin key and the source's credentials."""
    account = succeeded(leadrouter("accounts", "create", "Queue", "--data-dir", serve.data_dir))
    document = copy.deepcopy(json.loads(EXAMPLE.read_text()))
    document["sources"][0]["campaigns"][0]["dup_day_max"] = 0
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
    path = write_json(tmp_path / f"queue-{account['account_id']}.json", document)
    ids = succeeded(apply(Server(grpc_address, serve.data_dir), path, account["api_key"]))
    return {
        "key": account["api_key"],
        "credentials": {
            "vid": str(ids["sources"]["acme-media"]),
            "lid": str(ids["lead_types"]["auto-insurance"]),
            "aid": str(ids["campaigns"]["acme-auto-web"]),
            "password": "acme-secret",
        },
    }


class CallbackSink(ThreadingHTTPServer):
    """A lead source's callback receiver on loopback: records each callback's event id."""

    def __init__(self) -> None:
        self.event_ids: list[str] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                sink.event_ids.append(self.headers["X-LeadRouter-Event-Id"])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/callback"


@pytest.fixture
def sink() -> Iterator[CallbackSink]:
    server = CallbackSink()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def queue(
    receiver: str, credentials: dict[str, str], number: int, kind: str, returnurl: str = ""
) -> str:
    """Post one lead to an /async URL (with a returnurl, when given); its queue status URL."""
    data = {
        **credentials,
        **FIELDS,
        "Email": f"queued{number}@example.com",
        "Phone": f"702555{number:04d}",
        "reference": f"queued-{number}",
        **({"returnurl": returnurl} if returnurl else {}),
    }
    answer = httpx.post(f"{receiver}/processor/insert/{kind}/json/async", data=data, timeout=30)
    body = answer.json()
    assert body["QueueSuccessful"] is True, body
    return str(body["StatusURL"])


def queue_state(status_url: str) -> dict[str, Any]:
    return dict(httpx.get(status_url, timeout=30).json())


def all_processed(status_urls: list[str], seconds: float = 90) -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    while True:
        states = [queue_state(url) for url in status_urls]
        if all(s["QueueStatus"] == "Processed" for s in states):
            return states
        assert time.monotonic() < deadline, [s["QueueStatus"] for s in states]
        time.sleep(0.2)


def leads_by_reference(grpc_address: str, key: str, count: int) -> list[list[int]]:
    with admin(grpc_address, key) as stub:
        return [
            [
                lead.id
                for lead in stub.FindLeads(
                    admin_pb2.FindLeadsRequest(reference=f"queued-{n}")
                ).leads
            ]
            for n in range(count)
        ]


def test_a_killed_server_processes_every_queued_post_after_restart(
    tmp_path: Path, buyer: SlowBuyer, sink: CallbackSink
) -> None:
    data_dir = tmp_path / "data"
    env = {"LEADROUTER_LEASE_SECONDS": LEASE, "LEADROUTER_QUEUE_CONCURRENCY": "1"}
    posts = 5
    first = Serve(data_dir, env=env)
    try:
        address = first.wait_ready()
        receiver = first.wait_line(RECEIVER_READY)[1]
        m = market(first, address, buyer, tmp_path)
        with admin(address, m["key"]) as stub:  # the source's callback receiver is on loopback
            allow = callbacks_pb2.AccountSettings(allow_private_callbacks=True)
            stub.UpdateAccountSettings(callbacks_pb2.UpdateAccountSettingsRequest(settings=allow))
        # returnsends waits for the slow buyer: one post is processing, the others queued
        urls = [queue(receiver, m["credentials"], n, "returnsends", sink.url) for n in range(posts)]
        assert buyer.first.wait(10), "no post reached processing"
        before = [queue_state(url)["QueueStatus"] for url in urls]
        first.kill()
        first.process.wait(10)
    finally:
        first.kill()
    assert before.count("Processed") == 0 and "Queued" in before, before
    assert before.count("Processing") == 1, before  # its lead is stored, its delivery under way
    second = Serve(data_dir, env=env)
    try:
        address = second.wait_ready()
        receiver = second.wait_line(RECEIVER_READY)[1]
        urls = [url.replace(url.split("/information")[0], receiver) for url in urls]
        states = all_processed(urls)
        found = leads_by_reference(address, m["key"], posts)
        deadline = time.monotonic() + 60
        while True:  # until every callback is recorded delivered
            callbacks = [queue_state(url)["Callback"] for url in urls]
            if all(c and c["State"] == "Delivered" for c in callbacks):
                break
            assert time.monotonic() < deadline, callbacks
            time.sleep(0.1)
    finally:
        assert second.terminate() == 0
    assert [len(ids) for ids in found] == [1] * posts, found  # no post stored its lead twice
    for state, ids in zip(states, found, strict=True):
        answer = state["Response"]  # a URL-encoded post's: one object
        assert (answer["ResponseType"], answer["LeadIdentifier"]) == ("No_Error", ids[0])
        assert [s["Valid"] for s in answer["Sends"]] == [True], answer
        assert state["LeadIdentifier"] == ids[0]
    # each post called back once its processing was done: the one killed mid-way too
    assert sorted(sink.event_ids) == sorted(c["EventID"] for c in callbacks)
    assert [c["State"] for c in callbacks] == ["Delivered"] * posts


def test_two_servers_never_process_one_queued_post_twice(tmp_path: Path, buyer: SlowBuyer) -> None:
    """Posts queued alternately on two processes, each processing one at a time against a slow
    buyer: the posts wait past the queuing process's reservation, so both processes' polls
    and the queuing process itself race for each."""
    data_dir = tmp_path / "data"
    env = {"LEADROUTER_LEASE_SECONDS": LEASE, "LEADROUTER_QUEUE_CONCURRENCY": "1"}
    posts = 12
    one, two = Serve(data_dir, env=env), None
    try:
        address = one.wait_ready()
        receivers = [one.wait_line(RECEIVER_READY)[1]]
        two = Serve(data_dir, env=env)
        two.wait_ready()
        receivers.append(two.wait_line(RECEIVER_READY)[1])
        m = market(one, address, buyer, tmp_path)
        urls = [queue(receivers[n % 2], m["credentials"], n, "returnsends") for n in range(posts)]
        states = all_processed(urls)
        found = leads_by_reference(address, m["key"], posts)
    finally:
        statuses = [two.terminate() if two else 0, one.terminate()]
    assert statuses == [0, 0], f"serve exit statuses {statuses}:\n{one.text()}"
    assert [len(ids) for ids in found] == [1] * posts, found
    assert [s["Response"]["LeadIdentifier"] for s in states] == [ids[0] for ids in found]
    delivered = [key for key, _ in buyer.keys]
    assert len(delivered) == len(set(delivered)) == posts  # each lead sold once, once sent
