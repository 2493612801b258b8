"""Secrets: environment variables first, then a 0600 ``credentials.json`` in the state directory.

Secrets never live in the state database, in notebooks or in papermill parameters. Each secret
is addressed by ``(kind, name, field)``: the service, the connection (or Brevo account) name,
and the field, e.g. ``("salesforce", "Prod org", "refresh_token")`` or
``("brevo", "default", "api_key")``.

Environment variables win over the file. Their names follow one rule::

    TOOLKIT_<KIND>_<NAME>_<FIELD>

each part upper-cased, every run of characters other than ``A-Z`` and ``0-9`` replaced by one
``_`` and leading/trailing ``_`` dropped. ``("salesforce", "Prod org", "client_secret")`` reads
``TOOLKIT_SALESFORCE_PROD_ORG_CLIENT_SECRET``; ``("brevo", "default", "api_key")`` reads
``TOOLKIT_BREVO_DEFAULT_API_KEY``. Names differing only in punctuation or case share a variable.

The file is JSON ``{"<kind>": {"<name>": {"<field>": "<value>"}}}``. It is created with mode
0600 and rewritten atomically (a 0600 temporary file in the same directory, then
:func:`os.replace`). A file that its group or others may access is refused: the error says to
run ``chmod 600``. Values come back as :class:`Secret`, whose ``str`` and ``repr`` are ``***``.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn, TypeAlias, TypeGuard

from toolkit.exceptions import CredentialsError

__all__ = ["CREDENTIALS_FILE", "CredentialStore", "Secret", "env_var_name"]

CREDENTIALS_FILE = "credentials.json"
_Stored: TypeAlias = dict[str, dict[str, dict[str, str]]]  # kind -> name -> field -> secret text
_MASK = "***"


class Secret:
    """A secret value that does not show itself: ``str``, ``repr`` and f-strings give ``***``.

    Call :meth:`reveal` where the value is really needed (an HTTP header, a token request).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        raw: object = value.reveal() if isinstance(value, Secret) else value
        if not isinstance(raw, str):  # a caller without type checks may pass anything
            raise TypeError("a Secret wraps a str")
        self._value = raw

    def reveal(self) -> str:
        """Return the secret value itself."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, spec: str) -> str:
        return format(_MASK, spec)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            other = other.reveal()
        if not isinstance(other, str):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled (it would leave the process in clear text)")


def env_var_name(kind: str, name: str, field: str) -> str:
    """Return the environment variable that overrides ``(kind, name, field)``.

    Example:
        >>> env_var_name("salesforce", "Prod org", "client_secret")
        'TOOLKIT_SALESFORCE_PROD_ORG_CLIENT_SECRET'
    """
    parts = (re.sub(r"[^A-Z0-9]+", "_", part.upper()).strip("_") for part in (kind, name, field))
    return "TOOLKIT_" + "_".join(parts)


class CredentialStore:
    """Read and write secrets in ``<state_dir>/credentials.json``, with environment overrides.

    Args:
        state_dir: the toolkit's state directory (created with mode 0700 on first write).
        environ: the environment to read; ``os.environ`` when omitted.
    """

    def __init__(self, state_dir: Path | str, environ: Mapping[str, str] | None = None) -> None:
        self.state_dir = Path(state_dir).expanduser()
        self.path = self.state_dir / CREDENTIALS_FILE
        self._environ = environ

    def get(self, kind: str, name: str, field: str) -> Secret:
        """Return one secret, from its environment variable or else from the file.

        Raises:
            CredentialsError: the secret is in neither place (the message names the variable and
                the file), or the file is unsafe or unreadable.
        """
        found = self.find(kind, name, field)
        if found is None:
            raise CredentialsError(
                f"missing {kind} credential {field!r} for {name!r}: set the environment variable "
                f"{env_var_name(kind, name, field)} or store it in {self.path} "
                f"(CredentialStore.set({kind!r}, {name!r}, {field!r}, ...))"
            )
        return found

    def find(self, kind: str, name: str, field: str) -> Secret | None:
        """Like :meth:`get`, but return ``None`` when the secret is not set anywhere."""
        env = os.environ if self._environ is None else self._environ
        value = env.get(env_var_name(kind, name, field))
        if value:
            return Secret(value)
        value = self._read().get(kind, {}).get(name, {}).get(field)
        return Secret(value) if value else None

    def names(self, kind: str) -> list[str]:
        """Return the names stored in the file for ``kind`` (environment variables not included)."""
        return sorted(self._read().get(kind, {}))

    def set(self, kind: str, name: str, field: str, value: str | Secret) -> None:
        """Store a secret in the file (atomically, mode 0600)."""
        raw = value.reveal() if isinstance(value, Secret) else value
        if not isinstance(raw, str) or not raw:
            raise CredentialsError(f"refusing to store an empty {kind} credential {field!r} for {name!r}")
        for part, label in ((kind, "kind"), (name, "name"), (field, "field")):
            if not isinstance(part, str) or not part.strip():
                raise CredentialsError(f"credential {label} must be a non-empty string")
        with self._locked():
            data = self._read()
            data.setdefault(kind, {}).setdefault(name, {})[field] = raw
            self._write(data)

    def delete(self, kind: str, name: str, field: str | None = None) -> bool:
        """Remove one field, or every field of ``name`` when ``field`` is ``None``.

        Returns:
            Whether anything was removed from the file.
        """
        with self._locked():
            data = self._read()
            entry = data.get(kind, {}).get(name)
            if entry is None or (field is not None and field not in entry):
                return False
            if field is None or len(entry) == 1:
                del data[kind][name]
            else:
                del entry[field]
            if not data[kind]:
                del data[kind]
            self._write(data)
            return True

    def _read(self) -> _Stored:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise CredentialsError(f"cannot open {self.path}: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if os.name == "posix" and mode & 0o077:
                raise CredentialsError(
                    f"{self.path} may be read by other users (mode {stat.S_IMODE(mode):04o}); "
                    f"refusing to use it: run `chmod 600 {self.path}`"
                )
            raw = handle.read()
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            # Only the position is reported: the text around it could be a secret.
            where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
            raise CredentialsError(f"{self.path} is not valid JSON{where}") from None
        if not _well_formed(data):
            raise CredentialsError(f"{self.path} must hold {{kind: {{name: {{field: string}}}}}} objects")
        return data

    def _write(self, data: _Stored) -> None:
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.state_dir / f".{CREDENTIALS_FILE}.{secrets.token_hex(8)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                if os.name == "posix":
                    os.fchmod(handle.fileno(), 0o600)
                json.dump(data, handle, indent=2, sort_keys=True)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise read-modify-write cycles between processes (POSIX ``flock``)."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: last writer wins
            yield
            return
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.state_dir / f".{CREDENTIALS_FILE}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _well_formed(data: object) -> TypeGuard[_Stored]:
    if not isinstance(data, dict):
        return False
    for names in data.values():
        if not isinstance(names, dict):
            return False
        for entry in names.values():
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                return False
    return True
