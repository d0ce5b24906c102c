"""Deliveries to private addresses, refused unless the server allows them: a buyer's address,
SMTP host and FTP host are set by the account's admin, who must not reach the server's own
network through them (server/adapters/addresses.py). The transports here are built as a
server with the default setting builds them; the buyers listen on loopback."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from aiosmtpd.controller import Controller

from server.adapters.addresses import Resolutions
from server.adapters.delivery import HttpTransport, Transports
from server.domain.delivery.render import render
from tests.integration.test_delivery_transports import (  # noqa: F401 (fixtures)
    LEAD,
    BuyerServer,
    FtpSite,
    Mailbox,
    Received,
    buyer,
    email_spec,
    ftp_site,
    ftp_spec,
    mailbox,
    received,
    request,
    smtp_server,
)

REFUSED = "the server does not allow deliveries to private addresses"


def names(table: dict[str, list[str]]) -> HttpTransport:
    """A transport as the server builds it, whose resolver knows only `table`."""

    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return HttpTransport(resolve=resolve)


@pytest.fixture
async def guarded() -> AsyncIterator[HttpTransport]:
    transport = HttpTransport()
    yield transport
    await transport.aclose()


async def test_a_buyer_on_loopback_is_refused_and_nothing_is_sent(
    buyer: BuyerServer,  # noqa: F811
    received: list[Received],  # noqa: F811
    guarded: HttpTransport,
) -> None:
    result = await guarded.send(request(f"{buyer.url}/leads", method="POST", body=b"a=1"))
    assert result.refused and result.status is None
    assert result.error == f"address refused: 127.0.0.1 is in the loopback range; {REFUSED}"
    assert received == []


async def test_the_same_buyer_is_reached_once_the_server_allows_private_addresses(
    buyer: BuyerServer,  # noqa: F811
    received: list[Received],  # noqa: F811
) -> None:
    async with HttpTransport(allow_private=True) as allowed:
        result = await allowed.send(request(f"{buyer.url}/leads"))
    assert (result.status, result.refused, len(received)) == (200, False, 1)


@pytest.mark.parametrize(
    ("table", "url", "error"),
    [
        (
            {"crm.buyer.example": ["10.0.0.7"]},
            "https://crm.buyer.example/leads",
            f"crm.buyer.example: 10.0.0.7 is in the private range; {REFUSED}",
        ),
        (
            {"mixed.buyer.example": ["93.184.216.34", "fd00::5"]},
            "http://mixed.buyer.example/leads",
            f"mixed.buyer.example: fd00::5 is in the unique local range; {REFUSED}",
        ),
        (
            {"meta.buyer.example": ["::ffff:169.254.169.254"]},
            "http://meta.buyer.example/latest/meta-data",
            "meta.buyer.example: ::ffff:a9fe:a9fe (IPv4 169.254.169.254) is in the link-local "
            f"range; {REFUSED}",
        ),
        (
            {"zero.buyer.example": ["0.0.0.0"]},
            "http://zero.buyer.example/",
            "zero.buyer.example: 0.0.0.0 is in the unspecified ('this network') range",
        ),
    ],
)
async def test_a_name_resolving_to_an_address_no_delivery_may_reach_is_refused(
    table: dict[str, list[str]], url: str, error: str
) -> None:
    async with names(table) as transport:
        result = await transport.send(request(url))
    assert (result.refused, result.error) == (True, f"address refused: {error}")


async def test_a_name_that_does_not_resolve_is_a_failure_worth_a_retry() -> None:
    async with names({}) as transport:
        result = await transport.send(request("http://gone.buyer.example/leads"))
    assert not result.refused
    assert result.error.startswith("could not connect: could not resolve gone.buyer.example: ")


async def test_an_smtp_server_on_loopback_is_refused_and_no_mail_is_sent(
    smtp_server: tuple[Controller, Mailbox],  # noqa: F811
    mailbox: Mailbox,  # noqa: F811
) -> None:
    async with Transports() as transports:
        by_address = await transports.send(render(email_spec(smtp_server), LEAD))
        by_name = await transports.send(
            render(email_spec(smtp_server, smtp_host="localhost"), LEAD)
        )
    assert by_address.refused and by_address.error == (
        f"address refused: 127.0.0.1 is in the loopback range; {REFUSED}"
    )
    assert by_name.refused and by_name.error.startswith("address refused: localhost: ")
    assert mailbox.envelopes == []


async def test_an_ftp_server_on_loopback_is_refused_and_no_file_is_stored(
    ftp_site: FtpSite,  # noqa: F811
) -> None:
    lead = replace(LEAD, lead_id=901, send_id=9)
    async with Transports() as transports:
        result = await transports.send(render(ftp_spec(ftp_site), lead))
    assert result.refused and result.error == (
        f"address refused: 127.0.0.1 is in the loopback range; {REFUSED}"
    )
    assert list((ftp_site.home / "incoming").glob("lead-901-*")) == []


async def test_transports_the_server_allows_private_addresses_for_reach_every_kind(
    smtp_server: tuple[Controller, Mailbox],  # noqa: F811
    mailbox: Mailbox,  # noqa: F811
    ftp_site: FtpSite,  # noqa: F811
) -> None:
    async with Transports(allow_private=True) as transports:
        mailed = await transports.send(render(email_spec(smtp_server), LEAD))
        stored = await transports.send(render(ftp_spec(ftp_site), LEAD))
    assert (mailed.status, stored.status) == (250, 226)
    assert len(mailbox.envelopes) == 1


# -- names' addresses, kept a few seconds


class Lookups:
    """A resolver that counts its lookups, answering after `delay` seconds."""

    def __init__(self, table: dict[str, list[str]], delay: float = 0.0) -> None:
        self.table, self.delay, self.asked = table, delay, 0

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked += 1
        await asyncio.sleep(self.delay)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.table[host]


async def test_a_names_addresses_are_reused_until_they_expire() -> None:
    now = [0.0]
    lookups = Lookups({"buyer.example": ["93.184.216.34"]})
    resolutions = Resolutions(lookups, 10.0, clock=lambda: now[0])
    assert await resolutions("buyer.example", 443) == ["93.184.216.34"]
    now[0] = 9.9
    assert await resolutions("buyer.example", 443) == ["93.184.216.34"]
    assert lookups.asked == 1
    lookups.table["buyer.example"] = ["10.0.0.7"]  # it resolves elsewhere now
    now[0] = 10.1
    assert await resolutions("buyer.example", 443) == ["10.0.0.7"]
    assert lookups.asked == 2
    assert await resolutions("127.0.0.1", 80) == ["127.0.0.1"]  # an address needs no lookup
    assert lookups.asked == 2


async def test_calls_asking_at_once_share_one_lookup_and_a_failure_is_not_kept() -> None:
    lookups = Lookups({"busy.example": ["93.184.216.34"]}, delay=0.05)
    resolutions = Resolutions(lookups)
    found = await asyncio.gather(*(resolutions("busy.example", 80) for _ in range(20)))
    assert found == [["93.184.216.34"]] * 20 and lookups.asked == 1
    for _ in range(2):
        with pytest.raises(socket.gaierror):
            await resolutions("gone.example", 80)
    assert lookups.asked == 3


async def test_a_kept_private_address_is_still_refused() -> None:
    lookups = Lookups({"crm.buyer.example": ["10.0.0.7"]})
    async with HttpTransport(resolve=Resolutions(lookups)) as transport:
        for _ in range(2):
            result = await transport.send(request("https://crm.buyer.example/leads"))
            assert result.refused
    assert lookups.asked == 1
