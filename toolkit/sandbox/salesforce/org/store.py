"""The org's storage: records by object and Id, the Recycle Bin, the Id and CaseNumber sequences.

The layer under :class:`~.org.SalesforceOrg`: it checks nothing. Writes reach it only through
:mod:`org.writes` and :mod:`conversion`, which validate every record first, and the org calls all
of it under its lock (the store itself is not thread-safe). Every :meth:`RecordStore.put`
replaces a record's dict instead of changing it (copy-on-write), so the rows a reader took under
the lock stay consistent while other threads write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from toolkit.sandbox.salesforce import ids

__all__ = ["RecordStore"]

FIRST_SEQUENCE = 1
FIRST_CASE_NUMBER = 1001


class RecordStore:
    """The stored records of the data objects (canonical names), in creation order.

    Attributes:
        pod: the two characters of the org's instance in the Ids it issues (``ids.POD`` unless
            the org was given its own).
        purged_until: the ``deletedDate`` of the last record purged from the Recycle Bin (stored
            datetime form), or None while nothing was purged.
    """

    def __init__(self, objects: Iterable[str], pod: str = ids.POD) -> None:
        self.pod = ids.check_pod(pod)
        self._records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in objects}
        self._deleted: dict[str, str] = {}  # id -> deletedDate, in deletion order
        self._cases_by_contact: dict[str, set[str]] = {}  # ContactId -> Ids of its live Cases
        self._next_sequence = FIRST_SEQUENCE
        self._next_case_number = FIRST_CASE_NUMBER
        self.purged_until: str | None = None

    # -- reads -----------------------------------------------------------------------------------

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        """The stored record (also when deleted) of ``sobject`` with a normalised Id, or None."""
        return self._records[sobject].get(record_id)

    def rows(self, sobject: str) -> list[dict[str, Any]]:
        """The stored records of ``sobject`` (deleted ones too) in creation order; do not modify them."""
        return list(self._records[sobject].values())

    def open_cases(self, contact_id: str) -> list[dict[str, Any]]:
        """The live Cases whose ContactId is ``contact_id``, by Id."""
        cases = self._records["Case"]
        return sorted((cases[i] for i in self._cases_by_contact.get(contact_id, ())), key=lambda c: c["Id"])

    @property
    def recycle_bin(self) -> Mapping[str, str]:
        """Id -> ``deletedDate`` of the records in the Recycle Bin, in deletion order (read-only)."""
        return MappingProxyType(self._deleted)

    # -- writes ----------------------------------------------------------------------------------

    def take_ids(self, prefix: str, count: int) -> list[str]:
        """Issue ``count`` new 18-character Ids with the key prefix ``prefix``."""
        first = self._next_sequence
        self._next_sequence += count
        return [ids.make_id(prefix, n, self.pod) for n in range(first, first + count)]

    def take_case_number(self) -> str:
        """Issue the next CaseNumber (``00001001``, ``00001002``...)."""
        number = self._next_case_number
        self._next_case_number += 1
        return f"{number:08d}"

    def put(self, sobject: str, record: dict[str, Any], *, deleted_date: str | None = None) -> None:
        """Store ``record`` (keyed by its ``Id``) as it is, replacing the stored one.

        Args:
            sobject: the record's object (canonical name).
            record: the whole record; the store keeps this dict, so do not modify it afterwards.
            deleted_date: the record was just deleted: it enters the Recycle Bin at this time.
        """
        record_id = record["Id"]
        old = self._records[sobject].get(record_id)
        self._records[sobject][record_id] = record
        if deleted_date is not None:
            self._deleted[record_id] = deleted_date
        if sobject == "Case":
            self._index_case(old, record)

    def purge(self, cutoff: str) -> None:
        """Remove the records deleted before ``cutoff`` (stored datetime form) for good."""
        while self._deleted:
            record_id, deleted_date = next(iter(self._deleted.items()))
            if deleted_date >= cutoff:
                break
            del self._deleted[record_id]
            for records in self._records.values():
                if records.pop(record_id, None) is not None:
                    break
            self.purged_until = deleted_date

    def _index_case(self, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
        if old is not None and old.get("ContactId") and not old["IsDeleted"]:
            self._cases_by_contact.get(old["ContactId"], set()).discard(old["Id"])
        if new.get("ContactId") and not new["IsDeleted"]:
            self._cases_by_contact.setdefault(new["ContactId"], set()).add(new["Id"])

    # -- save / load -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The store as JSON-serialisable data (the record part of ``SalesforceOrg.to_dict``)."""
        return {
            "pod": self.pod,
            "next_sequence": self._next_sequence,
            "next_case_number": self._next_case_number,
            "purged_until": self.purged_until,
            "records": {name: list(records.values()) for name, records in self._records.items()},
            "deleted": dict(self._deleted),
        }

    def load(self, data: Mapping[str, Any], defaults: Mapping[str, Mapping[str, Any]]) -> None:
        """Take over what :meth:`to_dict` saved.

        Args:
            data: the saved data (extra keys are ignored).
            defaults: per object (canonical name), the value of every field; a saved record
                lacking a field (added to the schema since it was saved) gets it from here.
        """
        self.pod = ids.check_pod(data.get("pod", ids.POD))  # saved before pods were kept: the default
        self._next_sequence = int(data["next_sequence"])
        self._next_case_number = int(data["next_case_number"])
        self.purged_until = data.get("purged_until")
        for name, rows in data["records"].items():
            missing = defaults[name]
            for row in rows:
                self.put(name, {**missing, **row})
        self._deleted = dict(data.get("deleted", {}))
