"""Secrets: the Brevo API key, the Salesforce client secret, password and tokens appear nowhere but
in the 0600 credentials file: not in the state directory's other files (the SQLite database and
its WAL included), reports, executed notebooks, logs (every logger at DEBUG), command output, nor
in the messages (and chained causes) of errors, auth failures included.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.support.sync import Env, setup_integration
from toolkit import audit
from toolkit.api import Toolkit
from toolkit.audit.reports import write_run_report
from toolkit.connections import connect_salesforce, save_brevo_key
from toolkit.exceptions import ToolkitError
from toolkit.salesforce import auth, make_session
from toolkit.sandbox.salesforce.oauth.store import TokenStore

CREDENTIALS = "credentials.json"


def _leaks(secrets: Iterable[str], texts: dict[str, str]) -> list[str]:
    return [
        f"{where} holds a secret ({secret[:6]}...)"
        for where, text in texts.items()
        for secret in secrets
        if secret and secret in text
    ]


def _files(*roots: Path) -> dict[str, str]:
    """Every file under the roots but the credentials file, as text (binary files decoded leniently)."""
    found: dict[str, str] = {}
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and path.name != CREDENTIALS:
                found[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
    return found


def _error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(getattr(exc, "__dict__", ""))


def _cli(args: list[str], state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "toolkit", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TOOLKIT_STATE_DIR": str(state)},
        check=False,
    )


@pytest.fixture
def issued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every access and refresh token the sandbox's OAuth server hands out during the test."""
    tokens: list[str] = []
    real_session, real_refresh = TokenStore.issue_session, TokenStore.issue_refresh

    def issue_session(self: TokenStore, *args: Any, **kwargs: Any) -> Any:
        session = real_session(self, *args, **kwargs)
        tokens.append(session.token)
        return session

    def issue_refresh(self: TokenStore, *args: Any, **kwargs: Any) -> Any:
        grant = real_refresh(self, *args, **kwargs)
        tokens.append(grant.token)
        return grant

    monkeypatch.setattr(TokenStore, "issue_session", issue_session)
    monkeypatch.setattr(TokenStore, "issue_refresh", issue_refresh)
    return tokens


def test_no_secret_outside_the_credentials_file_even_when_sign_ins_fail(
    env_factory: Any, issued: list[str], tmp_path: Path, caplog: pytest.LogCaptureFixture, figures: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    env: Env = env_factory(contacts=300, leads=100, seed=4, rule_share=0.2)
    sf, tk, state = env.sandbox.info["salesforce"], env.tk, env.settings.state_dir
    session = make_session(sf["ca_bundle"])
    tokens = auth.password(
        sf["login_url"], sf["client_id"], sf["client_secret"], sf["username"], sf["password"], session=session
    )
    connect_salesforce(
        tk.store,
        tk.credentials,
        env.settings,
        name="by-password",
        tokens=tokens,
        client_id=sf["client_id"],
        flow="password",
        secrets={"client_secret": sf["client_secret"], "password": sf["password"]},
    )
    setup_integration(tk, "contacts")
    tk.create_integration("leads", "Lead")
    tk.use_connection("leads", "by-password")
    tk.accept_opt_in("leads")
    tk.set_mapping("leads", tk.suggest_mapping("leads"))
    tk.choose_list("leads", new_list="Leads")
    tk.activate("leads")
    secrets = [sf["client_secret"], sf["password"], env.sandbox.info["brevo"]["api_key"]]
    texts: dict[str, str] = {}

    # A day's work: plans, runs, reports, the audit's DataFrames, the command line.
    for name in ("contacts", "leads"):
        tk.plan(name)
        result = tk.run(name)
        assert result.status == "succeeded" and result.rejected
        write_run_report(tk.store, result.run_id, tmp_path / "reports")
        texts[f"{name} result"] = repr(result)
    texts["audit frames"] = audit.rejections(tk.store).to_csv() + audit.runs(tk.store).to_csv()
    (state / "toolkit.toml").write_text(
        f'salesforce_login_url = "{env.settings.salesforce_login_url}"\n'
        f'brevo_api_url = "{env.settings.brevo_api_url}"\n'
        f'ca_bundle = "{env.settings.ca_bundle}"\n'
        + (
            f'state_url = "{env.settings.state_url}"\n' if env.settings.state_url else ""
        )  # TOOLKIT_TEST_BACKEND
    )
    for args in (
        ["sync", "contacts", "--report-dir", str(tmp_path / "reports")],
        ["sync", "leads", "--dry-run"],
        ["report", "--integration", "leads", "--dir", str(tmp_path / "reports")],
        ["integrations", "list"],
        ["integrations", "show", "leads"],
        ["quota", "show"],
    ):
        done = _cli(args, state)
        assert done.returncode == 0, done.stderr
        texts[f"toolkit {' '.join(args[:2])}"] = done.stdout + done.stderr
    texts["clients"] = (
        repr(tk.salesforce("contacts")) + repr(tk.brevo()) + repr(tokens) + repr(tk.credentials)
    )

    # Sign-ins that fail: a wrong Brevo key, a wrong client secret, a wrong password, a disabled API.
    wrong = {
        "brevo": "xkeysib-" + "0" * 64 + "-WRONGWRONGWRONG1",
        "secret": "wrong-client-secret-4242",
        "password": "wrong-password-4242",
    }
    secrets += list(wrong.values())
    save_brevo_key(tk.credentials, wrong["brevo"])
    with Toolkit(env.settings) as fresh:  # Salesforce signs in; Brevo refuses the key (401)
        refused_key = fresh.run("contacts")
        assert refused_key.status == "failed" and "Brevo refused the API key" in (refused_key.message or "")
        texts["run with a wrong Brevo key"] = repr(refused_key) + repr(
            fresh.store.get_integration("contacts")
        )
    tk.credentials.set("salesforce", "sandbox-org", "client_secret", wrong["secret"])
    tk.credentials.set("salesforce", "by-password", "password", wrong["password"])
    env.sandbox.oauth.expire_sessions()
    failures = 1
    with Toolkit(env.settings) as fresh:
        for name in ("contacts", "leads"):
            try:
                outcome = fresh.run(name)
                texts[f"failed run {name}"] = repr(outcome)
                failures += outcome.status == "failed"
            except ToolkitError as exc:
                texts[f"error of {name}"] = _error_text(exc)
                failures += 1
        for name in ("contacts", "leads"):
            integration = fresh.store.get_integration(name)
            texts[f"status of {name}"] = repr(integration) + repr(
                fresh.store.list_runs(integration.id, limit=5)
            )
    refusals = [t for k, t in texts.items() if k.startswith(("error of", "failed run"))]
    assert len(refusals) == 2 and all("sign-in" in t for t in refusals), refusals
    done = _cli(["sync", "contacts"], state)
    assert done.returncode != 0 and "sign-in" in done.stderr
    texts["toolkit sync with a wrong secret"] = done.stdout + done.stderr
    for flow_call in (
        lambda: auth.client_credentials(sf["login_url"], sf["client_id"], wrong["secret"], session=session),
        lambda: auth.password(
            sf["login_url"],
            sf["client_id"],
            sf["client_secret"],
            sf["username"],
            wrong["password"],
            session=session,
        ),
    ):
        with pytest.raises(ToolkitError) as refused:
            flow_call()
        texts[f"refused sign-in {failures}"] = _error_text(refused.value)
        failures += 1
    session.close()
    assert failures >= 5

    secrets += issued
    credentials = state / CREDENTIALS
    assert credentials.stat().st_mode & 0o777 == 0o600
    assert all(s in credentials.read_text() for s in (wrong["brevo"], wrong["secret"], wrong["password"]))
    texts.update(_files(state, tmp_path / "reports"))
    texts["logs"] = caplog.text
    assert len(caplog.records) > 50  # the DEBUG logs were captured
    assert _leaks(secrets, texts) == []
    figures(
        "secrets (password, client credentials, 2 integrations, 5 refused sign-ins)",
        f"{len(set(secrets))} secrets and tokens searched in {len(texts)} files, outputs, logs and messages: "
        f"0 found outside the 0600 credentials file",
    )


def test_the_demo_leaves_no_secret_outside_the_credentials_file(tmp_path: Path, figures: Any) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "toolkit", "demo", "--no-serve"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    state = tmp_path / ".sandbox" / "demo-state"
    stored = json.loads((state / CREDENTIALS).read_text())
    secrets = [value for kind in stored.values() for name in kind.values() for value in name.values()]
    assert len(secrets) >= 2  # the Brevo key and the client secret
    texts = _files(tmp_path) | {"demo output": done.stdout + done.stderr}
    assert _leaks(secrets, texts) == []
    figures(
        "secrets (make demo)",
        f"{len(secrets)} secrets searched in {len(texts)} files (state, notebooks, "
        f"reports) and the demo's output: 0 found outside the 0600 credentials file",
    )
