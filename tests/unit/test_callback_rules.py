"""Callbacks' pure rules: the signature a receiver verifies, the addresses a callback may
reach, and the retry schedule."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

import pytest

from server.domain.callbacks.addresses import IPV4, IPV6, Network, Reach, refusal
from server.domain.callbacks.records import Outcome, RetrySchedule, answered
from server.domain.callbacks.signing import (
    new_signing_secret,
    signature,
    signature_header,
    verify,
)

SECRET = "lrsig_test-secret"
BODY = b'{"PostID":"f5666260-1c2c-4bd5-9611-bb1387ca2397","isValidPost":true}'
NOW = 1_700_000_000


# -- signing


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, NOW, BODY) == expected
    assert signature_header(SECRET, NOW, BODY) == f"t={NOW},v1={expected}"


def test_a_signed_body_verifies() -> None:
    assert verify(SECRET, signature_header(SECRET, NOW, BODY), BODY, now=NOW + 10)


def test_another_body_or_secret_does_not_verify() -> None:
    header = signature_header(SECRET, NOW, BODY)
    assert not verify(SECRET, header, BODY + b" ", now=NOW)
    assert not verify("lrsig_other", header, BODY, now=NOW)


def test_a_timestamp_changed_after_signing_does_not_verify() -> None:
    header = signature_header(SECRET, NOW, BODY).replace(f"t={NOW}", f"t={NOW + 1}")
    assert not verify(SECRET, header, BODY, now=NOW)


def test_a_replay_past_the_tolerance_is_refused() -> None:
    header = signature_header(SECRET, NOW, BODY)
    assert verify(SECRET, header, BODY, now=NOW + 300)
    assert not verify(SECRET, header, BODY, now=NOW + 301)
    assert not verify(SECRET, header, BODY, now=NOW - 301)  # from the future, as far


def test_any_of_several_v1_signatures_may_match() -> None:
    header = f"t={NOW},v1={'0' * 64},v1={signature(SECRET, NOW, BODY)}"
    assert verify(SECRET, header, BODY, now=NOW)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "v1=abc",
        f"t={NOW}",
        f"t=abc,v1={'0' * 64}",
        f"t={NOW},t={NOW},v1=00",
        "t=\uff11\uff12,v1=00",
    ],
)
def test_malformed_headers_do_not_verify(header: str) -> None:
    assert not verify(SECRET, header, BODY, now=NOW)


def test_secrets_are_marked_and_random() -> None:
    first, second = new_signing_secret(), new_signing_secret()
    assert first.startswith("lrsig_") and len(first) >= 6 + 43
    assert first != second


# -- addresses

PRIVATE_ADDRESSES = {
    "127.0.0.1": "loopback",
    "127.255.0.9": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "172.31.255.254": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "link-local",  # cloud metadata
    "100.64.0.1": "shared (carrier-grade NAT)",
    "::1": "loopback",
    "fe80::1": "link-local",
    "fe80::1%eth0": "link-local",
    "fec0::1": "site-local",
    "fc00::1": "unique local",
    "fd12:3456::1": "unique local",
    "64:ff9b:1::1": "local-use NAT64",
    # IPv6 forms of IPv4 addresses are judged by the IPv4 address
    "::ffff:127.0.0.1": "loopback",
    "::ffff:10.0.0.1": "private",
    "::ffff:169.254.169.254": "link-local",
    "::ffff:0:192.168.0.1": "private",  # translated
    "::10.0.0.1": "private",  # compatible
    "64:ff9b::10.0.0.1": "private",  # NAT64
    "2002:0a00:0001::1": "private",  # 6to4 of 10.0.0.1
    "2002:7f00:0001::1": "loopback",  # 6to4 of 127.0.0.1
}
NEVER_ADDRESSES = {
    "0.0.0.0": "unspecified ('this network')",
    "0.1.2.3": "unspecified ('this network')",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "255.255.255.255": "broadcast",
    "240.0.0.1": "reserved",
    "192.0.0.8": "reserved (IETF protocol assignments)",
    "192.0.2.1": "documentation",
    "198.51.100.1": "documentation",
    "203.0.113.1": "documentation",
    "198.18.0.1": "benchmarking",
    "192.88.99.1": "reserved (6to4 relay anycast)",
    "::": "unspecified",
    "ff02::1": "multicast",
    "100::1": "discard-only",
    "2001:db8::1": "documentation",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2": "Teredo",
    "2001:10::1": "reserved (ORCHID)",
    "2001:20::1": "reserved (ORCHIDv2)",
    "::ffff:0.0.0.0": "unspecified ('this network')",
    "::ffff:224.0.0.1": "multicast",
}
PUBLIC_ADDRESSES = [
    "93.184.216.34",
    "8.8.8.8",
    "172.32.0.1",  # just past 172.16.0.0/12
    "100.128.0.1",  # just past 100.64.0.0/10
    "11.0.0.1",
    "2606:2800:220:1:248:1893:25c8:1946",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::8.8.8.8",
    "2002:0808:0808::1",
]


@pytest.mark.parametrize(("address", "name"), PRIVATE_ADDRESSES.items())
def test_private_addresses_are_refused_unless_the_account_allows_them(
    address: str, name: str
) -> None:
    found = refusal(address, allow_private=False)
    assert found is not None
    assert found.endswith(f"is in the {name} range; the account does not allow private callbacks")
    assert refusal(address, allow_private=True) is None


@pytest.mark.parametrize(("address", "name"), NEVER_ADDRESSES.items())
def test_addresses_no_callback_can_mean_are_always_refused(address: str, name: str) -> None:
    for allow in (False, True):
        found = refusal(address, allow_private=allow)
        assert found is not None and found.endswith(f"is in the {name} range")


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(address, allow_private=False) is None


def test_a_mapped_address_names_the_ipv4_address_it_stands_for() -> None:
    found = refusal("::ffff:127.0.0.1", allow_private=False)
    assert found is not None and found.startswith(
        "::ffff:7f00:1 (IPv4 127.0.0.1) is in the loopback range"
    )


def test_every_range_of_the_tables_is_tested() -> None:
    tested = [*PRIVATE_ADDRESSES, *NEVER_ADDRESSES]
    for network, _ in (*IPV4, *IPV6):
        assert any(_inside(a, network) for a in tested), network


def test_only_public_and_private_ranges_are_listed_as_such() -> None:
    assert {k.reach for _, k in (*IPV4, *IPV6)} == {Reach.PRIVATE, Reach.NEVER}


def test_a_name_is_not_an_address() -> None:
    assert refusal("localhost", allow_private=True) == "'localhost' is not an IP address"


def _inside(text: str, network: Network) -> bool:
    address = ipaddress.ip_address(text)
    return address.version == network.version and address in network


# -- answers and the retry schedule


def test_only_2xx_is_delivered() -> None:
    assert answered(204, "", 1.0).outcome is Outcome.DELIVERED
    for status in (199, 301, 302, 400, 500):
        found = answered(status, "try\n later", 1.0)
        assert found.outcome is Outcome.FAILED
        assert found.error == f"answered {status}: try later"


def test_retries_double_up_to_the_cap() -> None:
    schedule = RetrySchedule(jitter=0.0)
    delays = [schedule.delay(n, 0.0, 0.0) for n in range(1, 13)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 21600, 21600]


def test_jitter_spreads_each_delay_either_way() -> None:
    schedule = RetrySchedule(jitter=0.2)
    assert schedule.delay(1, 0.0, -1.0) == pytest.approx(24.0)
    assert schedule.delay(1, 0.0, 1.0) == pytest.approx(36.0)


def test_a_callback_is_given_up_three_days_after_it_was_queued() -> None:
    schedule = RetrySchedule(jitter=0.0)
    age, attempts = 0.0, 1
    while (delay := schedule.delay(attempts, age, 0.0)) is not None:
        age += delay
        attempts += 1
    assert 2.75 * 86400 < age <= 3 * 86400
    assert 20 <= attempts <= 22


def test_late_attempt_numbers_do_not_overflow() -> None:
    assert RetrySchedule().delay(5000, 0.0, 0.0) == 6 * 3600.0
