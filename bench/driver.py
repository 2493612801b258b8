"""The benchmark's side of the processes: the sandbox host, toolkit state directories, child runs.

Every timed client (the toolkit's sync, the I/O floor, the per-record script) runs in a child
process of its own, started here, and reports one JSON line on stdout. Connection details and
the sandbox's credentials reach children on stdin or in the toolkit's 0600 state directory,
never on a command line (where ``ps`` would show them).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = "bench"
QUOTA_LIMIT = 100_000_000  # tasks a month: the benchmarks measure syncs, not the quota's stop (SPEC Q3)


def cpu_seconds() -> float:
    """This process's CPU seconds so far (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class BenchError(RuntimeError):
    """A child process or a host command failed."""


class Host:
    """A sandbox running in its own process (:mod:`bench.host`).

    Args:
        contacts: Salesforce Contacts to generate.
        seed: the data generator's seed.
        log_dir: where the host's stderr goes.
    """

    def __init__(self, contacts: int, *, seed: int, log_dir: Path) -> None:
        self._stderr = (log_dir / f"host-{contacts}.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.host", "--contacts", str(contacts), "--seed", str(seed)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            raise BenchError(f"the sandbox host did not start (see {self._stderr.name})")
        self.info: dict[str, Any] = json.loads(line)
        self.rss_mb = float(self.info["bench"]["rss_mb"])

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        """Send one command and return its answer."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline() or '{"ok": false, "error": "host gone"}')
        if not answer.pop("ok", False):
            raise BenchError(f"host command {op} failed: {answer.get('error')}")
        return answer

    def requests(self, since: int) -> list[dict[str, Any]]:
        """API requests the sandbox answered after log entry ``since``."""
        return list(self.call("log", since=since)["requests"])

    def mark(self) -> int:
        return int(self.call("log_mark")["mark"])

    def cpu_seconds(self) -> float:
        """The sandbox process's CPU seconds so far (user + system)."""
        return float(self.call("cpu")["cpu_seconds"])

    def stop(self) -> float:
        """Stop the sandbox; returns its peak RSS in MB."""
        try:
            rss = float(self.call("stop").get("rss_mb", 0))
        except (BenchError, OSError, ValueError):
            rss = 0.0
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()
        return rss


def make_toolkit_state(
    host: Host, state_dir: Path, *, name: str = INTEGRATION, state_url: str = ""
) -> dict[str, Any]:
    """A state directory with a connection and an active Contacts integration on ``host``.

    The setup is done here, before the timed run, as a user's wizard would have done it. The
    mapping is the one the wizard proposes (``Toolkit.suggest_mapping``); the monthly task quota
    is raised to :data:`QUOTA_LIMIT`. ``state_url`` puts the state on PostgreSQL (an empty
    database, its URL without a password); by default it is ``state_dir/state.db``.

    Returns:
        ``{"list_id": ..., "mapping": <stored mapping JSON>, "state_dir": ..., "state_location": ...}``.
    """
    from toolkit.api import Toolkit
    from toolkit.config import Settings
    from toolkit.connections import connect_salesforce, save_brevo_key
    from toolkit.salesforce import auth, make_session

    sf = host.info["salesforce"]
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "toolkit.toml").write_text(
        textwrap.dedent(f"""
        salesforce_login_url = "{sf["login_url"]}"
        brevo_api_url = "{host.info["brevo"]["base_url"]}"
        ca_bundle = "{sf["ca_bundle"]}"
        state_url = "{state_url}"
    """),
        encoding="utf-8",
    )
    settings = Settings(
        state_dir=state_dir,
        salesforce_login_url=sf["login_url"],
        brevo_api_url=host.info["brevo"]["base_url"],
        ca_bundle=Path(sf["ca_bundle"]),
        state_url=state_url,
    )
    with Toolkit(settings) as tk:
        session = make_session(sf["ca_bundle"])
        try:
            tokens = auth.client_credentials(
                sf["login_url"], sf["client_id"], sf["client_secret"], session=session
            )
        finally:
            session.close()
        connect_salesforce(
            tk.store,
            tk.credentials,
            settings,
            name="bench-org",
            tokens=tokens,
            client_id=sf["client_id"],
            flow="client_credentials",
            secrets={"client_secret": sf["client_secret"]},
        )
        save_brevo_key(tk.credentials, host.info["brevo"]["api_key"])
        tk.create_integration(name, "Contact")
        tk.use_connection(name, "bench-org")
        tk.accept_opt_in(name)
        tk.set_mapping(name, tk.suggest_mapping(name))
        list_id = tk.choose_list(name, new_list=f"Bench {state_dir.name}")
        tk.activate(name)
        tk.quota.set_limit(QUOTA_LIMIT)  # an initial load of a large org needs more than 100,000 tasks
        mapping = tk.store.get_integration(name).mapping
    return {
        "list_id": list_id,
        "mapping": mapping,
        "state_dir": str(state_dir),
        "state_location": str(settings.state_location),
    }


def run_child(
    module: str,
    args: list[str],
    *,
    stdin: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 7200,
) -> dict[str, Any]:
    """Run ``python -m module args`` and return the JSON of its last stdout line.

    Raises:
        BenchError: the child failed or printed no JSON.
    """
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        input=json.dumps(stdin) if stdin is not None else None,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.splitlines()[-15:])
        raise BenchError(f"{module} exited {done.returncode}:\n{tail}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def run_on(
    host: Host, module: str, args: list[str], *, stdin: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """:func:`run_child` against ``host``: its result and the API requests the sandbox answered.

    The result gets ``sandbox_cpu_seconds``: the CPU the sandbox process used while the child
    ran (its start-up included, when the sandbox idles).
    """
    mark, cpu = host.mark(), host.cpu_seconds()
    result = run_child(module, args, stdin=stdin)
    result["sandbox_cpu_seconds"] = host.cpu_seconds() - cpu
    return result, host.requests(mark)


def count_calls(requests: list[dict[str, Any]]) -> dict[str, int]:
    """API calls by service (OAuth token requests and control routes are not API calls)."""
    counts = {"salesforce": 0, "brevo": 0}
    for r in requests:
        if r["service"] == "salesforce" and not r["path"].startswith("/services/data"):
            continue
        counts[r["service"]] = counts.get(r["service"], 0) + 1
    return counts
