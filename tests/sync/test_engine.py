"""The engine's promises beyond single rules: idempotence, propagation, cursors, crashes, locks.

All against the sandbox over HTTPS (see tests/support/sync.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.support.sync import Env, distinct_emails, setup_integration
from toolkit.brevo import contact_ext_id
from toolkit.exceptions import RunLockedError
from toolkit.store import IntegrationStatus, RunStatus, Store
from toolkit.sync import RunLock
from toolkit.sync.context import SyncContext

WRITES = {
    ("brevo", "POST", "/v3/contacts/import"),
    ("brevo", "POST", "/v3/contacts/lists/"),
    ("salesforce", "PATCH", "/services/data/"),
    ("salesforce", "DELETE", "/services/data/"),
    ("salesforce", "POST", "/services/data/"),
}


def _writes(env: Env, since: int = 0) -> list[str]:
    """Write calls in the request log after entry ``since`` (jobs/query bulk reads excluded)."""
    found = []
    for e in env.sandbox.log.entries()[since:]:
        if "jobs/query" in e.path or e.path.endswith("/contacts/lists"):
            continue
        if any(e.service == s and e.method == m and e.path.startswith(p) for s, m, p in WRITES):
            found.append(f"{e.service} {e.method} {e.path}")
    return found


def test_second_run_over_unchanged_data_makes_no_write_call(env_factory) -> None:
    env = env_factory(contacts=400, seed=5)
    setup_integration(env.tk)
    first = env.tk.run("contacts")
    assert (
        first.status == RunStatus.SUCCEEDED and first.counts["to_brevo.create"] == distinct_emails(env) > 390
    )
    mark = len(env.sandbox.log.entries())
    second = env.tk.run("contacts", full=True)  # even comparing every record
    assert second.status == RunStatus.SUCCEEDED and second.tasks == 0
    assert _writes(env, mark) == []


def test_a_change_on_either_side_reaches_the_other_on_the_next_run(env_factory) -> None:
    env = env_factory(contacts=50, seed=6)
    setup_integration(env.tk)
    env.tk.run("contacts")
    a, b = (r["Id"] for r in env.sandbox.salesforce.records("Contact")[:2])
    env.sandbox.salesforce.update_many("Contact", [{"Id": a, "FirstName": "Renée"}])
    env.tk.brevo().update_contact(b, identifier_type="ext_id", attributes={"LASTNAME": "Ó Súilleabháin"})
    result = env.tk.run("contacts")
    assert result.counts.get("to_brevo.update") == 1 and result.counts.get("to_salesforce.update") == 1
    assert env.brevo_contact(a)["attributes"]["FIRSTNAME"] == "Renée"
    assert env.sandbox.salesforce.get("Contact", b)["LastName"] == "Ó Súilleabháin"
    mark = len(env.sandbox.log.entries())
    assert env.tk.run("contacts").tasks == 0  # neither write comes back as a change (echoes)
    assert _writes(env, mark) == []


def test_records_sharing_one_systemmodstamp_across_a_page_boundary_all_arrive(env_factory) -> None:
    env = env_factory(contacts=0)
    org = env.sandbox.salesforce
    setup_integration(env.tk)
    assert env.tk.run("contacts").tasks == 0  # the initial load of an empty org: from now on, increments
    rows = [{"LastName": f"Tie {i:05d}", "Email": f"tie{i}@boundary.example"} for i in range(4500)]
    org.create_many("Contact", rows)  # one write: one SystemModstamp for all 4,500
    assert len({r["SystemModstamp"] for r in org.records("Contact")}) == 1
    env.tk.quota.set_limit(3000)  # the quota runs out in the middle of the second page of 2,000
    stopped = env.tk.run("contacts")
    assert stopped.status == RunStatus.STOPPED and stopped.tasks == 3000
    assert env.tk.store.get_integration("contacts").stop_reason == "quota"
    env.tk.quota.set_limit(100_000)
    rest = env.tk.run("contacts")
    assert rest.status == RunStatus.SUCCEEDED
    in_list = {
        contact_ext_id(c)
        for page in env.tk.brevo().iter_list_contacts(env.tk.integrations()[0].list_id)
        for c in page
    }
    assert in_list == {r["Id"] for r in org.records("Contact")}
    assert stopped.tasks + rest.tasks == 4500


def test_a_crash_between_write_and_commit_replays_without_duplicates(env_factory, monkeypatch) -> None:
    # Imports of at most 150 kB: each REST page of 2,000 records (about 180 kB) is a batch of its own.
    env = env_factory(contacts=0, import_max_bytes=150_000)
    list_id = setup_integration(env.tk)
    env.tk.run("contacts")  # initial load of the empty org; the next run pages through REST
    env.sandbox.salesforce.create_many(
        "Contact", [{"LastName": f"C{i}", "Email": f"c{i}@crash.example"} for i in range(3000)]
    )
    real_commit = SyncContext.commit
    calls = {"n": 0}

    def crash_on_second_page(self: SyncContext, **kwargs: Any) -> None:
        if kwargs.get("links"):
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt("process killed after Brevo confirmed the import")
        real_commit(self, **kwargs)

    monkeypatch.setattr(SyncContext, "commit", crash_on_second_page)
    with pytest.raises(KeyboardInterrupt):
        env.tk.run("contacts")
    monkeypatch.setattr(SyncContext, "commit", real_commit)
    assert env.tk.store.list_runs()[0].status == RunStatus.FAILED
    rerun = env.tk.run("contacts")
    assert rerun.status == RunStatus.SUCCEEDED
    members = [c for page in env.tk.brevo().iter_list_contacts(list_id) for c in page]
    assert len(members) == 3000 == len({contact_ext_id(c) for c in members})  # none lost, none twice
    assert len(env.sandbox.brevo.contacts()) == 3000 + len(
        [c for c in env.sandbox.brevo.contacts() if not contact_ext_id(c)]
    )
    assert env.tk.store.count_links(env.tk.integrations()[0].id) == 3000


def test_one_run_per_integration_at_a_time_and_a_killed_run_does_not_block(
    env_factory, tmp_path: Path
) -> None:
    env = env_factory(contacts=5)
    setup_integration(env.tk)
    location = str(env.settings.state_location)  # a SQLite file or a PostgreSQL URL (TOOLKIT_TEST_BACKEND)
    with (
        Store.open(location) as other,  # another process's store: its own connection
        RunLock(env.settings.state_dir, "contacts", other),
        pytest.raises(RunLockedError, match="already running"),
    ):
        env.tk.run("contacts")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from toolkit.store import Store
        from toolkit.sync import RunLock
        lock = RunLock(Path({str(env.settings.state_dir)!r}), "contacts", Store.open({location!r}))
        lock.acquire()  # kept: on PostgreSQL the lock lives as long as the store's connection
        print("locked", flush=True)
        time.sleep(60)
    """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    with pytest.raises(RunLockedError):
        env.tk.run("contacts")
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert env.tk.run("contacts").status == RunStatus.SUCCEEDED


def test_sync_command_runs_dry_and_for_real_with_exit_codes(env_factory) -> None:
    env = env_factory(contacts=30, seed=8)
    setup_integration(env.tk)
    state = env.settings.state_dir
    (state / "toolkit.toml").write_text(
        textwrap.dedent(f"""
        salesforce_login_url = "{env.settings.salesforce_login_url}"
        brevo_api_url = "{env.settings.brevo_api_url}"
        ca_bundle = "{env.settings.ca_bundle}"
    """)
    )
    cli = [sys.executable, "-m", "toolkit"]
    environ = {**os.environ, "TOOLKIT_STATE_DIR": str(state), "TOOLKIT_STATE_URL": env.settings.state_url}
    dry = subprocess.run(
        [*cli, "sync", "contacts", "--dry-run", "--quiet"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )
    assert dry.returncode == 0, dry.stderr
    writes = distinct_emails(env)  # 30, less the duplicates of an e-mail (D1)
    assert f"would write {writes} records" in dry.stdout and "to_brevo.create" in dry.stdout
    assert env.tk.store.count_links(env.tk.integrations()[0].id) == 0
    reports = state.parent / "reports"
    real = subprocess.run(
        [*cli, "sync", "contacts", "--report-dir", str(reports)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )
    assert real.returncode == 0 and f"wrote {writes} records" in real.stdout
    assert len(list(reports.glob("audit-contacts-run-*.html"))) == 1 and list(reports.glob("*.csv"))
    assert "Salesforce -> Brevo" in real.stderr  # the tqdm progress bar
    listed = subprocess.run([*cli, "integrations", "list"], capture_output=True, text=True, env=environ)
    assert "contacts" in listed.stdout and "active" in listed.stdout
    off = subprocess.run(
        [*cli, "integrations", "deactivate", "contacts"], capture_output=True, text=True, env=environ
    )
    assert off.returncode == 0
    refused = subprocess.run([*cli, "sync", "contacts"], capture_output=True, text=True, env=environ)
    assert refused.returncode == 2 and "activate it first" in refused.stderr
    secrets = [env.sandbox.info["salesforce"]["client_secret"], env.sandbox.info["brevo"]["api_key"]]
    for out in (dry.stdout, dry.stderr, real.stdout, real.stderr, refused.stderr):
        assert not any(s in out for s in secrets)


def test_a_mapped_attribute_deleted_in_brevo_stops_the_run_instead_of_blanking_salesforce(
    env_factory,
) -> None:
    env = env_factory(contacts=10, seed=12)
    setup_integration(env.tk)
    env.tk.run("contacts")
    sf_id = env.sandbox.salesforce.records("Contact")[0]["Id"]
    first_name = env.sandbox.salesforce.get("Contact", sf_id)["FirstName"]
    env.tk.brevo().update_contact(sf_id, identifier_type="ext_id", attributes={"LASTNAME": "Changed"})
    env.tk.brevo()._call("DELETE", "/contacts/attributes/normal/FIRSTNAME")
    result = env.tk.run("contacts")
    assert result.status == RunStatus.FAILED and "FIRSTNAME" in (result.message or "")
    assert env.sandbox.salesforce.get("Contact", sf_id)["FirstName"] == first_name
    integration = env.tk.store.get_integration("contacts")
    assert integration.status == IntegrationStatus.ERROR and "FIRSTNAME" in (integration.last_error or "")
