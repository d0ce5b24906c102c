"""Whether a consumer reached a buyer's redirect (RedirectStatusNotify), stored on the send it
came from."""

from __future__ import annotations

from server.domain.sales.operations import limited_text, required_ids
from server.errors import InvalidArgument, NotFound, Violation
from server.storage import leads as lead_store
from server.storage import sends as send_store
from server.storage.database import Pool, transaction


class RedirectNotices:
    """Redirect notifications of one database."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def redirect_status(
        self, account_id: int, lead_id: int, url: str, valid: bool, response: str
    ) -> int:
        """Store whether the consumer reached a redirect on the lead's latest send that
        redirected there; that send's id."""
        required_ids(lead_id=lead_id)
        url = url.strip()
        if not url:
            raise InvalidArgument([Violation("redirect", "is required")])
        response = limited_text(response, "response")
        async with transaction(self._pool) as conn:
            if not await lead_store.exists(conn, account_id, lead_id):
                raise NotFound(f"no lead {lead_id}")
            send_id = await send_store.lock_redirected(conn, account_id, lead_id, url)
            if send_id is None:
                raise NotFound(f"no send of lead {lead_id} redirected to {url}")
            await send_store.notify_redirect(conn, account_id, send_id, valid, response)
            await send_store.add_scan_log(
                conn,
                account_id,
                lead_id,
                f"Send {send_id}: redirect to {url} "
                + ("completed" if valid else "not completed")
                + (f" ({response})" if response else ""),
            )
        return send_id
