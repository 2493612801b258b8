"""The browser suite's fixtures: a sandbox, a state directory, Voilà served for real, Debian's Chromium.

Voilà serves ``toolkit/notebooks/`` on a free port of 127.0.0.1 with ``TOOLKIT_STATE_DIR`` pointing at a
state made here (a ``toolkit.toml`` naming the sandbox, the Brevo key in the credential store,
no integration yet); it is stopped with SIGTERM, kernels included, when the session ends. It asks
for the apps token (``toolkit.apps.apps_token``): ``served.app(...)`` logs the browser in
with it. ``viewer_served`` is a second Voilà on the same state, read-only (``viewer=True``).
Every page aborts requests that do not go to 127.0.0.1, so nothing waits on the network.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import Served
from tests.support.sync import make_env
from toolkit.apps import running_voila
from toolkit.cli.demo import write_state_config

CHROMIUM = "/usr/lib/chromium/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VOILA_START_TIMEOUT = 60.0

pytest.importorskip("playwright", reason="the browser suite needs playwright (pip install -e '.[test]')")
if not Path(CHROMIUM).exists():  # `make test` installs it with apt-get
    pytest.skip(
        f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)", allow_module_level=True
    )


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


def _voila() -> str:
    voila = shutil.which("voila", path=str(Path(sys.executable).parent))
    if voila is None:
        pytest.skip("voila is not installed (pip install -e '.[test]')")
    return voila


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A sandbox with contacts (some breaking the rules) and Voilà serving ``toolkit/notebooks/`` on it."""
    voila = _voila()
    tmp = tmp_path_factory.mktemp("browser")
    sandbox, tk = make_env(tmp, contacts=40, seed=7, rule_share=0.25)
    write_state_config(sandbox.info, tk.settings.state_dir)
    try:
        with (
            (tmp / "voila.log").open("wb") as log,
            running_voila(
                tk.settings.state_dir, voila=voila, cwd=tmp, log=log, timeout=VOILA_START_TIMEOUT
            ) as server,
        ):
            yield Served(sandbox, tk, server, tmp / "voila.log")
    finally:
        tk.close()
        sandbox.stop()


@pytest.fixture(scope="session")
def viewer_served(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A second Voilà on ``served``'s state, for stakeholders: read-only, without the setup wizard."""
    tmp = tmp_path_factory.mktemp("viewer")
    with (
        (tmp / "voila.log").open("wb") as log,
        running_voila(
            served.tk.settings.state_dir,
            viewer=True,
            voila=_voila(),
            cwd=tmp,
            log=log,
            timeout=VOILA_START_TIMEOUT,
        ) as server,
    ):
        yield Served(served.sandbox, served.tk, server, tmp / "voila.log")
