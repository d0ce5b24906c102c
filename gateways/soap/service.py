"""The methods of service.asmx. Each one reads its parameters, makes one gRPC call through
the application's Backend and translates the answer (translate.py); docs/soap.md maps each
method to its RPC. Parameter names and casing are the document's, hence the Python names.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import field_mask_pb2
from leadrouter.v1 import (
    admin_pb2,
    billing_pb2,
    buyers_pb2,
    distribution_pb2,
    geo_pb2,
    leads_pb2,
    marketplace_pb2,
    portal_pb2,
    reports_pb2,
    visits_pb2,
)
from spyne import Fault, ServiceBase, rpc

from gateways.soap import translate
from gateways.soap.backend import Backend
from gateways.soap.faults import GatewayFault, client_fault, unexpected
from gateways.soap.models import (
    AgedLeadType,
    AgedOptions,
    Bool,
    ClientAccountType,
    ClientCardTransactionType,
    ClientCriteriaMatchType,
    ClientCriteriaType,
    ClientFieldType,
    ClientGroupType,
    ClientItemType,
    ClientListType,
    ClientOrderType,
    ClientScanType,
    ClientSendType,
    CreditCardType,
    CriteriaItemType,
    CustomListItem,
    CustomListType,
    DataPullType,
    Dbl,
    DeliveryResultType,
    DeliveryType,
    Int,
    LeadFieldType,
    LeadPackCatType,
    LeadPackType,
    LeadScanLogType,
    LeadSearchType,
    LeadTypeType,
    Long,
    OptLong,
    PackType,
    PromoCodeType,
    SiteVisitType,
    StateType,
    Str,
    Strings,
    VendorAccountType,
    VendorInfoType,
    array_of,
)


def _backend(ctx: Any) -> Backend:
    backend: Backend = ctx.app.backend
    return backend


class Service(ServiceBase):  # type: ignore[misc]  # spyne ships no types
    """LeadExec's service.asmx."""

    @classmethod
    def call_wrapper(cls, ctx: Any, args: Any = None) -> Any:
        """A fault is the method's answer; anything else is a bug, logged with a reference
        that the caller gets instead of the exception's text."""
        try:
            return super().call_wrapper(ctx, args)
        except Fault:
            raise
        except Exception as error:
            raise unexpected(ctx.method_request_string, repr(error)) from error

    # -- US states and ZIP codes

    @rpc(Str, _returns=array_of(StateType))
    def GetStateList(ctx: Any, Key: str) -> list[Any]:
        found = _backend(ctx).call("geo", "ListStates", geo_pb2.ListStatesRequest(), Key)
        return [StateType(StateUID=s.id, Name=s.name, Abbr=s.abbreviation) for s in found.states]

    @rpc(Str, Str, _returns=Strings)
    def GetUSZipCodesforState(ctx: Any, Key: str, State: str | None) -> list[str]:
        request = geo_pb2.ListZipCodesRequest(state=State or "")
        return list(_backend(ctx).call("geo", "ListZipCodes", request, Key).zip_codes)

    @rpc(Str, Str, Str, _returns=Strings)
    def GetUSZipCodesforCounty(
        ctx: Any, Key: str, County: str | None, State: str | None
    ) -> list[str]:
        county = geo_pb2.CountyOfState(county=County or "", state=State or "")
        request = geo_pb2.ListZipCodesRequest(county=county)
        return list(_backend(ctx).call("geo", "ListZipCodes", request, Key).zip_codes)

    @rpc(Str, Str, _returns=Strings)
    def GetUSZipCodesforFIPS(ctx: Any, Key: str, FIPS: str | None) -> list[str]:
        request = geo_pb2.ListZipCodesRequest(fips=FIPS or "")
        return list(_backend(ctx).call("geo", "ListZipCodes", request, Key).zip_codes)

    @rpc(Str, Str, Dbl, Bool, _returns=Strings)
    def GetUSZipCodesfromRadius(
        ctx: Any, Key: str, ZipCode: str | None, Miles: float, InState: bool
    ) -> list[str]:
        request = geo_pb2.ZipCodesInRadiusRequest(
            zip_code=ZipCode or "", miles=Miles, in_state=bool(InState)
        )
        return list(_backend(ctx).call("geo", "ZipCodesInRadius", request, Key).zip_codes)

    # -- buyers

    @rpc(Str, _returns=array_of(ClientListType))
    def GetClientList(ctx: Any, Key: str) -> list[Any]:
        found = _backend(ctx).call("admin", "ListClients", admin_pb2.ListClientsRequest(), Key)
        return [translate.client_list_entry(c) for c in found.clients]

    @rpc(Str, Long, _returns=array_of(ClientFieldType))
    def GetClientData(ctx: Any, Key: str, ClientUID: int) -> list[Any]:
        request = admin_pb2.GetClientRequest(id=ClientUID)
        return translate.client_fields(_backend(ctx).call("admin", "GetClient", request, Key))

    @rpc(Str, Long, _returns=array_of(ClientAccountType))
    def GetClientAccounts(ctx: Any, Key: str, ClientUID: int) -> list[Any]:
        found = _backend(ctx).call(
            "admin", "GetClient", admin_pb2.GetClientRequest(id=ClientUID), Key
        )
        methods = {d.id: d for d in found.deliveries}
        return [translate.client_account(a, methods.get(a.delivery_id)) for a in found.accounts]

    @rpc(Str, DeliveryType, _returns=Long)
    def AddEditClientDelivery(ctx: Any, Key: str, delivery: Any) -> int:
        """Adds (ClientDeliveryUID -1 or 0) or edits a buyer's delivery method; answers its
        id. Empty passwords keep the stored ones."""
        if delivery is None:
            raise client_fault("delivery is required")
        message, paths = translate.delivery_edit(delivery)
        request = admin_pb2.SaveDeliveryRequest(
            delivery=message,
            update_mask=field_mask_pb2.FieldMask(paths=paths if message.id else []),
        )
        return int(_backend(ctx).call("admin", "SaveDelivery", request, Key).id)

    @rpc(Str, ClientOrderType, _returns=Long)
    def AddEditClientOrder(ctx: Any, Key: str, order: Any) -> int:
        """Adds (ClientOrderUID -1 or 0) or edits a buyer's order with its complete item list;
        answers its id."""
        if order is None:
            raise client_fault("order is required")
        request = admin_pb2.SaveOrderRequest(order=translate.order_edit(order))
        return int(_backend(ctx).call("admin", "SaveOrder", request, Key).id)

    @rpc(Str, ClientAccountType, _returns=Long)
    def AddEditClientAccount(ctx: Any, Key: str, account: Any) -> int:
        """Adds (ClientAccountUID -1 or 0) or edits a delivery account; answers its id.
        Criteria name their field by LeadFieldUID."""
        if account is None:
            raise client_fault("account is required")
        message = translate.account_edit(account)
        paths = list(translate.ACCOUNT_FIELDS) if message.id else []
        request = admin_pb2.SaveDeliveryAccountRequest(
            account=message, update_mask=field_mask_pb2.FieldMask(paths=paths)
        )
        return int(_backend(ctx).call("admin", "SaveDeliveryAccount", request, Key).id)

    @rpc(Str, Long, Long, _returns=ClientAccountType)
    def GetClientAccount(ctx: Any, Key: str, ClientUID: int, AccountUID: int) -> Any:
        request = admin_pb2.GetDeliveryAccountRequest(id=AccountUID, client_id=max(ClientUID, 0))
        return translate.client_account(
            _backend(ctx).call("admin", "GetDeliveryAccount", request, Key)
        )

    @rpc(Str, Long, Long, Str, _returns=array_of(ClientAccountType))
    def GetAllCriteriaAccounts(
        ctx: Any, Key: str, LeadTypeUID: int, LeadFieldUID: int, Value: str | None
    ) -> list[Any]:
        request = distribution_pb2.GetAllCriteriaAccountsRequest(
            lead_type_id=LeadTypeUID, lead_field_id=LeadFieldUID, value=Value or ""
        )
        found = _backend(ctx).call("distribution", "GetAllCriteriaAccounts", request, Key)
        return [translate.client_account(a) for a in found.accounts]

    # -- distribution lists

    @rpc(Str, _returns=array_of(CustomListType))
    def GetCustomLists(ctx: Any, Key: str) -> list[Any]:
        request = admin_pb2.ListDistributionListsRequest()
        found = _backend(ctx).call("admin", "ListDistributionLists", request, Key)
        return [translate.custom_list(found_list) for found_list in found.lists]

    @rpc(Str, OptLong, Int, _returns=CustomListType)
    def GetCustomList(ctx: Any, Key: str, ClientUID: int | None, CustomListUID: int) -> Any:
        request = admin_pb2.GetDistributionListRequest(
            id=CustomListUID, client_id=max(ClientUID or 0, 0)
        )
        return translate.custom_list(
            _backend(ctx).call("admin", "GetDistributionList", request, Key)
        )

    @rpc(Str, Long, Int, Long, Bool)
    def AddClearCustomItemAssignment(
        ctx: Any, Key: str, ClientUID: int, CustomListUID: int, CustomItemUID: int, Clear: bool
    ) -> None:
        """Assigns the item (by id) to the buyer, or clears its assignment."""
        request = admin_pb2.AssignListItemRequest(
            list_id=CustomListUID,
            item_id=max(CustomItemUID, 0),
            client_id=max(ClientUID, 0),
            clear=bool(Clear),
        )
        _backend(ctx).call("admin", "AssignListItem", request, Key)

    @rpc(Str, CustomListItem, _returns=Long)
    def AddEditCustomListItem(ctx: Any, Key: str, Item: Any) -> int:
        """Adds (CustomItemUID -1 or 0) or edits a list item; answers its id."""
        if Item is None:
            raise client_fault("Item is required")
        item = buyers_pb2.DistributionListItem(
            id=max(Item.CustomItemUID or 0, 0),
            value=Item.Value or "",
            client_id=max(Item.ClientUID or 0, 0),
        )
        request = admin_pb2.SaveListItemRequest(list_id=Item.CustomListUID or 0, item=item)
        return int(_backend(ctx).call("admin", "SaveListItem", request, Key).id)

    @rpc(Str, Long)
    def SetDefaultFieldMappings(ctx: Any, Key: str, DeliveryUID: int) -> None:
        request = admin_pb2.SetDefaultFieldMappingsRequest(delivery_id=DeliveryUID)
        _backend(ctx).call("admin", "SetDefaultFieldMappings", request, Key)

    @rpc(Str, Long)
    def UpdateLeadReportCache(ctx: Any, key: str, leadUid: int) -> None:
        """Rebuilds the profit-and-loss aggregates the lead counts in (its day, its campaign)."""
        request = reports_pb2.UpdateLeadReportCacheRequest(lead_id=leadUid)
        _backend(ctx).call("reports", "UpdateLeadReportCache", request, key)

    @rpc(Str, ClientItemType, array_of(ClientFieldType), _returns=Long)
    def AddEditClient(ctx: Any, Key: str, Client: Any, FieldData: Any) -> int:
        """Adds (ClientUID -1 or 0) or edits a buyer; answers its id. FieldData sets the
        client fields GetClientData lists (Company is the buyer's name)."""
        if Client is None:
            raise client_fault("Client is required")
        try:
            client, paths = translate.client_edit(Client, FieldData)
        except ValueError as error:
            raise client_fault(str(error)) from None
        mask = field_mask_pb2.FieldMask(paths=paths if client.id else [])
        request = admin_pb2.SaveClientRequest(client=client, update_mask=mask)
        return int(_backend(ctx).call("admin", "SaveClient", request, Key).id)

    @rpc(Str, _returns=array_of(ClientGroupType))
    def GetClientGroups(ctx: Any, Key: str) -> list[Any]:
        request = admin_pb2.ListClientGroupsRequest()
        found = _backend(ctx).call("admin", "ListClientGroups", request, Key)
        return [translate.client_group(g) for g in found.groups]

    @rpc(Str, ClientGroupType, _returns=Long)
    def AddEditClientGroup(ctx: Any, Key: str, Group: Any) -> int:
        """Adds (ClientGroupUID -1 or 0) or edits a client group; answers its id.
        ClientCount is answered only."""
        if Group is None:
            raise client_fault("Group is required")
        group = admin_pb2.ClientGroup(
            id=max(Group.ClientGroupUID or 0, 0),
            name=Group.Description or "",
            display_order=Group.DisplayOrder or 0,
        )
        request = admin_pb2.SaveClientGroupRequest(group=group)
        return int(_backend(ctx).call("admin", "SaveClientGroup", request, Key).id)

    # -- portal sign-in and user names

    @rpc(Str, Str, Str, _returns=ClientItemType)
    def ClientLogin(ctx: Any, Key: str, Username: str | None, Password: str | None) -> Any:
        request = portal_pb2.SignInClientRequest(username=Username or "", password=Password or "")
        return translate.client_item(_backend(ctx).call("portal", "SignInClient", request, Key))

    @rpc(Str, Str, _returns=Bool)
    def isUsernameUnique(ctx: Any, Key: str, Username: str | None) -> bool:
        request = portal_pb2.IsClientUsernameFreeRequest(username=Username or "")
        return bool(_backend(ctx).call("portal", "IsClientUsernameFree", request, Key).free)

    @rpc(Str, Str, OptLong, _returns=Bool)
    def VendorUserNameUnique(
        ctx: Any, Key: str, UserName: str | None, VendorUID: int | None
    ) -> bool:
        request = portal_pb2.IsSourceUsernameFreeRequest(
            username=UserName or "", source_id=max(VendorUID or 0, 0)
        )
        return bool(_backend(ctx).call("portal", "IsSourceUsernameFree", request, Key).free)

    # -- lead sources and campaigns

    @rpc(Str, VendorInfoType, _returns=Long)
    def AddEditVendor(ctx: Any, Key: str, vInfo: Any) -> int:
        """Adds (LPVendorUID -1 or 0) or edits a lead source; answers its id."""
        if vInfo is None:
            raise client_fault("vInfo is required")
        source, fields = translate.source(vInfo)
        backend = _backend(ctx)
        if not source.id:
            created = backend.call(
                "admin", "CreateSource", admin_pb2.CreateSourceRequest(source=source), Key
            )
            return int(created.id)
        request = admin_pb2.UpdateSourceRequest(
            source=source, update_mask=field_mask_pb2.FieldMask(paths=fields)
        )
        return int(backend.call("admin", "UpdateSource", request, Key).id)

    @rpc(Str, VendorAccountType, _returns=Long)
    def AddEditVendorAccount(ctx: Any, Key: str, aInfo: Any) -> int:
        """Adds (VendorAccountUID -1 or 0) or edits a lead source's campaign; answers its id."""
        if aInfo is None:
            raise client_fault("aInfo is required")
        campaign = translate.campaign(aInfo)
        backend = _backend(ctx)
        if not campaign.id:
            create = admin_pb2.CreateCampaignRequest(campaign=campaign)
            return int(backend.call("admin", "CreateCampaign", create, Key).id)
        request = admin_pb2.UpdateCampaignRequest(
            campaign=campaign,
            update_mask=field_mask_pb2.FieldMask(paths=list(translate.CAMPAIGN_FIELDS)),
        )
        return int(backend.call("admin", "UpdateCampaign", request, Key).id)

    # -- lead types

    @rpc(Str, Long, _returns=array_of(LeadTypeType))
    def GetLeadTypes(ctx: Any, Key: str, LeadTypeUID: int) -> list[Any]:
        backend = _backend(ctx)
        if LeadTypeUID:
            one = backend.call(
                "admin", "GetLeadType", admin_pb2.GetLeadTypeRequest(id=LeadTypeUID), Key
            )
            types = [one]
        else:
            types = list(
                backend.call(
                    "admin", "ListLeadTypes", admin_pb2.ListLeadTypesRequest(), Key
                ).lead_types
            )
        return [translate.lead_type(t) for t in types]

    @rpc(Str, Long, Str, Str, Str, _returns=array_of(LeadSearchType))
    def SearchForLead(
        ctx: Any,
        Key: str,
        LID: int,
        Email: str | None,
        Address: str | None,
        PrimaryPhone: str | None,
    ) -> list[Any]:
        request = admin_pb2.SearchLeadsRequest(
            lead_type_id=LID,
            email=Email or "",
            address=Address or "",
            primary_phone=PrimaryPhone or "",
        )
        found = _backend(ctx).call("admin", "SearchLeads", request, Key)
        return [translate.found_lead(f) for f in found.leads]

    @rpc(Str, Long, _returns=array_of(LeadFieldType))
    def GetLeadFields(ctx: Any, Key: str, LeadTypeUID: int) -> list[Any]:
        request = admin_pb2.GetLeadTypeRequest(id=LeadTypeUID)
        found = _backend(ctx).call("admin", "GetLeadType", request, Key)
        return [translate.lead_field(f) for f in found.fields]

    # -- where a lead goes

    @rpc(Str, Long, _returns=array_of(LeadScanLogType))
    def GetLeadScanLog(ctx: Any, Key: str, LeadUID: int) -> list[Any]:
        request = distribution_pb2.GetLeadScanLogRequest(lead_id=LeadUID)
        found = _backend(ctx).call("distribution", "GetLeadScanLog", request, Key)
        return [translate.scan_log(e) for e in found.entries]

    @rpc(Str, Long, Bool, Bool, _returns=array_of(ClientScanType))
    def GetClientsForLead(
        ctx: Any, Key: str, LeadUID: int, Automated: bool, AllowOverMax: bool
    ) -> list[Any]:
        request = distribution_pb2.GetClientsForLeadRequest(
            lead_id=LeadUID, automated_only=bool(Automated), allow_over_max=bool(AllowOverMax)
        )
        found = _backend(ctx).call("distribution", "GetClientsForLead", request, Key)
        return [translate.client_scan(c) for c in found.clients]

    @rpc(Str, Long, _returns=array_of(ClientScanType))
    def GetClientsForRedirect(ctx: Any, Key: str, LeadUID: int) -> list[Any]:
        request = distribution_pb2.GetClientsForRedirectRequest(lead_id=LeadUID)
        found = _backend(ctx).call("distribution", "GetClientsForRedirect", request, Key)
        return [translate.client_scan(c) for c in found.clients]

    @rpc(Str, Long, _returns=array_of(ClientScanType))
    def GetClientsForTransfer(ctx: Any, Key: str, LeadUID: int) -> list[Any]:
        request = distribution_pb2.GetClientsForTransferRequest(lead_id=LeadUID)
        found = _backend(ctx).call("distribution", "GetClientsForTransfer", request, Key)
        return [translate.client_scan(c) for c in found.clients]

    @rpc(Str, Long, _returns=array_of(ClientSendType))
    def GetClientsForSend(ctx: Any, Key: str, LeadUID: int) -> list[Any]:
        request = distribution_pb2.GetClientsForSendRequest(lead_id=LeadUID)
        found = _backend(ctx).call("distribution", "GetClientsForSend", request, Key)
        return [translate.client_send(c) for c in found.clients]

    @rpc(Str, Long, _returns=array_of(ClientCriteriaMatchType))
    def GetClientsforCriteria(ctx: Any, key: str, lid: int) -> list[Any]:
        """The HTTP GET and POST forms carry the field values as further name-value pairs."""
        posted = ctx.in_body_doc if isinstance(ctx.in_body_doc, dict) else {}
        fields = [
            leads_pb2.FieldValue(name=name, value=values[0] if values else "")
            for name, values in posted.items()
            if name.lower() not in ("key", "lid")
        ]
        request = distribution_pb2.GetClientsForCriteriaRequest(lead_type_id=lid, fields=fields)
        found = _backend(ctx).call("distribution", "GetClientsForCriteria", request, key)
        return [translate.client_match(c) for c in found.clients]

    @rpc(Str, Long, array_of(CriteriaItemType), _returns=array_of(ClientCriteriaMatchType))
    def GetClientsforCriteriaAdvanced(
        ctx: Any, Key: str, LeadTypeUID: int, Criteria: list[Any] | None
    ) -> list[Any]:
        fields = [
            leads_pb2.FieldValue(name=c.Name or "", value=c.Value or "") for c in Criteria or ()
        ]
        request = distribution_pb2.GetClientsForCriteriaRequest(
            lead_type_id=LeadTypeUID, fields=fields
        )
        found = _backend(ctx).call("distribution", "GetClientsForCriteria", request, Key)
        return [translate.client_match(c) for c in found.clients]

    # -- manual operations

    @rpc(Str, Long, Long, Long, Long, Str, _returns=DeliveryResultType)
    def ProcessClientDelivery(
        ctx: Any,
        Key: str,
        LeadUID: int,
        ClientUID: int,
        ClientAccountUID: int,
        ClientOrderUID: int,
        Notes: str | None,
    ) -> Any:
        request = distribution_pb2.ProcessClientDeliveryRequest(
            lead_id=LeadUID,
            client_id=ClientUID,
            account_id=ClientAccountUID,
            order_id=max(ClientOrderUID, 0),
            notes=Notes or "",
        )
        result = _backend(ctx).call("distribution", "ProcessClientDelivery", request, Key)
        return translate.delivery_result(result)

    @rpc(Str, Long, _in_variable_names={"Key": "key"})
    def ResendLead(ctx: Any, Key: str, leadSendUid: int) -> None:
        request = distribution_pb2.ResendLeadRequest(send_id=leadSendUid)
        _backend(ctx).call("distribution", "ResendLead", request, Key)

    @rpc(Str, Long, Long)
    def ConfirmSale(ctx: Any, Key: str, LeadUID: int, ClientUID: int) -> None:
        request = distribution_pb2.ConfirmSaleRequest(lead_id=LeadUID, client_id=ClientUID)
        _backend(ctx).call("distribution", "ConfirmSale", request, Key)

    @rpc(Str, Long, Str, Bool, Str)
    def RedirectStatusNotify(
        ctx: Any, Key: str, LeadUID: int, Redirect: str | None, isValid: bool, Response: str | None
    ) -> None:
        request = distribution_pb2.RedirectStatusNotifyRequest(
            lead_id=LeadUID,
            redirect=Redirect or "",
            is_valid=bool(isValid),
            response=Response or "",
        )
        _backend(ctx).call("distribution", "RedirectStatusNotify", request, Key)

    @rpc(Str, Long, Long, Long, Str, Str, Long, Long, Long)
    def LogClientSend(
        ctx: Any,
        Key: str,
        ClientUID: int,
        LeadUID: int,
        DeliveryUID: int,
        PostString: str | None,
        Response: str | None,
        ClientOrderUID: int,
        ClientOrderItemUID: int,
        ClientAccountUID: int,
    ) -> None:
        request = distribution_pb2.LogClientSendRequest(
            client_id=ClientUID,
            lead_id=LeadUID,
            delivery_id=max(DeliveryUID, 0),
            post_string=PostString or "",
            response=Response or "",
            order_id=max(ClientOrderUID, 0),
            order_item_id=max(ClientOrderItemUID, 0),
            account_id=ClientAccountUID,
        )
        _backend(ctx).call("distribution", "LogClientSend", request, Key)

    # -- billing

    @rpc(Str, Long, Long, Long, Dbl, Bool, Str)
    def AddPayment(
        ctx: Any,
        Key: str,
        ClientUID: int,
        ClientOrderUID: int,
        CardTransUID: int,
        Amount: float,
        IsValid: bool,
        Response: str | None,
    ) -> None:
        request = billing_pb2.AddPaymentRequest(
            client_id=ClientUID,
            order_id=max(ClientOrderUID, 0),
            card_transaction_id=max(CardTransUID, 0),
            amount=translate.amount_text(Amount),
            is_valid=bool(IsValid),
            response=Response or "",
        )
        _backend(ctx).call("billing", "AddPayment", request, Key)

    @rpc(Str, CreditCardType)
    def AddCreditCard(ctx: Any, Key: str, card: Any) -> None:
        """Keeps the card as the payment gateway's token; the number is never stored.
        `CardType` is not kept: the brand is read from the number."""
        if card is None:
            raise client_fault("card is required")
        request = billing_pb2.AddCreditCardRequest(
            client_id=card.ClientUID or 0,
            card_number=card.CardNumber or "",
            exp_month=translate.whole(card.ExpMonth),
            exp_year=translate.whole(card.ExpYear),
            billing=billing_pb2.BillingAddress(
                company=card.Company or "",
                first_name=card.FirstName or "",
                last_name=card.LastName or "",
                name_on_card=card.NameOnCard or "",
                address=card.Bill_Address or "",
                city=card.Bill_City or "",
                state=card.Bill_State or "",
                zip=card.Bill_Zip or "",
            ),
            enabled=card.Status != 0,
            is_primary=bool(card.IsPrimary),
        )
        _backend(ctx).call("billing", "AddCreditCard", request, Key)

    @rpc(
        Str, Long, Str, Str, Str, Str, Str, Str, Str, Str, Dbl, Str,
        _returns=ClientCardTransactionType,
    )  # fmt: skip
    def RunClientCard(
        ctx: Any,
        Key: str,
        ClientUID: int,
        CardNumber: str | None,
        ExpDate: str | None,
        CVN: str | None,
        Address: str | None,
        City: str | None,
        State: str | None,
        Zip: str | None,
        CardType: str | None,
        Amount: float,
        IdempotencyKey: str | None,
    ) -> Any:
        """Charges the card given (none: the buyer's primary card on file) once per
        IdempotencyKey (our addition, optional). The billing address and CardType go
        nowhere: the card is not kept, and the brand is read from the number."""
        month, year = translate.expiry(ExpDate) if CardNumber else (0, 0)
        request = billing_pb2.RunClientCardRequest(
            client_id=ClientUID,
            amount=translate.amount_text(Amount),
            card_number=CardNumber or "",
            exp_month=month,
            exp_year=year,
            cvv=CVN or "",
            idempotency_key=IdempotencyKey or "",
        )
        charge = _backend(ctx).call("billing", "RunClientCard", request, Key)
        return translate.card_charge(charge)

    # -- site visits

    @rpc(Str, Long, _returns=SiteVisitType, _in_variable_names={"Key": "key"})
    def GetSiteVisitInformationForLead(ctx: Any, Key: str, leadUid: int) -> Any:
        request = visits_pb2.GetLeadVisitsRequest(lead_id=leadUid)
        found = _backend(ctx).call("visits", "GetLeadVisits", request, Key).visits
        if not found:
            raise GatewayFault("Client", f"lead {leadUid} has no site visit", 404)
        return translate.site_visit(found[-1])

    @rpc(Str, Str, _returns=SiteVisitType, _in_variable_names={"Key": "key"})
    def GetSiteVisitInformationForVisitId(ctx: Any, Key: str, visitId: str | None) -> Any:
        request = visits_pb2.GetVisitRequest(visit_id=visitId or "")
        return translate.site_visit(_backend(ctx).call("visits", "GetVisit", request, Key))

    # -- the marketplace

    @rpc(Str, Long, _returns=array_of(PromoCodeType))
    def GetPromoCodes(ctx: Any, Key: str, ResellerUID: int) -> list[Any]:
        """The promo codes of a reseller (ResellerUID 0 or less: every promo code)."""
        request = marketplace_pb2.ListPromoCodesRequest(reseller_id=max(ResellerUID, 0))
        found = _backend(ctx).call("marketplace", "ListPromoCodes", request, Key)
        return [translate.promo_code(p) for p in found.promo_codes]

    @rpc(Str, OptLong, OptLong, PackType, Long, OptLong, _returns=array_of(LeadPackType))
    def GetLeadPacks(
        ctx: Any,
        Key: str,
        LeadPackUID: int | None,
        LeadPackCatUID: int | None,
        Type: Any,
        ResellerUID: int,
        ClientUID: int | None,
    ) -> list[Any]:
        """Lead packs, filtered by the ids given (0 or less: any) and Type (Not_Set: any).
        ClientUID is accepted; every client pays a pack's Price (docs/soap.md)."""
        request = marketplace_pb2.ListLeadPacksRequest(
            id=max(LeadPackUID or 0, 0),
            pack_category_id=max(LeadPackCatUID or 0, 0),
            pack_type=(
                translate.enum_number(translate.PACK_TYPES, Type) if Type is not None else 0  # type: ignore[arg-type]
            ),
            reseller_id=max(ResellerUID or 0, 0),
        )
        found = _backend(ctx).call("marketplace", "ListLeadPacks", request, Key)
        return [translate.lead_pack(p) for p in found.packs]

    @rpc(Str, _returns=array_of(LeadPackCatType))
    def GetLeadPackCats(ctx: Any, Key: str) -> list[Any]:
        request = marketplace_pb2.ListNamedRequest()
        found = _backend(ctx).call("marketplace", "ListLeadPackCategories", request, Key)
        return [LeadPackCatType(LeadPackCatUID=c.id, Name=c.name) for c in found.items]

    @rpc(
        Str,
        AgedOptions,
        array_of(ClientCriteriaType),
        _returns=array_of(AgedLeadType),
    )
    def GetAgedLeadswCriteria(ctx: Any, Key: str, ao: Any, criteria: Any) -> list[Any]:
        """The aged leads the options and criteria find, oldest first (the document answers
        nothing; a caller needs the leads to pull them: docs/soap.md)."""
        if ao is None:
            raise client_fault("ao is required")
        request = translate.aged_search(ao, criteria)
        found = _backend(ctx).call("marketplace", "FindAgedLeads", request, Key)
        return [translate.aged_lead(lead) for lead in found.leads]

    @rpc(Str, DataPullType, _returns=Long)
    def AddEditDataPullInfo(ctx: Any, Key: str, data: Any) -> int:
        """Adds (DataPullUID -1 or 0) or edits a client's data pull; each lead pulled is sold
        to the client once. Answers the pull's id (the document answers nothing)."""
        if data is None:
            raise client_fault("data is required")
        try:
            pull = translate.data_pull(data)
        except ValueError as problem:
            raise client_fault(str(problem)) from None
        saved = _backend(ctx).call("marketplace", "SaveDataPull", pull, Key)
        return int(saved.pull.id)
