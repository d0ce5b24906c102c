"""The one place a failed gRPC call becomes a SOAP Fault.

The caller's mistakes (a bad Key, invalid arguments, an id the account does not have) are
`Client` faults; everything else is a `Server` fault. Spyne writes them as soap:Client and
soap:Server on SOAP 1.1 and as soap:Sender and soap:Receiver on SOAP 1.2. The HTTP GET and
POST forms answer the same message with the HTTP status of `http_status`.
"""

from __future__ import annotations

import logging
import uuid

import grpc
from spyne import Fault

log = logging.getLogger(__name__)

# code -> (fault code, HTTP status of the GET/POST forms)
_FAULTS: dict[grpc.StatusCode, tuple[str, int]] = {
    grpc.StatusCode.INVALID_ARGUMENT: ("Client", 400),
    grpc.StatusCode.OUT_OF_RANGE: ("Client", 400),
    grpc.StatusCode.FAILED_PRECONDITION: ("Client", 409),
    grpc.StatusCode.ALREADY_EXISTS: ("Client", 409),
    grpc.StatusCode.NOT_FOUND: ("Client", 404),
    grpc.StatusCode.UNAUTHENTICATED: ("Client", 401),
    grpc.StatusCode.PERMISSION_DENIED: ("Client", 403),
    grpc.StatusCode.RESOURCE_EXHAUSTED: ("Client", 429),
    grpc.StatusCode.UNAVAILABLE: ("Server", 503),
    grpc.StatusCode.DEADLINE_EXCEEDED: ("Server", 503),
}
# Unknown and internal errors: the message is generic, the reference is in the log.
_GENERIC = ("Server", 500)


class GatewayFault(Fault):  # type: ignore[misc]  # spyne ships no types
    """A SOAP Fault with the HTTP status the GET and POST forms answer it with."""

    def __init__(self, code: str, message: str, http_status: int) -> None:
        super().__init__(faultcode=code, faultstring=message)
        self.http_status = http_status


def client_fault(message: str) -> GatewayFault:
    """The caller sent something this gateway cannot read (before any gRPC call)."""
    return GatewayFault("Client", message, 400)


def from_rpc_error(error: grpc.RpcError, method: str) -> GatewayFault:
    code: grpc.StatusCode = error.code()
    known = _FAULTS.get(code)
    if known is not None:
        return GatewayFault(known[0], str(error.details() or code.name), known[1])
    if code == grpc.StatusCode.INTERNAL:  # already generic, its reference in the server's log
        return GatewayFault(_GENERIC[0], str(error.details()), _GENERIC[1])
    return unexpected(method, f"gRPC {code.name}: {error.details()}")


def unexpected(method: str, what: str) -> GatewayFault:
    reference = uuid.uuid4().hex[:12]
    log.error("service.asmx %s failed (reference %s): %s", method, reference, what)
    return GatewayFault(_GENERIC[0], f"internal error (ref {reference})", _GENERIC[1])
