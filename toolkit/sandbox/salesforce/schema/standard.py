"""The read-only standard objects every org has: User (key prefix 005) and Organization (00D).

Standard clients ask for them right after logging in: ``sf org login`` reads
``sobjects/User/<user_id>`` for the username and queries ``Organization`` (NamespacePrefix,
IsSandbox, TrialExpirationDate, InstanceName) — forcedotcom/sfdx-core ``src/org/authInfo.ts``
(``retrieveUserInfo``, ``getNamespacePrefix``) and its ``OrganizationInformation`` type;
simple-salesforce's ``is_sandbox()`` runs ``SELECT IsSandbox FROM Organization LIMIT 1``.

Fields are a subset of Salesforce's object reference (names, types, lengths):
https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_user.htm
https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_organization.htm
The integration user may read both but write neither (no "Manage Users" / "Customize
Application" permission), so every field is neither createable nor updateable here and the
objects are ``read_only`` (see :mod:`org.standard` for their records and the refusal).
Picklists list a handful of Salesforce's values, not all of them.
"""

from __future__ import annotations

from typing import Any

from toolkit.sandbox.salesforce.schema import FieldDef, ObjectDef

TIME_ZONES = (
    "Europe/Berlin",
    "Europe/Vienna",
    "Europe/Zurich",
    "Europe/Paris",
    "Europe/Rome",
    "Europe/Madrid",
    "Europe/Amsterdam",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "GMT",
)
LOCALES = ("de_DE", "de_AT", "de_CH", "fr_FR", "it_IT", "es_ES", "nl_NL", "en_GB", "en_US")
LANGUAGES = ("en_US", "de", "fr", "it", "es", "nl_NL")
EMAIL_ENCODINGS = (
    "UTF-8",
    "ISO-8859-1",
    "Shift_JIS",
    "ISO-2022-JP",
    "EUC-JP",
    "ks_c_5601-1987",
    "Big5",
    "GB2312",
)
USER_TYPES = (
    "Standard",
    "PowerPartner",
    "PowerCustomerSuccess",
    "CustomerSuccess",
    "Guest",
    "CspLitePortal",
    "CsnOnly",
    "SelfService",
)
EDITIONS = (
    "Team Edition",
    "Professional Edition",
    "Enterprise Edition",
    "Developer Edition",
    "Personal Edition",
    "Unlimited Edition",
    "Contact Manager Edition",
    "Base Edition",
)


def _ro(name: str, label: str, type_: str, length: int = 0, **kw: Any) -> FieldDef:
    """A field the API user can read but not write."""
    return FieldDef(name, label, type_, length=length, createable=False, updateable=False, **kw)


def _required(name: str, label: str, type_: str, length: int = 0, **kw: Any) -> FieldDef:
    return _ro(name, label, type_, length, nillable=False, **kw)


def _pick(name: str, label: str, values: tuple[str, ...], *, nillable: bool = False) -> FieldDef:
    return _ro(name, label, "picklist", 255, nillable=nillable, picklist=values, restricted_picklist=True)


def _user_ref(name: str, label: str, relationship: str, *, nillable: bool = False) -> FieldDef:
    return _ro(
        name,
        label,
        "reference",
        18,
        nillable=nillable,
        reference_to=("User",),
        relationship_name=relationship,
    )


def _audit() -> list[FieldDef]:
    return [
        _required("CreatedDate", "Created Date", "datetime"),
        _user_ref("CreatedById", "Created By ID", "CreatedBy"),
        _required("LastModifiedDate", "Last Modified Date", "datetime"),
        _user_ref("LastModifiedById", "Last Modified By ID", "LastModifiedBy"),
        _required("SystemModstamp", "System Modstamp", "datetime"),
    ]


def _address() -> list[FieldDef]:
    return [
        _ro("Street", "Street", "textarea", 255, compound_field_name="Address"),
        _ro("City", "City", "string", 40, compound_field_name="Address"),
        _ro("PostalCode", "Zip/Postal Code", "string", 20, compound_field_name="Address"),
        _ro("Country", "Country", "string", 80, compound_field_name="Address"),
    ]


def user() -> ObjectDef:
    """User (key prefix 005)."""
    fields = [
        _required("Id", "User ID", "id", 18, id_lookup=True),
        _required("Username", "Username", "string", 80, id_lookup=True, unique=True),
        _ro("FirstName", "First Name", "string", 40, compound_field_name="Name"),
        _required("LastName", "Last Name", "string", 80, compound_field_name="Name"),
        _required("Name", "Full Name", "string", 121, name_field=True, extra_type_info="personname"),
        _ro("CompanyName", "Company Name", "string", 80),
        _ro("Department", "Department", "string", 80),
        _ro("Title", "Title", "string", 80),
        *_address(),
        _required("Email", "Email", "email", 128, id_lookup=True),
        _ro("Phone", "Phone", "phone", 40),
        _ro("MobilePhone", "Mobile", "phone", 40),
        _required("Alias", "Alias", "string", 8),
        _required("CommunityNickname", "Nickname", "string", 40, id_lookup=True, unique=True),
        _required("IsActive", "Active", "boolean"),
        _pick("TimeZoneSidKey", "Time Zone", TIME_ZONES),
        _ro(
            "UserRoleId", "Role ID", "reference", 18, reference_to=("UserRole",), relationship_name="UserRole"
        ),
        _pick("LocaleSidKey", "Locale", LOCALES),
        _required("ReceivesInfoEmails", "Info Emails", "boolean"),
        _pick("EmailEncodingKey", "Email Encoding", EMAIL_ENCODINGS),
        _required(
            "ProfileId", "Profile ID", "reference", 18, reference_to=("Profile",), relationship_name="Profile"
        ),
        _pick("UserType", "User Type", USER_TYPES, nillable=True),
        _pick("LanguageLocaleKey", "Language", LANGUAGES),
        _ro("EmployeeNumber", "Employee Number", "string", 20),
        _user_ref("ManagerId", "Manager ID", "Manager", nillable=True),
        _ro("LastLoginDate", "Last Login", "datetime"),
        *_audit(),
    ]
    return ObjectDef("User", "User", "Users", "005", tuple(fields), read_only=True)


def organization() -> ObjectDef:
    """Organization (key prefix 00D): exactly one record, the org itself."""
    fields = [
        _required("Id", "Organization ID", "id", 18, id_lookup=True),
        _required("Name", "Name", "string", 80, name_field=True),
        _ro("Division", "Division", "string", 80),
        *_address(),
        _ro("Phone", "Phone", "phone", 40),
        _ro("Fax", "Fax", "phone", 40),
        _ro("PrimaryContact", "Primary Contact", "string", 80),
        _pick("DefaultLocaleSidKey", "Locale", LOCALES),
        _pick("LanguageLocaleKey", "Language", LANGUAGES),
        _pick("TimeZoneSidKey", "Time Zone", TIME_ZONES),
        _ro("FiscalYearStartMonth", "Fiscal Year Starts In", "int"),
        _required("UsesStartDateAsFiscalYearName", "Fiscal Year Name by Start", "boolean"),
        _required("ReceivesInfoEmails", "Info Emails", "boolean"),
        _pick("OrganizationType", "Edition", EDITIONS, nillable=True),
        _ro("NamespacePrefix", "Namespace Prefix", "string", 15),
        _ro("InstanceName", "Instance Name", "string", 5),
        _required("IsSandbox", "Is Sandbox", "boolean"),
        _ro("TrialExpirationDate", "Trial Expiration Date", "datetime"),
        *_audit(),
    ]
    flags = (
        ("searchable", False),
        ("triggerable", False),
        ("feedEnabled", False),
        ("mruEnabled", False),
        ("replicateable", False),
    )
    return ObjectDef(
        "Organization",
        "Organization",
        "Organizations",
        "00D",
        tuple(fields),
        read_only=True,
        describe_flags=flags,
    )


def standard_objects() -> list[ObjectDef]:
    """The read-only standard objects of the sandbox org."""
    return [organization(), user()]
