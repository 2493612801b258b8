"""What standard clients (sf CLI / jsforce, simple-salesforce) expect of any org, over real HTTPS:
the read-only User and Organization objects, ``query?columns=true``, JWT assertions whose ``exp``
is in milliseconds (@salesforce/core) and a resources list whose every entry answers."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceRefusedRequest

from tests.support.salesforce import API, SfEnv, error_body
from toolkit.sandbox.clock import Clock
from toolkit.sandbox.salesforce.org import SalesforceOrg

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
USER_FIELDS = (
    "Id",
    "Username",
    "Email",
    "FirstName",
    "LastName",
    "Name",
    "Alias",
    "IsActive",
    "TimeZoneSidKey",
    "LocaleSidKey",
    "LanguageLocaleKey",
    "EmailEncodingKey",
    "ProfileId",
    "UserType",
    "CreatedDate",
    "LastModifiedDate",
    "SystemModstamp",
)
ORGANIZATION_FIELDS = (
    "Id",
    "Name",
    "Country",
    "DefaultLocaleSidKey",
    "LanguageLocaleKey",
    "TimeZoneSidKey",
    "OrganizationType",
    "IsSandbox",
    "InstanceName",
    "PrimaryContact",
    "CreatedDate",
    "SystemModstamp",
)


def token_user_id(sf_env: SfEnv) -> str:
    """The Id of the user the access token was issued for, as a client learns it (userinfo)."""
    info = sf_env.get("/services/oauth2/userinfo")
    assert info.status_code == 200
    return str(info.json()["user_id"])


def error_of(exc: pytest.ExceptionInfo[Any]) -> tuple[str, str]:
    entry = error_body(exc.value)[0]
    return entry["errorCode"], entry["message"]


# -- User ----------------------------------------------------------------------------------------------


def test_token_user_is_readable_by_id_with_realistic_standard_fields(sf_env: SfEnv) -> None:
    user_id = token_user_id(sf_env)
    assert user_id == sf_env.org.user_id and user_id.startswith("005")
    user = sf_env.sf.User.get(user_id)
    assert user["attributes"] == {"type": "User", "url": f"{API}/sobjects/User/{user_id}"}
    assert set(USER_FIELDS) <= set(user)
    assert user["Username"] == sf_env.credentials.username == user["Email"]
    assert (user["FirstName"], user["LastName"], user["Name"]) == ("Integration", "User", "Integration User")
    assert user["IsActive"] is True and user["UserType"] == "Standard" and user["ProfileId"].startswith("00e")
    assert user["TimeZoneSidKey"] == "Europe/Berlin" and user["EmailEncodingKey"] == "UTF-8"
    assert len(user["Alias"]) <= 8 and user["CreatedDate"].endswith("+0000")
    assert sf_env.sf.User.get(user_id[:15])["Id"] == user_id  # the 15-character form too
    # What `sf org login` reads for the username: the same record by the identity's user_id.
    assert sf_env.get(f"/services/data/v51.0/sobjects/User/{user_id}").json()["Username"] == user["Username"]


def test_token_user_is_found_by_soql(sf_env: SfEnv) -> None:
    user_id = token_user_id(sf_env)
    result = sf_env.sf.query(
        f"SELECT Id, Username, Email, Name, Alias, IsActive, LocaleSidKey FROM User WHERE Id = '{user_id}'"
    )
    assert result["totalSize"] == 1 and result["done"] is True
    record = result["records"][0]
    assert record["attributes"]["type"] == "User"
    assert (record["Id"], record["Username"], record["Name"]) == (
        user_id,
        sf_env.credentials.username,
        "Integration User",
    )
    by_name = sf_env.sf.query(
        f"SELECT Id FROM User WHERE Username = '{sf_env.credentials.username}' AND IsActive = true"
    )
    assert [r["Id"] for r in by_name["records"]] == [user_id]
    assert sf_env.sf.query("SELECT COUNT() FROM User")["totalSize"] == 1


def test_contact_and_lead_owners_are_the_token_user(sf_env: SfEnv) -> None:
    user_id = token_user_id(sf_env)
    contact = sf_env.sf.Contact.create({"LastName": "Owned"})["id"]
    lead = sf_env.sf.Lead.create({"LastName": "Owned", "Company": "Acme"})["id"]
    owners = {sf_env.sf.Contact.get(contact)["OwnerId"], sf_env.sf.Lead.get(lead)["OwnerId"]}
    assert owners == {user_id}
    assert sf_env.sf.User.get(owners.pop())["Username"] == sf_env.credentials.username


def test_user_and_organization_are_described_as_queryable_but_not_writable(sf_env: SfEnv) -> None:
    listed = {o["name"]: o for o in sf_env.sf.describe()["sobjects"]}
    assert [o for o in listed if o in ("Organization", "User")] == ["Organization", "User"]
    for name, prefix in (("User", "005"), ("Organization", "00D")):
        info = listed[name]
        assert info["keyPrefix"] == prefix and info["queryable"] and info["retrieveable"]
        assert not (info["createable"] or info["updateable"] or info["deletable"] or info["undeletable"])
    fields = {f["name"]: f for f in sf_env.sf.User.describe()["fields"]}
    assert set(USER_FIELDS) <= set(fields)
    assert not any(f["createable"] or f["updateable"] for f in fields.values())
    assert fields["Username"]["type"] == "string" and fields["Email"]["type"] == "email"
    assert fields["ProfileId"]["referenceTo"] == ["Profile"] and fields["IsActive"]["type"] == "boolean"
    org_fields = {f["name"]: f["type"] for f in sf_env.sf.Organization.describe()["fields"]}
    assert set(ORGANIZATION_FIELDS) <= set(org_fields) and org_fields["IsSandbox"] == "boolean"


def test_user_writes_are_refused_like_writes_to_a_read_only_object(sf_env: SfEnv) -> None:
    user_id = token_user_id(sf_env)
    with pytest.raises(SalesforceMalformedRequest) as create:
        sf_env.sf.User.create({"LastName": "New", "Username": "new@example.com"})
    assert error_of(create) == (
        "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
        "entity type cannot be inserted: User",
    )
    with pytest.raises(SalesforceMalformedRequest) as update:
        sf_env.sf.User.update(user_id, {"Title": "Boss"})
    assert error_of(update) == ("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "entity type cannot be updated: User")
    with pytest.raises(SalesforceRefusedRequest) as delete:
        sf_env.sf.User.delete(user_id)
    assert error_of(delete) == ("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id")
    with pytest.raises(SalesforceMalformedRequest) as org_update:
        sf_env.sf.Organization.update(sf_env.org.org_id, {"Name": "Renamed"})
    assert error_of(org_update)[1] == "entity type cannot be updated: Organization"
    assert sf_env.sf.User.get(user_id)["Title"] == "Integration User"


def test_user_writes_in_composite_collections_are_refused_per_record(sf_env: SfEnv) -> None:
    user_id = token_user_id(sf_env)
    created = sf_env.sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "User"}, "LastName": "New"},
                {"attributes": {"type": "Contact"}, "LastName": "Fine"},
            ],
        },
    )
    assert created[0] == {
        "success": False,
        "errors": [
            {
                "statusCode": "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
                "message": "entity type cannot be inserted: User",
                "fields": [],
            }
        ],
    }
    assert created[1]["success"] is True
    updated = sf_env.sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={"records": [{"attributes": {"type": "User"}, "id": user_id, "Title": "Boss"}]},
    )
    assert updated == [
        {
            "id": user_id,
            "success": False,
            "errors": [
                {
                    "statusCode": "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
                    "message": "entity type cannot be updated: User",
                    "fields": [],
                }
            ],
        }
    ]
    deleted = sf_env.sf.restful("composite/sobjects", method="DELETE", params={"ids": user_id})
    assert deleted[0]["success"] is False
    assert deleted[0]["errors"][0]["statusCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"
    assert sf_env.sf.query("SELECT COUNT() FROM User")["totalSize"] == 1


# -- Organization ------------------------------------------------------------------------------------


def test_organization_has_one_record_the_org_itself(sf_env: SfEnv) -> None:
    result = sf_env.sf.query(f"SELECT {', '.join(ORGANIZATION_FIELDS)} FROM Organization")
    assert result["totalSize"] == 1
    org = result["records"][0]
    assert org["Id"] == sf_env.org.org_id and org["Id"].startswith("00D")
    assert (org["Country"], org["DefaultLocaleSidKey"], org["LanguageLocaleKey"], org["TimeZoneSidKey"]) == (
        "Germany",
        "de_DE",
        "de",
        "Europe/Berlin",
    )
    assert org["IsSandbox"] is False and org["OrganizationType"] == "Enterprise Edition"
    assert org["PrimaryContact"] == "Integration User" and org["InstanceName"]
    assert sf_env.sf.Organization.get(sf_env.org.org_id)["Name"] == org["Name"]
    # What @salesforce/core asks after a login.
    namespace = sf_env.sf.query("SELECT NamespacePrefix, TrialExpirationDate FROM Organization")["records"][0]
    assert namespace["NamespacePrefix"] is None and namespace["TrialExpirationDate"] is None


def test_simple_salesforce_is_sandbox_reads_the_organization(sf_env: SfEnv) -> None:
    assert sf_env.sf.is_sandbox() is False
    sf_env.org.company.is_sandbox = True
    assert sf_env.sf.is_sandbox() is True


def test_organization_country_and_locale_are_org_settings(sf_env: SfEnv) -> None:
    sf_env.org.company.country, sf_env.org.company.default_locale = "France", "fr_FR"
    org = sf_env.sf.query(
        "SELECT Country, DefaultLocaleSidKey, LanguageLocaleKey, TimeZoneSidKey FROM Organization "
        "WHERE Country = 'France'"
    )["records"][0]
    assert (org["Country"], org["DefaultLocaleSidKey"], org["LanguageLocaleKey"], org["TimeZoneSidKey"]) == (
        "France",
        "fr_FR",
        "fr",
        "Europe/Paris",
    )
    austrian = SalesforceOrg(Clock(), country="Austria", default_locale="de_AT")
    assert austrian.records("Organization")[0]["Country"] == "Austria"
    saved = SalesforceOrg.from_dict(austrian.to_dict(), Clock())
    assert (saved.company.country, saved.company.default_locale) == ("Austria", "de_AT")


# -- query?columns=true ------------------------------------------------------------------------------


def test_query_with_columns_true_answers_column_metadata_instead_of_records(sf_env: SfEnv) -> None:
    sf_env.contacts(1)
    soql = "SELECT Id, LastName, Name, OwnerId, Customer_Score__c, HasOptedOutOfEmail FROM Contact"
    resp = sf_env.get(f"{API}/query", params={"q": soql, "columns": "true"})
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"columnMetadata", "entityName", "groupBy", "idSelected", "keyPrefix"}
    assert (body["entityName"], body["groupBy"], body["idSelected"], body["keyPrefix"]) == (
        "Contact",
        False,
        True,
        "003",
    )
    columns = {c["columnName"]: c for c in body["columnMetadata"]}
    assert list(columns) == ["Id", "LastName", "Name", "OwnerId", "Customer_Score__c", "HasOptedOutOfEmail"]
    assert columns["Id"] == {
        "aggregate": False,
        "apexType": "Id",
        "booleanType": False,
        "columnName": "Id",
        "custom": False,
        "displayName": "Id",
        "foreignKeyName": None,
        "insertable": False,
        "joinColumns": [],
        "numberType": False,
        "textType": False,
        "updatable": False,
    }
    assert (
        columns["LastName"]["textType"]
        and columns["LastName"]["insertable"]
        and columns["LastName"]["updatable"]
    )
    assert columns["Name"]["apexType"] == "String" and not columns["Name"]["insertable"]
    assert columns["OwnerId"]["apexType"] == "Id"
    assert columns["Customer_Score__c"]["numberType"] and columns["Customer_Score__c"]["custom"]
    assert (
        columns["HasOptedOutOfEmail"]["booleanType"]
        and columns["HasOptedOutOfEmail"]["apexType"] == "Boolean"
    )
    without_id = sf_env.get(
        f"{API}/query", params={"q": "SELECT Username FROM User", "columns": "true"}
    ).json()
    assert (without_id["idSelected"], without_id["entityName"], without_id["keyPrefix"]) == (
        False,
        "User",
        "005",
    )
    bad = sf_env.get(f"{API}/query", params={"q": "SELECT Nope FROM Contact", "columns": "true"})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"


# -- JWT bearer with exp in milliseconds ---------------------------------------------------------------


def jwt_login(sf_env: SfEnv, exp: int) -> Any:
    creds = sf_env.credentials
    assertion = jwt.encode(
        {"iss": creds.client_id, "sub": creds.username, "aud": "https://login.salesforce.com", "exp": exp},
        creds.jwt_private_key_pem,
        algorithm="RS256",
    )
    return sf_env.http.post(
        f"{sf_env.url}/services/oauth2/token", data={"grant_type": JWT_BEARER, "assertion": assertion}
    )


def test_jwt_assertion_with_exp_in_milliseconds_is_accepted(sf_env: SfEnv) -> None:
    now_ms = int(time.time() * 1000)
    for exp in (now_ms + 300, now_ms + 3 * 60 * 1000):  # @salesforce/core's Date.now() + 300; 3 minutes
        resp = jwt_login(sf_env, exp)
        assert resp.status_code == 200, resp.json()
        token = resp.json()["access_token"]
        user = sf_env.http.get(
            f"{sf_env.url}{API}/sobjects/User/{sf_env.org.user_id}",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert user.status_code == 200 and user.json()["Username"] == sf_env.credentials.username
    assert jwt_login(sf_env, int(time.time()) + 180).status_code == 200  # seconds still work


def test_expired_jwt_assertion_is_refused_in_milliseconds_and_seconds(sf_env: SfEnv) -> None:
    expired = {"error": "invalid_grant", "error_description": "expired authorization code"}
    for exp in (int(time.time() * 1000) - 10 * 60 * 1000, int(time.time()) - 10):
        resp = jwt_login(sf_env, exp)
        assert resp.status_code == 400 and resp.json() == expired
    too_far = jwt_login(sf_env, int(time.time() * 1000) + 60 * 60 * 1000)
    assert too_far.status_code == 400 and too_far.json()["error_description"] == "invalid assertion"


# -- resources list ------------------------------------------------------------------------------------


def test_every_listed_resource_answers(sf_env: SfEnv) -> None:
    resources = sf_env.get(f"{API}/").json()
    assert set(resources) == {"composite", "identity", "jobs", "limits", "query", "queryAll", "sobjects"}
    assert resources["identity"] == f"{sf_env.url}/id/{sf_env.org.org_id}/{sf_env.org.user_id}"
    followed = dict(resources)
    for directory in ("composite", "jobs"):
        listing = sf_env.get(resources[directory])
        assert listing.status_code == 200
        followed.update({f"{directory}.{k}": v for k, v in listing.json().items()})
    assert (
        followed["composite.sobjects"] == f"{API}/composite/sobjects"
        and followed["jobs.query"] == f"{API}/jobs/query"
    )
    for name, path in followed.items():
        url = path if path.startswith("https://") else sf_env.url + path
        resp = sf_env.http.get(url, headers=sf_env.headers())
        assert resp.status_code != 404, (name, path, resp.text)
        if name in ("query", "queryAll"):  # no q: Salesforce's own answer
            assert resp.status_code == 400 and resp.json()[0]["errorCode"] == "MALFORMED_QUERY"
        elif name != "composite.sobjects":  # a write-only resource: 405 to GET
            assert resp.status_code == 200, (name, resp.text)


def test_summary_control_route_counts_data_objects_only(sf_env: SfEnv) -> None:
    sf_env.contacts(2)
    summary = sf_env.http.get(f"{sf_env.url}/_sandbox/salesforce/summary").json()
    assert set(summary["records"]) == {"Case", "Contact", "Lead"}
    assert summary["records"]["Contact"] == {"live": 2, "deleted": 0}
    assert summary["user_id"] == sf_env.org.user_id
