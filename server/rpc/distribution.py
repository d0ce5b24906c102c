"""leadrouter.v1.DistributionService: translates messages and calls the distribution engine."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeAlias

from google.protobuf.timestamp_pb2 import Timestamp
from leadrouter.v1 import distribution_pb2, distribution_pb2_grpc

from server.domain.buyers.specs import AccountType
from server.domain.sales.sends import SendStatus
from server.errors import InvalidArgument
from server.rpc.convert import account_message, decimal_text
from server.rpc.interceptor import caller
from server.services import distribution
from server.services.distribution import Distributor, Scan
from server.services.operations import ClientsForSend, LoggedSend, ManualSend, Operations
from server.storage.database import Pool

Context: TypeAlias = Any  # grpc.aio.ServicerContext; grpc ships no type stubs


def _account() -> int:
    return caller().account_id


def send_message(row: dict[str, Any]) -> distribution_pb2.Send:
    message = distribution_pb2.Send(
        id=row["id"],
        lead_id=row["lead_id"],
        client_id=row["client_id"],
        client_name=row["client_name"],
        account_id=row["delivery_account_id"],
        delivery_id=row["delivery_id"],
        status=row["status"],
        valid=row["status"] == SendStatus.SOLD,
        price=decimal_text(row["price"]),
        request=row["request"],
        response=row["response"],
        reason=row["reason"],
        redirect_url=row["redirect_url"],
        attempts=row["attempts"],
        elapsed_ms=row["elapsed_ms"],
        automated=row["automated"],
        order_id=row["order_id"] or 0,
        order_item_id=row["order_item_id"] or 0,
        notes=row["notes"],
        resend_of=row["resend_of"] or 0,
        source_share=decimal_text(row["source_share"]),
        redirect_valid=row["redirect_valid"],
        redirect_response=row["redirect_response"],
        return_reason=row["return_reason"],
    )
    message.created_at.FromDatetime(row["created_at"])
    for name in ("sent_at", "confirmed_at", "redirect_notified_at", "returned_at"):
        if row[name] is not None:
            getattr(message, name).FromDatetime(row[name])
    return message


def scan_message(scan: Scan) -> distribution_pb2.ScanResult:
    ordered = scan.ranked + [e for e in scan.entries if not e.rank]
    return distribution_pb2.ScanResult(
        lead_id=scan.lead_id,
        max_sells=scan.max_sells,
        summary=scan.report,
        accounts=[
            distribution_pb2.ScannedAccount(
                client_id=e.view.client_id,
                client_name=e.view.client_name,
                account_id=e.view.id,
                account_name=e.view.description or e.view.key,
                eligible=bool(e.rank),
                rank=e.rank,
                reason=e.reason,
            )
            for e in ordered
        ],
    )


def _stamp(target: Timestamp, value: datetime | None) -> None:
    if value is not None:
        target.FromDatetime(value)


def _contact(row: dict[str, Any] | None) -> dict[str, str]:
    contact = dict(row["contact"]) if row else {}
    return {
        "contact_first_name": contact.get("contact_first_name", ""),
        "contact_last_name": contact.get("contact_last_name", ""),
        "address": contact.get("address", ""),
        "address2": contact.get("address2", ""),
        "city": contact.get("city", ""),
        "state": contact.get("state", ""),
        "country": contact.get("country", ""),
        "postal_code": contact.get("postal_code", ""),
        "phone_number": contact.get("phone", ""),
        "email": contact.get("email", ""),
        "notes": row["notes"] if row else "",
    }


def clients_for_send_message(found: ClientsForSend) -> distribution_pb2.ClientsForSend:
    """The lead's sends, oldest first, then the accounts that would take it now, best first."""
    message = distribution_pb2.ClientsForSend()
    for s in found.sends:
        buyer = found.contacts.get(s["client_id"])
        entry = message.clients.add(
            client_id=s["client_id"],
            client_name=buyer["name"] if buyer else "",
            account_id=s["delivery_account_id"],
            order_id=s["order_id"] or 0,
            order_item_id=s["order_item_id"] or 0,
            price=decimal_text(s["price"]),
            send_id=s["id"],
            is_valid=s["status"] == SendStatus.SOLD,
            response=s["response"],
            status=s["status"],
            automated=s["automated"],
            reason=s["reason"],
            send_notes=s["notes"],
            source_share=decimal_text(s["source_share"]),
            redirect_url=s["redirect_url"],
            redirect_valid=s["redirect_valid"],
            redirect_response=s["redirect_response"],
            resend_of=s["resend_of"] or 0,
            **_contact(buyer),
        )
        _stamp(entry.date_sent, s["sent_at"])
        _stamp(entry.confirmed_at, s["confirmed_at"])
        _stamp(entry.redirect_notified_at, s["redirect_notified_at"])
    orders = found.scan.orders
    for e in found.scan.ranked:
        pick = orders.get(e.view.id)
        message.clients.add(
            client_id=e.view.client_id,
            client_name=e.view.client_name,
            account_id=e.view.id,
            order_id=pick.order_id if pick else 0,
            order_item_id=pick.item_id if pick else 0,
            price=decimal_text(e.view.price),
            automated=e.view.automation_enabled,
            rank=e.rank,
            reason=e.reason,
            redirect_url=e.view.redirect_url,
            **_contact(found.contacts.get(e.view.client_id)),
        )
    return message


def offers_message(scan: Scan) -> distribution_pb2.ClientOffers:
    message = distribution_pb2.ClientOffers()
    for e in scan.ranked:
        pick = scan.orders.get(e.view.id)
        message.clients.add(
            client_id=e.view.client_id,
            client_name=e.view.client_name,
            account_id=e.view.id,
            order_id=pick.order_id if pick else 0,
            order_item_id=pick.item_id if pick else 0,
            automation=e.view.automation_enabled,
            price=decimal_text(e.view.price),
            reason=e.reason,
            account_type=int(e.view.account_type),
            redirect_url=e.view.redirect_url,
            agent_name=e.view.agent_name,
            agent_phone=e.view.agent_phone,
        )
    return message


def manual_result(row: dict[str, Any]) -> distribution_pb2.ManualSendResult:
    return distribution_pb2.ManualSendResult(
        is_valid=row["status"] == SendStatus.SOLD,
        status=row["status"],
        response=row["response"],
        send=send_message(row),
    )


class DistributionServicer(distribution_pb2_grpc.DistributionServiceServicer):
    def __init__(self, pool: Pool, distributor: Distributor) -> None:
        self._pool = pool
        self._distributor = distributor
        self._operations = Operations(pool, distributor)

    async def GetClientsForLead(
        self, request: distribution_pb2.GetClientsForLeadRequest, context: Context
    ) -> distribution_pb2.ClientsForLead:
        scan = await self._distributor.scan_lead(
            _account(),
            request.lead_id,
            automated_only=request.automated_only,
            allow_over_max=request.allow_over_max,
        )
        return distribution_pb2.ClientsForLead(
            clients=[
                distribution_pb2.ClientForLead(
                    client_id=e.view.client_id,
                    client_name=e.view.client_name,
                    account_id=e.view.id,
                    order_id=scan.orders[e.view.id].order_id if e.view.id in scan.orders else 0,
                    order_item_id=(
                        scan.orders[e.view.id].item_id if e.view.id in scan.orders else 0
                    ),
                    automation=e.view.automation_enabled,
                    price=decimal_text(e.view.price),
                    reason=e.reason,
                )
                for e in scan.ranked
            ]
        )

    async def DryRun(
        self, request: distribution_pb2.DryRunRequest, context: Context
    ) -> distribution_pb2.ScanResult:
        if request.lead_id:
            scan = await self._distributor.scan_lead(_account(), request.lead_id)
            return scan_message(scan)
        if not request.lead_type_id:
            raise InvalidArgument("give a lead_id, or a lead_type_id and fields")
        scan = await self._distributor.scan_fields(
            _account(), request.lead_type_id, [(f.name, f.value) for f in request.fields]
        )
        return scan_message(scan)

    async def GetLeadScanLog(
        self, request: distribution_pb2.GetLeadScanLogRequest, context: Context
    ) -> distribution_pb2.LeadScanLog:
        rows = await distribution.scan_log(self._pool, _account(), request.lead_id)
        log = distribution_pb2.LeadScanLog()
        for row in rows:
            entry = log.entries.add(lead_id=row["lead_id"], log=row["log"])
            entry.scan_date.FromDatetime(row["scanned_at"])
        return log

    async def ListSends(
        self, request: distribution_pb2.ListSendsRequest, context: Context
    ) -> distribution_pb2.ListSendsResponse:
        rows = await distribution.list_sends(self._pool, _account(), request.lead_id)
        return distribution_pb2.ListSendsResponse(sends=[send_message(r) for r in rows])

    # -- manual operations (server/services/operations.py; docs/operations.md)

    async def GetClientsForSend(
        self, request: distribution_pb2.GetClientsForSendRequest, context: Context
    ) -> distribution_pb2.ClientsForSend:
        found = await self._operations.clients_for_send(_account(), request.lead_id)
        return clients_for_send_message(found)

    async def GetClientsForRedirect(
        self, request: distribution_pb2.GetClientsForRedirectRequest, context: Context
    ) -> distribution_pb2.ClientOffers:
        scan = await self._operations.clients_of_type(
            _account(), request.lead_id, AccountType.Redirect
        )
        return offers_message(scan)

    async def GetClientsForTransfer(
        self, request: distribution_pb2.GetClientsForTransferRequest, context: Context
    ) -> distribution_pb2.ClientOffers:
        scan = await self._operations.clients_of_type(
            _account(), request.lead_id, AccountType.LiveTransfer
        )
        return offers_message(scan)

    async def GetAllCriteriaAccounts(
        self, request: distribution_pb2.GetAllCriteriaAccountsRequest, context: Context
    ) -> distribution_pb2.CriteriaAccounts:
        rows = await self._operations.criteria_accounts(
            _account(), request.lead_type_id, request.lead_field_id, request.value
        )
        return distribution_pb2.CriteriaAccounts(accounts=[account_message(r) for r in rows])

    async def ProcessClientDelivery(
        self, request: distribution_pb2.ProcessClientDeliveryRequest, context: Context
    ) -> distribution_pb2.ManualSendResult:
        row = await self._operations.process_client_delivery(
            _account(),
            ManualSend(
                lead_id=request.lead_id,
                client_id=request.client_id,
                delivery_account_id=request.account_id,
                order_id=request.order_id,
                notes=request.notes,
            ),
        )
        return manual_result(row)

    async def LogClientSend(
        self, request: distribution_pb2.LogClientSendRequest, context: Context
    ) -> distribution_pb2.LogClientSendResponse:
        row = await self._operations.log_client_send(
            _account(),
            LoggedSend(
                lead_id=request.lead_id,
                client_id=request.client_id,
                delivery_account_id=request.account_id,
                delivery_id=request.delivery_id,
                request=request.post_string,
                response=request.response,
                order_id=request.order_id,
                order_item_id=request.order_item_id,
                valid=request.is_valid if request.HasField("is_valid") else True,
            ),
        )
        return distribution_pb2.LogClientSendResponse(send=send_message(row))

    async def ResendLead(
        self, request: distribution_pb2.ResendLeadRequest, context: Context
    ) -> distribution_pb2.ManualSendResult:
        row = await self._operations.resend(_account(), request.send_id)
        return manual_result(row)

    async def ConfirmSale(
        self, request: distribution_pb2.ConfirmSaleRequest, context: Context
    ) -> distribution_pb2.ConfirmSaleResponse:
        done = await self._operations.confirm_sale(_account(), request.lead_id, request.client_id)
        message = distribution_pb2.ConfirmSaleResponse(
            send_ids=done.send_ids,
            pricing_model=done.pricing_model.value,
            settlement=decimal_text(done.settlement),
            lead_price=decimal_text(done.lead_price),
        )
        message.confirmed_at.FromDatetime(done.confirmed_at)
        return message

    async def RedirectStatusNotify(
        self, request: distribution_pb2.RedirectStatusNotifyRequest, context: Context
    ) -> distribution_pb2.RedirectStatusNotifyResponse:
        send_id = await self._operations.redirect_status(
            _account(), request.lead_id, request.redirect, request.is_valid, request.response
        )
        return distribution_pb2.RedirectStatusNotifyResponse(send_id=send_id)
