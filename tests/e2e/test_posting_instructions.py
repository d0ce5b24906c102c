"""The posting instructions' curl lines work as printed: each one `leadrouter instructions`
prints (the Markdown) is run, its placeholders filled in, against a real receiver and lead
service, and stores a lead (or does what its endpoint does)."""

from __future__ import annotations

import asyncio
import html
import json
import re
import shlex
import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from leadrouter.v1 import admin_pb2

from clients.client import struct
from server.bootstrap import receiver
from server.config import Settings
from server.rpc.app import Served
from tests.e2e.test_receiver_distribution import buyer
from tests.support.buyers import BuyerServer

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "acme.json").read_text())
COMMAND = re.compile(r"```sh\n(.+?)\n```")
CURL = shutil.which("curl")
# the example's other campaigns: one per channel with endpoints of its own, and one that
# requires the key beside the password
CAMPAIGNS = {
    "acme-auto-redirect": {"channel": "redirect", "password": "redirect-secret"},
    "acme-auto-call": {"channel": "call", "password": "call-secret"},
    "acme-auto-keyed": {"channel": "post", "password": "keyed-secret", "require_api_key": True},
    "acme-auto-ping": {"channel": "ping_post", "password": "ping-secret"},
}


@pytest.fixture
async def receiver_url(served: Served) -> AsyncIterator[str]:
    settings = replace(Settings(), receiver_address="127.0.0.1:0")
    async with receiver(settings, served.local) as address:
        yield f"http://{address}"


@pytest.fixture
async def account(new_account: Any, stub_for: Any, buyers: BuyerServer) -> dict[str, Any]:
    """The example config, with a campaign of each channel and a buyer taking every lead (so
    that a ping is answered with an order), applied to a fresh account; its admin key and a
    posting key of its source."""
    tenant = await new_account()
    document = json.loads(json.dumps(EXAMPLE))
    document["clients"] = [buyer("standard", buyers)]
    [source] = document["sources"]
    base = source["campaigns"][0]
    source["campaigns"] += [
        {**base, "key": key, "name": key, "rules": [], **settings}
        for key, settings in CAMPAIGNS.items()
    ]
    async with stub_for(tenant.api_key) as stub:
        applied = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))
        made = await stub.CreateSourceKey(
            admin_pb2.CreateSourceKeyRequest(source_id=applied.sources["acme-media"])
        )
    passwords = {c["key"]: c["password"] for c in source["campaigns"]}
    return {"admin_key": tenant.api_key, "source_key": made.secret, "passwords": passwords}


async def printed(stub_for: Any, admin_key: str, campaign: str, receiver_url: str) -> list[str]:
    """The curl lines of the campaign's instructions, as `leadrouter instructions` prints."""
    async with stub_for(admin_key) as stub:
        found = await stub.GetPostingInstructions(
            admin_pb2.GetPostingInstructionsRequest(
                campaign_key=campaign, receiver_url=receiver_url
            )
        )
    return COMMAND.findall(found.markdown)


async def run(command: str) -> str:
    """What the command prints: run by curl through a shell, or without curl its exact
    equivalent (the same words, read as a POSIX shell reads them) with httpx."""
    if CURL is not None:
        process = await asyncio.create_subprocess_exec(
            "sh", "-c", command, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await process.communicate()
        assert process.returncode == 0, command
        return out.decode()
    words = shlex.split(command)
    assert words[:2] == ["curl", "-s"], command
    url, options = words[2], words[3:]
    headers = {"content-type": "application/x-www-form-urlencoded"}
    data = None
    for flag, value in zip(options[::2], options[1::2], strict=True):
        if flag == "-H":
            name, _, text = value.partition(":")
            headers[name.strip().lower()] = text.strip()
        else:
            assert flag == "-d", command
            data = value
    async with httpx.AsyncClient(timeout=30) as client:
        if data is None:
            answer = await client.get(url)
        else:
            answer = await client.post(url, content=data, headers=headers)
    return answer.text


def outcome(answer: str) -> dict[str, Any]:
    """The first PostResponse (or duplicate check, or status) of a JSON or XML answer."""
    if answer.lstrip().startswith("<"):
        return dict(re.findall(r"<(\w+)>([^<]*)</\1>", answer))
    found = json.loads(answer)
    return dict(found[0] if isinstance(found, list) else found)


async def stored(pool: Any, lead_id: object) -> bool:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT 1 FROM leads WHERE id = %s", [int(str(lead_id))])
        return await cursor.fetchone() is not None


@pytest.mark.parametrize("campaign", ["acme-auto-web", *CAMPAIGNS])
async def test_every_printed_example_works_as_printed(
    campaign: str, account: dict[str, Any], stub_for: Any, receiver_url: str, pool: Any
) -> None:
    commands = await printed(stub_for, account["admin_key"], campaign, receiver_url)
    assert len(commands) >= 9, commands  # five endpoints' examples and five request forms
    assert all(c.startswith(f"curl -s {receiver_url}") or "'" + receiver_url in c for c in commands)
    filled = {
        "YOUR_PASSWORD": account["passwords"][campaign],
        "YOUR_API_KEY": account["source_key"],
    }
    pinging = ""  # the ping's example: each post naming an order pings again first
    posted: dict[str, Any] = {}  # the last lead posted to a synchronous URL
    queued: dict[str, Any] = {}  # the last one queued
    for number, command in enumerate(commands):
        for placeholder, value in filled.items():
            command = command.replace(placeholder, value)
        # a lead of its own each time, or it would be a duplicate of the one before
        command = command.replace("jane.doe", f"jane{number}").replace(
            "7025550100", f"70255{number:05d}"
        )
        if "LEAD_ID" in command:
            command = command.replace("LEAD_ID", str(posted["LeadIdentifier"]))
        if "/processor/insert/ping/" in command and "/async" in command:
            answer = outcome(await run(command))
            assert answer["QueueSuccessful"] in (True, "true"), (command, answer)
            async with httpx.AsyncClient(timeout=30) as client:
                for _ in range(600):
                    status = outcome((await client.get(answer["StatusURL"])).text)
                    if status["QueueStatus"] == "Processed":
                        break
                    await asyncio.sleep(0.05)
            # JSON keeps the PingResponse under Response; XML's leaves are read flat
            pinged = status["Response"] if isinstance(status["Response"], dict) else status
            assert pinged["WillAccept"] in (True, "true") and pinged["OrderID"], status
            continue
        if "/processor/insert/ping/" in command:
            answer = outcome(await run(command))
            assert answer["WillAccept"] in (True, "true") and answer["OrderID"], answer
            pinging = command
            continue
        if "ORDER_ID" in command:
            order = outcome(await run(pinging))["OrderID"]
            command = command.replace("ORDER_ID", str(order))
        if "/information/queuestatus/" in command:
            command = command.replace("POST_ID", str(queued["PostID"]))
        if "POST_ID" in command:
            command = command.replace("POST_ID", str(posted["PostID"]))
        answer = outcome(await run(command))
        if "/async" in command:
            assert answer["QueueSuccessful"] in (True, "true"), (command, answer)
            queued = answer
        elif "/information/queuestatus/" in command:
            for _ in range(600):
                if answer["QueueStatus"] == "Processed":
                    break
                await asyncio.sleep(0.05)
                answer = outcome(await run(command))
            assert answer["PostID"] == queued["PostID"], command
            [kept] = (
                answer["Response"] if isinstance(answer["Response"], list) else [answer["Response"]]
            )
            assert (kept["ResponseType"], kept["isValidPost"]) == ("No_Error", True), answer
        elif "/processor/update/" in command:
            assert answer["ResponseDetails"] == "Lead information updated", command
        elif "/processor/duplicate/check/" in command:
            assert answer["Response"] == "Not a duplicate", command
        elif "/information/status/" in command:
            assert answer["PostID"] == posted["PostID"], command
        else:
            assert (answer["ResponseType"], answer["isValidPost"]) in (
                ("No_Error", True),
                ("No_Error", "true"),
            ), (command, answer)
            assert await stored(pool, answer["LeadIdentifier"]), command
            posted = answer


async def test_the_page_a_source_opens_shows_the_same_examples(
    account: dict[str, Any], stub_for: Any, receiver_url: str
) -> None:
    async with stub_for(account["admin_key"]) as stub:
        found = await stub.GetPostingInstructions(
            admin_pb2.GetPostingInstructionsRequest(
                campaign_key="acme-auto-web", receiver_url=receiver_url
            )
        )
    ids = found.document["identifiers"]
    async with httpx.AsyncClient(base_url=receiver_url, timeout=30) as client:
        page = await client.get(
            "/processor/instructions",
            params={"lid": int(ids["lid"]), "aid": int(ids["aid"])},
            headers={"api-key": account["source_key"]},
        )
    shown = [html.unescape(p) for p in re.findall(r"<pre>(.*?)</pre>", page.text)]
    assert shown == COMMAND.findall(found.markdown)
