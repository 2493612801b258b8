"""Records of the read-only standard objects (User, Organization), built from the org's settings.

They are not stored: every read builds them from :class:`SalesforceOrg` attributes (its Ids,
the integration user's username, :class:`CompanyInfo`), so changing ``org.company.country``
shows at once in ``SELECT Country FROM Organization``. Values are in the stored forms of
:mod:`values` (datetimes ``2026-11-27T09:37:04.000+0000``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from toolkit.sandbox.salesforce import ids
from toolkit.sandbox.salesforce.oauth.identity import IdentityUser

if TYPE_CHECKING:
    from toolkit.sandbox.salesforce.org import SalesforceOrg

# The "System Administrator"-like profile the integration user has (Profile is not served).
PROFILE_ID = ids.make_id("00e", 1)

# DefaultLocaleSidKey -> (LanguageLocaleKey, TimeZoneSidKey) a new org of that locale gets.
LOCALE_DEFAULTS: dict[str, tuple[str, str]] = {
    "de_DE": ("de", "Europe/Berlin"),
    "de_AT": ("de", "Europe/Vienna"),
    "de_CH": ("de", "Europe/Zurich"),
    "fr_FR": ("fr", "Europe/Paris"),
    "it_IT": ("it", "Europe/Rome"),
    "es_ES": ("es", "Europe/Madrid"),
    "nl_NL": ("nl_NL", "Europe/Amsterdam"),
    "en_GB": ("en_US", "Europe/London"),
    "en_US": ("en_US", "America/Los_Angeles"),
}


@dataclass
class CompanyInfo:
    """The org's company information (Setup > Company Information), as ``Organization`` reports it.

    Mutable: later code may move the org to another country, e.g.
    ``org.company.country, org.company.default_locale = "France", "fr_FR"``.

    Attributes:
        name: ``Organization.Name``.
        country: ``Organization.Country``, a country name (``"Germany"``), not an ISO code.
        default_locale: ``DefaultLocaleSidKey`` (``"de_DE"``).
        language: ``LanguageLocaleKey``; None takes the default locale's language.
        time_zone: ``TimeZoneSidKey``; None takes the default locale's usual time zone.
        edition: ``OrganizationType``.
        instance_name: ``InstanceName`` (the pod, e.g. ``"EU46"``).
        is_sandbox: ``IsSandbox``.
    """

    name: str = "Toolkit Sandbox"
    country: str = "Germany"
    default_locale: str = "de_DE"
    language: str | None = None
    time_zone: str | None = None
    edition: str = "Enterprise Edition"
    instance_name: str = "EU46"
    is_sandbox: bool = False

    @property
    def language_locale_key(self) -> str:
        """The org's default language."""
        return self.language or LOCALE_DEFAULTS.get(self.default_locale, ("en_US", "GMT"))[0]

    @property
    def time_zone_sid_key(self) -> str:
        """The org's default time zone."""
        return self.time_zone or LOCALE_DEFAULTS.get(self.default_locale, ("en_US", "GMT"))[1]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompanyInfo:
        """Rebuild from :meth:`to_dict` (unknown keys ignored, missing ones defaulted)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _audit(org: SalesforceOrg) -> dict[str, Any]:
    return {
        "CreatedDate": org.created_date,
        "CreatedById": org.user_id,
        "LastModifiedDate": org.created_date,
        "LastModifiedById": org.user_id,
        "SystemModstamp": org.created_date,
    }


def _user(org: SalesforceOrg, user_id: str, number: int) -> dict[str, Any]:
    if user_id == org.user_id:
        person = IdentityUser(org_id=org.org_id, user_id=user_id, username=org.username)
    else:  # another owner the org knows (only ever added by tests and saved states)
        person = IdentityUser(
            org_id=org.org_id,
            user_id=user_id,
            username=f"user{number}@sandbox.example.com",
            first_name="Sandbox",
            last_name=f"User {number}",
        )
    alias = (person.first_name[:1] + person.last_name.replace(" ", "")[:4]).lower()
    return {
        "Id": user_id,
        "Username": person.username,
        "FirstName": person.first_name,
        "LastName": person.last_name,
        "Name": person.display_name,
        "CompanyName": org.company.name,
        "Department": None,
        "Title": "Integration User" if user_id == org.user_id else None,
        "Street": None,
        "City": None,
        "PostalCode": None,
        "Country": org.company.country,
        "Email": person.username,
        "Phone": None,
        "MobilePhone": None,
        "Alias": alias,
        "CommunityNickname": person.nickname,
        "IsActive": True,
        "TimeZoneSidKey": person.timezone,
        "UserRoleId": None,
        "LocaleSidKey": person.locale,
        "ReceivesInfoEmails": False,
        "EmailEncodingKey": "UTF-8",
        "ProfileId": PROFILE_ID,
        "UserType": "Standard",
        "LanguageLocaleKey": person.language,
        "EmployeeNumber": None,
        "ManagerId": None,
        "LastLoginDate": None,
        **_audit(org),
    }


def user_records(org: SalesforceOrg) -> list[dict[str, Any]]:
    """One User per Id in ``org.users``; the first is the integration user (the OAuth identity)."""
    return [_user(org, user_id, n) for n, user_id in enumerate(org.users, start=1)]


def organization_record(org: SalesforceOrg) -> dict[str, Any]:
    """The org's only Organization record."""
    company = org.company
    return {
        "Id": org.org_id,
        "Name": company.name,
        "Division": None,
        "Street": None,
        "City": None,
        "PostalCode": None,
        "Country": company.country,
        "Phone": None,
        "Fax": None,
        "PrimaryContact": IdentityUser(
            org_id=org.org_id, user_id=org.user_id, username=org.username
        ).display_name,
        "DefaultLocaleSidKey": company.default_locale,
        "LanguageLocaleKey": company.language_locale_key,
        "TimeZoneSidKey": company.time_zone_sid_key,
        "FiscalYearStartMonth": 1,
        "UsesStartDateAsFiscalYearName": False,
        "ReceivesInfoEmails": False,
        "OrganizationType": company.edition,
        "NamespacePrefix": None,
        "InstanceName": company.instance_name,
        "IsSandbox": company.is_sandbox,
        "TrialExpirationDate": None,
        **_audit(org),
    }


def standard_records(org: SalesforceOrg, sobject: str) -> list[dict[str, Any]]:
    """The records of a read-only standard object (canonical name), in Id order of creation."""
    if sobject == "User":
        return user_records(org)
    if sobject == "Organization":
        return [organization_record(org)]
    raise KeyError(sobject)
