"""The one place gRPC calls are authenticated and domain errors become status codes.

Every unary method except the public ones (health checking, reflection, the lead service,
a page's RecordVisit) needs `authorization: Bearer KEY` with a live admin key of an account;
the account is then available to the servicer through `caller()`. Public methods get the
same error mapping. Errors: each LeadRouterError class maps to exactly one status code; an
InvalidArgument also carries a google.rpc.BadRequest with every violation. Anything else is
logged with a reference and reaches the caller as INTERNAL with that reference only.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2

from server.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    LeadRouterError,
    NotFound,
    PermissionDenied,
    StorageUnavailable,
    TooManyAttempts,
    Unauthenticated,
)
from server.services.accounts import Caller

log = logging.getLogger(__name__)

STATUS_CODES: dict[type[LeadRouterError], grpc.StatusCode] = {
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    StorageUnavailable: grpc.StatusCode.UNAVAILABLE,
    TooManyAttempts: grpc.StatusCode.RESOURCE_EXHAUSTED,
}
# Health and reflection are public; the lead service authenticates each lead source inside the
# request (vid, password, source API key), as the legacy receiver does; a page's visit names
# its tracking setting, public like the pixel that sends it.
PUBLIC_METHOD_PREFIXES = (
    "/grpc.health.v1.",
    "/grpc.reflection.",
    "/leadrouter.v1.LeadService/",
    "/leadrouter.v1.VisitService/RecordVisit",
)

_caller: ContextVar[Caller] = ContextVar("caller")

Authenticate = Callable[[str], Awaitable[Caller]]


def caller() -> Caller:
    """The authenticated caller of the current gRPC call."""
    return _caller.get()


def status_code(error: LeadRouterError) -> grpc.StatusCode:
    for kind in type(error).__mro__:
        if kind in STATUS_CODES:
            return STATUS_CODES[kind]
    return grpc.StatusCode.UNKNOWN


def bearer_token(metadata: Any) -> str:
    for key, value in metadata or ():
        if key == "authorization":
            scheme, _, token = str(value).partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            raise Unauthenticated("authorization must be 'Bearer <API key>'")
    raise Unauthenticated("missing authorization metadata: send 'authorization: Bearer <API key>'")


def _trailers(error: LeadRouterError, code: grpc.StatusCode) -> tuple[tuple[str, bytes], ...]:
    """google.rpc.Status details for errors whose caller needs more than a message."""
    if not isinstance(error, InvalidArgument):
        return ()
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.path, description=v.reason)
            for v in error.violations
        ]
    )
    status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=error.message)
    status.details.add().Pack(bad_request)
    return (("grpc-status-details-bin", status.SerializeToString()),)


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, authenticate: Authenticate) -> None:
        self._authenticate = authenticate

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or handler.unary_unary is None:
            return handler
        behavior = handler.unary_unary
        public = method.startswith(PUBLIC_METHOD_PREFIXES)

        async def guarded(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            failure: tuple[grpc.StatusCode, str, tuple[tuple[str, bytes], ...]]
            try:
                if public:
                    return await behavior(request, context)
                token = bearer_token(context.invocation_metadata())
                who = await self._authenticate(token)
                if who.source_id is not None:
                    raise PermissionDenied(
                        "a lead source key cannot call this API; use an admin key"
                    )
                reset = _caller.set(who)
                try:
                    return await behavior(request, context)
                finally:
                    _caller.reset(reset)
            except LeadRouterError as error:
                code = status_code(error)
                failure = (code, error.message, _trailers(error, code))
            except Exception:
                reference = uuid.uuid4().hex[:12]
                log.exception("unexpected error in %s (ref %s)", method, reference)
                failure = (grpc.StatusCode.INTERNAL, f"internal error (ref {reference})", ())
            await context.abort(failure[0], failure[1], trailing_metadata=failure[2])

        return grpc.unary_unary_rpc_method_handler(
            guarded,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
