"""Field mapping (SPEC S5, S6, Y4, Y11, B4) over the sandbox's real describe and attribute metadata."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from toolkit.exceptions import MappingError
from toolkit.mapping import Mapping, mappable_fields, suggest_mapping, validate_mapping
from toolkit.sandbox.brevo import BrevoAccount
from toolkit.sandbox.clock import Clock
from toolkit.sandbox.runner import API_VERSION
from toolkit.sandbox.salesforce.schema import default_schema

BASIC = [("EMAIL", "Email"), ("FIRSTNAME", "FirstName"), ("LASTNAME", "LastName"), ("SMS", "MobilePhone")]


def describe(obj: str) -> dict[str, Any]:
    """``GET sobjects/<obj>/describe`` as the sandbox org serves it."""
    found = default_schema().get(obj)
    assert found is not None
    return found.describe(API_VERSION)


def brevo_attributes(account: BrevoAccount) -> dict[str, Any]:
    """``GET /v3/contacts/attributes`` as the sandbox account answers it."""
    return {"attributes": [a.to_json() for a in account.attributes.all()]}


@pytest.fixture
def account() -> BrevoAccount:
    """A Brevo account with the default attributes plus the ones a marketing team adds."""
    acc = BrevoAccount(Clock())
    acc.attributes.create("normal", "BIRTHDATE", {"type": "date"})
    acc.attributes.create("normal", "SCORE", {"type": "float"})
    acc.attributes.create("normal", "COMPANY", {"type": "text"})
    acc.attributes.create("normal", "OPTED_OUT", {"type": "boolean"})
    acc.attributes.create(
        "category",
        "LOYALTY_TIER",
        {
            "enumeration": [
                {"value": i, "label": label}
                for i, label in enumerate(("Bronze", "Silver", "Gold", "Platinum"), 1)
            ]
        },
    )
    acc.attributes.create(
        "normal",
        "INTERESTS",
        {"type": "multiple-choice", "multiCategoryOptions": ["Running", "Cycling", "Yoga", "Travel", "Food"]},
    )
    acc.attributes.create("calculated", "FULL_NAME", {"value": "FIRSTNAME + LASTNAME"})
    return acc


@pytest.fixture
def attributes(account: BrevoAccount) -> dict[str, Any]:
    return brevo_attributes(account)


def offered(obj: str, **kwargs: bool) -> dict[str, tuple[str, ...]]:
    return {f.name: f.brevo_types for f in mappable_fields(describe(obj), **kwargs)}


def refusal(
    pairs: list[tuple[str, str]], obj: str, attributes: dict[str, Any], **kwargs: bool
) -> MappingError:
    with pytest.raises(MappingError) as caught:
        validate_mapping(pairs, describe(obj), attributes, **kwargs)
    return caught.value


# -- S6 / B4: what the wizard offers ------------------------------------------------------------


def test_s6_formula_fields_are_never_offered() -> None:
    assert "Full_Name__c" not in offered("Contact", booleans_and_picklists=True)
    assert "Days_Since_Created__c" not in offered("Lead", booleans_and_picklists=True)


def test_s6_read_only_and_system_fields_are_never_offered() -> None:
    contact, lead = (
        offered("Contact", booleans_and_picklists=True),
        offered("Lead", booleans_and_picklists=True),
    )
    for name in (
        "Id",
        "Name",
        "SystemModstamp",
        "CreatedDate",
        "LastModifiedDate",
        "IsDeleted",
        "OwnerId",
        "MasterRecordId",
    ):
        assert name not in contact and name not in lead
    assert "IsConverted" not in lead  # a boolean Salesforce does not let the API user update


def test_s6_booleans_and_picklists_are_not_offered_without_b4() -> None:
    contact = offered("Contact")
    for name in (
        "HasOptedOutOfEmail",
        "DoNotCall",
        "LeadSource",
        "Loyalty_Tier__c",
        "Interests__c",
        "Salutation",
        "Newsletter_Opt_In__c",
    ):
        assert name not in contact


def test_b4_offers_booleans_picklists_and_multipicklists() -> None:
    contact = offered("Contact", booleans_and_picklists=True)
    assert contact["HasOptedOutOfEmail"] == ("boolean",)
    assert contact["Loyalty_Tier__c"] == ("category", "text")
    assert contact["Interests__c"] == ("multiple-choice",)


def test_s5_type_pairs_of_the_offered_fields() -> None:
    contact = offered("Contact")
    assert contact["Email"] == ("EMAIL", "text")
    assert contact["MobilePhone"] == ("SMS", "text")
    assert contact["Birthdate"] == ("date",)
    assert contact["Customer_Score__c"] == ("float",)
    assert contact["Title"] == ("text",)
    assert contact["Description"] == ("text",)
    assert offered("Lead")["Budget__c"] == ("float",)  # currency


def test_mappable_field_carries_label_and_type() -> None:
    mobile = next(f for f in mappable_fields(describe("Lead")) if f.name == "MobilePhone")
    assert (mobile.label, mobile.sf_type) == ("Mobile Phone", "phone")


# -- validate_mapping: every refusal names the field and the reason ------------------------------


def test_y4_formula_field_cannot_be_mapped(attributes: dict[str, Any]) -> None:
    error = refusal([*BASIC, ("COMPANY", "Full_Name__c")], "Contact", attributes, booleans_and_picklists=True)
    assert error.field == "Full_Name__c"
    assert "formula" in error.reason and "Y4" in error.reason


def test_y11_boolean_field_refused_without_b4(attributes: dict[str, Any]) -> None:
    error = refusal([*BASIC, ("OPTED_OUT", "HasOptedOutOfEmail")], "Contact", attributes)
    assert error.field == "HasOptedOutOfEmail"
    assert "boolean" in error.reason and "B4" in error.reason


def test_y11_picklist_field_refused_without_b4(attributes: dict[str, Any]) -> None:
    error = refusal([*BASIC, ("LOYALTY_TIER", "Loyalty_Tier__c")], "Contact", attributes)
    assert error.field == "Loyalty_Tier__c"
    assert "picklist" in error.reason and "Y11" in error.reason


def test_b4_boolean_picklist_and_multipicklist_accepted_with_b4(attributes: dict[str, Any]) -> None:
    pairs = [
        *BASIC,
        ("OPTED_OUT", "HasOptedOutOfEmail"),
        ("LOYALTY_TIER", "Loyalty_Tier__c"),
        ("INTERESTS", "Interests__c"),
    ]
    mapping = validate_mapping(pairs, describe("Contact"), attributes, booleans_and_picklists=True)
    kinds = {f.brevo_attribute: f.kind for f in mapping.fields}
    assert kinds["OPTED_OUT"] == "boolean" and kinds["LOYALTY_TIER"] == "category"
    assert kinds["INTERESTS"] == "multiple-choice"
    loyalty = next(f for f in mapping.fields if f.brevo_attribute == "LOYALTY_TIER")
    assert loyalty.options == ("Bronze", "Silver", "Gold", "Platinum") and loyalty.restricted


def test_unknown_salesforce_field_refused(attributes: dict[str, Any]) -> None:
    error = refusal([*BASIC, ("COMPANY", "Nickname__c")], "Contact", attributes)
    assert error.field == "Nickname__c" and "Contact has no field" in error.reason


@pytest.mark.parametrize(
    ("attribute", "field"),
    [
        ("BIRTHDATE", "Title"),  # text -> date attribute
        ("FIRSTNAME", "Birthdate"),  # date -> text attribute
        ("SCORE", "Email"),  # email -> float attribute
        ("COMPANY", "Customer_Score__c"),  # number -> text attribute
    ],
)
def test_incompatible_type_pair_refused(attributes: dict[str, Any], attribute: str, field: str) -> None:
    pairs = [p for p in BASIC if p[0] != attribute] + [(attribute, field)]
    error = refusal(pairs, "Contact", attributes)
    assert error.field == field
    assert "cannot map to" in error.reason and attribute in error.reason


def test_phone_may_map_to_text_but_not_to_email(attributes: dict[str, Any]) -> None:
    mapping = validate_mapping([*BASIC, ("COMPANY", "Phone")], describe("Lead"), attributes)
    assert ("COMPANY", "Phone") in mapping.pairs
    error = refusal([("EMAIL", "Phone"), ("SMS", "MobilePhone")], "Lead", attributes)
    assert error.field == "Phone" and "EMAIL" in error.reason


def test_unknown_brevo_attribute_refused(attributes: dict[str, Any]) -> None:
    error = refusal([*BASIC, ("NICKNAME", "Title")], "Contact", attributes)
    assert error.field == "NICKNAME" and "Brevo has no contact attribute" in error.reason


def test_same_attribute_mapped_twice_refused(attributes: dict[str, Any]) -> None:
    error = refusal([*BASIC, ("FIRSTNAME", "Title")], "Contact", attributes)
    assert error.field == "FIRSTNAME" and "more than once" in error.reason


def test_same_field_mapped_twice_refused(attributes: dict[str, Any]) -> None:
    error = refusal([*BASIC, ("COMPANY", "FirstName")], "Contact", attributes)
    assert error.field == "FirstName" and "FIRSTNAME" in error.reason and "COMPANY" in error.reason


def test_read_only_field_refused(attributes: dict[str, Any]) -> None:
    error = refusal([*BASIC, ("BIRTHDATE", "CreatedDate")], "Lead", attributes)
    assert error.field == "CreatedDate" and "read-only" in error.reason
    error = refusal([*BASIC, ("OPTED_OUT", "IsConverted")], "Lead", attributes, booleans_and_picklists=True)
    assert error.field == "IsConverted" and "read-only" in error.reason


@pytest.mark.parametrize(
    ("attribute", "words"),
    [
        ("EXT_ID", "Salesforce Id"),
        ("FULL_NAME", "computes"),
        ("ORDER_PRICE", "transactional"),
    ],
)
def test_reserved_and_computed_attributes_refused(
    attributes: dict[str, Any], attribute: str, words: str
) -> None:
    error = refusal([*BASIC, (attribute, "Title")], "Contact", attributes)
    assert error.field == attribute and words in error.reason


def test_s5_mapping_without_email_or_sms_refused(attributes: dict[str, Any]) -> None:
    error = refusal([("FIRSTNAME", "FirstName"), ("LASTNAME", "LastName")], "Contact", attributes)
    assert "at least one EMAIL or SMS" in error.reason and "S5" in error.reason
    assert refusal([], "Lead", attributes).field == "EMAIL"


def test_s5_sms_alone_is_enough(attributes: dict[str, Any]) -> None:
    mapping = validate_mapping(
        [("SMS", "MobilePhone"), ("LASTNAME", "LastName")], describe("Lead"), attributes
    )
    assert mapping.pairs == (("SMS", "MobilePhone"), ("LASTNAME", "LastName"))


def test_s5_email_alone_is_enough_and_whatsapp_does_not_count(attributes: dict[str, Any]) -> None:
    assert validate_mapping([("EMAIL", "Email")], describe("Contact"), attributes).pairs == (
        ("EMAIL", "Email"),
    )
    error = refusal([("WHATSAPP", "MobilePhone")], "Contact", attributes)
    assert "S5" in error.reason


def test_names_are_matched_case_insensitively(attributes: dict[str, Any]) -> None:
    mapping = validate_mapping({"email": "email", "lastname": "LASTNAME"}, describe("Lead"), attributes)
    assert mapping.pairs == (("EMAIL", "Email"), ("LASTNAME", "LastName"))
    assert mapping.object == "Lead"


def test_mapping_reads_id_mapped_fields_and_country(attributes: dict[str, Any]) -> None:
    contact = validate_mapping(BASIC, describe("Contact"), attributes)
    assert contact.soql_fields == ("Id", "Email", "FirstName", "LastName", "MobilePhone", "MailingCountry")
    lead = validate_mapping(BASIC, describe("Lead"), attributes)
    assert lead.country_fields == ("Country",)


# -- storage ----------------------------------------------------------------------------------


def test_mapping_json_round_trip(attributes: dict[str, Any]) -> None:
    pairs = [
        *BASIC,
        ("LOYALTY_TIER", "Loyalty_Tier__c"),
        ("INTERESTS", "Interests__c"),
        ("BIRTHDATE", "Birthdate"),
    ]
    mapping = validate_mapping(pairs, describe("Contact"), attributes, booleans_and_picklists=True)
    stored = json.loads(json.dumps(mapping.to_json()))
    assert Mapping.from_json(stored) == mapping


def test_mapping_needs_its_metadata() -> None:
    with pytest.raises(ValueError, match="validate_mapping"):
        Mapping("Contact", (("EMAIL", "Email"),))
    with pytest.raises(ValueError, match="not a stored mapping"):
        Mapping.from_json({"EMAIL": "Email"})


def test_switching_b4_off_stops_syncing_booleans(attributes: dict[str, Any]) -> None:
    mapping = validate_mapping(
        [*BASIC, ("OPTED_OUT", "HasOptedOutOfEmail")],
        describe("Contact"),
        attributes,
        booleans_and_picklists=True,
    )
    off = dataclasses.replace(mapping, booleans_and_picklists=False)
    assert "HasOptedOutOfEmail" in mapping.soql_fields and "HasOptedOutOfEmail" not in off.soql_fields


# -- the wizard's suggestion ----------------------------------------------------------------------


def test_suggest_mapping_for_contacts(attributes: dict[str, Any]) -> None:
    suggested = suggest_mapping(describe("Contact"), attributes)
    assert suggested == [
        ("EMAIL", "Email"),
        ("FIRSTNAME", "FirstName"),
        ("LASTNAME", "LastName"),
        ("SMS", "MobilePhone"),
        ("LANDLINE_NUMBER", "Phone"),
        ("BIRTHDATE", "Birthdate"),
    ]
    validate_mapping(suggested, describe("Contact"), attributes)


def test_suggest_mapping_for_leads_matches_custom_fields_by_name(attributes: dict[str, Any]) -> None:
    suggested = dict(suggest_mapping(describe("Lead"), attributes))
    assert suggested["BIRTHDATE"] == "Birthdate__c" and suggested["COMPANY"] == "Company"
    assert "LOYALTY_TIER" not in suggested  # no such Lead field
    validate_mapping(list(suggested.items()), describe("Lead"), attributes)


def test_b4_suggestion_includes_picklists_only_when_switched_on(attributes: dict[str, Any]) -> None:
    assert "LOYALTY_TIER" not in dict(suggest_mapping(describe("Contact"), attributes))
    with_b4 = dict(suggest_mapping(describe("Contact"), attributes, booleans_and_picklists=True))
    assert with_b4["LOYALTY_TIER"] == "Loyalty_Tier__c" and with_b4["INTERESTS"] == "Interests__c"


def test_suggest_mapping_knows_localised_name_attributes() -> None:
    account = BrevoAccount(Clock())
    account.attributes.delete("normal", "FIRSTNAME")
    account.attributes.delete("normal", "LASTNAME")
    account.attributes.create("normal", "PRENOM", {"type": "text"})
    account.attributes.create("normal", "NOM", {"type": "text"})
    suggested = dict(suggest_mapping(describe("Lead"), brevo_attributes(account)))
    assert suggested["PRENOM"] == "FirstName" and suggested["NOM"] == "LastName"


def test_suggest_sms_falls_back_to_phone() -> None:
    lead = describe("Lead")
    lead = {**lead, "fields": [f for f in lead["fields"] if f["name"] != "MobilePhone"]}
    suggested = dict(suggest_mapping(lead, brevo_attributes(BrevoAccount(Clock()))))
    assert suggested["SMS"] == "Phone" and "LANDLINE_NUMBER" not in suggested
