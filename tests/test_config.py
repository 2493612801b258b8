"""Settings (defaults, toolkit.toml, TOOLKIT_* variables) and credentials (0600 file, env, Secret)."""

from __future__ import annotations

import dataclasses
import os
import pickle
import stat
from pathlib import Path

import pytest

from toolkit.audit.links import BREVO_APP_URL
from toolkit.config import Settings, default_state_dir, redact_url
from toolkit.credentials import CredentialStore, Secret, env_var_name
from toolkit.exceptions import ConfigError, CredentialsError

SECRET = "xkeysib-9f8e7d6c5b4a-do-not-show"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- settings ---------------------------------------------------------------------------------


def test_state_dir_comes_from_env_then_xdg_then_home() -> None:
    assert default_state_dir({"TOOLKIT_STATE_DIR": "/srv/toolkit"}) == Path("/srv/toolkit")
    assert default_state_dir({"XDG_STATE_HOME": "/x"}) == Path("/x/sf-brevo-toolkit")
    assert default_state_dir({}) == Path("~/.local/state/sf-brevo-toolkit").expanduser()


def test_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env({"TOOLKIT_STATE_DIR": str(tmp_path)})
    assert settings.state_dir == tmp_path
    assert (settings.quota_limit, settings.mass_delete_share) == (100_000, 0.05)
    assert settings.brevo_deletion_check_hours == 24
    assert settings.db_path == tmp_path / "state.db"
    assert settings.credentials_path == tmp_path / "credentials.json"


def test_toml_then_env_then_arguments_win(tmp_path: Path) -> None:
    (tmp_path / "toolkit.toml").write_text(
        'quota_limit = 250_000\nmass_delete_share = 0.1\nnotify_to = ["ops@example.com"]\n'
        'salesforce_login_url = "https://test.salesforce.com/"\n'
    )
    env = {"TOOLKIT_STATE_DIR": str(tmp_path), "TOOLKIT_MASS_DELETE_SHARE": "0.2"}
    settings = Settings.from_env(env)
    assert settings.quota_limit == 250_000
    assert settings.mass_delete_share == 0.2
    assert settings.notify_to == ("ops@example.com",)
    assert settings.salesforce_login_url == "https://test.salesforce.com"
    assert Settings.from_env(env, quota_limit=5).quota_limit == 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.quota_limit = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("quota_limt = 5\n", "unknown setting 'quota_limt'"),
        ("quota_limit = 'many'\n", "must be of type int"),
        ("mass_delete_share = 5\n", "between 0 and 1"),
        ("brevo_api_key = 'x'\n", "looks like a secret"),
        ("quota_limit = \n", "cannot read"),
    ],
)
def test_bad_toml_is_refused_with_the_key(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "toolkit.toml").write_text(content)
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({"TOOLKIT_STATE_DIR": str(tmp_path)})


def test_brevo_app_url_defaults_to_brevo_and_is_checked(tmp_path: Path) -> None:
    env = {"TOOLKIT_STATE_DIR": str(tmp_path)}
    assert Settings.from_env(env).brevo_app_url == "https://app.brevo.com" == BREVO_APP_URL
    (tmp_path / "toolkit.toml").write_text('brevo_app_url = "https://127.0.0.1:8443/"\n')
    assert Settings.from_env(env).brevo_app_url == "https://127.0.0.1:8443"  # no trailing /
    env["TOOLKIT_BREVO_APP_URL"] = "app.brevo.com"
    with pytest.raises(ConfigError, match=r"brevo_app_url.*http"):
        Settings.from_env(env)


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TOOLKIT_QUOTA_LIMIT"):
        Settings.from_env({"TOOLKIT_STATE_DIR": str(tmp_path), "TOOLKIT_QUOTA_LIMIT": "lots"})


# -- Secret -----------------------------------------------------------------------------------


def test_secret_never_shows_itself() -> None:
    secret = Secret(SECRET)
    shown = [
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        "%s" % (secret,),  # noqa: UP031  (old-style formatting must not show it either)
        repr({"api_key": secret}),
        repr([secret]),
    ]
    assert not any(SECRET in text for text in shown)
    assert str(secret) == "***"
    assert secret.reveal() == SECRET
    assert secret == SECRET and secret == Secret(SECRET) and secret != "other"
    with pytest.raises(TypeError):
        pickle.dumps(secret)


# -- credentials ------------------------------------------------------------------------------


def test_state_url_is_the_sqlite_file_unless_set_and_its_password_never_shows(tmp_path: Path) -> None:
    assert Settings.from_env({}, state_dir=tmp_path).state_location == tmp_path / "state.db"
    url = "postgresql://sync:s3cret@db.example.com:5432/toolkit"
    settings = Settings.from_env({"TOOLKIT_STATE_URL": url}, state_dir=tmp_path)
    assert settings.state_location == url
    assert "s3cret" not in repr(settings)
    assert redact_url(url) == "postgresql://sync:***@db.example.com:5432/toolkit"
    assert redact_url("postgresql://sync@db/toolkit") == "postgresql://sync@db/toolkit"
    assert redact_url(str(tmp_path)) == str(tmp_path)
    with pytest.raises(ConfigError, match="postgresql://") as wrong:
        Settings.from_env({"TOOLKIT_STATE_URL": "mysql://u:s3cret@h/db"}, state_dir=tmp_path)
    assert "s3cret" not in str(wrong.value)


def test_a_password_in_state_url_is_refused_in_toolkit_toml(tmp_path: Path) -> None:
    (tmp_path / "toolkit.toml").write_text('state_url = "postgresql://sync:s3cret@db/toolkit"\n')
    with pytest.raises(ConfigError, match="PGPASSWORD") as refused:
        Settings.from_env({}, state_dir=tmp_path)
    assert "s3cret" not in str(refused.value)
    (tmp_path / "toolkit.toml").write_text('state_url = "postgresql://sync@db/toolkit"\n')
    assert Settings.from_env({}, state_dir=tmp_path).state_url == "postgresql://sync@db/toolkit"


def test_env_var_naming_rule() -> None:
    assert (
        env_var_name("salesforce", "Prod org", "client_secret") == "TOOLKIT_SALESFORCE_PROD_ORG_CLIENT_SECRET"
    )
    assert env_var_name("brevo", "default", "api_key") == "TOOLKIT_BREVO_DEFAULT_API_KEY"
    assert (
        env_var_name("salesforce", "acme-EU.sandbox", "refresh_token")
        == "TOOLKIT_SALESFORCE_ACME_EU_SANDBOX_REFRESH_TOKEN"
    )


def test_credentials_file_is_created_0600_and_read_back(tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = CredentialStore(state, environ={})
    store.set("brevo", "default", "api_key", SECRET)
    store.set("salesforce", "Prod org", "refresh_token", Secret("5Aep-refresh"))
    assert _mode(store.path) == 0o600
    assert _mode(state) == 0o700
    assert [p.name for p in state.iterdir() if p.name.endswith(".tmp")] == []
    again = CredentialStore(state, environ={})
    assert again.get("brevo", "default", "api_key").reveal() == SECRET
    assert again.get("salesforce", "Prod org", "refresh_token") == "5Aep-refresh"
    assert again.names("salesforce") == ["Prod org"]


def test_credentials_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path, environ={})
    store.set("brevo", "default", "api_key", SECRET)
    os.chmod(store.path, 0o644)
    with pytest.raises(CredentialsError) as refused:
        store.get("brevo", "default", "api_key")
    assert f"chmod 600 {store.path}" in str(refused.value)
    assert "0644" in str(refused.value)
    assert SECRET not in str(refused.value)
    os.chmod(store.path, 0o600)
    assert store.get("brevo", "default", "api_key") == SECRET


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    CredentialStore(tmp_path, environ={}).set("salesforce", "Prod org", "client_secret", "from-file")
    monkeypatch.setenv("TOOLKIT_SALESFORCE_PROD_ORG_CLIENT_SECRET", "from-env")
    assert CredentialStore(tmp_path).get("salesforce", "Prod org", "client_secret") == "from-env"
    monkeypatch.delenv("TOOLKIT_SALESFORCE_PROD_ORG_CLIENT_SECRET")
    assert CredentialStore(tmp_path).get("salesforce", "Prod org", "client_secret") == "from-file"


def test_environment_alone_needs_no_file(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "absent", environ={"TOOLKIT_BREVO_DEFAULT_API_KEY": SECRET})
    assert store.get("brevo", "default", "api_key").reveal() == SECRET
    assert not (tmp_path / "absent").exists()


def test_missing_secret_names_the_variable_and_file_but_no_value(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path, environ={"TOOLKIT_BREVO_OTHER_API_KEY": SECRET})
    store.set("salesforce", "Prod org", "refresh_token", SECRET)
    with pytest.raises(CredentialsError) as missing:
        store.get("salesforce", "Prod org", "client_secret")
    message = str(missing.value)
    assert "TOOLKIT_SALESFORCE_PROD_ORG_CLIENT_SECRET" in message
    assert str(store.path) in message
    assert SECRET not in message
    assert store.find("salesforce", "Prod org", "client_secret") is None


def test_delete_a_field_or_a_whole_name(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path, environ={})
    store.set("salesforce", "a", "client_secret", "1")
    store.set("salesforce", "a", "refresh_token", "2")
    store.set("salesforce", "b", "refresh_token", "3")
    assert store.delete("salesforce", "a", "client_secret")
    assert store.find("salesforce", "a", "refresh_token") == "2"
    assert store.delete("salesforce", "a")
    assert not store.delete("salesforce", "a")
    assert store.names("salesforce") == ["b"]
    assert _mode(store.path) == 0o600


def test_corrupt_file_error_shows_no_content(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, f'{{"brevo": {{"default": {{"api_key": "{SECRET}"'.encode())
    os.close(fd)
    with pytest.raises(CredentialsError, match="not valid JSON") as broken:
        CredentialStore(tmp_path, environ={}).get("brevo", "default", "api_key")
    assert SECRET not in str(broken.value)


def test_empty_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="empty"):
        CredentialStore(tmp_path, environ={}).set("brevo", "default", "api_key", "")
