"""Initial sync of 50,000 contacts: API calls within 5% of the minimum (issue 3)."""

from __future__ import annotations

import math
import time
from collections import Counter

from tests.support.sync import setup_integration
from toolkit import rules
from toolkit.brevo.imports import import_bodies
from toolkit.mapping.types import BLACKLIST_FLAGS, Mapping
from toolkit.rules.base import BrevoRow

N = 50_000
IMPORT_MAX = 8_000_000
BULK_PAGE = 50_000


def test_initial_sync_of_50000_contacts_uses_at_most_1_05x_the_minimum_calls(env_factory) -> None:
    env = env_factory(contacts=N, seed=50, rule_share=0.0)
    list_id = setup_integration(env.tk)
    mark = len(env.sandbox.log.entries())
    started = time.perf_counter()
    result = env.tk.run("contacts")
    seconds = time.perf_counter() - started
    calls = env.sandbox.log.entries()[mark:]
    sf = [c for c in calls if c.service == "salesforce"]
    brevo = [c for c in calls if c.service == "brevo"]
    imports = [c for c in brevo if c.method == "POST" and c.path == "/v3/contacts/import"]
    polls = [c for c in brevo if c.path.startswith("/v3/processes/")]
    flags = [c for c in brevo if c.method == "POST" and c.path == "/v3/contacts/batch"]

    records = env.sandbox.salesforce.records("Contact")
    no_email = sum(1 for r in records if not r.get("Email"))
    shared = Counter(str(r["Email"]).strip().lower() for r in records if r.get("Email"))
    duplicates = sum(n - 1 for n in shared.values() if n > 1)  # D1: one record per e-mail keeps it
    written = result.counts["to_brevo.create"]
    assert written + result.rejected.get("Y6", 0) + result.rejected.get("D1", 0) == N
    assert result.rejected.get("Y6", 0) == no_email and result.rejected.get("D1", 0) == duplicates > 0
    members = sum(len(page) for page in env.tk.brevo().iter_list_contacts(list_id))
    assert members == written

    mapping = Mapping.from_json(env.tk.store.get_integration("contacts").mapping).with_unsubscribes()
    rows, _ = rules.to_brevo(env.sandbox.salesforce.records("Contact"), mapping, object="Contact")
    # B8 (on for a new integration): an opted-out record's flag is set by an import of its own
    # (emailBlacklist), so the rows go into imports per combination of blacklist flags
    groups: dict[frozenset[str], list[BrevoRow]] = {}
    for row in rows:
        groups.setdefault(frozenset(k for k in BLACKLIST_FLAGS if row.get(k) is True), []).append(row)
    body_bytes = minimum_imports = 0
    for blacklist, group in groups.items():
        sizes = [
            len(b)
            for b in import_bodies(group, list_ids=[list_id], max_bytes=IMPORT_MAX, blacklist=blacklist)
        ]
        body_bytes += sum(sizes)
        minimum_imports += math.ceil(sum(sizes) / IMPORT_MAX)  # imports of up to 8 MB
    opted_out = {r["Id"] for r in records if r.get("Email") and r.get("HasOptedOutOfEmail")}
    assert 0 < result.counts["unsubscribes_to_brevo"] <= len(opted_out)
    minimum = {
        "salesforce": 1 + 1 + math.ceil(N / BULK_PAGE),  # Bulk job: create, one poll, result pages
        "brevo": minimum_imports * 2,
    }  # each import and one poll of its process
    actual = {"salesforce": len(sf), "brevo": len(imports) + len(polls) + len(flags)}
    assert not flags  # no batch update: the imports set the flags
    blacklisted = {c.ext_id for c in env.sandbox.brevo.contact_store.members(list_id) if c.email_blacklisted}
    assert blacklisted <= opted_out and len(blacklisted) == result.counts["unsubscribes_to_brevo"]
    ratio = sum(actual.values()) / sum(minimum.values())
    print(
        f"\n50k initial sync: {seconds:.1f} s, {body_bytes / 1e6:.1f} MB imported, "
        f"calls {actual} vs minimum {minimum}, ratio {ratio:.2f}; "
        f"salesforce {[(c.method, c.path.split('/v')[-1]) for c in sf]}"
    )
    assert len(brevo) == len(imports) + len(polls) + len(flags)  # no other Brevo call during an initial load
    assert len(imports) == minimum_imports
    assert ratio <= 1.05
