"""Salesforce sandbox lead conversion, over HTTPS: the converted Lead (read-only, with its conversion
fields) and its Contact, read through SOQL, Bulk 2.0 and Get Updated, as a real org leaves them;
and the seeded data's converted Leads and duplicate Contacts."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TypedDict

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.support.salesforce import API, UNKNOWN_CONTACT_ID, SandboxSalesforce, SfEnv, error_body
from toolkit.sandbox.clock import Clock
from toolkit.sandbox.datagen import generate
from toolkit.sandbox.runner import Sandbox, SandboxConfig
from toolkit.sandbox.salesforce.oauth.client import salesforce_session
from toolkit.sandbox.salesforce.org import SalesforceOrg
from toolkit.sandbox.salesforce.org.conversion import ConversionError

CONVERSION_FIELDS = "Id, IsConverted, ConvertedContactId, ConvertedAccountId, ConvertedDate, Status"
LEAD = {
    "Salutation": "Dr.",
    "FirstName": "Ada",
    "LastName": "Lovelace",
    "Company": "Analytical Engines Ltd",
    "Title": "Head of Research",
    "Email": "ada.lovelace@analytical.example",
    "Phone": "030 1234567",
    "MobilePhone": "0151 23456789",
    "City": "Berlin",
    "Country": "Germany",
    "LeadSource": "Web",
    "HasOptedOutOfEmail": True,
    "Description": "Met at the fair",
    "Budget__c": 5000,
}


def _parse(text: str) -> datetime:
    """A datetime as the REST API prints it (``2026-11-27T09:37:04.000+0000``)."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def _lead(env: SfEnv, **fields: object) -> str:
    [result] = env.org.create_many("Lead", [{**LEAD, **fields}])
    assert result["success"], result
    return str(result["id"])


def _converted(env: SfEnv, lead_id: str) -> dict[str, object]:
    [record] = env.sf.query(
        f"SELECT {CONVERSION_FIELDS}, SystemModstamp, LastModifiedDate FROM Lead WHERE Id = '{lead_id}'"
    )["records"]
    return record


def test_describe_reports_the_conversion_fields(sf_env: SfEnv) -> None:
    fields = {f["name"]: f for f in sf_env.sf.Lead.describe()["fields"]}
    assert fields["IsConverted"]["type"] == "boolean" and fields["IsConverted"]["updateable"] is False
    assert fields["IsConverted"]["defaultedOnCreate"] is True and fields["IsConverted"]["nillable"] is False
    for name, target, relationship in (
        ("ConvertedContactId", "Contact", "ConvertedContact"),
        ("ConvertedAccountId", "Account", "ConvertedAccount"),
    ):
        assert fields[name]["type"] == "reference" and fields[name]["referenceTo"] == [target]
        assert fields[name]["relationshipName"] == relationship and fields[name]["length"] == 18
        assert fields[name]["createable"] is False and fields[name]["updateable"] is False
    assert fields["ConvertedDate"]["type"] == "date" and fields["ConvertedDate"]["soapType"] == "xsd:date"
    assert fields["ConvertedDate"]["nillable"] is True and fields["ConvertedDate"]["createable"] is False


def test_converted_lead_is_readable_with_its_conversion_fields(sf_env: SfEnv) -> None:
    lead_id = _lead(sf_env)
    open_lead = _converted(sf_env, lead_id)
    assert open_lead["IsConverted"] is False and open_lead["ConvertedContactId"] is None
    assert open_lead["ConvertedDate"] is None
    sf_env.clock.advance(timedelta(minutes=5))
    contact_id = sf_env.org.convert_lead(lead_id)
    lead = _converted(sf_env, lead_id)
    assert lead["IsConverted"] is True and lead["ConvertedContactId"] == contact_id
    assert str(lead["ConvertedAccountId"]).startswith("001") and lead["Status"] == "Closed - Converted"
    assert lead["ConvertedDate"] == str(lead["SystemModstamp"])[:10]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(lead["ConvertedDate"]))  # a date, no time
    # the conversion moves SystemModstamp (an incremental reader sees it), not LastModifiedDate
    assert str(lead["SystemModstamp"]) > str(lead["LastModifiedDate"]) == str(open_lead["LastModifiedDate"])
    cursor = _parse(str(open_lead["SystemModstamp"])) + timedelta(minutes=1)  # after the Lead was created
    rows = sf_env.sf.query_all(f"SELECT Id FROM Lead WHERE SystemModstamp > {cursor:%Y-%m-%dT%H:%M:%SZ}")[
        "records"
    ]
    assert [r["Id"] for r in rows] == [lead_id]
    assert sf_env.sf.query("SELECT Id FROM Lead WHERE IsConverted = false")["totalSize"] == 0
    sf_env.clock.advance(timedelta(minutes=2))
    updated = sf_env.sf.Lead.updated(sf_env.clock.now() - timedelta(minutes=5), sf_env.clock.now())
    assert updated["ids"] == [lead_id]  # Get Updated (SystemModstamp) lists the conversion, not the creation


def test_conversion_creates_the_contact_from_the_lead(sf_env: SfEnv) -> None:
    lead_id = _lead(sf_env)
    contact_id = sf_env.org.convert_lead(lead_id)
    contact = sf_env.sf.Contact.get(contact_id)
    expected = {
        "Salutation": "Dr.",
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "Title": "Head of Research",
        "Email": "ada.lovelace@analytical.example",
        "Phone": "030 1234567",
        "MobilePhone": "0151 23456789",
        "MailingCity": "Berlin",
        "MailingCountry": "Germany",
        "LeadSource": "Web",
        "HasOptedOutOfEmail": True,
        "Description": "Met at the fair",
        "OwnerId": sf_env.org.user_id,
    }
    assert {k: contact[k] for k in expected} == expected
    assert (
        contact["MailingStreet"] is None and contact["Customer_Score__c"] is None
    )  # custom fields are not mapped
    lead = _converted(sf_env, lead_id)
    assert contact["CreatedDate"] == lead["SystemModstamp"]  # one conversion, one timestamp
    [found] = sf_env.sf.query(f"SELECT Id FROM Contact WHERE Email = '{LEAD['Email']}'")["records"]
    assert found["Id"] == contact_id


def test_updates_of_a_converted_lead_are_refused(sf_env: SfEnv) -> None:
    lead_id = _lead(sf_env)
    sf_env.org.convert_lead(lead_id)
    refusal = {
        "message": "cannot reference converted lead",
        "errorCode": "CANNOT_UPDATE_CONVERTED_LEAD",
        "fields": [],
    }
    with pytest.raises(SalesforceMalformedRequest) as single:
        sf_env.sf.Lead.update(lead_id, {"FirstName": "Augusta"})
    assert single.value.status == 400 and error_body(single.value) == [refusal]
    response = sf_env.call(
        "PATCH",
        f"{API}/composite/sobjects",
        json={
            "allOrNone": False,
            "records": [{"attributes": {"type": "Lead"}, "id": lead_id, "Email": "new@analytical.example"}],
        },
    )
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": lead_id,
            "success": False,
            "errors": [
                {
                    "statusCode": "CANNOT_UPDATE_CONVERTED_LEAD",
                    "message": "cannot reference converted lead",
                    "fields": [],
                }
            ],
        }
    ]
    assert sf_env.sf.Lead.get(lead_id)["FirstName"] == "Ada"
    with pytest.raises(ConversionError) as again:
        sf_env.org.convert_lead(lead_id)
    assert again.value.error.status_code == "CANNOT_UPDATE_CONVERTED_LEAD"
    assert sf_env.sf.Lead.delete(lead_id) == 204  # a converted Lead may still be deleted


def test_conversion_into_an_existing_contact_fills_only_its_empty_fields(sf_env: SfEnv) -> None:
    [existing] = sf_env.org.create_many(
        "Contact",
        [
            {
                "FirstName": "Ada",
                "LastName": "Lovelace",
                "Email": LEAD["Email"],
                "Phone": "+49 30 7654321",
                "LeadSource": "Other",
                "HasOptedOutOfEmail": False,
            }
        ],
    )
    before = sf_env.sf.Contact.get(existing["id"])
    lead_id = _lead(sf_env)
    sf_env.clock.advance(timedelta(seconds=3))
    assert sf_env.org.convert_lead(lead_id, existing["id"]) == existing["id"]
    after = sf_env.sf.Contact.get(existing["id"])
    assert after["Phone"] == "+49 30 7654321" and after["LeadSource"] == "Other"  # kept
    assert after["HasOptedOutOfEmail"] is False  # "not updated for leads converted to existing contacts"
    assert after["Title"] == "Head of Research" and after["MobilePhone"] == "0151 23456789"  # were empty
    assert after["SystemModstamp"] > before["SystemModstamp"]
    assert sf_env.sf.query("SELECT Id FROM Contact")["totalSize"] == 1
    lead = _converted(sf_env, lead_id)
    assert lead["ConvertedContactId"] == existing["id"]
    # a second Lead of the same person lands on the same Contact and its Account
    second = _lead(sf_env, Email="ada@home.example")
    sf_env.org.convert_lead(second, existing["id"], overwrite_lead_source=True)
    assert _converted(sf_env, second)["ConvertedAccountId"] == lead["ConvertedAccountId"]
    assert sf_env.sf.Contact.get(existing["id"])["LeadSource"] == "Web"


def test_conversions_salesforce_would_refuse(sf_env: SfEnv) -> None:
    lead_id = _lead(sf_env)
    contact_id = sf_env.contacts(1)[0]
    sf_env.org.delete_many([contact_id])
    cases = {
        "unknown contact": (lead_id, UNKNOWN_CONTACT_ID, "Closed - Converted", "INVALID_CROSS_REFERENCE_KEY"),
        "deleted contact": (lead_id, contact_id, "Closed - Converted", "ENTITY_IS_DELETED"),
        "open status": (lead_id, None, "Working - Contacted", "INVALID_STATUS"),
        "not a lead": (contact_id, None, "Closed - Converted", "MALFORMED_ID"),
    }
    for name, (lead, contact, status, code) in cases.items():
        with pytest.raises(ConversionError) as refused:
            sf_env.org.convert_lead(lead, contact, converted_status=status)
        assert refused.value.error.status_code == code, name
    assert _converted(sf_env, lead_id)["IsConverted"] is False
    assert sf_env.sf.query("SELECT Id FROM Contact")["totalSize"] == 0


def test_control_route_converts_a_lead(sf_env: SfEnv) -> None:
    lead_id = _lead(sf_env)
    url = f"{sf_env.url}/_sandbox/salesforce/convert-lead"
    response = sf_env.http.post(url, json={"leadId": lead_id})
    assert response.status_code == 200
    result = response.json()
    assert result["success"] is True and result["errors"] == [] and result["leadId"] == lead_id
    assert result["contactId"].startswith("003") and result["accountId"].startswith("001")
    assert result["opportunityId"] is None
    assert _converted(sf_env, lead_id)["ConvertedContactId"] == result["contactId"]
    again = sf_env.http.post(url, json={"leadId": lead_id, "contactId": result["contactId"]})
    assert (
        again.status_code == 400 and again.json()["errors"][0]["statusCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    )
    assert sf_env.http.post(url, json={}).status_code == 400


def test_bulk_2_query_reads_the_conversion_fields(sf_env: SfEnv) -> None:
    converted, kept = _lead(sf_env), _lead(sf_env, Email="other@analytical.example")
    contact_id = sf_env.org.convert_lead(converted)
    pages = sf_env.sf.bulk2_query("Lead", f"SELECT {CONVERSION_FIELDS} FROM Lead")
    rows = {row["Id"]: row for page in pages for row in csv.DictReader(io.StringIO(page))}
    assert rows[converted]["IsConverted"] == "true" and rows[converted]["ConvertedContactId"] == contact_id
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", rows[converted]["ConvertedDate"])
    assert rows[kept]["IsConverted"] == "false" and rows[kept]["ConvertedContactId"] == ""
    assert rows[kept]["ConvertedDate"] == ""


def test_saved_state_keeps_conversions(sf_env: SfEnv) -> None:
    lead_id = _lead(sf_env)
    contact_id = sf_env.org.convert_lead(lead_id)
    loaded = SalesforceOrg.from_dict(json.loads(json.dumps(sf_env.org.to_dict())), Clock())
    assert loaded.record("Lead", lead_id)["ConvertedContactId"] == contact_id
    assert (
        loaded.update_many("Lead", [{"Id": lead_id, "FirstName": "X"}])[0]["errors"][0]["statusCode"]
        == "CANNOT_UPDATE_CONVERTED_LEAD"
    )
    state = sf_env.org.to_dict()
    for row in state["records"]["Lead"]:  # a state saved before the conversion fields existed
        for name in ("ConvertedContactId", "ConvertedAccountId", "ConvertedDate"):
            row.pop(name)
    old = SalesforceOrg.from_dict(state, Clock())
    assert old.record("Lead", lead_id)["ConvertedDate"] is None


# -- the seeded data (datagen + seed_data) ---------------------------------------------------------


class Seed(TypedDict):
    contacts: int
    leads: int
    seed: int


SEED: Seed = {"contacts": 600, "leads": 400, "seed": 12}


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[Sandbox, SandboxSalesforce]]:
    sandbox = Sandbox(SandboxConfig(**SEED, brevo_rate_limit=0))
    info = sandbox.start()["salesforce"]
    sf = SandboxSalesforce(
        consumer_key=info["client_id"],
        consumer_secret=info["client_secret"],
        domain="sandbox.my",
        session=salesforce_session(info["login_url"], info["ca_bundle"]),
        version=info["api_version"],
    )
    yield sandbox, sf
    sandbox.stop()


def test_seeded_leads_are_converted_into_new_and_existing_contacts(
    seeded: tuple[Sandbox, SandboxSalesforce],
) -> None:
    _, sf = seeded
    data = generate(**SEED)
    leads = sf.query_all(f"SELECT {CONVERSION_FIELDS}, Email FROM Lead ORDER BY Id")["records"]
    contacts = sf.query_all("SELECT Id, Email, CreatedDate FROM Contact ORDER BY Id")["records"]
    converted = {i for i, lead in enumerate(leads) if lead["IsConverted"]}
    assert converted == {i for i, _ in data.conversions} and converted
    new_contacts = sum(1 for _, contact in data.conversions if contact is None)
    assert len(contacts) == SEED["contacts"] + new_contacts
    by_id = {c["Id"]: c for c in contacts}
    for lead_index, contact_index in data.conversions:
        lead = leads[lead_index]
        contact = by_id[lead["ConvertedContactId"]]
        assert contact["Email"] == lead["Email"] and lead["Status"] == "Closed - Converted"
        if contact_index is not None:
            assert contact["Id"] == contacts[contact_index]["Id"]
        else:
            assert contacts.index(contact) >= SEED["contacts"]  # created by the conversion


def test_seeded_duplicate_emails_have_one_older_contact(seeded: tuple[Sandbox, SandboxSalesforce]) -> None:
    _, sf = seeded
    contacts = sf.query_all("SELECT Id, Email, CreatedDate FROM Contact WHERE Email != null")["records"]
    data = generate(**SEED)
    duplicated = {r.fields["Email"] for r in data.contacts if "duplicate_email" in r.traits}
    assert duplicated
    counts = Counter(c["Email"] for c in contacts)
    for email in duplicated:
        older, newer = sorted(_parse(c["CreatedDate"]) for c in contacts if c["Email"] == email)
        assert counts[email] == 2 and newer - older >= timedelta(days=185)
