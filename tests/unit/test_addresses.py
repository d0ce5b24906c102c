"""Which addresses an outbound call (a callback, a delivery) may reach: the special-purpose
ranges, IPv6 forms of IPv4 addresses, and what a refusal says."""

from __future__ import annotations

import ipaddress

import pytest

from server.domain.addresses import IPV4, IPV6, Network, Reach, refusal

NOT_ALLOWED = "the caller does not allow private addresses"

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
def test_private_addresses_are_refused_unless_allowed(address: str, name: str) -> None:
    found = refusal(address, False, NOT_ALLOWED)
    assert found is not None
    assert found.endswith(f"is in the {name} range; {NOT_ALLOWED}")
    assert refusal(address, True, NOT_ALLOWED) is None


@pytest.mark.parametrize(("address", "name"), NEVER_ADDRESSES.items())
def test_addresses_no_call_can_mean_are_always_refused(address: str, name: str) -> None:
    for allow in (False, True):
        found = refusal(address, allow, NOT_ALLOWED)
        assert found is not None and found.endswith(f"is in the {name} range")


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(address, False, NOT_ALLOWED) is None


def test_a_mapped_address_names_the_ipv4_address_it_stands_for() -> None:
    found = refusal("::ffff:127.0.0.1", False, NOT_ALLOWED)
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
    assert refusal("localhost", True, NOT_ALLOWED) == "'localhost' is not an IP address"


def _inside(text: str, network: Network) -> bool:
    address = ipaddress.ip_address(text)
    return address.version == network.version and address in network
