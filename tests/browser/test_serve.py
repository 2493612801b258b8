"""``toolkit serve`` for real (issue 14): activated on the integrations page, the integration runs by itself.

The command runs as a team runs it (a child process with ``TOOLKIT_STATE_DIR``, settings in
``toolkit.toml``); the browser logs in to the apps it serves, activates an integration on the
integrations page, and nothing else is run: the scheduled runs happen, and their notebooks and
reports are kept.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.support.sync import MAPPING, make_env
from toolkit.apps import VoilaServer, apps_token, free_port, stop_process, wait_for_port
from toolkit.cli.demo import write_state_config
from toolkit.config import save_settings
from toolkit.serve.runner import run_folder
from toolkit.store import IntegrationStatus, RunStatus, RunTrigger

NAME = "newsletter"


def _button(page: Any, name: str) -> Any:
    return page.get_by_role("button", name=re.compile(rf"^\W*{re.escape(name)}$"))


def test_an_integration_activated_on_the_page_runs_on_its_schedule_by_itself(
    page: Any, tmp_path: Path
) -> None:
    sandbox, tk = make_env(tmp_path, contacts=12, seed=5)
    state = tk.settings.state_dir
    write_state_config(sandbox.info, state)
    tk.create_integration(NAME, "Contact")
    tk.use_connection(NAME, "sandbox-org")
    tk.accept_opt_in(NAME)
    tk.set_mapping(NAME, MAPPING)
    tk.choose_list(NAME, new_list="Newsletter")
    tk.store.update_integration(NAME, schedule="every 8 seconds")  # saved by the wizard, not activated
    apps_port, webhook_port = free_port(), free_port()
    save_settings(state, apps_port=apps_port, webhook_port=webhook_port, poll_seconds=0)
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "toolkit", "serve"],
        env={**os.environ, "TOOLKIT_STATE_DIR": str(state)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(apps_port, proc, 90, name="toolkit serve")
        apps = VoilaServer(proc, apps_port, token=apps_token(state))
        page.goto(apps.login_url("integrations.ipynb"))
        table = page.locator(".toolkit-integrations-table")
        expect(table).to_contain_text(NAME, timeout=60_000)
        assert not tk.store.list_runs(tk.store.get_integration(NAME).id)  # nothing ran before
        page.get_by_label("Integration").select_option(NAME)
        _button(page, "Activate").click()
        expect(table).to_contain_text("active", timeout=30_000)
        assert tk.store.get_integration(NAME).status == IntegrationStatus.ACTIVE
        iid = tk.store.get_integration(NAME).id
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            runs = [r for r in tk.store.list_runs(iid) if r.finished_at]
            if len(runs) >= 2:
                break
            time.sleep(0.5)
        assert [(r.trigger, r.status) for r in runs[-2:]] == [(RunTrigger.SCHEDULE, RunStatus.SUCCEEDED)] * 2
        assert runs[-1].counts["tasks"] == 12  # the first run, at activation, loaded the contacts
        assert len(sandbox.brevo.contacts()) >= 12
        folder = run_folder(state, NAME)
        notebooks = sorted(folder.glob("*-schedule.ipynb"))
        reports = sorted(folder.glob("*-schedule-report"))
        assert len(notebooks) >= 2 and len(reports) >= 2
        assert "papermill" in notebooks[0].read_text(encoding="utf-8")
        assert sorted(p.suffix for p in reports[0].iterdir()) >= [".csv", ".html"]
        _button(page, "Refresh").click()
        expect(table).to_contain_text("schedule", timeout=30_000)  # the page shows what started the run
    finally:
        stop_process(proc, grace=60)
        log.close()
        tk.close()
        sandbox.stop()
    assert proc.returncode == 0, (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
    output = (tmp_path / "serve.log").read_text(errors="replace")
    assert apps_token(state).reveal() not in output  # the token is never printed
