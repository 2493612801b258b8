"""Helpers of the end-to-end sync rule tests (tests/sync/test_rules*.py): an integration started on
the sandbox, one record on either side, and the counts the rules are checked against.
"""

from __future__ import annotations

from typing import Any

from tests.support.sync import Env, setup_integration
from toolkit.store import RunStatus

NAME = "contacts"
COMPOSITE = "/services/data/v62.0/composite/sobjects"
LEAD_MAPPING = {"EMAIL": "Email", "FIRSTNAME": "FirstName", "LASTNAME": "LastName", "SMS": "MobilePhone"}


# -- helpers (also used by the other test_sync_rules_*.py) ------------------------------------------


def started(
    env_factory: Any,
    *,
    contacts: int = 20,
    leads: int = 0,
    obj: str = "Contact",
    name: str = NAME,
    mapping: dict[str, str] | None = None,
    **kwargs: Any,
) -> tuple[Env, int]:
    """A sandbox, an active integration, and its first run done (everything linked)."""
    env: Env = env_factory(contacts=contacts, leads=leads, seed=5)
    list_id = setup_integration(env.tk, name, obj, mapping=mapping, **kwargs)
    first = env.tk.run(name)
    assert first.status == RunStatus.SUCCEEDED, first.message
    assert first.counts["to_brevo.create"] > 0
    return env, list_id


def sf_record(env: Env, sf_id: str, obj: str = "Contact") -> dict[str, Any]:
    record = env.sandbox.salesforce.get(obj, sf_id)
    assert record is not None
    return record


def sf_update(env: Env, sf_id: str, obj: str = "Contact", **fields: Any) -> None:
    """A user's edit in Salesforce (same validation as the REST API)."""
    [result] = env.sandbox.salesforce.update_many(obj, [{"Id": sf_id, **fields}])
    assert result["success"], result


def brevo_edit(env: Env, sf_id: str, **attributes: Any) -> None:
    """A user's edit in Brevo, through Brevo's HTTP API."""
    env.tk.brevo().update_contact(sf_id, identifier_type="ext_id", attributes=attributes)


def brevo_attr(env: Env, sf_id: str, name: str) -> Any:
    contact = env.brevo_contact(sf_id)
    assert contact is not None, f"{sf_id} is not in Brevo"
    return contact["attributes"].get(name)


def open_rejections(env: Env, rule: str, name: str = NAME) -> list[dict[str, Any]]:
    return [r for r in env.tk.rejections(name) if r["rule"] == rule]


def linked_ids(env: Env, name: str = NAME, **where: Any) -> list[str]:
    """Linked Salesforce Ids whose current Salesforce values match ``where`` (``x=...`` or callables)."""
    obj = env.tk.store.get_integration(name).object
    ids = []
    for link in env.tk.links(name):
        record = sf_record(env, link.sf_id, obj)
        if all(w(record.get(k)) if callable(w) else record.get(k) == w for k, w in where.items()):
            ids.append(link.sf_id)
    return sorted(ids)


def sf_writes(env: Env) -> int:
    """Write calls (PATCH, POST, PUT, DELETE) made to Salesforce's REST API so far; creating a
    Bulk API 2.0 query job is a read."""
    return sum(
        1
        for e in env.sandbox.log.entries("salesforce")
        if e.path.startswith("/services/data")
        and e.method in ("PATCH", "POST", "PUT", "DELETE")
        and "/jobs/query" not in e.path
    )


def brevo_writes(env: Env) -> int:
    """Write calls (POST, PUT, DELETE) made to Brevo's API so far."""
    return sum(env.brevo_calls(m) for m in ("POST", "PUT", "DELETE"))
