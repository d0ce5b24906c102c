"""Manual operations on a lead's sends, one transaction each (docs/operations.md).

Sending a lead by hand to a chosen delivery account (ProcessClientDelivery, ResendLead),
recording a send made elsewhere (LogClientSend), confirming a sale and settling the source
(ConfirmSale), storing a redirect's outcome (RedirectStatusNotify), and the lookups that
prepare them (GetClientsForSend/Redirect/Transfer, GetAllCriteriaAccounts).

A manual send is reserved in one transaction, under the lead's lock, its distribution job's
lock and the delivery account's lock (the waterfall's locks, taken in the order an update of
the lead takes them), and delivered by the engine after it commits, as the waterfall's sends
are: a process that dies mid-delivery leaves a lease that runs out, and the worker delivers
the send again. The rules are in server/domain/sales/operations.py and
server/domain/sales/settlement.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from server.domain.buyers.specs import AccountType
from server.domain.catalog.specs import PricingModel
from server.domain.matching.eligibility import AccountView, standing
from server.domain.sales.operations import (
    MAX_TEXT,
    HeldSend,
    delivery_refusal,
    has_criterion,
    holder_refusal,
    limited_text,
    optional_id,
    required_ids,
)
from server.domain.sales.sends import SendStatus
from server.domain.sales.settlement import (
    BuyerSend,
    confirmable,
    sale_settlement,
)
from server.errors import FailedPrecondition, InvalidArgument, NotFound, Violation
from server.services.distribution import Distributor, Scan
from server.storage.database import Connection, Pool, transaction
from server.storage.queries import q

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


@dataclass(frozen=True)
class Confirmation:
    send_ids: list[int]
    pricing_model: PricingModel
    settlement: Decimal
    lead_price: Decimal
    confirmed_at: datetime


@dataclass(frozen=True)
class ClientsForSend:
    """GetClientsForSend: the lead's sends, then the accounts that would take it now."""

    sends: list[dict[str, Any]]
    scan: Scan
    contacts: dict[int, dict[str, Any]]


@dataclass(frozen=True)
class _Reserved:
    send_id: int
    label: str


class Operations:
    """The manual operations of one database, delivering through `distributor`."""

    def __init__(self, pool: Pool, distributor: Distributor) -> None:
        self._pool = pool
        self._distributor = distributor

    # -- lookups

    async def clients_for_send(self, account_id: int, lead_id: int) -> ClientsForSend:
        """Every send of the lead, oldest first, and the automated accounts that would take it
        now, best first, with their buyers' contact details."""
        required_ids(lead_id=lead_id)
        scan = await self._distributor.scan_lead(account_id, lead_id, automated_only=True)
        async with transaction(self._pool) as conn:
            cursor = await conn.execute(
                q("lead_send_details"), {"account_id": account_id, "lead_id": lead_id}
            )
            sends = await cursor.fetchall()
            ids = {s["client_id"] for s in sends} | {e.view.client_id for e in scan.ranked}
            cursor = await conn.execute(
                q("client_contacts"), {"account_id": account_id, "ids": sorted(ids)}
            )
            contacts = {r["id"]: r for r in await cursor.fetchall()}
        return ClientsForSend(sends, scan, contacts)

    async def clients_of_type(
        self, account_id: int, lead_id: int, account_type: AccountType
    ) -> Scan:
        """The accounts of one type (redirect, live transfer) that would take the lead now,
        automated or not; the lead's max sell count holds."""
        required_ids(lead_id=lead_id)
        return await self._distributor.scan_lead(
            account_id, lead_id, automated_only=False, account_types=frozenset({account_type})
        )

    async def criteria_accounts(
        self, account_id: int, lead_type_id: int, lead_field_id: int, value: str
    ) -> list[dict[str, Any]]:
        """The delivery accounts serving a lead type that have a criterion on the field with
        the value (server/domain/sales/operations.py names_value), by id."""
        required_ids(lead_type_id=lead_type_id, lead_field_id=lead_field_id)
        value = limited_text(value, "value")
        async with transaction(self._pool) as conn:
            cursor = await conn.execute(
                q("get_lead_field_of_type"),
                {
                    "account_id": account_id,
                    "lead_type_id": lead_type_id,
                    "field_id": lead_field_id,
                },
            )
            found = await cursor.fetchone()
            if found is None:
                raise NotFound(f"no lead type {lead_type_id}")
            if found["field_name"] is None:
                raise NotFound(f"lead type {lead_type_id} has no field {lead_field_id}")
            cursor = await conn.execute(
                q("lead_type_accounts"), {"account_id": account_id, "lead_type_id": lead_type_id}
            )
            accounts = await cursor.fetchall()
        return [a for a in accounts if has_criterion(a["criteria"], found["field_name"], value)]

    # -- sending by hand

    async def process_client_delivery(self, account_id: int, send: ManualSend) -> dict[str, Any]:
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
            reserved = await self._reserve(
                conn,
                account_id,
                send.lead_id,
                send.client_id,
                send.delivery_account_id,
                order_id=send.order_id,
                notes=notes,
            )
        return await self._deliver(account_id, reserved)

    async def resend(self, account_id: int, send_id: int) -> dict[str, Any]:
        """Deliver a finished send's lead to the same delivery account again, as a new manual
        send counting against the same order when it had one."""
        required_ids(send_id=send_id)
        async with transaction(self._pool) as conn:
            cursor = await conn.execute(
                q("get_send_to_repeat"), {"account_id": account_id, "id": send_id}
            )
            original = await cursor.fetchone()
            if original is None:
                raise NotFound(f"no send {send_id}")
            status = SendStatus(original["status"])
            if status.outstanding:
                raise FailedPrecondition(
                    f"send {send_id} is still {status.word}; it cannot be resent before it is"
                    " finished"
                )
            reserved = await self._reserve(
                conn,
                account_id,
                original["lead_id"],
                original["client_id"],
                original["delivery_account_id"],
                order_id=original["order_id"] or 0,
                notes=f"resend of send {send_id}",
                resend_of=send_id,
            )
        return await self._deliver(account_id, reserved)

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
    ) -> _Reserved:
        lead = await _lock_lead(conn, account_id, lead_id)
        held_back = delivery_refusal(
            lead_id, pending_qc=lead["pending_qc"], qc_rejected=lead["qc_rejected"]
        )
        if held_back:
            raise FailedPrecondition(held_back)
        await conn.execute(q("lock_lead_job"), {"account_id": account_id, "lead_id": lead_id})
        client = await _client(conn, account_id, client_id)
        view, uses_order = await self._view(
            conn, account_id, lead, client_id, delivery_account_id, "account_id"
        )
        why = standing(view, automated_only=False)
        if why:
            raise FailedPrecondition(f"{view.label} cannot be sent leads: {why}")
        await _refuse_holder(conn, account_id, lead_id, client, view)
        await conn.execute(q("lock_delivery_account"), {"account_id": account_id, "id": view.id})
        if order_id:
            await _order_of(conn, account_id, order_id, client)
        pick, note = await self._distributor.take_order(
            conn, account_id, view, lead["now"], order_id=order_id, uses_order=uses_order
        )
        if pick is None and note:
            raise FailedPrecondition(note)
        cursor = await conn.execute(
            q("insert_manual_send"),
            {
                "account_id": account_id,
                "lead_id": lead_id,
                "client_id": view.client_id,
                "delivery_account_id": view.id,
                "delivery_id": view.delivery_id,
                "price": view.price,
                "lease": self._distributor.send_lease_seconds(view),
                "order_id": pick.order_id if pick else None,
                "order_item_id": pick.item_id if pick else None,
                "notes": notes,
                "resend_of": resend_of,
            },
        )
        row = await cursor.fetchone()
        assert row is not None
        send_id = int(row["id"])
        lines = [
            f"Send {send_id} to {view.label}: manual delivery"
            + (f", resending send {resend_of}" if resend_of else "")
            + (f", order {pick.order_id} item {pick.item_id}" if pick else "")
            + (f" ({notes})" if notes and not resend_of else "")
        ]
        if pick and note:
            lines.append(note)
        await conn.execute(
            q("insert_scan_log"),
            {"account_id": account_id, "lead_id": lead_id, "log": "\n".join(lines)},
        )
        log.info("lead %s: manual send %s to %s reserved", lead_id, send_id, view.label)
        return _Reserved(send_id, view.label)

    async def _deliver(self, account_id: int, reserved: _Reserved) -> dict[str, Any]:
        await self._distributor.deliver_send(account_id, reserved.send_id)
        return await self.send(account_id, reserved.send_id)

    async def send(self, account_id: int, send_id: int) -> dict[str, Any]:
        """One send as ListSends shows it."""
        async with transaction(self._pool) as conn:
            cursor = await conn.execute(
                q("get_send_detail"), {"account_id": account_id, "id": send_id}
            )
            row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"no send {send_id}")
        return row

    async def _view(
        self,
        conn: Connection,
        account_id: int,
        lead: dict[str, Any],
        client_id: int,
        delivery_account_id: int,
        path: str,
    ) -> tuple[AccountView, bool]:
        cursor = await conn.execute(
            q("get_operation_account"), {"account_id": account_id, "id": delivery_account_id}
        )
        account = await cursor.fetchone()
        if account is None:
            raise NotFound(f"no delivery account {delivery_account_id}")
        if account["client_id"] != client_id:
            raise InvalidArgument(
                [
                    Violation(
                        path,
                        f"delivery account {delivery_account_id} belongs to client "
                        f"{account['client_id']}, not {client_id}",
                    )
                ]
            )
        if account["lead_type_id"] != lead["lead_type_id"]:
            raise FailedPrecondition(
                f"delivery account {delivery_account_id} delivers lead type "
                f"{account['lead_type_id']}; lead {lead['id']} is of lead type "
                f"{lead['lead_type_id']}"
            )
        found = await self._distributor.account_view(
            conn, account_id, lead["lead_type_id"], delivery_account_id
        )
        if found is None:
            raise NotFound(f"no delivery account {delivery_account_id}")
        return found

    # -- recording a send made elsewhere

    async def log_client_send(self, account_id: int, sent: LoggedSend) -> dict[str, Any]:
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
            lead = await _lock_lead(conn, account_id, sent.lead_id)
            await conn.execute(
                q("lock_lead_job"), {"account_id": account_id, "lead_id": sent.lead_id}
            )
            client = await _client(conn, account_id, sent.client_id)
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
                await _refuse_holder(conn, account_id, sent.lead_id, client, view)
            await conn.execute(
                q("lock_delivery_account"), {"account_id": account_id, "id": view.id}
            )
            order_id, item_id = await _logged_order(conn, account_id, sent, view)
            status = SendStatus.SOLD if sent.valid else SendStatus.REJECTED
            cursor = await conn.execute(
                q("insert_logged_send"),
                {
                    "account_id": account_id,
                    "lead_id": sent.lead_id,
                    "client_id": view.client_id,
                    "delivery_account_id": view.id,
                    "delivery_id": view.delivery_id,
                    "status": status,
                    "price": view.price,
                    "request": request,
                    "response": response,
                    "reason": "logged: sent outside leadrouter",
                    "order_id": order_id,
                    "order_item_id": item_id,
                },
            )
            row = await cursor.fetchone()
            assert row is not None
            send_id = int(row["id"])
            await conn.execute(
                q("insert_scan_log"),
                {
                    "account_id": account_id,
                    "lead_id": sent.lead_id,
                    "log": f"Send {send_id} to {view.label}: logged as {status.word} at "
                    f"{view.price} (sent outside leadrouter)",
                },
            )
            await conn.execute(
                q("wake_lead_job"), {"account_id": account_id, "lead_id": sent.lead_id}
            )
        self._distributor.wake()
        return await self.send(account_id, send_id)

    # -- confirmed sales

    async def confirm_sale(self, account_id: int, lead_id: int, client_id: int) -> Confirmation:
        """The buyer confirms it bought the lead: its standing sales are confirmed (or its
        latest rejected send becomes a confirmed sale) and the source is settled for each."""
        required_ids(lead_id=lead_id, client_id=client_id)
        async with transaction(self._pool) as conn:
            lead = await _lock_lead(conn, account_id, lead_id)
            client = await _client(conn, account_id, client_id)
            cursor = await conn.execute(
                q("lock_buyer_sends"),
                {"account_id": account_id, "lead_id": lead_id, "client_id": client_id},
            )
            sends = [
                BuyerSend(
                    r["id"],
                    SendStatus(r["status"]),
                    r["price"],
                    r["returned_at"],
                    r["confirmed_at"],
                )
                for r in await cursor.fetchall()
            ]
            taken = confirmable(sends, lead_id, client["name"])
            model = PricingModel(lead["pricing_model"])
            # the lead keeps the model it arrived under; the amount is the campaign's now, and
            # only when the campaign still prices that way
            amount = (
                lead["pricing_amount"] if lead["campaign_model"] == model.value else Decimal("0")
            )
            shares = [sale_settlement(model, amount, s.price) for s in taken]
            cursor = await conn.execute(
                q("confirm_sends"),
                {
                    "account_id": account_id,
                    "ids": [s.send_id for s in taken],
                    "shares": shares,
                },
            )
            confirmed = await cursor.fetchall()
            total = sum(shares, Decimal("0"))
            price = lead["price"]
            if total:
                cursor = await conn.execute(
                    q("settle_lead"),
                    {"account_id": account_id, "lead_id": lead_id, "amount": total},
                )
                settled = await cursor.fetchone()
                assert settled is not None
                price = settled["price"]
            lines = [
                f"Send {s.send_id} to {client['name']}: sale confirmed"
                + (" (was rejected)" if s.status == SendStatus.REJECTED else "")
                + f"; source settled {share} ({model.value})"
                for s, share in zip(taken, shares, strict=True)
            ]
            await conn.execute(
                q("insert_scan_log"),
                {"account_id": account_id, "lead_id": lead_id, "log": "\n".join(lines)},
            )
            if any(s.status == SendStatus.REJECTED for s in taken):
                await conn.execute(
                    q("wake_lead_job"), {"account_id": account_id, "lead_id": lead_id}
                )
        log.info(
            "lead %s: sale confirmed by client %s; source settled %s", lead_id, client_id, total
        )
        return Confirmation(
            [r["id"] for r in confirmed], model, total, price, confirmed[0]["confirmed_at"]
        )

    # -- redirects

    async def redirect_status(
        self, account_id: int, lead_id: int, url: str, valid: bool, response: str
    ) -> int:
        """Store whether the consumer reached a redirect on the send it came from."""
        required_ids(lead_id=lead_id)
        url = url.strip()
        if not url:
            raise InvalidArgument([Violation("redirect", "is required")])
        response = limited_text(response, "response")
        async with transaction(self._pool) as conn:
            cursor = await conn.execute(q("lead_exists"), {"account_id": account_id, "id": lead_id})
            if await cursor.fetchone() is None:
                raise NotFound(f"no lead {lead_id}")
            cursor = await conn.execute(
                q("find_redirect_send"),
                {"account_id": account_id, "lead_id": lead_id, "url": url},
            )
            found = await cursor.fetchone()
            if found is None:
                raise NotFound(f"no send of lead {lead_id} redirected to {url}")
            await conn.execute(
                q("notify_redirect"),
                {
                    "account_id": account_id,
                    "id": found["id"],
                    "valid": valid,
                    "response": response,
                },
            )
            await conn.execute(
                q("insert_scan_log"),
                {
                    "account_id": account_id,
                    "lead_id": lead_id,
                    "log": f"Send {found['id']}: redirect to {url} "
                    + ("completed" if valid else "not completed")
                    + (f" ({response})" if response else ""),
                },
            )
        return int(found["id"])


async def _lock_lead(conn: Connection, account_id: int, lead_id: int) -> dict[str, Any]:
    cursor = await conn.execute(
        q("lock_lead_for_operation"), {"account_id": account_id, "id": lead_id}
    )
    lead = await cursor.fetchone()
    if lead is None:
        raise NotFound(f"no lead {lead_id}")
    return lead


async def _client(conn: Connection, account_id: int, client_id: int) -> dict[str, Any]:
    cursor = await conn.execute(
        q("get_operation_client"), {"account_id": account_id, "id": client_id}
    )
    client = await cursor.fetchone()
    if client is None:
        raise NotFound(f"no client {client_id}")
    return client


async def _refuse_holder(
    conn: Connection,
    account_id: int,
    lead_id: int,
    client: dict[str, Any],
    view: AccountView,
) -> None:
    cursor = await conn.execute(q("lead_sends"), {"account_id": account_id, "lead_id": lead_id})
    held = [
        HeldSend(r["id"], r["client_id"], r["delivery_account_id"], SendStatus(r["status"]))
        for r in await cursor.fetchall()
    ]
    why = holder_refusal(
        held,
        view.client_id,
        view.id,
        use_tiers=client["use_delivery_tiers"],
        buyer=client["name"],
        lead_id=lead_id,
    )
    if why:
        raise FailedPrecondition(why)


async def _order_of(
    conn: Connection, account_id: int, order_id: int, client: dict[str, Any]
) -> list[dict[str, Any]]:
    """An order's items; NotFound unless it is an order of this buyer."""
    cursor = await conn.execute(
        q("get_order_items"), {"account_id": account_id, "order_id": order_id}
    )
    items = await cursor.fetchall()
    if not items or items[0]["client_id"] != client["id"]:
        raise NotFound(f"{client['name']} has no order {order_id}")
    return items


async def _logged_order(
    conn: Connection, account_id: int, sent: LoggedSend, view: AccountView
) -> tuple[int | None, int | None]:
    """The order and item a logged send counts against, as given: the item must belong to
    the order and the buyer and serve the account; an order alone takes its first item for
    the account. No status or quantity check: the send was made."""
    if sent.order_item_id:
        cursor = await conn.execute(
            q("get_order_item"), {"account_id": account_id, "id": sent.order_item_id}
        )
        item = await cursor.fetchone()
        if item is None or item["client_id"] != view.client_id:
            raise NotFound(f"{view.client_name} has no order item {sent.order_item_id}")
        if sent.order_id and item["order_id"] != sent.order_id:
            raise InvalidArgument(
                [
                    Violation(
                        "order_item_id",
                        f"item {sent.order_item_id} is of order {item['order_id']}, "
                        f"not {sent.order_id}",
                    )
                ]
            )
        if item["delivery_account_id"] not in (None, view.id):
            raise InvalidArgument(
                [
                    Violation(
                        "order_item_id",
                        f"item {sent.order_item_id} is for delivery account "
                        f"{item['delivery_account_id']}, not {view.id}",
                    )
                ]
            )
        return int(item["order_id"]), int(item["item_id"])
    if not sent.order_id:
        return None, None
    items = await _order_of(
        conn, account_id, sent.order_id, {"id": view.client_id, "name": view.client_name}
    )
    for item in items:
        if item["item_id"] is not None and item["delivery_account_id"] in (None, view.id):
            return sent.order_id, int(item["item_id"])
    raise FailedPrecondition(
        f"order {sent.order_id} has no item for delivery account {view.id}; name its item"
    )
