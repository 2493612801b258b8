"""A year of history written straight into a state database, for the dashboard case.

Four integrations (three Contacts, one Leads) on one connection; ``runs`` runs spread evenly
over the 365 days before now, each with its counts, Salesforce API usage and its tasks in the
quota ledger; ``rejections`` rejected records spread over those runs, with a realistic mix of
rules, about 70% of them resolved by a later run; the quota e-mails of every month. Rows go in
through the toolkit's own schema (``Store.open`` applies the migrations) with ``executemany``,
in one transaction.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from toolkit.store import Store
from toolkit.store.quota import day_of, month_of
from toolkit.store.records import to_ts

INTEGRATIONS = (("newsletter", "Contact"), ("customers", "Contact"), ("events", "Contact"), ("leads", "Lead"))
PAIRS = [
    ["EMAIL", "Email"],
    ["FIRSTNAME", "FirstName"],
    ["LASTNAME", "LastName"],
    ["SMS", "MobilePhone"],
    ["BIRTHDATE", "Birthdate"],
]
# (rule, direction, field, reason, weight)
RULES = (
    ("Y6", "to_brevo", "Email", "no e-mail address: the contact is not synced (SPEC Y6)", 30),
    ("Y9", "to_brevo", "Phone", "the phone number has 5 digits; Brevo needs 6 to 16 (SPEC Y9)", 15),
    ("PHONE_INVALID", "to_brevo", "MobilePhone", "not a valid phone number for its country", 15),
    (
        "Y5",
        "to_salesforce",
        "LastName",
        "the last name is empty in Brevo; Salesforce requires it (SPEC Y5)",
        10,
    ),
    ("Y3", "to_salesforce", "Birthdate", "the date is not in the form YYYY-MM-DD (SPEC Y3)", 10),
    ("Y8", "to_salesforce", "FirstName", "the first name is longer than 40 characters (SPEC Y8)", 5),
    ("Y10", "to_salesforce", "", "the contact has a Case: Salesforce refuses to delete it (SPEC Y10)", 5),
    ("SF:STRING_TOO_LONG", "to_salesforce", "Title", "Salesforce refused the value: data value too large", 5),
    ("BREVO:invalid_emails", "to_brevo", "Email", "invalid e-mail address", 5),
)
_REJECTION_SQL = (
    "INSERT INTO rejections (integration_id, run_id, first_run_id, direction, record_id, field, value, rule, "
    "reason, service_code, service_message, data_hash, permanent, seen_count, first_seen, last_seen, "
    "resolved_at, resolved_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _runs(
    store: Store, ids: list[int], runs: int, now: datetime, rng: random.Random
) -> list[tuple[int, int, datetime]]:
    """Insert the runs and their ledger rows; returns ``(run id, integration id, start)``."""
    start = now - timedelta(days=365)
    step = timedelta(days=365) / runs
    made: list[tuple[int, int, datetime]] = []
    run_rows, ledger = [], []
    used = 0
    for n in range(runs):
        began = start + step * n
        iid = ids[n % len(ids)]
        created, updated, deleted = rng.randint(0, 40), rng.randint(0, 400), rng.randint(0, 5)
        tasks = created + updated + deleted
        counts = {
            "counts": {
                "to_brevo.create": created,
                "to_brevo.update": updated // 2,
                "to_salesforce.update": updated - updated // 2,
                "to_salesforce.delete": deleted,
            },
            "rejected": {"Y6": rng.randint(0, 20), "Y9": rng.randint(0, 5)},
            "tasks": tasks,
        }
        used = (used + rng.randint(50, 400)) % 90_000
        status = "failed" if n % 97 == 0 else "succeeded"
        run_rows.append(
            (
                n + 1,
                iid,
                to_ts(began),
                to_ts(began + timedelta(seconds=rng.randint(3, 90))),
                status,
                0,
                1 if n % 50 == 0 else 0,
                json.dumps(counts),
                "Salesforce API timed out" if status == "failed" else None,
                used,
                100_000,
            )
        )
        if tasks:
            ledger.append((month_of(began), day_of(began), iid, n + 1, tasks, to_ts(began)))
        made.append((n + 1, iid, began))
    store.db.executemany(
        "INSERT INTO runs (id, integration_id, started_at, finished_at, status, dry_run, full_sync, counts, "
        "error, sf_api_used, sf_api_limit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        run_rows,
    )
    store.db.executemany(
        "INSERT INTO quota_ledger (month, day, integration_id, run_id, tasks, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        ledger,
    )
    return made


def _rejection_rows(
    made: list[tuple[int, int, datetime]], count: int, rng: random.Random
) -> Iterator[tuple[Any, ...]]:
    """Yield ``count`` rejection rows, each first seen in some run, 70% resolved by a later one."""
    weights = [r[4] for r in RULES]
    last = len(made) - 1
    for n in range(count):
        index = rng.randrange(len(made))
        run_id, iid, began = made[index]
        rule, direction, field, reason, _ = rng.choices(RULES, weights)[0]
        seen = min(last, index + rng.randint(0, 200))  # seen again by later runs, up to this one
        last_seen = made[seen][2]
        resolved = rng.random() < 0.7 and rule != "Y10"
        service = rule.startswith("SF:")
        yield (
            iid,
            made[seen][0],
            run_id,
            direction,
            f"003{n:012d}AAA",
            field,
            None if rule in ("Y6", "Y10", "Y5") else f"value-{n % 9973}",
            rule,
            reason,
            "STRING_TOO_LONG" if service else None,
            "data value too large" if service else None,
            f"{n:016x}",
            int(rule == "Y10"),
            1 + seen - index,
            to_ts(began),
            to_ts(last_seen),
            to_ts(last_seen + timedelta(hours=rng.randint(1, 48))) if resolved else None,
            made[min(last, seen + 1)][0] if resolved else None,
        )


def write_history(
    state_dir: Path, *, runs: int = 10_000, rejections: int = 1_000_000, seed: int = 6
) -> dict[str, Any]:
    """Create ``state_dir/state.db`` holding a year of history; returns what was written."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with Store.open(state_dir) as store, store.transaction():
        stamp = to_ts(now - timedelta(days=400))
        store.db.execute(
            "INSERT INTO connections (id, name, login_url, instance_url, org_id, user_id, username, "
            "client_id, flow, created_at, updated_at) VALUES (1, 'prod-org', "
            "'https://login.salesforce.com', 'https://example.my.salesforce.com', '00D000000000001', "
            "'005000000000001', 'integration@example.com', '3MVG9bench', 'client_credentials', ?, ?)",
            (stamp, stamp),
        )
        ids = []
        for n, (name, obj) in enumerate(INTEGRATIONS, start=1):
            mapping = {"version": 1, "object": obj, "pairs": PAIRS, "fields": [], "country_fields": []}
            store.db.execute(
                "INSERT INTO integrations (id, name, object, connection_id, opt_in, mapping, list_id, "
                "status, created_at, updated_at) VALUES (?, ?, ?, 1, 1, ?, ?, 'active', ?, ?)",
                (n, name, obj, json.dumps(mapping), 100 + n, stamp, stamp),
            )
            ids.append(n)
        made = _runs(store, ids, runs, now, rng)
        store.db.executemany(_REJECTION_SQL, _rejection_rows(made, rejections, rng))
        months = sorted({month_of(began) for _, _, began in made})
        store.db.executemany(
            "INSERT INTO outbox (kind, month, subject, text_body, html_body, status, attempts, created_at, sent_at) "
            "VALUES (?, ?, ?, 'text', '<p>html</p>', 'sent', 1, ?, ?)",
            [
                (
                    kind,
                    month,
                    f"{kind} {month}",
                    f"{month}-20T10:00:00.000000Z",
                    f"{month}-20T10:00:01.000000Z",
                )
                for month in months
                for kind in ("quota_warning", "quota_exhausted")
            ],
        )
    size = (state_dir / "state.db").stat().st_size
    return {"runs": runs, "rejections": rejections, "integrations": len(INTEGRATIONS), "db_mb": size / 1e6}
