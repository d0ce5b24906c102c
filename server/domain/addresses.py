"""Which addresses an outbound call may reach: a callback (its `returnurl` is chosen by
whoever posts) or a delivery to a buyer, a buyer's ping included (its address, SMTP or FTP
host is set by the account's admin). Without these rules a caller could make the server call
into its own network (SSRF).

Every address the call's host resolves to is checked, and the call is refused when any of
them is refused; it then goes to one of those very addresses, never to a name resolved
again. Two kinds of address are refused:

- **private** ones (loopback, the private ranges, link-local, shared carrier-grade NAT, IPv6
  unique local and site-local), unless allowed: callbacks by the account's setting,
  deliveries by the server's (docs/decisions.md, "Deliveries to private addresses");
- addresses no call can mean (unspecified, multicast, broadcast and reserved, the
  documentation and benchmarking ranges, Teredo), always.

IPv6 forms that carry an IPv4 address (mapped `::ffff:a.b.c.d`, translated, compatible,
NAT64 `64:ff9b::/96` and 6to4 `2002::/16`) are judged by the IPv4 address inside.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Reach(enum.Enum):
    """Whom an address may be called for."""

    PUBLIC = "public"  # always
    PRIVATE = "private"  # when allowed
    NEVER = "never"  # never


@dataclass(frozen=True)
class Kind:
    """What an address is, as a refusal names it."""

    reach: Reach
    name: str  # "loopback", "private", "multicast", ...


def _table(*rows: tuple[str, Reach, str]) -> tuple[tuple[Network, Kind], ...]:
    return tuple((ipaddress.ip_network(net), Kind(reach, name)) for net, reach, name in rows)


PRIVATE, NEVER = Reach.PRIVATE, Reach.NEVER

# The special-purpose ranges, most specific first within each family.
IPV4 = _table(
    ("127.0.0.0/8", PRIVATE, "loopback"),
    ("10.0.0.0/8", PRIVATE, "private"),
    ("172.16.0.0/12", PRIVATE, "private"),
    ("192.168.0.0/16", PRIVATE, "private"),
    ("169.254.0.0/16", PRIVATE, "link-local"),
    ("100.64.0.0/10", PRIVATE, "shared (carrier-grade NAT)"),
    ("0.0.0.0/8", NEVER, "unspecified ('this network')"),
    ("224.0.0.0/4", NEVER, "multicast"),
    ("255.255.255.255/32", NEVER, "broadcast"),
    ("240.0.0.0/4", NEVER, "reserved"),
    ("192.0.0.0/24", NEVER, "reserved (IETF protocol assignments)"),
    ("192.0.2.0/24", NEVER, "documentation"),
    ("198.51.100.0/24", NEVER, "documentation"),
    ("203.0.113.0/24", NEVER, "documentation"),
    ("198.18.0.0/15", NEVER, "benchmarking"),
    ("192.88.99.0/24", NEVER, "reserved (6to4 relay anycast)"),
)
IPV6 = _table(
    ("::/128", NEVER, "unspecified"),
    ("::1/128", PRIVATE, "loopback"),
    ("fe80::/10", PRIVATE, "link-local"),
    ("fec0::/10", PRIVATE, "site-local"),
    ("fc00::/7", PRIVATE, "unique local"),
    ("64:ff9b:1::/48", PRIVATE, "local-use NAT64"),
    ("ff00::/8", NEVER, "multicast"),
    ("100::/64", NEVER, "discard-only"),
    ("2001:db8::/32", NEVER, "documentation"),
    ("2001::/32", NEVER, "Teredo"),
    ("2001:10::/28", NEVER, "reserved (ORCHID)"),
    ("2001:20::/28", NEVER, "reserved (ORCHIDv2)"),
)
# IPv6 ranges whose last 32 bits (6to4: bits 16 to 48) are the IPv4 address meant.
_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_PUBLIC = Kind(Reach.PUBLIC, "public")

# What ends the refusal of a private address: who did not allow it.
ACCOUNT_CALLBACKS = "the account does not allow private callbacks"
SERVER_CALLBACKS = "the server does not allow private callbacks"
SERVER_DELIVERIES = "the server does not allow deliveries to private addresses"


def kind(address: Address) -> tuple[Kind, ipaddress.IPv4Address | None]:
    """What `address` is, and the IPv4 address it stands for when it is an IPv6 form of one
    (the kind is then that IPv4 address's)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded(address)
        if inner is not None:
            return _lookup(inner, IPV4), inner
        return _lookup(address, IPV6), None
    return _lookup(address, IPV4), None


def refusal(text: str, allow_private: bool, not_allowed: str) -> str | None:
    """Why a call may not go to the address `text` (as resolved: an IP address, IPv6 possibly
    with a `%zone`), or None when it may; `not_allowed` ends the refusal of a private address
    (who did not allow it)."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return f"{text!r} is not an IP address"
    found, inner = kind(address)
    if found.reach is Reach.PUBLIC or (found.reach is Reach.PRIVATE and allow_private):
        return None
    shown = f"{address} (IPv4 {inner})" if inner is not None else str(address)
    if found.reach is Reach.PRIVATE:
        return f"{shown} is in the {found.name} range; {not_allowed}"
    return f"{shown} is in the {found.name} range"


def _embedded(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address in _SIX_TO_FOUR:
        return address.sixtofour
    if address in _MAPPED or address in _TRANSLATED or address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _COMPATIBLE and int(address) > 1:  # :: and ::1 are themselves
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _lookup(address: Address, table: tuple[tuple[Network, Kind], ...]) -> Kind:
    for network, found in table:
        if address in network:
            return found
    return _PUBLIC
