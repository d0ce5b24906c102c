"""The HTTP transport: sends rendered deliveries to buyers over pooled, kept-alive HTTP/1.1
connections (`http_wire`).

Unless the server allows deliveries to private addresses, each request's host (a redirect's
too) is resolved and every address checked first (server/adapters/addresses.py), and the
request goes to one of those very addresses: a buyer's address is set by the account's admin,
who must not reach the server's own network through it."""

from __future__ import annotations

import asyncio
import base64
import functools
import re
import ssl
import time
from types import TracebackType
from typing import NamedTuple
from urllib.parse import quote, unquote, urljoin, urlsplit

from server.adapters.addresses import AddressRefused, Resolutions, Resolve, check
from server.adapters.delivery.http_wire import (
    Answer,
    CannotConnect,
    HttpTransportError,
    Origin,
    Pool,
    describe,
)
from server.domain.addresses import SERVER_DELIVERIES
from server.domain.delivery.spec import FORBIDDEN_HEADERS, HttpRequest, TransportResult

MAX_BODY_BYTES = 256 * 1024
MAX_REDIRECTS = 5

_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Headers that must not follow a redirect to another origin
_CREDENTIALS = frozenset({"authorization", "cookie", "proxy-authorization"})
# Characters that may not appear in a request target as they stand
_UNSAFE = re.compile(r"[\x00-\x20\x7f\"<>\\^`{|}]")
# What is percent-encoded in a target that holds any of them: those characters, anything
# beyond ASCII, and a % that starts no escape
_UNCARRIED = re.compile(rf"{_UNSAFE.pattern}|[^\x00-\x7f]+|%(?![0-9A-Fa-f]{{2}})")
_CHARSET = re.compile(rb";\s*charset\s*=\s*\"?([^\s\";]+)", re.IGNORECASE)


class TooManyRedirects(HttpTransportError):
    """A GET redirected more than `MAX_REDIRECTS` times."""


class InvalidUrlClientError(HttpTransportError):
    """An address with no usable host."""


class NonHttpUrlClientError(InvalidUrlClientError):
    """An address that is not http:// or https://."""


class HttpTransport:
    """Sends HTTP deliveries over a pool of kept-alive connections.

    Construct it once and `aclose()` it at shutdown, or use it as an async context manager; it
    may be built outside the event loop. A request goes out with its own headers only, plus
    the Host and Content-Length HTTP needs. Redirects are followed only when the request asks
    (GET). `allow_private`: requests may go to private, loopback and link-local addresses
    (the server's setting), and go to their host as the system resolves it; otherwise each
    is sent to an address its host resolved to (`Resolutions`) and that was checked.
    `resolve` is for tests: a resolver used as it is."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        max_connections: int = 1024,
        keepalive_expiry: float = 30.0,
        verify: bool | ssl.SSLContext = True,
        resolve: Resolve | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolve = resolve or Resolutions()
        self._pool = Pool(
            limit=max_connections,
            expiry=keepalive_expiry,
            verify=verify,
            body_limit=MAX_BODY_BYTES,
        )

    async def send(self, request: HttpRequest) -> TransportResult:
        """Send `request`; a transport failure is reported in the result, never raised."""
        started = time.perf_counter()
        timeout = request.timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                status, body = await self._exchange(request)
        except TimeoutError:
            return _failed(started, f"timed out after {timeout:g}s")
        except AddressRefused as exc:
            return _failed(started, f"address refused: {exc}", refused=True)
        except CannotConnect as exc:
            return _failed(started, f"could not connect: {exc}")
        except (HttpTransportError, OSError, ValueError) as exc:
            # ValueError: an address or a header that cannot be sent
            return _failed(started, describe(exc))
        return TransportResult(status=status, body=body, elapsed_ms=_since(started))

    async def _exchange(self, request: HttpRequest) -> tuple[int, str]:
        method, url, body = request.method.upper(), request.url, request.body
        headers = request.headers
        destination, target = split_url(url)
        redirects = 0
        while True:
            head = request_head(method, target, destination, headers, body)
            answer = await self._exchange_at(destination.origin, head + body)
            location = answer.headers.get(b"location")
            if not (request.follow_redirects and answer.status in _REDIRECTS and location):
                return answer.status, _text(answer)
            if redirects == MAX_REDIRECTS:
                raise TooManyRedirects(f"more than {MAX_REDIRECTS} redirects")
            redirects += 1
            url = urljoin(url, location.decode(errors="surrogateescape"))
            origin = destination.origin
            destination, target = split_url(url)
            if destination.origin != origin:
                headers = tuple((n, v) for n, v in headers if n.lower() not in _CREDENTIALS)
            if answer.status == 303 or (answer.status in (301, 302) and method == "POST"):
                method, body = "GET", b""

    async def _exchange_at(self, origin: Origin, request: bytes) -> Answer:
        """The answer from `origin`: from its host as resolved when private addresses are
        allowed, else from an address of its host's that was checked."""
        if self._allow_private:
            return await self._pool.exchange(origin, request)
        try:
            addresses = await self._resolve(origin.host, origin.port)
        except OSError as exc:
            raise CannotConnect(f"could not resolve {origin.host}: {describe(exc)}") from exc
        check(origin.host, addresses, False, SERVER_DELIVERIES)
        connection = await self._pool.acquire_first(origin, addresses)
        return await self._pool.exchange_on(connection, request)

    async def aclose(self) -> None:
        """Close every connection; a send after this raises RuntimeError."""
        await self._pool.aclose()

    async def __aenter__(self) -> HttpTransport:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


class Destination(NamedTuple):
    """Where a request goes (the callbacks' client reads addresses this way too)."""

    origin: Origin
    host: str  # the Host header: the port only when not the scheme's own
    authorization: str  # Basic credentials from the address, or ""


def split_url(url: str) -> tuple[Destination, str]:
    """Where `url` goes, and its request target: the path and query as given, escapes
    untouched (a buyer may sign its query string); only a part with spaces or other
    characters HTTP cannot carry is percent-encoded. The fragment stays behind."""
    base, _, query = url.partition("#")[0].partition("?")
    destination, path = _locate(base)
    if not query:
        return destination, path
    return destination, f"{path}?{_carried(query)}"


@functools.lru_cache(maxsize=1024)
def _locate(base: str) -> tuple[Destination, str]:
    """The destination and path of an address without its query, the same for every lead sent
    to a buyer. The errors never quote the address: its query may hold credentials that only
    the logged copy masks."""
    parts = urlsplit(base)
    scheme = parts.scheme
    if scheme not in _DEFAULT_PORTS:
        raise NonHttpUrlClientError("not an http or https address")
    host = parts.hostname
    if not host:
        raise InvalidUrlClientError("not a usable address")
    try:
        port = parts.port
    except ValueError:  # urllib's own message quotes a port that is not a number
        raise ValueError("Port out of range 0-65535") from None
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidUrlClientError("not a usable address") from None
    default = _DEFAULT_PORTS[scheme]
    header = f"[{host}]" if ":" in host else host
    if port is None:
        port = default
    elif port != default:
        header = f"{header}:{port}"
    authorization = ""
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = f"Basic {base64.b64encode(credentials.encode()).decode('ascii')}"
    destination = Destination(Origin(scheme, host, port), header, authorization)
    return destination, _carried(parts.path or "/")


def _carried(text: str) -> str:
    """`text` as given, or percent-encoded if it holds what HTTP cannot carry."""
    if text.isascii() and _UNSAFE.search(text) is None:
        return text
    # surrogateescape gives back the bytes of a Location that was not UTF-8
    return _UNCARRIED.sub(lambda m: quote(m[0], safe="", errors="surrogateescape"), text)


def request_head(
    method: str,
    target: str,
    destination: Destination,
    headers: tuple[tuple[str, str], ...],
    body: bytes,
) -> bytes:
    """The request line and headers: Host, the request's own in order, credentials the address
    holds, and the Content-Length of the body."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {destination.host}"]
    for name, value in headers:
        if name.lower() in FORBIDDEN_HEADERS:
            raise ValueError(f"{name} is set by the transport")
        lines.append(f"{name}: {value}")
    if destination.authorization:
        if any(name.lower() == "authorization" for name, _ in headers):
            raise ValueError("both an Authorization header and credentials in the address")
        lines.append(f"Authorization: {destination.authorization}")
    if body or method != "GET":  # a POST says it has no body, as HTTP/1.1 asks
        lines.append(f"Content-Length: {len(body)}")
    head = "\r\n".join(lines)
    # A CR, LF or NUL of a header's own would end it early and start another, unasked for.
    breaks = len(lines) - 1
    if head.count("\n") != breaks or head.count("\r") != breaks or "\0" in head:
        raise ValueError("a header holds a line break or NUL")
    return f"{head}\r\n\r\n".encode()


def _text(answer: Answer) -> str:
    """The body in its charset: utf-8 when it names none, or one Python does not know."""
    match = _CHARSET.search(answer.headers.get(b"content-type", b""))
    charset = match[1].decode("latin-1") if match else "utf-8"
    try:
        return answer.body.decode(charset, errors="replace")
    except (LookupError, ValueError):
        return answer.body.decode("utf-8", errors="replace")


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _failed(started: float, error: str, *, refused: bool = False) -> TransportResult:
    elapsed = _since(started)
    return TransportResult(status=None, body="", elapsed_ms=elapsed, error=error, refused=refused)
