"""The rules over HTTPS against a started sandbox, on generated Leads that break the SPEC's rules."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.support.rules import LEAD_PAIRS
from toolkit.brevo import contact_ext_id
from toolkit.mapping import validate_mapping
from toolkit.rules import BrevoRow, brevo_values, record_hash, to_brevo, to_salesforce
from toolkit.rules.base import row_id
from toolkit.sandbox.datagen import NO_COUNTRY_REGION, generate
from toolkit.sandbox.runner import Sandbox, SandboxConfig

SANDBOX_LEADS = 400
SANDBOX_SEED = 11
SANDBOX_RULE_SHARE = 0.3


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(
        SandboxConfig(
            leads=SANDBOX_LEADS, seed=SANDBOX_SEED, rule_share=SANDBOX_RULE_SHARE, brevo_rate_limit=0
        )
    )
    box.start()
    yield box
    box.stop()


def sessions(info: dict[str, Any]) -> tuple[requests.Session, str, requests.Session, str]:
    """(Salesforce session, data URL, Brevo session, Brevo base URL), trusting the sandbox CA."""
    sf_info, brevo_info = info["salesforce"], info["brevo"]
    sf, brevo = requests.Session(), requests.Session()
    for session, ca in ((sf, sf_info["ca_bundle"]), (brevo, brevo_info["ca_bundle"])):
        session.trust_env = False
        session.verify = ca
    token = sf.post(
        f"{sf_info['login_url']}/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": sf_info["client_id"],
            "client_secret": sf_info["client_secret"],
        },
    ).json()
    sf.headers["Authorization"] = f"Bearer {token['access_token']}"
    brevo.headers["api-key"] = brevo_info["api_key"]
    return (
        sf,
        f"{token['instance_url']}/services/data/v{sf_info['api_version']}",
        brevo,
        brevo_info["base_url"],
    )


def import_rows(brevo: requests.Session, base: str, rows: list[BrevoRow], list_id: int) -> None:
    response = brevo.post(
        f"{base}/contacts/import",
        json={
            "jsonBody": rows,
            "listIds": [list_id],
            "updateExistingContacts": True,
            "emptyContactsAttributes": False,
        },
    )
    assert response.status_code == 202, response.text
    process_url = f"{base}/processes/{response.json()['processId']}"
    deadline = time.monotonic() + 30
    while brevo.get(process_url).json()["status"] != "completed":
        assert time.monotonic() < deadline, "import did not finish"
        time.sleep(0.05)


def list_contacts(brevo: requests.Session, base: str, list_id: int) -> list[dict[str, Any]]:
    response = brevo.get(f"{base}/contacts", params={"listIds": list_id, "limit": 1000})
    assert response.status_code == 200, response.text
    return response.json()["contacts"]


def test_rules_over_https_on_generated_leads(sandbox: Sandbox) -> None:
    sf, data_url, brevo, brevo_url = sessions(sandbox.info)
    for name, kind in (("BIRTHDATE", "date"), ("PHONE", "text"), ("COMPANY", "text"), ("BUDGET", "float")):
        assert (
            brevo.post(f"{brevo_url}/contacts/attributes/normal/{name}", json={"type": kind}).status_code
            == 201
        )
    mapping = validate_mapping(
        LEAD_PAIRS,
        sf.get(f"{data_url}/sobjects/Lead/describe").json(),
        brevo.get(f"{brevo_url}/contacts/attributes").json(),
    )
    soql = f"SELECT {', '.join(mapping.soql_fields)} FROM Lead ORDER BY Id"
    records = sf.get(f"{data_url}/query", params={"q": soql}).json()["records"]
    generated = generate(
        contacts=0, leads=SANDBOX_LEADS, seed=SANDBOX_SEED, rule_share=SANDBOX_RULE_SHARE
    ).leads
    assert [r["Email"] for r in records] == [g.fields["Email"] for g in generated]

    # The region national numbers of Leads naming no country are read in: the org's (Germany).
    rows, rejections = to_brevo(records, mapping, object="Lead", default_region=NO_COUNTRY_REGION)
    expected = {
        (records[i]["Id"], rule) for i, g in enumerate(generated) for rule in g.breaks if rule in ("Y6", "Y9")
    }
    assert {(r.record_id, r.rule) for r in rejections} == expected  # and no clean lead refused
    assert {"Y6", "Y9"} <= {r.rule for r in rejections}
    assert len(rows) == len(records) - len({i for i, _ in expected})

    import_rows(brevo, brevo_url, rows, list_id=2)
    contacts = {contact_ext_id(c): c for c in list_contacts(brevo, brevo_url, 2)}
    for row in rows:  # what Brevo stored hashes like what was sent
        assert record_hash(brevo_values(contacts[row_id(row)], mapping), mapping) == record_hash(
            brevo_values(row, mapping), mapping
        )
    updates, refused = to_salesforce(list(contacts.values()), mapping, object="Lead")
    assert refused == [] and len(updates) == len(rows)  # Brevo-only contacts (no ext_id) are skipped

    sent = {row_id(row) for row in rows}
    edits = {
        records[i]["Id"]: (g.brevo_edit, g.breaks[0])
        for i, g in enumerate(generated)
        if g.brevo_edit and records[i]["Id"] in sent
    }
    for ext_id, (edit, _) in edits.items():
        response = brevo.put(
            f"{brevo_url}/contacts/{ext_id}", params={"identifierType": "ext_id"}, json={"attributes": edit}
        )
        assert response.status_code == 204, response.text
    updates, refused = to_salesforce(list_contacts(brevo, brevo_url, 2), mapping, object="Lead")
    # Brevo drops a non-date value sent to a date attribute, so the Y3 edits never reach the rules.
    assert {(r.record_id, r.rule) for r in refused} == {
        (i, rule) for i, (_, rule) in edits.items() if rule != "Y3"
    }
    assert {"Y5", "Y8"} <= {r.rule for r in refused}
    assert len(updates) == len(rows) - len(refused)
