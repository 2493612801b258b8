"""Salesforce sandbox change tracking: Get Updated/Deleted windows, the Recycle Bin, SystemModstamp cursors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.support.salesforce import API, SfEnv, error_body


def test_updated_window_lists_changed_ids_and_covers_whole_minutes(sf_env: SfEnv) -> None:
    start = sf_env.clock.now() - timedelta(minutes=1)
    ids = sf_env.contacts(3)
    sf_env.clock.advance(timedelta(minutes=2))
    body = sf_env.sf.Contact.updated(start, sf_env.clock.now())
    assert sorted(body["ids"]) == sorted(ids)
    assert body["latestDateCovered"].endswith(":00.000+0000")
    later = sf_env.sf.Contact.updated(sf_env.clock.now() - timedelta(minutes=1), sf_env.clock.now())
    assert later["ids"] == []


def test_deleted_window_lists_deletions_with_their_date(sf_env: SfEnv) -> None:
    start = sf_env.clock.now() - timedelta(minutes=1)
    ids = sf_env.contacts(2)
    sf_env.sf.Contact.delete(ids[0])
    sf_env.clock.advance(timedelta(minutes=2))
    body = sf_env.sf.Contact.deleted(start, sf_env.clock.now())
    assert [d["id"] for d in body["deletedRecords"]] == [ids[0]]
    assert body["deletedRecords"][0]["deletedDate"] == sf_env.org.record("Contact", ids[0])["SystemModstamp"]
    assert set(body) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}
    assert ids[0] not in sf_env.sf.Contact.updated(start, sf_env.clock.now())["ids"]


def test_replication_windows_are_checked(sf_env: SfEnv) -> None:
    now = sf_env.clock.now()
    with pytest.raises(SalesforceMalformedRequest) as reversed_window:
        sf_env.sf.Contact.updated(now, now - timedelta(hours=1))
    assert error_body(reversed_window.value)[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    with pytest.raises(SalesforceMalformedRequest) as too_old:
        sf_env.sf.Contact.updated(now - timedelta(days=31), now)
    assert error_body(too_old.value)[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    with pytest.raises(SalesforceMalformedRequest):
        sf_env.sf.Contact.deleted(now - timedelta(days=16), now)
    assert sf_env.sf.Contact.updated(now - timedelta(days=29), now)["ids"] == []


def test_recycle_bin_is_emptied_after_15_days(sf_env: SfEnv) -> None:
    ids = sf_env.contacts(2)
    sf_env.org.delete_many([ids[0]])
    deleted_at = sf_env.org.record("Contact", ids[0])["SystemModstamp"]
    sf_env.clock.advance(timedelta(days=14))
    sf_env.renew()
    assert len(sf_env.sf.query_all("SELECT Id FROM Contact", include_deleted=True)["records"]) == 2
    sf_env.clock.advance(timedelta(days=1, minutes=1))
    sf_env.renew()
    remaining = sf_env.sf.query_all("SELECT Id FROM Contact", include_deleted=True)["records"]
    assert [r["Id"] for r in remaining] == [ids[1]]
    body = sf_env.sf.Contact.deleted(sf_env.clock.now() - timedelta(days=14), sf_env.clock.now())
    assert body["deletedRecords"] == []
    assert body["earliestDateAvailable"] > deleted_at and body["earliestDateAvailable"].endswith(
        ":00.000+0000"
    )


def test_records_sharing_one_system_modstamp_across_a_page_boundary_are_all_returned(sf_env: SfEnv) -> None:
    early = sf_env.contacts(10)
    sf_env.clock.advance(timedelta(seconds=5))
    batch = sf_env.contacts(2500)  # one create_many call: one SystemModstamp for all 2,500
    stamps = {sf_env.org.record("Contact", i)["SystemModstamp"] for i in batch}
    assert len(stamps) == 1
    seen: list[str] = []
    where = "SystemModstamp > 2000-01-01T00:00:00Z"
    while True:
        page = sf_env.sf.query(
            f"SELECT Id, SystemModstamp FROM Contact WHERE {where} ORDER BY SystemModstamp, Id LIMIT 1000"
        )
        rows = page["records"]
        if not rows:
            break
        seen += [r["Id"] for r in rows]
        stamp, last = rows[-1]["SystemModstamp"], rows[-1]["Id"]
        where = f"SystemModstamp > {stamp} OR (SystemModstamp = {stamp} AND Id > '{last}')"
    assert seen == early + batch


def test_deleting_bumps_system_modstamp_for_query_all_cursors(sf_env: SfEnv) -> None:
    ids = sf_env.contacts(2)
    before = sf_env.org.record("Contact", ids[1])["SystemModstamp"]
    sf_env.clock.advance(timedelta(seconds=2))
    sf_env.sf.Contact.delete(ids[1])
    page = sf_env.sf.query_all(
        f"SELECT Id, IsDeleted FROM Contact WHERE SystemModstamp > {before}", include_deleted=True
    )
    assert [(r["Id"], r["IsDeleted"]) for r in page["records"]] == [(ids[1], True)]
    assert sf_env.get(f"{API}/sobjects/Contact/{ids[1]}").json()[0]["errorCode"] == "ENTITY_IS_DELETED"
