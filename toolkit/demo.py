"""``make demo``: the sandbox with seeded data, a short tour through real clients, then serving.

Later issues grow this into the full demo (integration, sync, audit report, Voila apps).
"""

from __future__ import annotations

import shutil
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from simple_salesforce import Salesforce

from .sandbox.runner import Sandbox, SandboxConfig

DEMO_CONTACTS = 2000
DEMO_LEADS = 500
DEMO_SEED = 42
DEMO_STATE = ".sandbox/demo-state"  # under the working directory (git-ignored in the repository)


def tour(info: dict[str, Any]) -> list[str]:
    """Reach both sandbox APIs the way a client does and describe what is there, line by line."""
    sf_info, brevo_info = info["salesforce"], info["brevo"]
    session = requests.Session()
    session.trust_env = False
    session.verify = sf_info["ca_bundle"]
    token = session.post(f"{sf_info['login_url']}/services/oauth2/token", timeout=30, data={
        "grant_type": "client_credentials", "client_id": sf_info["client_id"],
        "client_secret": sf_info["client_secret"]})
    token.raise_for_status()
    sf = Salesforce(instance_url=token.json()["instance_url"], session_id=token.json()["access_token"],
                    session=session, version=sf_info["api_version"])
    contacts = sf.query("SELECT COUNT() FROM Contact")["totalSize"]
    no_email = sf.query("SELECT COUNT() FROM Contact WHERE Email = null")["totalSize"]
    leads = sf.query("SELECT COUNT() FROM Lead")["totalSize"]
    cases = sf.query("SELECT COUNT() FROM Case")["totalSize"]
    sample = sf.query("SELECT Id, FirstName, LastName, Email, Phone FROM Contact ORDER BY Id LIMIT 3")
    brevo_headers = {"api-key": brevo_info["api_key"]}
    lists = session.get(f"{brevo_info['base_url']}/contacts/lists", headers=brevo_headers, timeout=30).json()
    brevo_contacts = session.get(f"{brevo_info['base_url']}/contacts", params={"limit": 1},
                                 headers=brevo_headers, timeout=30).json()
    used = sf.api_usage.get("api-usage")
    lines = [
        f"Salesforce: {contacts} contacts ({no_email} without e-mail, SPEC Y6), {leads} leads, {cases} cases",
        *(f"  {r['Id']}  {r['FirstName'] or ''} {r['LastName']}  <{r['Email'] or '-'}>  {r['Phone'] or ''}"
          for r in sample["records"]),
        f"  API usage: {used.used}/{used.total} calls today" if used else "  API usage: n/a",
        f"Brevo: {brevo_contacts['count']} contacts of its own, lists: "
        + ", ".join(f"#{lst['id']} {lst['name']}" for lst in lists.get("lists", [])),
    ]
    session.close()
    return lines


def demo_sync(info: dict[str, Any], state_dir: Path) -> list[str]:
    """Set up a Contacts integration on the sandbox as a scheduled job would, run it twice, report."""
    from .api import Toolkit
    from .config import Settings
    from .connections import connect_salesforce, save_brevo_key
    from .salesforce import auth, make_session

    sf = info["salesforce"]
    settings = Settings(state_dir=state_dir, salesforce_login_url=sf["login_url"],
                        brevo_api_url=info["brevo"]["base_url"], ca_bundle=Path(sf["ca_bundle"]))
    with Toolkit(settings) as tk:
        session = make_session(sf["ca_bundle"])
        tokens = auth.client_credentials(sf["login_url"], sf["client_id"], sf["client_secret"], session=session)
        session.close()
        connect_salesforce(tk.store, tk.credentials, settings, name="sandbox", tokens=tokens,
                           client_id=sf["client_id"], flow="client_credentials",
                           secrets={"client_secret": sf["client_secret"]})
        save_brevo_key(tk.credentials, info["brevo"]["api_key"])
        tk.create_integration("demo-contacts", "Contact")
        tk.use_connection("demo-contacts", "sandbox")
        tk.accept_opt_in("demo-contacts")
        mapping = tk.set_mapping("demo-contacts", tk.suggest_mapping("demo-contacts"))
        list_id = tk.choose_list("demo-contacts", new_list="Salesforce contacts (demo)")
        tk.activate("demo-contacts")
        plan = tk.plan("demo-contacts")
        first = tk.run("demo-contacts")
        second = tk.run("demo-contacts")
        lines = [
            f"Integration demo-contacts: Contacts -> Brevo list #{list_id}, mapping "
            + ", ".join(f"{a}<-{f}" for a, f in mapping.pairs),
            f"  dry run (B1): would write {plan.tasks} records",
            f"  first run:  {first.status}, {first.tasks} records written "
            + ", ".join(f"{k} {v}" for k, v in sorted(first.counts.items())),
            "  rejected:   " + (", ".join(f"{rule} {n}" for rule, n in sorted(first.rejected.items())) or "none"),
            f"  second run: {second.status}, {second.tasks} records written (nothing changed)",
            f"  state:      {state_dir}",
        ]
    return lines


def run_demo(*, serve: bool = True, out: Callable[[str], None] = print) -> int:
    """Start the sandbox, print how to reach it and a tour; serve until Ctrl-C when ``serve``."""
    sandbox = Sandbox(SandboxConfig(contacts=DEMO_CONTACTS, leads=DEMO_LEADS, seed=DEMO_SEED))
    info = sandbox.start()
    try:
        out(f"Sandbox Salesforce: {info['salesforce']['instance_url']}  (OAuth at /services/oauth2/token)")
        out(f"Sandbox Brevo:      {info['brevo']['base_url']}  (header api-key)")
        out(f"CA bundle to trust: {info['salesforce']['ca_bundle']}")
        for line in tour(info):
            out(line)
        state = Path(DEMO_STATE)
        shutil.rmtree(state, ignore_errors=True)  # each demo starts from a fresh state
        for line in demo_sync(info, state):
            out(line)
        if serve:
            out("Serving. `toolkit sandbox start` prints the credentials as JSON. Press Ctrl-C to stop.")
            stop = threading.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            stop.wait()
    finally:
        sandbox.stop()
    return 0
