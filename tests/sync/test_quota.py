"""The monthly task quota through real runs of the engine (SPEC Q1-Q3), e-mails in the sandbox's mail."""

from __future__ import annotations

from typing import Any

from tests.support.sync import setup_integration
from toolkit.brevo import contact_ext_id
from toolkit.quota import QuotaState
from toolkit.store import IntegrationStatus, RunStatus

NOTIFY = {"notify_to": ("ops@company.example",), "notify_from": "sync@company.example"}


def _members(env: Any, list_id: int) -> set[str | None]:
    return {contact_ext_id(c) for page in env.tk.brevo().iter_list_contacts(list_id) for c in page}


def test_q1_q3_exact_boundary_through_the_engine_then_the_rest_after_raising_the_limit(
    env_factory: Any,
) -> None:
    env = env_factory(contacts=0, **NOTIFY)
    list_id = setup_integration(env.tk)
    env.tk.run("contacts")  # initial load of the empty org
    env.sandbox.salesforce.create_many(
        "Contact", [{"LastName": f"Q{i}", "Email": f"q{i}@quota.example"} for i in range(25)]
    )
    env.tk.quota.set_limit(10)  # 10 tasks left, 25 records pending
    first = env.tk.run("contacts")
    assert first.status == RunStatus.STOPPED and first.tasks == 10
    assert len(_members(env, list_id)) == 10
    status = env.tk.quota.status()
    assert (status.used, status.limit, status.state) == (10, 10, QuotaState.EXHAUSTED)
    assert (
        env.tk.store.get_integration("contacts").status == IntegrationStatus.STOPPED
    )  # Q3: stopped before task 11
    subjects = sorted(m["subject"] for m in env.sandbox.brevo.sent_emails())
    # one warning (Q2: sent at 80%; this batch went straight to 100%) and one stop notice (Q3)
    assert len(subjects) == 2 and sum("stopped" in s for s in subjects) == 1

    env.tk.quota.set_limit(100)  # raising the limit resumes the integration with no manual step
    second = env.tk.run("contacts")
    assert second.status == RunStatus.SUCCEEDED and second.tasks == 15
    assert len(_members(env, list_id)) == 25  # none lost
    assert env.tk.quota.status().used == 25  # none counted twice
    assert len(env.sandbox.brevo.sent_emails()) == 2  # no second e-mail for the same month


def test_q1_every_written_record_in_either_direction_is_one_task(env_factory: Any) -> None:
    env = env_factory(contacts=40, seed=9, **NOTIFY)
    setup_integration(env.tk)
    first = env.tk.run("contacts")
    ids = [r["Id"] for r in env.sandbox.salesforce.records("Contact")[:3]]
    env.sandbox.salesforce.update_many("Contact", [{"Id": ids[0], "FirstName": "Changed"}])
    env.tk.brevo().update_contact(ids[1], identifier_type="ext_id", attributes={"LASTNAME": "Edited"})
    second = env.tk.run("contacts")
    assert second.counts == second.counts | {"to_brevo.update": 1, "to_salesforce.update": 1}
    assert env.tk.quota.status().used == first.tasks + second.tasks == first.tasks + 2
    dry = env.tk.plan("contacts")
    assert env.tk.quota.status().used == first.tasks + 2 and dry.tasks == 0  # a dry run spends nothing
