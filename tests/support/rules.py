"""Shared by the rules tests: real sandbox metadata, records created in a sandbox org, contacts in a
sandbox account (read back as ``GET /contacts`` returns them)."""

from __future__ import annotations

from typing import Any

from toolkit.brevo import contact_ext_id
from toolkit.rules import BrevoContact, BrevoRow, CheckedUpdates, Rejection, SfRecord, SfUpdate
from toolkit.rules.base import row_id
from toolkit.sandbox.brevo import BrevoAccount
from toolkit.sandbox.runner import API_VERSION
from toolkit.sandbox.salesforce import SalesforceOrg
from toolkit.sandbox.salesforce.schema import default_schema

CONTACT_PAIRS = [
    ("EMAIL", "Email"),
    ("FIRSTNAME", "FirstName"),
    ("LASTNAME", "LastName"),
    ("SMS", "MobilePhone"),
    ("PHONE", "Phone"),
    ("BIRTHDATE", "Birthdate"),
    ("SCORE", "Customer_Score__c"),
    ("TITLE", "Title"),
]
LEAD_PAIRS = [
    ("EMAIL", "Email"),
    ("FIRSTNAME", "FirstName"),
    ("LASTNAME", "LastName"),
    ("SMS", "MobilePhone"),
    ("PHONE", "Phone"),
    ("COMPANY", "Company"),
    ("BIRTHDATE", "Birthdate__c"),
    ("BUDGET", "Budget__c"),
]
B4_PAIRS = [
    ("OPTED_OUT", "HasOptedOutOfEmail"),
    ("LOYALTY_TIER", "Loyalty_Tier__c"),
    ("INTERESTS", "Interests__c"),
]


def describe(obj: str) -> dict[str, Any]:
    """``GET sobjects/<obj>/describe`` as the sandbox org serves it."""
    found = default_schema().get(obj)
    assert found is not None
    return found.describe(API_VERSION)


def add_attributes(account: BrevoAccount) -> None:
    """The attributes a marketing team adds next to Brevo's defaults."""
    for name, kind in (
        ("BIRTHDATE", "date"),
        ("SCORE", "float"),
        ("BUDGET", "float"),
        ("PHONE", "text"),
        ("TITLE", "text"),
        ("COMPANY", "text"),
        ("OPTED_OUT", "boolean"),
    ):
        account.attributes.create("normal", name, {"type": kind})
    account.attributes.create(
        "category",
        "LOYALTY_TIER",
        {
            "enumeration": [
                {"value": i, "label": label}
                for i, label in enumerate(("Bronze", "Silver", "Gold", "Platinum"), 1)
            ]
        },
    )
    account.attributes.create(
        "normal",
        "INTERESTS",
        {"type": "multiple-choice", "multiCategoryOptions": ["Running", "Cycling", "Yoga", "Travel", "Food"]},
    )


def attributes_of(account: BrevoAccount) -> dict[str, Any]:
    """``GET /contacts/attributes`` as the sandbox account answers it."""
    return {"attributes": [a.to_json() for a in account.attributes.all()]}


def make(org: SalesforceOrg, obj: str, **fields: Any) -> SfRecord:
    """Create one record in the sandbox org and return it as stored."""
    base: dict[str, Any] = {"LastName": "Weber", "Email": "anna.weber@example.com"}
    if obj == "Lead":
        base["Company"] = "Weber GmbH"
    result = org.create_many(obj, [{**base, **fields}])[0]
    assert result["success"], result
    record = org.get(obj, result["id"])
    assert record is not None
    return record


def brevo_contact(account: BrevoAccount, row: BrevoRow | None = None, **attributes: Any) -> BrevoContact:
    """A contact created in the sandbox account, as ``GET /contacts`` returns it."""
    row = row or {"email": "anna.weber@example.com", "attributes": {"EXT_ID": "0038d0000000001AAA"}}
    account.create_contact(email=row.get("email"), attributes={**row["attributes"], **attributes})
    return next(c for c in account.contacts() if contact_ext_id(c) == row_id(row))


def only(rejections: list[Rejection]) -> Rejection:
    """The one rejection of a call."""
    assert len(rejections) == 1, rejections
    return rejections[0]


def only_update(result: CheckedUpdates) -> SfUpdate:
    """The one update of a ``to_salesforce`` call that rejected nothing."""
    assert result.rejections == [] and len(result.updates) == 1
    return result.updates[0]
