"""The browser suite's fixtures: a sandbox, a state directory, Voilà served for real, Debian's Chromium.

Voilà serves ``notebooks/`` on a free port of 127.0.0.1 with ``TOOLKIT_STATE_DIR`` pointing at a
state made here (a ``toolkit.toml`` naming the sandbox, the Brevo key in the credential store,
no integration yet); it is stopped with SIGTERM, kernels included, when the session ends.
Every page aborts requests that do not go to 127.0.0.1, so nothing waits on the network.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.sync_support import make_env
from toolkit.api import Toolkit
from toolkit.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/lib/chromium/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VOILA_START_TIMEOUT = 60.0

pytest.importorskip("playwright", reason="the browser suite needs playwright (pip install -e '.[test]')")
if not Path(CHROMIUM).exists():  # `make test` installs it with apt-get
    pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any], browser_name: str) -> dict[str, Any]:
    """Debian's Chromium with headless flags (pytest-playwright has no executable-path option)."""
    if browser_name != "chromium":
        return browser_type_launch_args
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A laptop-sized window; the sandbox's certificate comes from a CA made at its start.

    Chromium has no CA-bundle option short of an NSS database, so the context accepts the
    sandbox's certificate; every request it lets through goes to 127.0.0.1 (see ``page``).
    """
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}, "ignore_https_errors": True}


@pytest.fixture
def page(page: Any) -> Any:
    """A page that aborts every request not going to 127.0.0.1 (Voilà's lab template asks a CDN)."""
    def only_loopback(route: Any) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "https://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            route.continue_()
        else:
            route.abort()

    page.context.route("**/*", only_loopback)
    page.set_default_timeout(30_000)
    return page


@dataclass
class Served:
    """The sandbox, the toolkit on the served state, and Voilà's base URL."""

    sandbox: Sandbox
    tk: Toolkit
    url: str

    def app(self, notebook: str) -> str:
        """The URL of one Voilà app (``notebooks/<notebook>``)."""
        return f"{self.url}/voila/render/{notebook}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"voila exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"voila did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A sandbox with contacts (some breaking the rules) and Voilà serving ``notebooks/`` on it."""
    voila = shutil.which("voila", path=str(Path(sys.executable).parent))
    if voila is None:
        pytest.skip("voila is not installed (pip install -e '.[test]')")
    tmp = tmp_path_factory.mktemp("browser")
    sandbox, tk = make_env(tmp, contacts=40, seed=7, rule_share=0.25)
    sf = sandbox.info["salesforce"]
    (tk.settings.state_dir / "toolkit.toml").write_text(
        f'salesforce_login_url = "{sf["login_url"]}"\nbrevo_api_url = "{sandbox.info["brevo"]["base_url"]}"\n'
        f'ca_bundle = "{sf["ca_bundle"]}"\nsalesforce_client_id = "{sf["client_id"]}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLKIT_")}
    env["TOOLKIT_STATE_DIR"] = str(tk.settings.state_dir)
    port = _free_port()
    log = (tmp / "voila.log").open("wb")
    proc = subprocess.Popen(
        [voila, str(ROOT / "notebooks"), f"--port={port}", "--Voila.ip=127.0.0.1", "--no-browser",
         "--MappingKernelManager.cull_idle_timeout=120", "--MappingKernelManager.cull_interval=30"],
        env=env, cwd=tmp, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_port(port, proc, VOILA_START_TIMEOUT)
        yield Served(sandbox, tk, f"http://127.0.0.1:{port}")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        log.close()
        tk.close()
        sandbox.stop()
