"""Issue 15: changing a live integration. Planning an edit (pure, a table of cases), then the
edits, pauses and deletions themselves on the sandbox over HTTPS: a newly mapped attribute is
backfilled by the next run within the quota, an unmapped one stops syncing and keeps its values,
a list change moves the linked contacts (or leaves them on the old list too), a pause loses
nothing, a deletion never deletes a Brevo contact, and every change is in the change log."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.sync import Env, setup_integration
from toolkit.exceptions import ConfigError, RunLockedError
from toolkit.mapping.types import EMAIL_BLACKLISTED, MappedField, Mapping
from toolkit.store import ChangeAction, Integration, IntegrationStatus, RunStatus, Side, StopReason, Store
from toolkit.sync import IntegrationEdit, RunLock, plan_edit

NAME = "contacts"
BASE = {"EMAIL": "Email", "FIRSTNAME": "FirstName", "LASTNAME": "LastName"}
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _mapping(*pairs: tuple[str, str, str]) -> dict[str, Any]:
    """A stored mapping (:meth:`Mapping.to_json`) of ``(attribute, field, sf type)`` triples."""
    fields = tuple(MappedField(a, "text", f, t, f) for a, f, t in pairs)
    return Mapping("Contact", tuple((a, f) for a, f, _ in pairs), False, fields).to_json()


M_BASE = _mapping(("EMAIL", "Email", "email"), ("LASTNAME", "LastName", "string"))
M_SMS = _mapping(
    ("EMAIL", "Email", "email"), ("LASTNAME", "LastName", "string"), ("SMS", "MobilePhone", "phone")
)
M_NO_LAST = _mapping(("EMAIL", "Email", "email"))
M_FLAG = _mapping(
    ("EMAIL", "Email", "email"), ("LASTNAME", "LastName", "string"), ("VIP", "Vip__c", "boolean")
)


def _integ(**fields: Any) -> Integration:
    base = Integration(
        1, NAME, "Contact", 1, "default", True, M_BASE, 10, IntegrationStatus.ACTIVE, None, None,
        Side.SALESFORCE, False, None, NOW, NOW,
    )  # fmt: skip
    return replace(base, **fields)


@pytest.mark.parametrize(
    ("current", "edit", "fields", "added", "removed", "move"),
    [
        pytest.param(_integ(), {}, {}, (), (), None, id="nothing"),
        pytest.param(_integ(), {"mapping": M_BASE}, {}, (), (), None, id="same mapping"),
        pytest.param(
            _integ(), {"mapping": M_SMS}, {"mapping": M_SMS, "backfill_pending": True}, ("SMS",), (), None,
            id="new attribute backfilled",
        ),
        pytest.param(
            _integ(backfill_pending=True), {"mapping": M_SMS}, {"mapping": M_SMS}, ("SMS",), (), None,
            id="backfill already pending",
        ),
        pytest.param(
            _integ(), {"mapping": M_NO_LAST}, {"mapping": M_NO_LAST}, (), ("LASTNAME",), None,
            id="unmapped: no backfill",
        ),
        pytest.param(
            _integ(), {"mapping": M_FLAG}, {"mapping": M_FLAG}, (), (), None, id="boolean without B4 (Y11)"
        ),
        pytest.param(
            _integ(mapping=M_FLAG), {"booleans_and_picklists": True},
            {"sync_booleans_picklists": True, "mapping": {**M_FLAG, "booleans_and_picklists": True},
             "backfill_pending": True}, ("VIP",), (), None, id="B4 on",
        ),
        pytest.param(
            _integ(), {"sync_unsubscribes": True}, {"sync_unsubscribes": True, "backfill_pending": True},
            (EMAIL_BLACKLISTED,), (), None, id="B8 on",
        ),
        pytest.param(
            _integ(), {"list_id": 20}, {"list_id": 20, "list_move_from": 10, "list_move_remove": True}, (), (),
            (10, 20), id="list moved",
        ),
        pytest.param(
            _integ(), {"list_id": 20, "move_contacts": False},
            {"list_id": 20, "list_move_from": 10, "list_move_remove": False}, (), (), (10, 20),
            id="list changed, contacts left on the old one too",
        ),
        pytest.param(
            _integ(list_id=20, list_move_from=10), {"list_id": 30},
            {"list_id": 30, "list_move_from": 10, "list_move_remove": True}, (), (), (10, 30),
            id="a pending move goes on from where the contacts are",
        ),
        pytest.param(
            _integ(list_id=20, list_move_from=10), {"list_id": 10}, {"list_id": 10, "list_move_from": None}, (),
            (), None, id="back to where the contacts are: no move",
        ),
        pytest.param(
            _integ(list_id=20, list_move_from=10), {"list_id": 20, "move_contacts": False},
            {"list_move_remove": False}, (), (), (10, 20), id="a pending move, the other choice",
        ),
        pytest.param(_integ(list_id=None), {"list_id": 20}, {"list_id": 20}, (), (), None, id="first list"),
        pytest.param(
            _integ(), {"schedule": "every 2 hours", "connection_id": 2},
            {"schedule": "every 2 hours", "connection_id": 2}, (), (), None, id="schedule and connection",
        ),
    ],
)  # fmt: skip
def test_plan_edit(
    current: Integration,
    edit: dict[str, Any],
    fields: dict[str, Any],
    added: tuple[str, ...],
    removed: tuple[str, ...],
    move: tuple[int, int] | None,
) -> None:
    before = replace(current)
    plan = plan_edit(current, **edit)
    assert plan.fields == fields
    assert (plan.added, plan.removed) == (added, removed)
    assert plan.backfill == bool(fields.get("backfill_pending"))
    assert ((plan.list_from, plan.list_to) if plan.moves_list else None) == move
    assert current == before  # pure: nothing it is given changes


# -- on the sandbox ---------------------------------------------------------------------------------


def _phones(env: Env) -> dict[str, str]:
    """Salesforce Id -> mobile phone of the linked Contacts that have one."""
    linked = {link.sf_id for link in env.tk.links(NAME)}
    return {
        r["Id"]: r["MobilePhone"]
        for r in env.sandbox.salesforce.records("Contact")
        if r["Id"] in linked and r.get("MobilePhone")
    }


def test_a_newly_mapped_attribute_is_previewed_then_backfilled_for_every_linked_contact(env_factory) -> None:
    env = env_factory(contacts=30, seed=21)
    tk = env.tk
    setup_integration(tk, NAME, mapping=BASE)
    assert tk.run(NAME).status == RunStatus.SUCCEEDED
    phones = _phones(env)
    assert phones and all("SMS" not in (env.brevo_contact(i) or {}).get("attributes", {}) for i in phones)

    edit = IntegrationEdit(mapping=[*BASE.items(), ("SMS", "MobilePhone")])
    writes = env.brevo_calls("POST")
    preview = tk.preview_edit(NAME, edit)
    assert preview.plan.added == ("SMS",) and preview.plan.backfill
    assert preview.dry_run is not None and preview.dry_run.dry_run
    updates = preview.dry_run.counts.get("to_brevo.update", 0)
    assert 0 < updates <= len(tk.links(NAME)) and preview.tasks == updates
    assert any("SMS" in sentence for sentence in preview.sentences())
    assert preview.changes[0][:2] == (
        "Field mapping",
        "EMAIL <- Email, FIRSTNAME <- FirstName, LASTNAME <- LastName",
    )
    assert env.brevo_calls("POST") == writes  # a preview writes nothing
    assert not tk.store.get_integration(NAME).backfill_pending

    tk.save_edit(NAME, edit)
    assert tk.store.get_integration(NAME).backfill_pending
    result = tk.run(NAME)
    assert result.status == RunStatus.SUCCEEDED and result.counts.get("to_brevo.update", 0) == updates
    assert tk.store.list_runs(tk.store.get_integration(NAME).id, limit=1)[
        0
    ].full  # the backfill is a full run
    filled = [i for i in phones if (env.brevo_contact(i) or {}).get("attributes", {}).get("SMS")]
    assert len(filled) == updates
    assert not tk.store.get_integration(NAME).backfill_pending
    again = tk.run(NAME)  # an incremental run again, nothing left to write
    assert again.tasks == 0 and not tk.store.list_runs(tk.store.get_integration(NAME).id, limit=1)[0].full

    edited = [c for c in tk.changes(NAME) if c.action == ChangeAction.EDITED and c.field == "mapping"]
    assert len(edited) == 2  # the wizard's first mapping, then the edit (newest first)
    assert "SMS <- MobilePhone" in (edited[0].new or "") and "SMS" not in (edited[0].old or "")
    assert edited[1].old is None
    assert edited[0].actor == tk.store.actor and edited[0].via == "python"


def test_a_backfill_stopped_by_the_quota_is_finished_by_a_later_run(env_factory) -> None:
    env = env_factory(contacts=30, seed=22)
    tk = env.tk
    setup_integration(tk, NAME, mapping=BASE)
    first = tk.run(NAME)
    edit = IntegrationEdit(mapping=[*BASE.items(), ("SMS", "MobilePhone")])
    wanted = tk.preview_edit(NAME, edit).tasks
    assert wanted > 2
    tk.save_edit(NAME, edit)
    tk.quota.set_limit(first.tasks + 2)  # two tasks left this month
    stopped = tk.run(NAME)
    assert stopped.status == RunStatus.STOPPED and stopped.tasks <= 2
    assert tk.store.get_integration(NAME).backfill_pending  # not done: the next run is full again
    tk.quota.set_limit(None)
    assert tk.store.get_integration(NAME).status == IntegrationStatus.ACTIVE  # Q3: resumed
    done = tk.run(NAME)
    assert done.status == RunStatus.SUCCEEDED and stopped.tasks + done.tasks == wanted
    assert not tk.store.get_integration(NAME).backfill_pending
    assert tk.quota.status().used == first.tasks + wanted  # every task counted once


def test_an_unmapped_attribute_stops_syncing_and_keeps_its_values(env_factory) -> None:
    env = env_factory(contacts=10, seed=23)
    tk = env.tk
    setup_integration(tk, NAME, mapping=BASE)
    tk.run(NAME)
    sf_id = next(iter(link.sf_id for link in tk.links(NAME)))
    before = (env.brevo_contact(sf_id) or {})["attributes"]["LASTNAME"]
    preview = tk.preview_edit(NAME, IntegrationEdit(mapping=[("EMAIL", "Email"), ("FIRSTNAME", "FirstName")]))
    assert preview.plan.removed == ("LASTNAME",) and not preview.plan.backfill and preview.tasks == 0
    tk.save_edit(NAME, IntegrationEdit(mapping=[("EMAIL", "Email"), ("FIRSTNAME", "FirstName")]))
    env.sandbox.salesforce.update_many("Contact", [{"Id": sf_id, "LastName": "Neuer-Name"}])
    result = tk.run(NAME)
    assert result.tasks == 0
    assert (env.brevo_contact(sf_id) or {})["attributes"]["LASTNAME"] == before  # kept, not passed on


def _members(env: Env, list_id: int) -> set[str]:
    return {
        str(c["attributes"].get("EXT_ID"))
        for page in env.tk.brevo().iter_list_contacts(list_id, 500)
        for c in page
        if c.get("attributes", {}).get("EXT_ID")
    }


@pytest.mark.parametrize("move", [True, False], ids=["moved", "left on the old list too"])
def test_a_new_list_takes_the_linked_contacts_along(env_factory, move: bool) -> None:
    env = env_factory(contacts=20, seed=24)
    tk = env.tk
    old = setup_integration(tk, NAME, mapping=BASE)
    tk.run(NAME)
    linked = {link.sf_id for link in tk.links(NAME)}
    assert _members(env, old) == linked
    new = tk.brevo().create_list("Newsletter 2027", tk.brevo().ensure_folder("Salesforce"))

    edit = IntegrationEdit(list_id=new, move_contacts=move)
    preview = tk.preview_edit(NAME, edit)
    assert preview.plan.moves_list and preview.linked == len(linked)
    assert preview.dry_run is not None and preview.dry_run.counts.get("left_list", 0) == 0
    assert any(f"list #{new}" in sentence for sentence in preview.sentences())
    assert _members(env, new) == set()  # nothing moved yet
    tk.save_edit(NAME, edit)
    planned = tk.plan(NAME)  # a dry run of the pending move counts it and moves nothing
    assert planned.counts.get("moved_to_list") == len(linked) and planned.counts.get("left_list", 0) == 0
    assert _members(env, new) == set()

    result = tk.run(NAME)
    assert result.status == RunStatus.SUCCEEDED and result.counts.get("moved_to_list") == len(linked)
    assert result.counts.get("left_list", 0) == 0  # B9 does not take them for contacts that left
    assert _members(env, new) == linked
    assert _members(env, old) == (set() if move else linked)
    assert tk.store.get_integration(NAME).list_move_from is None
    assert tk.run(NAME).counts.get("moved_to_list", 0) == 0  # done once
    # A record changed in Salesforce now goes to the new list.
    sf_id = sorted(linked)[0]
    env.sandbox.salesforce.update_many("Contact", [{"Id": sf_id, "FirstName": "Zoë"}])
    tk.run(NAME)
    assert (env.brevo_contact(sf_id) or {})["attributes"]["FIRSTNAME"] == "Zoë"
    assert new in (env.brevo_contact(sf_id) or {})["listIds"]


def test_pause_keeps_the_cursors_and_the_next_run_catches_up(env_factory) -> None:
    env = env_factory(contacts=10, seed=25)
    tk = env.tk
    setup_integration(tk, NAME, mapping=BASE)
    tk.run(NAME)
    paused = tk.pause(NAME)
    assert (
        paused.paused
        and paused.status == IntegrationStatus.STOPPED
        and paused.stop_reason == StopReason.PAUSED
    )
    with pytest.raises(ConfigError, match="paused"):
        tk.run(NAME)
    with pytest.raises(ConfigError, match="not active"):
        tk.pause(NAME)
    tk.quota.resume()  # the quota's resume leaves a paused integration alone
    assert tk.store.get_integration(NAME).paused
    sf_id = tk.links(NAME)[0].sf_id
    env.sandbox.salesforce.update_many("Contact", [{"Id": sf_id, "LastName": "Während-der-Pause"}])
    assert tk.resume(NAME).status == IntegrationStatus.ACTIVE
    result = tk.run(NAME)
    assert result.counts.get("to_brevo.update") == 1 and result.tasks == 1  # caught up, incrementally
    assert (env.brevo_contact(sf_id) or {})["attributes"]["LASTNAME"] == "Während-der-Pause"
    statuses = [(c.old, c.new) for c in tk.changes(NAME) if c.action == ChangeAction.STATUS]
    assert ("stopped (paused)", "active") in statuses and ("active", "stopped (paused)") in statuses


@pytest.mark.parametrize("keep_history", [True, False], ids=["history kept", "history removed"])
def test_deleting_an_integration_never_deletes_a_brevo_contact(env_factory, keep_history: bool) -> None:
    env = env_factory(contacts=12, seed=26)
    tk = env.tk
    list_id = setup_integration(tk, NAME, mapping=BASE)
    first = tk.run(NAME)
    iid = tk.store.get_integration(NAME).id
    contacts = _members(env, list_id)
    assert contacts
    calls = env.brevo_calls("DELETE"), env.brevo_calls("POST", "/v3/contacts/lists")

    with (
        Store.open(tk.settings.state_location) as other,  # a run elsewhere holds the lock (file or advisory)
        RunLock(tk.settings.state_dir, NAME, other),
        pytest.raises(RunLockedError),  # not while it runs
    ):
        tk.delete_integration(NAME, keep_history=keep_history)
    assert NAME in [i.name for i in tk.integrations()]
    gone = tk.delete_integration(NAME, keep_history=keep_history)
    assert gone.name == NAME
    assert (env.brevo_calls("DELETE"), env.brevo_calls("POST", "/v3/contacts/lists")) == calls
    assert _members(env, list_id) == contacts  # every contact still there, on its list
    assert NAME not in [i.name for i in tk.integrations()]
    with pytest.raises(ConfigError):
        tk.run(NAME)
    assert tk.quota.status().used == first.tasks  # the month's tasks stay counted
    kept = [i for i in tk.store.list_integrations(include_deleted=True) if i.id == iid]
    if keep_history:
        assert kept and kept[0].deleted_at is not None and kept[0].name.startswith(f"{NAME} (deleted ")
        assert tk.store.list_runs(iid) and tk.store.count_links(iid) == len(contacts)
    else:
        assert not kept and not tk.store.list_runs(iid) and tk.store.count_links(iid) == 0
    deleted = [c for c in tk.changes() if c.action == ChangeAction.DELETED]
    assert [c.subject for c in deleted] == [NAME]
    # The name is free again, and the account's S3 place too.
    setup_integration(tk, NAME, mapping=BASE)
    assert tk.store.account_users("sandbox-org") == [NAME]


def test_the_change_log_names_who_changed_what(env_factory, monkeypatch) -> None:
    env = env_factory(contacts=0)
    monkeypatch.setenv("TOOLKIT_ACTOR", "jane@example.com")
    from toolkit.api import Toolkit

    tk = Toolkit(env.settings, via="integrations page")
    try:
        setup_integration(tk, NAME, mapping=BASE)
        tk.save_edit(NAME, IntegrationEdit(schedule="2h"))
    finally:
        tk.close()
    log = env.tk.changes(NAME)
    assert {c.actor for c in log} == {"jane@example.com"} and {c.via for c in log} == {"integrations page"}
    assert [c.action for c in reversed(log)][:1] == [ChangeAction.CREATED]
    schedule = next(c for c in log if c.field == "schedule")
    assert (schedule.old, schedule.new) == ("every 15 minutes", "every 2 hours")
    assert any(c.field == "status" and c.new == "active" for c in log)
