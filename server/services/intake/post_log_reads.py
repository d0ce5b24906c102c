"""Reading the post log (ListPosts, GetPost): an account's entries newest first, a page at a
time, and one entry whole, with the request as it came (its password removed)."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from server.domain.intake.records import LoggedPost, PostLogQuery
from server.errors import InvalidArgument, NotFound, Violation
from server.storage import post_log as store
from server.storage.database import Pool, statements

DEFAULT_PAGE, MAX_PAGE = 100, 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def page_token(last: LoggedPost) -> str:
    """The position after `last`, as the next page's token: opaque to the caller."""
    micros = (last.received_at - _EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"{micros}/{last.post_id}".encode()).decode()


def _position(token: str) -> tuple[datetime, str]:
    """A page token's position; InvalidArgument for one ListPosts did not give."""
    try:
        micros, post_id = base64.urlsafe_b64decode(token.encode()).decode().split("/")
        return _EPOCH + timedelta(microseconds=int(micros)), str(uuid.UUID(post_id))
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        raise InvalidArgument([Violation("page_token", "not a token ListPosts gave")]) from None


class PostLogReads:
    """The reads of the post log of one database."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def list(
        self, account_id: int, query: PostLogQuery, token: str = ""
    ) -> tuple[list[LoggedPost], str]:
        """The account's entries `query` selects, newest first, from the page `token` names
        (empty: the first), without their bodies; and the next page's token ("" at the end).
        `query.limit` 0 is DEFAULT_PAGE."""
        if not 0 <= query.limit <= MAX_PAGE:
            raise InvalidArgument([Violation("page_size", f"must be from 0 to {MAX_PAGE}")])
        after, before = query.received_after, query.received_before
        if after is not None and before is not None and before <= after:
            detail = "must be after received_after"
            raise InvalidArgument([Violation("received_before", detail)])
        query = replace(query, limit=query.limit or DEFAULT_PAGE)
        if token:
            at, post_id = _position(token)
            query = replace(query, before_at=at, before_id=post_id)
        async with statements(self._pool) as conn:
            found = await store.list_posts(conn, account_id, replace(query, limit=query.limit + 1))
        more = len(found) > query.limit
        found = found[: query.limit]
        return found, page_token(found[-1]) if more else ""

    async def get(self, account_id: int, post_id: str) -> LoggedPost:
        """One entry of the account, by its PostID (a ping's RequestID), with the body of
        the entry that keeps its request."""
        try:
            parsed = uuid.UUID(post_id)
        except ValueError:
            raise InvalidArgument([Violation("post_id", "not a PostID")]) from None
        async with statements(self._pool) as conn:
            found = await store.get_post(conn, account_id, parsed)
        if found is None:
            raise NotFound(f"no post {post_id!r}")
        return found
