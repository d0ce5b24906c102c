"""leadrouter.v1.DistributionService: translates messages and calls the distribution engine."""

from __future__ import annotations

from typing import Any, TypeAlias

from leadrouter.v1 import distribution_pb2, distribution_pb2_grpc

from server.domain.buyers.records import BuyerContact
from server.domain.buyers.specs import AccountType
from server.domain.intake.records import PingLog
from server.domain.sales.sends import Send
from server.errors import InvalidArgument
from server.rpc.convert import (
    auction_message,
    auction_settings,
    decimal_text,
    delivery_account_message,
    stamp,
    step_messages,
)
from server.rpc.interceptor import caller
from server.services.distribution.auction_settings import CampaignAuctions
from server.services.distribution.scan import Scan
from server.services.distribution.views import DistributionViews
from server.services.intake.ping_logs import PingLogs
from server.services.operations.confirmations import ConfirmSales
from server.services.operations.lookups import ClientsForSend, OperationLookups
from server.services.operations.manual_sends import LoggedSend, ManualSend, ManualSends
from server.services.operations.redirects import RedirectNotices

Context: TypeAlias = Any  # grpc.aio.ServicerContext; grpc ships no type stubs


def _account() -> int:
    return caller().account_id


def send_message(send: Send) -> distribution_pb2.Send:
    message = distribution_pb2.Send(
        id=send.id,
        lead_id=send.lead_id,
        client_id=send.client_id,
        client_name=send.client_name,
        account_id=send.delivery_account_id,
        delivery_id=send.delivery_id,
        status=int(send.status),  # type: ignore[arg-type]
        valid=send.sold,
        price=decimal_text(send.price),
        request=send.request,
        response=send.response,
        reason=send.reason,
        redirect_url=send.redirect_url,
        attempts=send.attempts,
        elapsed_ms=send.elapsed_ms,
        automated=send.automated,
        order_id=send.order_id or 0,
        order_item_id=send.order_item_id or 0,
        notes=send.notes,
        resend_of=send.resend_of or 0,
        source_share=decimal_text(send.source_share),
        redirect_valid=send.redirect_valid,
        redirect_response=send.redirect_response,
        return_reason=send.return_reason,
        ping_reference=send.ping_reference,
    )
    message.created_at.FromDatetime(send.created_at)
    stamp(message.sent_at, send.sent_at)
    stamp(message.confirmed_at, send.confirmed_at)
    stamp(message.redirect_notified_at, send.redirect_notified_at)
    stamp(message.returned_at, send.returned_at)
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


def _contact(buyer: BuyerContact | None) -> dict[str, str]:
    contact = buyer.contact if buyer else {}
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
        "website": contact.get("website", ""),
        "notes": buyer.notes if buyer else "",
    }


def clients_for_send_message(found: ClientsForSend) -> distribution_pb2.ClientsForSend:
    """The lead's sends, oldest first, then the accounts that would take it now, best first."""
    message = distribution_pb2.ClientsForSend()
    for s in found.sends:
        buyer = found.contacts.get(s.client_id)
        entry = message.clients.add(
            client_id=s.client_id,
            client_name=buyer.name if buyer else "",
            account_id=s.delivery_account_id,
            order_id=s.order_id or 0,
            order_item_id=s.order_item_id or 0,
            price=decimal_text(s.price),
            send_id=s.id,
            is_valid=s.sold,
            response=s.response,
            status=int(s.status),
            automated=s.automated,
            reason=s.reason,
            send_notes=s.notes,
            source_share=decimal_text(s.source_share),
            redirect_url=s.redirect_url,
            redirect_valid=s.redirect_valid,
            redirect_response=s.redirect_response,
            resend_of=s.resend_of or 0,
            **_contact(buyer),
        )
        stamp(entry.date_sent, s.sent_at)
        stamp(entry.confirmed_at, s.confirmed_at)
        stamp(entry.redirect_notified_at, s.redirect_notified_at)
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


def manual_result(send: Send) -> distribution_pb2.ManualSendResult:
    return distribution_pb2.ManualSendResult(
        is_valid=send.sold,
        status=int(send.status),  # type: ignore[arg-type]
        response=send.response,
        send=send_message(send),
    )


def ping_log_message(found: PingLog) -> distribution_pb2.PingLog:
    message = distribution_pb2.PingLog(
        request_id=found.request_id,
        request=found.request,
        will_accept=found.will_accept,
        response_type=found.response_type,  # type: ignore[arg-type]
        response=found.details,
        steps=step_messages(found.steps),
        estimated_price=decimal_text(found.price),
        campaign_id=found.campaign_id,
        order_id=found.order_id,
        lead_id=found.lead_id,
        reserved=[
            distribution_pb2.ReservedBuyer(
                client_id=r.client_id,
                client_name=r.client_name,
                account_id=r.delivery_account_id,
                price=decimal_text(r.price),
                ping_reference=r.reference,
            )
            for r in found.reserved
        ],
    )
    stamp(message.received_at, found.received_at)
    stamp(message.order_expires_on, found.expires_at)
    stamp(message.order_used_at, found.used_at)
    return message


class DistributionServicer(distribution_pb2_grpc.DistributionServiceServicer):
    def __init__(
        self,
        views: DistributionViews,
        lookups: OperationLookups,
        manual_sends: ManualSends,
        confirmations: ConfirmSales,
        redirects: RedirectNotices,
        auctions: CampaignAuctions,
        ping_logs: PingLogs,
    ) -> None:
        self._views = views
        self._lookups = lookups
        self._manual_sends = manual_sends
        self._confirmations = confirmations
        self._ping_logs = ping_logs
        self._redirects = redirects
        self._auctions = auctions

    async def GetClientsForLead(
        self, request: distribution_pb2.GetClientsForLeadRequest, context: Context
    ) -> distribution_pb2.ClientsForLead:
        scan = await self._views.scan_lead(
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
            scan = await self._views.scan_lead(_account(), request.lead_id)
            return scan_message(scan)
        if not request.lead_type_id:
            raise InvalidArgument("give a lead_id, or a lead_type_id and fields")
        scan = await self._views.scan_fields(
            _account(), request.lead_type_id, [(f.name, f.value) for f in request.fields]
        )
        return scan_message(scan)

    async def GetPingLog(
        self, request: distribution_pb2.GetPingLogRequest, context: Context
    ) -> distribution_pb2.PingLog:
        return ping_log_message(await self._ping_logs.read(_account(), request.id))

    async def GetLeadScanLog(
        self, request: distribution_pb2.GetLeadScanLogRequest, context: Context
    ) -> distribution_pb2.LeadScanLog:
        entries = await self._views.scan_log(_account(), request.lead_id)
        log = distribution_pb2.LeadScanLog()
        for found in entries:
            entry = log.entries.add(lead_id=found.lead_id, log=found.log)
            entry.scan_date.FromDatetime(found.scanned_at)
        return log

    async def ListSends(
        self, request: distribution_pb2.ListSendsRequest, context: Context
    ) -> distribution_pb2.ListSendsResponse:
        sends = await self._views.list_sends(_account(), request.lead_id)
        return distribution_pb2.ListSendsResponse(sends=[send_message(s) for s in sends])

    # -- manual operations (server/services/operations/; docs/operations.md)

    async def GetClientsForSend(
        self, request: distribution_pb2.GetClientsForSendRequest, context: Context
    ) -> distribution_pb2.ClientsForSend:
        found = await self._lookups.clients_for_send(_account(), request.lead_id)
        return clients_for_send_message(found)

    async def GetClientsForCriteria(
        self, request: distribution_pb2.GetClientsForCriteriaRequest, context: Context
    ) -> distribution_pb2.ClientsForSend:
        posted = [(f.name, f.value) for f in request.fields]
        found = await self._lookups.clients_for_criteria(_account(), request.lead_type_id, posted)
        return clients_for_send_message(found)

    async def GetClientsForRedirect(
        self, request: distribution_pb2.GetClientsForRedirectRequest, context: Context
    ) -> distribution_pb2.ClientOffers:
        scan = await self._lookups.clients_of_type(
            _account(), request.lead_id, AccountType.Redirect
        )
        return offers_message(scan)

    async def GetClientsForTransfer(
        self, request: distribution_pb2.GetClientsForTransferRequest, context: Context
    ) -> distribution_pb2.ClientOffers:
        scan = await self._lookups.clients_of_type(
            _account(), request.lead_id, AccountType.LiveTransfer
        )
        return offers_message(scan)

    async def GetAllCriteriaAccounts(
        self, request: distribution_pb2.GetAllCriteriaAccountsRequest, context: Context
    ) -> distribution_pb2.CriteriaAccounts:
        rows = await self._lookups.delivery_accounts_with_criterion(
            _account(), request.lead_type_id, request.lead_field_id, request.value
        )
        return distribution_pb2.CriteriaAccounts(
            accounts=[delivery_account_message(a, method) for a, method in rows]
        )

    async def ProcessClientDelivery(
        self, request: distribution_pb2.ProcessClientDeliveryRequest, context: Context
    ) -> distribution_pb2.ManualSendResult:
        send = await self._manual_sends.process_client_delivery(
            _account(),
            ManualSend(
                lead_id=request.lead_id,
                client_id=request.client_id,
                delivery_account_id=request.account_id,
                order_id=request.order_id,
                notes=request.notes,
            ),
        )
        return manual_result(send)

    async def LogClientSend(
        self, request: distribution_pb2.LogClientSendRequest, context: Context
    ) -> distribution_pb2.LogClientSendResponse:
        send = await self._manual_sends.log_client_send(
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
        return distribution_pb2.LogClientSendResponse(send=send_message(send))

    async def ResendLead(
        self, request: distribution_pb2.ResendLeadRequest, context: Context
    ) -> distribution_pb2.ManualSendResult:
        send = await self._manual_sends.resend(_account(), request.send_id)
        return manual_result(send)

    async def ConfirmSale(
        self, request: distribution_pb2.ConfirmSaleRequest, context: Context
    ) -> distribution_pb2.ConfirmSaleResponse:
        done = await self._confirmations.confirm_sale(
            _account(), request.lead_id, request.client_id
        )
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
        send_id = await self._redirects.redirect_status(
            _account(), request.lead_id, request.redirect, request.is_valid, request.response
        )
        return distribution_pb2.RedirectStatusNotifyResponse(send_id=send_id)

    async def GetCampaignAuction(
        self, request: distribution_pb2.GetCampaignAuctionRequest, context: Context
    ) -> distribution_pb2.CampaignAuction:
        found = await self._auctions.get(_account(), request.campaign_id)
        return auction_message(request.campaign_id, found)

    async def UpdateCampaignAuction(
        self, request: distribution_pb2.UpdateCampaignAuctionRequest, context: Context
    ) -> distribution_pb2.CampaignAuction:
        auction = request.auction
        saved = await self._auctions.update(
            _account(), auction.campaign_id, auction_settings(auction, "auction")
        )
        return auction_message(auction.campaign_id, saved)
