"""Salesforce sandbox REST API through simple-salesforce, over real HTTPS: describe, query, CRUD, limits, auth."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from tests.support.salesforce import API, SfEnv, error_body
from toolkit.sandbox.middleware import FaultPlan


def test_global_and_object_describe_report_the_schema(sf_env: SfEnv) -> None:
    sf = sf_env.sf
    names = {o["name"]: o for o in sf.describe()["sobjects"]}
    assert {"Contact", "Lead", "Case"} <= set(names)
    assert names["Lead"]["keyPrefix"] == "00Q"
    fields = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert fields["LastName"]["nillable"] is False and fields["LastName"]["length"] == 80
    assert fields["FirstName"]["length"] == 40 and fields["FirstName"]["byteLength"] == 120
    assert fields["Full_Name__c"]["calculated"] is True
    assert fields["Full_Name__c"]["calculatedFormula"] == 'FirstName & " " & LastName'
    assert fields["Full_Name__c"]["createable"] is False
    assert fields["Name"]["createable"] is False and fields["Name"]["updateable"] is False
    tier = fields["Loyalty_Tier__c"]
    assert tier["restrictedPicklist"] is True and tier["custom"] is True
    assert [p["value"] for p in tier["picklistValues"]] == ["Bronze", "Silver", "Gold", "Platinum"]
    assert fields["Interests__c"]["type"] == "multipicklist"
    assert fields["Customer_Score__c"]["precision"] == 18 and fields["Customer_Score__c"]["scale"] == 2
    assert fields["HasOptedOutOfEmail"]["defaultedOnCreate"] is True
    lead = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    status = lead["Status"]
    assert [p["value"] for p in status["picklistValues"] if p["defaultValue"]] == ["Open - Not Contacted"]
    assert lead["IsConverted"]["updateable"] is False
    case = {f["name"]: f for f in sf.Case.describe()["fields"]}
    assert (
        case["ContactId"]["referenceTo"] == ["Contact"] and case["ContactId"]["relationshipName"] == "Contact"
    )
    assert sf.Contact.metadata()["objectDescribe"]["keyPrefix"] == "003"


def test_unknown_object_is_404_not_found(sf_env: SfEnv) -> None:
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf_env.sf.Foo__c.describe()
    assert error_body(exc.value) == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]


def test_query_all_iter_pages_5000_contacts_in_three_requests(sf_env: SfEnv) -> None:
    ids = sf_env.contacts(5000)
    sf_env.log.clear()
    rows = list(sf_env.sf.query_all_iter("SELECT Id, Email FROM Contact ORDER BY Id"))
    assert [r["Id"] for r in rows] == ids
    assert rows[0]["attributes"] == {"type": "Contact", "url": f"{API}/sobjects/Contact/{ids[0]}"}
    paths = [e.path for e in sf_env.log.entries("salesforce")]
    assert len(paths) == 3
    assert paths[0] == f"{API}/query/"
    assert paths[1].startswith(f"{API}/query/01g") and paths[1].endswith("-2000")
    assert paths[2].endswith("-4000") and paths[2].rsplit("-", 1)[0] == paths[1].rsplit("-", 1)[0]


def test_first_page_reports_total_and_next_records_url(sf_env: SfEnv) -> None:
    sf_env.contacts(2500)
    page = sf_env.sf.query("SELECT Id FROM Contact")
    assert page["totalSize"] == 2500 and page["done"] is False and len(page["records"]) == 2000
    assert page["nextRecordsUrl"].startswith(f"{API}/query/01g")


def test_batch_size_header_sets_the_page_size(sf_env: SfEnv) -> None:
    sf_env.contacts(700)
    resp = sf_env.get(
        f"{API}/query",
        params={"q": "SELECT Id FROM Contact"},
        headers={"Sforce-Query-Options": "batchSize=500"},
    )
    body = resp.json()
    assert len(body["records"]) == 500 and body["nextRecordsUrl"].endswith("-500")
    rest = sf_env.get(body["nextRecordsUrl"]).json()
    assert len(rest["records"]) == 200 and rest["done"] is True and "nextRecordsUrl" not in rest


def test_results_are_snapshotted_at_the_first_call(sf_env: SfEnv) -> None:
    ids = sf_env.contacts(2100)
    first = sf_env.sf.query("SELECT Id FROM Contact ORDER BY Id")
    sf_env.org.delete_many(ids[2000:])
    rest = sf_env.sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert [r["Id"] for r in rest["records"]] == ids[2000:]


def test_query_hides_deleted_records_and_query_all_returns_them(sf_env: SfEnv) -> None:
    ids = sf_env.contacts(3)
    assert sf_env.sf.Contact.delete(ids[1]) == 204
    live = sf_env.sf.query("SELECT Id FROM Contact")
    assert sorted(r["Id"] for r in live["records"]) == sorted([ids[0], ids[2]])
    every = sf_env.sf.query_all("SELECT Id, IsDeleted FROM Contact ORDER BY Id", include_deleted=True)
    assert [(r["Id"], r["IsDeleted"]) for r in every["records"]] == [
        (ids[0], False),
        (ids[1], True),
        (ids[2], False),
    ]


def test_count_query_returns_total_size_and_no_records(sf_env: SfEnv) -> None:
    sf_env.contacts(42)
    assert sf_env.sf.query("SELECT COUNT() FROM Contact") == {"totalSize": 42, "done": True, "records": []}


@pytest.mark.parametrize(
    "soql,code",
    [
        ("SELECT Id FROM", "MALFORMED_QUERY"),
        ("SELECT Foo FROM Contact", "INVALID_FIELD"),
        ("SELECT Id FROM Foo__c", "INVALID_TYPE"),
    ],
)
def test_soql_errors_are_400_with_their_error_code(sf_env: SfEnv, soql: str, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf_env.sf.query(soql)
    assert error_body(exc.value)[0]["errorCode"] == code


def test_unknown_query_locator_is_400(sf_env: SfEnv) -> None:
    resp = sf_env.get(f"{API}/query/01g8d0000000999AAA-2000")
    assert resp.status_code == 400 and resp.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_single_record_create_get_update_delete(sf_env: SfEnv) -> None:
    sf = sf_env.sf
    created = sf.Contact.create({"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"})
    assert created["success"] is True and created["errors"] == [] and created["id"].startswith("003")
    record = sf.Contact.get(created["id"])
    assert record["Name"] == "Ada Lovelace" and record["Full_Name__c"] == "Ada Lovelace"
    assert record["CreatedDate"] == record["SystemModstamp"] and record["CreatedDate"].endswith("+0000")
    assert record["OwnerId"] == sf_env.org.user_id and record["HasOptedOutOfEmail"] is False
    sf_env.clock.advance(timedelta(minutes=1))
    assert sf.Contact.update(created["id"], {"LastName": "King"}) == 204
    after = sf_env.get(
        f"{API}/sobjects/Contact/{created['id']}", params={"fields": "Name,SystemModstamp"}
    ).json()
    assert list(after) == ["attributes", "Name", "SystemModstamp"]
    assert after["Name"] == "Ada King" and after["SystemModstamp"] > record["SystemModstamp"]
    assert sf.Contact.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Contact.get(created["id"])
    assert error_body(exc.value)[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_raw_create_answers_201_and_15_char_ids_are_accepted(sf_env: SfEnv) -> None:
    resp = sf_env.call("POST", f"{API}/sobjects/Contact/", json={"LastName": "Short"})
    assert resp.status_code == 201
    full = resp.json()["id"]
    got = sf_env.get(f"{API}/sobjects/Contact/{full[:15]}")
    assert got.status_code == 200 and got.json()["Id"] == full


def test_formula_fields_are_computed_by_the_server(sf_env: SfEnv) -> None:
    lead = sf_env.sf.Lead.create({"LastName": "Rossi", "Company": "Acme"})
    assert sf_env.sf.Lead.get(lead["id"])["Days_Since_Created__c"] == 0.0
    assert sf_env.sf.Lead.get(lead["id"])["Status"] == "Open - Not Contacted"
    sf_env.clock.advance(timedelta(days=3))
    sf_env.renew()
    assert sf_env.sf.Lead.get(lead["id"])["Days_Since_Created__c"] == 3.0


def test_every_data_response_carries_the_api_usage_header(sf_env: SfEnv) -> None:
    first = sf_env.get(f"{API}/sobjects/")
    second = sf_env.get(f"{API}/sobjects/Nope/describe/")
    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/100000"
    assert second.status_code == 404 and second.headers["Sforce-Limit-Info"] == "api-usage=2/100000"
    sf = sf_env.sf
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 100000, "Remaining": 100000 - 3}
    assert sf.api_usage["api-usage"].used == 3 and sf.api_usage["api-usage"].total == 100000
    assert limits["DailyBulkV2QueryJobs"]["Max"] == 10000


def test_request_limit_exceeded_once_the_allowance_is_spent(sf_env: SfEnv) -> None:
    set_usage = sf_env.http.post(f"{sf_env.url}/_sandbox/salesforce/api-usage", json={"used": 9, "limit": 10})
    assert set_usage.json() == {"used": 9, "limit": 10}
    assert sf_env.get(f"{API}/limits/").json()["DailyApiRequests"] == {"Max": 10, "Remaining": 0}
    refused = sf_env.get(f"{API}/limits/")
    assert refused.status_code == 403
    assert refused.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    with pytest.raises(SalesforceRefusedRequest):
        sf_env.sf.query("SELECT Id FROM Contact")
    sf_env.clock.advance(timedelta(hours=24, minutes=1))
    sf_env.renew()
    assert sf_env.get(f"{API}/limits/").status_code == 200


def test_api_disabled_org_refuses_every_call(sf_env: SfEnv) -> None:
    sf_env.http.post(f"{sf_env.url}/_sandbox/salesforce/api-enabled", json={"enabled": False})
    resp = sf_env.get(f"{API}/query", params={"q": "SELECT Id FROM Contact"})
    assert resp.status_code == 403
    assert resp.json() == [
        {
            "message": "API is not enabled for this Organization or Partner",
            "errorCode": "API_DISABLED_FOR_ORG",
        }
    ]


def test_bad_token_is_401_invalid_session_id(sf_env: SfEnv) -> None:
    resp = sf_env.http.get(f"{sf_env.url}{API}/sobjects/", headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401
    assert resp.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    sf_env.oauth.expire_sessions()
    with pytest.raises(SalesforceExpiredSession):
        sf_env.sf.query("SELECT Id FROM Contact")


def test_versions_list_needs_no_session_and_unknown_versions_are_404(sf_env: SfEnv) -> None:
    versions = sf_env.http.get(f"{sf_env.url}/services/data/").json()
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions
    assert versions[0]["version"] == "50.0"
    assert sf_env.get("/services/data/v49.0/sobjects/").status_code == 404
    resources = sf_env.get(f"{API}/").json()
    assert resources["query"] == f"{API}/query" and resources["sobjects"] == f"{API}/sobjects"


def test_wrong_method_is_405(sf_env: SfEnv) -> None:
    resp = sf_env.call("PUT", f"{API}/sobjects/Contact/0038d0000000001AAA", json={})
    assert resp.status_code == 405 and resp.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"


def test_injected_faults_answer_with_salesforce_error_lists(sf_env: SfEnv) -> None:
    sf_env.service.faults.set_plan(FaultPlan(script=["503", "500"]))
    with pytest.raises(SalesforceGeneralError) as unavailable:
        sf_env.sf.query("SELECT Id FROM Contact")
    assert (
        unavailable.value.status == 503
        and error_body(unavailable.value)[0]["errorCode"] == "SERVER_UNAVAILABLE"
    )
    failed = sf_env.get(f"{API}/sobjects/")
    assert failed.status_code == 500 and failed.json()[0]["errorCode"] == "UNKNOWN_EXCEPTION"
    assert sf_env.get(f"{API}/sobjects/").status_code == 200


def test_concurrent_writes_get_distinct_ids(sf_env: SfEnv) -> None:
    def write(worker: int) -> list[str]:
        out = []
        for call in range(5):
            results = sf_env.sf.restful(
                "composite/sobjects",
                method="POST",
                json={
                    "records": [
                        {"attributes": {"type": "Contact"}, "LastName": f"W{worker}-{call}-{i}"}
                        for i in range(50)
                    ]
                },
            )
            out += [r["id"] for r in results]
        return out

    with ThreadPoolExecutor(max_workers=8) as pool:
        written = [i for chunk in pool.map(write, range(8)) for i in chunk]
    assert len(set(written)) == 2000
    assert sf_env.sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 2000
