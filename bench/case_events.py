"""The event path of ``toolkit serve`` (issues 14 and 17): a Brevo edit reaches Salesforce in seconds.

A sandbox (in this process) and a :class:`toolkit.serve.app.Server` (without the apps) on one
integration, its webhook registered at the sandbox Brevo, which POSTs each event for real. Each
of ``events`` times, one linked contact's first name is changed through Brevo's API; the latency
is the time until the sandbox org holds the new value (checked every 5 ms), one event at a time.

Then the poll: with ``poll_seconds`` = 1 and nothing changing, the Salesforce API calls the polls
make, scaled to an hour at the default of one poll a minute per integration.

The sandbox, the server and this driver share one process and its GIL (and the machine's two
cores): the figures are an upper bound of what a server on its own machine sees.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from toolkit.api import Toolkit
from toolkit.apps import free_port
from toolkit.cli.demo import connect_sandbox, sandbox_settings, write_state_config
from toolkit.config import save_settings
from toolkit.sandbox import Sandbox, SandboxConfig
from toolkit.serve.app import Server

MAPPING = {"EMAIL": "Email", "FIRSTNAME": "FirstName", "LASTNAME": "LastName"}
NAME = "events"


def _until(check: Any, timeout: float, every: float = 0.005) -> float:
    """Seconds until ``check()`` is true (raises after ``timeout``)."""
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"not within {timeout} s")
        time.sleep(every)
    return time.perf_counter() - started


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def event_latency(work: Path, *, events: int = 100, contacts: int = 1000, seed: int = 50) -> dict[str, Any]:
    """Brevo edit -> Salesforce write latencies over ``events`` webhook events, and the poll's cost."""
    sandbox = Sandbox(SandboxConfig(contacts=contacts, seed=seed, brevo_rate_limit=0))
    info = sandbox.start()
    port = free_port()
    settings = sandbox_settings(
        info,
        work / "events-state",
        webhook_port=port,
        public_url=f"http://127.0.0.1:{port}",
        poll_seconds=0,
    )
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    write_state_config(info, settings.state_dir)  # the server's papermill runs read the same settings
    save_settings(settings.state_dir, webhook_port=port, public_url=settings.public_url, poll_seconds=0)
    tk = Toolkit(settings)
    server: Server | None = None
    try:
        connect_sandbox(tk, info, "sandbox-org")
        tk.create_integration(NAME, "Contact")
        tk.use_connection(NAME, "sandbox-org")
        tk.accept_opt_in(NAME)
        tk.set_mapping(NAME, MAPPING)
        tk.choose_list(NAME, new_list="Bench events")
        tk.store.update_integration(NAME, schedule="every 1 hours")
        tk.activate(NAME)
        first = tk.run(NAME)  # the initial load, before the server (its scheduled run then finds nothing)
        server = Server(settings, apps=False, refresh_seconds=0.5)
        server.start()
        _until(lambda: tk.store.get_integration(NAME).webhook_id is not None, 60, 0.1)
        iid = tk.store.get_integration(NAME).id
        _until(
            lambda: len(tk.store.list_runs(iid)) >= 2 and all(r.finished_at for r in tk.store.list_runs(iid)),
            120,
            0.1,
        )
        linked = sorted(link.sf_id for link in tk.links(NAME))
        brevo = tk.brevo()
        latencies: list[float] = []
        for n in range(events):
            sf_id = linked[(n * 7919) % len(linked)]
            value = f"Ev{n}-{sf_id[-5:]}"
            started = time.perf_counter()
            brevo.update_contact(sf_id, identifier_type="ext_id", attributes={"FIRSTNAME": value})
            _until(lambda: (sandbox.salesforce.get("Contact", sf_id) or {}).get("FirstName") == value, 30)  # noqa: B023
            latencies.append(time.perf_counter() - started)
        server.stop()
        server = None
        poll_calls = _poll_cost(sandbox, settings)
    finally:
        if server is not None:
            server.stop()
        tk.close()
        sandbox.stop()
    return {
        "events": events,
        "contacts": contacts,
        "initial_run_tasks": first.tasks,
        "event_latency_p50_s": round(statistics.median(latencies), 3),
        "event_latency_p95_s": round(_percentile(latencies, 0.95), 3),
        "event_latency_max_s": round(max(latencies), 3),
        **poll_calls,
    }


def _poll_cost(sandbox: Sandbox, settings: Any, seconds: float = 20) -> dict[str, Any]:
    """The Salesforce calls of polls that find nothing, per poll and per hour at one poll a minute."""
    server = Server(
        settings.replace(poll_seconds=1, public_url=""), apps=False, webhooks=False, refresh_seconds=0.5
    )
    with Toolkit(settings) as tk:
        iid = tk.store.get_integration(NAME).id
        last_run = tk.store.list_runs(iid, limit=1)[0].id
        server.start()
        try:  # the server's first scheduled run (nothing to do) is not the poll's cost
            _until(
                lambda: (latest := tk.store.list_runs(iid, limit=1)[0]).id > last_run and latest.finished_at,
                120,
                0.1,
            )
            mark = len(sandbox.log.entries("salesforce"))
            before = sum(h.polls for h in tk.store.poll_hours(iid))
            time.sleep(seconds)
            polls = sum(h.polls for h in tk.store.poll_hours(iid)) - before
            calls = len(sandbox.log.entries("salesforce")) - mark
        finally:
            server.stop()
    per_poll = calls / max(1, polls)
    return {"polls": polls, "poll_calls": calls, "poll_calls_per_hour": round(per_poll * 60, 1)}
