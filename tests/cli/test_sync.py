"""``toolkit sync NAME`` on an integration the quota stopped (SPEC Q3): exit code 4 and when it resumes.

The command runs as a user runs it (``python -m toolkit`` in a subprocess, the state named by
``TOOLKIT_STATE_DIR``) against the sandbox over HTTPS.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

from tests.support.sync import setup_integration, write_settings
from toolkit.quota import month_bounds
from toolkit.store.quota import month_of

CLI = [sys.executable, "-m", "toolkit"]


def test_q3_sync_of_an_integration_stopped_by_the_quota_exits_4_and_says_when_it_resumes(
    env_factory: Any,
) -> None:
    env = env_factory(contacts=25, seed=6)
    setup_integration(env.tk)
    env.tk.quota.set_limit(10)  # 10 tasks left, 25 records to write
    first = env.tk.run("contacts")
    assert first.status == "stopped" and first.tasks == 10
    integ = env.tk.store.get_integration("contacts")
    assert (integ.status, integ.stop_reason) == ("stopped", "quota")
    state = env.settings.state_dir
    (state / "toolkit.toml").write_text(
        f'salesforce_login_url = "{env.settings.salesforce_login_url}"\n'
        f'brevo_api_url = "{env.settings.brevo_api_url}"\n'
        f'ca_bundle = "{env.settings.ca_bundle}"\n'
    )
    environ = {**os.environ, "TOOLKIT_STATE_DIR": str(state), "TOOLKIT_STATE_URL": env.settings.state_url}

    def toolkit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args], capture_output=True, text=True, env=environ, timeout=120)

    stopped = toolkit("sync", "contacts", "--quiet")
    assert stopped.returncode == 4, stopped.stderr  # stopped by the quota, not "activate it first" (2)
    _, resets = month_bounds(month_of(datetime.now(UTC)))
    assert "is stopped: this month's task quota is used up (10 of 10 tasks)" in stopped.stderr
    assert f"start of next month, {resets:%Y-%m-%d} 00:00 UTC" in stopped.stderr
    assert "toolkit quota set-limit 15" in stopped.stderr and "activate it first" not in stopped.stderr
    assert len(env.tk.store.list_runs(integ.id)) == 1  # no run was started

    dry = toolkit("sync", "contacts", "--dry-run", "--quiet")  # B1 still shows what is pending
    assert dry.returncode == 0 and "would write 15 records" in dry.stdout

    raised = toolkit("quota", "set-limit", "100")
    assert raised.returncode == 0 and "Resumed: contacts" in raised.stdout
    rest = toolkit("sync", "contacts", "--quiet")
    assert rest.returncode == 0 and "wrote 15 records" in rest.stdout


def test_integrations_pause_resume_history_and_delete_from_the_command_line(env_factory: Any) -> None:
    env = env_factory(contacts=6, seed=9)
    list_id = setup_integration(env.tk)
    env.tk.run("contacts")
    members = {c["id"] for page in env.tk.brevo().iter_list_contacts(list_id, 500) for c in page}
    write_settings(env.settings)
    environ = {
        **os.environ,
        "TOOLKIT_STATE_DIR": str(env.settings.state_dir),
        "TOOLKIT_ACTOR": "ops@example.com",
    }

    def toolkit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args], capture_output=True, text=True, env=environ, timeout=120)

    paused = toolkit("integrations", "pause", "contacts")
    assert paused.returncode == 0 and "contacts: stopped (paused)" in paused.stdout, paused.stderr
    refused = toolkit("sync", "contacts", "--quiet")
    assert refused.returncode == 2 and "paused" in refused.stderr
    assert toolkit("integrations", "resume", "contacts").stdout.strip() == "contacts: active"
    history = toolkit("integrations", "history", "contacts").stdout.splitlines()
    assert "ops@example.com  [command line]  status: stopped (paused) -> active" in history[0]
    assert "status: active -> stopped (paused)" in history[1]
    deleted = toolkit("integrations", "delete", "contacts")
    assert deleted.returncode == 0 and "Brevo contacts are untouched" in deleted.stdout
    assert {c["id"] for page in env.tk.brevo().iter_list_contacts(list_id, 500) for c in page} == members
    assert "contacts" not in toolkit("integrations", "list").stdout
