"""`make demo` as a newcomer runs it: the sandbox, a tour, a papermill sync, the figures, the apps."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests

from toolkit.apps import apps_token


def found(pattern: str, text: str) -> re.Match[str]:
    """The first match of ``pattern`` in the demo's output (the test fails naming it if there is none)."""
    match = re.search(pattern, text)
    assert match, f"no line matches {pattern!r}"
    return match


def test_demo_without_serving_syncs_through_papermill_and_prints_the_figures(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "toolkit", "demo", "--no-serve"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    contacts, no_email = map(int, found(r"Salesforce: (\d+) contacts \((\d+) without e-mail", out).groups())
    assert contacts >= 2000  # converted Leads without a Contact of their own add Contacts
    synced = int(found(r"demo-contacts: run \d+ succeeded, (\d+) records synced", out).group(1))
    duplicates = int(found(r"rejected by rule: D1 \(.*?\) (\d+), Y6 \(No e-mail\) (\d+)\n", out).group(1))
    assert synced + no_email + duplicates == contacts
    assert re.search(rf"rejected by rule: D1 \(.*?\) {duplicates}, Y6 \(No e-mail\) {no_email}\n", out)
    assert re.search(r"demo-leads: run \d+ succeeded, \d+ records synced", out)
    assert re.search(r"rejected by rule: Y6 \(No e-mail\) \d+, Y9 \(Phone not 6-16 digits\) \d+", out)
    leads = int(found(r"demo-leads: run \d+ succeeded, (\d+)", out).group(1))
    assert f"Tasks used this month: {synced + leads:,} of 100,000" in out
    check_messy_data_lines(out, duplicates)
    reports = [Path(p) for p in re.findall(r"audit report \((?:HTML|CSV)\): (\S+)", out)]
    assert len(reports) == 4 and all(p.exists() for p in reports)
    state = tmp_path / ".sandbox" / "demo-state"
    assert (state / "runs" / "sync-demo-contacts.ipynb").exists()
    assert (state / "state.db").exists() and (state / "toolkit.toml").exists()
    assert (state / "credentials.json").stat().st_mode & 0o777 == 0o600
    executed = (state / "runs" / "sync-demo-contacts.ipynb").read_text()
    assert "client_secret" not in (state / "toolkit.toml").read_text() and '"dry_run": false' in executed


def check_messy_data_lines(out: str, duplicates: int) -> None:
    """The sandbox's traits, and what the runs did with them, are printed and agree with each other."""
    traits = {
        name: (int(c), int(lead))
        for name, c, lead in re.findall(
            r"^  ([a-z ]+?)\s+(\d+) / (\d+)$", out.split("records per trait (Contacts / Leads)")[1], re.M
        )
    }
    assert {"national phone no country", "duplicate email", "lead and contact", "converted lead"} <= set(
        traits
    )
    assert traits["national phone no country"][0] > 0 and traits["converted lead"][1] > 0
    block = out.split("What the runs did with the messy data:")[1].split("Tasks used this month")[0]
    assert re.match(r"\s+demo-contacts\s+demo-leads\n", block)

    def figure(start: str) -> tuple[int, int]:
        found = re.search(rf"^  {re.escape(start)}.*?\s([\d,]+)\s+([\d,]+)$", block, re.M)
        assert found, start
        return int(found.group(1).replace(",", "")), int(found.group(2).replace(",", ""))

    assert figure("attribute values cleared in Brevo") == (0, 0)  # a first load clears nothing
    assert figure("duplicate e-mails rejected (D1") == (duplicates, 0) and duplicates > 0
    assert figure("Leads superseded")[1] > 0 and figure("Leads superseded")[0] == 0
    assert figure("converted Leads") == (0, traits["converted lead"][1])
    assert figure("Brevo contacts handed over")[1] >= 0
    made, in_region = figure("phones made international"), figure("  of which read in the phone region DE")
    assert made[0] > 0 and made[1] > 0 and 0 < in_region[0] <= made[0] and in_region[1] <= made[1]
    invalid = re.findall(r"PHONE_INVALID \(.*?\) (\d+)", out)
    assert sum(figure("phones left out, unreadable (PHONE_INVALID")) == sum(map(int, invalid))
    assert figure("deletions held by the mass-delete guard") == (0, 0)


def test_demo_serves_the_voila_apps_until_ctrl_c(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "toolkit", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        urls, printed = [], []
        for line in proc.stdout:
            printed.append(line)
            urls += re.findall(r"http://127\.0\.0\.1:\d+/voila/render/\S+\.ipynb", line)
            if line.startswith("Serving the apps"):
                break
        assert [u.rsplit("/", 1)[1] for u in urls] == [
            "setup_wizard.ipynb",
            "integrations.ipynb",
            "quota_dashboard.ipynb",
            "connections.ipynb",
        ]
        state = tmp_path / ".sandbox" / "demo-state"
        token = apps_token(state).reveal()  # made and saved when the apps were served
        assert token not in "".join(printed)  # the demo says where the token is, never the token
        assert "toolkit apps token" in "".join(printed) and str(state.resolve()) in "".join(printed)
        refused = requests.get(urls[2], timeout=60)  # no login: Jupyter's login page, no app
        assert "/login" in refused.url and "Monthly tasks" not in refused.text
        # Voilà runs the notebook before answering
        page = requests.get(urls[2], headers={"Authorization": f"token {token}"}, timeout=60)
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
