"""`toolkit sandbox start` as a user runs it: a real process, one JSON line, real HTTPS calls."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

INFO_KEYS = {
    "salesforce": {
        "login_url",
        "instance_url",
        "client_id",
        "client_secret",
        "username",
        "password",
        "ca_bundle",
    },
    "brevo": {"base_url", "api_key"},
}


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], dict]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "toolkit", "sandbox", "start", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else "no output"
    return proc, json.loads(line)


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


def _session(ca_bundle: str) -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    s.verify = ca_bundle
    return s


def test_b7_start_prints_one_json_line_with_what_a_client_needs(tmp_path: Path) -> None:
    proc, info = _start(tmp_path, "--contacts", "30", "--leads", "10", "--seed", "3")
    try:
        for side, keys in INFO_KEYS.items():
            assert keys <= set(info[side]), side
        assert info["brevo"]["base_url"].endswith("/v3")
        assert info["salesforce"]["instance_url"].startswith("https://127.0.0.1:")
        http = _session(info["salesforce"]["ca_bundle"])
        sf = info["salesforce"]
        token = http.post(
            f"{sf['login_url']}/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": sf["client_id"],
                "client_secret": sf["client_secret"],
            },
        ).json()
        count = http.get(
            f"{token['instance_url']}/services/data/v62.0/query",
            params={"q": "SELECT COUNT() FROM Contact"},
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
        assert count.status_code == 200 and count.json()["totalSize"] == 30
        lists = http.get(
            f"{info['brevo']['base_url']}/contacts/lists", headers={"api-key": info["brevo"]["api_key"]}
        )
        assert lists.status_code == 200 and lists.json()["count"] >= 1
    finally:
        code, out, err = _stop(proc)
    assert code == 0
    assert out == ""  # nothing after the JSON line: stdout stays machine-readable
    assert "Press Ctrl-C" in err


def test_b7_state_file_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    proc, info = _start(tmp_path, "--contacts", "12", "--leads", "0", "--state", str(state))
    code, _, _ = _stop(proc)
    assert code == 0 and state.exists()
    proc, info = _start(tmp_path, "--contacts", "500", "--state", str(state))  # loads, does not regenerate
    try:
        assert info["sandbox"]["contacts"] == 12
    finally:
        _stop(proc)


def test_bad_fault_spec_is_a_usage_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit", "sandbox", "start", "--faults", "418=0.5"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "unknown fault kind" in proc.stderr


def test_saved_state_is_private_to_its_owner(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    proc, _ = _start(tmp_path, "--contacts", "3", "--leads", "0", "--state", str(state))
    _stop(proc)
    assert state.stat().st_mode & 0o777 == 0o600  # it holds the sandbox's API key
