"""Sends made by hand: a lead sent to a chosen delivery account now (ProcessClientDelivery),
a finished send repeated (ResendLead), and a send made outside leadrouter recorded
(LogClientSend). Each counts against the account's caps and order like any sale."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from server.domain.matching.eligibility import DeliveryAccountView, standing
from server.domain.sales.operations import (
    MAX_TEXT,
    consent_refusal,
    delivery_refusal,
    holder_refusal,
    limited_text,
    optional_id,
    required_ids,
)
from server.domain.sales.sends import Send, SendStatus
from server.errors import FailedPrecondition, InvalidArgument, NotFound, Violation
from server.services.distribution.engine import Distributor
from server.services.distribution.orders import take_named_order
from server.services.operations._locks import client, lock_lead
from server.storage import buyers as buyer_store
from server.storage import jobs as job_store
from server.storage import leads as lead_store
from server.storage import orders as order_store
from server.storage import sends as send_store
from server.storage.database import Connection, Pool, transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ManualSend:
    """ProcessClientDelivery's request."""

    lead_id: int
    client_id: int
    delivery_account_id: int
    order_id: int = 0
    notes: str = ""


@dataclass(frozen=True)
class LoggedSend:
    """LogClientSend's request: a send made outside leadrouter."""

    lead_id: int
    client_id: int
    delivery_account_id: int
    delivery_id: int = 0
    request: str = ""
    response: str = ""
    order_id: int = 0
    order_item_id: int = 0
    valid: bool = True


class ManualSends:
    """Manual sends of one database, delivered through this process's engine."""

    def __init__(self, pool: Pool, engine: Distributor) -> None:
        self._pool = pool
        self._engine = engine

    async def process_client_delivery(self, account_id: int, send: ManualSend) -> Send:
        """Send the lead to the chosen delivery account now, as a manual send, and return the
        send once the buyer answered (or its retry was scheduled)."""
        required_ids(
            lead_id=send.lead_id,
            client_id=send.client_id,
            account_id=send.delivery_account_id,
        )
        optional_id("order_id", send.order_id)
        notes = limited_text(send.notes, "notes")
        async with transaction(self._pool) as conn:
            send_id = await self._reserve(
                conn,
                account_id,
                send.lead_id,
                send.client_id,
                send.delivery_account_id,
                order_id=send.order_id,
                notes=notes,
            )
        return await self._deliver(account_id, send_id)

    async def resend(self, account_id: int, send_id: int) -> Send:
        """Deliver a finished send's lead to the same delivery account again, as a new manual
        send counting against the same order when it had one."""
        required_ids(send_id=send_id)
        async with transaction(self._pool) as conn:
            original = await send_store.to_repeat(conn, account_id, send_id)
            if original is None:
                raise NotFound(f"no send {send_id}")
            if original.status.outstanding:
                raise FailedPrecondition(
                    f"send {send_id} is still {original.status.word}; it cannot be resent "
                    "before it is finished"
                )
            new_id = await self._reserve(
                conn,
                account_id,
                original.lead_id,
                original.client_id,
                original.delivery_account_id,
                order_id=original.order_id or 0,
                notes=f"resend of send {send_id}",
                resend_of=send_id,
            )
        return await self._deliver(account_id, new_id)

    async def log_client_send(self, account_id: int, sent: LoggedSend) -> Send:
        """Record a send made outside leadrouter, sold unless `valid` is false; nothing is
        delivered. It counts against the account's caps (and order) like any sale."""
        required_ids(
            lead_id=sent.lead_id, client_id=sent.client_id, account_id=sent.delivery_account_id
        )
        optional_id("delivery_id", sent.delivery_id)
        optional_id("order_id", sent.order_id)
        optional_id("order_item_id", sent.order_item_id)
        request = limited_text(sent.request, "post_string", MAX_TEXT, strip=False)
        response = limited_text(sent.response, "response", MAX_TEXT, strip=False)
        async with transaction(self._pool) as conn:
            lead = await lock_lead(conn, account_id, sent.lead_id)
            await job_store.lock_for_operation(conn, account_id, sent.lead_id)
            buyer = await client(conn, account_id, sent.client_id)
            view, _ = await self._view(
                conn, account_id, lead, sent.client_id, sent.delivery_account_id, "account_id"
            )
            if sent.delivery_id and sent.delivery_id != view.delivery_id:
                raise InvalidArgument(
                    [
                        Violation(
                            "delivery_id",
                            f"delivery account {view.id} uses delivery {view.delivery_id}, "
                            f"not {sent.delivery_id}",
                        )
                    ]
                )
            if sent.valid:
                await _refuse_holder(conn, account_id, sent.lead_id, buyer, view)
            await buyer_store.lock_for_send(conn, account_id, view.id)
            order_id, item_id = await _logged_order(conn, account_id, sent, view)
            status = SendStatus.SOLD if sent.valid else SendStatus.REJECTED
            send_id = await send_store.insert_logged(
                conn,
                account_id,
                send_store.LoggedSend(
                    lead_id=sent.lead_id,
                    client_id=view.client_id,
                    delivery_account_id=view.id,
                    delivery_id=view.delivery_id,
                    status=status,
                    price=view.price,
                    request=request,
                    response=response,
                    reason="logged: sent outside leadrouter",
                    order_id=order_id,
                    order_item_id=item_id,
                ),
            )
            await send_store.add_scan_log(
                conn,
                account_id,
                sent.lead_id,
                f"Send {send_id} to {view.label}: logged as {status.word} at "
                f"{view.price} (sent outside leadrouter)",
            )
            await job_store.wake(conn, account_id, sent.lead_id)
        self._engine.wake()
        return await self.send(account_id, send_id)

    async def send(self, account_id: int, send_id: int) -> Send:
        """One send as ListSends shows it."""
        async with transaction(self._pool) as conn:
            found = await send_store.get_send(conn, account_id, send_id)
        if found is None:
            raise NotFound(f"no send {send_id}")
        return found

    async def _reserve(
        self,
        conn: Connection,
        account_id: int,
        lead_id: int,
        client_id: int,
        delivery_account_id: int,
        *,
        order_id: int,
        notes: str,
        resend_of: int | None = None,
    ) -> int:
        """Reserve a manual send in flight, under the waterfall's locks; its id."""
        lead = await lock_lead(conn, account_id, lead_id)
        held_back = delivery_refusal(
            lead_id, pending_qc=lead.pending_qc, qc_rejected=lead.qc_rejected
        )
        if held_back:
            raise FailedPrecondition(held_back)
        await job_store.lock_for_operation(conn, account_id, lead_id)
        buyer = await client(conn, account_id, client_id)
        view, uses_order = await self._view(
            conn, account_id, lead, client_id, delivery_account_id, "account_id"
        )
        why = standing(view, automated_only=False)
        if why:
            raise FailedPrecondition(f"{view.label} cannot be sent leads: {why}")
        no_consent = consent_refusal(lead_id, lead.consented, view.id, view.label)
        if no_consent:
            raise FailedPrecondition(no_consent)
        await _refuse_holder(conn, account_id, lead_id, buyer, view)
        await buyer_store.lock_for_send(conn, account_id, view.id)
        if order_id:
            await _order_of(conn, account_id, order_id, buyer.id, buyer.name)
        pick, note = await take_named_order(
            conn, account_id, view, lead.now, order_id=order_id, uses_order=uses_order
        )
        if pick is None and note:
            raise FailedPrecondition(note)
        send_id = await send_store.insert_manual(
            conn,
            account_id,
            send_store.ManualSend(
                lead_id=lead_id,
                client_id=view.client_id,
                delivery_account_id=view.id,
                delivery_id=view.delivery_id,
                price=view.price,
                lease_seconds=self._engine.steps.send_lease_seconds(view),
                order_id=pick.order_id if pick else None,
                order_item_id=pick.item_id if pick else None,
                notes=notes,
                resend_of=resend_of,
            ),
        )
        lines = [
            f"Send {send_id} to {view.label}: manual delivery"
            + (f", resending send {resend_of}" if resend_of else "")
            + (f", order {pick.order_id} item {pick.item_id}" if pick else "")
            + (f" ({notes})" if notes and not resend_of else "")
        ]
        if pick and note:
            lines.append(note)
        await send_store.add_scan_log(conn, account_id, lead_id, "\n".join(lines))
        log.info("lead %s: manual send %s to %s reserved", lead_id, send_id, view.label)
        return send_id

    async def _deliver(self, account_id: int, send_id: int) -> Send:
        await self._engine.deliver_send(account_id, send_id)
        return await self.send(account_id, send_id)

    async def _view(
        self,
        conn: Connection,
        account_id: int,
        lead: lead_store.LockedLead,
        client_id: int,
        delivery_account_id: int,
        path: str,
    ) -> tuple[DeliveryAccountView, bool]:
        """The delivery account as the engine sees it, which must be the buyer's and deliver
        the lead's type, and whether it takes leads only against orders."""
        owner = await buyer_store.delivery_account_owner(conn, account_id, delivery_account_id)
        if owner is None:
            raise NotFound(f"no delivery account {delivery_account_id}")
        if owner.client_id != client_id:
            raise InvalidArgument(
                [
                    Violation(
                        path,
                        f"delivery account {delivery_account_id} belongs to client "
                        f"{owner.client_id}, not {client_id}",
                    )
                ]
            )
        if owner.lead_type_id != lead.lead_type_id:
            raise FailedPrecondition(
                f"delivery account {delivery_account_id} delivers lead type "
                f"{owner.lead_type_id}; lead {lead.id} is of lead type "
                f"{lead.lead_type_id}"
            )
        found = await self._engine.views.delivery_account_view(
            conn, account_id, lead.lead_type_id, delivery_account_id
        )
        if found is None:
            raise NotFound(f"no delivery account {delivery_account_id}")
        return found


async def _refuse_holder(
    conn: Connection,
    account_id: int,
    lead_id: int,
    buyer: buyer_store.BuyerForSend,
    view: DeliveryAccountView,
) -> None:
    held = await send_store.held(conn, account_id, lead_id)
    why = holder_refusal(
        held,
        view.client_id,
        view.id,
        use_tiers=buyer.use_delivery_tiers,
        buyer=buyer.name,
        lead_id=lead_id,
    )
    if why:
        raise FailedPrecondition(why)


async def _order_of(
    conn: Connection, account_id: int, order_id: int, client_id: int, client_name: str
) -> list[order_store.ItemOfOrder]:
    """An order's items; NotFound unless it is an order of this buyer."""
    items = await order_store.items_of_order(conn, account_id, order_id)
    if not items or items[0].client_id != client_id:
        raise NotFound(f"{client_name} has no order {order_id}")
    return items


async def _logged_order(
    conn: Connection, account_id: int, sent: LoggedSend, view: DeliveryAccountView
) -> tuple[int | None, int | None]:
    """The order and item a logged send counts against, as given: the item must belong to
    the order and the buyer and serve the account; an order alone takes its first item for
    the account. No status or quantity check: the send was made."""
    if sent.order_item_id:
        item = await order_store.item(conn, account_id, sent.order_item_id)
        if item is None or item.client_id != view.client_id:
            raise NotFound(f"{view.client_name} has no order item {sent.order_item_id}")
        if sent.order_id and item.order_id != sent.order_id:
            raise InvalidArgument(
                [
                    Violation(
                        "order_item_id",
                        f"item {sent.order_item_id} is of order {item.order_id}, "
                        f"not {sent.order_id}",
                    )
                ]
            )
        if item.delivery_account_id not in (None, view.id):
            raise InvalidArgument(
                [
                    Violation(
                        "order_item_id",
                        f"item {sent.order_item_id} is for delivery account "
                        f"{item.delivery_account_id}, not {view.id}",
                    )
                ]
            )
        return item.order_id, item.item_id
    if not sent.order_id:
        return None, None
    items = await _order_of(conn, account_id, sent.order_id, view.client_id, view.client_name)
    for found in items:
        if found.item_id is not None and found.delivery_account_id in (None, view.id):
            return sent.order_id, found.item_id
    raise FailedPrecondition(
        f"order {sent.order_id} has no item for delivery account {view.id}; name its item"
    )
