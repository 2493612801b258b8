"""The sandbox org: its records, writes with Salesforce's validation, the Recycle Bin and the API allowance.

The REST API and the Python API (used to seed data and by tests) share the same write path,
so both validate alike. Three modules share the work and use only each other's public names:
this one (:class:`SalesforceOrg`: lookups, the lock, the Recycle Bin's 15 days, save/load),
:mod:`org.writes` and :mod:`conversion` (the checks and writes of one call, under the org's
lock) and :mod:`org.store` (the stored records, the Id sequences and the Recycle Bin, with no
checks). Stored records are dicts keyed by canonical field names, in the stored forms described
in :mod:`values`; every write replaces a record's dict (copy-on-write), so a snapshot taken
under the lock stays consistent while other threads write.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from toolkit.sandbox.clock import Clock
from toolkit.sandbox.salesforce import ids
from toolkit.sandbox.salesforce.allowance import ApiAllowance
from toolkit.sandbox.salesforce.errors import RecordError
from toolkit.sandbox.salesforce.formulas import TIME_DEPENDENT, with_read_time_fields
from toolkit.sandbox.salesforce.oauth.credentials import SANDBOX_USERNAME
from toolkit.sandbox.salesforce.org.conversion import (
    DEFAULT_CONVERTED_STATUS,
    ConversionError,
    LeadConvert,
    convert_leads,
)
from toolkit.sandbox.salesforce.org.standard import CompanyInfo, standard_records
from toolkit.sandbox.salesforce.org.store import RecordStore
from toolkit.sandbox.salesforce.org.writes import WriteBatch
from toolkit.sandbox.salesforce.schema import ObjectDef, Schema, default_schema
from toolkit.sandbox.salesforce.values import format_datetime
from toolkit.sandbox.variants import WireVariants

RECYCLE_BIN_DAYS = 15


def _python_values(record: dict[str, Any]) -> dict[str, Any]:
    """Let Python callers pass date/datetime objects; the REST API only ever sees strings."""
    out = {}
    for key, value in record.items():
        if isinstance(value, datetime):
            value = format_datetime(value)
        elif isinstance(value, date):
            value = value.isoformat()
        out[key] = value
    return out


class SalesforceOrg:
    """One Salesforce org: Contact, Lead and Case records plus org-level settings.

    The read-only standard objects User and Organization are served too; their records are
    built from these attributes (see :mod:`org.standard`) and every write to them is refused.

    Attributes:
        org_id: the org's Id (``00D...``), also the Id of its one Organization record.
        user_id: the integration user's Id (``005...``), owner and author of API writes, the
            user OAuth tokens are issued for.
        username: the integration user's username (``User.Username``, the OAuth login).
        users: every valid User Id (OwnerId must be one of them).
        company: what the Organization record reports (name, country, locale, edition...).
        api_enabled: False makes every REST call answer 403 API_DISABLED_FOR_ORG.
        allowance: the rolling 24-hour API request count.
        pod: the two characters of the instance in the Ids of the org's records (the ``pod``
            argument, saved and loaded with them): orgs on different pods never share an Id.
        schema: the org's objects and fields.
        store: the stored records of the data objects. Reading it or writing to it bypasses the
            lock and every check: only the write path (:mod:`org.writes`, :mod:`conversion`)
            writes to it, under the lock; everyone else reads through :meth:`get`,
            :meth:`records` and :meth:`snapshot` and writes through :meth:`save` and friends.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        api_daily_limit: int = 100_000,
        org_id: str | None = None,
        user_id: str | None = None,
        seed: int | None = None,
        schema: Schema | None = None,
        username: str = SANDBOX_USERNAME,
        country: str = "Germany",
        default_locale: str = "de_DE",
        pod: str = ids.POD,
    ) -> None:
        rng = random.Random(seed)
        self.clock = clock
        self.schema = schema or default_schema()
        self.org_id = org_id or ids.random_id("00D", rng)
        self.user_id = user_id or ids.random_id("005", rng)
        self.username = username
        self.users = [self.user_id]
        self.company = CompanyInfo(country=country, default_locale=default_locale)
        self.api_enabled = True
        self.variants = WireVariants(None)  # the documented forms; the runner picks per seed
        self.allowance = ApiAllowance(clock, api_daily_limit)
        self.created_date = format_datetime(clock.now())
        self.store = RecordStore(self.data_objects, pod)
        self._lock = threading.RLock()

    # -- lookups -------------------------------------------------------------------------------

    def object(self, sobject: str) -> ObjectDef:
        """The object called ``sobject`` (case-insensitive).

        Raises:
            KeyError: no such object.
        """
        obj = self.schema.get(sobject)
        if obj is None:
            raise KeyError(sobject)
        return obj

    @property
    def data_objects(self) -> list[str]:
        """Names of the objects that hold data (all but the read-only User and Organization)."""
        return [name for name, obj in self.schema.objects.items() if not obj.read_only]

    @property
    def pod(self) -> str:
        """The instance characters of the Ids this org issues (see :func:`ids.make_id`)."""
        return self.store.pod

    @property
    def api_usage(self) -> tuple[int, int]:
        """``(used, limit)`` of the rolling 24-hour API allowance."""
        return self.allowance.used(), self.allowance.limit

    def lookup(self, record_id: str) -> tuple[ObjectDef, dict[str, Any]] | None:
        """The object and stored record (deleted ones too) for a normalised Id, or None."""
        obj = self.schema.by_prefix(record_id[:3])
        if obj is None:
            return None
        if obj.read_only:
            record = next((r for r in standard_records(self, obj.name) if r["Id"] == record_id), None)
        else:
            record = self.store.get(obj.name, record_id)
        return (obj, record) if record is not None else None

    def find(self, record_id: str) -> tuple[ObjectDef, dict[str, Any]] | None:
        """Like :meth:`lookup`, after emptying the Recycle Bin of expired records (thread-safe)."""
        with self._lock:
            self._purge()
            return self.lookup(record_id)

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        """A copy of one record (also when in the Recycle Bin), or None if unknown or purged."""
        obj = self.object(sobject)
        try:
            record_id = ids.normalize(record_id, obj.key_prefix)
        except ids.MalformedIdError:
            return None
        with self._lock:
            self._purge()
            found = self.lookup(record_id)
            return None if found is None else with_read_time_fields(obj.name, found[1], self.clock.now())

    def record(self, sobject: str, record_id: str) -> dict[str, Any]:
        """Like :meth:`get`, for a record known to exist.

        Raises:
            KeyError: the record is unknown or purged, or ``record_id`` is no Id of ``sobject``.
        """
        found = self.get(sobject, record_id)
        if found is None:
            raise KeyError(record_id)
        return found

    def records(self, sobject: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Copies of an object's records in creation order (deleted ones only if asked)."""
        return [dict(r) for r in self.snapshot(sobject, include_deleted)]

    def snapshot(self, sobject: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        """The stored records as they are now, for the query engine (do not modify them)."""
        obj = self.object(sobject)
        if obj.read_only:
            return standard_records(self, obj.name)
        with self._lock:
            self._purge()
            rows = self.store.rows(obj.name)
        if not include_deleted:
            rows = [r for r in rows if not r["IsDeleted"]]
        if obj.name in TIME_DEPENDENT:
            now = self.clock.now()
            rows = [with_read_time_fields(obj.name, r, now) for r in rows]
        return rows

    # -- writes ---------------------------------------------------------------------------------

    def save(
        self,
        mode: str,
        items: list[tuple[str, dict[str, Any]]],
        *,
        all_or_none: bool = False,
        raw: str | None = None,
        set_audit_fields: bool = False,
    ) -> list[dict[str, Any]]:
        """Create (``mode="create"``) or update (``"update"``) records, possibly of several objects.

        Args:
            mode: ``"create"`` or ``"update"``; updates carry the Id as ``Id``/``id``.
            items: ``(sobject, JSON body)`` pairs, in request order.
            all_or_none: if any record fails, write nothing and roll the others back.
            raw: the raw request body, for JSON_PARSER_ERROR positions.
            set_audit_fields: let creates set CreatedDate, CreatedById, LastModifiedDate and
                LastModifiedById, as a user with Salesforce's "Set Audit Fields upon Record
                Creation" permission may (:data:`org.writes.AUDIT_FIELDS_ON_CREATE`); the REST
                API never does.

        Returns:
            SaveResult dicts in request order. All records written share one timestamp.

        Raises:
            ApiError: a request-level error (unknown field, undeserializable value).
        """
        with self._lock:
            self._purge()
            batch = WriteBatch(self, format_datetime(self.clock.now()), set_audit_fields=set_audit_fields)
            prepared = [batch.prepare(mode, self.object(s), body, raw) for s, body in items]
            return batch.commit(prepared, all_or_none)

    def create_many(
        self,
        sobject: str,
        records: list[dict[str, Any]],
        *,
        all_or_none: bool = False,
        set_audit_fields: bool = False,
    ) -> list[dict[str, Any]]:
        """Create records of one object (same validation as the REST API); one shared timestamp.

        ``set_audit_fields=True`` lets the records carry CreatedDate (and the other settable audit
        fields, see :meth:`save`), e.g. to load records that are years old.
        """
        return self.save(
            "create",
            [(sobject, _python_values(r)) for r in records],
            all_or_none=all_or_none,
            set_audit_fields=set_audit_fields,
        )

    def update_many(
        self, sobject: str, records: list[dict[str, Any]], *, all_or_none: bool = False
    ) -> list[dict[str, Any]]:
        """Update records of one object; each dict carries its ``Id``."""
        return self.save("update", [(sobject, _python_values(r)) for r in records], all_or_none=all_or_none)

    def convert_leads(self, requests: Iterable[LeadConvert]) -> list[dict[str, Any]]:
        """Convert Leads into new or existing Contacts (see :mod:`conversion`); one shared timestamp.

        Returns:
            LeadConvertResult dicts (``leadId, contactId, accountId, opportunityId, success,
            errors``) in request order; a failed conversion writes nothing.
        """
        with self._lock:
            self._purge()
            return convert_leads(self, list(requests), format_datetime(self.clock.now()))

    def convert_lead(
        self,
        lead_id: str,
        contact_id: str | None = None,
        *,
        converted_status: str = DEFAULT_CONVERTED_STATUS,
        overwrite_lead_source: bool = False,
    ) -> str:
        """Convert one Lead, as Salesforce's ``convertLead()`` without an Opportunity.

        Args:
            lead_id: the Lead.
            contact_id: an existing Contact to convert into (only its empty fields are filled),
                or None to create a Contact from the Lead.
            converted_status: the Lead's Status afterwards (a converted status).
            overwrite_lead_source: replace the existing Contact's LeadSource with the Lead's.

        Returns:
            The Id of the Contact the Lead became.

        Raises:
            ConversionError: Salesforce's refusal (``CANNOT_UPDATE_CONVERTED_LEAD`` for a Lead
                converted before, ``ENTITY_IS_DELETED``, ``INVALID_CROSS_REFERENCE_KEY``...).
        """
        [result] = self.convert_leads(
            [LeadConvert(lead_id, contact_id, converted_status, overwrite_lead_source)]
        )
        if not result["success"]:
            error = result["errors"][0]
            raise ConversionError(RecordError(error["statusCode"], error["message"], list(error["fields"])))
        return str(result["contactId"])

    def delete_many(self, record_ids: Iterable[str], *, all_or_none: bool = False) -> list[dict[str, Any]]:
        """Move records to the Recycle Bin; DeleteResult dicts in order."""
        with self._lock:
            self._purge()
            batch = WriteBatch(self, format_datetime(self.clock.now()))
            return batch.delete(list(record_ids), all_or_none)

    def _purge(self) -> None:
        """Empty the Recycle Bin of records deleted more than 15 days ago (under the lock)."""
        if self.store.recycle_bin:
            self.store.purge(format_datetime(self.clock.now() - timedelta(days=RECYCLE_BIN_DAYS)))

    # -- replication (getUpdated / getDeleted) ----------------------------------------------------

    def updated_ids(self, sobject: str, start: str, end: str) -> list[str]:
        """Ids of live records whose SystemModstamp is in ``[start, end)`` (stored datetime strings)."""
        return [r["Id"] for r in self.snapshot(sobject) if start <= r["SystemModstamp"] < end]

    def deleted_records(self, sobject: str, start: str, end: str) -> list[dict[str, str]]:
        """``{id, deletedDate}`` of records deleted in ``[start, end)`` and still in the Recycle Bin."""
        obj = self.object(sobject)
        with self._lock:
            self._purge()
            return [
                {"id": i, "deletedDate": d}
                for i, d in self.store.recycle_bin.items()
                if i.startswith(obj.key_prefix) and start <= d < end
            ]

    @property
    def earliest_date_available(self) -> str:
        """The last time records were purged from the Recycle Bin (or the org's creation)."""
        with self._lock:
            self._purge()
            return self.store.purged_until or self.created_date

    # -- save / load -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The whole org as JSON-serialisable data (see :meth:`from_dict`)."""
        with self._lock:
            return {
                "format": 1,
                "org_id": self.org_id,
                "user_id": self.user_id,
                "users": list(self.users),
                "username": self.username,
                "company": self.company.to_dict(),
                "api_enabled": self.api_enabled,
                "allowance": self.allowance.to_dict(),
                "created_date": self.created_date,
                **self.store.to_dict(),
            }

    @classmethod
    def from_dict(cls, data: dict[str, Any], clock: Clock) -> SalesforceOrg:
        """Rebuild an org saved with :meth:`to_dict`."""
        org = cls(
            clock,
            org_id=data["org_id"],
            user_id=data["user_id"],
            username=data.get("username", SANDBOX_USERNAME),
        )
        org.users = list(data.get("users", [org.user_id]))
        org.company = CompanyInfo.from_dict(data.get("company", {}))
        org.api_enabled = bool(data.get("api_enabled", True))
        org.allowance.load(data.get("allowance", {}))
        org.created_date = data.get("created_date", org.created_date)
        records = {org.object(name).name: rows for name, rows in data["records"].items()}
        # every field's default, for the fields added to the schema since the state was saved
        defaults = {name: {f.name: f.default_value for f in org.object(name).fields} for name in records}
        org.store.load({**data, "records": records}, defaults)
        return org


__all__ = ["ConversionError", "LeadConvert", "RECYCLE_BIN_DAYS", "RecordError", "SalesforceOrg"]
