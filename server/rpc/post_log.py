"""leadrouter.v1.PostLogService: translates messages and calls the post log's reads."""

from __future__ import annotations

from typing import Any, TypeAlias

from leadrouter.v1 import post_log_pb2, post_log_pb2_grpc

from server.domain.intake.records import LoggedPost, PostLogQuery
from server.errors import InvalidArgument, Violation
from server.rpc.convert import decimal_text, moment, stamp, step_messages
from server.rpc.interceptor import caller
from server.services.intake.post_log_reads import PostLogReads

Context: TypeAlias = Any  # grpc.aio.ServicerContext; grpc ships no type stubs

_VALID = {
    post_log_pb2.POST_OUTCOME_FILTER_ANY: None,
    post_log_pb2.POST_OUTCOME_FILTER_ACCEPTED: True,
    post_log_pb2.POST_OUTCOME_FILTER_REFUSED: False,
}


def entry_message(found: LoggedPost) -> post_log_pb2.PostLogEntry:
    message = post_log_pb2.PostLogEntry(
        post_id=found.post_id,
        source_id=found.source_id,
        campaign_id=found.campaign_id,
        lead_type_id=found.lead_type_id,
        remote_ip=found.remote_ip,
        request_format=found.request_format,
        lead_index=found.lead_index,
        request_post_id=found.request_post_id,
        request=found.request,
        request_truncated=found.request_truncated,
        is_valid=found.is_valid,
        response_type=found.response_type,  # type: ignore[arg-type]
        response=found.details,
        lead_id=found.lead_id,
        price=decimal_text(found.price),
        ping=found.ping,
        steps=step_messages(found.steps),
    )
    stamp(message.received_at, found.received_at)
    stamp(message.request_removed_at, found.request_removed_at)
    return message


class PostLogServicer(post_log_pb2_grpc.PostLogServiceServicer):
    """The post log of the caller's account."""

    def __init__(self, reads: PostLogReads) -> None:
        self._reads = reads

    async def ListPosts(
        self, request: post_log_pb2.ListPostsRequest, context: Context
    ) -> post_log_pb2.ListPostsResponse:
        if request.outcome not in _VALID:
            raise InvalidArgument([Violation("outcome", f"unknown value {request.outcome}")])
        query = PostLogQuery(
            source_id=request.source_id,
            campaign_id=request.campaign_id,
            valid=_VALID[request.outcome],
            received_after=moment(request, "received_after"),
            received_before=moment(request, "received_before"),
            limit=request.page_size,
        )
        found, token = await self._reads.list(caller().account_id, query, request.page_token)
        return post_log_pb2.ListPostsResponse(
            posts=[entry_message(f) for f in found], next_page_token=token
        )

    async def GetPost(
        self, request: post_log_pb2.GetPostRequest, context: Context
    ) -> post_log_pb2.PostLogEntry:
        return entry_message(await self._reads.get(caller().account_id, request.post_id))
