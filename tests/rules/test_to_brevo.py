"""Salesforce -> Brevo rules (SPEC Y6, Y7, Y9, Y11, B4) and the change hash, on the sandbox's data shapes."""

from __future__ import annotations

import dataclasses
import random

import pytest
from email_validator import EmailNotValidError, validate_email

from tests.support.rules import (
    B4_PAIRS,
    CONTACT_PAIRS,
    attributes_of,
    brevo_contact,
    describe,
    make,
    only,
    only_update,
)
from toolkit.mapping import Mapping, validate_mapping
from toolkit.rules import brevo_values, record_hash, salesforce_values, to_brevo, to_salesforce
from toolkit.rules.values import email_problem, utc_day
from toolkit.sandbox.brevo import BrevoAccount
from toolkit.sandbox.salesforce import SalesforceOrg

# -- Salesforce -> Brevo -------------------------------------------------------------------------


def test_row_is_keyed_by_salesforce_id_with_mapped_attributes(
    org: SalesforceOrg, contact_mapping: Mapping
) -> None:
    record = make(
        org,
        "Contact",
        FirstName="  Anna ",
        MobilePhone="0151 23456789",
        MailingCountry="Germany",
        Birthdate="1990-09-25",
        Customer_Score__c=42.5,
        Title="Head of Sales",
    )
    rows, rejections = to_brevo([record], contact_mapping, object="Contact")
    assert rejections == []
    assert rows == [
        {
            "email": "anna.weber@example.com",
            "attributes": {
                "EXT_ID": record["Id"],
                "FIRSTNAME": "Anna",
                "LASTNAME": "Weber",
                "SMS": "+4915123456789",
                "BIRTHDATE": "1990-09-25",
                "SCORE": 42.5,
                "TITLE": "Head of Sales",
            },
        }
    ]


def test_y6_record_without_email_is_rejected(org: SalesforceOrg, contact_mapping: Mapping) -> None:
    record = make(org, "Contact", Email=None)
    rows, rejections = to_brevo([record], contact_mapping, object="Contact")
    rejection = only(rejections)
    assert rows == []
    assert (rejection.record_id, rejection.rule, rejection.field) == (record["Id"], "Y6", "Email")
    assert rejection.value is None
    assert "no email address" in rejection.reason and "SPEC Y6" in rejection.reason
    assert not rejection.permanent


def test_y7_emptied_phone_is_left_out_of_the_row(org: SalesforceOrg, contact_mapping: Mapping) -> None:
    record = make(org, "Contact", Phone=None, MobilePhone=None, Title=None)
    rows, rejections = to_brevo([{**record, "Phone": "   "}], contact_mapping)
    assert rejections == []
    attributes = rows[0]["attributes"]
    assert "SMS" not in attributes and "PHONE" not in attributes  # Brevo keeps its numbers
    assert attributes["TITLE"] == ""  # other empty values are sent empty


@pytest.mark.parametrize(("phone", "digits"), [("12345", 5), ("+49 123", 5), ("+49 3084 6481 9433 083", 17)])
def test_y9_lead_phone_outside_6_to_16_digits_is_rejected(
    org: SalesforceOrg, lead_mapping: Mapping, phone: str, digits: int
) -> None:
    record = make(org, "Lead", Phone=phone, Country="Germany")
    rows, rejections = to_brevo([record], lead_mapping, object="Lead")
    rejection = only(rejections)
    assert rows == [] and (rejection.rule, rejection.field, rejection.value) == ("Y9", "Phone", phone)
    assert rejection.reason == (
        f"Lead phone has {digits} digits; a phone number needs 6 to 16 digits, so this "
        "lead is not sent to Brevo (SPEC Y9)."
    )


@pytest.mark.parametrize("phone", ["123456", "1234 5678 9012 3456"])
def test_y9_lead_phone_with_6_or_16_digits_passes(
    org: SalesforceOrg, lead_mapping: Mapping, phone: str
) -> None:
    rows, rejections = to_brevo([make(org, "Lead", Phone=phone)], lead_mapping)
    assert rejections == [] and rows[0]["attributes"]["PHONE"] == phone


def test_y9_applies_to_leads_only(org: SalesforceOrg, contact_mapping: Mapping) -> None:
    rows, rejections = to_brevo([make(org, "Contact", Phone="0815")], contact_mapping)
    assert rejections == [] and rows[0]["attributes"]["PHONE"] == "0815"


@pytest.mark.parametrize(
    ("phone", "country", "e164"),
    [
        ("0151 23456789", "Germany", "+4915123456789"),
        ("06 12 34 56 78", "France", "+33612345678"),
        ("06.12.34.56.78", "FR", "+33612345678"),
        ("+44 7911 123456", "Germany", "+447911123456"),  # international form wins over the country
        ("0044 7911 123456", "Deutschland", "+447911123456"),
        ("(201) 555-0123", "United States", "+12015550123"),
        ("0612345678", "Nederland", "+31612345678"),
    ],
)
def test_sms_is_sent_in_e164_using_the_record_country(
    org: SalesforceOrg, contact_mapping: Mapping, phone: str, country: str, e164: str
) -> None:
    record = make(org, "Contact", MobilePhone=phone, MailingCountry=country)
    rows, rejections = to_brevo([record], contact_mapping)
    assert rejections == [] and rows[0]["attributes"]["SMS"] == e164


def test_sms_national_number_uses_default_region_else_is_rejected(
    org: SalesforceOrg, contact_mapping: Mapping
) -> None:
    record = make(org, "Contact", MobilePhone="0151 23456789", MailingCountry="Atlantis")
    rows, _ = to_brevo([record], contact_mapping, default_region="DE")
    assert rows[0]["attributes"]["SMS"] == "+4915123456789"
    rows, rejections = to_brevo([record], contact_mapping)
    rejection = only(rejections)
    assert (rejection.rule, rejection.field) == ("PHONE_INVALID", "MobilePhone")
    assert "country code" in rejection.reason and "0151" not in rejection.reason
    # Field-level: the number is left out, the rest of the contact still syncs (issue 12).
    [row] = rows
    assert "SMS" not in row["attributes"] and row["email"] == record["Email"]


def test_sms_invalid_number_is_rejected(org: SalesforceOrg, contact_mapping: Mapping) -> None:
    record = make(org, "Contact", MobilePhone="0000 000000", MailingCountry="Germany")
    rejection = only(to_brevo([record], contact_mapping)[1])
    assert rejection.rule == "PHONE_INVALID" and "region DE" in rejection.reason


@pytest.mark.parametrize(
    "email",
    [
        "anna.weber@@example.com",
        "anna weber@example.com",
        "anna@localhost",
        "anna@example..com",
        "anna@example.test",
    ],
)
def test_invalid_email_is_rejected_with_reason(
    org: SalesforceOrg, contact_mapping: Mapping, email: str
) -> None:
    record = make(org, "Contact")
    rejection = only(to_brevo([{**record, "Email": email}], contact_mapping)[1])
    assert (rejection.rule, rejection.field, rejection.value) == ("EMAIL_INVALID", "Email", email)
    assert rejection.reason.startswith("Contact email is not a valid email address")


def test_email_check_agrees_with_email_validator() -> None:
    rng = random.Random(5)
    local_chars, domain_chars = "abZ09.-_+!'ü", "abZ09.-ü_"
    tlds = ("com", "de", "test", "local", "c1", "x--y", "co.uk", "1", "example", "arpa")
    for _ in range(3000):
        local = "".join(rng.choice(local_chars) for _ in range(rng.randint(0, 8)))
        domain = "".join(rng.choice(domain_chars) for _ in range(rng.randint(1, 12)))
        address = f"{local}@{domain}.{rng.choice(tlds)}" if rng.random() < 0.7 else f"{local}@{domain}"
        try:
            validate_email(address, check_deliverability=False)
            valid = True
        except EmailNotValidError:
            valid = False
        assert (email_problem(address) is None) == valid, address


def test_dates_are_sent_as_yyyy_mm_dd() -> None:
    assert utc_day("1990-09-25") == "1990-09-25"
    assert utc_day("2024-05-01T23:30:00.000+0000") == "2024-05-01"
    assert utc_day("2024-05-01T23:30:00.000-0200") == "2024-05-02"  # a datetime field: its UTC day
    assert utc_day("2024-05-01T00:30:00.000+02:00") == "2024-04-30"
    assert utc_day("25.09.1990") is None


def test_b4_booleans_and_picklists_are_sent_only_with_b4(org: SalesforceOrg, b4_mapping: Mapping) -> None:
    record = make(
        org, "Contact", HasOptedOutOfEmail=True, Loyalty_Tier__c="Gold", Interests__c="Yoga;Running"
    )
    rows, rejections = to_brevo([record], b4_mapping)
    assert rejections == []
    assert rows[0]["attributes"]["OPTED_OUT"] is True
    assert rows[0]["attributes"]["LOYALTY_TIER"] == "Gold"
    assert rows[0]["attributes"]["INTERESTS"] == ["Yoga", "Running"]
    rows, _ = to_brevo([record], dataclasses.replace(b4_mapping, booleans_and_picklists=False))
    assert not {"OPTED_OUT", "LOYALTY_TIER", "INTERESTS"} & set(rows[0]["attributes"])


def test_b4_picklist_value_missing_from_brevo_category_is_rejected(
    org: SalesforceOrg, account: BrevoAccount
) -> None:
    account.attributes.update("category", "LOYALTY_TIER", {"enumeration": [{"value": 1, "label": "Bronze"}]})
    mapping = validate_mapping(
        CONTACT_PAIRS + B4_PAIRS, describe("Contact"), attributes_of(account), booleans_and_picklists=True
    )
    rejection = only(to_brevo([make(org, "Contact", Loyalty_Tier__c="Gold")], mapping)[1])
    assert (rejection.rule, rejection.field, rejection.value) == ("B4", "Loyalty_Tier__c", "Gold")
    assert "not an option of Brevo category attribute LOYALTY_TIER" in rejection.reason


def test_each_problem_of_a_record_is_reported(org: SalesforceOrg, lead_mapping: Mapping) -> None:
    record = make(org, "Lead", Email=None, Phone="112")
    assert sorted(r.rule for r in to_brevo([record], lead_mapping)[1]) == ["Y6", "Y9"]


def test_object_must_match_the_mapping(contact_mapping: Mapping) -> None:
    with pytest.raises(ValueError, match="Contact, not Lead"):
        to_brevo([], contact_mapping, object="Lead")


# -- record_hash ------------------------------------------------------------------------------------


def test_record_hash_is_equal_across_sides(
    org: SalesforceOrg, account: BrevoAccount, b4_mapping: Mapping
) -> None:
    record = make(
        org,
        "Contact",
        FirstName=" Anna ",
        Email="Anna.Weber@Example.com",
        MobilePhone="0151 23456789",
        MailingCountry="Germany",
        Birthdate="1990-09-25",
        Customer_Score__c=42.0,
        Phone=None,
        HasOptedOutOfEmail=False,
        Loyalty_Tier__c="Gold",
        Interests__c="Yoga;Running",
    )
    rows, _ = to_brevo([record], b4_mapping)
    contact = brevo_contact(account, rows[0])
    assert contact["email"] == "anna.weber@example.com" and contact["attributes"]["SMS"] == "4915123456789"
    update = only_update(to_salesforce([contact], b4_mapping))
    hashes = {
        record_hash(brevo_values(rows[0], b4_mapping), b4_mapping),
        record_hash(brevo_values(contact, b4_mapping), b4_mapping),
        record_hash(salesforce_values(update, b4_mapping), b4_mapping),
    }
    assert len(hashes) == 1


def test_record_hash_normalises_values() -> None:
    assert record_hash({"A": None, "B": " x ", "N": 10}) == record_hash({"B": "x", "C": "", "N": 10.0})
    assert record_hash({"EMAIL": "Anna@Example.COM"}) == record_hash({"EMAIL": "anna@example.com"})
    assert record_hash({"D": "1990-09-25"}) == record_hash({"D": "1990-09-25"})


def test_record_hash_sees_changes(contact_mapping: Mapping) -> None:
    base = {"EMAIL": "anna@example.com", "SMS": "+4915123456789", "SCORE": 1.5}
    assert record_hash(base, contact_mapping) == record_hash(
        {**base, "SMS": "4915123456789"}, contact_mapping
    )
    for change in (
        {"EMAIL": "ann@example.com"},
        {"SMS": "+4915123456788"},
        {"SCORE": 1.25},
        {"TITLE": "CEO"},
    ):
        assert record_hash({**base, **change}, contact_mapping) != record_hash(base, contact_mapping)
    assert len(record_hash(base)) == 64
