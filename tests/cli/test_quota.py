"""``toolkit quota show|set-limit|notify`` on a state directory named by the environment."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from tests.support.quota import active_integration, write
from toolkit.cli.quota import add_commands
from toolkit.config import Settings
from toolkit.quota import Quota
from toolkit.store import Store


def test_cli_quota_show_and_set_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="toolkit")
    add_commands(parser.add_subparsers(dest="command", required=True))

    def cli(*argv: str) -> tuple[int, str]:
        args = parser.parse_args(list(argv))
        code = args.func(args)
        return code, capsys.readouterr().out

    monkeypatch.setenv("TOOLKIT_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("TOOLKIT_QUOTA_LIMIT", "1000")
    with Store.open(tmp_path) as store:
        iid = active_integration(store, "contacts")
        write(
            Quota(store, Settings(state_dir=tmp_path, quota_limit=1000)), iid, store.start_run(iid).id, 1200
        )
    code, out = cli("quota", "show")
    assert code == 0
    assert "1,000 of 1,000 tasks used (100.0%), 0 left; state exhausted" in out
    assert "contacts" in out and "quota_exhausted  pending" in out
    code, out = cli("quota", "show", "--json")
    shown = json.loads(out)
    assert shown["status"]["used"] == 1000 and shown["by_integration"][0]["tasks"] == 1000
    code, out = cli("quota", "set-limit", "150_000")
    assert code == 0 and "Monthly limit 150,000 tasks (stored)." in out and "Resumed: contacts" in out
    code, out = cli("quota", "set-limit", "default")
    assert "Monthly limit 1,000 tasks (from the settings)." in out
    with Store.open(tmp_path) as store:
        assert store.get_integration("contacts").stop_reason == "quota"  # below usage again: stopped
    with pytest.raises(SystemExit):
        parser.parse_args(["quota", "set-limit", "0"])
    code, out = cli("quota", "notify")  # no sender configured: says so, sends nothing
    assert code == 2 and "notify_from" in out
