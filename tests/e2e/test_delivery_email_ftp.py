"""Email and FTP delivery through the whole engine: config applied over gRPC, a lead posted
over gRPC, an SMTP server (aiosmtpd) and an FTP server (pyftpdlib) on loopback as buyers.

For these methods a buyer's "answer" is its server's reply: an SMTP server that takes the
message (250) or an FTP server that stores the file (226) means the send is sold; a server
that cannot be reached is a transport failure, retried, then failed."""

from __future__ import annotations

import asyncio
import copy
import email
import email.policy
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from aiosmtpd.controller import Controller
from leadrouter.v1 import admin_pb2, distribution_pb2

from clients.client import struct
from tests.e2e.test_distribution import EXAMPLE, LEAD, Market
from tests.integration.test_delivery_transports import FtpSite, Mailbox, free_port
from tests.support.ftp import FTPHandler, ftp_server

S = distribution_pb2.SendStatus
MAPPINGS = [
    {"param": "first_name", "field": "FirstName"},
    {"param": "email", "field": "Email"},
    {"param": "state", "field": "State"},
    {"param": "phone", "field": "Phone", "format": "(###) ###-####"},
]


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    """An SMTP server on loopback that takes every message for a known recipient."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, mailbox
    controller.stop()


@pytest.fixture
def ftp(tmp_path: Path) -> Iterator[FtpSite]:
    """An FTP server on loopback with user acme (password ftp-pass) and an `incoming` folder."""
    (tmp_path / "incoming").mkdir()
    with ftp_server(tmp_path, "acme", "ftp-pass") as port:
        yield FtpSite(port=port, home=tmp_path)


class FlakyMailbox(Mailbox):
    """Answers the first message 451 (try again later), keeping it in `refused`."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.refused:
            self.refused.append(envelope)
            return "451 try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def flaky_smtp() -> Iterator[tuple[int, FlakyMailbox]]:
    mailbox = FlakyMailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, mailbox
    controller.stop()


class FlakyUploads(FTPHandler):  # type: ignore[misc]
    """Answers the first STOR 451 (try again later); every STOR's file name is kept."""

    stored: list[str]

    def ftp_STOR(self, file: str, mode: str = "w") -> Any:
        self.stored.append(Path(file).name)
        if len(self.stored) == 1:
            self.respond("451 try again later")
            return None
        return super().ftp_STOR(file, mode)


@pytest.fixture
def flaky_ftp(tmp_path: Path) -> Iterator[tuple[FtpSite, list[str]]]:
    (tmp_path / "incoming").mkdir()
    stored: list[str] = []
    with ftp_server(tmp_path, "acme", "ftp-pass", FlakyUploads, stored=stored) as port:
        yield FtpSite(port=port, home=tmp_path), stored


def buyer(key: str, price: str, delivery: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": key,
        "name": f"Buyer {key}",
        "deliveries": [
            {
                "key": "out",
                "lead_type": "auto-insurance",
                "timeout_seconds": 5,
                "mappings": MAPPINGS,
                **delivery,
            }
        ],
        "accounts": [{"key": "main", "delivery": "out", "price": price}],
    }


def email_buyer(key: str, port: int, price: str = "20") -> dict[str, Any]:
    return buyer(
        key,
        price,
        {
            "type": "email",
            "email_to": "sales@buyer.example",
            "email_cc": "desk@buyer.example",
            "email_from": "Leads <leads@leadrouter.example>",
            "email_subject": "Lead {{lead_id}} for you",
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
        },
    )


def ftp_buyer(key: str, port: int, file_format: str = "csv", price: str = "20") -> dict[str, Any]:
    return buyer(
        key,
        price,
        {
            "type": "ftp",
            "address": f"ftp://127.0.0.1:{port}/incoming",
            "ftp_username": "acme",
            "ftp_password": "ftp-pass",
            "ftp_file_format": file_format,
        },
    )


async def market(
    grpc_address: str, new_account: Any, stub_for: Any, clients: list[dict[str, Any]]
) -> Market:
    document = copy.deepcopy(EXAMPLE)
    document["sources"][0]["campaigns"][0]["max_sell"] = 1
    document["clients"] = clients
    tenant = await new_account("Email and FTP")
    async with stub_for(tenant.api_key) as stub:
        ids = await stub.ApplyConfig(admin_pb2.ApplyConfigRequest(document=struct(document)))
    return Market(grpc_address, tenant.api_key, ids)


async def finished(m: Market, lead_id: int, count: int, seconds: float = 30.0) -> list[Any]:
    """The lead's sends once `count` are finished; retries with backoff take a few seconds."""
    done_states = (S.SEND_STATUS_SOLD, S.SEND_STATUS_REJECTED, S.SEND_STATUS_FAILED)
    sends: list[Any] = []
    for _ in range(int(seconds / 0.1)):
        sends = await m.sends(lead_id)
        if sum(s.status in done_states for s in sends) >= count:
            return sends
        await asyncio.sleep(0.1)
    raise AssertionError(f"lead {lead_id} has sends {sends}")


async def test_an_email_carries_the_mapped_fields_and_the_send_is_sold(
    grpc_address: str, new_account: Any, stub_for: Any, smtp: tuple[int, Mailbox]
) -> None:
    port, mailbox = smtp
    m = await market(grpc_address, new_account, stub_for, [email_buyer("mail", port)])
    lead = await m.post()
    [send] = await finished(m, lead.lead_id, 1)
    assert (send.client_name, send.status, send.valid, send.price) == (
        "Buyer mail",
        S.SEND_STATUS_SOLD,
        True,
        "20",
    )
    assert send.response.startswith("250") and send.attempts == 1
    [envelope] = mailbox.envelopes
    assert envelope.mail_from == "leads@leadrouter.example"
    assert sorted(envelope.rcpt_tos) == ["desk@buyer.example", "sales@buyer.example"]
    message = mailbox.message()
    assert message["Subject"] == f"Lead {lead.lead_id} for you"
    assert message["Message-ID"] == f"<leadrouter-send-{send.id}@leadrouter>"
    body = message.get_content()
    assert body.splitlines() == [
        "first_name: Ann",
        "email: ann@example.com",
        "state: NV",
        "phone: (702) 555-0100",
    ]


async def test_an_ftp_delivery_stores_a_csv_file_and_the_send_is_sold(
    grpc_address: str, new_account: Any, stub_for: Any, ftp: FtpSite
) -> None:
    m = await market(grpc_address, new_account, stub_for, [ftp_buyer("files", ftp.port)])
    lead = await m.post()
    [send] = await finished(m, lead.lead_id, 1)
    assert (send.status, send.valid, send.price) == (S.SEND_STATUS_SOLD, True, "20")
    assert send.response.startswith("226")
    assert "ftp-pass" not in send.request
    stored = ftp.home / "incoming" / f"lead-{lead.lead_id}-send-{send.id}.csv"
    assert stored.read_bytes() == (
        b"first_name,email,state,phone\r\nAnn,ann@example.com,NV,(702) 555-0100\r\n"
    )


async def test_an_ftp_delivery_stores_an_xml_file(
    grpc_address: str, new_account: Any, stub_for: Any, ftp: FtpSite
) -> None:
    m = await market(grpc_address, new_account, stub_for, [ftp_buyer("xml", ftp.port, "xml")])
    lead = await m.post()
    [send] = await finished(m, lead.lead_id, 1)
    assert send.status == S.SEND_STATUS_SOLD
    stored = ftp.home / "incoming" / f"lead-{lead.lead_id}-send-{send.id}.xml"
    document = ElementTree.fromstring(stored.read_bytes())
    assert document.tag == "Lead"
    assert {child.tag: child.text for child in document} == {
        "first_name": "Ann",
        "email": "ann@example.com",
        "state": "NV",
        "phone": "(702) 555-0100",
    }


@pytest.mark.slow  # waits for retries or delays in real time
async def test_unreachable_smtp_and_ftp_servers_are_retried_then_failed(
    grpc_address: str, new_account: Any, stub_for: Any, ftp: FtpSite
) -> None:
    m = await market(
        grpc_address,
        new_account,
        stub_for,
        [
            email_buyer("dead-mail", free_port(), price="60"),
            ftp_buyer("dead-ftp", free_port(), price="50"),
            ftp_buyer("live-ftp", ftp.port, price="10"),
        ],
    )
    lead = await m.post({**LEAD, "Email": "retry@example.com"})
    sends = await finished(m, lead.lead_id, 3)
    assert [(s.client_name, s.status) for s in sends] == [
        ("Buyer dead-mail", S.SEND_STATUS_FAILED),
        ("Buyer dead-ftp", S.SEND_STATUS_FAILED),
        ("Buyer live-ftp", S.SEND_STATUS_SOLD),
    ]
    for failed in sends[:2]:
        assert failed.attempts == 5 and not failed.valid
        assert "transport failure after 5 attempts" in failed.reason
        assert "ConnectionRefusedError" in failed.reason
    assert (ftp.home / "incoming" / f"lead-{lead.lead_id}-send-{sends[2].id}.csv").exists()


@pytest.mark.slow  # waits for a retry's backoff in real time
async def test_a_retried_email_carries_the_same_idempotency_key(
    grpc_address: str, new_account: Any, stub_for: Any, flaky_smtp: tuple[int, FlakyMailbox]
) -> None:
    port, mailbox = flaky_smtp
    m = await market(grpc_address, new_account, stub_for, [email_buyer("mail", port)])
    lead = await m.post({**LEAD, "Email": "again@example.com"})
    [send] = await finished(m, lead.lead_id, 1)
    assert (send.status, send.attempts) == (S.SEND_STATUS_SOLD, 2)
    [refused], [accepted] = mailbox.refused, mailbox.envelopes
    sent = [
        email.message_from_bytes(e.content, policy=email.policy.default)
        for e in (refused, accepted)
    ]
    key = f"leadrouter-send-{send.id}"
    assert [(msg["Idempotency-Key"], msg["Message-ID"]) for msg in sent] == [
        (key, f"<{key}@leadrouter>")
    ] * 2


@pytest.mark.slow  # waits for a retry's backoff in real time
async def test_a_retried_upload_stores_the_same_file_name(
    grpc_address: str, new_account: Any, stub_for: Any, flaky_ftp: tuple[FtpSite, list[str]]
) -> None:
    site, stored = flaky_ftp
    m = await market(grpc_address, new_account, stub_for, [ftp_buyer("files", site.port)])
    lead = await m.post({**LEAD, "Email": "again@example.com"})
    [send] = await finished(m, lead.lead_id, 1)
    assert (send.status, send.attempts) == (S.SEND_STATUS_SOLD, 2)
    name = f"lead-{lead.lead_id}-send-{send.id}.csv"
    assert stored == [name, name]
    assert [p.name for p in (site.home / "incoming").iterdir()] == [name]
