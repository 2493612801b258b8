"""The org's pod (``SandboxConfig.pod``): the instance characters of the Ids its records get."""

from __future__ import annotations

import json

import pytest

from toolkit.sandbox import Sandbox, SandboxConfig
from toolkit.sandbox.clock import Clock
from toolkit.sandbox.salesforce import ids
from toolkit.sandbox.salesforce.org import SalesforceOrg


def _fields(sandbox: Sandbox, sobject: str) -> list[dict[str, object]]:
    """The records without their Ids and times (what must not depend on the pod)."""
    skip = {"Id", "SystemModstamp", "LastModifiedDate", "CreatedDate", "OwnerId", "CreatedById"}
    skip |= {"LastModifiedById", "ContactId", "ConvertedContactId", "ConvertedAccountId", "AccountId"}
    return [{k: v for k, v in r.items() if k not in skip} for r in sandbox.salesforce.records(sobject)]


def test_the_default_pod_keeps_the_ids_every_seed_always_had() -> None:
    sandbox = Sandbox(SandboxConfig(contacts=3, seed=5))
    assert sandbox.salesforce.pod == ids.POD == "8d"
    assert [r["Id"] for r in sandbox.salesforce.records("Contact")][:3] == [
        ids.make_id("003", n) for n in (1, 2, 3)
    ]
    assert sandbox.salesforce.records("Contact")[0]["Id"] == "0038d0000000001AAA"


def test_orgs_on_other_pods_issue_other_ids_for_the_same_data() -> None:
    a = Sandbox(SandboxConfig(contacts=40, leads=20, seed=9))
    b = Sandbox(SandboxConfig(contacts=40, leads=20, seed=9, pod="Q2"))
    for sobject in ("Contact", "Lead", "Case"):
        a_ids = [r["Id"] for r in a.salesforce.records(sobject)]
        b_ids = [r["Id"] for r in b.salesforce.records(sobject)]
        assert a_ids and len(a_ids) == len(b_ids)
        assert not set(a_ids) & set(b_ids)
        assert all(i[3:5] == "Q2" and ids.normalize(i) == i for i in b_ids)
        assert [i[:3] + i[5:15] for i in a_ids] == [i[:3] + i[5:15] for i in b_ids]  # same sequences
        assert _fields(a, sobject) == _fields(b, sobject)  # the same generated data
    [new] = b.salesforce.create_many("Contact", [{"LastName": "Later"}])
    assert new["id"][3:5] == "Q2"


def test_the_pod_is_saved_and_loaded_with_the_records() -> None:
    clock = Clock()
    org = SalesforceOrg(clock, pod="zz")
    org.create_many("Contact", [{"LastName": "Kept"}])
    loaded = SalesforceOrg.from_dict(json.loads(json.dumps(org.to_dict())), clock)
    assert loaded.pod == "zz"
    [new] = loaded.create_many("Contact", [{"LastName": "Next"}])
    assert new["id"] == ids.make_id("003", 2, "zz")
    older = org.to_dict()
    del older["pod"]  # a state saved before pods were kept
    assert SalesforceOrg.from_dict(older, clock).pod == ids.POD


@pytest.mark.parametrize("pod", ["", "8", "8dd", "8-", "é1"])
def test_a_pod_is_two_base62_characters(pod: str) -> None:
    with pytest.raises(ValueError, match="two characters"):
        SalesforceOrg(Clock(), pod=pod)
