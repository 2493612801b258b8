"""The per-record script an analyst would write, timed on a sample and extrapolated.

What it does: simple-salesforce ``query_all`` of the Contacts (REST pages of 2,000), then one
``POST /v3/contacts`` per contact with an e-mail (``updateEnabled``, into the list), through one
keep-alive ``requests`` session (a script calling ``requests.post`` each time would also pay a
TLS handshake per contact: slower still). No rules, no retries, no state.

Timed: the whole ``query_all`` when ``query_pages`` is 0, otherwise its first ``query_pages``
pages (``query`` + ``query_more``), scaled by ``totalSize / records read``; then the first
``sample`` POSTs, scaled by the number of contacts with an e-mail. The extrapolation assumes
the per-page and per-contact times stay what the sample measured.

Input: one JSON object on stdin. Output: one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import requests
from simple_salesforce import Salesforce

FIELDS = ("Id", "Email", "FirstName", "LastName", "MobilePhone")


def _contact(record: dict[str, Any], list_id: int) -> dict[str, Any]:
    attributes = {"FIRSTNAME": record.get("FirstName"), "LASTNAME": record.get("LastName")}
    if record.get("MobilePhone"):
        attributes["SMS"] = record["MobilePhone"]
    return {
        "email": record["Email"],
        "ext_id": record["Id"],
        "attributes": attributes,
        "listIds": [list_id],
        "updateEnabled": True,
    }


def run(spec: dict[str, Any]) -> dict[str, Any]:
    sf_info, brevo = spec["salesforce"], spec["brevo"]
    session = requests.Session()
    session.trust_env = False
    session.verify = sf_info["ca_bundle"]
    token = session.post(
        f"{sf_info['login_url']}/services/oauth2/token",
        timeout=60,
        data={
            "grant_type": "client_credentials",
            "client_id": sf_info["client_id"],
            "client_secret": sf_info["client_secret"],
        },
    ).json()
    sf = Salesforce(
        instance_url=token["instance_url"],
        session_id=token["access_token"],
        session=session,
        version=sf_info["api_version"],
    )
    soql = f"SELECT {', '.join(FIELDS)} FROM Contact"
    pages = int(spec.get("query_pages", 0))

    started = time.perf_counter()
    if pages <= 0:
        answer = sf.query_all(soql)
        records, total, read_pages = answer["records"], int(answer["totalSize"]), -1
    else:
        answer = sf.query(soql)
        records, total, read_pages = list(answer["records"]), int(answer["totalSize"]), 1
        while read_pages < pages and not answer["done"]:
            answer = sf.query_more(answer["nextRecordsUrl"], identifier_is_url=True)
            records += answer["records"]
            read_pages += 1
    query_seconds = time.perf_counter() - started
    query_total = query_seconds * (total / len(records)) if records else query_seconds

    with_email = [r for r in records if r.get("Email")]
    share_with_email = len(with_email) / len(records) if records else 0.0
    sample = with_email[: int(spec["sample"])]
    headers = {"api-key": brevo["api_key"]}
    statuses: dict[str, int] = {}
    began = time.perf_counter()
    for record in sample:
        status = session.post(
            f"{brevo['base_url']}/contacts",
            json=_contact(record, int(spec["list_id"])),
            headers=headers,
            timeout=60,
        ).status_code
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    post_seconds = time.perf_counter() - began
    session.close()
    per_contact = post_seconds / len(sample) if sample else 0.0
    posts_total = per_contact * total * share_with_email
    return {
        "query_seconds_measured": query_seconds,
        "query_records_read": len(records),
        "query_pages_read": read_pages,
        "query_seconds": query_total,
        "total_records": total,
        "sample": len(sample),
        "post_seconds_measured": post_seconds,
        "seconds_per_post": per_contact,
        "posts_total": round(total * share_with_email),
        "post_seconds": posts_total,
        "seconds": query_total + posts_total,
        "statuses": statuses,
    }


def main() -> int:
    print(json.dumps(run(json.loads(sys.stdin.read()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
