"""The callbacks' HTTP client against a receiver on loopback, and with a fake resolver for
the names it must refuse before connecting."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.adapters.callbacks import CallbackClient, resolve
from server.domain.callbacks.records import ANSWER_CAP_BYTES, Answer, Outcome
from tests.support.callbacks import Receiver, Reply, callback_receiver

HEADERS = (("Content-Type", "application/json"), ("X-LeadRouter-Event-Id", "e-1"))
BODY = b'{"PostID": "p"}'


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with callback_receiver() as found:
        yield found


def names(table: dict[str, list[str]], asked: list[str] | None = None) -> CallbackClient:
    """A client whose resolver knows only `table`, noting each name asked."""

    async def resolve(host: str, port: int) -> list[str]:
        if asked is not None:
            asked.append(host)
        if host not in table:
            raise OSError(f"[Errno -2] Name or service not known: {host}")
        return table[host]

    return CallbackClient(resolve=resolve)


async def post(client: CallbackClient, url: str, allow_private: bool = True, **kw: float) -> Answer:
    return await client.post(
        url,
        HEADERS,
        BODY,
        allow_private=allow_private,
        connect_seconds=kw.get("connect", 2.0),
        read_seconds=kw.get("read", 2.0),
    )


async def test_a_2xx_answer_delivers_the_post_as_sent(receiver: Receiver) -> None:
    answer = await post(CallbackClient(), receiver.url("/cb?x=1"))
    assert (answer.outcome, answer.status, answer.error) == (Outcome.DELIVERED, 200, "")
    [request] = receiver.received
    assert (request.method, request.target, request.body) == ("POST", "/cb?x=1", BODY)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-leadrouter-event-id"] == "e-1"
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"


async def test_the_name_is_resolved_once_and_its_address_called_with_the_name_as_host(
    receiver: Receiver,
) -> None:
    asked: list[str] = []
    client = names({"hooks.example": ["127.0.0.1"]}, asked)
    answer = await post(client, f"http://hooks.example:{receiver.port}/cb")
    assert answer.outcome is Outcome.DELIVERED
    assert asked == ["hooks.example"]
    assert receiver.received[0].headers["host"] == f"hooks.example:{receiver.port}"


@pytest.mark.parametrize(
    ("host", "addresses"),
    [("127.0.0.1", ["127.0.0.1"]), ("::1", ["::1"]), ("127.1", ["127.0.0.1"])],
)
async def test_an_ip_address_is_taken_as_it_is_and_other_forms_resolved(
    host: str, addresses: list[str]
) -> None:
    """An IP address needs no resolver; a legacy form (127.1) still goes through the system
    resolver, so what is checked is always the address called."""
    assert await resolve(host, 80) == addresses


async def test_a_private_ip_address_in_the_url_is_refused_without_connecting() -> None:
    answer = await CallbackClient().post(
        "http://10.1.2.3:9/", HEADERS, BODY, allow_private=False, connect_seconds=1, read_seconds=1
    )
    assert answer.outcome is Outcome.REFUSED
    assert "10.1.2.3" in answer.error


async def test_loopback_is_refused_unless_the_account_allows_it(receiver: Receiver) -> None:
    answer = await post(CallbackClient(), receiver.url(), allow_private=False)
    assert answer.outcome is Outcome.REFUSED
    assert answer.status is None
    assert "127.0.0.1 is in the loopback range" in answer.error
    assert receiver.received == []


async def test_localhost_is_loopback_too(receiver: Receiver) -> None:
    answer = await post(CallbackClient(), receiver.url(host="localhost"), allow_private=False)
    assert answer.outcome is Outcome.REFUSED
    assert answer.error.startswith("localhost: ")


async def test_a_name_resolving_to_a_private_address_is_refused_without_connecting() -> None:
    client = names({"intranet.example": ["10.0.0.7"]})
    answer = await post(client, "http://intranet.example/cb", allow_private=False)
    assert answer.outcome is Outcome.REFUSED
    assert answer.error == (
        "intranet.example: 10.0.0.7 is in the private range; the account does not allow "
        "private callbacks"
    )


async def test_a_name_with_one_private_address_among_public_ones_is_refused() -> None:
    client = names({"mixed.example": ["93.184.216.34", "fd00::5"]})
    answer = await post(client, "https://mixed.example/cb", allow_private=False)
    assert answer.outcome is Outcome.REFUSED
    assert "fd00::5 is in the unique local range" in answer.error


async def test_a_name_resolving_to_a_mapped_metadata_address_is_refused() -> None:
    client = names({"meta.example": ["::ffff:169.254.169.254"]})
    answer = await post(client, "http://meta.example/latest", allow_private=False)
    assert answer.outcome is Outcome.REFUSED
    assert "(IPv4 169.254.169.254) is in the link-local range" in answer.error


async def test_addresses_no_callback_can_mean_are_refused_even_when_private_is_allowed() -> None:
    client = names({"zero.example": ["0.0.0.0"]})
    answer = await post(client, "http://zero.example/", allow_private=True)
    assert answer.outcome is Outcome.REFUSED
    assert answer.error == "zero.example: 0.0.0.0 is in the unspecified ('this network') range"


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "javascript:alert(1)", "http:///x", "x"]
)
async def test_only_http_and_https_addresses_are_called(url: str) -> None:
    answer = await post(names({}), url)
    assert answer.outcome is Outcome.REFUSED
    assert answer.error.startswith("the address cannot be called")


async def test_a_content_type_with_a_line_break_is_refused() -> None:
    client = names({"a.example": ["93.184.216.34"]})
    answer = await client.post(
        "http://a.example/",
        (("Content-Type", "text/xml\r\nX-Injected: 1"),),
        BODY,
        allow_private=False,
        connect_seconds=1.0,
        read_seconds=1.0,
    )
    assert answer.outcome is Outcome.REFUSED


async def test_an_unknown_name_fails_and_may_be_retried() -> None:
    answer = await post(names({}), "http://nowhere.example/cb")
    assert answer.outcome is Outcome.FAILED
    assert answer.error.startswith("could not resolve nowhere.example")


async def test_a_redirect_is_not_followed_and_fails(receiver: Receiver) -> None:
    receiver.script.append(Reply(302, b"", (("Location", "http://127.0.0.1:1/elsewhere"),)))
    answer = await post(CallbackClient(), receiver.url())
    assert (answer.outcome, answer.status) == (Outcome.FAILED, 302)
    assert len(receiver.received) == 1


async def test_a_non_2xx_answer_fails_with_its_status_and_the_start_of_its_body(
    receiver: Receiver,
) -> None:
    receiver.script.append(Reply(503, b"busy, try later"))
    answer = await post(CallbackClient(), receiver.url())
    assert (answer.outcome, answer.status) == (Outcome.FAILED, 503)
    assert answer.error == "answered 503: busy, try later"


async def test_the_answer_is_read_only_up_to_the_cap(receiver: Receiver) -> None:
    receiver.script.append(Reply(500, b"x" * (ANSWER_CAP_BYTES * 50)))
    answer = await post(CallbackClient(), receiver.url())
    assert answer.status == 500
    assert len(answer.error) < 300


async def test_a_slow_answer_times_out(receiver: Receiver) -> None:
    receiver.script.append(Reply(delay=5.0))
    answer = await post(CallbackClient(), receiver.url(), read=0.2)
    assert answer.outcome is Outcome.FAILED
    assert answer.error == "no answer within 0.2s"
    assert answer.elapsed_ms < 2000


async def test_a_closed_port_fails_to_connect() -> None:
    async with callback_receiver() as gone:
        url = gone.url()
    answer = await post(CallbackClient(), url)
    assert answer.outcome is Outcome.FAILED
    assert answer.error.startswith("could not connect: 127.0.0.1: ")


# -- connections kept alive: reused for the same origin and checked address only


async def test_callbacks_to_a_receiver_that_keeps_connections_open_share_one(
    receiver: Receiver,
) -> None:
    receiver.keep_alive = True
    client = CallbackClient()
    try:
        for _ in range(3):
            assert (await post(client, receiver.url())).outcome is Outcome.DELIVERED
    finally:
        await client.aclose()
    assert (len(receiver.received), receiver.connections) == (3, 1)


async def test_a_kept_connection_the_receiver_closed_is_replaced(receiver: Receiver) -> None:
    receiver.keep_alive = True
    client = CallbackClient()
    try:
        assert (await post(client, receiver.url())).outcome is Outcome.DELIVERED
        await receiver.drop()  # as a server closes the connections idle too long
        await asyncio.sleep(0.05)
        assert (await post(client, receiver.url())).outcome is Outcome.DELIVERED
    finally:
        await client.aclose()
    assert (len(receiver.received), receiver.connections) == (2, 2)


async def test_a_callback_a_kept_connection_lost_on_the_way_goes_again_on_another(
    receiver: Receiver,
) -> None:
    """The receiver closes a kept connection as the callback goes out on it: the callback
    goes again on a new connection (at least once: the receiver may see it twice, with the
    same event id); a new connection that does the same fails the attempt."""
    receiver.keep_alive = True
    client = CallbackClient()
    try:
        assert (await post(client, receiver.url())).outcome is Outcome.DELIVERED
        receiver.script.append(Reply(drop=True))
        again = await post(client, receiver.url())
        receiver.script.extend([Reply(drop=True), Reply(drop=True)])
        await receiver.drop()
        await asyncio.sleep(0.05)
        lost = await post(client, receiver.url())
    finally:
        await client.aclose()
    assert (again.outcome, again.status) == (Outcome.DELIVERED, 200)
    assert lost.outcome is Outcome.FAILED
    assert lost.error.endswith("Server disconnected")
    assert (len(receiver.received), receiver.connections) == (4, 3)


async def test_a_kept_connection_never_carries_a_callback_to_another_address_or_name(
    receiver: Receiver,
) -> None:
    """A name that resolves elsewhere the next time (rebinding) is called at its new address,
    checked, not on the connection made to its old one; another name on the same address
    and port gets a connection of its own."""
    receiver.keep_alive = True
    table = {"a.example": ["127.0.0.1"], "b.example": ["127.0.0.1"]}

    async def resolve(host: str, port: int) -> list[str]:
        return table[host]

    client = CallbackClient(resolve=resolve)
    try:
        assert (await post(client, f"http://a.example:{receiver.port}/")).status == 200
        assert (await post(client, f"http://b.example:{receiver.port}/")).status == 200
        assert receiver.connections == 2
        table["a.example"] = ["127.0.0.2"]  # loopback, where the receiver does not listen
        moved = await post(client, f"http://a.example:{receiver.port}/", allow_private=True)
        table["a.example"] = ["10.0.0.9"]
        private = await post(client, f"http://a.example:{receiver.port}/", allow_private=False)
    finally:
        await client.aclose()
    assert moved.outcome is Outcome.FAILED
    assert moved.error.startswith("could not connect: 127.0.0.2: ")
    assert private.outcome is Outcome.REFUSED
    assert len(receiver.received) == 2


# -- https: connected to the checked address, the certificate checked against the name


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for the name hooks.example (not for any address)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a certificate")
    folder = tmp_path_factory.mktemp("callback-tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    make = "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
    name = "-subj /CN=hooks.example -addext subjectAltName=DNS:hooks.example"
    subprocess.run(
        [openssl, *make.split(), *name.split(), "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
async def tls_receiver(certificate: tuple[Path, Path]) -> AsyncIterator[Receiver]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    async with callback_receiver(context) as found:
        yield found


def trusting(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certificate[0])


async def test_https_goes_to_the_checked_address_and_checks_the_certificate_for_the_name(
    tls_receiver: Receiver, certificate: tuple[Path, Path]
) -> None:
    table = {"hooks.example": ["127.0.0.1"]}

    async def resolve(host: str, port: int) -> list[str]:
        return table[host]

    client = CallbackClient(resolve=resolve, verify=trusting(certificate))
    answer = await post(client, f"https://hooks.example:{tls_receiver.port}/cb")
    assert (answer.outcome, answer.status) == (Outcome.DELIVERED, 200)
    assert tls_receiver.received[0].headers["host"] == f"hooks.example:{tls_receiver.port}"


async def test_https_to_a_name_the_certificate_does_not_hold_fails(
    tls_receiver: Receiver, certificate: tuple[Path, Path]
) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    client = CallbackClient(resolve=resolve, verify=trusting(certificate))
    answer = await post(client, f"https://rebound.example:{tls_receiver.port}/cb")
    assert answer.outcome is Outcome.FAILED
    assert "CERTIFICATE_VERIFY_FAILED" in answer.error
    assert tls_receiver.received == []
