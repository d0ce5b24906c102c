"""Outbound calls to checked addresses: the host resolved, every address it resolves to
checked (server/domain/addresses.py), and the call then made to one of those very addresses,
never to the name resolved again (so a name that resolves elsewhere a moment later, DNS
rebinding, cannot steer it). Used by the callbacks' client and by the delivery transports
(HTTP, a buyer's ping included, SMTP and FTP)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

from server.domain.addresses import SERVER_DELIVERIES, refusal

# The addresses a host name resolves to (IP addresses as text), in the order to try them.
Resolve = Callable[[str, int], Awaitable[list[str]]]


class AddressRefused(Exception):
    """The host resolves to an address the call may not reach: nothing was sent."""


async def resolve(host: str, port: int) -> list[str]:
    """The system resolver's addresses for `host`, each once; an IP address as it is (asyncio
    would ask the resolver in a thread for it too)."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve_blocking(host: str, port: int) -> list[str]:
    """`resolve`, for code that runs in a worker thread (SMTP, FTP)."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check(host: str, addresses: list[str], allow_private: bool, not_allowed: str) -> None:
    """Raise AddressRefused when any address `host` resolved to may not be called;
    `not_allowed` says who did not allow a private one (server/domain/addresses.py)."""
    for address in addresses:
        why = refusal(address, allow_private, not_allowed)
        if why is not None:
            raise AddressRefused(why if host == address else f"{host}: {why}")


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def checked_blocking(host: str, port: int, allow_private: bool) -> list[str]:
    """The addresses a delivery over a blocking client (SMTP, FTP) may connect to, in order:
    `host` itself when private addresses are allowed, else its checked addresses (raises
    AddressRefused, or OSError when it does not resolve)."""
    if allow_private:
        return [host]
    addresses = resolve_blocking(host, port)
    check(host, addresses, False, SERVER_DELIVERIES)
    return addresses
