"""`make demo SERVE=0` as a newcomer runs it: the sandbox, a tour, a real sync, and the figures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def test_demo_without_serving_syncs_and_prints_the_figures(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "toolkit", "demo", "--no-serve"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"Salesforce: 2000 contacts \((\d+) without e-mail", out)
    written = int(re.search(r"first run:  succeeded, (\d+) records written", out).group(1))
    y6 = int(re.search(r"rejected:   Y6 (\d+)", out).group(1))
    assert written + y6 == 2000
    assert "second run: succeeded, 0 records written" in out
    state = tmp_path / ".sandbox" / "demo-state"
    assert (state / "state.db").exists()
    assert (state / "credentials.json").stat().st_mode & 0o777 == 0o600
