"""The types of service.asmx: names, property names, casing and XML types exactly as
`002_410e2038f6be29c3.txt` lists them. Where the document names a type (ClientItemType,
ClientAccountType, DeliveryType, ...) that name is used; where it does not, the name is ours
and docs/soap.md lists it. Value types (Int64, Int32, Boolean, Double, DateTime) are required
elements and strings optional, as ASMX writes them.
"""

from __future__ import annotations

from typing import Any

from spyne import (
    AnyXml,
    Array,
    Boolean,
    ComplexModel,
    DateTime,
    Double,
    Enum,
    Integer32,
    Integer64,
    Unicode,
)

TNS = "http://tempuri.org/"

_VALUE = {"min_occurs": 1, "nillable": False}
Long: Any = Integer64(**_VALUE)
OptLong: Any = Integer64  # the document's "(optional)" ids: may be left out
Int: Any = Integer32(**_VALUE)
Bool: Any = Boolean(**_VALUE)
Dbl: Any = Double(**_VALUE)
When: Any = DateTime(**_VALUE)
Str: Any = Unicode


def array_of(item: Any, name: str | None = None) -> Any:
    """ASMX's name for an array: ArrayOf + the item's type name."""
    return Array(item, type_name=name or f"ArrayOf{item.get_type_name()}")


Strings: Any = Array(Unicode(type_name="string"), type_name="ArrayOfString")
Longs: Any = Array(Integer64(type_name="long"), type_name="ArrayOfLong")


def _enum(name: str, *values: str) -> Any:
    return Enum(*values, type_name=name, **_VALUE)


ResponseErrors = _enum(
    "ResponseErrors",
    "No_Error", "System_ID_Missing", "LeadType_ID_Missing", "Vendor_ID_Missing",
    "No_Account_Found", "Outside_Criteria", "Duplicate_Lead", "Account_Disabled",
    "Post_Over_Max", "Data_Errors",
)  # fmt: skip
DataType = _enum(
    "DataType",
    "No_DataType", "Int", "Bigint", "Bit", "Money", "Decimal", "Float", "DateTime", "Varchar",
)  # fmt: skip
LeadFieldSpecialBit = _enum(
    "LeadFieldSpecialBit",
    "No_SpecialBit", "FirstName", "LastName", "Email", "PrimaryPhone", "Address", "City",
    "State", "Zip", "MobilePhone", "IPAddress", "DirectTrackAffiliateID",
    "DirectTrackCampaignID", "ClientSendNotes", "IndexDate", "Address2", "SubSource",
    "ForceID", "SubSourceCategory", "SubCategory", "StandardAddress", "StandardCity",
    "StandardState", "StandardZip", "Comments", "Country", "MobileCheck", "ContactConsent",
    "OrigFirstName", "OrigLastName", "OrigAddress", "OrigCity", "OrigState",
    "OrigPostalCode", "OrigCountry", "OrigPhoneNumber", "IPLat", "IPLong", "OrigIP",
    "ConsentText", "Status", "LastAction", "CurrentWorkflow", "DateClosed",
    "PipelineOneTimeFees", "PipelineRecurringFees",
)  # fmt: skip
ClientStatus = _enum(
    "ClientStatus",
    "New", "Pending", "Working", "Waiting", "Dead", "Inactive", "Active", "Late", "Suspended",
    "Closed",
)  # fmt: skip
ClientFieldSpecialBit = _enum(
    "ClientFieldSpecialBit",
    "NoSpecialBit", "Company", "FirstName", "LastName", "Email", "PrimaryPhone",
    "PrimaryPhoneExt", "AlternatePhone", "Address", "City", "State", "Zip",
    "AlternatePhoneExt", "FaxNumber", "Comments", "JobTitle", "WebSite", "MobilePhone",
)  # fmt: skip
ClientAutomationType = _enum("ClientAutomationType", "Price", "Priority", "RoundRobin")
OrderStatus = _enum("OrderStatus", "Closed", "Open", "OnHold")
OrderRenewal = _enum("OrderRenewal", "No_Renewal", "On_End_Date", "On_Qty_Fill")
CriteriaType = _enum("CriteriaType", "FieldValue", "Expression", "Function")
CriteriaOperator = _enum(
    "CriteriaOperator",
    "Equal", "NotEqual", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "Between", "In",
    "NotIn", "DateCompare", "Distance_Compare", "Contains", "Doesnt_Contain",
)  # fmt: skip
PackType = _enum("PackType", "Not_Set", "Standard", "Aged")


class _Model(ComplexModel):  # type: ignore[misc]  # spyne ships no types
    __namespace__ = TNS


# -- lead types and leads


class LeadTypeType(_Model):
    _type_info = [
        ("LeadTypeUID", Long),
        ("AccountUID", Long),
        ("InQC", Int),
        ("Descriptor", Str),
        ("Status", Bool),
        ("DefaultDupSets", Str),
        ("TypeUID", Int),
    ]


class LeadFieldType(_Model):
    _type_info = [
        ("LeadFieldUID", Long),
        ("LeadTypeUID", Long),
        ("Descriptor", Str),
        ("FieldDataType", DataType),
        ("Required", Bool),
        ("Status", Bool),
        ("Computed", Bool),
        ("ComputedExpr", Str),
        ("Enumerated", Bool),
        ("Validation", Str),
        ("InvalidChars", Str),
        ("FmtError", Str),
        ("FormatString", Str),
        ("isState", Bool),
        ("FieldDescription", Str),
        ("ColSpan", Int),
        ("Width", Int),
        ("Height", Int),
        ("SpecialBit", LeadFieldSpecialBit),
        ("FieldEnums", Strings),
        ("Delete", Bool),
    ]


class LeadScanLogType(_Model):
    _type_info = [("LeadUID", Long), ("ScanDate", When), ("Log", Str)]


class SiteVisitType(_Model):
    """GetSiteVisitInformationForLead and ...ForVisitId (the document names no type)."""

    _type_info = [
        ("TrackingUID", Long),
        ("VisitUID", Str),
        ("EnterDate", When),
        ("ExitDate", When),
        ("UserAgent", Str),
        ("IP", Str),
        ("URL", Str),
        ("Host", Str),
        ("EnterPage", Str),
        ("ExitPage", Str),
        ("Referrer", Str),
        ("ReferrerHost", Str),
        ("SearchEngine", Str),
        ("SearchTerm", Str),
        ("Browser", Str),
        ("OS", Str),
        ("PageViews", Int),
        ("FirstVisit", Bool),
    ]


class LeadSearchType(_Model):
    _type_info = [
        ("isValidPost", Bool),
        ("ResponseType", ResponseErrors),
        ("ResponseDetails", Str),
        ("LeadIdentifier", Long),
        ("VID", Long),
        ("AID", Long),
        ("LID", Long),
        ("PendingQCReview", Bool),
        ("Price", Dbl),
    ]


class StateType(_Model):
    _type_info = [("StateUID", Long), ("Name", Str), ("Abbr", Str)]


# -- choosing buyers


class ClientScanType(_Model):
    """GetClientsForLead, GetClientsForRedirect, GetClientsForTransfer."""

    _type_info = [
        ("ClientUID", Long),
        ("ClientAccountUID", Long),
        ("ClientOrderUID", Long),
        ("ClientOrderItemUID", Long),
        ("Automation", Bool),
    ]


_CONTACT = [
    ("ClientUID", Long),
    ("ClientName", Str),
    ("ContactFirstName", Str),
    ("ContactLastName", Str),
    ("Address", Str),
    ("Address2", Str),
    ("City", Str),
    ("State", Str),
    ("Country", Str),
    ("PostalCode", Str),
    ("PhoneNumber", Str),
    ("Email", Str),
]


class ClientSendType(_Model):
    """GetClientsForSend."""

    _type_info = [
        *_CONTACT,
        ("Notes", Str),
        ("DateSent", When),
        ("IsValid", Bool),
        ("Response", Str),
        ("Price", Dbl),
    ]


class ClientCriteriaMatchType(_Model):
    """GetClientsforCriteria, GetClientsforCriteriaAdvanced."""

    _type_info = [*_CONTACT, ("Price", Dbl), ("Website", Str)]


class CriteriaItemType(_Model):
    """GetClientsforCriteriaAdvanced's Criteria: a field's name and value."""

    _type_info = [("Name", Str), ("Value", Str)]


class DeliveryResultType(_Model):
    """ProcessClientDelivery."""

    _type_info = [("isValid", Bool), ("Status", Str), ("Response", Str)]


# -- billing


class CreditCardType(_Model):
    """AddCreditCard's `card`. The number is sent to the payment gateway and never kept."""

    _type_info = [
        ("ClientUID", Long),
        ("CardNumber", Str),
        ("ExpMonth", Str),
        ("ExpYear", Str),
        ("Company", Str),
        ("FirstName", Str),
        ("LastName", Str),
        ("NameOnCard", Str),
        ("Bill_Address", Str),
        ("Bill_City", Str),
        ("Bill_State", Str),
        ("Bill_Zip", Str),
        ("CardType", Str),
        ("Status", Int),
        ("IsPrimary", Bool),
    ]


class ClientCardTransactionType(_Model):
    """RunClientCard's answer (our name): the card masked, its security code removed."""

    _type_info = [
        ("ClientTranUID", Long),
        ("ClientUID", Long),
        ("IsValid", Bool),
        ("Response", Str),
        ("CardNumber", Str),
        ("ExpDate", Str),
        ("CVN", Str),
        ("Amount", Dbl),
        ("DateRan", When),
    ]


# -- distribution lists


class CustomListItem(_Model):
    _type_info = [
        ("CustomItemUID", Long),
        ("CustomListUID", Int),
        ("Value", Str),
        ("ClientUID", Long),
        ("ClientName", Str),
    ]


class CustomListType(_Model):
    _type_info = [
        ("CustomListUID", Int),
        ("AccountUID", Long),
        ("LeadTypeUID", Long),
        ("LeadFieldUID", Long),
        ("Description", Str),
        ("FieldName", Str),
        ("DefaultClient", Long),
        ("ClientName", Str),
        ("Assigned", Int),
        ("Unassigned", Int),
        ("Status", Int),
        ("DependField", Long),
        ("Value", Str),
        ("LinkFieldText", Str),
        ("Items", array_of(CustomListItem)),
    ]


# -- buyers


# The properties GetClientList's and ClientItemType's entries share, in the document's order.
_CLIENT_MIDDLE = [
    ("InternalUID", Long),
    ("UserUID", Long),
    ("TimeOffset", Int),
    ("Image", Strings),
    ("Notes", Str),
    ("IsLocked", Bool),
    ("LockedBy", Long),
    ("DateLocked", When),
    ("LockedReason", Str),
    ("OutLookUID", Str),
    ("TimeZoneName", Str),
    ("ResellerUID", Long),
    ("GroupUID", Long),
]


class ClientListType(_Model):
    """GetClientList."""

    _type_info = [
        ("ClientUID", Long),
        ("AccountUID", Long),
        ("DateAdded", When),
        ("Status", Int),
        *_CLIENT_MIDDLE,
        ("AutomationType", ClientAutomationType),
        ("Priority", Int),
        ("DeliveryGroupUID", Long),
        ("Username", Str),
        ("Password", Str),
        ("ShowLeadGrade", Bool),
        ("ShowLeadSource", Bool),
        ("ShowCampaign", Bool),
        ("AllowCalls", Bool),
        ("AllowReassign", Bool),
        ("UserAssigned", Long),
        ("UseDeliveryTiers", Bool),
        ("OverrideReassign", Bool),
    ]


class ClientFieldType(_Model):
    """GetClientData, and AddEditClient's FieldData."""

    _type_info = [
        ("ClientFieldUID", Long),
        ("Descriptor", Str),
        ("DataType", DataType),
        ("Required", Bool),
        ("Status", Bool),
        ("Computed", Bool),
        ("ComputedExpr", Str),
        ("Enumerated", Bool),
        ("Enums", Strings),
        ("Validation", Str),
        ("InvalidChars", Str),
        ("FormatError", Str),
        ("FormatString", Str),
        ("SpecialBit", ClientFieldSpecialBit),
        ("isState", Bool),
        ("FieldValue", Str),
        ("PastValues", Strings),
    ]


class ClientCriteriaType(_Model):
    """A delivery account's criterion."""

    _type_info = [
        ("ClientCriteriaUID", Long),
        ("LeadFieldUID", Long),
        ("Type", CriteriaType),
        ("Expression", Str),
        ("Operator", CriteriaOperator),
        ("Value", Str),
    ]


# -- delivery methods and accounts


class FieldSettingType(_Model):
    """A delivery method's field mapping (DeliveryType.FieldSettings)."""

    _type_info = [
        ("FieldName", Str),  # the buyer's parameter
        ("LeadFieldUID", Long),  # the lead field sent; 0 when a constant is sent
        ("LeadField", Str),  # the lead field's name
        ("DefaultValue", Str),  # a constant sent instead of a lead field
        ("FormatString", Str),
    ]


class DeliveryDayType(_Model):
    """A window of DeliveryType.DeliveryDays, in the buyer's time zone."""

    _type_info = [
        ("DayOfWeek", Int),  # 0 = Sunday ... 6 = Saturday, as .NET's DayOfWeek
        ("StartTime", Str),  # HH:MM
        ("EndTime", Str),  # HH:MM; 24:00 = the end of the day
    ]


class DeliveryType(_Model):
    _type_info = [
        ("ClientDeliveryUID", Long),
        ("ClientUID", Long),
        ("Type", Int),
        ("Name", Str),
        ("Status", Bool),
        ("DateAdded", When),
        ("inTesting", Bool),
        ("LeadTypeUID", Long),
        ("XML", Str),
        ("EmailTemplate", Str),
        ("EmailSubject", Str),
        ("FTPUser", Str),
        ("FTPPassword", Str),
        ("FTPPath", Str),
        ("EmailAddress", Str),
        ("useRegEx", Bool),
        ("ResponseSearch", Str),
        ("DeliveryAddress", Str),
        ("SMTPServer", Str),
        ("SMTPAuth", Bool),
        ("SMTPUsername", Str),
        ("SMTPPassword", Str),
        ("fAddress", Str),
        ("tAddress", Str),
        ("EmailNotify", Bool),
        ("NotifyCC", Str),
        ("NotifyBCC", Str),
        ("NotifyEmail", Str),
        ("LeadCatUID", Long),
        ("ClientEmail", Str),
        ("FieldSettings", array_of(FieldSettingType)),
        ("DeliveryDays", array_of(DeliveryDayType)),
    ]


class ClientAccountType(_Model):
    _type_info = [
        ("ClientAccountUID", Long),
        ("ClientUID", Long),
        ("DeliveryUID", Long),
        ("Price", Dbl),
        ("HourMax", Int),
        ("DayMax", Int),
        ("MonthMax", Int),
        ("useOrder", Bool),
        ("Status", Int),
        ("DeliveryDelay", Int),
        ("Description", Str),
        ("RedirectURL", Str),
        ("AutomationEnabled", Bool),
        ("AccountType", Int),
        ("AgentName", Str),
        ("AgentPhone", Str),
        ("Criteria", array_of(ClientCriteriaType)),
        ("DeliveryDetails", DeliveryType),
    ]


# -- orders


class ClientOrderItemType(_Model):
    _type_info = [
        ("ClientOrderItemUID", Long),
        ("ClientOrderUID", Long),
        ("ClientAccountUID", Long),  # the delivery account it is for; 0 = any of the buyer's
        ("Description", Str),
        ("Qty", Int),
        ("Sent", Int),  # return only
    ]


class ClientOrderType(_Model):
    _type_info = [
        ("ClientOrderUID", Long),
        ("ClientUID", Long),
        ("StartDate", When),
        ("EndDate", When),
        ("Qty", Int),
        ("Sent", Int),
        ("Status", OrderStatus),
        ("Renewal", OrderRenewal),
        ("AutoCharge", Bool),
        ("Items", array_of(ClientOrderItemType)),
    ]


# -- lead sources and campaigns


class VendorInfoType(_Model):
    _type_info = [
        ("LPVendorUID", Long),
        ("Name", Str),
        ("Address", Str),
        ("Address2", Str),
        ("City", Str),
        ("State", Long),
        ("Zip", Str),
        ("Phone", Str),
        ("Fax", Str),
        ("Email", Str),
        ("ReturnString", Str),
        ("ReturnPostURL", Str),
        ("SystemVendor", Bool),
        ("Status", Int),
        ("UserName", Str),
        ("Password", Str),
        ("AdminUID", Long),
        ("CherryAccountUID", Long),
        ("AccountUID", Long),
        ("ImageURL", Str),
        ("DefaultReturnDay", Int),
    ]


class RuleType(_Model):
    """A campaign rule (VendorAccountType.Rules): the lead is accepted when every rule holds."""

    _type_info = [
        ("LeadFieldUID", Long),
        ("Operator", CriteriaOperator),
        ("Value", Str),
    ]


class VendorAccountType(_Model):
    _type_info = [
        ("VendorAccountUID", Long),
        ("AccountName", Str),
        ("AccountVendorUID", Long),
        ("VendorUID", Long),
        ("AccountUID", Long),
        ("LeadTypeUID", Long),
        ("Status", Int),
        ("MonthMax", Int),
        ("DayMax", Int),
        ("HourMax", Int),
        ("Flagged", Bool),
        ("OrderSystem", Bool),
        ("ReturnDayCount", Int),
        ("ShowOnCherryPick", Bool),
        ("ClientDataVendor", Bool),
        ("countReturns", Bool),
        ("LeadPrice", Dbl),
        ("useQCBin", Bool),
        ("MaxSell", Int),
        ("DupDayMax", Int),
        ("ExclusiveClientUID", Long),
        ("LeadCatUID", Long),
        ("EmailVerify", Bool),
        ("AppendCityStateFromPostalCode", Bool),
        ("Rules", array_of(RuleType)),
        ("Validation", AnyXml),  # obsolete ValidationSettings: accepted, whatever it holds
    ]


# -- buyers (clients)


class ClientItemType(_Model):
    """AddEditClient's Client, and ClientLogin's answer."""

    _type_info = [
        ("ClientUID", Long),
        ("DateAdded", When),
        ("Status", ClientStatus),
        *_CLIENT_MIDDLE,
        ("Username", Str),
        ("Password", Str),
        ("OverrideReassign", Bool),
    ]


class ClientGroupType(_Model):
    _type_info = [
        ("ClientGroupUID", Long),
        ("Description", Str),
        ("DisplayOrder", Int),
        ("ClientCount", Int),
    ]


# -- the marketplace


class PromoCodeType(_Model):
    """GetPromoCodes' answer (our name; the document names none)."""

    _type_info = [
        ("PromoUID", Long),
        ("ResellerUID", Long),
        ("Code", Str),
        ("LeadPacks", Longs),
        ("MoneyValue", Dbl),
        ("PercentageValue", Dbl),
    ]


class LeadPackType(_Model):
    """GetLeadPacks' answer (our name; the document names none)."""

    _type_info = [
        ("Description", Str),
        ("LeadPackUID", Long),
        ("LeadTypeUID", Long),
        ("LeadTypeName", Str),
        ("ExpDate", When),
        ("Qty", Int),
        ("Price", Dbl),
        ("AccountUID", Long),
        ("LeadCatUID", Long),
        ("PackType", PackType),
        ("PackCatUID", Long),
        ("StartDayRange", Int),
        ("EndDayRange", Int),
        ("OrderMinimum", Int),
        ("OrderMaximum", Int),
        ("IncludeOverMax", Bool),
        ("Criterias", array_of(ClientCriteriaType)),
    ]


class LeadPackCatType(_Model):
    """GetLeadPackCats' answer (our name; the document names none)."""

    _type_info = [
        ("LeadPackCatUID", Long),
        ("Name", Str),
    ]


class AgedOptions(_Model):
    """GetAgedLeadswCriteria's options, as the document names them."""

    _type_info = [
        ("Customer", Long),
        ("CustomerAccount", Long),
        ("LeadPrice", Dbl),
        ("StartDay", Int),
        ("EndDay", Int),
        ("LeadCategory", OptLong),
        ("LeadTypeUID", Long),
        ("UseOverMax", Bool),
    ]


class AgedLeadType(_Model):
    """A lead GetAgedLeadswCriteria found (our name and choice: the document answers nothing)."""

    _type_info = [
        ("LeadUID", Long),
        ("DateReceived", When),
        ("Price", Dbl),
    ]


class DataPullType(_Model):
    """AddEditDataPullInfo's data, as the document names it."""

    _type_info = [
        ("DataPullUID", Long),
        ("AccountUID", Long),
        ("ClientUID", Long),
        ("ClientAccountUID", Long),
        ("Leads", Str),
        ("TotalPrice", Dbl),
        ("Status", Int),
        ("CardTransUID", Long),
    ]
