"""Several Salesforce orgs, one Brevo account, one shared state, and worker processes running it.

The multi-worker test of issue 16 (``tests/reliability/test_workers.py``) builds on this:

- :func:`open_fleet`: one sandbox per org (:class:`OrgSpec`: Contacts or Leads, a seed, its own
  pod, so that the orgs' record Ids differ as real orgs' do), ONE Brevo account (the first
  sandbox's) for every integration, a Toolkit on the given state (PostgreSQL) and one
  integration per org, each on its own connection and its own Brevo list. The sandboxes' CAs go
  into one bundle file (each sandbox makes its own CA; requests accepts a bundle of several).
- :func:`mutate_fleet`: a round of users' edits on every org and on the shared Brevo account
  (each org's edits seeded by the org, on its own records and the Brevo contacts of its
  integration), deterministic, straight into the sandboxes (neither logged nor faulted).
- :func:`fleet_snapshot`: what the syncs leave behind, over every org and the shared account.
- :func:`run_round`: worker processes (``python -m tests.support.worker``), as separate
  machines would be: each with its own state directory (its ``toolkit.toml`` and a copy of the
  credentials, nothing secret on the command line), the shared state through
  ``TOOLKIT_STATE_URL``; optionally one of them killed with SIGKILL in the middle of a run.
- :class:`WriteCounter`: the records the sandboxes really wrote (each org's saved and deleted
  records, the Brevo contacts created, changed or deleted), to compare with the tasks counted.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.scenario import (
    RULE_SHARE,
    SETTINGS,
    VOLATILE,
    audit_snapshot,
    brevo_snapshot,
    edit_round,
)
from tests.support.sync import MAPPING, write_settings
from toolkit.api import Toolkit
from toolkit.brevo import contact_ext_id
from toolkit.cli.demo import connect_sandbox
from toolkit.config import Settings
from toolkit.connections import save_brevo_key
from toolkit.sandbox import Sandbox, SandboxConfig
from toolkit.sandbox.brevo import BrevoAccount
from toolkit.sandbox.middleware import FAULT_KINDS, FaultInjector, FaultPlan
from toolkit.sandbox.salesforce import SalesforceOrg

__all__ = [
    "DELAY",
    "Fleet",
    "Kill",
    "KillPlan",
    "Org",
    "OrgSpec",
    "RoundReport",
    "WriteCounter",
    "arm_faults",
    "brevo_duplicates",
    "disarm_faults",
    "fleet_snapshot",
    "mutate_fleet",
    "mutate_org",
    "open_fleet",
    "org_specs",
    "run_round",
    "runs_since",
    "worker_dirs",
]

ROOT = Path(__file__).resolve().parents[2]  # where ``python -m tests.support.worker`` is found
#: The orgs' pods: a different instance per org, so that no two orgs issue the same Id.
PODS = ("W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8")
DELAY = 0.2  # seconds a "delay" fault holds a request (as test_faults.py)


@dataclass(frozen=True)
class OrgSpec:
    """One org and its integration: the integration's name, its object, how many records, the seed."""

    name: str
    sobject: str
    records: int
    seed: int
    pod: str


def org_specs(records: int, seed: int, *, contacts: int = 3, leads: int = 3) -> list[OrgSpec]:
    """``contacts`` orgs of Contacts then ``leads`` orgs of Leads, ``records`` each, seeds from ``seed``."""
    kinds = [("contacts", "Contact")] * contacts + [("leads", "Lead")] * leads
    numbers: Counter[str] = Counter()
    specs = []
    for i, (prefix, sobject) in enumerate(kinds):
        numbers[prefix] += 1
        specs.append(OrgSpec(f"{prefix}-{numbers[prefix]}", sobject, records, seed + i, PODS[i]))
    return specs


@dataclass
class Org:
    """A running sandbox org and the integration that syncs it."""

    spec: OrgSpec
    sandbox: Sandbox
    info: dict[str, Any]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def salesforce(self) -> SalesforceOrg:
        return self.sandbox.salesforce

    def calls(self) -> int:
        """Salesforce API calls this org answered so far."""
        return len(self.sandbox.log.entries("salesforce"))


@dataclass
class Fleet:
    """The orgs, the shared Brevo account (the first sandbox's) and the admin's Toolkit on the state."""

    orgs: list[Org]
    tk: Toolkit
    root: Path

    @property
    def settings(self) -> Settings:
        return self.tk.settings

    @property
    def brevo(self) -> BrevoAccount:
        return self.orgs[0].sandbox.brevo

    @property
    def names(self) -> list[str]:
        return [org.name for org in self.orgs]

    def org(self, name: str) -> Org:
        return next(org for org in self.orgs if org.name == name)

    def injectors(self) -> dict[str, FaultInjector]:
        """Every service the toolkit talks to: each org's Salesforce, and the one Brevo account."""
        out = {f"salesforce:{org.name}": org.sandbox.faults["salesforce"] for org in self.orgs}
        out["brevo"] = self.orgs[0].sandbox.faults["brevo"]
        return out

    def calls(self) -> list[Any]:
        """Every API request answered so far (the orgs' Salesforce ones and the shared Brevo's)."""
        entries = [e for org in self.orgs for e in org.sandbox.log.entries("salesforce")]
        return entries + self.orgs[0].sandbox.log.entries("brevo")

    def tasks(self) -> int:
        """Tasks the quota ledger counted this month (SPEC Q1), over every integration."""
        return int(self.tk.quota.status().used)

    def last_run_id(self) -> int:
        runs = self.tk.store.list_runs(limit=1)
        return runs[0].id if runs else 0


def _phone_key(value: object) -> str | None:
    """The last 8 digits of a phone number: equal for every way of writing one number (a
    conservative key: Brevo matches contacts by their SMS number, in E.164)."""
    digits = "".join(c for c in str(value or "") if c.isdigit())
    return digits[-8:] if len(digits) >= 8 else None


def _identifiers(org: Org) -> set[str]:
    """What Brevo could match a record of ``org`` on: its e-mail and its mobile number."""
    out = set()
    for r in org.salesforce.records(org.spec.sobject):
        if r.get("Email"):
            out.add("email:" + str(r["Email"]).strip().lower())
        if (phone := _phone_key(r.get("MobilePhone"))) is not None:
            out.add("sms:" + phone)
    return out


def _check_disjoint(orgs: list[Org]) -> None:
    """The orgs share no e-mail and no mobile number (nor with the shared account's own contacts,
    but for the first org's, whose sandbox made them).

    The integrations must be independent for the final state not to depend on the order of the
    runs: one person in two orgs would be one Brevo contact claimed by two integrations.
    """
    seen: dict[str, str] = {}
    for org in orgs:
        for key in _identifiers(org):
            assert key not in seen, f"{key} is in {seen[key]} and {org.name}: pick other seeds"
            seen[key] = org.name
    own = set()
    for contact in orgs[0].sandbox.brevo.contacts():
        if contact.get("email"):
            own.add("email:" + str(contact["email"]).lower())
        if (phone := _phone_key(contact["attributes"].get("SMS"))) is not None:
            own.add("sms:" + phone)
    clash = sorted(k for k in own if seen.get(k, orgs[0].name) != orgs[0].name)
    assert not clash, f"Brevo's own contacts share identifiers with other orgs: {clash[:3]}"


def _connect(tk: Toolkit, org: Org) -> None:
    """Sign in to ``org`` (client credentials, at its own login URL) as connection ``org-<name>``."""
    connect_sandbox(tk, org.info, f"org-{org.name}", brevo_key=False)


def _setup_integration(tk: Toolkit, org: Org) -> None:
    name = org.name
    tk.create_integration(name, org.spec.sobject)
    tk.use_connection(name, f"org-{name}")
    tk.accept_opt_in(name)
    tk.set_mapping(name, MAPPING)
    tk.choose_list(name, new_list=f"Salesforce {name}")
    tk.activate(name)


@contextmanager
def open_fleet(root: Path, specs: list[OrgSpec], *, state_url: str, **settings: Any) -> Iterator[Fleet]:
    """Start one sandbox per spec, a Toolkit on ``state_url`` (the admin's) and every integration.

    The Brevo key saved is the first sandbox's: every integration writes to that one account.
    """
    orgs: list[Org] = []
    tk: Toolkit | None = None
    try:
        for spec in specs:
            contacts, leads = (spec.records, 0) if spec.sobject == "Contact" else (0, spec.records)
            sandbox = Sandbox(
                SandboxConfig(
                    contacts=contacts,
                    leads=leads,
                    seed=spec.seed,
                    rule_share=RULE_SHARE,
                    brevo_rate_limit=0,
                    pod=spec.pod,
                )
            )
            orgs.append(Org(spec, sandbox, sandbox.start()))
        _check_disjoint(orgs)
        root.mkdir(parents=True, exist_ok=True)
        bundle = root / "sandboxes-ca.pem"  # one CA per sandbox: one bundle that trusts them all
        bundle.write_text(
            "".join(Path(org.info["salesforce"]["ca_bundle"]).read_text() for org in orgs), encoding="utf-8"
        )
        first = orgs[0].info
        tk = Toolkit(
            Settings(
                state_dir=root / "admin",
                state_url=state_url,
                salesforce_login_url=first["salesforce"]["login_url"],
                brevo_api_url=first["brevo"]["base_url"],
                ca_bundle=bundle,
                **(SETTINGS | settings),
            )
        )
        save_brevo_key(tk.credentials, first["brevo"]["api_key"])
        for org in orgs:
            _connect(tk, org)
            _setup_integration(tk, org)
        yield Fleet(orgs, tk, root)
    finally:
        if tk is not None:
            tk.close()
        for org in orgs:
            org.sandbox.stop()


# -- users' edits -------------------------------------------------------------------------------------


def mutate_org(fleet: Fleet, org: Org, round_no: int) -> dict[str, int]:
    """One round of users' edits on ``org`` and on its integration's contacts in the shared account.

    :func:`tests.support.scenario.edit_round`, seeded by the org's seed, on the org's object, and
    in Brevo on the contacts whose ext_id is one of this org's Ids (its pod). New e-mails carry the
    org's seed or an Id: the orgs stay disjoint.
    """
    pod = org.spec.pod
    return edit_round(
        org.salesforce,
        org.spec.sobject,
        fleet.brevo,
        org.spec.seed,
        round_no,
        mine=lambda ext_id: ext_id[3:5] == pod,
    )


def mutate_fleet(fleet: Fleet, round_no: int) -> dict[str, int]:
    """:func:`mutate_org` on every org, in the fleet's order; the edits made, summed."""
    total: Counter[str] = Counter()
    for org in fleet.orgs:
        total.update(mutate_org(fleet, org, round_no))
    return dict(total)


# -- what the syncs leave behind ---------------------------------------------------------------------


def brevo_duplicates(account: BrevoAccount) -> list[str]:
    """ext_ids and e-mails that more than one Brevo contact has (none, after a correct sync)."""
    contacts = account.contacts()
    keys = Counter(f"ext_id:{contact_ext_id(c)}" for c in contacts if contact_ext_id(c))
    keys.update(f"email:{str(c['email']).lower()}" for c in contacts if c.get("email"))
    return sorted(k for k, n in keys.items() if n > 1)


def fleet_snapshot(fleet: Fleet) -> dict[str, Any]:
    """Everything the syncs must reproduce, free of ids and times that differ between sandboxes.

    Brevo contacts by ext_id (or e-mail for Brevo's own) with e-mail, attributes and list names;
    every org's records of its object (Recycle Bin included) without the fields each write moves;
    per integration, the audit's rejections (open and resolved) and the links.
    """
    salesforce: dict[str, Any] = {}
    for org in fleet.orgs:
        for r in org.salesforce.records(org.spec.sobject, include_deleted=True):
            assert r["Id"] not in salesforce, f"two orgs issued {r['Id']}"
            salesforce[r["Id"]] = {k: v for k, v in r.items() if k not in VOLATILE}
    rejections: dict[str, Any] = {}
    links: dict[str, Any] = {}
    for name in fleet.names:
        rejections[name], links[name] = audit_snapshot(
            fleet.tk.store, fleet.tk.store.get_integration(name).id
        )
    return {
        "brevo": brevo_snapshot(fleet.brevo),
        "salesforce": salesforce,
        "rejections": rejections,
        "links": links,
    }


def runs_since(fleet: Fleet, mark: int) -> list[Any]:
    """The runs started after run ``mark`` (every integration), oldest first."""
    return sorted((r for r in fleet.tk.store.list_runs(limit=None) if r.id > mark), key=lambda r: r.id)


# -- faults ------------------------------------------------------------------------------------------


def arm_faults(fleet: Fleet, rate: float, seed: int) -> None:
    """``rate`` of every service's requests faulted, the kinds in equal shares (as test_faults.py)."""
    for n, injector in enumerate(fleet.injectors().values()):
        injector.set_plan(
            FaultPlan(
                rates={k: rate / len(FAULT_KINDS) for k in FAULT_KINDS},
                delay_seconds=DELAY,
                seed=seed * 100 + n,
            )
        )


def disarm_faults(fleet: Fleet) -> None:
    for injector in fleet.injectors().values():
        injector.set_plan(FaultPlan())


# -- the records the sandboxes really wrote ----------------------------------------------------------


class WriteCounter:
    """The records the sandboxes write while it is installed: a spy that forwards every call.

    Salesforce: the Id of each record each org's ``save`` (the REST writes) and ``delete_many``
    wrote successfully. Brevo: each contact the shared account's store creates, changes (every
    ``apply``: imports, the B8 flags, list removals) or deletes. A record counts once however many
    calls wrote it (a contact created by an import whose unsubscribe flag follows in
    ``/contacts/batch`` is one record written, one task). Install it only while nobody but the
    toolkit writes (users' edits go through the same methods) and over a span in which each
    record is written once at most (one task each).
    """

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.records: dict[str, set[str]] = {"salesforce": set(), "brevo": set()}
        self.calls: Counter[str] = Counter()
        self._undo: list[Callable[[], None]] = []

    def _wrap(
        self, owner: Any, method: str, side: str, written: Callable[[Any, tuple[Any, ...]], list[str]]
    ) -> None:
        original = getattr(owner, method)

        def spy(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            self.calls[f"{side}.{method}"] += 1
            self.records[side].update(written(result, args))
            return result

        setattr(owner, method, spy)
        self._undo.append(lambda: delattr(owner, method))

    def __enter__(self) -> WriteCounter:
        def saved(results: Any, _args: tuple[Any, ...]) -> list[str]:
            return [str(r["id"]) for r in results if r.get("success")]

        for org in self.fleet.orgs:
            self._wrap(org.salesforce, "save", "salesforce", saved)
            self._wrap(org.salesforce, "delete_many", "salesforce", saved)
        store = self.fleet.brevo.contact_store
        self._wrap(store, "create", "brevo", lambda contact, _args: [str(contact.id)])
        self._wrap(store, "apply", "brevo", lambda _changed, args: [str(args[0].id)])
        self._wrap(store, "delete", "brevo", lambda _none, args: [str(args[0].id)])
        return self

    def __exit__(self, *exc: object) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()

    @property
    def total(self) -> int:
        """Records written (each once)."""
        return sum(len(ids) for ids in self.records.values())


# -- worker processes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class KillPlan:
    """Kill worker ``victim`` with SIGKILL after ``calls`` Salesforce calls of its run (+ ``extra`` s)."""

    victim: int
    calls: int
    extra: float


@dataclass
class Kill:
    """A worker killed in the middle of a run."""

    worker: int
    pid: int
    integration: str
    run_id: int
    calls: int  # Salesforce calls its run made between its ``running`` line and the kill
    status_at_kill: str  # the run's status in the state right after the kill
    at: float  # time.time() of the kill


@dataclass
class RoundReport:
    """What a round's workers did: their pids, their progress events, the kill (if any)."""

    pids: dict[int, int]
    events: dict[int, list[dict[str, Any]]]
    kill: Kill | None
    seconds: float
    returncodes: dict[int, int] = field(default_factory=dict)

    def ends(self) -> list[dict[str, Any]]:
        """Every finished run the workers reported (with their worker and pid)."""
        return [e for events in self.events.values() for e in events if e["event"] == "end"]

    def count(self, event: str) -> int:
        return sum(1 for events in self.events.values() for e in events if e["event"] == event)


def worker_dirs(fleet: Fleet, workers: int) -> list[Path]:
    """One state directory per worker: its toolkit.toml and a 0600 copy of the credentials.

    The state itself is the fleet's (``TOOLKIT_STATE_URL``); nothing else is shared.
    """
    dirs = []
    for n in range(workers):
        state_dir = fleet.root / f"worker-{n}"
        state_dir.mkdir(parents=True, exist_ok=True)
        write_settings(dataclasses.replace(fleet.settings, state_dir=state_dir, state_url=""))
        shutil.copy2(fleet.settings.credentials_path, state_dir / "credentials.json")
        dirs.append(state_dir)
    return dirs


def _read_events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:  # the last line of a killed worker may be cut short
            continue
    return events


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _kill_mid_run(
    fleet: Fleet, proc: subprocess.Popen[bytes], progress: Path, plan: KillPlan, worker: int
) -> Kill | None:
    """SIGKILL worker ``worker`` once it is inside a run, ``plan.calls`` Salesforce calls into it.

    The worker says which run it is in (its ``running`` line, written once the run is recorded in
    the state); while the run goes on, its org's Salesforce log grows. A run that ends before the
    calls are made is let be and the worker's next one tried. Returns None when the worker exited
    first. (The progress file is polled by its size: this process also serves the sandboxes.)
    """
    size = -1
    while proc.poll() is None:
        if _size(progress) == size:
            time.sleep(0.002)
            continue
        size = _size(progress)
        events = _read_events(progress)
        if not events or events[-1]["event"] != "running":
            continue
        run_id = int(events[-1]["run_id"])
        name = next(e["name"] for e in reversed(events) if e["event"] == "start")
        org = fleet.org(name)
        base = org.calls()

        def same(seen: int = size) -> bool:
            return proc.poll() is None and _size(progress) == seen

        while same() and org.calls() - base < plan.calls:
            time.sleep(0.001)
        time.sleep(plan.extra)
        if not same():
            continue  # the run ended first: try the worker's next one
        calls, at = org.calls() - base, time.time()
        proc.send_signal(signal.SIGKILL)
        proc.wait()  # reaped: no zombie holds its pid
        status = fleet.tk.store.get_run(run_id).status
        return Kill(worker, proc.pid, name, run_id, calls, str(status), at)
    return None


def run_round(
    fleet: Fleet,
    round_no: int,
    *,
    workers: int,
    seed: int,
    need: int,
    until_stopped: bool = False,
    kill: KillPlan | None = None,
    timeout: float = 300,
) -> RoundReport:
    """Start ``workers`` worker processes on the shared state and wait until they are done.

    Each runs the integrations in its own seeded order until every integration has ``need``
    succeeded runs that started in this round (with ``until_stopped``, an integration stopped by
    the quota counts as done too). With ``kill``, one worker is killed with SIGKILL in the middle
    of one of its runs; the others carry on.
    """
    dirs = worker_dirs(fleet, workers)
    mark = fleet.last_run_id()
    round_dir = fleet.root / f"round-{round_no}"
    round_dir.mkdir(parents=True, exist_ok=True)
    procs: dict[int, subprocess.Popen[bytes]] = {}
    progress = {n: round_dir / f"worker-{n}.jsonl" for n in range(workers)}
    started = time.monotonic()
    for n, state_dir in enumerate(dirs):
        environ = {
            **os.environ,
            "TOOLKIT_STATE_DIR": str(state_dir),
            "TOOLKIT_STATE_URL": fleet.settings.state_url,
            "TOOLKIT_ACTOR": f"worker-{n}",
        }
        argv = [sys.executable, "-m", "tests.support.worker", "--progress", str(progress[n])]
        argv += ["--seed", str(seed * 10 + n), "--after-run", str(mark), "--need", str(need)]
        argv += ["--deadline", str(timeout)]
        if until_stopped:
            argv.append("--until-stopped")
        with (round_dir / f"worker-{n}.err").open("wb") as err:
            procs[n] = subprocess.Popen(argv, env=environ, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
    killed: Kill | None = None
    codes = {}
    try:
        if kill is not None:
            killed = _kill_mid_run(fleet, procs[kill.victim], progress[kill.victim], kill, kill.victim)
        for n, proc in procs.items():
            try:
                codes[n] = proc.wait(timeout=max(1.0, timeout + 30 - (time.monotonic() - started)))
            except subprocess.TimeoutExpired:
                raise AssertionError(
                    f"round {round_no}: worker {n} did not finish in {timeout:.0f} s"
                ) from None
    finally:  # none of them outlives the round
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for n, code in codes.items():
        if killed is not None and n == killed.worker:
            continue
        stderr = (round_dir / f"worker-{n}.err").read_text(errors="replace")
        assert code == 0, f"round {round_no}: worker {n} exit {code}: {stderr[-2000:]}"
    return RoundReport(
        {n: p.pid for n, p in procs.items()},
        {n: _read_events(progress[n]) for n in procs},
        killed,
        time.monotonic() - started,
        codes,
    )
