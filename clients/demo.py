"""`leadrouter serve --demo`: a demo account with the example config, and a demo buyer that
buys the printed lead, so the first lead a newcomer posts is sold and `leadrouter lead` shows
where it went.

The demo buyer is a loopback HTTP listener in the serve process, started only in demo mode.
It takes every delivery and answers that it accepted it; its delivery method (a JSON post to
it) reads that answer as a sale, and its one delivery account buys Nevada leads, which the
printed lead is (its ZIP code gives it its state).
"""

from __future__ import annotations

import itertools
import json
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadrouter.v1 import admin_pb2, callbacks_pb2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clients.cli import apply_result_json, read_config_file
from clients.client import admin_async, struct
from server.bootstrap import http_server
from server.config import Settings

EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "examples" / "acme.json"
ACCOUNT_NAME = "Demo"
BUYER_KEY = "demo-buyer"
BUYER_NAME = "Demo Buyer"
BUYER_ACCOUNT_KEY = "nevada"
BUYER_PATH = "/buy"
BUYER_PRICE = "25"
ACCEPTED = '"result": "accepted"'  # what the buyer answers and its delivery method looks for


@dataclass(frozen=True)
class Demo:
    account_id: int
    api_key: str
    applied: dict[str, dict[str, int]]  # examples/acme.json's ids, as `apply` prints them
    buyer_url: str  # "" without the demo buyer
    buyer_account_id: int  # the demo buyer's delivery account (0 without it)


async def start(
    settings: Settings,
    accounts: Any,
    grpc_address: str,
    stack: AsyncExitStack,
    *,
    buyer: bool = True,
) -> Demo:
    """The demo account (created on first start, its key kept in the data folder), the demo
    buyer listening until `stack` closes, and the example config and the buyer applied to the
    account through the gRPC admin API. The buyer keeps its port from one start to the next
    when it is free, so applying its config again changes nothing. `buyer=False` leaves the
    buyer out (the benchmarks, which bring buyers of their own)."""
    state_file = settings.data_dir / "demo.json"
    if state_file.exists():
        state: dict[str, Any] = json.loads(state_file.read_text())
    else:
        created = await accounts.create_account(ACCOUNT_NAME)
        state = {"account_id": created.account_id, "api_key": created.api_key}
    buyer_url = ""
    if buyer:
        listener = _listener(int(state.get("buyer_port", 0)))
        await stack.enter_async_context(_buyer(listener))
        state["buyer_port"] = port = listener.getsockname()[1]
        buyer_url = f"http://127.0.0.1:{port}{BUYER_PATH}"
    state_file.write_text(json.dumps(state))
    state_file.chmod(0o600)
    buyer_account_id = 0
    async with admin_async(grpc_address, state["api_key"]) as stub:
        example = struct(read_config_file(EXAMPLE_CONFIG))
        response = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=example))
        # callbacks may reach a receiver on this machine (docs/receiver.md, "Callbacks"),
        # unless the server allows that to no account
        if settings.private_callbacks_by_account:
            allow = callbacks_pb2.AccountSettings(allow_private_callbacks=True)
            request = callbacks_pb2.UpdateAccountSettingsRequest(settings=allow)
            await stub.UpdateAccountSettings(request)
        if buyer_url:
            document = struct(buyer_document(buyer_url))
            bought = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=document))
            buyer_account_id = bought.accounts[f"{BUYER_KEY}/{BUYER_ACCOUNT_KEY}"]
    return Demo(
        state["account_id"],
        state["api_key"],
        apply_result_json(response),
        buyer_url,
        buyer_account_id,
    )


def buyer_document(address: str) -> dict[str, Any]:
    """The demo buyer as config: a JSON post to `address` whose answer means a sale, and an
    account buying the example's Nevada leads."""
    return {
        "clients": [
            {
                "key": BUYER_KEY,
                "name": BUYER_NAME,
                "deliveries": [
                    {
                        "key": "demo-post",
                        "type": "json_post",
                        "lead_type": "auto-insurance",
                        "address": address,
                        "response_search": ACCEPTED,
                        "timeout_seconds": 5,
                    }
                ],
                "accounts": [
                    {
                        "key": BUYER_ACCOUNT_KEY,
                        "delivery": "demo-post",
                        "price": BUYER_PRICE,
                        "criteria": [{"field": "State", "operator": "Equal", "value": "NV"}],
                    }
                ],
            }
        ]
    }


def _listener(port: int) -> socket.socket:
    """A loopback socket on `port` if it is free, else on a free one."""
    try:
        return socket.create_server(("127.0.0.1", port))
    except OSError:
        return socket.create_server(("127.0.0.1", 0))


@asynccontextmanager
async def _buyer(listener: socket.socket) -> AsyncIterator[None]:
    """The demo buyer on `listener`: every lead delivered to it is accepted."""
    numbers = itertools.count(1)

    async def buy(request: Request) -> Response:
        await request.body()
        answer = f'{{{ACCEPTED}, "reference": "demo-{next(numbers)}"}}'
        return Response(answer, 200, media_type="application/json")

    app = Starlette(routes=[Route(BUYER_PATH, buy, methods=["POST"])])
    async with http_server(app, listener):
        yield


def instructions(demo: Demo, addresses: dict[str, str]) -> str:
    """What serve prints once the demo is ready: a lead to send, and how to see it sold."""
    applied = demo.applied
    lead = "&".join(
        [
            f"vid={applied['sources']['acme-media']}",
            f"lid={applied['lead_types']['auto-insurance']}",
            f"aid={applied['campaigns']['acme-auto-web']}",
            "password=acme-secret",
            "FirstName=Ann&LastName=Lee&Email=ann%40example.com&Phone=702-555-0100",
            "Zip=89101&Age=30",
        ]
    )
    key, grpc_address = demo.api_key, addresses["grpc"]
    buyer = sold = ""
    if demo.buyer_url:
        buyer = (
            f'Demo buyer "{BUYER_NAME}" (demo mode only) takes leads at {demo.buyer_url}\n'
            f"  and buys Nevada leads at ${BUYER_PRICE}.\n"
        )
        sold = (
            "   It prints the lead's scan log, then its sends, the sale among them:\n"
            f"     #<send id> {BUYER_NAME} account {demo.buyer_account_id}: sold at "
            f"{BUYER_PRICE}, 1 attempt(s)\n"
        )
    return f"""
Demo account {demo.account_id}; its admin API key (kept in the data folder's demo.json):
  {key}
Example config applied (examples/acme.json): {json.dumps(applied)}
{buyer}
1. Send a lead (send it twice to see the duplicate check):
  curl -s http://{addresses["receiver"]}/processor/insert/general/json -d '{lead}'
   The answer is JSON: {{"PostID": "...", "isValidPost": true, "ResponseType": "No_Error",
   "ResponseDetails": "Lead was accepted", "LeadIdentifier": 1, ...}}.

2. See where it went, with the answer's LeadIdentifier for LEAD_ID:
  export LEADROUTER_KEY={key} LEADROUTER_GRPC={grpc_address}
  .venv/bin/leadrouter lead LEAD_ID
{sold}
{_soap_lines(addresses, key)}Next steps:
  .venv/bin/leadrouter apply examples/acme.json   # apply again: nothing changes
  .venv/bin/leadrouter --help
"""


def _soap_lines(addresses: dict[str, str], key: str) -> str:
    if "soap" not in addresses:
        return ""
    url = f"http://{addresses['soap']}/service.asmx"
    return f"""service.asmx (SOAP; WSDL at {url}?WSDL): list the lead types, HTTP GET form:
  curl -s '{url}/GetLeadTypes?Key={key}&LeadTypeUID=0'

"""
