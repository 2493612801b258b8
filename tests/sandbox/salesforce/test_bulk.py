"""Salesforce sandbox Bulk API 2.0 query jobs: simple-salesforce's bulk2 client, job states, CSV pages."""

from __future__ import annotations

import csv
import io
import re

from tests.support.salesforce import API, SfEnv

JOBS = f"{API}/jobs/query"


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_bulk2_query_through_simple_salesforce(sf_env: SfEnv) -> None:
    ids = sf_env.contacts(2500)
    pages = sf_env.sf.bulk2_query("Contact", "SELECT Id, Email FROM Contact", max_records=1000)
    assert len(pages) == 3
    rows = [row for page in pages for row in _rows(page)[1:]]
    assert [r[0] for r in rows] == ids
    assert all(_rows(page)[0] == ["Id", "Email"] for page in pages)


def test_job_moves_from_upload_complete_to_in_progress_to_complete(sf_env: SfEnv) -> None:
    sf_env.contacts(3)
    created = sf_env.call("POST", JOBS, json={"operation": "query", "query": "SELECT Id FROM Contact"}).json()
    assert created["id"].startswith("750") and created["state"] == "UploadComplete"
    assert (created["contentType"], created["columnDelimiter"], created["lineEnding"]) == (
        "CSV",
        "COMMA",
        "LF",
    )
    assert created["object"] == "Contact" and created["apiVersion"] == 59.0
    early = sf_env.get(f"{JOBS}/{created['id']}/results")
    assert early.status_code == 412 and early.json()[0]["errorCode"] == "JOB_NOT_COMPLETE"
    assert sf_env.get(f"{JOBS}/{created['id']}").json()["state"] == "InProgress"
    done = sf_env.get(f"{JOBS}/{created['id']}").json()
    assert done["state"] == "JobComplete" and done["numberRecordsProcessed"] == 3
    listed = sf_env.get(JOBS).json()
    assert listed["done"] is True and [j["id"] for j in listed["records"]] == [created["id"]]
    assert sf_env.get(f"{API}/limits/").json()["DailyBulkV2QueryJobs"]["Remaining"] == 9999


def _completed_job(env: SfEnv, soql: str, operation: str = "query") -> str:
    job_id = env.call("POST", JOBS, json={"operation": operation, "query": soql}).json()["id"]
    while env.get(f"{JOBS}/{job_id}").json()["state"] != "JobComplete":
        pass
    return str(job_id)


def test_results_are_quoted_csv_with_locator_paging(sf_env: SfEnv) -> None:
    sf_env.org.create_many(
        "Contact",
        [
            {"FirstName": None, "LastName": 'O\'Hara, "Jr"', "HasOptedOutOfEmail": True},
            {"FirstName": "B", "LastName": "Two"},
            {"FirstName": "C", "LastName": "Three"},
        ],
    )
    job_id = _completed_job(
        sf_env, "SELECT FirstName, LastName, HasOptedOutOfEmail, CreatedDate FROM Contact"
    )
    first = sf_env.get(f"{JOBS}/{job_id}/results", params={"maxRecords": 2})
    assert first.headers["Content-Type"].startswith("text/csv")
    assert first.headers["Sforce-NumberOfRecords"] == "2" and first.headers["Sforce-Locator"] != "null"
    lines = first.text.split("\n")
    assert lines[0] == '"FirstName","LastName","HasOptedOutOfEmail","CreatedDate"'
    assert lines[1].startswith('"","O\'Hara, ""Jr""","true","')
    assert re.search(r',"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"$', lines[1])
    second = sf_env.get(
        f"{JOBS}/{job_id}/results", params={"maxRecords": 2, "locator": first.headers["Sforce-Locator"]}
    )
    assert second.headers["Sforce-NumberOfRecords"] == "1" and second.headers["Sforce-Locator"] == "null"
    assert _rows(second.text)[1][:3] == ["C", "Three", "false"]


def test_query_all_job_includes_deleted_records(sf_env: SfEnv) -> None:
    ids = sf_env.contacts(2)
    sf_env.org.delete_many([ids[0]])
    live = _rows(sf_env.get(f"{JOBS}/{_completed_job(sf_env, 'SELECT Id FROM Contact')}/results").text)
    every = _rows(
        sf_env.get(
            f"{JOBS}/{_completed_job(sf_env, 'SELECT Id, IsDeleted FROM Contact', 'queryAll')}/results"
        ).text
    )
    assert live[1:] == [[ids[1]]]
    assert every[1:] == [[ids[0], "true"], [ids[1], "false"]]


def test_abort_and_delete_jobs(sf_env: SfEnv) -> None:
    job_id = sf_env.call("POST", JOBS, json={"operation": "query", "query": "SELECT Id FROM Contact"}).json()[
        "id"
    ]
    not_yet = sf_env.call("DELETE", f"{JOBS}/{job_id}")
    assert not_yet.status_code == 400
    aborted = sf_env.call("PATCH", f"{JOBS}/{job_id}", json={"state": "Aborted"}).json()
    assert aborted["state"] == "Aborted"
    assert sf_env.get(f"{JOBS}/{job_id}/results").status_code == 412
    assert sf_env.call("DELETE", f"{JOBS}/{job_id}").status_code == 204
    gone = sf_env.get(f"{JOBS}/{job_id}")
    assert gone.status_code == 404 and gone.json()[0]["errorCode"] == "NOT_FOUND"


def test_invalid_jobs_are_refused_at_creation(sf_env: SfEnv) -> None:
    bad_field = sf_env.call("POST", JOBS, json={"operation": "query", "query": "SELECT Nope FROM Contact"})
    assert bad_field.status_code == 400 and bad_field.json()[0]["errorCode"] == "INVALID_FIELD"
    count = sf_env.call("POST", JOBS, json={"operation": "query", "query": "SELECT COUNT() FROM Contact"})
    assert count.status_code == 400 and count.json()[0]["errorCode"] == "INVALIDJOB"
    bad_op = sf_env.call("POST", JOBS, json={"operation": "insert", "query": "SELECT Id FROM Contact"})
    assert bad_op.status_code == 400
    assert sf_env.get(f"{API}/limits/").json()["DailyBulkV2QueryJobs"]["Remaining"] == 10000
