"""The types of service.asmx: names, property names, casing and XML types exactly as
`002_410e2038f6be29c3.txt` lists them. Where the document names a type (ClientItemType,
ClientAccountType, DeliveryType, ...) that name is used; where it does not, the name is ours
and docs/soap.md lists it. Value types (Int64, Int32, Boolean, Double, DateTime) are required
elements and strings optional, as ASMX writes them.
"""

from __future__ import annotations

from typing import Any

from spyne import (
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


class ClientListType(_Model):
    """GetClientList."""

    _type_info = [
        ("ClientUID", Long),
        ("AccountUID", Long),
        ("DateAdded", When),
        ("Status", Int),
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
