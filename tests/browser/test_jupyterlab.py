"""The toolkit's widgets inside JupyterLab, served for real on 127.0.0.1 and driven in Chromium (issue 15).

The module's ``lab`` fixture starts ``python -m jupyterlab`` on a free port of 127.0.0.1 with:

- a login token that is on no command line: it is in a ``jupyter_server_config.json`` written
  0600 in a 0700 ``JUPYTER_CONFIG_DIR`` (as :func:`toolkit.apps.running_voila` does for Voilà),
  removed once the server listens;
- a root directory of its own holding copies of :data:`toolkit.apps.NOTEBOOKS` and
  ``wizard_try.ipynb`` (one cell: ``SetupWizard()``);
- ``TOOLKIT_STATE_DIR`` pointing at a state made as the ``served`` fixture makes one (a sandbox,
  a ``toolkit.toml`` naming it, the Brevo key), with one active integration that ran once, so the
  integrations page, the dashboard and the audit report have something to show;
- ``JUPYTER_RUNTIME_DIR``, ``JUPYTER_DATA_DIR``, ``IPYTHONDIR``, the lab's workspaces and user
  settings all in temporary folders; nothing that reaches the network: no news feed
  (``news_url=None``), no update check (``NeverCheckForUpdate``), the read-only extension manager
  and its plugin disabled (``labconfig/page_config.json``), the news prompt answered in the user
  settings.

It is stopped at the end: every kernel is shut down through the REST API, then the server gets
SIGTERM; a kernel still alive after that (kernels lead their own process group) is killed by pid.

Screenshots go to ``docs/screenshots/jupyterlab-*.png`` with TOOLKIT_UPDATE_SCREENSHOTS=1 (else to
a temporary folder, so that ``make test`` leaves the working tree unchanged).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.support.browser import ROOT
from tests.support.sync import make_env, setup_integration
from toolkit.api import Toolkit
from toolkit.apps import NOTEBOOKS, free_port, notebook_env, stop_process, wait_for_port
from toolkit.cli.demo import write_state_config
from toolkit.sandbox import Sandbox
from toolkit.store import Store

pytest.importorskip("jupyterlab", reason="JupyterLab is not installed (pip install -e '.[test]')")

SCRATCH_SHOTS = Path(tempfile.gettempdir()) / "toolkit-browser-screenshots"
SHOTS = ROOT / "docs" / "screenshots" if os.environ.get("TOOLKIT_UPDATE_SCREENSHOTS") else SCRATCH_SHOTS
LAB_START_TIMEOUT = 90.0
KERNEL_TIMEOUT = 90_000  # ms: a kernel starts, imports the toolkit (pandas, matplotlib) and runs the cells
TRY_NOTEBOOK = "wizard_try.ipynb"
WIZARD_SOURCE = "from toolkit.ui import SetupWizard\nSetupWizard()"
INTEGRATION = "lab-contacts"  # made by the fixture; it ran once
DRAFT = "lab-newsletter"  # made in JupyterLab by test 1
# Plugins the lab's page does not load (labconfig/page_config.json): the extension manager's would
# list extensions (read-only here: no PyPI, but nothing to show either).
DISABLED_PLUGINS = ("@jupyterlab/extensionmanager-extension",)
LOOPBACK = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")


def _notebook(source: str) -> dict[str, Any]:
    """A notebook (nbformat 4) of one code cell, for the ``python3`` kernel."""
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "wizard",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


@dataclass
class Lab:
    """JupyterLab serving ``root`` on 127.0.0.1, on the state of ``tk`` (a sandbox behind it)."""

    proc: subprocess.Popen[bytes]
    port: int
    root: Path
    runtime_dir: Path
    log: Path
    sandbox: Sandbox
    tk: Toolkit
    token: str = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, notebook: str) -> str:
        """Open ``notebook`` in a fresh workspace (``reset``), logging the browser in with the token."""
        return f"{self.url}/lab/tree/{quote(notebook)}?reset&token={quote(self.token, safe='')}"

    def api(self, method: str, path: str) -> Any:
        """Call the server's REST API (``/api/...``) with the token; the decoded JSON answer, if any."""
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
        with opener.open(request, timeout=30) as answer:
            body = answer.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Shut every running kernel down (a notebook's kernel outlives its browser tab)."""
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def stop(self) -> None:
        """Shut every kernel down, stop the server (SIGTERM), kill any kernel left over."""
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):  # SIGTERM below stops the kernels too
                self.shutdown_kernels()
        stop_process(self.proc)
        for pid in _kernels_of(self.runtime_dir):  # kernels run in their own process group
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _kernels_of(runtime_dir: Path) -> list[int]:
    """The processes whose command line names a connection file of ``runtime_dir`` (the lab's kernels)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if str(runtime_dir).encode() in cmdline:
            found.append(int(proc.name))
    return found


def _wait_until_served(lab: Lab, timeout: float = LAB_START_TIMEOUT) -> None:
    """Wait until the lab's page answers (its handlers come with the extension, after the port opens)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            lab.api("GET", "/lab/api/settings/@jupyterlab/notebook-extension:tracker")
            return
        except OSError:
            if time.monotonic() > deadline or lab.proc.poll() is not None:
                raise
            time.sleep(0.3)


@contextmanager
def running_lab(tmp: Path, sandbox: Sandbox, tk: Toolkit) -> Iterator[Lab]:
    """Start JupyterLab on a root of copies of the notebooks in ``tmp``, on the state of ``tk``."""
    root = tmp / "notebooks"
    root.mkdir()
    for source in sorted(NOTEBOOKS.glob("*.ipynb")):
        shutil.copyfile(source, root / source.name)
    _write_json(root / TRY_NOTEBOOK, _notebook(WIZARD_SOURCE))

    jupyter = tmp / "jupyter"
    config, runtime, data, ipython = (jupyter / name for name in ("config", "runtime", "data", "ipython"))
    for folder in (config, runtime, data, ipython):
        folder.mkdir(parents=True, mode=0o700)
    token = secrets.token_urlsafe(24)
    server_config = config / "jupyter_server_config.json"
    _write_private(server_config, json.dumps({"IdentityProvider": {"token": token}}))
    _write_json(
        config / "labconfig" / "page_config.json",
        {"disabledExtensions": dict.fromkeys(DISABLED_PLUGINS, True)},
    )
    settings = jupyter / "lab" / "user-settings"
    # No "Would you like to get notified about official Jupyter news?" toast over the notebook.
    _write_json(
        settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings",
        {"fetchNews": "false", "checkForUpdates": False},
    )

    env = notebook_env(tk.settings.state_dir)  # TOOLKIT_STATE_DIR, no other TOOLKIT_* variable
    for name in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_TOKEN", "JUPYTER_PREFER_ENV_PATH"):
        env.pop(name, None)
    env.update(
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_RUNTIME_DIR=str(runtime),
        JUPYTER_DATA_DIR=str(data),
        IPYTHONDIR=str(ipython),
    )
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",  # no PyPI; its plugin is disabled in page_config.json too
        f"--LabApp.workspaces_dir={jupyter / 'lab' / 'workspaces'}",
        f"--LabApp.user_settings_dir={settings}",
    ]
    if os.geteuid() == 0:  # a container's root (Jupyter Server refuses it otherwise)
        args.append("--allow-root")
    log = tmp / "jupyterlab.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args, env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    lab = Lab(proc, port, root, runtime, log, sandbox, tk, token)
    try:
        wait_for_port(port, proc, LAB_START_TIMEOUT, name="JupyterLab")
        server_config.unlink()  # read at start: the token leaves the disk
        _wait_until_served(lab)
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab served for real on 127.0.0.1 (see the module's text), stopped with its kernels at the end."""
    tmp = tmp_path_factory.mktemp("jupyterlab")
    sandbox, tk = make_env(tmp, contacts=12, seed=7, rule_share=0.25)
    try:
        write_state_config(sandbox.info, tk.settings.state_dir)
        setup_integration(tk, INTEGRATION)
        assert tk.run(INTEGRATION).status == "succeeded"
        with running_lab(tmp, sandbox, tk) as server:
            yield server
    finally:
        tk.close()
        sandbox.stop()


@pytest.fixture
def jlab(lab: Lab) -> Iterator[Lab]:
    """The module's JupyterLab; the kernels a test started are shut down after it."""
    yield lab
    lab.shutdown_kernels()


def shot(page: Any, name: str, folder: Path = SHOTS) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"))


def button(scope: Any, name: str) -> Any:
    return scope.get_by_role("button", name=re.compile(rf"^\W*{re.escape(name)}$"))  # icons come first


def open_and_run_all(page: Any, lab: Lab, notebook: str) -> Any:
    """Open ``notebook`` in JupyterLab, wait for its kernel, run all cells from the Run menu.

    Returns:
        The notebook's panel (the locator every check is scoped to).
    """
    page.goto(lab.notebook_url(notebook))
    panel = page.locator(".jp-NotebookPanel").filter(has=page.locator(".jp-Notebook"))
    expect(panel).to_have_count(1, timeout=KERNEL_TIMEOUT)
    expect(panel).to_be_visible(timeout=KERNEL_TIMEOUT)
    # The status bar names the notebook's kernel once its session is known, and says Idle once it
    # started: running cells any earlier asks which kernel to start ("Select Kernel").
    kernel = page.locator("#jp-bottom-panel, .jp-StatusBar-Widget").get_by_text("Python 3 (ipykernel) | Idle")
    expect(kernel).to_be_visible(timeout=KERNEL_TIMEOUT)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()
    return panel


def wait_until_done(panel: Any) -> None:
    """Wait until every code cell ran (its prompt shows a number, not ``*`` or nothing)."""
    prompts = panel.locator(".jp-CodeCell .jp-InputArea-prompt")
    count = prompts.count()
    assert count > 0
    expect(prompts).to_have_text([re.compile(r"^\[\d+\]:$")] * count, timeout=KERNEL_TIMEOUT)


def assert_no_error_output(panel: Any) -> None:
    """No traceback, no stderr output (a warning logged by a widget lands there), no widget error,
    and nothing in the log console (where the traceback of a failed widget callback goes)."""
    outputs = panel.locator(".jp-OutputArea-output")
    expect(panel.locator("[data-mime-type='application/vnd.jupyter.stderr']")).to_have_count(0)
    expect(outputs.filter(has_text=re.compile("Traceback|Error displaying widget"))).to_have_count(0)
    logged = panel.page.locator(".jp-LogConsoleStatusItem").filter(has_text=re.compile(r"\d"))
    expect(logged).to_have_count(0)


def test_the_wizard_runs_in_a_jupyterlab_notebook(page: Any, jlab: Lab) -> None:
    lab = jlab
    sf = lab.sandbox.info["salesforce"]
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(LOOPBACK) else outside.append(r.url))
    panel = open_and_run_all(page, lab, TRY_NOTEBOOK)
    config = page.evaluate("JSON.parse(document.getElementById('jupyter-config-data').textContent)")
    assert set(DISABLED_PLUGINS) <= set(config["disabledExtensions"])
    wizard = panel.locator(".jp-OutputArea-output .toolkit-wizard")
    expect(wizard).to_be_visible(timeout=KERNEL_TIMEOUT)
    wait_until_done(panel)
    assert_no_error_output(panel)
    title = wizard.locator("h3")
    expect(title).to_have_text("Name")
    message = wizard.locator(".toolkit-step .toolkit-message")

    # 1. Name (S1): Next stays disabled until the draft exists.
    expect(button(wizard, "Next")).to_be_disabled()
    wizard.get_by_label("Integration name").fill(DRAFT)
    button(wizard, "Create integration").click()
    expect(message).to_contain_text(f"Created the draft integration “{DRAFT}” for Salesforce Contacts")
    expect(button(wizard, "Next")).to_be_enabled()
    wizard.scroll_into_view_if_needed()
    shot(page, "jupyterlab-wizard")

    # 2. Connect (S2): its title and inputs, filled from the state's toolkit.toml.
    button(wizard, "Next").click()
    expect(title).to_have_text("Connect Salesforce")
    expect(wizard.get_by_label("Login URL")).to_have_value(sf["login_url"])
    expect(wizard.get_by_label("Client ID")).to_have_value(sf["client_id"])
    expect(button(wizard, "Connect account")).to_be_visible()
    expect(wizard.locator(".toolkit-wizard-tab.toolkit-state-success")).to_contain_text("1. Name")
    assert_no_error_output(panel)
    shot(page, "jupyterlab-wizard-2-connect")

    # The kernel wrote the draft to the state's database.
    with Store.open(lab.tk.settings.state_dir) as store:
        draft = store.get_integration(DRAFT)
    assert draft.status == "draft" and draft.object == "Contact"
    assert outside == []  # the lab's page asked nothing of the network


@pytest.mark.parametrize(
    ("notebook", "shown", "text"),
    [
        ("setup_wizard.ipynb", ".toolkit-wizard", "Integration name"),
        ("integrations.ipynb", ".toolkit-integrations-table", INTEGRATION),
        ("quota_dashboard.ipynb", ".toolkit-dashboard", "Monthly tasks"),
        ("audit_report.ipynb", "h2", f"{INTEGRATION}: run"),
    ],
)
def test_the_apps_run_in_jupyterlab(page: Any, jlab: Lab, notebook: str, shown: str, text: str) -> None:
    lab = jlab
    panel = open_and_run_all(page, lab, notebook)
    wait_until_done(panel)
    widget = panel.locator(f".jp-OutputArea-output {shown}").first
    expect(widget).to_be_visible(timeout=KERNEL_TIMEOUT)
    expect(widget).to_contain_text(text)
    assert_no_error_output(panel)
    shot(page, f"jupyterlab-{notebook.removesuffix('.ipynb')}", SCRATCH_SHOTS)  # for a look, not the docs
