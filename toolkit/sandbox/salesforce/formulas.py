"""Server-computed fields: compound names, formula fields and Case.IsClosed.

Formulas that depend only on the record are stored on every write; those that depend on
``TODAY()`` are computed whenever a record is read, as Salesforce evaluates formulas at read time.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

# Formula fields whose value depends on the day they are read.
TIME_DEPENDENT = {"Lead": ("Days_Since_Created__c",), "Case": ("Age_Days__c",)}


def person_name(record: dict[str, Any]) -> str | None:
    """The compound ``Name`` of a Contact or Lead: first and last name (no salutation)."""
    return " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p) or None


def display_name(record: dict[str, Any]) -> str:
    """The name Salesforce shows in messages, salutation included (``Mr. Josh Davis``)."""
    return " ".join(
        p for p in (record.get("Salutation"), record.get("FirstName"), record.get("LastName")) if p
    )


def apply_stored(sobject: str, record: dict[str, Any]) -> None:
    """Recompute the stored server-side fields of ``record`` in place."""
    if sobject in ("Contact", "Lead"):
        record["Name"] = person_name(record)
    if sobject == "Contact":
        # FirstName & " " & LastName: null text counts as the empty string.
        record["Full_Name__c"] = f"{record.get('FirstName') or ''} {record.get('LastName') or ''}"
    if sobject == "Case":
        record["IsClosed"] = record.get("Status") == "Closed"


def days_since(created: str | None, today: date) -> float | None:
    """``TODAY() - DATEVALUE(CreatedDate)`` for a stored datetime string."""
    if not created:
        return None
    return float((today - date.fromisoformat(created[:10])).days)


def with_read_time_fields(sobject: str, record: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A copy of ``record`` with its TODAY()-dependent formula fields filled in."""
    view = dict(record)
    for name in TIME_DEPENDENT.get(sobject, ()):
        view[name] = days_since(record.get("CreatedDate"), now.date())
    return view
