"""gRPC calls to this process's own services without the network: the in-process transport
that grpc-java and grpc-go have and grpc Python lacks.

The receiver gateway, served in the same process as the gRPC server, calls the lead service
through a stub on an `InProcessChannel` rather than through a loopback HTTP/2 connection:
the same servicers (registered on `InProcessServer` as on the real server), the same
interceptors (authentication, and errors become status codes), and messages that still
cross as bytes (serialised by the caller, parsed by the service, and back), so neither side
can see the other's objects. A failed call raises `grpc.aio.AioRpcError` with the code,
details and trailing metadata the network transport gives. What it saves is the HTTP/2
framing and the gRPC core's completion queue thread (docs/decisions.md).

Only unary-unary methods are served (every method of leadrouter's services is one).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

# gRPC's default limit on a received message, on either side of a call.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024

Metadata = tuple[tuple[str, str | bytes], ...]


@dataclass(frozen=True)
class _CallDetails(grpc.HandlerCallDetails):
    method: str
    invocation_metadata: Metadata


class _Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str, trailers: Metadata) -> None:
        super().__init__(details)
        self.code, self.details, self.trailers = code, details, trailers


class _Context:
    """What a servicer sees of its call (the part of grpc.aio.ServicerContext a unary method
    uses)."""

    def __init__(self, metadata: Metadata, deadline: float | None) -> None:
        self._metadata = metadata
        self._deadline = deadline
        self._code = grpc.StatusCode.OK
        self._details = ""
        self._trailers: Metadata = ()

    def invocation_metadata(self) -> Metadata:
        return self._metadata

    def peer(self) -> str:
        return "in-process"

    def time_remaining(self) -> float | None:
        return None if self._deadline is None else max(0.0, self._deadline - time.monotonic())

    def set_code(self, code: grpc.StatusCode) -> None:
        self._code = code

    def set_details(self, details: str) -> None:
        self._details = details

    def set_trailing_metadata(self, trailing_metadata: Metadata) -> None:
        self._trailers = tuple(trailing_metadata)

    async def abort(
        self, code: grpc.StatusCode, details: str = "", trailing_metadata: Metadata = ()
    ) -> None:
        if code == grpc.StatusCode.OK:
            raise ValueError("abort() needs a status other than OK")
        raise _Aborted(code, details, tuple(trailing_metadata) or self._trailers)

    def failure(self) -> _Aborted | None:
        """A status other than OK the servicer set without aborting."""
        if self._code == grpc.StatusCode.OK:
            return None
        return _Aborted(self._code, self._details, self._trailers)


Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]]


class InProcessServer:
    """Services registered as on a grpc.aio server (the generated `add_*_to_server` functions
    take it), with that server's interceptors; `channel()` calls them."""

    def __init__(self, interceptors: Sequence[grpc.aio.ServerInterceptor] = ()) -> None:
        self._interceptors = tuple(interceptors)
        self._methods: dict[str, grpc.RpcMethodHandler] = {}
        self._generic: list[grpc.GenericRpcHandler] = []

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: Mapping[str, grpc.RpcMethodHandler]
    ) -> None:
        for name, handler in method_handlers.items():
            self._methods[f"/{service_name}/{name}"] = handler

    def add_generic_rpc_handlers(
        self, generic_rpc_handlers: Iterable[grpc.GenericRpcHandler]
    ) -> None:
        self._generic.extend(generic_rpc_handlers)

    def channel(self) -> InProcessChannel:
        return InProcessChannel(self)

    async def handler(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        """The method's handler as the interceptors wrap it, as the server finds it."""

        async def found(call: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
            handler = self._methods.get(call.method)
            for generic in self._generic if handler is None else ():
                handler = generic.service(call)
                if handler is not None:
                    break
            return handler

        continuation: Continuation = found
        for interceptor in reversed(self._interceptors):
            continuation = _chained(interceptor, continuation)
        return await continuation(details)


def _chained(interceptor: grpc.aio.ServerInterceptor, after: Continuation) -> Continuation:
    async def intercepted(details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        return await interceptor.intercept_service(after, details)

    return intercepted


class InProcessChannel:
    """A channel to an InProcessServer; a generated stub takes it like a grpc.aio channel."""

    def __init__(self, server: InProcessServer) -> None:
        self._server = server

    def unary_unary(
        self,
        method: str,
        request_serializer: Callable[[Any], bytes] | None = None,
        response_deserializer: Callable[[bytes], Any] | None = None,
        _registered_method: bool | None = False,
    ) -> _UnaryUnary:
        return _UnaryUnary(self._server, method, request_serializer, response_deserializer)

    async def close(self, grace: float | None = None) -> None:
        """Nothing to release: there is no connection."""

    async def __aenter__(self) -> InProcessChannel:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def _identity(message: Any) -> Any:
    return message


class _UnaryUnary:
    def __init__(
        self,
        server: InProcessServer,
        method: str,
        serialize: Callable[[Any], bytes] | None,
        deserialize: Callable[[bytes], Any] | None,
    ) -> None:
        self._server = server
        self._method = method
        self._serialize = serialize or _identity
        self._deserialize = deserialize or _identity

    async def __call__(
        self,
        request: Any,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (grpc's calling convention)
        metadata: Iterable[tuple[str, str | bytes]] | None = None,
        **_options: Any,
    ) -> Any:
        """The response, or grpc.aio.AioRpcError as the network transport raises it. A
        timeout cancels the servicer's work, as a deadline does."""
        try:
            async with asyncio.timeout(timeout):
                deadline = None if timeout is None else time.monotonic() + timeout
                return await self._call(request, tuple(metadata or ()), deadline)
        except _Aborted as failed:
            raise _rpc_error(failed.code, failed.details, failed.trailers) from None
        except TimeoutError:
            raise _rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded") from None

    async def _call(self, request: Any, metadata: Metadata, deadline: float | None) -> Any:
        sent = self._serialize(request)
        if len(sent) > MAX_MESSAGE_BYTES:
            raise _too_large("Sent", len(sent))
        handler = await self._server.handler(_CallDetails(self._method, metadata))
        if handler is None:
            raise _Aborted(grpc.StatusCode.UNIMPLEMENTED, "Method not found!", ())
        behavior = handler.unary_unary
        if behavior is None:
            raise _Aborted(grpc.StatusCode.UNIMPLEMENTED, "only unary-unary methods are served", ())
        parse = handler.request_deserializer or _identity
        context = _Context(metadata, deadline)
        try:
            response = await behavior(parse(sent), context)
        except _Aborted:
            raise
        except Exception as exc:  # what the gRPC server answers for an unhandled exception
            raise _Aborted(grpc.StatusCode.UNKNOWN, f"Unexpected {type(exc)}: {exc}", ()) from exc
        failure = context.failure()
        if failure is not None:
            raise failure
        answer = (handler.response_serializer or _identity)(response)
        if len(answer) > MAX_MESSAGE_BYTES:
            raise _too_large("Received", len(answer))
        return self._deserialize(answer)


def _too_large(direction: str, size: int) -> _Aborted:
    return _Aborted(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        f"{direction} message larger than max ({size} vs. {MAX_MESSAGE_BYTES})",
        (),
    )


def _rpc_error(
    code: grpc.StatusCode, details: str, trailers: Metadata = ()
) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(
        code,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(*trailers),
        details=details,
    )
