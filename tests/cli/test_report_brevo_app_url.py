"""The audit report's Brevo links follow ``Settings.brevo_app_url`` (issue 15): the notebooks'
``run_sync``, ``toolkit sync --report-dir`` and ``toolkit report`` pass the settings' Brevo app.

Real syncs against the sandbox over HTTPS; the commands run as a user runs them (``python -m
toolkit`` in a subprocess, the state named by ``TOOLKIT_STATE_DIR``, the settings in its
``toolkit.toml``).
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.sync import Env, setup_integration, write_settings
from toolkit.audit.reports import ReportPaths
from toolkit.store import Link
from toolkit.ui.runs import run_sync

CLI = [sys.executable, "-m", "toolkit"]
NAME = "contacts"
APP = "https://brevo.internal"  # another Brevo app than the default https://app.brevo.com


def _refuse_phone(env: Env, sf_id: str) -> None:
    """A phone Brevo refuses (a field-level rejection: the record stays linked, with its Brevo id)."""
    [result] = env.sandbox.salesforce.update_many("Contact", [{"Id": sf_id, "MobilePhone": "12"}])
    assert result["success"], result


def _brevo_links(paths: ReportPaths, link: Link) -> None:
    """The report links ``link``'s contact in :data:`APP`, in the HTML and in the CSV."""
    url = f"{APP}/contact/index/{link.brevo_id}"
    page = paths.html.read_text(encoding="utf-8")
    assert f'href="{url}"' in page
    assert "app.brevo.com" not in page
    rows = csv.DictReader(io.StringIO(paths.csv.read_bytes().decode("utf-8-sig"), newline=""))
    assert {r["record_id"]: r["brevo_url"] for r in rows}[link.sf_id] == url


def test_reports_link_contacts_in_the_settings_brevo_app(env_factory: Any, tmp_path: Path) -> None:
    env: Env = env_factory(contacts=6, seed=4, brevo_app_url=APP)
    setup_integration(env.tk, NAME)
    assert env.tk.run(NAME).ok
    assert env.tk.run(NAME).ok  # reads the contacts back from Brevo: their ids are learnt
    links = sorted(env.tk.links(NAME), key=lambda link: link.sf_id)
    assert all(link.brevo_id for link in links)
    first, second = links[0], links[1]

    _refuse_phone(env, first.sf_id)
    outcome = run_sync(NAME, dry_run=False, report_dir=tmp_path / "notebook", tk=env.tk)
    assert outcome.report is not None
    _brevo_links(outcome.report, first)

    write_settings(env.settings)  # the child process reads brevo_app_url from toolkit.toml
    environ = {**os.environ, "TOOLKIT_STATE_DIR": str(env.settings.state_dir)}

    def toolkit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args], capture_output=True, text=True, env=environ, timeout=120)

    _refuse_phone(env, second.sf_id)
    synced = toolkit("sync", NAME, "--quiet", "--report-dir", str(tmp_path / "cli-sync"))
    assert synced.returncode == 0, synced.stderr
    [html] = (tmp_path / "cli-sync").glob("*.html")
    [table] = (tmp_path / "cli-sync").glob("*.csv")
    _brevo_links(ReportPaths(csv=table, html=html), second)

    reported = toolkit("report", "--integration", NAME, "--dir", str(tmp_path / "cli-report"))
    assert reported.returncode == 0, reported.stderr
    html_path, csv_path = (Path(line) for line in reported.stdout.splitlines())
    _brevo_links(ReportPaths(csv=csv_path, html=html_path), second)
