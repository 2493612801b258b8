"""Run both sandbox services together: one clock, one CA, seeded data, optional saved state."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from toolkit.sandbox import brevo, salesforce
from toolkit.sandbox.brevo import BrevoAccount
from toolkit.sandbox.clock import Clock
from toolkit.sandbox.datagen import GeneratedRecord, generate
from toolkit.sandbox.http import ServerThread
from toolkit.sandbox.middleware import FaultInjector, FaultPlan, RequestLog
from toolkit.sandbox.salesforce import SalesforceOrg, ids
from toolkit.sandbox.salesforce.oauth import Credentials, OAuthServer
from toolkit.sandbox.salesforce.org.conversion import LeadConvert
from toolkit.sandbox.tls import make_tls
from toolkit.sandbox.variants import WireVariants

API_VERSION = "62.0"
SEED_CHUNK = 10_000


@dataclass
class SandboxConfig:
    """How to run the sandbox.

    Attributes:
        contacts: Salesforce Contacts to generate (ignored when a saved state is loaded).
        leads: Salesforce Leads to generate.
        seed: seed of the data generator (same seed, same data).
        rule_share: share of generated records that break one of the SPEC's Y rules.
        state_file: JSON file to load the state from (if it exists) and save it to on ``stop``.
        workdir: where the CA bundle and the JWT key file are written (a temp dir by default).
        faults: fault plan applied to both services (per-service plans via ``Sandbox.faults``).
        brevo_rate_limit: Brevo contacts endpoints' requests per second (0 = unlimited).
        api_daily_limit: Salesforce daily API request allowance.
        salesforce_port, brevo_port: ports to bind on 127.0.0.1 (0 = any free port).
        wire_variants: send each form the services' references allow (timestamps with and
            without milliseconds, optional headers missing...), picked per ``seed``
            (:mod:`toolkit.sandbox.variants`); ``False`` sends only the documented forms.
        pod: two base-62 characters, the org's instance in its record Ids (``003<pod>0...``).
            Sandboxes with different pods issue different Ids, as real orgs do, so that several
            orgs can feed one Brevo account (whose ``ext_id`` is the Salesforce Id). The default
            keeps every seed's data as it always was. Ignored when a saved state is loaded.
    """

    contacts: int = 0
    leads: int = 0
    seed: int = 0
    rule_share: float = 0.05
    state_file: Path | None = None
    workdir: Path | None = None
    faults: FaultPlan | None = None
    brevo_rate_limit: float = 10.0
    api_daily_limit: int = 100_000
    salesforce_port: int = 0
    brevo_port: int = 0
    wire_variants: bool = True
    pod: str = ids.POD
    host: str = field(default="127.0.0.1", init=False)


class Sandbox:
    """Local Salesforce and Brevo APIs over HTTPS on 127.0.0.1.

    Example:
        >>> with Sandbox(SandboxConfig(contacts=100)) as sb:   # doctest: +SKIP
        ...     info = sb.info    # what a client needs (URLs, credentials, CA bundle)
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.clock = Clock()
        self.log = RequestLog()
        self.faults = {
            "salesforce": FaultInjector(self.config.faults),
            "brevo": FaultInjector(self.config.faults),
        }
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._servers: list[ServerThread] = []
        self.salesforce, self.brevo = self._load_or_generate()
        variants = WireVariants(self.config.seed if self.config.wire_variants else None)
        self.salesforce.variants = self.brevo.variants = variants
        self.credentials = Credentials.generate()
        self.oauth = OAuthServer(
            self.credentials, self.clock, org_id=self.salesforce.org_id, user_id=self.salesforce.user_id
        )
        self.info: dict[str, Any] = {}

    def _load_or_generate(self) -> tuple[SalesforceOrg, BrevoAccount]:
        path = self.config.state_file
        if path is not None and path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            self.clock.advance(timedelta(seconds=data.get("clock_offset_seconds", 0)))
            return (
                SalesforceOrg.from_dict(data["salesforce"], self.clock),
                BrevoAccount.from_dict(data["brevo"], self.clock),
            )
        org = SalesforceOrg(self.clock, api_daily_limit=self.config.api_daily_limit, pod=self.config.pod)
        account = BrevoAccount(self.clock)
        seed_data(
            org,
            account,
            contacts=self.config.contacts,
            leads=self.config.leads,
            seed=self.config.seed,
            rule_share=self.config.rule_share,
        )
        return org, account

    def start(self) -> dict[str, Any]:
        """Start both servers; returns (and keeps in ``info``) what a client needs to connect."""
        workdir = self.config.workdir
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="toolkit-sandbox-")
            workdir = Path(self._tmp.name)
        tls = make_tls(workdir)
        key_file = workdir / "jwt-private-key.pem"
        key_file.write_text(self.credentials.jwt_private_key_pem, encoding="utf-8")
        key_file.chmod(0o600)
        sf_service = salesforce.make_service(
            self.salesforce, self.oauth, log=self.log, faults=self.faults["salesforce"]
        )
        brevo_service = brevo.make_service(
            self.brevo,
            log=self.log,
            faults=self.faults["brevo"],
            rate_limit_per_second=self.config.brevo_rate_limit,
        )
        sf = ServerThread(sf_service, port=self.config.salesforce_port, ssl_context=tls.ssl_context).start()
        self._servers.append(sf)
        brevo_server = ServerThread(
            brevo_service, port=self.config.brevo_port, ssl_context=tls.ssl_context
        ).start()
        self._servers.append(brevo_server)
        sf_url = f"https://127.0.0.1:{sf.port}"
        self.oauth.instance_url = sf_url
        self.info = {
            "salesforce": {
                "login_url": sf_url,
                "instance_url": sf_url,
                "api_version": API_VERSION,
                "client_id": self.credentials.client_id,
                "client_secret": self.credentials.client_secret,
                "username": self.credentials.username,
                "password": self.credentials.password,
                "jwt_private_key_file": str(key_file),
                "ca_bundle": str(tls.ca_bundle),
            },
            "brevo": {
                "base_url": f"https://127.0.0.1:{brevo_server.port}/v3",
                "api_key": self.brevo.api_key,
                "ca_bundle": str(tls.ca_bundle),
            },
            "sandbox": {
                "salesforce_control": f"{sf_url}/_sandbox/",
                "brevo_control": f"https://127.0.0.1:{brevo_server.port}/_sandbox/",
                "contacts": len(self.salesforce.records("Contact")),
                "leads": len(self.salesforce.records("Lead")),
            },
        }
        return self.info

    def save(self, path: Path) -> None:
        """Write the whole state (records, contacts, lists, clock offset) as JSON, atomically."""
        data = {
            "salesforce": self.salesforce.to_dict(),
            "brevo": self.brevo.to_dict(),
            "clock_offset_seconds": self.clock.offset.total_seconds(),
        }
        tmp = path.with_suffix(path.suffix + ".tmp")
        # 0600: the state holds the sandbox's own API key, which the next start must reuse.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False)
        tmp.replace(path)

    def stop(self) -> None:
        """Stop both servers, save the state if a state file is configured, clean up."""
        for server in self._servers:
            server.stop()
        self._servers.clear()
        self.brevo.webhooks.stop()  # webhook deliveries still queued are dropped, as the server is gone
        if self.config.state_file is not None:
            self.save(self.config.state_file)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _created(record: GeneratedRecord, now: datetime) -> dict[str, Any]:
    """The record's fields, with a CreatedDate in the past when the generator asks for one."""
    if record.created_days_ago is None:
        return record.fields
    return {**record.fields, "CreatedDate": now - timedelta(days=record.created_days_ago)}


def _create(org: SalesforceOrg, sobject: str, records: list[GeneratedRecord]) -> list[str | None]:
    """Create ``records`` in chunks; their Ids (None where the org refused one), in order."""
    now = org.clock.now()
    created: list[str | None] = []
    for start in range(0, len(records), SEED_CHUNK):
        chunk = [_created(r, now) for r in records[start : start + SEED_CHUNK]]
        # Older records carry their CreatedDate, as a data load with "Set Audit Fields upon
        # Record Creation" keeps it (salesforce/org/writes.py AUDIT_FIELDS_ON_CREATE).
        created += [
            res.get("id") if res["success"] else None
            for res in org.create_many(sobject, chunk, set_audit_fields=True)
        ]
    return created


def seed_data(
    org: SalesforceOrg,
    account: BrevoAccount,
    *,
    contacts: int,
    leads: int,
    seed: int,
    rule_share: float = 0.05,
    messy: bool = True,
) -> None:
    """Load generated Contacts (with their Cases), Leads and Brevo-only contacts, then convert Leads.

    With ``messy`` (the default) the data is shaped like a real org's (:mod:`datagen`): the
    older of two Contacts sharing an e-mail is loaded with a CreatedDate years back, and after
    loading, the Leads in ``GeneratedData.conversions`` are converted, into the Contact of the
    same person or into a new Contact (which adds Contacts to the org).
    """
    if not contacts and not leads:
        return
    data = generate(contacts=contacts, leads=leads, seed=seed, rule_share=rule_share, messy=messy)
    contact_ids = _create(org, "Contact", data.contacts)
    lead_ids = _create(org, "Lead", data.leads)
    cases = [{**fields, "ContactId": contact_ids[i]} for i, fields in data.cases if contact_ids[i]]
    if cases:
        org.create_many("Case", cases)
    conversions = [
        LeadConvert(lead_id, None if contact is None else contact_ids[contact])
        for lead, contact in data.conversions
        if (lead_id := lead_ids[lead]) and (contact is None or contact_ids[contact])
    ]
    if conversions:
        org.convert_leads(conversions)
    default_list = min(account.list_store.lists, default=None)  # a new account's "Your first list"
    for contact in data.brevo_only:
        account.create_contact(
            email=contact.get("email"),
            attributes=contact.get("attributes"),
            list_ids=[default_list] if default_list else None,
        )
