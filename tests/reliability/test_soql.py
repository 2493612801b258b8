"""SOQL: field names only from describe, every literal escaped, no query shaped by data or settings.

The sandbox's SOQL compiler is watched (REST queries and Bulk API 2.0 jobs alike), so the test
sees each query as Salesforce would receive it. Records and settings full of injection strings
must leave every query exactly as a plain workload shapes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.bad_input import INJECTIONS
from tests.support.scenario import NAME
from tests.support.sync import MAPPING, Env, setup_integration
from toolkit.salesforce import soql_quote
from toolkit.sandbox.brevo.contact_ops import update_contact
from toolkit.sandbox.salesforce import bulk
from toolkit.sandbox.salesforce.rest import query as rest_query

_DATETIME = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})")
_SELECT = re.compile(r"^SELECT (.+?) FROM (\w+)", re.IGNORECASE)
NASTY = [
    *INJECTIONS.values(),
    "Ro'bert\\",
    "semi;colon -- comment",
    "new\nline",
    "tab\tbed",
    "percent% under_score",
    "uni\u2028code",
    '"double" quotes',
]


@pytest.fixture
def queries(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SOQL text the sandbox compiled while the test ran."""
    seen: list[str] = []
    real = rest_query.compile_soql

    def watch(org: Any, soql: str, **kwargs: Any) -> Any:
        seen.append(soql)
        return real(org, soql, **kwargs)

    monkeypatch.setattr(rest_query, "compile_soql", watch)
    monkeypatch.setattr(bulk, "compile_soql", watch)
    yield seen


def _shapes(found: list[str]) -> set[str]:
    return {_DATETIME.sub("<datetime>", q) for q in found}


def _workload(env: Env, name: str, list_name: str, values: list[str]) -> None:
    """Records holding ``values`` on both sides, an integration named ``name``; four runs."""
    org = env.sandbox.salesforce
    org.create_many(
        "Contact",
        [
            {"LastName": f"L{i} {v}"[:80], "FirstName": v[:40], "Title": v, "Email": f"q{i}@soql.example"}
            for i, v in enumerate(values)
        ],
    )
    env.tk.create_integration(name, "Contact")
    env.tk.use_connection(name, "sandbox-org")
    env.tk.accept_opt_in(name)
    env.tk.set_mapping(name, MAPPING)
    env.tk.choose_list(name, new_list=list_name, folder=list_name)
    env.tk.activate(name)
    assert env.tk.run(name).status == "succeeded"  # initial load: Bulk API 2.0
    ids = [r["Id"] for r in org.records("Contact")]
    org.update_many("Contact", [{"Id": i, "FirstName": v[:40]} for i, v in zip(ids, reversed(values))])
    for sf_id, value in zip(ids, values):
        update_contact(env.sandbox.brevo, sf_id, "ext_id", {"attributes": {"LASTNAME": value}})
    assert env.tk.run(name).status == "succeeded"  # REST both ways
    assert env.tk.run(name, full=True).status == "succeeded"
    assert env.tk.plan(name).status == "succeeded"


def test_injection_strings_in_records_and_settings_change_no_query(
    env_factory: Any, queries: list[str], figures: Any
) -> None:
    plain_env: Env = env_factory()
    _workload(plain_env, "plain", "Plain list", [f"value {i}" for i in range(len(NASTY))])
    plain, queries[:] = list(queries), []
    nasty_env: Env = env_factory()
    nasty_name = "news' OR Name != '"
    _workload(nasty_env, nasty_name, "list' OR Id != null --", NASTY)
    nasty = list(queries)
    assert plain and _shapes(nasty) == _shapes(plain)
    for soql in nasty:
        assert not any(v in soql for v in [*NASTY, nasty_name] if len(v) > 3), soql
    sf = nasty_env.tk.salesforce(nasty_name)
    for soql in nasty:
        match = _SELECT.match(soql)
        # Contacts and Leads, and the org's country once (the phone region of national numbers)
        assert match is not None and match.group(2) in ("Contact", "Lead", "Organization"), soql
        described = {f["name"] for f in sf.describe(match.group(2))["fields"]}
        fields = {f.strip() for f in match.group(1).split(",")}
        assert fields <= described | {"COUNT()"}, fields - described
    figures(
        "SOQL",
        f"{len(nasty)} queries with {len(NASTY)} injection strings in records, an integration and a "
        f"list name: {len(_shapes(nasty))} query shapes, the same as a plain workload; every field "
        "from describe",
    )


def test_a_tampered_stored_mapping_sends_no_query(env_factory: Any, queries: list[str]) -> None:
    env: Env = env_factory(contacts=5)
    setup_integration(env.tk)
    assert env.tk.run(NAME).status == "succeeded"
    integration = env.tk.store.get_integration(NAME)
    mapping = dict(integration.mapping)
    injected = "Email FROM Contact WHERE Name != ''"
    mapping["pairs"] = [[a, injected if f == "Email" else f] for a, f in mapping["pairs"]]
    mapping["fields"] = [
        {**f, "sf_field": injected} if f["sf_field"] == "Email" else f for f in mapping["fields"]
    ]
    env.tk.store.update_integration(NAME, mapping=mapping)  # a setting edited behind the toolkit's back
    queries.clear()
    result = env.tk.run(NAME)
    assert result.status == "failed" and "not a Salesforce field or object name" in (result.message or "")
    assert not any(injected in q for q in queries)


def test_every_literal_is_escaped_so_the_value_matches_itself_only(env_factory: Any) -> None:
    env: Env = env_factory()
    setup_integration(env.tk)
    values = [v[:80] for v in NASTY] + ["back\\slash", "O'Brien", "\\'", "'", "\\"]
    env.sandbox.salesforce.create_many(
        "Contact", [{"LastName": v, "Email": f"e{i}@soql.example"} for i, v in enumerate(values)]
    )
    sf = env.tk.salesforce(NAME)
    for value in values:
        found = [
            r["LastName"]
            for page in sf.query_pages(
                f"SELECT Id, LastName FROM Contact WHERE LastName = {soql_quote(value)}"
            )
            for r in page
        ]
        assert found == [value], (value, found)
        like = [
            r["LastName"]
            for page in sf.query_pages(
                f"SELECT LastName FROM Contact WHERE LastName LIKE {soql_quote(value, like=True)}"
            )
            for r in page
        ]
        assert like == [value], (value, like)
