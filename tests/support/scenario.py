"""A seeded two-way workload and a snapshot of everything a sync leaves behind.

The same ``(contacts, seed)`` gives the same sandbox data (Salesforce Ids are sequential, the
generator is seeded) and :func:`mutate` makes the same users' edits on both sides, so a faulted,
crashed or concurrent run can be compared with a fault-free one field by field.

Users' edits go straight into the sandbox's stores (they are people working in Salesforce and
Brevo, not the toolkit): they are neither logged nor faulted.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.sync import Env, make_env, setup_integration
from toolkit.brevo import contact_ext_id
from toolkit.sandbox.brevo import BrevoAccount
from toolkit.sandbox.brevo.contact_ops import update_contact
from toolkit.sandbox.salesforce import SalesforceOrg
from toolkit.store import RejectionState, Store
from toolkit.sync import RunResult

NAME = "contacts"
RULE_SHARE = 0.05  # records breaking a Y rule: the runs have rejections to compare too
# Deletions in Brevo are looked for on every run, so that each run exercises that phase too; the
# quota never stops a workload (the crash test sets its own, to see the 80% e-mail go once).
SETTINGS: dict[str, Any] = {"brevo_deletion_check_hours": 0, "quota_limit": 10_000_000}
# Fields every write moves on its own (times, the writer) and the org's random user Id.
VOLATILE = {
    "SystemModstamp",
    "LastModifiedDate",
    "LastModifiedById",
    "LastReferencedDate",
    "LastViewedDate",
    "CreatedDate",
    "CreatedById",
    "OwnerId",
}


@contextmanager
def workload_env(tmp_path: Path, contacts: int, seed: int, **settings: Any) -> Iterator[Env]:
    """A sandbox with ``contacts`` generated Contacts, a toolkit and the integration set up."""
    sandbox, tk = make_env(
        tmp_path, contacts=contacts, seed=seed, rule_share=RULE_SHARE, **(SETTINGS | settings)
    )
    try:
        setup_integration(tk, NAME)
        yield Env(sandbox, tk, tk.settings)
    finally:
        tk.close()
        sandbox.stop()


def cli_environment(env: Env) -> dict[str, str]:
    """What a scheduled ``toolkit sync`` gets: the state directory and a toolkit.toml (no secret)."""
    s = env.settings
    (s.state_dir / "toolkit.toml").write_text(
        "\n".join(
            [
                f'salesforce_login_url = "{s.salesforce_login_url}"',
                f'brevo_api_url = "{s.brevo_api_url}"',
                f'ca_bundle = "{s.ca_bundle}"',
                f"brevo_deletion_check_hours = {s.brevo_deletion_check_hours}",
                f"quota_limit = {s.quota_limit}",
                f"notify_to = {list(s.notify_to)!r}".replace("'", '"'),
                f'notify_from = "{s.notify_from}"',
            ]
        )
        + "\n"
    )
    return {**os.environ, "TOOLKIT_STATE_DIR": str(s.state_dir), "TOOLKIT_STATE_URL": s.state_url}


def run_rounds(
    env: Env, seed: int, rounds: int, settle: Callable[[Env], None] | None = None
) -> list[RunResult]:
    """The initial load, then ``rounds`` times: users' edits and a run. Each run must succeed.

    ``settle`` runs after each run, before the next users' edits (e.g. to let late requests land).
    """
    results = []
    for round_no in range(rounds + 1):
        if round_no:
            mutate(env, seed, round_no)
        env.sandbox.oauth.expire_sessions()  # every run signs in again (through faults, if any)
        result = env.tk.run(NAME)
        assert result.status == "succeeded", f"round {round_no}: {result.status}: {result.message}"
        results.append(result)
        if settle is not None:
            settle(env)
    return results


def _pick(rng: random.Random, items: list[str], share: float) -> list[str]:
    return sorted(rng.sample(items, max(1, round(len(items) * share)))) if items else []


def mutate(env: Env, seed: int, round_no: int) -> dict[str, int]:
    """One round of users' edits on both sides, the same for the same ``(seed, round_no)``.

    Salesforce: first names, e-mails changed (B5) and removed (Y6), mobiles emptied (Y7),
    records deleted and created. Brevo: last names (some emptied: Y5), first names of records
    also edited in Salesforce (conflicts), contacts deleted (Y10 where a Case exists) and
    Brevo-only contacts created (Y1).
    """
    return edit_round(env.sandbox.salesforce, "Contact", env.sandbox.brevo, seed, round_no)


def edit_round(
    org: SalesforceOrg,
    sobject: str,
    account: BrevoAccount,
    seed: int,
    round_no: int,
    mine: Callable[[str], bool] = lambda ext_id: True,
) -> dict[str, int]:
    """:func:`mutate`'s edits on ``org``'s ``sobject`` records (converted Leads left alone) and on
    the Brevo contacts of ``account`` whose ext_id is ``mine``; the edits made, by kind."""
    rng = random.Random(f"{seed}:edits:{round_no}")
    counts: Counter[str] = Counter()
    live = sorted(r["Id"] for r in org.records(sobject) if not r.get("IsConverted"))
    names = _pick(rng, live, 0.08)
    org.update_many(sobject, [{"Id": i, "FirstName": f"R{round_no}-{i[-5:]}"} for i in names])
    counts["sf.first_name"] = len(names)
    emails = _pick(rng, live, 0.01)
    org.update_many(sobject, [{"Id": i, "Email": f"r{round_no}.{i.lower()}@moved.example"} for i in emails])
    counts["sf.email_changed"] = len(emails)
    no_email = _pick(rng, live, 0.005)
    org.update_many(sobject, [{"Id": i, "Email": None} for i in no_email])
    counts["sf.email_removed"] = len(no_email)
    no_mobile = _pick(rng, live, 0.005)
    org.update_many(sobject, [{"Id": i, "MobilePhone": None} for i in no_mobile])
    counts["sf.mobile_emptied"] = len(no_mobile)
    gone = _pick(rng, live, 0.004)
    counts["sf.deleted"] = sum(1 for r in org.delete_many(gone) if r.get("success"))
    company = {"Company": f"Fresh {seed}"} if sobject == "Lead" else {}
    new = [
        {
            "LastName": f"New {round_no}-{n}",
            "FirstName": "Neu",
            "Email": f"new{round_no}.{n}.{seed}@fresh.example",
            **company,
        }
        for n in range(max(1, len(live) // 40))
    ]
    counts["sf.created"] = sum(1 for r in org.create_many(sobject, new) if r.get("success"))

    with account.lock:
        in_brevo = sorted(c.ext_id for c in account.contact_store.all() if c.ext_id and mine(c.ext_id))
    for ext_id in _pick(rng, in_brevo, 0.08):
        update_contact(
            account, ext_id, "ext_id", {"attributes": {"LASTNAME": f"Brevo{round_no} {ext_id[-4:]}"}}
        )
        counts["brevo.last_name"] += 1
    for ext_id in _pick(rng, in_brevo, 0.004):
        update_contact(account, ext_id, "ext_id", {"attributes": {"LASTNAME": ""}})
        counts["brevo.last_name_emptied"] += 1
    for ext_id in [i for i in names if i in set(in_brevo)][::4]:
        update_contact(account, ext_id, "ext_id", {"attributes": {"FIRSTNAME": f"B{round_no}-{ext_id[-5:]}"}})
        counts["brevo.conflict"] += 1
    with account.lock:
        for ext_id in _pick(rng, in_brevo, 0.004):
            contact = account.contact_store.find(ext_id, "ext_id")
            if contact is not None:
                account.contact_store.delete(contact)
                counts["brevo.deleted"] += 1
    for n in range(max(1, len(live) // 200)):
        account.create_contact(
            email=f"brevo-only.{round_no}.{n}.{seed}@own.example", attributes={"LASTNAME": f"Own {n}"}
        )
        counts["brevo.created"] += 1
    return dict(counts)


def snapshot(env: Env, name: str = NAME) -> dict[str, Any]:
    """Everything a sync must reproduce, free of ids and times that differ between sandboxes.

    Brevo contacts by ext_id (or e-mail for Brevo's own) with e-mail, attributes and list
    names; Salesforce Contacts (Recycle Bin included) without the fields each write moves;
    the audit's rejections (open and resolved) and the integration's links.
    """
    salesforce = {
        r["Id"]: {k: v for k, v in r.items() if k not in VOLATILE}
        for r in env.sandbox.salesforce.records("Contact", include_deleted=True)
    }
    rejections, links = audit_snapshot(env.tk.store, env.tk.store.get_integration(name).id)
    return {
        "brevo": brevo_snapshot(env.sandbox.brevo),
        "salesforce": salesforce,
        "rejections": rejections,
        "links": links,
    }


def brevo_snapshot(account: BrevoAccount) -> dict[str, Any]:
    """Every Brevo contact by ext_id (or e-mail for Brevo's own): e-mail, attributes, list names."""
    list_names = {lst.id: lst.name for lst in account.list_store.lists.values()}
    brevo: dict[str, Any] = {}
    for contact in account.contacts():
        key = contact_ext_id(contact) or f"email:{contact.get('email')}"
        assert key not in brevo, f"two Brevo contacts share {key}"
        brevo[key] = (
            contact.get("email"),
            dict(sorted(contact["attributes"].items())),
            sorted(list_names[i] for i in contact.get("listIds", [])),
        )
    return brevo


def audit_snapshot(store: Store, integration_id: int) -> tuple[list[Any], list[Any]]:
    """An integration's rejections (open and resolved) and its links, sorted."""
    rejections = sorted(
        (
            r["direction"],
            r["record_id"],
            r["rule"],
            r["field"] or "",
            r["value"] or "",
            r["resolved_at"] is None,
        )
        for r in store.list_rejections(integration_id, state=RejectionState.ALL)
    )
    links = sorted(
        (link.sf_id, link.state, link.sf_hash, link.brevo_hash) for link in store.iter_links(integration_id)
    )
    return rejections, links


def tasks_used(env: Env) -> int:
    """Tasks the quota ledger counted this month (SPEC Q1)."""
    return int(env.tk.quota.status().used)


def diff(expected: dict[str, Any], actual: dict[str, Any], limit: int = 5) -> list[str]:
    """A few readable differences between two snapshots (empty when equal)."""
    out: list[str] = []
    for part, exp in expected.items():
        act = actual[part]
        if exp == act:
            continue
        if isinstance(exp, dict):
            keys = sorted(set(exp) | set(act))
            bad = [k for k in keys if exp.get(k) != act.get(k)]
            out += [f"{part}[{k}]: expected {exp.get(k)!r}, got {act.get(k)!r}" for k in bad[:limit]]
            out.append(f"{part}: {len(bad)} of {len(keys)} differ")
        else:
            missing, extra = sorted(set(exp) - set(act)), sorted(set(act) - set(exp))
            out.append(f"{part}: missing {missing[:limit]}, extra {extra[:limit]}")
    return out
