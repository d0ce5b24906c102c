"""Outbound calls to checked addresses: the host resolved, every address it resolves to
checked (server/domain/addresses.py), and the call then made to one of those very addresses,
never to the name resolved again (so a name that resolves elsewhere a moment later, DNS
rebinding, cannot steer it). Used by the callbacks' client and by the delivery transports
(HTTP, a buyer's ping included, SMTP and FTP).

The HTTP clients look names up through `Resolutions`, which keeps each name's addresses for
a few seconds, as aiohttp's DNS cache did (10 s): a busy buyer's host is not looked up
before every delivery, nor a source's before every callback."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

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
    return _each_once(infos)


# how long a name's addresses are reused, and how many names are kept
RESOLVED_SECONDS = 10.0
KEPT_NAMES = 4096


class Resolutions:
    """`resolve` with each name's addresses kept for `seconds` (`KEPT_NAMES` at most, the
    oldest dropped first), and one lookup at a time per name: the calls that ask while it is
    under way share its answer. A failed lookup is not kept. Addresses kept are still checked
    before each call, and only they are called: a name that resolves elsewhere meanwhile is
    called at its former addresses until they expire, never at addresses not checked."""

    def __init__(
        self,
        resolve: Resolve = resolve,
        seconds: float = RESOLVED_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolve = resolve
        self._seconds = seconds
        self._clock = clock
        self._kept: dict[tuple[str, int], tuple[float, list[str]]] = {}
        self._asking: dict[tuple[str, int], asyncio.Future[list[str]]] = {}

    async def __call__(self, host: str, port: int) -> list[str]:
        literal = _literal(host)
        if literal is not None:
            return [literal]
        key = (host, port)
        kept = self._kept.get(key)
        if kept is not None and kept[0] > self._clock():
            return kept[1]
        asking = self._asking.get(key)
        if asking is None or asking.cancelled():
            asking = self._asking[key] = asyncio.ensure_future(self._look_up(key))
        return await asyncio.shield(asking)  # a caller's timeout leaves the lookup to others

    async def _look_up(self, key: tuple[str, int]) -> list[str]:
        try:
            addresses = await self._resolve(*key)
        finally:
            del self._asking[key]
        self._kept.pop(key, None)
        while len(self._kept) >= KEPT_NAMES:
            del self._kept[next(iter(self._kept))]
        self._kept[key] = (self._clock() + self._seconds, addresses)
        return addresses


def resolve_blocking(host: str, port: int) -> list[str]:
    """`resolve`, for code that runs in a worker thread (SMTP, FTP)."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    return _each_once(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))


def check(host: str, addresses: list[str], allow_private: bool, not_allowed: str) -> None:
    """Raise AddressRefused when any address `host` resolved to may not be called;
    `not_allowed` says who did not allow a private one (server/domain/addresses.py)."""
    for address in addresses:
        why = refusal(address, allow_private, not_allowed)
        if why is not None:
            raise AddressRefused(why if host == address else f"{host}: {why}")


def _each_once(infos: list[tuple[Any, ...]]) -> list[str]:
    """The addresses of `getaddrinfo`'s answer, in its order, each once."""
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


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


Connected = TypeVar("Connected")


def connect_first(addresses: list[str], connect: Callable[[str], Connected]) -> Connected:
    """`connect` to the first of `addresses` (checked ones) that takes the connection, for a
    blocking client (SMTP, FTP); the last failure is raised when none does."""
    error: OSError = OSError("the host resolves to no address")
    for address in addresses:
        try:
            return connect(address)
        except OSError as exc:
            error = exc
    raise error
