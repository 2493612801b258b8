"""The apps token (issue 14): where it comes from, where it is kept, who may see it.

Voilà itself, the login page and the viewer role are tested in a browser (tests/browser/test_login_roles.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.apps import (
    APPS_TOKEN_ENV,
    APPS_TOKEN_KEY,
    VIEWER_TOKEN_ENV,
    VoilaServer,
    apps_token,
    apps_token_path,
    login_help,
    running_voila,
)
from toolkit.cli import main
from toolkit.credentials import CredentialStore, Secret
from toolkit.exceptions import ToolkitError


def test_the_apps_token_is_made_once_and_kept_in_the_0600_credentials_file(tmp_path: Path) -> None:
    token = apps_token(tmp_path, environ={})
    assert isinstance(token, Secret) and len(token.reveal()) >= 43  # secrets.token_urlsafe(32)
    assert str(token) == "***" and token.reveal() not in repr(token)
    path = apps_token_path(tmp_path)
    assert path == tmp_path / "credentials.json" and path.stat().st_mode & 0o777 == 0o600
    assert CredentialStore(tmp_path, {}).get(*APPS_TOKEN_KEY) == token
    assert apps_token(tmp_path, environ={}) == token  # the same on every use
    assert apps_token(tmp_path / "other", environ={}) != token  # one per state


def test_the_read_only_apps_have_a_token_of_their_own(tmp_path: Path) -> None:
    """A stakeholder given the viewer token cannot log in to the full apps, nor the other way."""
    full, viewer = apps_token(tmp_path, environ={}), apps_token(tmp_path, environ={}, viewer=True)
    assert viewer != full and apps_token(tmp_path, environ={}, viewer=True) == viewer
    assert (
        apps_token(tmp_path, environ={VIEWER_TOKEN_ENV: "for-stakeholders"}, viewer=True)
        == "for-stakeholders"
    )
    assert apps_token(tmp_path, environ={APPS_TOKEN_ENV: "for-the-team"}, viewer=True) == viewer
    assert "--viewer" in login_help(tmp_path, {}, viewer=True) and viewer.reveal() not in login_help(
        tmp_path, {}
    )


def test_the_environment_variable_wins(tmp_path: Path) -> None:
    assert apps_token(tmp_path, environ={APPS_TOKEN_ENV: "from-the-environment"}) == "from-the-environment"
    assert not (tmp_path / "credentials.json").exists()  # nothing generated nor saved


def test_toolkit_apps_token_prints_it_on_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(APPS_TOKEN_ENV, raising=False)
    assert main(["apps", "token", "--state-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == apps_token(tmp_path, environ={}).reveal()
    monkeypatch.setenv("TOOLKIT_STATE_DIR", str(tmp_path))
    assert main(["apps", "token"]) == 0 and capsys.readouterr().out.strip() == printed
    done = subprocess.run(
        [sys.executable, "-m", "toolkit", "apps", "--help"], capture_output=True, text=True, check=True
    )
    assert "token" in done.stdout


def test_the_login_help_says_where_the_token_is_not_what_it_is(tmp_path: Path) -> None:
    token = apps_token(tmp_path, environ={}).reveal()
    said = login_help(tmp_path, environ={})
    assert token not in said and "toolkit apps token" in said and str(apps_token_path(tmp_path)) in said
    said = login_help(tmp_path, environ={APPS_TOKEN_ENV: "abc-secret"})
    assert "abc-secret" not in said and f"${APPS_TOKEN_ENV}" in said


def test_the_server_keeps_its_token_out_of_its_repr_and_its_app_urls() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    server = VoilaServer(proc, 8866, "127.0.0.1", Secret("s3cret-token"), viewer=True)
    assert "s3cret" not in repr(server) and "s3cret" not in server.app_url("integrations.ipynb")
    assert server.url == "http://127.0.0.1:8866" and server.apps == (
        "integrations.ipynb",
        "quota_dashboard.ipynb",
        "connections.ipynb",
    )
    assert server.login_url("integrations.ipynb") == (
        "http://127.0.0.1:8866/login?next=%2Fvoila%2Frender%2Fintegrations.ipynb&token=s3cret-token"
    )
    assert VoilaServer(proc, 8866, "0.0.0.0").url == "http://127.0.0.1:8866"  # reached on loopback
    no_login = VoilaServer(proc, 8866)
    assert no_login.login_url("a.ipynb") == no_login.app_url("a.ipynb")


def test_beyond_loopback_the_apps_are_never_served_without_a_token(tmp_path: Path) -> None:
    served = running_voila(tmp_path, ip="0.0.0.0", token=Secret(""), voila="/bin/false")
    with pytest.raises(ToolkitError, match=r"need a login token to listen on 0\.0\.0\.0"), served:
        pass  # pragma: no cover - refused before Voilà starts
