"""Lead conversion: a Lead becomes a (new or existing) Contact and is left read-only.

Salesforce converts through SOAP ``convertLead()`` or Apex ``Database.convertLead``; the sandbox
does not emulate those calls, only the records they leave behind, reachable through
:meth:`SalesforceOrg.convert_leads` and the control route ``POST /_sandbox/salesforce/convert-lead``.

What a conversion does, and where that comes from:

- The Lead gets ``IsConverted = true``, ``ConvertedContactId``, ``ConvertedAccountId``,
  ``ConvertedDate`` (a date, no time) and ``Status`` = the converted status; its
  ``SystemModstamp`` moves, its ``LastModifiedDate`` does not: the Lead update event of a
  conversion "doesn't include the LastModifiedDate field" (Change Events for Lead Conversion,
  https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_standard_objects_lead_conversion.htm),
  and SystemModstamp is the time "a user or automated process" last modified the record
  (System Fields, https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/system_fields.htm).
- Afterwards the Lead is read-only: updates fail with ``CANNOT_UPDATE_CONVERTED_LEAD``
  (:func:`validation.converted_lead_error`), and so does converting it again.
- Standard Lead fields map to Contact fields as Salesforce's lead conversion mapping lists them
  ("Address -> Contact: Mailing Address, Description, Do Not Call, Email, Email Opt Out, Fax,
  First Name, Last Name, Lead Owner -> Contact: Owner, Lead Source, Mobile, Phone, Title";
  Salesforce Help "Lead Conversion Field Mappings", reproduced at
  https://simplysfdc.com/2013/11/salesforce-lead-conversion-mapping.html [3rd]). Only the fields
  both sandbox objects have are mapped (:data:`LEAD_TO_CONTACT`). Custom Lead fields map only
  where an admin maps them to custom fields (``convertLead()``, "Field Mappings"), which this
  org does not.
- Converting into an existing Contact fills only its empty fields ("only empty fields in the
  target object are overwritten", except LeadSource with ``overwriteLeadSource``), and "Email
  Opt Out [...] is not updated for leads converted to existing contacts"
  (``convertLead()``, https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_convertlead.htm;
  mapping table above). The Contact is written (and stamped) only when a field was filled.
- Results have the shape of a ``LeadConvertResult`` (leadId, contactId, accountId,
  opportunityId, success, errors;
  https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_convertlead_leadconvertresult.htm).
  No Opportunity is made (``doNotCreateOpportunity``).

The sandbox has no Account object: a conversion issues the Id (prefix 001) of the Account it
would have made, or, into a Contact converted to before, reuses that Contact's Account Id.
Error codes for a bad converted status (``INVALID_STATUS``) and for unknown Ids follow the
sandbox's other writes; they are not verified against a real org.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from toolkit.sandbox.salesforce import ids
from toolkit.sandbox.salesforce.errors import RecordError
from toolkit.sandbox.salesforce.org.writes import ENTITY_IS_DELETED, INVALID_CROSS_REFERENCE, WriteBatch
from toolkit.sandbox.salesforce.validation import converted_lead_error

if TYPE_CHECKING:
    from toolkit.sandbox.salesforce.org import SalesforceOrg

__all__ = [
    "CONVERTED_STATUSES",
    "ConversionError",
    "DEFAULT_CONVERTED_STATUS",
    "LEAD_TO_CONTACT",
    "LeadConvert",
    "convert_leads",
]

#: Lead Status values whose LeadStatus record has ``IsConverted = true`` in the sandbox org.
CONVERTED_STATUSES: Final = ("Closed - Converted",)
DEFAULT_CONVERTED_STATUS: Final = CONVERTED_STATUSES[0]
ACCOUNT_PREFIX: Final = "001"

#: Lead field -> Contact field, for the standard fields both sandbox objects have.
LEAD_TO_CONTACT: Final[tuple[tuple[str, str], ...]] = (
    ("Salutation", "Salutation"),
    ("FirstName", "FirstName"),
    ("LastName", "LastName"),
    ("Title", "Title"),
    ("Email", "Email"),
    ("Phone", "Phone"),
    ("MobilePhone", "MobilePhone"),
    ("City", "MailingCity"),
    ("Country", "MailingCountry"),
    ("LeadSource", "LeadSource"),
    ("HasOptedOutOfEmail", "HasOptedOutOfEmail"),
    ("Description", "Description"),
    ("OwnerId", "OwnerId"),
)
_NOT_INTO_EXISTING: Final = frozenset({"HasOptedOutOfEmail", "OwnerId"})


@dataclass(frozen=True)
class LeadConvert:
    """One conversion request (the parts of Salesforce's ``LeadConvert`` the sandbox honours).

    Attributes:
        lead_id: the Lead to convert (15 or 18 characters).
        contact_id: an existing Contact to convert into, or None for a new Contact.
        converted_status: the Lead's Status afterwards; one of :data:`CONVERTED_STATUSES`.
        overwrite_lead_source: replace an existing Contact's LeadSource with the Lead's.
    """

    lead_id: str
    contact_id: str | None = None
    converted_status: str = DEFAULT_CONVERTED_STATUS
    overwrite_lead_source: bool = False


class ConversionError(Exception):
    """A conversion Salesforce would refuse (``SalesforceOrg.convert_lead``).

    Attributes:
        error: the error as a LeadConvertResult would carry it.
    """

    def __init__(self, error: RecordError) -> None:
        super().__init__(f"{error.status_code}: {error.message}")
        self.error = error


def _result(
    lead_id: str | None,
    contact_id: str | None = None,
    account_id: str | None = None,
    error: RecordError | None = None,
) -> dict[str, Any]:
    return {
        "leadId": lead_id,
        "contactId": contact_id,
        "accountId": account_id,
        "opportunityId": None,
        "success": error is None,
        "errors": [error.to_dict()] if error else [],
    }


class _Converter:
    """Converts the Leads of one call under the org's lock, with one shared timestamp."""

    def __init__(self, org: SalesforceOrg, stamp: str) -> None:
        self.org = org
        self.stamp = stamp
        self._accounts: dict[str, str] | None = None  # Contact Id -> Account Id of earlier conversions

    def _live(
        self, raw: str | None, sobject: str
    ) -> tuple[str | None, dict[str, Any] | None, RecordError | None]:
        obj = self.org.object(sobject)
        try:
            record_id = ids.normalize(raw, obj.key_prefix)
        except ids.MalformedIdError:
            return (
                None,
                None,
                RecordError("MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {raw}"),
            )
        found = self.org.lookup(record_id)
        if found is None:
            return record_id, None, INVALID_CROSS_REFERENCE
        if found[1]["IsDeleted"]:
            return record_id, None, ENTITY_IS_DELETED
        return record_id, found[1], None

    def _account_of(self, contact_id: str) -> str | None:
        if self._accounts is None:
            self._accounts = {
                r["ConvertedContactId"]: r["ConvertedAccountId"]
                for r in self.org.store.rows("Lead")
                if r.get("ConvertedContactId")
            }
        return self._accounts.get(contact_id)

    def convert(self, request: LeadConvert) -> dict[str, Any]:
        lead_id, lead, error = self._live(request.lead_id, "Lead")
        if error is None and lead is not None and lead.get("IsConverted"):
            error = converted_lead_error()
        if error is None and request.converted_status not in CONVERTED_STATUSES:
            error = RecordError("INVALID_STATUS", f"invalid convertedStatus: {request.converted_status}")
        contact: dict[str, Any] | None = None
        contact_id = None
        if error is None and request.contact_id is not None:
            contact_id, contact, error = self._live(request.contact_id, "Contact")
        if error is not None or lead is None:
            return _result(lead_id, error=error)
        if contact is None:
            contact_id, error = self._create_contact(lead)
        else:
            error = self._merge_into(contact, lead, request.overwrite_lead_source)
        if error is not None or contact_id is None:
            return _result(lead_id, error=error)
        account_id = self._account_of(contact_id) if contact is not None else None
        if account_id is None:
            account_id = self.org.store.take_ids(ACCOUNT_PREFIX, 1)[0]
        if self._accounts is not None:
            self._accounts[contact_id] = account_id
        self.org.store.put(
            "Lead",
            {
                **lead,
                "IsConverted": True,
                "Status": request.converted_status,
                "ConvertedContactId": contact_id,
                "ConvertedAccountId": account_id,
                "ConvertedDate": self.stamp[:10],
                "SystemModstamp": self.stamp,
            },
        )
        return _result(lead_id, contact_id, account_id)

    def _create_contact(self, lead: dict[str, Any]) -> tuple[str | None, RecordError | None]:
        body = {
            target: lead.get(source) for source, target in LEAD_TO_CONTACT if lead.get(source) is not None
        }
        batch = WriteBatch(self.org, self.stamp)
        [result] = batch.commit([batch.prepare("create", self.org.object("Contact"), body, None)], False)
        if not result["success"]:
            return None, RecordError(**_error_fields(result["errors"][0]))
        return str(result["id"]), None

    def _merge_into(
        self, contact: dict[str, Any], lead: dict[str, Any], overwrite_lead_source: bool
    ) -> RecordError | None:
        fills = {}
        for source, target in LEAD_TO_CONTACT:
            value = lead.get(source)
            if value is None or target in _NOT_INTO_EXISTING:
                continue
            fillable = contact.get(target) is None or (target == "LeadSource" and overwrite_lead_source)
            if fillable and contact.get(target) != value:
                fills[target] = value
        if not fills:
            return None
        batch = WriteBatch(self.org, self.stamp)
        [result] = batch.commit(
            [batch.prepare("update", self.org.object("Contact"), {"Id": contact["Id"], **fills}, None)], False
        )
        return None if result["success"] else RecordError(**_error_fields(result["errors"][0]))


def _error_fields(error: dict[str, Any]) -> dict[str, Any]:
    return {"status_code": error["statusCode"], "message": error["message"], "fields": list(error["fields"])}


def convert_leads(org: SalesforceOrg, requests: list[LeadConvert], stamp: str) -> list[dict[str, Any]]:
    """Convert Leads one after the other; a failed one leaves its records untouched.

    Must run under the org's lock (``SalesforceOrg.convert_leads`` takes it).

    Args:
        org: the org.
        requests: the conversions, in order.
        stamp: the call's timestamp (stored datetime form), shared by every record written.

    Returns:
        One LeadConvertResult dict per request, in order.
    """
    converter = _Converter(org, stamp)
    return [converter.convert(request) for request in requests]
