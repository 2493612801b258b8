"""Big pages prepared in worker processes give exactly what one process gives (rows, rejections,
encodings, links), in page order; a worker that dies costs speed, not records."""

from __future__ import annotations

import os
import signal
from typing import Any

from tests.rules_support import account, contact_mapping, lead_mapping, org  # noqa: F401  (fixtures)
from toolkit.brevo.imports import encode_row
from toolkit.mapping import Mapping
from toolkit.rules import RULE_Y6, RULE_Y9
from toolkit.sandbox.datagen import iter_contacts, iter_leads
from toolkit.sandbox.salesforce import SalesforceOrg
from toolkit.sync.prepare import RulesPool, prepare


def _records(org: SalesforceOrg, obj: str, n: int) -> list[dict[str, Any]]:
    """``n`` generated records (10% breaking a rule) created in the org, as it stores them."""
    made = (iter_leads if obj == "Lead" else iter_contacts)(n, seed=3, rule_share=0.1)
    results = org.create_many(obj, [record.fields for record in made])
    return [record for r in results if (record := org.get(obj, r["id"])) is not None]


def test_pool_prepares_a_page_exactly_as_one_process(org: SalesforceOrg, lead_mapping: Mapping) -> None:
    records = _records(org, "Lead", 3_000)
    alone = prepare(records, lead_mapping, object="Lead")
    with RulesPool(2, min_records=100) as pool:
        shared = pool.prepare(records, lead_mapping, object="Lead")
        assert pool.workers == 2 and pool._executor is not None  # the page really went to workers
    assert shared == alone
    rows, rejected, prepared = shared
    assert {r.rule for r in rejected} >= {RULE_Y6, RULE_Y9} and len(rows) + len({r.record_id for r in rejected}) \
        == len(records)
    assert [row["ext_id"] for row in rows] == [r["Id"] for r in records if r["Id"] in {x["ext_id"] for x in rows}]
    assert all(p.encoded == encode_row(row) for row, p in zip(rows, prepared))


def test_small_pages_stay_in_this_process(org: SalesforceOrg, contact_mapping: Mapping) -> None:
    records = _records(org, "Contact", 50)
    with RulesPool(1) as pool:
        assert pool.prepare(records, contact_mapping, object="Contact") == prepare(records, contact_mapping,
                                                                                   object="Contact")
        assert pool._executor is None


def test_a_killed_worker_costs_speed_not_records(org: SalesforceOrg, contact_mapping: Mapping) -> None:
    records = _records(org, "Contact", 2_000)
    expected = prepare(records, contact_mapping, object="Contact")
    with RulesPool(1, min_records=100) as pool:
        assert pool.prepare(records, contact_mapping, object="Contact") == expected
        executor = pool._executor
        assert executor is not None
        for pid in list(executor._processes):  # the workers die between two pages
            os.kill(pid, signal.SIGKILL)
        assert pool.prepare(records, contact_mapping, object="Contact") == expected
        assert pool.workers == 0  # given up: the next pages are prepared here
