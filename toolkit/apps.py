"""The toolkit's notebooks, run and served: ``sync.ipynb`` through papermill, the apps through Voilà.

``sync.ipynb`` runs as a scheduler runs it (``papermill ... -k python3 -p integration NAME``),
with ``TOOLKIT_STATE_DIR`` pointing at the state: no credential is ever a parameter
(:func:`papermill_sync`; the demo, ``toolkit serve`` and the tests use it). Voilà serves
:data:`NOTEBOOKS` on 127.0.0.1 until stopped; SIGTERM stops it and its kernels.

The apps need a login (issue 14), through Jupyter Server's own identity provider: Voilà's
``PasswordIdentityProvider`` with a token (``Voila.token``), which a browser gives once, as
``?token=...`` or in the login form, and then keeps as a signed cookie. The token is
:func:`apps_token` (``TOOLKIT_APPS_TOKEN``, else the credential store's ``apps/default/token``,
generated on first use). It reaches Voilà in a ``voila.json`` written 0600 in a 0700 temporary
directory (never on the command line, never in the environment of Voilà and its kernels), which
is removed once Voilà listens; a ``voila.py`` beside it scrubs ``token=`` out of Voilà's log
lines. ``toolkit apps token`` prints the token on request. With ``viewer=True`` only the
dashboard, the integrations page and the connections page are served, read-only (``TOOLKIT_ROLE=viewer`` in the
kernels' environment: :func:`toolkit.ui.common.viewer_mode`).

The notebooks ship inside the package (``toolkit/notebooks/``, package data of the wheel):
:data:`NOTEBOOKS` is their folder, in a clone and in an installed toolkit alike. From a shell::

    python -c "from toolkit.apps import NOTEBOOKS; print(NOTEBOOKS)"
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from toolkit.config import ROLE_ENV, VIEWER_ROLE
from toolkit.credentials import CredentialStore, Secret
from toolkit.exceptions import ToolkitError

__all__ = [
    "APPS_TOKEN_ENV",
    "APPS_TOKEN_KEY",
    "INSTALL_NOTEBOOKS",
    "NOTEBOOKS",
    "VIEWER_APPS",
    "VIEWER_TOKEN_ENV",
    "VIEWER_TOKEN_KEY",
    "VOILA_APPS",
    "VoilaServer",
    "apps_token",
    "apps_token_path",
    "find_voila",
    "free_port",
    "login_help",
    "notebook_env",
    "papermill_sync",
    "run_sync_notebook",
    "running_voila",
    "serve_voila",
    "stop_process",
    "wait_for_port",
]

NOTEBOOKS: Path = Path(__file__).resolve().parent / "notebooks"
"""The folder of the toolkit's notebooks (``toolkit/notebooks/``): the Voilà apps, sync and audit_report."""
VOILA_APPS = ("setup_wizard.ipynb", "integrations.ipynb", "quota_dashboard.ipynb", "connections.ipynb")
"""The Voilà apps, as served by default."""
VIEWER_APPS = ("integrations.ipynb", "quota_dashboard.ipynb", "connections.ipynb")
"""The apps served read-only to stakeholders (``running_voila(..., viewer=True)``): no setup wizard."""
APPS_TOKEN_ENV = "TOOLKIT_APPS_TOKEN"
"""The environment variable that sets the apps' login token (else the credential store's entry)."""
APPS_TOKEN_KEY = ("apps", "default", "token")
"""The apps token's ``(kind, name, field)`` in :class:`toolkit.credentials.CredentialStore`."""
VIEWER_TOKEN_ENV = "TOOLKIT_APPS_VIEWER_TOKEN"
VIEWER_TOKEN_KEY = ("apps", "viewer", "token")
"""The read-only apps' own token: its environment variable and its credentials entry."""
LOOPBACK = ("127.0.0.1", "localhost", "::1")
INSTALL_NOTEBOOKS = "pip install 'sf-brevo-toolkit[notebooks]' (in a clone: pip install -e '.[notebooks]')"
"""How to install what the notebooks need (papermill, Voilà, ipywidgets...)."""


def notebook_env(state_dir: Path) -> dict[str, str]:
    """The environment of a notebook or Voilà on the demo state (no other ``TOOLKIT_*`` leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLKIT_")}
    env["TOOLKIT_STATE_DIR"] = str(state_dir.resolve())
    return env


def apps_token_path(state_dir: Path) -> Path:
    """The 0600 file that keeps the apps token (the state's ``credentials.json``)."""
    return CredentialStore(state_dir).path


def apps_token(state_dir: Path, environ: Mapping[str, str] = os.environ, *, viewer: bool = False) -> Secret:
    """The token that logs a browser in to the Voilà apps of ``state_dir``.

    ``TOOLKIT_APPS_TOKEN`` when set, else the credential store's ``("apps", "default", "token")``
    (:data:`APPS_TOKEN_KEY`, in the 0600 ``credentials.json``), which is generated with
    :func:`secrets.token_urlsafe` and saved there on first use. The read-only apps (``viewer``)
    have a token of their own (``TOOLKIT_APPS_VIEWER_TOKEN``, else ``("apps", "viewer",
    "token")``): a stakeholder given it cannot log in to the full apps.

    Args:
        state_dir: the toolkit's state directory.
        environ: the environment to read (default: this process's).
        viewer: the read-only apps' token.

    Raises:
        CredentialsError: the credentials file is unsafe (readable by others) or unreadable.
    """
    variable, key = (VIEWER_TOKEN_ENV, VIEWER_TOKEN_KEY) if viewer else (APPS_TOKEN_ENV, APPS_TOKEN_KEY)
    if environ.get(variable):
        return Secret(environ[variable])
    store = CredentialStore(state_dir, environ)
    found = store.find(*key)
    if found is None:
        store.set(*key, secrets.token_urlsafe(32))
        found = store.get(*key)  # another process may have saved its own first: one wins
    return found


def login_help(state_dir: Path, environ: Mapping[str, str] = os.environ, *, viewer: bool = False) -> str:
    """How to log in to the apps of ``state_dir`` (the read-only ones: ``viewer``), in words;
    never the token itself."""
    variable = VIEWER_TOKEN_ENV if viewer else APPS_TOKEN_ENV
    if environ.get(variable):
        where = f"the value of ${variable}"
    else:
        where = f'the "apps" entry of {apps_token_path(state_dir).resolve()}'
    option = " --viewer" if viewer else ""
    return (
        f"Log in with the {'read-only ' if viewer else ''}apps token: it is {where}, or run "
        f"`TOOLKIT_STATE_DIR={state_dir.resolve()} toolkit apps token{option}` "
        "(paste it into the login page, or add ?token=<token> to an app's URL once)."
    )


def papermill_sync(
    state_dir: Path,
    integration: str,
    output: Path,
    report_dir: Path,
    *,
    full: bool = False,
    trigger: str = "manual",
    timeout: float = 600,
    environ: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``sync.ipynb`` of :data:`NOTEBOOKS` for real (not a dry run) with papermill's command line.

    Args:
        output: the executed notebook's path; report_dir: where its audit report goes.
        full: a full resync; trigger: what started the run (``RunTrigger``'s text), kept with it.
        environ: the child's environment, ``TOOLKIT_STATE_DIR`` set to ``state_dir`` (default:
            :func:`notebook_env`, which keeps no other ``TOOLKIT_*`` variable).

    Returns:
        papermill's completed process (exit 1 when the run did not succeed: the notebook shows where).

    Raises:
        ToolkitError: papermill is not installed.
        subprocess.TimeoutExpired: the run took more than ``timeout`` seconds (it is killed).
    """
    if importlib.util.find_spec("papermill") is None:
        raise ToolkitError(f"papermill is not installed: {INSTALL_NOTEBOOKS}")
    output.parent.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "papermill", str(NOTEBOOKS / "sync.ipynb"), str(output), "-k", "python3"]
    args += ["--no-progress-bar", "-p", "integration", integration, "-p", "dry_run", "False"]
    args += ["-p", "full_resync", str(full), "-p", "report_dir", str(report_dir.resolve())]
    args += ["-p", "trigger", trigger]
    env = (
        notebook_env(state_dir)
        if environ is None
        else {**environ, "TOOLKIT_STATE_DIR": str(state_dir.resolve())}
    )
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def run_sync_notebook(state_dir: Path, integration: str, out_dir: Path, report_dir: Path) -> Path:
    """:func:`papermill_sync` into ``out_dir/sync-<integration>.ipynb`` (the demo's runs).

    Raises:
        ToolkitError: papermill is not installed, or exited non-zero (the output notebook shows where).
    """
    output = out_dir / f"sync-{integration}.ipynb"
    done = papermill_sync(state_dir, integration, output, report_dir)
    if done.returncode != 0:
        raise ToolkitError(f"papermill failed for {integration!r} (exit {done.returncode}); see {output}")
    return output


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a server started next; 0 lets the OS choose instead)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int,
    proc: subprocess.Popen[bytes],
    timeout: float = 60.0,
    host: str = "127.0.0.1",
    name: str = "Voilà",
) -> None:
    """Wait until ``proc`` (a server called ``name`` in the error) accepts connections on ``port``.

    Raises:
        ToolkitError: it exited, or did not listen within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise ToolkitError(f"{name} did not start on {host}:{port} (exit code {proc.poll()})")


def _connect_host(ip: str) -> str:
    """Where to reach a server bound to ``ip`` (a wildcard address is reached on loopback)."""
    if ip in ("", "0.0.0.0"):
        return "127.0.0.1"
    if ip == "::":
        return "::1"
    return ip


def find_voila() -> str | None:
    """Voilà's executable: the one beside this Python first, else one on ``PATH`` (None: not installed)."""
    return shutil.which("voila", path=str(Path(sys.executable).parent)) or shutil.which("voila")


@dataclass(frozen=True)
class VoilaServer:
    """A running Voilà process serving the apps of :data:`NOTEBOOKS`.

    Attributes:
        proc: Voilà's process.
        port: its port.
        ip: the address it is bound to.
        token: the login token (``None`` or empty: no login); never in ``repr``.
        viewer: served read-only (:data:`VIEWER_APPS` only, ``TOOLKIT_ROLE=viewer``).
    """

    proc: subprocess.Popen[bytes]
    port: int
    ip: str = "127.0.0.1"
    token: Secret | None = field(default=None, repr=False)
    viewer: bool = False

    @property
    def url(self) -> str:
        """Voilà's base URL (an app is at ``{url}/voila/render/<notebook>``)."""
        host = _connect_host(self.ip)
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    @property
    def apps(self) -> tuple[str, ...]:
        """The notebooks served (:data:`VOILA_APPS`, or :data:`VIEWER_APPS` for viewers)."""
        return VIEWER_APPS if self.viewer else VOILA_APPS

    def app_url(self, app: str) -> str:
        """One app's URL, without any credential (a browser without the login cookie is sent to log in)."""
        return f"{self.url}/voila/render/{app}"

    def login_url(self, app: str) -> str:
        """A URL that logs a browser in and opens ``app``: Jupyter Server's login page with ``?token=``.

        The login page checks the token, sets its signed login cookie and redirects to the app
        (so the app's own URL, which its kernel sees, carries no token). For a browser only:
        never print or log it. Without a token it is :meth:`app_url`.
        """
        if not self.token:
            return self.app_url(app)
        return (
            f"{self.url}/login?next={quote(f'/voila/render/{app}', safe='')}"
            f"&token={quote(self.token.reveal(), safe='')}"
        )


def stop_process(proc: subprocess.Popen[bytes], grace: float = 20) -> None:
    """SIGTERM (Voilà stops its kernels, ``toolkit serve`` its lanes), then SIGKILL to the whole
    process group after ``grace`` seconds (the process must lead its group: ``start_new_session``)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


_SCRUB_CONFIG = """\
# Written by toolkit.apps for one Voila process (removed once it listens): no request
# parameter that carries a credential (token=..., password=...) reaches Voila's log.
import logging
import re

_SECRET = re.compile(r"((?:token|password|_xsrf)=)[\\w.~%-]+", re.IGNORECASE)


class _Scrub(logging.Filter):
    def filter(self, record):
        text = record.getMessage()
        clean = _SECRET.sub(r"\\1[secret]", text)
        if clean != text:
            record.msg, record.args = clean, ()
        return True


for _name in ("tornado.access", "tornado.general", "tornado.application", "Voila", "ServerApp"):
    logging.getLogger(_name).addFilter(_Scrub())
"""


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a new file only its owner may read (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _voila_config(folder: Path, token: Secret) -> Path:
    """Voilà's config folder in ``folder``: ``voila.json`` (the token, 0600) and ``voila.py`` (log scrub)."""
    config = folder / "config"
    config.mkdir(mode=0o700)
    settings: dict[str, Any] = {
        # The login page takes the token; it must not offer to set a password in ~/.jupyter.
        "PasswordIdentityProvider": {"allow_password_change": False},
    }
    if token:
        settings["Voila"] = {"token": token.reveal()}
    _write_private(config / "voila.json", json.dumps(settings))
    _write_private(config / "voila.py", _SCRUB_CONFIG)
    return config


def _viewer_root(folder: Path) -> Path:
    """A folder holding copies of :data:`VIEWER_APPS` only: the wizard is not there to be served."""
    root = folder / "apps"
    root.mkdir(mode=0o700)
    for app in VIEWER_APPS:
        shutil.copyfile(NOTEBOOKS / app, root / app)
    return root


@contextmanager
def running_voila(
    state_dir: Path,
    *,
    port: int = 0,
    ip: str = "127.0.0.1",
    token: Secret | None = None,
    viewer: bool = False,
    voila: str | None = None,
    cwd: Path | None = None,
    log: IO[bytes] | None = None,
    timeout: float = 60.0,
) -> Iterator[VoilaServer]:
    """Start Voilà on :data:`NOTEBOOKS` for the state ``state_dir``, wait until it listens; stop it on leaving.

    Every app needs a login: Jupyter Server's ``PasswordIdentityProvider`` with ``token`` (see
    the module's text); the token goes to Voilà in a 0600 config file, never in its command line
    or environment.

    Args:
        state_dir: the state the apps open (``TOOLKIT_STATE_DIR``).
        port: Voilà's port (0 = a free one).
        ip: the address Voilà listens on (beyond loopback, a token is required).
        token: the login token; ``None`` = :func:`apps_token` of ``state_dir``. An empty
            ``Secret("")`` serves without a login, on a loopback address only.
        viewer: serve the dashboard, the integrations and the connections pages only (:data:`VIEWER_APPS`),
            read-only: the kernels get ``TOOLKIT_ROLE=viewer``; the wizard answers 404.
        voila: Voilà's executable (default: :func:`find_voila`).
        cwd: Voilà's working directory (default: this process's).
        log: where Voilà's stdout and stderr go (default: nowhere).
        timeout: seconds Voilà may take to listen.

    Raises:
        ToolkitError: Voilà is not installed, exited, or did not listen within ``timeout``; or
            no token for an address beyond loopback.
    """
    voila = voila or find_voila()
    if voila is None:
        raise ToolkitError(f"Voilà is not installed: {INSTALL_NOTEBOOKS}")
    token = apps_token(state_dir, viewer=viewer) if token is None else token
    if not token and ip not in LOOPBACK:
        raise ToolkitError(f"the apps need a login token to listen on {ip} (beyond 127.0.0.1)")
    port = port or free_port()
    env = notebook_env(state_dir)
    if viewer:
        env[ROLE_ENV] = VIEWER_ROLE
    with tempfile.TemporaryDirectory(prefix="toolkit-voila-") as scratch:
        folder = Path(scratch)
        args = [
            voila,
            str(_viewer_root(folder) if viewer else NOTEBOOKS),
            f"--port={port}",
            f"--Voila.ip={ip}",
            "--no-browser",
            "--MappingKernelManager.cull_idle_timeout=120",
            "--MappingKernelManager.cull_interval=30",
        ]
        config = _voila_config(folder, token)
        args.append(f"--Voila.config_file_paths={config}")  # only this voila.(py|json), no other config
        proc = subprocess.Popen(
            args,
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL if log is None else log,
            stderr=subprocess.DEVNULL if log is None else subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for_port(port, proc, timeout, _connect_host(ip))
            shutil.rmtree(config, ignore_errors=True)  # read at start: the token leaves the disk
            yield VoilaServer(proc, port, ip, token or None, viewer)
        finally:
            stop_process(proc)


def serve_voila(
    state_dir: Path,
    out: Callable[[str], object],
    *,
    port: int = 0,
    ip: str = "127.0.0.1",
    viewer: bool = False,
) -> None:
    """Serve the Voilà apps, print their URLs and how to log in, and wait for Ctrl-C (or SIGTERM).

    The URLs come first, then :func:`login_help` (which never prints the token).

    Args:
        state_dir: the state the apps open (``TOOLKIT_STATE_DIR``).
        out: a ``print``-like callable for the URLs.
        port: Voilà's port (0 = a free one).
        ip: the address Voilà listens on.
        viewer: serve the read-only apps only (see :func:`running_voila`).
    """
    voila = find_voila()
    if voila is None:
        raise ToolkitError(f"Voilà is not installed: {INSTALL_NOTEBOOKS}")
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with running_voila(state_dir, port=port, ip=ip, viewer=viewer, voila=voila) as server:
            for app in server.apps:
                out(f"  {server.app_url(app)}")
            out(login_help(state_dir, viewer=viewer))
            out("Serving the apps. Press Ctrl-C to stop.")
            while not stop.wait(0.5):
                if server.proc.poll() is not None:
                    raise ToolkitError(f"Voilà stopped (exit code {server.proc.returncode})")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
