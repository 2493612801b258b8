"""Field definitions of the sandbox org's Contact, Lead and Case (standard and custom fields).

Names, types and lengths follow Salesforce's field reference; the custom fields (``__c``) are
the demo org's own. Formula fields report the formula's result type, as describe does.
"""

from __future__ import annotations

from typing import Any

from toolkit.sandbox.salesforce.schema import ChildRelationship, FieldDef, ObjectDef

SALUTATIONS = ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
INDUSTRIES = (
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Other",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
)
LOYALTY_TIERS = ("Bronze", "Silver", "Gold", "Platinum")
INTERESTS = ("Running", "Cycling", "Yoga", "Travel", "Food")
PRODUCTS = ("Software", "Hardware", "Consulting", "Training", "Support")
LANGUAGES = ("German", "French", "English", "Italian", "Spanish")

FULL_NAME_FORMULA = 'FirstName & " " & LastName'
DAYS_SINCE_CREATED_FORMULA = "TODAY() - DATEVALUE(CreatedDate)"


def _text(name: str, label: str, length: int, type_: str = "string", **kw: Any) -> FieldDef:
    if type_ == "textarea" and length > 255:
        kw.setdefault("filterable", False)
        kw.setdefault("sortable", False)
    return FieldDef(name, label, type_, length=length, **kw)


def _pick(name: str, label: str, values: tuple[str, ...], type_: str = "picklist", **kw: Any) -> FieldDef:
    return FieldDef(
        name, label, type_, length=4099 if type_ == "multipicklist" else 255, picklist=values, **kw
    )


def _bool(name: str, label: str, **kw: Any) -> FieldDef:
    return FieldDef(
        name, label, "boolean", nillable=False, defaulted_on_create=True, default_value=False, **kw
    )


def _ref(name: str, label: str, to: str, rel: str, **kw: Any) -> FieldDef:
    return FieldDef(name, label, "reference", length=18, reference_to=(to,), relationship_name=rel, **kw)


def _system(name: str, label: str, type_: str, **kw: Any) -> FieldDef:
    """A field the server sets (never writable by the API user)."""
    kw.setdefault("nillable", False)
    kw.setdefault("defaulted_on_create", True)
    return FieldDef(name, label, type_, createable=False, updateable=False, **kw)


def _audit_fields() -> list[FieldDef]:
    return [
        _system("CreatedDate", "Created Date", "datetime"),
        _system(
            "CreatedById",
            "Created By ID",
            "reference",
            length=18,
            reference_to=("User",),
            relationship_name="CreatedBy",
        ),
        _system("LastModifiedDate", "Last Modified Date", "datetime"),
        _system(
            "LastModifiedById",
            "Last Modified By ID",
            "reference",
            length=18,
            reference_to=("User",),
            relationship_name="LastModifiedBy",
        ),
        _system("SystemModstamp", "System Modstamp", "datetime"),
    ]


def _head(object_label: str, master_to: str) -> list[FieldDef]:
    return [
        _system("Id", f"{object_label} ID", "id", length=18, id_lookup=True),
        _system("IsDeleted", "Deleted", "boolean"),
        _system(
            "MasterRecordId",
            "Master Record ID",
            "reference",
            length=18,
            nillable=True,
            defaulted_on_create=False,
            reference_to=(master_to,),
            relationship_name="MasterRecord",
        ),
    ]


def _person_name(last_label: str = "Last Name") -> list[FieldDef]:
    return [
        _pick("Salutation", "Salutation", SALUTATIONS, compound_field_name="Name"),
        _text("FirstName", "First Name", 40, compound_field_name="Name"),
        _text("LastName", last_label, 80, nillable=False, compound_field_name="Name"),
        _system(
            "Name",
            "Full Name",
            "string",
            length=121,
            name_field=True,
            nillable=False,
            extra_type_info="personname",
        ),
    ]


def _owner() -> FieldDef:
    return FieldDef(
        "OwnerId",
        "Owner ID",
        "reference",
        length=18,
        nillable=False,
        defaulted_on_create=True,
        reference_to=("User",),
        relationship_name="Owner",
    )


def contact() -> ObjectDef:
    """Contact (key prefix 003)."""
    fields = [
        *_head("Contact", "Contact"),
        *_person_name(),
        _text("Title", "Title", 128),
        _text("Email", "Email", 80, "email", id_lookup=True),
        _text("Phone", "Business Phone", 40, "phone"),
        _text("MobilePhone", "Mobile Phone", 40, "phone"),
        _text("HomePhone", "Home Phone", 40, "phone"),
        FieldDef("Birthdate", "Birthdate", "date"),
        _text("MailingStreet", "Mailing Street", 255, "textarea", compound_field_name="MailingAddress"),
        _text("MailingCity", "Mailing City", 40, compound_field_name="MailingAddress"),
        _text("MailingPostalCode", "Mailing Zip/Postal Code", 20, compound_field_name="MailingAddress"),
        _text("MailingCountry", "Mailing Country", 80, compound_field_name="MailingAddress"),
        _pick("LeadSource", "Lead Source", LEAD_SOURCES),
        _bool("HasOptedOutOfEmail", "Email Opt Out"),
        _bool("DoNotCall", "Do Not Call"),
        _text("Description", "Contact Description", 32000, "textarea"),
        _owner(),
        *_audit_fields(),
        _pick("Loyalty_Tier__c", "Loyalty Tier", LOYALTY_TIERS, custom=True, restricted_picklist=True),
        _pick("Interests__c", "Interests", INTERESTS, "multipicklist", custom=True),
        FieldDef("Customer_Score__c", "Customer Score", "double", precision=18, scale=2, custom=True),
        _bool("Newsletter_Opt_In__c", "Newsletter Opt In", custom=True),
        FieldDef(
            "Full_Name__c",
            "Full Name (Formula)",
            "string",
            length=1300,
            createable=False,
            updateable=False,
            calculated=True,
            formula=FULL_NAME_FORMULA,
            custom=True,
        ),
    ]
    return ObjectDef(
        "Contact",
        "Contact",
        "Contacts",
        "003",
        tuple(fields),
        child_relationships=(ChildRelationship("Case", "ContactId", "Cases", restricted_delete=True),),
    )


def _conversion_fields() -> list[FieldDef]:
    """What lead conversion sets on a Lead (:mod:`conversion`); the API user writes none of them.

    Names, types and properties from the Lead object reference
    (https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_lead.htm)
    and the Lead field reference
    (https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-lead.html):
    IsConverted boolean (Create, Defaulted on create, not Update); ConvertedAccountId and
    ConvertedContactId reference(18) and ConvertedDate date (Filter, Group, Nillable, Sort: read-only).
    ``ConvertedDate`` "doesn't include the time" (Change Events for Lead Conversion,
    https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_standard_objects_lead_conversion.htm).
    The sandbox has no Account object: ConvertedAccountId holds the Id of the Account a conversion
    would have made, which no query can follow.
    """
    return [
        FieldDef(
            "IsConverted",
            "Converted",
            "boolean",
            nillable=False,
            updateable=False,
            defaulted_on_create=True,
            default_value=False,
        ),
        _ref(
            "ConvertedAccountId",
            "Converted Account ID",
            "Account",
            "ConvertedAccount",
            createable=False,
            updateable=False,
        ),
        _ref(
            "ConvertedContactId",
            "Converted Contact ID",
            "Contact",
            "ConvertedContact",
            createable=False,
            updateable=False,
        ),
        FieldDef("ConvertedDate", "Converted Date", "date", createable=False, updateable=False),
    ]


def lead() -> ObjectDef:
    """Lead (key prefix 00Q)."""
    fields = [
        *_head("Lead", "Lead"),
        *_person_name(),
        _text("Company", "Company", 255, nillable=False),
        _text("Title", "Title", 128),
        _text("Email", "Email", 80, "email", id_lookup=True),
        _text("Phone", "Phone", 40, "phone"),
        _text("MobilePhone", "Mobile Phone", 40, "phone"),
        _pick(
            "Status",
            "Status",
            LEAD_STATUSES,
            nillable=False,
            defaulted_on_create=True,
            default_picklist=LEAD_STATUSES[0],
        ),
        _pick("LeadSource", "Lead Source", LEAD_SOURCES),
        _pick("Industry", "Industry", INDUSTRIES),
        _pick("Rating", "Rating", ("Hot", "Warm", "Cold")),
        _text("City", "City", 40, compound_field_name="Address"),
        _text("Country", "Country", 80, compound_field_name="Address"),
        _bool("HasOptedOutOfEmail", "Email Opt Out"),
        *_conversion_fields(),
        _text("Description", "Description", 32000, "textarea"),
        _owner(),
        *_audit_fields(),
        FieldDef("Birthdate__c", "Birthdate", "date", custom=True),
        FieldDef("Budget__c", "Budget", "currency", precision=16, scale=2, custom=True),
        _pick("Products_Of_Interest__c", "Products of Interest", PRODUCTS, "multipicklist", custom=True),
        _pick("Preferred_Language__c", "Preferred Language", LANGUAGES, custom=True),
        FieldDef(
            "Days_Since_Created__c",
            "Days Since Created",
            "double",
            precision=18,
            scale=0,
            createable=False,
            updateable=False,
            calculated=True,
            formula=DAYS_SINCE_CREATED_FORMULA,
            custom=True,
        ),
    ]
    return ObjectDef("Lead", "Lead", "Leads", "00Q", tuple(fields))


def case() -> ObjectDef:
    """Case (key prefix 500)."""
    fields = [
        _system("Id", "Case ID", "id", length=18, id_lookup=True),
        _system("IsDeleted", "Deleted", "boolean"),
        _system(
            "CaseNumber",
            "Case Number",
            "string",
            length=30,
            auto_number=True,
            name_field=True,
            id_lookup=True,
        ),
        _ref("ContactId", "Contact ID", "Contact", "Contact"),
        _text("Subject", "Subject", 255),
        _pick(
            "Status",
            "Status",
            ("New", "Working", "Escalated", "Closed"),
            defaulted_on_create=True,
            default_picklist="New",
        ),
        _pick(
            "Priority",
            "Priority",
            ("High", "Medium", "Low"),
            defaulted_on_create=True,
            default_picklist="Medium",
        ),
        _pick("Origin", "Case Origin", ("Phone", "Email", "Web")),
        _text("Description", "Description", 32000, "textarea"),
        _system("IsClosed", "Closed", "boolean"),
        _owner(),
        *_audit_fields(),
        FieldDef(
            "Age_Days__c",
            "Age (Days)",
            "double",
            precision=18,
            scale=0,
            createable=False,
            updateable=False,
            calculated=True,
            formula=DAYS_SINCE_CREATED_FORMULA,
            custom=True,
        ),
    ]
    return ObjectDef("Case", "Case", "Cases", "500", tuple(fields))


def build_objects() -> list[ObjectDef]:
    """The sandbox org's objects, in global-describe order."""
    return [case(), contact(), lead()]
