"""The services' real wire shapes (issue 11), end to end through the engine and the sandbox over HTTPS.

Each test gives the toolkit an answer of a shape the references allow (or a malformed one) and
checks that the run ends with a clear outcome: synced, or failed with a message naming the
call, never a traceback.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.sync import Env, distinct_emails, setup_integration
from toolkit.brevo import contact_ext_id
from toolkit.sandbox.variants import WireVariants
from toolkit.store import Direction, RunStatus
from toolkit.timestamps import parse_brevo_datetime, parse_salesforce_datetime


class Forced(WireVariants):
    """Wire variants with some choices forced: ``pick`` -> the given option, ``chance`` -> always."""

    def __init__(self, picks: dict[str, Any] | None = None, chances: tuple[str, ...] = ()) -> None:
        super().__init__(0)
        self.picks = picks or {}
        self.chances = chances

    def pick(self, kind: str, key: object, options: Any) -> Any:
        return self.picks[kind] if kind in self.picks else options[0]

    def chance(self, kind: str, key: object, share: float) -> bool:
        return kind in self.chances


def _first_contact(env: Env) -> dict[str, Any]:
    return env.sandbox.salesforce.records("Contact")[0]


def test_b5_ext_id_travels_only_as_the_attribute_ext_id_and_brevo_edits_reach_salesforce(
    env_factory: Any,
) -> None:
    env = env_factory(contacts=30)
    list_id = setup_integration(env.tk)
    assert env.tk.run("contacts").ok
    members = [c for page in env.tk.brevo().iter_list_contacts(list_id) for c in page]
    assert len(members) == 30
    assert all("ext_id" not in c and c["attributes"]["EXT_ID"].startswith("003") for c in members)
    # Imports carry it as attributes.EXT_ID: a top-level key would be ignored by Brevo.
    sf_id = _first_contact(env)["Id"]
    env.tk.brevo().update_contact(sf_id, identifier_type="ext_id", attributes={"LASTNAME": "Brevo-Edit"})
    result = env.tk.run("contacts")
    assert result.ok and result.counts.get("to_salesforce.update") == 1
    assert env.sandbox.salesforce.get("Contact", sf_id)["LastName"] == "Brevo-Edit"
    assert contact_ext_id(env.brevo_contact(sf_id) or {}) == sf_id


@pytest.mark.parametrize(
    ("salesforce_cursor", "brevo_cursor"),
    [
        ("2026-12-01T08:00:00+0000", "2026-12-01T08:00:00Z"),
        ("2026-12-01T08:00:00Z", "2026-12-01T08:00:00+00:00"),
        ("2026-12-01T08:00:00.5+00:00", "2026-12-01T08:00:00.123456+0000"),
    ],
)
def test_a_run_reads_stored_cursors_without_milliseconds_or_with_any_offset(
    env_factory: Any, salesforce_cursor: str, brevo_cursor: str
) -> None:
    env = env_factory(contacts=20)
    setup_integration(env.tk)
    assert env.tk.run("contacts").ok
    integration = env.tk.store.get_integration("contacts")
    env.tk.store.set_cursor(integration.id, "salesforce", salesforce_cursor)
    env.tk.store.set_cursor(integration.id, "brevo", brevo_cursor)
    sf_id = _first_contact(env)["Id"]
    env.sandbox.salesforce.update_many("Contact", [{"Id": sf_id, "FirstName": "Cursor"}])
    result = env.tk.run("contacts")
    assert result.ok, result.message
    assert (env.brevo_contact(sf_id) or {})["attributes"]["FIRSTNAME"] == "Cursor"
    cursors = env.tk.store.cursors(integration.id)  # stored again in one readable form
    parse_salesforce_datetime(cursors["salesforce"])
    parse_brevo_datetime(cursors["brevo"])


def test_an_unreadable_stored_cursor_is_reported_and_replaced_not_a_crash_loop(env_factory: Any) -> None:
    env = env_factory(contacts=20)
    setup_integration(env.tk)
    assert env.tk.run("contacts").ok
    integration = env.tk.store.get_integration("contacts")
    env.tk.store.set_cursor(integration.id, "salesforce", "last tuesday")
    env.tk.store.set_cursor(integration.id, "brevo", "2026-13-45T99:00:00Z")
    first = env.tk.run("contacts")
    assert first.ok, first.message
    assert first.counts["cursor_replaced"] == 2
    assert {s["cursor"] for s in first.samples["cursor_replaced"]} == {"salesforce", "brevo"}
    second = env.tk.run("contacts")  # the replacement was stored: no report any more
    assert second.ok and "cursor_replaced" not in second.counts


def test_an_initial_load_whose_bulk_pages_lack_sforce_numberofrecords_and_milliseconds_syncs(
    env_factory: Any,
) -> None:
    env = env_factory(contacts=120)
    env.sandbox.salesforce.variants = Forced(
        picks={"salesforce.bulk.datetime": False}, chances=("salesforce.bulk.records-header",)
    )
    list_id = setup_integration(env.tk)
    result = env.tk.run("contacts")
    assert result.ok, result.message
    assert result.counts["to_brevo.create"] == distinct_emails(env) > 110  # one per e-mail (D1)
    assert sum(len(p) for p in env.tk.brevo().iter_list_contacts(list_id)) == distinct_emails(env)
    stored = env.tk.store.cursors(env.tk.store.get_integration("contacts").id)["salesforce"]
    assert stored.endswith(".000+0000")  # the Bulk form without milliseconds, stored in the REST form
    assert env.tk.run("contacts").ok  # and the next run reads it


def test_brevo_timestamps_without_milliseconds_and_a_processing_status_are_read(env_factory: Any) -> None:
    env = env_factory(contacts=25)
    env.sandbox.brevo.variants = Forced(
        picks={
            "brevo.timestamp": "seconds+Z",
            "brevo.process.status": "processing",
            "brevo.process.times": False,
        },
        chances=("brevo.ratelimit-headers",),
    )
    setup_integration(env.tk)
    assert env.tk.run("contacts").ok
    sf_id = _first_contact(env)["Id"]
    contact = env.brevo_contact(sf_id) or {}
    assert contact["modifiedAt"].endswith("Z") and "." not in contact["modifiedAt"]
    env.tk.brevo().update_contact(sf_id, identifier_type="ext_id", attributes={"FIRSTNAME": "NoMillis"})
    result = env.tk.run("contacts")
    assert result.ok and result.counts.get("to_salesforce.update") == 1
    assert env.sandbox.salesforce.get("Contact", sf_id)["FirstName"] == "NoMillis"


def test_a_record_error_given_as_text_becomes_a_rejection_with_the_services_words(
    env_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = env_factory(contacts=10)
    setup_integration(env.tk)
    assert env.tk.run("contacts").ok
    org = env.sandbox.salesforce
    sf_id = _first_contact(env)["Id"]
    original = org.save

    def save(*args: Any, **kwargs: Any) -> list[Any]:  # the server answers one result in an odd shape
        results = original(*args, **kwargs)
        return [
            {"id": r.get("id"), "success": False, "errors": ["UNABLE_TO_LOCK_ROW: unable to obtain row lock"]}
            if r.get("id") == sf_id
            else r
            for r in results
        ]

    monkeypatch.setattr(org, "save", save)
    env.tk.brevo().update_contact(sf_id, identifier_type="ext_id", attributes={"LASTNAME": "Locked"})
    result = env.tk.run("contacts")
    assert result.ok, result.message
    [rejection] = [r for r in env.tk.rejections("contacts") if r["record_id"] == sf_id]
    assert rejection["service_message"] == "UNABLE_TO_LOCK_ROW: unable to obtain row lock"
    assert rejection["direction"] == Direction.TO_SALESFORCE


def test_a_query_answer_of_the_wrong_shape_fails_the_run_with_a_protocol_error(
    env_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = env_factory(contacts=10)
    setup_integration(env.tk)
    assert env.tk.run("contacts").ok
    from toolkit.sandbox.http import json_response
    from toolkit.sandbox.salesforce import rest

    for endpoint in ("query", "query_all"):  # the server answers a list where a page is due
        monkeypatch.setitem(rest._HANDLERS, endpoint, lambda ctx: json_response(["not", "a", "page"]))
    result = env.tk.run("contacts")
    assert result.status == RunStatus.FAILED
    assert "not of the shape Salesforce documents" in (result.message or "")
    assert "(GET queryAll)" in (result.message or "") and "PROTOCOL" not in (result.message or "")
    plan = env.tk.plan("contacts")  # B1 too: a clear outcome, not a library's KeyError
    assert plan.status == RunStatus.FAILED and "not of the shape" in (plan.message or "")
