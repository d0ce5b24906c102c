"""Client groups (GetClientGroups, AddEditClientGroup): named groups of buyers with an order
to show them in. A buyer names its group; renaming a group renames it on its buyers, in the
same transaction."""

from __future__ import annotations

from server.domain.buyers.records import ClientGroup
from server.errors import InvalidArgument, NotFound, Violation
from server.services.buyers.edits import is_new
from server.storage import buyers as buyer_store
from server.storage.database import Pool, transaction

MAX_NAME = 200


class ClientGroups:
    """The client groups of one database."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def save(self, account_id: int, group: ClientGroup) -> ClientGroup:
        """Create the group (id 0 or -1) or change its name and order; returns it as stored."""
        name = group.name.strip()
        if not name:
            raise InvalidArgument([Violation("group.name", "is required")])
        if len(name) > MAX_NAME:
            raise InvalidArgument([Violation("group.name", f"is over {MAX_NAME} characters")])
        async with transaction(self._pool) as conn:
            old = None
            if not is_new(group.id):
                current = await buyer_store.lock_client_group(conn, account_id, group.id)
                if current is None:
                    raise NotFound(f"no client group {group.id}")
                old = current.name
            saved = ClientGroup(name, 0, group.id, group.display_order)
            group_id = await buyer_store.save_client_group(conn, account_id, saved, old)
            if old is not None and old != name:
                await buyer_store.bump_buyer_version(conn, account_id)
            found = await buyer_store.client_groups(conn, account_id)
        return next(g for g in found if g.id == group_id)
