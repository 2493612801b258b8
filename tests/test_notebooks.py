"""The notebooks as their users run them, against the sandbox.

- The Voilà apps (setup wizard, integrations, quota dashboard) under nbval in lax mode: every
  cell runs without error on a real state (nbval cannot click; the browser suite does that).
- ``sync.ipynb`` through papermill's command line, as a scheduler runs it: parameters, outputs,
  audit report files, no secret in the output notebook; a failing run exits non-zero and
  keeps its output notebook showing where it failed.
- ``audit_report.ipynb`` executed, then exported to HTML without code for stakeholders.

The notebooks find the state through ``TOOLKIT_STATE_DIR`` (and its ``toolkit.toml``), as in
production: no parameter carries a setting or a secret.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest
import requests

from tests.support.sync import make_env, setup_integration
from toolkit.api import Toolkit
from toolkit.apps import NOTEBOOKS, VOILA_APPS, notebook_env
from toolkit.cli.demo import write_state_config
from toolkit.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[1]
SECRET_WORDS = ("secret", "password", "token", "key", "credential")


@dataclass
class State:
    """A sandbox, a state directory with one synced-once integration, and the notebooks' environment."""

    sandbox: Sandbox
    tk: Toolkit
    env: dict[str, str]
    tmp: Path

    def secrets(self) -> list[str]:
        info = self.sandbox.info
        return [info["salesforce"]["client_secret"], info["salesforce"]["password"], info["brevo"]["api_key"]]

    def set_api(self, enabled: bool) -> None:
        sf = self.sandbox.info["salesforce"]
        requests.post(
            f"{sf['login_url']}/_sandbox/salesforce/api-enabled",
            json={"enabled": enabled},
            verify=sf["ca_bundle"],
            timeout=10,
        ).raise_for_status()


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[State]:
    tmp = tmp_path_factory.mktemp("notebooks")
    sandbox, tk = make_env(tmp, contacts=60, seed=41, rule_share=0.25)
    setup_integration(tk, "newsletter")
    write_state_config(sandbox.info, tk.settings.state_dir)
    yield State(sandbox, tk, notebook_env(tk.settings.state_dir), tmp)
    tk.close()
    sandbox.stop()


def papermill_cli(
    state: State, notebook: str, output: Path, **parameters: Any
) -> subprocess.CompletedProcess[str]:
    args = [
        sys.executable,
        "-m",
        "papermill",
        str(NOTEBOOKS / notebook),
        str(output),
        "-k",
        "python3",
        "--cwd",
        str(state.tmp),
    ]
    for name, value in parameters.items():
        args += ["-p", name, str(value)]
    return subprocess.run(args, env=state.env, capture_output=True, text=True, timeout=180, check=False)


def cell(nb: Any, source: str) -> Any:
    """The code cell whose source is ``source``."""
    return next(c for c in nb.cells if c.cell_type == "code" and c.source.strip() == source)


def outputs_text(cell: Any) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        data = out.get("data", {})
        parts += [str(data.get("text/plain", "")), str(data.get("text/html", ""))]
        parts += [out.get("ename", ""), out.get("evalue", "")]
    return "\n".join(parts)


def test_notebooks_are_thin_and_declare_safe_parameters() -> None:
    for path in NOTEBOOKS.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert len(code) <= 5 and all(not c.outputs for c in code), path.name  # import, build, display
        tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == (0 if path.name in VOILA_APPS else 1), path.name
    sync = papermill.inspect_notebook(str(NOTEBOOKS / "sync.ipynb"))
    assert {k: (v["inferred_type_name"], v["default"]) for k, v in sync.items()} == {
        "integration": ("str", '""'),
        "dry_run": ("bool", "True"),
        "full_resync": ("bool", "False"),
        "report_dir": ("str", '"reports"'),
        "trigger": ("str", '"manual"'),  # toolkit serve passes schedule, retry or reconcile
    }
    audit = papermill.inspect_notebook(str(NOTEBOOKS / "audit_report.ipynb"))
    assert set(audit) == {"run_id", "integration"}
    assert not [n for n in [*sync, *audit] if any(word in n.lower() for word in SECRET_WORDS)]


def test_voila_apps_run_under_nbval_against_the_sandbox(state: State) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            "--nbval-current-env",
            *(str(NOTEBOOKS / n) for n in VOILA_APPS),
        ],
        env=state.env,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert f"{2 * len(VOILA_APPS)} passed" in done.stdout  # two code cells per app


def test_a2_sync_notebook_runs_with_papermill_and_writes_the_audit_report(state: State) -> None:
    out = state.tmp / "sync-out.ipynb"
    done = papermill_cli(
        state, "sync.ipynb", out, integration="newsletter", dry_run=False, report_dir=state.tmp / "reports"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    nb = nbformat.read(out, as_version=4)
    run = state.tk.store.list_runs(state.tk.store.get_integration("newsletter").id)[0]
    assert run.status == "succeeded" and not run.dry_run and run.counts["tasks"] > 0
    table = outputs_text(cell(nb, "outcome"))
    assert "records written (tasks)" in table and f"{run.counts['tasks']}" in table
    assert "rejected: Y6 (No e-mail)" in table
    html_report = state.tmp / "reports" / f"audit-newsletter-run-{run.id}.html"
    csv_report = html_report.with_suffix(".csv")
    assert html_report.exists() and csv_report.exists() and str(html_report) in table
    rejected = sum(run.counts["rejected"].values())  # Y6, and D1 for the generator's duplicate e-mails
    assert len(csv_report.read_text(encoding="utf-8-sig").splitlines()) == 1 + rejected
    saved = out.read_text()
    assert not [s for s in state.secrets() if s in saved]  # no credential in the executed notebook
    assert nb.metadata["papermill"]["parameters"]["integration"] == "newsletter"


def test_a2_audit_report_notebook_exports_to_html_without_code(
    state: State, monkeypatch: pytest.MonkeyPatch
) -> None:
    from toolkit.ui.audit_view import export_html

    monkeypatch.setenv("TOOLKIT_STATE_DIR", state.env["TOOLKIT_STATE_DIR"])  # the kernel inherits it
    out = state.tmp / "audit-out.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS / "audit_report.ipynb"),
        str(out),
        kernel_name="python3",
        parameters={"integration": "newsletter"},
        cwd=str(state.tmp),
        progress_bar=False,
    )
    body = export_html(out).read_text()
    assert out.with_suffix(".html").exists() and not re.search(r"Out\[\d+\]", body)  # no prompts
    run = next(r for r in state.tk.store.list_runs() if not r.dry_run)
    y6 = run.counts["rejected"]["Y6"]
    assert f"newsletter: run {run.id}" in body and f"{y6:,} record(s)" in body and "Y6 — No e-mail" in body
    assert "Rejected in this run" in body and "Salesforce → Brevo" in body
    assert 'src="data:image/png;base64,' in body  # the chart
    assert "AuditView" not in body and "from toolkit" not in body  # no code for stakeholders
    assert not [s for s in state.secrets() if s in body]


def test_a_failed_sync_exits_non_zero_and_keeps_its_output_notebook(state: State) -> None:
    out = state.tmp / "failed-out.ipynb"
    state.set_api(False)  # the org's API answers API_DISABLED_FOR_ORG: the run fails
    try:
        done = papermill_cli(
            state,
            "sync.ipynb",
            out,
            integration="newsletter",
            dry_run=False,
            report_dir=state.tmp / "reports",
        )
    finally:
        state.set_api(True)
    assert done.returncode != 0 and "PapermillExecutionError" in done.stderr
    nb = nbformat.read(out, as_version=4)
    assert "failed" in outputs_text(cell(nb, "outcome"))  # the summary still shows what happened
    last = cell(nb, "outcome.raise_for_status()")
    assert last.outputs and last.outputs[-1]["output_type"] == "error"
    assert last.outputs[-1]["ename"] == "ToolkitError" and "failed" in last.outputs[-1]["evalue"]
    assert "does not allow API access" in last.outputs[-1]["evalue"]
    failed = state.tk.store.list_runs(state.tk.store.get_integration("newsletter").id)[0]
    assert failed.status == "failed"
    assert (state.tmp / "reports" / f"audit-newsletter-run-{failed.id}.html").exists()
    assert not [s for s in state.secrets() if s in out.read_text()]
    assert json.loads(out.read_text())["metadata"]["papermill"]["exception"] is True
