"""The demo's second half: one sync per integration through papermill, then the Voilà apps.

``sync.ipynb`` runs as a scheduler runs it (``papermill ... -k python3 -p integration NAME``),
with ``TOOLKIT_STATE_DIR`` pointing at the demo's state: no credential is ever a parameter.
Voilà serves :data:`NOTEBOOKS` on 127.0.0.1 until Ctrl-C; SIGTERM stops it and its kernels.

The notebooks ship inside the package (``toolkit/notebooks/``, package data of the wheel):
:data:`NOTEBOOKS` is their folder, in a clone and in an installed toolkit alike. From a shell::

    python -c "from toolkit.cli.voila import NOTEBOOKS; print(NOTEBOOKS)"
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from toolkit.exceptions import ToolkitError

__all__ = [
    "INSTALL_NOTEBOOKS",
    "NOTEBOOKS",
    "VOILA_APPS",
    "VoilaServer",
    "find_voila",
    "notebook_env",
    "run_sync_notebook",
    "running_voila",
    "serve_voila",
]

NOTEBOOKS: Path = Path(__file__).resolve().parents[1] / "notebooks"
"""The folder of the toolkit's notebooks (``toolkit/notebooks/``): the Voilà apps, sync and audit_report."""
VOILA_APPS = ("setup_wizard.ipynb", "integrations.ipynb", "quota_dashboard.ipynb")
INSTALL_NOTEBOOKS = "pip install 'sf-brevo-toolkit[notebooks]' (in a clone: pip install -e '.[notebooks]')"
"""How to install what the notebooks need (papermill, Voilà, ipywidgets...)."""


def notebook_env(state_dir: Path) -> dict[str, str]:
    """The environment of a notebook or Voilà on the demo state (no other ``TOOLKIT_*`` leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLKIT_")}
    env["TOOLKIT_STATE_DIR"] = str(state_dir.resolve())
    return env


def run_sync_notebook(state_dir: Path, integration: str, out_dir: Path, report_dir: Path) -> Path:
    """Run ``sync.ipynb`` of :data:`NOTEBOOKS` for real (not a dry run) with papermill's command line.

    Returns:
        The executed notebook's path.

    Raises:
        ToolkitError: papermill is not installed, or exited non-zero (the output notebook shows where).
    """
    if importlib.util.find_spec("papermill") is None:
        raise ToolkitError(f"papermill is not installed: {INSTALL_NOTEBOOKS}")
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / f"sync-{integration}.ipynb"
    args = [
        sys.executable,
        "-m",
        "papermill",
        str(NOTEBOOKS / "sync.ipynb"),
        str(output),
        "-k",
        "python3",
        "--no-progress-bar",
        "-p",
        "integration",
        integration,
        "-p",
        "dry_run",
        "False",
        "-p",
        "report_dir",
        str(report_dir.resolve()),
    ]
    done = subprocess.run(
        args, env=notebook_env(state_dir), capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise ToolkitError(f"papermill failed for {integration!r} (exit {done.returncode}); see {output}")
    return output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise ToolkitError(f"Voilà did not start on 127.0.0.1:{port} (exit code {proc.poll()})")


def find_voila() -> str | None:
    """Voilà's executable: the one beside this Python first, else one on ``PATH`` (None: not installed)."""
    return shutil.which("voila", path=str(Path(sys.executable).parent)) or shutil.which("voila")


@dataclass(frozen=True)
class VoilaServer:
    """A running Voilà process serving :data:`NOTEBOOKS` on 127.0.0.1."""

    proc: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        """Voilà's base URL (an app is at ``{url}/voila/render/<notebook>``)."""
        return f"http://127.0.0.1:{self.port}"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (Voilà stops its kernels), then SIGKILL to the whole process group after 20 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


@contextmanager
def running_voila(
    state_dir: Path,
    *,
    port: int = 0,
    voila: str | None = None,
    cwd: Path | None = None,
    log: IO[bytes] | None = None,
    timeout: float = 60.0,
) -> Iterator[VoilaServer]:
    """Start Voilà on :data:`NOTEBOOKS` for the state ``state_dir``, wait until it listens; stop it on leaving.

    Args:
        state_dir: the state the apps open (``TOOLKIT_STATE_DIR``).
        port: Voilà's port on 127.0.0.1 (0 = a free one).
        voila: Voilà's executable (default: :func:`find_voila`).
        cwd: Voilà's working directory (default: this process's).
        log: where Voilà's stdout and stderr go (default: nowhere).
        timeout: seconds Voilà may take to listen.

    Raises:
        ToolkitError: Voilà is not installed, exited, or did not listen within ``timeout``.
    """
    voila = voila or find_voila()
    if voila is None:
        raise ToolkitError(f"Voilà is not installed: {INSTALL_NOTEBOOKS}")
    port = port or _free_port()
    proc = subprocess.Popen(
        [
            voila,
            str(NOTEBOOKS),
            f"--port={port}",
            "--Voila.ip=127.0.0.1",
            "--no-browser",
            "--MappingKernelManager.cull_idle_timeout=120",
            "--MappingKernelManager.cull_interval=30",
        ],
        env=notebook_env(state_dir),
        cwd=cwd,
        stdout=subprocess.DEVNULL if log is None else log,
        stderr=subprocess.DEVNULL if log is None else subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for_port(port, proc, timeout)
        yield VoilaServer(proc, port)
    finally:
        _stop(proc)


def serve_voila(state_dir: Path, out: Callable[[str], object], *, port: int = 0) -> None:
    """Serve the Voilà apps on 127.0.0.1, print their URLs and wait for Ctrl-C (or SIGTERM).

    Args:
        state_dir: the state the apps open (``TOOLKIT_STATE_DIR``).
        out: a ``print``-like callable for the URLs.
        port: Voilà's port (0 = a free one).
    """
    voila = find_voila()
    if voila is None:
        raise ToolkitError(f"Voilà is not installed: {INSTALL_NOTEBOOKS}")
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with running_voila(state_dir, port=port, voila=voila) as server:
            for app in VOILA_APPS:
                out(f"  {server.url}/voila/render/{app}")
            out("Serving the apps. Press Ctrl-C to stop.")
            while not stop.wait(0.5):
                if server.proc.poll() is not None:
                    raise ToolkitError(f"Voilà stopped (exit code {server.proc.returncode})")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
