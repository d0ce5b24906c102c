"""gRPC messages into service.asmx types and back: names, enumerations, Pacific time and
decimal strings. Pure functions; nothing here decides anything about a lead or a buyer."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from google.protobuf.timestamp_pb2 import Timestamp
from leadrouter.v1 import (
    admin_pb2,
    billing_pb2,
    buyers_pb2,
    catalog_pb2,
    distribution_pb2,
    marketplace_pb2,
    visits_pb2,
)

from gateways.soap import models

PACIFIC = ZoneInfo("America/Los_Angeles")
# .NET's DateTime.MinValue: what ASMX writes for a date that was never set.
NEVER = datetime(1, 1, 1)


def _names(enum: Any) -> tuple[str, ...]:
    """A LeadExec enumeration's names in order: the proto enums number them the same way."""
    return tuple(enum.__values__)


DATA_TYPES = _names(models.DataType)
SPECIAL_BITS = _names(models.LeadFieldSpecialBit)
RESPONSE_ERRORS = _names(models.ResponseErrors)
CLIENT_STATUSES = _names(models.ClientStatus)  # the proto's numbers are one higher
ACTIVE = "Active"
DEFAULT_ZONE = "America/Los_Angeles"
CRITERIA_TYPES = _names(models.CriteriaType)  # the proto's numbers are one higher
OPERATORS = _names(models.CriteriaOperator)  # the proto's numbers are one higher


def pacific(moment: Timestamp) -> datetime:
    """A stored UTC time as LeadExec answers it: Pacific wall time, no offset."""
    if not moment.seconds and not moment.nanos:
        return NEVER
    utc = moment.ToDatetime(tzinfo=UTC)
    return utc.astimezone(PACIFIC).replace(tzinfo=None)


def from_pacific(moment: datetime | None) -> Timestamp | None:
    """A DateTime sent to the API: Pacific wall time unless it carries an offset."""
    if moment is None or moment.replace(tzinfo=None) == NEVER:
        return None
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=PACIFIC)
    stamp = Timestamp()
    stamp.FromDatetime(aware.astimezone(UTC))
    return stamp


def site_visit(visit: visits_pb2.Visit) -> Any:
    return models.SiteVisitType(
        TrackingUID=visit.tracking_id,
        VisitUID=visit.visit_id,
        EnterDate=pacific(visit.enter_date),
        ExitDate=pacific(visit.exit_date),
        UserAgent=visit.user_agent,
        IP=visit.ip,
        URL=visit.url,
        Host=visit.host,
        EnterPage=visit.enter_page,
        ExitPage=visit.exit_page,
        Referrer=visit.referrer,
        ReferrerHost=visit.referrer_host,
        SearchEngine=visit.search_engine,
        SearchTerm=visit.search_term,
        Browser=visit.browser,
        OS=visit.os,
        PageViews=visit.page_views,
        FirstVisit=visit.first_visit,
    )


def money(value: str) -> float:
    """A decimal string as the document's Double; an empty price is 0."""
    try:
        return float(Decimal(value)) if value else 0.0
    except InvalidOperation:
        return 0.0


def decimal_text(value: float | None) -> str:
    """A Double sent to the API as the decimal string the services take (shortest repr)."""
    return "" if value is None else format(Decimal(repr(float(value))), "f")


def enum_number(names: tuple[str, ...], value: Any) -> int:
    """The position of an enumeration value Spyne read. Its values are not plain strings, and
    the first of each enumeration is false: test them with `is not None`."""
    return names.index(str(value))


def enum_name(names: tuple[str, ...], number: int) -> str:
    return names[number] if 0 <= number < len(names) else names[0]


def lead_type(message: catalog_pb2.LeadType) -> Any:
    return models.LeadTypeType(
        LeadTypeUID=message.id,
        AccountUID=message.account_id,
        InQC=0,  # obsolete
        Descriptor=message.name,
        Status=True,  # obsolete
        DefaultDupSets="",  # obsolete
        TypeUID=message.industry_type,
    )


def lead_field(field: catalog_pb2.LeadField) -> Any:
    special = catalog_pb2.SpecialField.Name(field.special)
    return models.LeadFieldType(
        LeadFieldUID=field.id,
        LeadTypeUID=field.lead_type_id,
        Descriptor=field.name,
        FieldDataType=enum_name(DATA_TYPES, field.data_type),
        Required=field.required,
        Status=True,  # obsolete
        Computed=bool(field.computed),
        ComputedExpr=field.computed,
        Enumerated=bool(field.enumerations),
        Validation=field.validation,
        InvalidChars=field.invalid_chars,
        FmtError="",  # obsolete
        FormatString=field.format_string,
        isState=special == "SPECIAL_FIELD_STATE",
        FieldDescription=field.description,
        ColSpan=field.col_span,
        Width=field.width,
        Height=field.height,
        SpecialBit=special_bit(field.special),
        FieldEnums=list(field.enumerations),
        Delete=False,
    )


def special_bit(number: int) -> str:
    return enum_name(SPECIAL_BITS, number)


def scan_log(entry: distribution_pb2.ScanLogEntry) -> Any:
    return models.LeadScanLogType(
        LeadUID=entry.lead_id, ScanDate=pacific(entry.scan_date), Log=entry.log
    )


def client_scan(offer: distribution_pb2.ClientOffer | distribution_pb2.ClientForLead) -> Any:
    return models.ClientScanType(
        ClientUID=offer.client_id,
        ClientAccountUID=offer.account_id,
        ClientOrderUID=offer.order_id,
        ClientOrderItemUID=offer.order_item_id,
        Automation=offer.automation,
    )


def delivery_result(result: distribution_pb2.ManualSendResult) -> Any:
    status = distribution_pb2.SendStatus.Name(result.status).removeprefix("SEND_STATUS_")
    return models.DeliveryResultType(
        isValid=result.is_valid, Status=status.title().replace("_", ""), Response=result.response
    )


def _contact(entry: distribution_pb2.ClientForSend) -> dict[str, Any]:
    return {
        "ClientUID": entry.client_id,
        "ClientName": entry.client_name,
        "ContactFirstName": entry.contact_first_name,
        "ContactLastName": entry.contact_last_name,
        "Address": entry.address,
        "Address2": entry.address2,
        "City": entry.city,
        "State": entry.state,
        "Country": entry.country,
        "PostalCode": entry.postal_code,
        "PhoneNumber": entry.phone_number,
        "Email": entry.email,
    }


def client_send(entry: distribution_pb2.ClientForSend) -> Any:
    return models.ClientSendType(
        **_contact(entry),
        Notes=entry.notes,
        DateSent=pacific(entry.date_sent),
        IsValid=entry.is_valid,
        Response=entry.response,
        Price=money(entry.price),
    )


def client_match(entry: distribution_pb2.ClientForSend) -> Any:
    return models.ClientCriteriaMatchType(
        **_contact(entry), Price=money(entry.price), Website=entry.website
    )


def text(value: str | None) -> str:
    return value or ""


# AddEditVendor: the Source fields VendorInfoType carries (State by id: 0 is none)
SOURCE_FIELDS = (
    "name", "address", "address2", "city", "state_id", "zip", "phone", "fax", "email", "status",
    "username", "default_return_days",
)  # fmt: skip


def source(info: Any) -> tuple[catalog_pb2.Source, list[str]]:
    """A VendorInfoType as a Source and the fields it changes. An empty Password keeps the
    stored one: LeadExec clients send the whole type back, password included or not."""
    message = catalog_pb2.Source(
        id=max(info.LPVendorUID or 0, 0),
        name=text(info.Name),
        address=text(info.Address),
        address2=text(info.Address2),
        city=text(info.City),
        state_id=max(info.State or 0, 0),  # the service turns it into the state's abbreviation
        zip=text(info.Zip),
        phone=text(info.Phone),
        fax=text(info.Fax),
        email=text(info.Email),
        status=info.Status or 0,  # type: ignore[arg-type]  # the service checks the number
        username=text(info.UserName),
        default_return_days=info.DefaultReturnDay or 0,
    )
    fields = list(SOURCE_FIELDS)
    if info.Password:
        message.password = info.Password
        fields.append("password")
    return message, fields


# -- buyers


def client_status(number: int) -> str:
    """A buyer's status by LeadExec's name; unset is Active, as the services read it."""
    return CLIENT_STATUSES[number - 1] if 1 <= number <= len(CLIENT_STATUSES) else ACTIVE


def hours_offset(zone: str) -> int:
    """The time zone's offset from UTC in whole hours now (LeadExec's TimeOffset)."""
    offset = datetime.now(ZoneInfo(zone or DEFAULT_ZONE)).utcoffset()
    return int(offset.total_seconds() // 3600) if offset is not None else 0


def _obsolete_lock() -> dict[str, Any]:
    return {
        "InternalUID": 0,
        "Image": [],
        "IsLocked": False,
        "LockedBy": 0,
        "DateLocked": NEVER,
        "LockedReason": "",
        "OutLookUID": "",
    }


def client_item(client: buyers_pb2.Client) -> Any:
    """ClientLogin's answer. Passwords are stored as hashes only: Password is empty."""
    return models.ClientItemType(
        ClientUID=client.id,
        DateAdded=pacific(client.created_at),
        Status=client_status(client.status),
        UserUID=0,  # leadrouter has no users of its own: admin keys act for the account
        TimeOffset=hours_offset(client.time_zone),
        Notes=client.notes,
        TimeZoneName=client.time_zone or DEFAULT_ZONE,
        ResellerUID=-1,  # resellers come with the marketplace
        GroupUID=client.group_id,
        Username=client.username,
        Password="",
        OverrideReassign=client.portal.override_reassign,
        **_obsolete_lock(),
    )


_AUTOMATION = {
    buyers_pb2.AUTOMATION_PRIORITY: "Priority",
    buyers_pb2.AUTOMATION_ROUND_ROBIN: "RoundRobin",
    # LeadExec has no share-based types: they take turns, as round robin does
    buyers_pb2.AUTOMATION_WEIGHTED: "RoundRobin",
    buyers_pb2.AUTOMATION_PERCENTAGE: "RoundRobin",
}


def client_list_entry(client: buyers_pb2.Client) -> Any:
    """GetClientList's entry."""
    return models.ClientListType(
        ClientUID=client.id,
        AccountUID=client.account_id,
        DateAdded=pacific(client.created_at),
        Status=CLIENT_STATUSES.index(client_status(client.status)),
        UserUID=0,
        TimeOffset=hours_offset(client.time_zone),
        Notes=client.notes,
        TimeZoneName=client.time_zone or DEFAULT_ZONE,
        ResellerUID=-1,
        GroupUID=client.group_id,
        AutomationType=_AUTOMATION.get(client.automation, "Price"),
        Priority=client.priority if client.HasField("priority") else 1,
        DeliveryGroupUID=0,  # delivery groups are named, not numbered (docs/soap.md)
        Username=client.username,
        Password="",
        ShowLeadGrade=client.portal.show_lead_grade,
        ShowLeadSource=client.portal.show_lead_source,
        ShowCampaign=client.portal.show_campaign,
        AllowCalls=client.portal.allow_calls,
        AllowReassign=client.portal.allow_reassign,
        UserAssigned=0,
        UseDeliveryTiers=client.use_delivery_tiers,
        OverrideReassign=client.portal.override_reassign,
        **_obsolete_lock(),
    )


# GetClientData's fields: LeadExec's client field ids are its ClientFieldSpecialBit numbers;
# the two fields with no special bit take ids from 101. (id, Descriptor, bit, Client field)
CLIENT_FIELDS: tuple[tuple[int, str, str, str], ...] = (
    (1, "Company", "Company", "name"),
    (2, "FirstName", "FirstName", "contact_first_name"),
    (3, "LastName", "LastName", "contact_last_name"),
    (4, "Email", "Email", "email"),
    (5, "PrimaryPhone", "PrimaryPhone", "phone"),
    (6, "PrimaryPhoneExt", "PrimaryPhoneExt", "phone_ext"),
    (7, "AlternatePhone", "AlternatePhone", "alternate_phone"),
    (8, "Address", "Address", "address"),
    (9, "City", "City", "city"),
    (10, "State", "State", "state"),
    (11, "Zip", "Zip", "postal_code"),
    (12, "AlternatePhoneExt", "AlternatePhoneExt", "alternate_phone_ext"),
    (13, "FaxNumber", "FaxNumber", "fax"),
    (14, "Comments", "Comments", "notes"),
    (15, "JobTitle", "JobTitle", "job_title"),
    (16, "WebSite", "WebSite", "website"),
    (17, "MobilePhone", "MobilePhone", "mobile_phone"),
    (101, "Address2", "NoSpecialBit", "address2"),
    (102, "Country", "NoSpecialBit", "country"),
)


def client_fields(client: buyers_pb2.Client) -> list[Any]:
    return [
        models.ClientFieldType(
            ClientFieldUID=uid,
            Descriptor=descriptor,
            DataType="Varchar",
            Required=attribute == "name",
            Status=True,  # obsolete
            Computed=False,
            ComputedExpr="",
            Enumerated=False,
            Enums=[],
            Validation="",
            InvalidChars="",
            FormatError="",
            FormatString="",
            SpecialBit=bit,
            isState=attribute == "state",
            FieldValue=_client_field_value(client, attribute),
            PastValues=[],
        )
        for uid, descriptor, bit, attribute in CLIENT_FIELDS
    ]


def _client_field_value(client: buyers_pb2.Client, attribute: str) -> str:
    if attribute == "state":  # an isState field holds the state's id (GetStateList's StateUID)
        return str(client.state_id) if client.state_id else ""
    return str(getattr(client, attribute))


def _state_id(value: str) -> int | None:
    """A State field value of digits as a state id; None for anything else (text is kept as
    text: integrations send "CA" too)."""
    digits = value.strip()
    if not (digits.isascii() and digits.isdigit()):
        return None
    if int(digits) >= 2**63:
        raise ValueError(f"FieldData: State {digits} is no state id")
    return int(digits)


# -- distribution lists


def custom_list(found: buyers_pb2.DistributionList) -> Any:
    return models.CustomListType(
        CustomListUID=found.id,
        AccountUID=found.account_id,
        LeadTypeUID=found.lead_type_id,
        LeadFieldUID=found.field_id,
        Description=found.description,
        FieldName=found.field,
        DefaultClient=found.default_client_id,
        ClientName=found.default_client_name,
        Assigned=found.assigned,
        Unassigned=found.unassigned,
        Status=found.status,
        DependField=found.depend_field_id,
        Value=found.depend_value,
        LinkFieldText=found.depend_field,
        Items=[
            models.CustomListItem(
                CustomItemUID=item.id,
                CustomListUID=found.id,
                Value=item.value,
                ClientUID=item.client_id,
                ClientName=item.client_name,
            )
            for item in found.items
        ],
    )


# -- delivery methods and accounts


def _template_of(delivery: buyers_pb2.Delivery, kind: int) -> str:
    return delivery.template if delivery.type == kind else ""


def delivery(found: buyers_pb2.Delivery) -> Any:
    """A delivery method as DeliveryType. Passwords are write-only: answered empty."""
    return models.DeliveryType(
        ClientDeliveryUID=found.id,
        ClientUID=found.client_id,
        Type=found.type,
        Name=found.name,
        Status=found.enabled,
        DateAdded=pacific(found.created_at),
        inTesting=found.in_testing,
        LeadTypeUID=found.lead_type_id,
        XML=_template_of(found, buyers_pb2.DELIVERY_TYPE_XML_POST),
        EmailTemplate=_template_of(found, buyers_pb2.DELIVERY_TYPE_EMAIL),
        EmailSubject=found.email_subject,
        FTPUser=found.ftp_username,
        FTPPassword="",
        FTPPath=found.address if found.type == buyers_pb2.DELIVERY_TYPE_FTP else "",
        EmailAddress=found.email_to,
        useRegEx=found.use_regex,
        ResponseSearch=found.response_search,
        DeliveryAddress=found.address,
        SMTPServer=found.smtp_host,
        SMTPAuth=bool(found.smtp_username),
        SMTPUsername=found.smtp_username,
        SMTPPassword="",
        fAddress=found.email_from,
        tAddress=found.email_to,
        EmailNotify=found.email_notify,
        NotifyCC=found.email_cc,
        NotifyBCC=found.email_bcc,
        NotifyEmail=found.notify_email,
        LeadCatUID=found.lead_category_id,
        ClientEmail=found.client_email,
        FieldSettings=[
            models.FieldSettingType(
                FieldName=m.param,
                LeadFieldUID=m.field_id,
                LeadField=m.field,
                DefaultValue=m.constant,
                FormatString=m.format,
            )
            for m in found.mappings
        ],
        DeliveryDays=[
            # leadrouter numbers Monday 0 .. Sunday 6; .NET's DayOfWeek is Sunday 0 .. Saturday 6
            models.DeliveryDayType(DayOfWeek=(d.weekday + 1) % 7, StartTime=d.start, EndTime=d.end)
            for d in found.days
        ],
    )


def _cap(message: buyers_pb2.DeliveryAccount, name: Any) -> int:
    """A cap as LeadExec answers it: -1 when there is none."""
    return int(getattr(message, name)) if message.HasField(name) else -1


def client_account(
    account: buyers_pb2.DeliveryAccount, method: buyers_pb2.Delivery | None = None
) -> Any:
    """A delivery account as ClientAccountType, with its delivery method when given."""
    if method is None and account.HasField("delivery"):
        method = account.delivery
    return models.ClientAccountType(
        ClientAccountUID=account.id,
        ClientUID=account.client_id,
        DeliveryUID=account.delivery_id,
        Price=money(account.price),
        HourMax=_cap(account, "hour_max"),
        DayMax=_cap(account, "day_max"),
        MonthMax=_cap(account, "month_max"),
        useOrder=account.use_order,
        Status=account.status or 1,
        DeliveryDelay=account.delivery_delay_seconds,
        Description=account.description,
        RedirectURL=account.redirect_url,
        AutomationEnabled=(
            account.automation_enabled if account.HasField("automation_enabled") else True
        ),
        AccountType=account.account_type,
        AgentName=account.agent_name,
        AgentPhone=account.agent_phone,
        Criteria=[criterion_type(c) for c in account.criteria],
        DeliveryDetails=delivery(method) if method is not None else None,
    )


# AddEditVendorAccount: the Campaign fields VendorAccountType carries. LeadExec's campaign has
# one price, per lead: editing one sets its price per lead (docs/soap.md).
CAMPAIGN_FIELDS = (
    "name", "source_id", "lead_type_id", "status", "month_max", "day_max", "hour_max",
    "return_days", "count_returns", "price_per_lead", "use_qc_bin", "max_sell", "dup_day_max",
    "email_verify", "append_city_state_from_zip", "rules", "lead_category_id",
)  # fmt: skip


def campaign(info: Any) -> catalog_pb2.Campaign:
    """A VendorAccountType as a Campaign (the obsolete properties are left out). LeadExec's
    campaigns have no channel: a new one takes posts (an edit keeps its channel)."""
    rules = [
        catalog_pb2.Rule(
            field_id=max(r.LeadFieldUID or 0, 0),
            operator=enum_number(OPERATORS, r.Operator) + 1 if r.Operator is not None else 0,  # type: ignore[arg-type]
            value=text(r.Value),
        )
        for r in (info.Rules or ())
    ]
    return catalog_pb2.Campaign(
        id=max(info.VendorAccountUID or 0, 0),
        channel=catalog_pb2.CHANNEL_POST,
        name=text(info.AccountName),
        source_id=max(info.VendorUID or 0, 0) or max(info.AccountVendorUID or 0, 0),
        lead_type_id=max(info.LeadTypeUID or 0, 0),
        lead_category_id=max(info.LeadCatUID or 0, 0),
        status=info.Status or 0,  # type: ignore[arg-type]  # the service checks the number
        month_max=info.MonthMax,
        day_max=info.DayMax,
        hour_max=info.HourMax,
        return_days=info.ReturnDayCount or 0,
        count_returns=bool(info.countReturns),
        price_per_lead=decimal_text(info.LeadPrice or 0.0),
        use_qc_bin=bool(info.useQCBin),
        max_sell=info.MaxSell,
        dup_day_max=info.DupDayMax,
        email_verify=bool(info.EmailVerify),
        append_city_state_from_zip=bool(info.AppendCityStateFromPostalCode),
        rules=rules,
    )


def found_lead(found: admin_pb2.FoundLead) -> Any:
    """SearchForLead's entry: the lead and what its post was answered."""
    lead = found.lead
    return models.LeadSearchType(
        isValidPost=found.is_valid_post,
        ResponseType=found.response_type or RESPONSE_ERRORS[0],
        ResponseDetails=found.response_details,
        LeadIdentifier=lead.id,
        VID=lead.source_id,
        AID=lead.campaign_id,
        LID=lead.lead_type_id,
        PendingQCReview=found.pending_qc,
        Price=money(lead.price),
    )


def client_group(group: admin_pb2.ClientGroup) -> Any:
    return models.ClientGroupType(
        ClientGroupUID=group.id,
        Description=group.name,
        DisplayOrder=group.display_order,
        ClientCount=group.client_count,
    )


_CLIENT_FIELD_ATTRIBUTE = {uid: attribute for uid, _, _, attribute in CLIENT_FIELDS}


def client_edit(item: Any, field_data: Any) -> tuple[buyers_pb2.Client, list[str]]:
    """AddEditClient's Client and FieldData as a Client and the fields they set. FieldData
    items are named by ClientFieldUID (GetClientData's ids); an unknown one is refused. The
    State field's value is a state id when it is digits (state_id; 0 clears), else text. An
    empty Password keeps the stored one; GroupUID 0 means no group. Of the portal settings
    the type carries OverrideReassign only: an edit keeps the others."""
    client = buyers_pb2.Client(
        id=max(item.ClientUID or 0, 0),
        status=client_status_number(item.Status),  # type: ignore[arg-type]
        time_zone=text(item.TimeZoneName),
        notes=text(item.Notes),
        username=text(item.Username),
        group_id=max(item.GroupUID or 0, 0),
        portal=buyers_pb2.PortalSettings(override_reassign=bool(item.OverrideReassign)),
    )
    paths = ["status", "time_zone", "notes", "username", "group", "portal.override_reassign"]
    if item.Password:
        client.password = item.Password
        paths.append("password")
    for entry in field_data or ():
        attribute = _CLIENT_FIELD_ATTRIBUTE.get(entry.ClientFieldUID or 0)
        if attribute is None:
            raise ValueError(f"FieldData: no client field {entry.ClientFieldUID}")
        value = text(entry.FieldValue)
        state_id = _state_id(value) if attribute == "state" else None
        if state_id is not None:  # the service turns it into the state's abbreviation
            attribute, client.state_id = "state_id", state_id
        else:
            setattr(client, attribute, value)
        if attribute not in paths:
            paths.append(attribute)
    return client, paths


def client_status_number(name: Any) -> int:
    """A ClientStatus name as the proto's number (one higher); none: Active."""
    return enum_number(CLIENT_STATUSES, name) + 1 if name is not None else 0


# AddEditClientAccount: the DeliveryAccount fields ClientAccountType carries (its
# DeliveryDetails are the delivery method's, saved with AddEditClientDelivery)
ACCOUNT_FIELDS = (
    "client_id", "delivery_id", "price", "hour_max", "day_max", "month_max", "use_order",
    "status", "delivery_delay_seconds", "description", "redirect_url", "automation_enabled",
    "account_type", "agent_name", "agent_phone", "criteria",
)  # fmt: skip


def account_edit(account: Any) -> buyers_pb2.DeliveryAccount:
    criteria = [criterion_message(c) for c in (account.Criteria or ())]
    return buyers_pb2.DeliveryAccount(
        id=max(account.ClientAccountUID or 0, 0),
        client_id=max(account.ClientUID or 0, 0),
        delivery_id=max(account.DeliveryUID or 0, 0),
        price=decimal_text(account.Price or 0.0),
        hour_max=account.HourMax,
        day_max=account.DayMax,
        month_max=account.MonthMax,
        use_order=bool(account.useOrder),
        status=account.Status or 0,  # type: ignore[arg-type]  # the service checks the number
        delivery_delay_seconds=account.DeliveryDelay or 0,
        description=text(account.Description),
        redirect_url=text(account.RedirectURL),
        automation_enabled=bool(account.AutomationEnabled),
        account_type=account.AccountType or 0,  # type: ignore[arg-type]
        agent_name=text(account.AgentName),
        agent_phone=text(account.AgentPhone),
        criteria=criteria,
    )


# AddEditClientDelivery: the Delivery fields DeliveryType carries (passwords when given)
DELIVERY_FIELDS = (
    "client_id", "type", "name", "enabled", "in_testing", "lead_type_id", "template",
    "email_subject", "ftp_username", "address", "email_to", "use_regex", "response_search",
    "smtp_host", "smtp_username", "email_from", "email_cc", "email_bcc", "mappings", "days",
    "email_notify", "notify_email", "client_email",
)  # fmt: skip


def delivery_edit(found: Any) -> tuple[buyers_pb2.Delivery, list[str]]:
    """A DeliveryType as a Delivery and the fields it sets (LeadCatUID when given: 0 clears
    it). The template is `XML` for an XML
    POST method and `EmailTemplate` for an email one (else whichever is given); FTPPath is an
    FTP method's address when DeliveryAddress is empty; EmailAddress, else tAddress, is whom
    an email goes to, and NotifyEmail, else tAddress, whom a notification goes to."""
    kind = found.Type or 0
    xml, email_template = text(found.XML), text(found.EmailTemplate)
    if kind == buyers_pb2.DELIVERY_TYPE_EMAIL:
        template = email_template or xml
    else:
        template = xml or email_template
    address = text(found.DeliveryAddress)
    if kind == buyers_pb2.DELIVERY_TYPE_FTP and not address:
        address = text(found.FTPPath)
    message = buyers_pb2.Delivery(
        id=max(found.ClientDeliveryUID or 0, 0),
        client_id=max(found.ClientUID or 0, 0),
        type=kind,  # type: ignore[arg-type]  # the service checks the number
        name=text(found.Name),
        enabled=bool(found.Status),
        in_testing=bool(found.inTesting),
        lead_type_id=max(found.LeadTypeUID or 0, 0),
        template=template,
        email_subject=text(found.EmailSubject),
        ftp_username=text(found.FTPUser),
        address=address,
        email_to=text(found.EmailAddress) or text(found.tAddress),
        use_regex=bool(found.useRegEx),
        response_search=text(found.ResponseSearch),
        smtp_host=text(found.SMTPServer),
        smtp_username=text(found.SMTPUsername),
        email_from=text(found.fAddress),
        email_cc=text(found.NotifyCC),
        email_bcc=text(found.NotifyBCC),
        email_notify=bool(found.EmailNotify),
        notify_email=text(found.NotifyEmail) or (text(found.tAddress) if found.EmailNotify else ""),
        client_email=text(found.ClientEmail),
        lead_category_id=max(found.LeadCatUID or 0, 0),
        mappings=[
            buyers_pb2.FieldMapping(
                param=text(m.FieldName),
                field=text(m.LeadField),
                field_id=max(m.LeadFieldUID or 0, 0),
                constant=text(m.DefaultValue),
                format=text(m.FormatString),
            )
            for m in (found.FieldSettings or ())
        ],
        days=[
            # .NET's DayOfWeek is Sunday 0 .. Saturday 6; leadrouter numbers Monday 0 .. Sunday 6
            buyers_pb2.DayWindow(
                weekday=((d.DayOfWeek or 0) + 6) % 7, start=text(d.StartTime), end=text(d.EndTime)
            )
            for d in (found.DeliveryDays or ())
        ],
    )
    paths = list(DELIVERY_FIELDS)
    if found.LeadCatUID is not None:  # left out: the method keeps its lead category
        paths.append("lead_category_id")
    for name, value in (
        ("ftp_password", found.FTPPassword),
        ("smtp_password", found.SMTPPassword),
    ):
        if value:
            setattr(message, name, value)
            paths.append(name)
    return message, paths


ORDER_STATUSES = {"Open": buyers_pb2.ORDER_STATUS_OPEN, "Closed": buyers_pb2.ORDER_STATUS_CLOSED,
                  "OnHold": buyers_pb2.ORDER_STATUS_ON_HOLD}  # fmt: skip
RENEWALS = _names(models.OrderRenewal)  # the proto's numbers are the same


def order_edit(order: Any) -> buyers_pb2.Order:
    """A ClientOrderType as an Order: its items are the order's complete list. Qty and Sent
    are answered only."""
    message = buyers_pb2.Order(
        id=max(order.ClientOrderUID or 0, 0),
        client_id=max(order.ClientUID or 0, 0),
        status=ORDER_STATUSES.get(str(order.Status), buyers_pb2.ORDER_STATUS_UNSPECIFIED),
        renewal=enum_number(RENEWALS, order.Renewal) if order.Renewal is not None else 0,  # type: ignore[arg-type]
        auto_charge=bool(order.AutoCharge),
        items=[
            buyers_pb2.OrderItem(
                id=max(i.ClientOrderItemUID or 0, 0),
                account_id=max(i.ClientAccountUID or 0, 0),
                description=text(i.Description),
                quantity=i.Qty or 0,
            )
            for i in (order.Items or ())
        ],
    )
    for name, moment in (("start", order.StartDate), ("end", order.EndDate)):
        stamp = from_pacific(moment)
        if stamp is not None:
            getattr(message, name).CopyFrom(stamp)
    return message


# -- billing

_EXPIRY = re.compile(r"^\s*(\d{1,2})\s*[/-]?\s*(\d{2}|\d{4})\s*$")
CHARGE_PENDING = "pending"


def amount_text(value: float) -> str:
    """A Double amount as the decimal string the service takes (it rounds to the cent)."""
    return repr(float(value))


def expiry(text: str | None) -> tuple[int, int]:
    """RunClientCard's ExpDate, `MM/YY`, `MMYY`, `MM/YYYY` or `MMYYYY`, as a month and a year
    (0, 0 when it is none of them: the service refuses it)."""
    found = _EXPIRY.match(text or "")
    if found is None:
        return 0, 0
    month, year = int(found[1]), int(found[2])
    return month, year + 2000 if year < 100 else year


def card_charge(charge: Any) -> models.ClientCardTransactionType:
    """A card charge as RunClientCard answers it: the number masked, the code removed. A
    charge the gateway left pending is not valid (yet): its Response says to retry."""
    state = billing_pb2.ChargeState.Name(charge.state).removeprefix("CHARGE_STATE_").lower()
    response = charge.response
    if state == CHARGE_PENDING:
        response = f"Pending: {response}" if response else "Pending"
    return models.ClientCardTransactionType(
        ClientTranUID=charge.id,
        ClientUID=charge.client_id,
        IsValid=state == "approved",
        Response=response,
        CardNumber=f"************{charge.last_four}" if charge.last_four else "",
        ExpDate=f"{charge.exp_month:02d}/{charge.exp_year}" if charge.exp_year else "",
        CVN="",
        Amount=money(charge.amount),
        DateRan=pacific(charge.created_at),
    )


def whole(text: str | None) -> int:
    """A number sent as text (a card's ExpMonth, ExpYear); 0 when it is none (the service
    refuses it)."""
    try:
        return int((text or "").strip())
    except ValueError:
        return 0


# -- the marketplace

PACK_TYPES = _names(models.PackType)  # the proto's numbers are the same


def criterion_message(c: Any) -> buyers_pb2.Criterion:
    """A ClientCriteriaType sent to the API as the criterion the services take."""
    return buyers_pb2.Criterion(
        id=max(c.ClientCriteriaUID or 0, 0),  # -1: a new criterion
        type=enum_number(CRITERIA_TYPES, c.Type) + 1 if c.Type is not None else 0,  # type: ignore[arg-type]
        field_id=max(c.LeadFieldUID or 0, 0),
        operator=enum_number(OPERATORS, c.Operator) + 1 if c.Operator is not None else 0,  # type: ignore[arg-type]
        value=text(c.Value),
        expression=text(c.Expression),
    )


def criterion_type(c: buyers_pb2.Criterion) -> Any:
    return models.ClientCriteriaType(
        ClientCriteriaUID=c.id,
        LeadFieldUID=c.field_id,
        Type=enum_name(CRITERIA_TYPES, max(c.type - 1, 0)),
        Expression=c.expression,
        Operator=enum_name(OPERATORS, max(c.operator - 1, 0)),
        Value=c.value,
    )


def lead_pack(pack: marketplace_pb2.LeadPack) -> Any:
    return models.LeadPackType(
        Description=pack.description,
        LeadPackUID=pack.id,
        LeadTypeUID=pack.lead_type_id,
        LeadTypeName=pack.lead_type_name,
        ExpDate=pacific(pack.expires_at),
        Qty=pack.quantity,
        Price=money(pack.price),
        AccountUID=pack.account_id,
        LeadCatUID=pack.lead_category_id,
        PackType=enum_name(PACK_TYPES, pack.pack_type),
        PackCatUID=pack.pack_category_id,
        StartDayRange=pack.start_day,
        EndDayRange=pack.end_day,
        OrderMinimum=pack.order_min,
        OrderMaximum=pack.order_max,
        IncludeOverMax=pack.include_over_max,
        Criterias=[criterion_type(c) for c in pack.criteria],
    )


def promo_code(promo: marketplace_pb2.PromoCode) -> Any:
    return models.PromoCodeType(
        PromoUID=promo.id,
        ResellerUID=promo.reseller_id,
        Code=promo.code,
        LeadPacks=list(promo.pack_ids),
        MoneyValue=money(promo.money_value),
        PercentageValue=money(promo.percent_value),
    )


def aged_search(options: Any, criteria: Any) -> marketplace_pb2.FindAgedLeadsRequest:
    return marketplace_pb2.FindAgedLeadsRequest(
        client_id=max(options.Customer or 0, 0),
        delivery_account_id=max(options.CustomerAccount or 0, 0),
        lead_type_id=max(options.LeadTypeUID or 0, 0),
        start_day=options.StartDay or 0,
        end_day=options.EndDay or 0,
        lead_category_id=max(options.LeadCategory or 0, 0),
        use_over_max=bool(options.UseOverMax),
        criteria=[criterion_message(c) for c in (criteria or ())],
        lead_price=decimal_text(options.LeadPrice or 0.0),
    )


def aged_lead(lead: marketplace_pb2.AgedLead) -> Any:
    return models.AgedLeadType(
        LeadUID=lead.lead_id, DateReceived=pacific(lead.received_at), Price=money(lead.price)
    )


def data_pull(data: Any) -> marketplace_pb2.DataPull:
    """A DataPullType sent to the API; its Leads (`12|15`) are read by the service, which
    refuses what is not a lead id."""
    ids = []
    for part in text(data.Leads).split("|"):
        part = part.strip()
        if part:
            if not part.isdigit():
                raise ValueError(f"Leads: {part[:30]!r} is not a lead id")
            ids.append(int(part))
    return marketplace_pb2.DataPull(
        id=max(data.DataPullUID or 0, 0),
        client_id=max(data.ClientUID or 0, 0),
        delivery_account_id=max(data.ClientAccountUID or 0, 0),
        lead_ids=ids,
        total_price=decimal_text(data.TotalPrice or 0.0),
        status=data.Status or 0,
        card_transaction_id=data.CardTransUID or 0,
    )
