"""Notices through the whole engine: config applied over gRPC, leads posted over gRPC to an
HTTP buyer (tests/support/buyers.py) whose delivery method sends notices, and an SMTP server
(aiosmtpd) on loopback catching them.

A sale through a method with EmailNotify sends a notification to its NotifyEmail addresses;
with a ClientEmail body, an email to the lead's Email value. Both are queued with the sale,
sent after it by the notices worker, retried when the mail server fails, and written to the
lead's scan log."""

from __future__ import annotations

import asyncio
import copy
import email
import email.policy
from collections.abc import Awaitable, Callable, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from leadrouter.v1 import admin_pb2

from clients.client import struct
from server.services.distribution import deliver
from tests.e2e.test_delivery_email_ftp import FlakyMailbox
from tests.e2e.test_distribution import EXAMPLE, LEAD, Market, S, client
from tests.integration.test_delivery_transports import Mailbox, free_port
from tests.support.buyers import BuyerServer

Idle = Callable[[], Awaitable[None]]
CLIENT_EMAIL = "Subject: Thanks, {{FirstName}}\nYour quote {{lead_id}} is on its way.\n"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, mailbox
    controller.stop()


@pytest.fixture
def flaky_smtp() -> Iterator[tuple[int, FlakyMailbox]]:
    mailbox = FlakyMailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, mailbox
    controller.stop()


def noticing(key: str, buyers: BuyerServer, port: int, **notices: Any) -> dict[str, Any]:
    """An HTTP buyer whose delivery method sends notices over the SMTP server on `port`."""
    found = client(key, buyers)
    found["deliveries"][0].update(
        {
            "email_from": "Leads <leads@router.example>",
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "email_notify": True,
            "notify_email": "ops@router.example, desk@router.example",
            "client_email": CLIENT_EMAIL,
            **notices,
        }
    )
    return found


async def market(
    grpc_address: str,
    new_account: Any,
    stub_for: Any,
    clients: list[dict[str, Any]],
    email_required: bool = True,
) -> Market:
    document = copy.deepcopy(EXAMPLE)
    document["clients"] = clients
    for field in document["lead_types"][0]["fields"]:
        if field["name"] == "Email":
            field["required"] = email_required
    tenant = await new_account("Notices")
    async with stub_for(tenant.api_key) as stub:
        ids = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))
    return Market(grpc_address, tenant.api_key, ids)


def messages(mailbox: Mailbox) -> dict[str, EmailMessage]:
    """The messages caught, by the first address each went to."""
    found = {}
    for envelope in mailbox.envelopes:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        found[envelope.rcpt_tos[0]] = parsed
    return found


async def test_a_sale_sends_the_notification_and_the_consumer_email(
    grpc_address: str,
    new_account: Any,
    stub_for: Any,
    buyers: BuyerServer,
    smtp: tuple[int, Mailbox],
    idle: Idle,
) -> None:
    port, mailbox = smtp
    m = await market(grpc_address, new_account, stub_for, [noticing("west", buyers, port)])
    lead = await m.post()
    [send] = await m.settled(lead.lead_id)
    assert send.status == S.SEND_STATUS_SOLD
    await idle()
    assert len(mailbox.envelopes) == 2  # one each, however often the engine polled
    sent = messages(mailbox)
    notification, consumer = sent["ops@router.example"], sent["ann@example.com"]
    assert mailbox.envelopes[0].mail_from == "leads@router.example"
    assert sorted(
        e.rcpt_tos for e in mailbox.envelopes if e.rcpt_tos[0] == "ops@router.example"
    ) == [["ops@router.example", "desk@router.example"]]
    assert notification["Subject"] == f"Lead {lead.lead_id} delivered to Buyer west"
    body = notification.get_content()
    assert f"Lead: {lead.lead_id}" in body and f"Send: {send.id}" in body
    assert "Price: 20.00" in body and "Buyer: Buyer west" in body
    assert body.splitlines()[-3:] == ["first_name: Ann", "email: ann@example.com", "state: NV"]
    assert consumer["Subject"] == "Thanks, Ann"
    assert consumer.get_content().splitlines() == [f"Your quote {lead.lead_id} is on its way."]
    assert consumer["From"] == "Leads <leads@router.example>"
    keys = [msg["Idempotency-Key"] for msg in (notification, consumer)]
    assert keys[0] != keys[1] and all(k.startswith("leadrouter-notice-") for k in keys)
    assert [msg["Message-ID"] for msg in (notification, consumer)] == [
        f"<{key}@leadrouter>" for key in keys
    ]
    log = await m.scan_log(lead.lead_id)
    assert (
        f"Notification email for send {send.id} to ops@router.example, desk@router.example: "
        "sent (250 " in log
    )
    assert f"Consumer email for send {send.id} to ann@example.com: sent (250 " in log


async def test_a_rejection_sends_no_notice(
    grpc_address: str,
    new_account: Any,
    stub_for: Any,
    buyers: BuyerServer,
    smtp: tuple[int, Mailbox],
    idle: Idle,
) -> None:
    port, mailbox = smtp
    buyers.behave("west", answer="rejected: no coverage")
    m = await market(grpc_address, new_account, stub_for, [noticing("west", buyers, port)])
    lead = await m.post({**LEAD, "Email": "rejected@example.com"})
    [send] = await m.settled(lead.lead_id)
    assert send.status == S.SEND_STATUS_REJECTED
    await idle()
    assert mailbox.envelopes == []
    assert " email for send" not in await m.scan_log(lead.lead_id)


async def test_a_method_with_notices_off_sends_none(
    grpc_address: str,
    new_account: Any,
    stub_for: Any,
    buyers: BuyerServer,
    smtp: tuple[int, Mailbox],
    idle: Idle,
) -> None:
    port, mailbox = smtp
    quiet = noticing("west", buyers, port, email_notify=False, client_email="")
    m = await market(grpc_address, new_account, stub_for, [quiet])
    lead = await m.post({**LEAD, "Email": "quiet@example.com"})
    [send] = await m.settled(lead.lead_id)
    assert send.status == S.SEND_STATUS_SOLD
    await idle()
    assert mailbox.envelopes == []


async def test_a_lead_without_an_email_value_gets_no_consumer_email(
    grpc_address: str,
    new_account: Any,
    stub_for: Any,
    buyers: BuyerServer,
    smtp: tuple[int, Mailbox],
    idle: Idle,
) -> None:
    port, mailbox = smtp
    clients = [noticing("west", buyers, port)]
    m = await market(grpc_address, new_account, stub_for, clients, email_required=False)
    lead = await m.post({k: v for k, v in LEAD.items() if k != "Email"})
    [send] = await m.settled(lead.lead_id)
    assert send.status == S.SEND_STATUS_SOLD
    await idle()
    assert list(messages(mailbox)) == ["ops@router.example"]  # the notification alone


@pytest.mark.slow  # waits for a retry's backoff in real time
async def test_a_notice_the_mail_server_refused_is_sent_again(
    grpc_address: str,
    new_account: Any,
    stub_for: Any,
    buyers: BuyerServer,
    flaky_smtp: tuple[int, FlakyMailbox],
    idle: Idle,
) -> None:
    port, mailbox = flaky_smtp
    only_notify = noticing("west", buyers, port, client_email="")
    m = await market(grpc_address, new_account, stub_for, [only_notify])
    lead = await m.post({**LEAD, "Email": "flaky@example.com"})
    [send] = await m.settled(lead.lead_id)
    assert send.status == S.SEND_STATUS_SOLD  # the sale does not wait for its notices
    for _ in range(100):
        if mailbox.envelopes:
            break
        await asyncio.sleep(0.05)
    await idle()
    [refused], [accepted] = mailbox.refused, mailbox.envelopes
    keys = [
        email.message_from_bytes(e.content, policy=email.policy.default)["Message-ID"]
        for e in (refused, accepted)
    ]
    assert keys[0] == keys[1]  # the same notice, so a mail system can drop a repeat
    log = await m.scan_log(lead.lead_id)
    about = f"Notification email for send {send.id} to ops@router.example, desk@router.example"
    assert f"{about}: attempt 1 failed: 451 try again later; retry in 0.2 s" in log
    assert f"{about}: sent (250 " in log


async def test_a_sale_is_recorded_even_when_its_notices_cannot_be_rendered(
    grpc_address: str,
    new_account: Any,
    stub_for: Any,
    buyers: BuyerServer,
    smtp: tuple[int, Mailbox],
    idle: Idle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_args: Any) -> Any:
        raise RuntimeError("a bug in rendering")

    monkeypatch.setattr(deliver, "sale_notices", broken)
    port, mailbox = smtp
    m = await market(grpc_address, new_account, stub_for, [noticing("west", buyers, port)])
    lead = await m.post({**LEAD, "Email": "broken@example.com"})
    [send] = await m.settled(lead.lead_id)
    assert (send.status, send.attempts) == (S.SEND_STATUS_SOLD, 1)
    await idle()
    assert mailbox.envelopes == [] and len(buyers.of("west")) == 1
