"""``make demo``: the sandbox with seeded data, a short tour through real clients, a sync, the apps.

Then a Contacts and a Leads integration, one real sync of each through ``sync.ipynb`` of the
toolkit's notebooks (:data:`toolkit.apps.NOTEBOOKS`, papermill), the figures and audit
reports, and the Voilà apps served on 127.0.0.1 until Ctrl-C, behind a login: the demo prints
where the apps token is (the demo state's ``credentials.json``, or ``toolkit apps token``), never
the token itself. It needs the ``sandbox`` and ``notebooks`` extras
(``pip install 'sf-brevo-toolkit[sandbox,notebooks]'``).

The figures say what the runs did with the data's real-org traits (:func:`messy_figures`):
values cleared, duplicate e-mails rejected (D1), Leads superseded by or converted into Contacts,
Brevo contacts handed over, phones made international or left out (``PHONE_INVALID``), deletions
held; and how many records of each trait the sandbox generated (:func:`sandbox_traits`).
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simple_salesforce import Salesforce

from toolkit.exceptions import ToolkitError

if TYPE_CHECKING:
    from toolkit.api import Toolkit
    from toolkit.config import Settings

DEMO_CONTACTS = 2000
DEMO_LEADS = 500
DEMO_SEED = 42
DEMO_RULE_SHARE = 0.1  # records breaking the Y rules, so that rejections show
DEMO_STATE = ".sandbox/demo-state"  # under the working directory (git-ignored in the repository)
INSTALL_DEMO = (
    "pip install 'sf-brevo-toolkit[sandbox,notebooks]' (in a clone: pip install -e '.[sandbox,notebooks]')"
)


def tour(info: dict[str, Any]) -> list[str]:
    """Reach both sandbox APIs the way a client does and describe what is there, line by line."""
    from toolkit.salesforce import auth, make_session

    sf_info, brevo_info = info["salesforce"], info["brevo"]
    session = make_session(sf_info["ca_bundle"])
    tokens = auth.client_credentials(
        sf_info["login_url"], sf_info["client_id"], sf_info["client_secret"], session=session
    )
    sf = Salesforce(
        instance_url=tokens.instance_url,
        session_id=tokens.access_token.reveal(),
        session=session,
        version=sf_info["api_version"],
    )
    contacts = sf.query("SELECT COUNT() FROM Contact")["totalSize"]
    no_email = sf.query("SELECT COUNT() FROM Contact WHERE Email = null")["totalSize"]
    leads = sf.query("SELECT COUNT() FROM Lead")["totalSize"]
    cases = sf.query("SELECT COUNT() FROM Case")["totalSize"]
    sample = sf.query("SELECT Id, FirstName, LastName, Email, Phone FROM Contact ORDER BY Id LIMIT 3")
    brevo_headers = {"api-key": brevo_info["api_key"]}
    lists = session.get(f"{brevo_info['base_url']}/contacts/lists", headers=brevo_headers, timeout=30).json()
    brevo_contacts = session.get(
        f"{brevo_info['base_url']}/contacts", params={"limit": 1}, headers=brevo_headers, timeout=30
    ).json()
    used = sf.api_usage.get("api-usage")
    lines = [
        f"Salesforce: {contacts} contacts ({no_email} without e-mail, SPEC Y6), {leads} leads, {cases} cases",
        *(
            f"  {r['Id']}  {r['FirstName'] or ''} {r['LastName']}  <{r['Email'] or '-'}>  {r['Phone'] or ''}"
            for r in sample["records"]
        ),
        f"  API usage: {used.used}/{used.total} calls today" if used else "  API usage: n/a",
        f"Brevo: {brevo_contacts['count']} contacts of its own, lists: "
        + ", ".join(f"#{lst['id']} {lst['name']}" for lst in lists.get("lists", [])),
    ]
    session.close()
    return lines


DEMO_INTEGRATIONS = (
    ("demo-contacts", "Contact", "Salesforce contacts (demo)"),
    ("demo-leads", "Lead", "Salesforce leads (demo)"),
)


def sandbox_settings(info: dict[str, Any], state_dir: Path, **overrides: Any) -> Settings:
    """Settings that reach the sandbox described by ``info`` (``Sandbox.info``), keeping state in ``state_dir``.

    Args:
        info: the running sandbox's description (URLs, CA bundle, credentials).
        state_dir: the toolkit's state directory.
        overrides: further ``Settings`` fields.
    """
    from toolkit.config import Settings

    sf = info["salesforce"]
    return Settings(
        state_dir=state_dir,
        salesforce_login_url=sf["login_url"],
        brevo_api_url=info["brevo"]["base_url"],
        ca_bundle=Path(sf["ca_bundle"]),
        **overrides,
    )


def write_state_config(info: dict[str, Any], state_dir: Path) -> Path:
    """Write ``state_dir/toolkit.toml`` naming the sandbox (URLs, CA bundle, client ID; nothing secret).

    The notebooks and the Voilà apps find the sandbox through it and ``TOOLKIT_STATE_DIR``.

    Returns:
        The file's path.
    """
    sf = info["salesforce"]
    path = state_dir / "toolkit.toml"
    path.write_text(
        f'salesforce_login_url = "{sf["login_url"]}"\nbrevo_api_url = "{info["brevo"]["base_url"]}"\n'
        f'ca_bundle = "{sf["ca_bundle"]}"\nsalesforce_client_id = "{sf["client_id"]}"\n'
    )
    return path


def connect_sandbox(tk: Toolkit, info: dict[str, Any], name: str, *, brevo_key: bool = True) -> None:
    """Connect ``tk`` to the sandbox as a scheduled job would: the org as connection ``name``, and the Brevo key.

    The org is signed in to with the client-credentials flow against the sandbox's login URL
    (kept with the connection). ``brevo_key=False`` leaves the Brevo key as it is (several
    sandboxes' orgs syncing with one of their Brevo accounts).
    """
    from toolkit.connections import connect_salesforce, save_brevo_key
    from toolkit.salesforce import auth, make_session

    sf = info["salesforce"]
    session = make_session(sf["ca_bundle"])
    tokens = auth.client_credentials(sf["login_url"], sf["client_id"], sf["client_secret"], session=session)
    session.close()
    connect_salesforce(
        tk.store,
        tk.credentials,
        tk.settings,
        name=name,
        tokens=tokens,
        client_id=sf["client_id"],
        flow="client_credentials",
        login_url=sf["login_url"],
        secrets={"client_secret": sf["client_secret"]},
    )
    if brevo_key:
        save_brevo_key(tk.credentials, info["brevo"]["api_key"])


def demo_setup(info: dict[str, Any], state_dir: Path) -> list[str]:
    """Connect the sandbox as a scheduled job would; create and activate a Contacts and a Leads integration.

    Also writes the state's ``toolkit.toml`` (URLs, CA bundle, client ID; nothing secret), so
    that the notebooks and the Voilà apps find the sandbox through ``TOOLKIT_STATE_DIR``.
    """
    from toolkit.api import Toolkit

    lines = []
    with Toolkit(sandbox_settings(info, state_dir)) as tk:
        write_state_config(info, state_dir)
        connect_sandbox(tk, info, "sandbox")
        for name, obj, list_name in DEMO_INTEGRATIONS:
            tk.create_integration(name, obj)
            tk.use_connection(name, "sandbox")
            tk.accept_opt_in(name)
            mapping = tk.set_mapping(name, tk.suggest_mapping(name))
            list_id = tk.choose_list(name, new_list=list_name)
            tk.activate(name)
            plan = tk.plan(name)
            lines += [
                f"Integration {name}: {obj}s -> Brevo list #{list_id}, mapping "
                + ", ".join(f"{a}<-{f}" for a, f in mapping.pairs),
                f"  dry run (B1): would write {plan.tasks} records",
            ]
    return lines


def sandbox_traits(*, contacts: int, leads: int, seed: int, rule_share: float) -> list[str]:
    """How many generated records carry each trait of a real org's data (Contacts / Leads).

    The generator is deterministic: the same arguments give the records the sandbox loaded.
    Empty when the generator tags no traits.
    """
    from toolkit.sandbox.datagen import generate

    data = generate(contacts=contacts, leads=leads, seed=seed, rule_share=rule_share)
    trait_counts = getattr(data, "trait_counts", None)
    if trait_counts is None:
        return []
    counts = trait_counts()
    traits = list(dict.fromkeys([*counts.get("Contact", {}), *counts.get("Lead", {})]))
    width = max((len(t) for t in traits), default=0) + 2
    return [
        "Sandbox data shaped like a real org's: records per trait (Contacts / Leads)",
        *(
            f"  {trait.replace('_', ' '):<{width}} {counts.get('Contact', {}).get(trait, 0):>5} / "
            f"{counts.get('Lead', {}).get(trait, 0):<5}".rstrip()
            for trait in traits
        ),
    ]


def phones_made_international(tk: Toolkit, name: str) -> tuple[int, int]:
    """Phone values Salesforce holds in national form that Brevo got in international form (+49...).

    Compares each linked record's phone fields in Salesforce with what was synced (the links'
    ``synced`` values).

    Returns:
        ``(made international, of which read in the integration's region)``: the second counts
        the values of records naming no country (read in ``default_region``).
    """
    from toolkit.mapping.types import SMS, Mapping

    integ = tk.store.get_integration(name)
    mapping = Mapping.from_json(integ.mapping)
    phones = [(f.brevo_attribute, f.sf_field) for f in mapping.synced() if f.kind == SMS]
    if not phones:
        return 0, 0
    synced = {link.sf_id: link.synced or {} for link in tk.store.iter_links(integ.id)}
    fields = ", ".join(dict.fromkeys(["Id", *(f for _, f in phones), *mapping.country_fields]))
    made = in_region = 0
    for page in tk.salesforce(integ).query_pages(f"SELECT {fields} FROM {integ.object}"):
        for record in page:
            sent = synced.get(record["Id"], {})
            for attribute, field in phones:
                raw, value = record.get(field), sent.get(attribute)
                national = (
                    isinstance(raw, str) and raw.strip() != "" and not raw.strip().startswith(("+", "00"))
                )
                if national and isinstance(value, str) and value.startswith("+"):
                    made += 1
                    in_region += not any(record.get(c) for c in mapping.country_fields)
    return made, in_region


def messy_figures(tk: Toolkit, names: list[str]) -> list[str]:
    """What each integration's latest real run did with the messy data, one figure per line.

    Taken from the runs' counts and rejections (and, for the phones, from what was synced):
    values cleared, D1 duplicates, superseded / converted Leads, handovers, phones made
    international against ``PHONE_INVALID`` (field-level: the rest of the record synced), and
    the deletions the mass-delete guard holds (B6).
    """
    columns: list[dict[str, Any]] = []
    regions = []
    for name in names:
        integ = tk.store.get_integration(name)
        runs = [r for r in tk.store.list_runs(integ.id, limit=50) if not r.dry_run]
        counts = runs[0].counts if runs else {}
        actions, rejected = counts.get("counts") or {}, counts.get("rejected") or {}
        made, in_region = phones_made_international(tk, name)
        regions.append(integ.default_region or "none")
        columns.append(
            {
                "cleared": actions.get("cleared", 0),
                "d1": rejected.get("D1", 0),
                "superseded": actions.get("superseded", 0),
                "converted": actions.get("converted", 0),
                "handover": actions.get("to_brevo.handover", 0),
                "international": made,
                "in_region": in_region,
                "invalid": rejected.get("PHONE_INVALID", 0),
                "held": len(tk.held_deletions(name)),
            }
        )
    region = "/".join(dict.fromkeys(regions))
    labels = (
        ("cleared", "attribute values cleared in Brevo (emptied in Salesforce)"),
        ("d1", "duplicate e-mails rejected (D1: one record per e-mail synced)"),
        ("superseded", "Leads superseded: the person is a Contact (D2)"),
        ("converted", "converted Leads: their Contact is synced (L1)"),
        ("handover", "Brevo contacts handed over from a Lead to its Contact"),
        ("international", "phones made international (+country code)"),
        ("in_region", f"  of which read in the phone region {region} (no country)"),
        ("invalid", "phones left out, unreadable (PHONE_INVALID; record synced)"),
        ("held", "deletions held by the mass-delete guard (B6)"),
    )
    width = max(len(label) for _, label in labels) + 2
    cells = [max(len(n), 6) for n in names]
    lines = [
        "What the runs did with the messy data:".ljust(width + 2)
        + "  ".join(n.rjust(w) for n, w in zip(names, cells))
    ]
    for key, label in labels:
        lines.append(f"  {label:<{width}}" + "  ".join(f"{col[key]:>{w},}" for col, w in zip(columns, cells)))
    return lines


def demo_figures(state_dir: Path, report_dir: Path) -> list[str]:
    """The figures of each integration's latest run and its audit report's paths (which must exist)."""
    from toolkit.api import Toolkit
    from toolkit.audit.meanings import rule_title
    from toolkit.config import Settings

    lines = []
    with Toolkit(Settings.from_env({"TOOLKIT_STATE_DIR": str(state_dir)})) as tk:
        for name, _obj, _list in DEMO_INTEGRATIONS:
            run = tk.store.list_runs(tk.store.get_integration(name).id, limit=1)[0]
            counts = run.counts
            lines.append(f"{name}: run {run.id} {run.status}, {counts['tasks']} records synced (tasks)")
            rejected = counts.get("rejected") or {}
            lines.append(
                "  rejected by rule: "
                + (
                    ", ".join(f"{rule} ({rule_title(rule)}) {n}" for rule, n in sorted(rejected.items()))
                    or "none"
                )
            )
            for suffix in ("html", "csv"):
                path = report_dir / f"audit-{name}-run-{run.id}.{suffix}"
                if not path.exists():
                    raise ToolkitError(f"the audit report {path} was not written")
                lines.append(f"  audit report ({suffix.upper()}): {path.resolve()}")
        lines += messy_figures(tk, [name for name, _obj, _list in DEMO_INTEGRATIONS])
        status = tk.quota.status()
        lines.append(f"Tasks used this month: {status.used:,} of {status.limit:,}")
    return lines


def _serve(state: Path, out: Callable[[str], None]) -> None:
    """``toolkit serve`` on the demo's state until Ctrl-C, its webhooks posted to 127.0.0.1."""
    import signal
    import threading

    from toolkit.apps import free_port
    from toolkit.config import Settings, save_settings
    from toolkit.serve.app import serve_forever

    port = free_port()
    save_settings(state, webhook_port=port, public_url=f"http://127.0.0.1:{port}")
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        serve_forever(Settings.from_env(state_dir=state), out, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_demo(*, serve: bool = True, server: bool = False, out: Callable[[str], None] = print) -> int:
    """Start the sandbox, set up two integrations, sync them through papermill, report, serve Voilà.

    With ``server`` (``make serve``), ``toolkit serve`` then runs on the demo's state instead of
    Voilà alone: the integrations run every 15 minutes by themselves, and the sandbox Brevo sends
    its webhooks to the server's receiver on 127.0.0.1 (registered by the server).

    Raises:
        ToolkitError: the ``sandbox`` or ``notebooks`` extra is not installed (said before anything starts).
    """
    from toolkit.apps import NOTEBOOKS, find_voila, run_sync_notebook, serve_voila

    try:
        from toolkit.sandbox.runner import Sandbox, SandboxConfig
    except ModuleNotFoundError as exc:
        raise ToolkitError(
            f"the demo needs the sandbox extra ({exc.name} is missing): {INSTALL_DEMO}"
        ) from exc
    if importlib.util.find_spec("papermill") is None or (serve and find_voila() is None):
        raise ToolkitError(f"the demo needs the notebooks extra (papermill, Voilà): {INSTALL_DEMO}")
    sandbox = Sandbox(
        SandboxConfig(contacts=DEMO_CONTACTS, leads=DEMO_LEADS, seed=DEMO_SEED, rule_share=DEMO_RULE_SHARE)
    )
    info = sandbox.start()
    try:
        out(f"Sandbox Salesforce: {info['salesforce']['instance_url']}  (OAuth at /services/oauth2/token)")
        out(f"Sandbox Brevo:      {info['brevo']['base_url']}  (header api-key)")
        out(f"CA bundle to trust: {info['salesforce']['ca_bundle']}")
        out(
            f"Salesforce login page user: {info['salesforce']['username']}  (`toolkit sandbox start` prints "
            "the credentials as JSON)"
        )
        for line in tour(info):
            out(line)
        for line in sandbox_traits(
            contacts=DEMO_CONTACTS, leads=DEMO_LEADS, seed=DEMO_SEED, rule_share=DEMO_RULE_SHARE
        ):
            out(line)
        state = Path(DEMO_STATE)
        shutil.rmtree(state, ignore_errors=True)  # each demo starts from a fresh state
        state.mkdir(parents=True)
        for line in demo_setup(info, state):
            out(line)
        for name, _obj, _list in DEMO_INTEGRATIONS:
            executed = run_sync_notebook(state, name, state / "runs", state / "reports")
            out(f"papermill: {NOTEBOOKS / 'sync.ipynb'} -> {executed}")
        for line in demo_figures(state, state / "reports"):
            out(line)
        out(f"State: {state.resolve()}  (export TOOLKIT_STATE_DIR={state.resolve()} to use it)")
        if server:
            _serve(state, out)
        elif serve:
            out("Voilà apps (they ask for the apps token, see below):")
            serve_voila(state, out)
    finally:
        sandbox.stop()
    return 0
