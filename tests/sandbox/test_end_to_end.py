"""Issue 2's promise in one place: both sandbox APIs, started as users start them, reached by
unchanged clients (simple-salesforce, requests) over HTTPS that trusts only the sandbox CA."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator

import pytest
import requests

from tests.support.salesforce import SandboxSalesforce
from toolkit.sandbox.runner import Sandbox, SandboxConfig
from toolkit.sandbox.salesforce.oauth.client import salesforce_session


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    # The documented wire forms only: simple-salesforce's bulk2 requires Sforce-NumberOfRecords on
    # every results page (a KeyError without it; the toolkit does not need it: test_wire_shapes).
    sb = Sandbox(SandboxConfig(contacts=5000, leads=100, seed=11, brevo_rate_limit=0, wire_variants=False))
    sb.start()
    yield sb
    sb.stop()


def test_b7_simple_salesforce_client_credentials_describe_paged_query_composite_and_bulk(
    sandbox: Sandbox,
) -> None:
    sf_info = sandbox.info["salesforce"]
    session = salesforce_session(sf_info["login_url"], sf_info["ca_bundle"])
    # simple-salesforce performs the client-credentials flow itself (unchanged library; the
    # subclass only states the types of what it returns).
    sf = SandboxSalesforce(
        consumer_key=sf_info["client_id"],
        consumer_secret=sf_info["client_secret"],
        domain="sandbox.my",
        session=session,
        version=sf_info["api_version"],
    )
    fields = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert fields["Full_Name__c"]["calculated"] and fields["LastName"]["nillable"] is False

    start = len(sandbox.log.entries("salesforce"))
    records = list(sf.query_all_iter("SELECT Id, LastName, SystemModstamp FROM Contact ORDER BY Id"))
    pages = [e for e in sandbox.log.entries("salesforce")[start:] if "/query" in e.path]
    total = len(
        sandbox.salesforce.records("Contact")
    )  # 5,000 and the Contacts some Leads were converted into
    assert 5000 <= total < 5100 and len(records) == total and len({r["Id"] for r in records}) == total
    assert len(pages) == 3 and all(e.status == 200 for e in pages)
    assert records[0]["attributes"]["type"] == "Contact"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", records[0]["SystemModstamp"])

    ids = [r["Id"] for r in records[:4]]
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Contact"}, "id": ids[0], "Title": "CFO"},
            {"attributes": {"type": "Contact"}, "id": ids[1], "FirstName": "x" * 41},
            {"attributes": {"type": "Contact"}, "id": ids[2], "Title": "CTO"},
        ],
    }
    results = sf.restful("composite/sobjects", method="PATCH", json=body)
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert sf.Contact.get(ids[2])["Title"] == "CTO"

    pages_csv = sf.bulk2_query("Contact", "SELECT Id, Email FROM Contact", max_records=2000, wait=0.1)
    rows = [row for page in pages_csv for row in csv.DictReader(io.StringIO(page))]
    assert len(pages_csv) == 3 and len(rows) == total
    assert sf.api_usage["api-usage"].used > 0


def test_b7_brevo_import_of_10000_contacts_then_read_back_by_ext_id(sandbox: Sandbox) -> None:
    brevo = sandbox.info["brevo"]
    http = requests.Session()
    http.trust_env = False
    http.verify = brevo["ca_bundle"]
    http.headers["api-key"] = brevo["api_key"]
    rows = [
        {
            "email": f"person{i}@import.example",
            "attributes": {
                "EXT_ID": f"003TEST{i:011d}",
                "FIRSTNAME": f"Ana {i}",
                "LASTNAME": "Müller-O'Brien",
            },
        }
        for i in range(10_000)
    ]
    r = http.post(
        f"{brevo['base_url']}/contacts/import",
        json={"jsonBody": rows, "listIds": [2], "updateExistingContacts": True},
    )
    assert r.status_code == 202
    process_id = r.json()["processId"]
    deadline = time.monotonic() + 60
    while (process := http.get(f"{brevo['base_url']}/processes/{process_id}").json())[
        "status"
    ] != "completed":
        assert time.monotonic() < deadline, process
        time.sleep(0.1)
    back = http.get(f"{brevo['base_url']}/contacts/003TEST00000009999", params={"identifierType": "ext_id"})
    assert back.status_code == 200
    assert back.json()["email"] == "person9999@import.example"
    assert back.json()["attributes"]["LASTNAME"] == "Müller-O'Brien"
    assert 2 in back.json()["listIds"]
