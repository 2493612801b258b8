"""`make demo` as a newcomer runs it: the sandbox, a tour, a papermill sync, the figures, the apps."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests


def test_demo_without_serving_syncs_through_papermill_and_prints_the_figures(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "toolkit", "demo", "--no-serve"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert done.returncode == 0, done.stderr
    out = done.stdout
    no_email = int(re.search(r"Salesforce: 2000 contacts \((\d+) without e-mail", out).group(1))
    synced = int(re.search(r"demo-contacts: run \d+ succeeded, (\d+) records synced", out).group(1))
    assert synced + no_email == 2000
    assert re.search(rf"rejected by rule: Y6 \(No e-mail\) {no_email}\n", out)
    assert re.search(r"demo-leads: run \d+ succeeded, \d+ records synced", out)
    assert re.search(r"rejected by rule: Y6 \(No e-mail\) \d+, Y9 \(Phone not 6-16 digits\) \d+", out)
    leads = int(re.search(r"demo-leads: run \d+ succeeded, (\d+)", out).group(1))
    assert f"Tasks used this month: {synced + leads:,} of 100,000" in out
    reports = [Path(p) for p in re.findall(r"audit report \((?:HTML|CSV)\): (\S+)", out)]
    assert len(reports) == 4 and all(p.exists() for p in reports)
    state = tmp_path / ".sandbox" / "demo-state"
    assert (state / "runs" / "sync-demo-contacts.ipynb").exists()
    assert (state / "state.db").exists() and (state / "toolkit.toml").exists()
    assert (state / "credentials.json").stat().st_mode & 0o777 == 0o600
    executed = (state / "runs" / "sync-demo-contacts.ipynb").read_text()
    assert "client_secret" not in (state / "toolkit.toml").read_text() and '"dry_run": false' in executed


def test_demo_serves_the_voila_apps_until_ctrl_c(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "toolkit", "demo"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=tmp_path,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        urls = []
        for line in proc.stdout:
            urls += re.findall(r"http://127\.0\.0\.1:\d+/voila/render/\S+\.ipynb", line)
            if line.startswith("Serving the apps"):
                break
        assert [u.rsplit("/", 1)[1] for u in urls] == ["setup_wizard.ipynb", "integrations.ipynb",
                                                       "quota_dashboard.ipynb"]
        page = requests.get(urls[2], timeout=60)  # Voilà runs the notebook before answering
        assert page.status_code == 200 and "Monthly tasks" in page.text  # the notebook ran
        assert "from toolkit.ui import" not in page.text  # no code shown
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
        port = urls[0].split(":")[2].split("/")[0]
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=2)
            stopped = False
        except requests.ConnectionError:
            stopped = True
        assert stopped  # Voilà stopped with the demo
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
