"""leadrouter.v1.AdminService: translates messages and calls the use cases, nothing more."""

from __future__ import annotations

from typing import Any, TypeAlias

from google.protobuf.json_format import MessageToDict
from leadrouter.v1 import admin_pb2, admin_pb2_grpc, buyers_pb2, callbacks_pb2, catalog_pb2

from server.domain.buyers.records import ClientGroup, StoredClient
from server.domain.catalog import instructions
from server.domain.intake.screening import ResponseType
from server.errors import InvalidArgument, Violation
from server.rpc import convert
from server.rpc.interceptor import caller
from server.rpc.leads import lead_summary
from server.services.accounts import Accounts
from server.services.buyers.edits import BuyerEdits
from server.services.buyers.groups import ClientGroups
from server.services.buyers.reads import BuyerReads
from server.services.callbacks import CallbackReports
from server.services.catalog import Catalog
from server.services.config_apply import ConfigApply
from server.services.leads import Leads
from server.services.signing_secrets import NewSigningSecret, SigningSecrets
from server.services.source_keys import SourceKeys

Context: TypeAlias = Any  # grpc.aio.ServicerContext; grpc ships no type stubs


def _account() -> int:
    return caller().account_id


class AdminServicer(admin_pb2_grpc.AdminServiceServicer):
    """The admin API of an account: its catalog, keys, buyers and config as code."""

    def __init__(
        self,
        *,
        accounts: Accounts,
        catalog: Catalog,
        buyer_reads: BuyerReads,
        buyer_edits: BuyerEdits,
        client_groups: ClientGroups,
        config: ConfigApply,
        leads: Leads,
        source_keys: SourceKeys,
        signing_secrets: SigningSecrets,
        callback_reports: CallbackReports,
        receiver_url: str,
    ) -> None:
        self._accounts = accounts
        self._catalog = catalog
        self._buyers = buyer_reads
        self._edits = buyer_edits
        self._groups = client_groups
        self._config = config
        self._leads = leads
        self._source_keys = source_keys
        self._signing_secrets = signing_secrets
        self._callbacks = callback_reports
        self._receiver_url = receiver_url

    # -- lead types and fields

    async def CreateLeadType(
        self, request: admin_pb2.CreateLeadTypeRequest, context: Context
    ) -> catalog_pb2.LeadType:
        spec = convert.lead_type_spec(request.lead_type)
        lead_type_id, stored = await self._catalog.create_lead_type(_account(), spec)
        return convert.lead_type_message(lead_type_id, stored, _account())

    async def UpdateLeadType(
        self, request: admin_pb2.UpdateLeadTypeRequest, context: Context
    ) -> catalog_pb2.LeadType:
        spec = convert.lead_type_spec(request.lead_type)
        lead_type_id = request.lead_type.id
        stored = await self._catalog.update_lead_type(_account(), lead_type_id, spec)
        return convert.lead_type_message(lead_type_id, stored, _account())

    async def GetLeadType(
        self, request: admin_pb2.GetLeadTypeRequest, context: Context
    ) -> catalog_pb2.LeadType:
        stored = await self._catalog.get_lead_type(_account(), request.id)
        return convert.lead_type_message(request.id, stored, _account())

    async def ListLeadTypes(
        self, request: admin_pb2.ListLeadTypesRequest, context: Context
    ) -> admin_pb2.ListLeadTypesResponse:
        found = await self._catalog.list_lead_types(_account())
        return admin_pb2.ListLeadTypesResponse(
            lead_types=[convert.lead_type_message(i, spec, _account()) for i, spec in found]
        )

    async def CreateLeadField(
        self, request: admin_pb2.CreateLeadFieldRequest, context: Context
    ) -> catalog_pb2.LeadField:
        spec = convert.field_spec(request.field)
        stored = await self._catalog.create_field(_account(), request.field.lead_type_id, spec)
        return convert.stored_field_message(stored)

    async def UpdateLeadField(
        self, request: admin_pb2.UpdateLeadFieldRequest, context: Context
    ) -> catalog_pb2.LeadField:
        spec = convert.field_spec(request.field)
        stored = await self._catalog.update_field(_account(), request.field.id, spec)
        return convert.stored_field_message(stored)

    async def DeleteLeadField(
        self, request: admin_pb2.DeleteLeadFieldRequest, context: Context
    ) -> admin_pb2.DeleteLeadFieldResponse:
        await self._catalog.delete_field(_account(), request.id)
        return admin_pb2.DeleteLeadFieldResponse()

    # -- sources and campaigns

    async def CreateSource(
        self, request: admin_pb2.CreateSourceRequest, context: Context
    ) -> catalog_pb2.Source:
        stored = await self._catalog.create_source(
            _account(), convert.source_spec(request.source), state_id=request.source.state_id
        )
        return convert.source_message(stored)

    async def UpdateSource(
        self, request: admin_pb2.UpdateSourceRequest, context: Context
    ) -> catalog_pb2.Source:
        spec = convert.source_spec(request.source)
        changed = convert.changed_fields(request.update_mask, request.source, "update_mask")
        stored = await self._catalog.update_source(
            _account(),
            request.source.id,
            spec,
            changed,
            state_id=convert.state_id(request.source, request.update_mask),
        )
        return convert.source_message(stored)

    async def GetSource(
        self, request: admin_pb2.GetSourceRequest, context: Context
    ) -> catalog_pb2.Source:
        return convert.source_message(await self._catalog.get_source(_account(), request.id))

    async def ListSources(
        self, request: admin_pb2.ListSourcesRequest, context: Context
    ) -> admin_pb2.ListSourcesResponse:
        found = await self._catalog.list_sources(_account())
        return admin_pb2.ListSourcesResponse(sources=[convert.source_message(s) for s in found])

    async def CreateCampaign(
        self, request: admin_pb2.CreateCampaignRequest, context: Context
    ) -> catalog_pb2.Campaign:
        spec = convert.campaign_spec(request.campaign)
        return convert.campaign_message(await self._catalog.create_campaign(_account(), spec))

    async def UpdateCampaign(
        self, request: admin_pb2.UpdateCampaignRequest, context: Context
    ) -> catalog_pb2.Campaign:
        spec = convert.campaign_spec(request.campaign)
        changed = convert.changed_fields(request.update_mask, request.campaign, "update_mask")
        stored = await self._catalog.update_campaign(_account(), request.campaign.id, spec, changed)
        return convert.campaign_message(stored)

    async def GetCampaign(
        self, request: admin_pb2.GetCampaignRequest, context: Context
    ) -> catalog_pb2.Campaign:
        stored = await self._catalog.get_campaign(_account(), request.id)
        return convert.campaign_message(stored)

    async def ListCampaigns(
        self, request: admin_pb2.ListCampaignsRequest, context: Context
    ) -> admin_pb2.ListCampaignsResponse:
        found = await self._catalog.list_campaigns(_account(), request.source_id or None)
        return admin_pb2.ListCampaignsResponse(
            campaigns=[convert.campaign_message(c) for c in found]
        )

    async def GetPostingInstructions(
        self, request: admin_pb2.GetPostingInstructionsRequest, context: Context
    ) -> admin_pb2.PostingInstructions:
        document = await self._catalog.posting_instructions(
            _account(),
            request.campaign_id or None,
            request.campaign_key,
            request.receiver_url or self._receiver_url,
        )
        return admin_pb2.PostingInstructions(
            markdown=instructions.to_markdown(document), document=convert.struct(document)
        )

    async def FindLeads(
        self, request: admin_pb2.FindLeadsRequest, context: Context
    ) -> admin_pb2.FindLeadsResponse:
        found = await self._leads.find_by_reference(_account(), request.reference, request.limit)
        return admin_pb2.FindLeadsResponse(leads=[lead_summary(lead) for lead in found])

    async def GetConsentEvidence(
        self, request: admin_pb2.GetConsentEvidenceRequest, context: Context
    ) -> admin_pb2.ConsentEvidence:
        found = await self._leads.consent(_account(), request.lead_id)
        message = admin_pb2.ConsentEvidence(
            lead_id=found.lead_id,
            reference=found.reference,
            no_sell=found.no_sell,
            tags=found.tags,
            one_to_one=found.one_to_one,
        )
        for record in found.records:
            item = message.records.add(
                id=record.id,
                delivery_account_id=record.delivery_account_id,
                client_id=record.client_id,
                offer_id=record.offer_id,
                consent=record.consent,
                consent_text=record.consent_text,
                ip_address=record.ip_address,
                user_agent=record.user_agent,
                page_url=record.page_url,
                trusted_form_cert=record.trusted_form_cert,
                jornaya_lead_id=record.jornaya_lead_id,
            )
            convert.stamp(item.consented_at, record.consented_at)
            convert.stamp(item.recorded_at, record.recorded_at)
        return message

    async def SearchLeads(
        self, request: admin_pb2.SearchLeadsRequest, context: Context
    ) -> admin_pb2.SearchLeadsResponse:
        found = await self._leads.search(
            _account(), request.lead_type_id, request.email, request.address, request.primary_phone
        )
        return admin_pb2.SearchLeadsResponse(
            leads=[
                admin_pb2.FoundLead(
                    lead=lead_summary(f.lead),
                    pending_qc=f.pending_qc,
                    is_valid_post=f.is_valid_post,
                    response_type=ResponseType(f.response_type).name,
                    response_details=f.response_details,
                )
                for f in found
            ]
        )

    # -- source API keys

    async def CreateSourceKey(
        self, request: admin_pb2.CreateSourceKeyRequest, context: Context
    ) -> admin_pb2.CreateSourceKeyResponse:
        issued = await self._source_keys.issue(_account(), request.source_id, request.name)
        return admin_pb2.CreateSourceKeyResponse(
            key=convert.key_message(issued.key), secret=issued.secret
        )

    async def ListSourceKeys(
        self, request: admin_pb2.ListSourceKeysRequest, context: Context
    ) -> admin_pb2.ListSourceKeysResponse:
        _, found = await self._source_keys.keys(_account(), request.source_id)
        return admin_pb2.ListSourceKeysResponse(keys=[convert.key_message(k) for k in found])

    async def RevokeSourceKey(
        self, request: admin_pb2.RevokeSourceKeyRequest, context: Context
    ) -> admin_pb2.RevokeSourceKeyResponse:
        await self._source_keys.revoke(_account(), request.source_id, request.key_id)
        return admin_pb2.RevokeSourceKeyResponse()

    # -- callbacks

    async def CreateSigningSecret(
        self, request: callbacks_pb2.CreateSigningSecretRequest, context: Context
    ) -> callbacks_pb2.SigningSecret:
        made = await self._signing_secrets.create(_account(), request.source_id)
        return _signing_secret_message(made)

    async def RotateSigningSecret(
        self, request: callbacks_pb2.RotateSigningSecretRequest, context: Context
    ) -> callbacks_pb2.SigningSecret:
        made = await self._signing_secrets.rotate(_account(), request.source_id)
        return _signing_secret_message(made)

    async def ListCallbackAttempts(
        self, request: callbacks_pb2.ListCallbackAttemptsRequest, context: Context
    ) -> callbacks_pb2.ListCallbackAttemptsResponse:
        found = await self._callbacks.for_post(_account(), request.post_id)
        return callbacks_pb2.ListCallbackAttemptsResponse(
            callbacks=[convert.callback_message(c) for c in found]
        )

    async def GetAccountSettings(
        self, request: callbacks_pb2.GetAccountSettingsRequest, context: Context
    ) -> callbacks_pb2.AccountSettings:
        return convert.account_settings_message(await self._accounts.settings(_account()))

    async def UpdateAccountSettings(
        self, request: callbacks_pb2.UpdateAccountSettingsRequest, context: Context
    ) -> callbacks_pb2.AccountSettings:
        changed = convert.changed_fields(request.update_mask, request.settings, "update_mask")
        if changed is not None and "queue_limit" in changed:
            raise InvalidArgument([Violation("update_mask", "queue_limit is output only")])
        settings = convert.account_settings(request.settings)
        stored = await self._accounts.update_settings(_account(), settings, changed)
        return convert.account_settings_message(stored)

    # -- buyers

    async def GetClient(
        self, request: admin_pb2.GetClientRequest, context: Context
    ) -> buyers_pb2.Client:
        if not request.id and not request.key:
            raise InvalidArgument("give the buyer's id or key")
        found = await self._buyers.get_client(_account(), request.id or None, request.key or None)
        return convert.client_message(found, _account())

    async def ListClients(
        self, request: admin_pb2.ListClientsRequest, context: Context
    ) -> admin_pb2.ListClientsResponse:
        found = await self._buyers.list_clients(_account())
        return admin_pb2.ListClientsResponse(
            clients=[convert.client_message(c, _account()) for c in found]
        )

    async def ListDistributionLists(
        self, request: admin_pb2.ListDistributionListsRequest, context: Context
    ) -> admin_pb2.ListDistributionListsResponse:
        found = await self._buyers.list_distribution_lists(_account())
        return admin_pb2.ListDistributionListsResponse(
            lists=[convert.list_message(stored, _account()) for stored in found]
        )

    async def GetDistributionList(
        self, request: admin_pb2.GetDistributionListRequest, context: Context
    ) -> buyers_pb2.DistributionList:
        found = await self._buyers.get_distribution_list(_account(), request.id, request.client_id)
        return convert.list_message(found, _account())

    async def GetDelivery(
        self, request: admin_pb2.GetDeliveryRequest, context: Context
    ) -> buyers_pb2.Delivery:
        found = await self._buyers.get_delivery(_account(), request.id)
        return convert.delivery_message(found)

    async def GetDeliveryAccount(
        self, request: admin_pb2.GetDeliveryAccountRequest, context: Context
    ) -> buyers_pb2.DeliveryAccount:
        found, method = await self._buyers.delivery_account_with_method(
            _account(), request.id, request.client_id
        )
        return convert.delivery_account_message(found, method)

    async def GetOrder(
        self, request: admin_pb2.GetOrderRequest, context: Context
    ) -> buyers_pb2.Order:
        return convert.order_message(await self._buyers.get_order(_account(), request.id))

    async def ListClientGroups(
        self, request: admin_pb2.ListClientGroupsRequest, context: Context
    ) -> admin_pb2.ListClientGroupsResponse:
        found = await self._buyers.list_client_groups(_account())
        return admin_pb2.ListClientGroupsResponse(
            groups=[convert.client_group_message(g) for g in found]
        )

    async def SaveClientGroup(
        self, request: admin_pb2.SaveClientGroupRequest, context: Context
    ) -> admin_pb2.ClientGroup:
        group = request.group
        wanted = ClientGroup(group.name, 0, group.id, group.display_order)
        return convert.client_group_message(await self._groups.save(_account(), wanted))

    # -- buyers edited by id: each save returns the entity as stored

    async def SaveClient(
        self, request: admin_pb2.SaveClientRequest, context: Context
    ) -> buyers_pb2.Client:
        posted = request.client
        spec = convert.client_spec(posted)
        account = _account()

        def as_message(current: StoredClient) -> buyers_pb2.Client:
            return convert.client_message(current, account)

        merge = convert.merge_for(request.update_mask, posted, as_message, convert.client_spec)
        client_id = await self._edits.save_client(
            _account(),
            posted.id,
            spec,
            merge=merge,
            group_id=posted.group_id,
            state_id=convert.state_id(posted, request.update_mask),
        )
        return convert.client_message(
            await self._buyers.get_client(_account(), client_id, None), _account()
        )

    async def SaveDelivery(
        self, request: admin_pb2.SaveDeliveryRequest, context: Context
    ) -> buyers_pb2.Delivery:
        message = request.delivery
        merge = convert.merge_for(
            request.update_mask, message, convert.delivery_message, convert.delivery_method
        )

        delivery_id = await self._edits.save_delivery(
            _account(), message.id, message.client_id, convert.delivery_method(message), merge=merge
        )
        found = await self._buyers.get_delivery(_account(), delivery_id)
        return convert.delivery_message(found)

    async def SaveDeliveryAccount(
        self, request: admin_pb2.SaveDeliveryAccountRequest, context: Context
    ) -> buyers_pb2.DeliveryAccount:
        message = request.account
        merge = convert.merge_for(
            request.update_mask,
            message,
            convert.delivery_account_message,
            convert.delivery_account_spec,
        )

        saved_id = await self._edits.save_delivery_account(
            _account(),
            message.id,
            message.client_id,
            convert.delivery_account_spec(message),
            merge=merge,
        )
        found = await self._buyers.get_delivery_account(_account(), saved_id, 0)
        return convert.delivery_account_message(found)

    async def SaveOrder(
        self, request: admin_pb2.SaveOrderRequest, context: Context
    ) -> buyers_pb2.Order:
        order_id = await self._edits.save_order(_account(), convert.order_edit(request.order))
        return convert.order_message(await self._buyers.get_order(_account(), order_id))

    async def SaveDistributionList(
        self, request: admin_pb2.SaveDistributionListRequest, context: Context
    ) -> buyers_pb2.DistributionList:
        list_id = await self._edits.save_list(
            _account(), convert.list_edit(request.distribution_list)
        )
        found = await self._buyers.get_distribution_list(_account(), list_id)
        return convert.list_message(found, _account())

    async def AssignListItem(
        self, request: admin_pb2.AssignListItemRequest, context: Context
    ) -> buyers_pb2.DistributionList:
        await self._edits.assign_list_item(
            _account(),
            request.list_id,
            request.value,
            request.client_id,
            clear=request.clear,
            item_id=request.item_id,
        )
        found = await self._buyers.get_distribution_list(_account(), request.list_id)
        return convert.list_message(found, _account())

    async def SaveListItem(
        self, request: admin_pb2.SaveListItemRequest, context: Context
    ) -> buyers_pb2.DistributionListItem:
        item = request.item
        saved = await self._edits.save_list_item(
            _account(), request.list_id, item.id, item.value, item.client_id
        )
        return buyers_pb2.DistributionListItem(
            id=saved.id, value=saved.value, client_id=saved.client_id or 0
        )

    async def SetDefaultFieldMappings(
        self, request: admin_pb2.SetDefaultFieldMappingsRequest, context: Context
    ) -> buyers_pb2.Delivery:
        delivery_id = await self._edits.set_default_mappings(_account(), request.delivery_id)
        return convert.delivery_message(await self._buyers.get_delivery(_account(), delivery_id))

    # -- config as code

    async def ApplyConfig(
        self, request: admin_pb2.ApplyConfigRequest, context: Context
    ) -> admin_pb2.ApplyConfigResponse:
        document = MessageToDict(request.document)
        result = await self._config.apply(_account(), document, dry_run=request.dry_run)
        return admin_pb2.ApplyConfigResponse(
            lead_types=result.lead_types,
            sources=result.sources,
            campaigns=result.campaigns,
            clients=result.clients,
            deliveries=result.deliveries,
            accounts=result.delivery_accounts,
            orders=result.orders,
            distribution_lists=result.lists,
            changes=[
                admin_pb2.ApplyChange(kind=c.kind, key=c.key, action=c.action.value)
                for c in result.changes
            ],
        )


def _signing_secret_message(made: NewSigningSecret) -> callbacks_pb2.SigningSecret:
    message = callbacks_pb2.SigningSecret(source_id=made.source_id, secret=made.secret)
    convert.stamp(message.created_at, made.created_at)
    return message
