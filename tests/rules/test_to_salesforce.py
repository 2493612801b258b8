"""Brevo -> Salesforce rules (SPEC Y1, Y3, Y5, Y6, Y8, B4) on contacts as ``GET /contacts`` returns them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.rules import (
    brevo_contact,
    only,
    only_update,
)
from toolkit.mapping import Mapping
from toolkit.rules import to_salesforce
from toolkit.sandbox.brevo import BrevoAccount

# -- Brevo -> Salesforce -------------------------------------------------------------------------


def test_update_holds_id_and_mapped_fields_only(account: BrevoAccount, contact_mapping: Mapping) -> None:
    contact = brevo_contact(
        account,
        FIRSTNAME="Anna",
        LASTNAME="Weber",
        SMS="+4915123456789",
        BIRTHDATE="1990-09-25",
        SCORE=42,
        COMPANY="not mapped",
    )
    updates, rejections = to_salesforce([contact], contact_mapping, object="Contact")
    assert rejections == []
    assert updates == [
        {
            "Id": "0038d0000000001AAA",
            "Email": "anna.weber@example.com",
            "FirstName": "Anna",
            "LastName": "Weber",
            "MobilePhone": "+4915123456789",
            "Phone": None,
            "Birthdate": "1990-09-25",
            "Customer_Score__c": 42,
            "Title": None,
        }
    ]


def test_y1_brevo_only_contacts_are_never_sent_to_salesforce(
    account: BrevoAccount, contact_mapping: Mapping
) -> None:
    account.create_contact(email="only.in.brevo@example.com", attributes={"LASTNAME": "Brevo"})
    assert to_salesforce(account.contacts(), contact_mapping) == ([], [])


@pytest.mark.parametrize(
    "value",
    [
        "25.09.1990",
        "1990-9-25",
        "09/25/1990",
        "1990/09/25",
        "19900925",
        "25 Sep 1990",
        "1990-02-30",
        "1990-09-25T00:00:00Z",
        19900925,
    ],
)
def test_y3_date_not_written_yyyy_mm_dd_is_rejected(
    account: BrevoAccount, lead_mapping: Mapping, value: Any
) -> None:
    contact = brevo_contact(account, LASTNAME="Weber", COMPANY="Weber GmbH")
    contact["attributes"]["BIRTHDATE"] = value  # Brevo itself drops such values: they come from elsewhere
    updates, rejections = to_salesforce([contact], lead_mapping, object="Lead")
    rejection = only(rejections)
    assert updates == [] and (rejection.rule, rejection.field, rejection.value) == (
        "Y3",
        "Birthdate__c",
        str(value),
    )
    assert "YYYY-MM-DD" in rejection.reason and "SPEC Y3" in rejection.reason


def test_y3_date_written_yyyy_mm_dd_is_pushed(account: BrevoAccount, lead_mapping: Mapping) -> None:
    contact = brevo_contact(account, LASTNAME="Weber", COMPANY="Weber GmbH", BIRTHDATE="1990-09-25")
    assert to_salesforce([contact], lead_mapping)[0][0]["Birthdate__c"] == "1990-09-25"


@pytest.mark.parametrize("last_name", ["", "   ", None])
def test_y5_empty_last_name_not_pushed_to_salesforce(
    account: BrevoAccount, contact_mapping: Mapping, last_name: str | None
) -> None:
    contact = brevo_contact(account, LASTNAME="Weber")
    contact["attributes"]["LASTNAME"] = last_name
    updates, rejections = to_salesforce([contact], contact_mapping)
    rejection = only(rejections)
    assert updates == [] and (rejection.rule, rejection.field) == ("Y5", "LastName")
    assert rejection.reason == (
        "Last name is empty in Brevo; Salesforce requires a contact last name, so the "
        "change is not pushed (SPEC Y5)."
    )


def test_y5_absent_last_name_attribute_counts_as_empty(
    account: BrevoAccount, contact_mapping: Mapping
) -> None:
    contact = brevo_contact(account)
    assert "LASTNAME" not in contact["attributes"]
    assert only(to_salesforce([contact], contact_mapping)[1]).rule == "Y5"


def test_y6_contact_whose_email_was_removed_in_brevo_is_not_pushed(
    account: BrevoAccount, contact_mapping: Mapping
) -> None:
    contact = brevo_contact(account, LASTNAME="Weber", SMS="+4915123456789")
    del contact["email"]
    rejection = only(to_salesforce([contact], contact_mapping)[1])
    assert (rejection.rule, rejection.field) == ("Y6", "Email") and "SPEC Y6" in rejection.reason


def test_y8_lead_first_name_over_40_characters_not_pushed(
    account: BrevoAccount, lead_mapping: Mapping
) -> None:
    long_name = "Maria-Magdalena Alexandrina Konstantina Sophie"[:52].ljust(52, "e")
    contact = brevo_contact(account, FIRSTNAME=long_name, LASTNAME="Weber", COMPANY="Weber GmbH")
    updates, rejections = to_salesforce([contact], lead_mapping, object="Lead")
    rejection = only(rejections)
    assert updates == [] and (rejection.rule, rejection.field, rejection.value) == (
        "Y8",
        "FirstName",
        long_name,
    )
    assert rejection.reason == (
        "Lead first name is longer than 40 characters (52); Salesforce would refuse it (SPEC Y8)."
    )
    contact["attributes"]["FIRSTNAME"] = long_name[:40]
    assert to_salesforce([contact], lead_mapping)[1] == []


def test_string_longer_than_the_field_is_rejected(account: BrevoAccount, contact_mapping: Mapping) -> None:
    contact = brevo_contact(account, LASTNAME="Weber", TITLE="T" * 129, FIRSTNAME="F" * 41)
    rejections = to_salesforce([contact], contact_mapping)[1]
    assert {(r.rule, r.field) for r in rejections} == {
        ("SF:STRING_TOO_LONG", "Title"),
        ("SF:STRING_TOO_LONG", "FirstName"),
    }
    title = next(r for r in rejections if r.field == "Title")
    assert title.reason == (
        "Contact title is longer than 128 characters (129); Salesforce would refuse it (STRING_TOO_LONG)."
    )


def test_other_required_field_empty_in_brevo_is_rejected(
    account: BrevoAccount, lead_mapping: Mapping
) -> None:
    contact = brevo_contact(account, LASTNAME="Weber", COMPANY="")
    rejection = only(to_salesforce([contact], lead_mapping, object="Lead")[1])
    assert (rejection.rule, rejection.field) == ("SF:REQUIRED_FIELD_MISSING", "Company")


def test_sms_is_pushed_to_salesforce_as_e164(account: BrevoAccount, contact_mapping: Mapping) -> None:
    contact = brevo_contact(account, LASTNAME="Weber", SMS="0049 151 23456789")
    assert contact["attributes"]["SMS"] == "4915123456789"  # how Brevo keeps it
    assert to_salesforce([contact], contact_mapping)[0][0]["MobilePhone"] == "+4915123456789"


def test_numbers_out_of_the_field_range_are_rejected(account: BrevoAccount, lead_mapping: Mapping) -> None:
    contact = brevo_contact(account, LASTNAME="Weber", COMPANY="Weber GmbH", BUDGET=1e14)
    rejection = only(to_salesforce([contact], lead_mapping)[1])
    assert (rejection.rule, rejection.field) == ("SF:NUMBER_OUTSIDE_VALID_RANGE", "Budget__c")


def test_b4_category_and_multiple_choice_written_as_picklist_values(
    account: BrevoAccount, b4_mapping: Mapping
) -> None:
    contact = brevo_contact(
        account, LASTNAME="Weber", LOYALTY_TIER="gold", INTERESTS=["Yoga", "Food"], OPTED_OUT=True
    )
    update = only_update(to_salesforce([contact], b4_mapping))
    assert update["Loyalty_Tier__c"] == "Gold" and update["Interests__c"] == "Yoga;Food"
    assert update["HasOptedOutOfEmail"] is True
    contact["attributes"]["LOYALTY_TIER"] = 4  # a category's numeric value
    assert only_update(to_salesforce([contact], b4_mapping))["Loyalty_Tier__c"] == "Platinum"


def test_b4_value_outside_restricted_picklist_is_rejected(account: BrevoAccount, b4_mapping: Mapping) -> None:
    contact = brevo_contact(account, LASTNAME="Weber")
    contact["attributes"]["LOYALTY_TIER"] = "Diamond"
    rejection = only(to_salesforce([contact], b4_mapping)[1])
    assert (rejection.rule, rejection.field) == (
        "SF:INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "Loyalty_Tier__c",
    )
