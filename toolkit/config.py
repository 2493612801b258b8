"""Typed settings, resolved outside the code: defaults < ``toolkit.toml`` < environment < arguments.

Where the settings come from, in the order they win (last wins):

1. the defaults below;
2. ``toolkit.toml`` in the state directory (flat ``key = value`` pairs named after the fields,
   read with :mod:`tomllib`; :func:`save_settings` writes keys into it, e.g. the wizard's choice
   of the quota e-mails' recipient and sender);
3. environment variables ``TOOLKIT_<FIELD>`` (``TOOLKIT_QUOTA_LIMIT=250000``);
4. keyword arguments to :meth:`Settings.from_env`.

The state directory itself comes from ``TOOLKIT_STATE_DIR``, else
``$XDG_STATE_HOME/sf-brevo-toolkit``, else ``~/.local/state/sf-brevo-toolkit``. It holds
``state.db`` (:mod:`toolkit.store`), ``credentials.json`` (:mod:`toolkit.credentials`) and the
optional ``toolkit.toml``.

Secrets are never settings: ``toolkit.toml`` refuses keys that look like one and points to the
credentials file or its environment variables instead.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from toolkit.exceptions import ConfigError
from toolkit.schedules import parse_schedule

__all__ = [
    "APP_NAME",
    "CONFIG_FILE",
    "ENV_PREFIX",
    "ROLE_ENV",
    "VIEWER_ROLE",
    "Settings",
    "default_state_dir",
    "redact_url",
    "save_settings",
]

APP_NAME = "sf-brevo-toolkit"
CONFIG_FILE = "toolkit.toml"
ENV_PREFIX = "TOOLKIT_"
ROLE_ENV = "TOOLKIT_ROLE"
"""The environment variable that gives the apps' role (``toolkit.apps`` sets it for viewers)."""
VIEWER_ROLE = "viewer"
"""The read-only role: the pages show what is there and offer no action (no run, no editing)."""
_SECRET_WORDS = ("secret", "password", "token", "api_key", "apikey", "private_key")


def redact_url(url: str) -> str:
    """``url`` fit for a log line: a password in it becomes ``***`` (a path is returned as it is)."""
    parts = urlsplit(url)
    if "://" not in url or parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Return the state directory named by the environment (not created).

    Args:
        environ: the environment to read; ``os.environ`` when omitted.

    Returns:
        ``$TOOLKIT_STATE_DIR``, else ``$XDG_STATE_HOME/sf-brevo-toolkit``, else
        ``~/.local/state/sf-brevo-toolkit``; ``~`` expanded.
    """
    env = os.environ if environ is None else environ
    if env.get("TOOLKIT_STATE_DIR"):
        return Path(env["TOOLKIT_STATE_DIR"]).expanduser()
    if env.get("XDG_STATE_HOME"):
        return Path(env["XDG_STATE_HOME"]).expanduser() / APP_NAME
    return Path("~/.local/state").expanduser() / APP_NAME


@dataclass(frozen=True)
class Settings:
    """Everything the toolkit needs to know that is not a secret and not per integration.

    Attributes:
        state_dir: directory holding ``state.db``, ``credentials.json`` and ``toolkit.toml``.
        state_url: where the state is kept (issue 16): empty for ``<state_dir>/state.db`` (the
            embedded SQLite default), another SQLite file's path, or ``postgresql://user@host/db``
            for a state shared by several machines. A password is better left to libpq
            (``PGPASSWORD``, ``~/.pgpass``); one in the URL is accepted from the environment or an
            argument only, never from ``toolkit.toml``, and never shown (``repr``, logs, errors).
        quota_limit: tasks (records written, either direction) allowed per calendar month (Q1).
        quota_warning_share: share of ``quota_limit`` at which the one warning e-mail goes (Q2).
        mass_delete_share: deletions above this share of an integration's links (and above
            ``mass_delete_min``) wait for a confirmation (B6); an integration may override it.
        mass_delete_min: ... and above this many records (25): one deletion on a small list
            never waits; an integration may override it.
        brevo_deletion_check_hours: how often the (costly, N/500 calls) diff of a Brevo list's
            members against the links runs to find contacts deleted in Brevo (Y10).
        salesforce_login_url: default OAuth login URL (production, ``https://test.salesforce.com``,
            a My Domain, or the sandbox); each connection stores its own.
        salesforce_api_version: Salesforce REST API version, e.g. ``"62.0"``.
        salesforce_client_id: the connected app's consumer key the setup wizard signs in with
            (not a secret; empty: the wizard asks for it).
        salesforce_callback_port: the wizard's OAuth redirect listener port on 127.0.0.1 (0 = any
            free port; a real connected app needs ``http://127.0.0.1:<port>/callback`` registered).
        brevo_api_url: base URL of Brevo's API v3 (or the sandbox's).
        brevo_app_url: Brevo's web app, where the reports link a contact
            (``<brevo_app_url>/contact/index/<contact id>``, see :mod:`toolkit.audit.links`);
            the sandbox's Brevo server when the toolkit talks to the sandbox.
        page_size: Salesforce records read per page and per chunk (2,000 is the REST maximum).
        bulk_threshold: initial loads of more records than this use Bulk API 2.0.
        import_max_bytes: largest ``/contacts/import`` body sent to Brevo (about 8 MB).
        http_timeout: seconds before an HTTP call is abandoned (and retried).
        ca_bundle: a CA bundle to trust (the sandbox's CA); ``None`` uses the system's.
        notify_to: e-mail addresses that receive the quota notifications (Q2, Q3); empty: the
            Brevo account's e-mail (``GET /v3/account``).
        notify_from: the sender address of those notifications (a sender set up in Brevo);
            empty: an active sender of the Brevo account (``GET /v3/senders``). SMTP needs both
            (see :mod:`toolkit.notify.addresses`).
        notify_from_name: the sender's display name.
        notify_transport: ``"brevo"`` (transactional API, ``POST /v3/smtp/email``) or ``"smtp"``.
        smtp_host, smtp_port, smtp_security, smtp_username: the SMTP relay when
            ``notify_transport = "smtp"``; ``smtp_security`` is ``"starttls"``, ``"ssl"`` or
            ``"none"``. The password is a credential (``("smtp", "default", "password")``).
        public_url: where Brevo reaches ``toolkit serve``'s webhook receiver from the internet
            (``https://sync.example.com``, a reverse proxy in front of ``webhook_port``); empty:
            no webhooks are registered, and Brevo changes are seen by the scheduled runs.
        brevo_api_key_name: the name the toolkit's Brevo API key has in Brevo's settings (not the
            key). Brevo's webhook events say which key made a change (``api_key_name``); those
            made with this one are the toolkit's own writes coming back, and start no run.
        serve_host: the address ``toolkit serve`` binds (the apps and the receiver); beyond
            127.0.0.1 the apps always ask for their token.
        webhook_port, apps_port: the receiver's and the Voilà apps' ports.
        poll_seconds: how often ``toolkit serve`` asks Salesforce whether records changed
            (one ``SELECT COUNT()`` per active integration; 0 = no poll).
        reconcile_schedule: when ``toolkit serve`` runs each active integration in full (reads
            everything, catches what incremental reads miss); a schedule as in
            :mod:`toolkit.schedules` (weekly, Sunday 03:00 UTC); empty: never.
        keep_runs_days: how long the executed notebooks and reports of served runs are kept
            (0: for ever).
        run_retries, retry_seconds: a failed scheduled run is retried this many times, after
            ``retry_seconds``, then twice that, and so on (its next scheduled run still comes).
    """

    state_dir: Path = field(default_factory=default_state_dir)
    state_url: str = field(default="", repr=False)
    quota_limit: int = 100_000
    quota_warning_share: float = 0.8
    mass_delete_share: float = 0.05
    mass_delete_min: int = 25
    brevo_deletion_check_hours: float = 24
    salesforce_login_url: str = "https://login.salesforce.com"
    salesforce_api_version: str = "62.0"
    salesforce_client_id: str = ""
    salesforce_callback_port: int = 0
    brevo_api_url: str = "https://api.brevo.com/v3"
    brevo_app_url: str = "https://app.brevo.com"
    page_size: int = 2_000
    bulk_threshold: int = 10_000
    import_max_bytes: int = 8_000_000
    http_timeout: float = 60
    ca_bundle: Path | None = None
    notify_to: tuple[str, ...] = ()
    notify_from: str = ""
    notify_from_name: str = "Salesforce-Brevo toolkit"
    notify_transport: str = "brevo"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    public_url: str = ""
    brevo_api_key_name: str = ""
    serve_host: str = "127.0.0.1"
    webhook_port: int = 8765
    apps_port: int = 8866
    poll_seconds: float = 60
    reconcile_schedule: str = "0 3 * * sun"
    keep_runs_days: float = 30
    run_retries: int = 3
    retry_seconds: float = 60

    def __post_init__(self) -> None:
        _check(self.quota_limit > 0, "quota_limit", "must be a positive number of tasks")
        if "://" in self.state_url and not self.state_url.startswith(("postgresql://", "postgres://")):
            raise ConfigError(
                f"setting 'state_url' ({redact_url(self.state_url)}) must be a SQLite file's path "
                "or a postgresql:// URL"
            )
        for name in ("quota_warning_share", "mass_delete_share"):
            _check(0 < getattr(self, name) <= 1, name, "must be a share between 0 and 1 (0.05 = 5%)")
        _check(self.brevo_deletion_check_hours >= 0, "brevo_deletion_check_hours", "must be >= 0")
        _check(self.mass_delete_min >= 0, "mass_delete_min", "must be 0 or more records")
        _check(self.notify_transport in ("brevo", "smtp"), "notify_transport", 'must be "brevo" or "smtp"')
        _check(
            self.smtp_security in ("starttls", "ssl", "none"),
            "smtp_security",
            'must be "starttls", "ssl" or "none"',
        )
        _check(0 < self.smtp_port < 65536, "smtp_port", "must be a TCP port")
        _check(
            0 <= self.salesforce_callback_port < 65536,
            "salesforce_callback_port",
            "must be a TCP port (0 = any free port)",
        )
        _check(1 <= self.page_size <= 2_000, "page_size", "must be between 1 and 2000")
        for name in ("bulk_threshold", "import_max_bytes", "http_timeout"):
            _check(getattr(self, name) > 0, name, "must be positive")
        for name in ("webhook_port", "apps_port"):
            _check(0 <= getattr(self, name) < 65536, name, "must be a TCP port (0 = any free port)")
        for name in ("poll_seconds", "keep_runs_days", "run_retries", "retry_seconds"):
            _check(getattr(self, name) >= 0, name, "must be 0 or more")
        _check(
            not self.public_url or self.public_url.startswith(("https://", "http://")),
            "public_url",
            "must be an http(s) URL (or empty: no webhooks)",
        )
        if self.reconcile_schedule:
            try:
                parse_schedule(self.reconcile_schedule)
            except ValueError as exc:
                raise ConfigError(f"setting 'reconcile_schedule': {exc}") from None
        for name in ("salesforce_login_url", "brevo_api_url", "brevo_app_url"):
            _check(getattr(self, name).startswith(("https://", "http://")), name, "must be an http(s) URL")

    @property
    def db_path(self) -> Path:
        """The SQLite state database, ``<state_dir>/state.db``."""
        return self.state_dir / "state.db"

    @property
    def state_location(self) -> Path | str:
        """What :meth:`toolkit.store.Store.open` opens: ``state_url``, else :attr:`db_path`."""
        return self.state_url or self.db_path

    @property
    def credentials_path(self) -> Path:
        """The 0600 credentials file, ``<state_dir>/credentials.json``."""
        return self.state_dir / "credentials.json"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Resolve settings from defaults, ``toolkit.toml``, ``TOOLKIT_*`` variables and arguments.

        Args:
            environ: the environment to read; ``os.environ`` when omitted.
            **overrides: field values that win over everything else (``state_dir`` included).

        Returns:
            The validated settings.

        Raises:
            ConfigError: an unknown key, a value of the wrong type or range, a secret in the
                TOML file, or an unreadable TOML file. The message names the key and its source.
        """
        env = os.environ if environ is None else environ
        state_dir = Path(overrides.pop("state_dir", None) or default_state_dir(env)).expanduser()
        values: dict[str, Any] = {}
        config_file = state_dir / CONFIG_FILE
        if config_file.is_file():
            for key, raw in _read_toml(config_file).items():
                values[key] = _coerce(key, raw, f"{config_file}")
            if urlsplit(values.get("state_url", "")).password is not None:
                raise ConfigError(
                    f"{config_file}: 'state_url' holds a password; give it to libpq (PGPASSWORD, "
                    "~/.pgpass) or in TOOLKIT_STATE_URL, never in toolkit.toml"
                )
        for spec in fields(cls):
            var = ENV_PREFIX + spec.name.upper()
            if spec.name != "state_dir" and env.get(var, "") != "":
                values[spec.name] = _coerce(spec.name, env[var], f"environment variable {var}")
        for key, raw in overrides.items():
            values[key] = _coerce(key, raw, "argument")
        return cls(state_dir=state_dir, **values)

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def _check(ok: bool, name: str, why: str) -> None:
    if not ok:
        raise ConfigError(f"setting {name!r} {why}")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    for key in data:
        if any(word in key.lower() for word in _SECRET_WORDS):
            raise ConfigError(
                f"{path}: {key!r} looks like a secret; secrets belong in credentials.json (mode "
                "0600) or TOOLKIT_* environment variables, never in toolkit.toml"
            )
    return data


_TYPES = {spec.name: spec.type for spec in fields(Settings)}


def _coerce(key: str, raw: Any, source: str) -> Any:
    """Turn a TOML value, an environment string or an argument into the field's type."""
    kind = _TYPES.get(key)
    if kind is None or key == "state_dir":
        known = ", ".join(sorted(set(_TYPES) - {"state_dir"}))
        raise ConfigError(f"unknown setting {key!r} in {source}; known settings: {known}")
    try:
        if kind == "int":
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError(raw)
            return int(str(raw).replace("_", "")) if isinstance(raw, str) else int(raw)
        if kind == "float":
            if isinstance(raw, bool):
                raise ValueError(raw)
            return float(raw)
        if kind == "str":
            if not isinstance(raw, str):
                raise ValueError(raw)
            return raw.rstrip("/")
        if kind == "Path | None":
            return Path(raw).expanduser() if raw else None
        if kind == "tuple[str, ...]":
            items = raw.split(",") if isinstance(raw, str) else list(raw)
            return tuple(str(item).strip() for item in items if str(item).strip())
    except (TypeError, ValueError):
        raise ConfigError(f"setting {key!r} in {source} must be of type {kind}, got {raw!r}") from None
    return raw  # pragma: no cover - every field type is handled above


def save_settings(state_dir: Path, **values: Any) -> Path:
    """Write settings into ``state_dir/toolkit.toml``; a value ``None`` removes its key (the default applies).

    Other keys, comments and blank lines stay as they were: each key written replaces its own
    ``key = value`` line, or is added at the end. The file is replaced in one step and read back.
    Environment variables ``TOOLKIT_<FIELD>`` still win over what is written here.

    Args:
        state_dir: the state directory (created when missing).
        **values: settings by field name, in any form :meth:`Settings.from_env` accepts.

    Returns:
        The file's path.

    Raises:
        ConfigError: an unknown or secret-like key, a value of the wrong type, or a file that
            cannot be read (it is not overwritten) or written.
    """
    path = state_dir / CONFIG_FILE
    current = _read_toml(path) if path.is_file() else {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    wanted: dict[str, Any] = dict(current)
    for key, raw in values.items():
        if any(word in key.lower() for word in _SECRET_WORDS):
            raise ConfigError(f"{key!r} looks like a secret; secrets never go to {CONFIG_FILE}")
        line_of = re.compile(rf"^\s*{re.escape(key)}\s*=")
        at = [i for i, line in enumerate(lines) if line_of.match(line)]
        if raw is None:
            if key not in _TYPES or key == "state_dir":
                _coerce(key, raw, "argument")  # says which settings exist
            wanted.pop(key, None)
            lines = [line for i, line in enumerate(lines) if i not in at]
            continue
        value = _coerce(key, raw, "argument")
        wanted[key] = _plain(value)
        line = f"{key} = {_toml_value(value)}"
        if at:
            lines[at[0]] = line
            lines = [text for i, text in enumerate(lines) if i not in at[1:]]
        else:
            lines.append(line)
    text = "\n".join(lines) + "\n"
    try:
        ok = tomllib.loads(text) == wanted
    except tomllib.TOMLDecodeError:
        ok = False
    if not ok:  # a value spread over several lines: write every key anew (comments are lost)
        text = "".join(f"{key} = {_toml_value(value)}\n" for key, value in wanted.items())
    _replace_file(path, text)
    return path


def _plain(value: object) -> object:
    """A setting's value as :mod:`tomllib` reads it back (tuples as lists, paths as text)."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    return value


def _toml_value(value: object) -> str:
    """One TOML value: a basic string, a number, a boolean or an array of them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # JSON string escapes are TOML's basic string escapes


def _replace_file(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
