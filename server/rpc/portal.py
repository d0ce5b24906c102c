"""leadrouter.v1.PortalService: translates messages and calls the use case, nothing more."""

from __future__ import annotations

from typing import Any, TypeAlias

from leadrouter.v1 import buyers_pb2, portal_pb2, portal_pb2_grpc

from server.rpc import convert
from server.rpc.interceptor import caller
from server.services.portal import Portal

Context: TypeAlias = Any  # grpc.aio.ServicerContext; grpc ships no type stubs


class PortalServicer(portal_pb2_grpc.PortalServiceServicer):
    """Portal user names and the buyer's sign-in."""

    def __init__(self, portal: Portal) -> None:
        self._portal = portal

    async def SignInClient(
        self, request: portal_pb2.SignInClientRequest, context: Context
    ) -> buyers_pb2.Client:
        found = await self._portal.sign_in(caller().account_id, request.username, request.password)
        message = convert.client_message(found, caller().account_id)
        for part in ("deliveries", "accounts", "orders"):
            message.ClearField(part)
        return message

    async def IsClientUsernameFree(
        self, request: portal_pb2.IsClientUsernameFreeRequest, context: Context
    ) -> portal_pb2.UsernameFree:
        free = await self._portal.client_username_free(caller().account_id, request.username)
        return portal_pb2.UsernameFree(free=free)

    async def IsSourceUsernameFree(
        self, request: portal_pb2.IsSourceUsernameFreeRequest, context: Context
    ) -> portal_pb2.UsernameFree:
        free = await self._portal.source_username_free(
            caller().account_id, request.username, request.source_id
        )
        return portal_pb2.UsernameFree(free=free)
