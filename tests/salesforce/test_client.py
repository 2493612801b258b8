"""SalesforceClient against the sandbox over HTTPS: paging, Bulk API 2.0, writes, the funnel's retries,
re-authentication and error mapping, SOQL escaping. Calls are counted in the sandbox's request log."""

from __future__ import annotations

import io
import random
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import pytest
import requests

from toolkit.exceptions import ApiDisabledError, AuthError, FatalApiError, RetriableApiError
from toolkit.salesforce import (
    RetryPolicy,
    SalesforceClient,
    TokenSet,
    bulk,
    client_credentials,
    make_session,
    soql_datetime,
    soql_quote,
)
from toolkit.sandbox.middleware import FaultPlan
from toolkit.sandbox.runner import Sandbox, SandboxConfig

V = "/services/data/v62.0"
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)
COMPARED = (
    "Id",
    "FirstName",
    "LastName",
    "Email",
    "Phone",
    "Birthdate",
    "HasOptedOutOfEmail",
    "Loyalty_Tier__c",
    "Interests__c",
    "Customer_Score__c",
    "Newsletter_Opt_In__c",
    "Description",
    "SystemModstamp",
)


def start(contacts: int) -> Sandbox:
    sb = Sandbox(SandboxConfig(contacts=contacts, seed=11, brevo_rate_limit=0))
    sb.start()
    return sb


@pytest.fixture(scope="module")
def big() -> Iterator[Sandbox]:
    sb = start(5000)
    yield sb
    sb.stop()


@pytest.fixture
def small() -> Iterator[Sandbox]:
    sb = start(30)
    yield sb
    sb.stop()


def connect(
    sb: Sandbox,
    retry: RetryPolicy = FAST,
    renew: Callable[[], TokenSet] | None = None,
    sleep: Callable[[float], None] = lambda s: None,
) -> SalesforceClient:
    info = sb.info["salesforce"]
    session = make_session(info["ca_bundle"])

    def sign_in() -> TokenSet:
        return client_credentials(
            info["login_url"], info["client_id"], info["client_secret"], session=session
        )

    return SalesforceClient(sign_in(), renew or sign_in, session=session, retry=retry, sleep=sleep)


def calls(sb: Sandbox, method: str, path: str) -> list[int]:
    """Statuses of the logged requests to exactly ``path`` (0 = connection reset)."""
    return [
        e.status for e in sb.log.entries("salesforce") if e.method == method and e.path.rstrip("/") == path
    ]


# -- reads ------------------------------------------------------------------------------------------


def test_query_pages_over_5000_contacts_take_3_calls(big: Sandbox) -> None:
    client = connect(big)
    big.log.clear()
    pages = list(client.query_pages("SELECT Id, Email, SystemModstamp FROM Contact"))
    assert [len(p) for p in pages] == [2000, 2000, 1000]
    assert big.log.count("salesforce", "GET", f"{V}/query") == 3
    ids = [r["Id"] for page in pages for r in page]
    assert len(set(ids)) == 5000 and all("attributes" not in r for page in pages for r in page)


def test_bulk_pages_are_typed_like_the_rest_api(big: Sandbox) -> None:
    client = connect(big)
    soql = f"SELECT {', '.join(COMPARED)} FROM Contact"
    rest = {r["Id"]: r for page in client.query_pages(soql) for r in page}
    big.log.clear()
    pages = list(client.bulk_query_pages(soql, max_records=2000, poll_seconds=0.05))
    assert [len(p) for p in pages] == [2000, 2000, 1000]
    assert big.log.count("salesforce", "POST", f"{V}/jobs/query") == 1
    results = [e for e in big.log.entries("salesforce") if e.path.endswith("/results")]
    assert len(results) == 3
    bulk = {r["Id"]: r for page in pages for r in page}
    # Booleans, floats, nulls and datetimes as the REST API gives them; Bulk API 2.0 may leave the
    # milliseconds out (its docs call them optional, the sandbox sends both forms): same second.
    assert {i: {**r, "SystemModstamp": r["SystemModstamp"][:19]} for i, r in bulk.items()} == {
        i: {**r, "SystemModstamp": r["SystemModstamp"][:19]} for i, r in rest.items()
    }
    assert all(
        r["SystemModstamp"].endswith("+0000") and len(r["SystemModstamp"]) == 28 for r in bulk.values()
    )
    values = [r[f] for r in bulk.values() for f in COMPARED]
    assert {bool, float, str, type(None)} <= {type(v) for v in values}


def test_bulk_pages_in_parts_give_the_same_records_with_the_same_calls(big: Sandbox) -> None:
    client = connect(big)
    soql = f"SELECT {', '.join(COMPARED)} FROM Contact"
    whole = [r for page in client.bulk_query_pages(soql, max_records=2000, poll_seconds=0.05) for r in page]
    big.log.clear()
    parts = list(client.bulk_query_pages(soql, max_records=2000, poll_seconds=0.05, chunk_records=700))
    # Each results page of 2,000 comes in parts of at most 700 records (none spans two pages).
    assert [len(p) for p in parts] == [700, 700, 600, 700, 700, 600, 700, 300]
    assert len([e for e in big.log.entries("salesforce") if e.path.endswith("/results")]) == 3
    key = "SystemModstamp"  # the job's own second, milliseconds or not (see above)
    assert [{**r, key: r[key][:19]} for p in parts for r in p] == [{**r, key: r[key][:19]} for r in whole]


def test_bulk_results_page_decoded_as_requests_decodes_its_text() -> None:
    text = (
        '"Id","LastName","City__c"\n"003A","Müller","Zürich\x00"\n"003B","Ørsted",""\n"003C","李","a\r\nb"\n'
    )
    types = {"id": "id", "lastname": "string", "city__c": "string"}
    for encoding in ("utf-8", "utf-16", "latin-1"):
        content = text.encode(encoding, errors="replace")
        expected = str(content, encoding, errors="replace").replace("\x00", "")
        records = list(bulk._records(bulk._page_lines(content, encoding), types))
        assert records == list(bulk._records(io.StringIO(expected), types))
    utf8 = list(bulk._records(bulk._page_lines(text.encode(), "utf-8"), types))
    assert utf8 == [
        {"Id": "003A", "LastName": "Müller", "City__c": "Zürich"},
        {"Id": "003B", "LastName": "Ørsted", "City__c": None},
        {"Id": "003C", "LastName": "李", "City__c": "a\r\nb"},
    ]
    assert list(bulk._records(bulk._page_lines(b"", "utf-8"), types)) == []


def test_failed_bulk_job_raises_fatal(small: Sandbox) -> None:
    info = small.info["salesforce"]
    http = make_session(info["ca_bundle"])
    token = client_credentials(
        info["login_url"], info["client_id"], info["client_secret"], session=http
    ).access_token.reveal()

    def abort_running_jobs(_seconds: float) -> None:  # the "sleep" before each poll
        url = f"{info['instance_url']}{V}/jobs/query"
        for job in http.get(url, headers={"Authorization": f"Bearer {token}"}).json()["records"]:
            if job["state"] not in ("JobComplete", "Aborted", "Failed"):
                http.patch(
                    f"{url}/{job['id']}",
                    json={"state": "Aborted"},
                    headers={"Authorization": f"Bearer {token}"},
                )

    client = connect(small, sleep=abort_running_jobs)
    with pytest.raises(FatalApiError) as caught:
        list(client.bulk_query_pages("SELECT Id FROM Contact", poll_seconds=0))
    assert caught.value.code == "BULK_JOB_ABORTED"


def test_count_describe_limits_and_usage(big: Sandbox) -> None:
    client = connect(big)
    big.log.clear()
    assert client.count("Contact") == 5000
    assert client.count("Contact", "Email = null") == sum(
        1 for r in big.salesforce.records("Contact") if r["Email"] is None
    )
    fields = {f["name"]: f for f in client.describe("Contact")["fields"]}
    assert fields["Full_Name__c"]["calculated"] is True and fields["Email"]["type"] == "email"
    client.describe("Contact")
    assert big.log.count("salesforce", "GET", f"{V}/sobjects/Contact/describe") == 1  # cached
    assert client.limits()["DailyApiRequests"]["Max"] == big.salesforce.api_usage[1]
    assert client.api_usage == big.salesforce.api_usage
    assert client.tokens.access_token.reveal() not in repr(client)


def test_include_deleted_reads_the_recycle_bin(small: Sandbox) -> None:
    client = connect(small)
    victim = small.salesforce.records("Contact")[0]["Id"]
    small.salesforce.delete_many([victim])
    soql = f"SELECT Id, IsDeleted FROM Contact WHERE Id = {soql_quote(victim)}"
    assert [r for p in client.query_pages(soql) for r in p] == []
    assert [r for p in client.query_pages(soql, include_deleted=True) for r in p] == [
        {"Id": victim, "IsDeleted": True}
    ]


# -- writes ------------------------------------------------------------------------------------------


def test_update_records_reports_string_too_long_among_successes(small: Sandbox) -> None:
    client = connect(small)
    ids = [r["Id"] for r in small.salesforce.records("Contact")[:3]]
    unchanged = small.salesforce.records("Contact")[1]["FirstName"]
    results = client.update_records(
        "Contact",
        [
            {"Id": ids[0], "FirstName": "Ada"},
            {"Id": ids[1], "FirstName": "X" * 41},  # FirstName holds 40 characters
            {"Id": ids[2], "FirstName": "Grace"},
        ],
    )
    assert [(r.id, r.success) for r in results] == [(ids[0], True), (ids[1], False), (ids[2], True)]
    error = results[1].errors[0]
    assert error.status_code == "STRING_TOO_LONG" and error.fields == ["FirstName"]
    assert "max length=40" in error.message
    assert [(small.salesforce.get("Contact", i) or {}).get("FirstName") for i in ids] == [
        "Ada",
        unchanged,
        "Grace",
    ]


def test_writes_go_200_per_call_in_input_order(small: Sandbox) -> None:
    client = connect(small)
    created = client.create_records("Contact", [{"LastName": f"Bulk {i}"} for i in range(450)])
    assert all(r.success for r in created) and len({r.id for r in created}) == 450
    assert len(calls(small, "POST", f"{V}/composite/sobjects")) == 3
    ids = [str(r.id) for r in created]
    updated = client.update_records("Contact", [{"Id": i, "Title": "Updated"} for i in ids])
    assert [r.id for r in updated] == ids
    assert len(calls(small, "PATCH", f"{V}/composite/sobjects")) == 3
    with_case = small.salesforce.records("Case")[0]["ContactId"]
    deleted = client.delete_records([ids[0], with_case, ids[1]])
    assert [r.success for r in deleted] == [True, False, True]
    assert deleted[1].id == with_case and deleted[1].errors[0].status_code == "DELETE_FAILED"
    assert client.count("Contact", "LastName LIKE 'Bulk %'") == 448


# -- the funnel: retries, re-authentication, error mapping ------------------------------------------


def test_injected_503_and_reset_are_retried_and_the_call_succeeds(small: Sandbox) -> None:
    client = connect(small)
    small.faults["salesforce"].set_plan(FaultPlan(script=["503", "reset", None]))
    assert client.count("Contact") == 30
    assert calls(small, "GET", f"{V}/query") == [503, 0, 200]
    assert client.funnel.retries == 2


def test_read_timeout_is_retried(small: Sandbox) -> None:
    info = small.info["salesforce"]
    session = make_session(info["ca_bundle"], timeout=(5.0, 0.3))
    tokens = client_credentials(info["login_url"], info["client_id"], info["client_secret"], session=session)
    client = SalesforceClient(tokens, lambda: tokens, session=session, retry=FAST, sleep=lambda s: None)
    small.faults["salesforce"].set_plan(FaultPlan(script=["delay"], delay_seconds=1.0))
    assert client.count("Contact") == 30
    assert client.funnel.retries == 1
    deadline = time.monotonic() + 5  # the delayed request is logged once the server has answered it
    while len(calls(small, "GET", f"{V}/query")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert calls(small, "GET", f"{V}/query") == [200, 200]  # the slow answer came too late to be used


def test_retries_are_bounded(small: Sandbox) -> None:
    client = connect(small, retry=RetryPolicy(attempts=3, base_delay=0.01))
    small.faults["salesforce"].set_plan(FaultPlan(script=["503", "500", "429", None]))
    with pytest.raises(RetriableApiError) as caught:
        client.count("Contact")
    assert caught.value.status == 429 and "gave up after 3 tries" in str(caught.value)
    assert calls(small, "GET", f"{V}/query") == [503, 500, 429]


def test_a_create_is_not_replayed_after_a_reset_but_is_after_a_503(small: Sandbox) -> None:
    client = connect(small)
    small.faults["salesforce"].set_plan(FaultPlan(script=["reset"]))
    with pytest.raises(RetriableApiError):
        client.create_records("Contact", [{"LastName": "Once"}])
    small.faults["salesforce"].set_plan(FaultPlan(script=["503"]))
    assert client.create_records("Contact", [{"LastName": "Once"}])[0].success
    assert calls(small, "POST", f"{V}/composite/sobjects") == [0, 503, 200]


def test_expired_session_reauthenticates_once_and_replays(small: Sandbox) -> None:
    client = connect(small)
    before = client.tokens.access_token
    requests.post(
        small.info["sandbox"]["salesforce_control"] + "salesforce/expire-sessions",
        verify=small.info["salesforce"]["ca_bundle"],
    )
    assert client.count("Contact") == 30
    assert calls(small, "GET", f"{V}/query") == [401, 200]
    assert client.funnel.reauthentications == 1 and client.tokens.access_token != before


def test_session_refused_again_after_reauthentication_is_an_auth_error(small: Sandbox) -> None:
    info = small.info["salesforce"]
    session = make_session(info["ca_bundle"])

    def sign_in_then_expire() -> TokenSet:
        tokens = client_credentials(
            info["login_url"], info["client_id"], info["client_secret"], session=session
        )
        small.oauth.expire_sessions()
        return tokens

    client = connect(small, renew=sign_in_then_expire)
    small.oauth.expire_sessions()
    with pytest.raises(AuthError) as caught:
        client.count("Contact")
    assert caught.value.code == "INVALID_SESSION_ID"
    assert calls(small, "GET", f"{V}/query") == [401, 401]
    assert client.funnel.reauthentications == 1


def test_request_limit_exceeded_is_fatal_and_usage_recorded(small: Sandbox) -> None:
    client = connect(small)
    limit = small.salesforce.api_usage[1]
    small.salesforce.allowance.set(used=limit)
    with pytest.raises(FatalApiError) as caught:
        client.count("Contact")
    assert (caught.value.status, caught.value.code) == (403, "REQUEST_LIMIT_EXCEEDED")
    assert calls(small, "GET", f"{V}/query") == [403]  # not retried
    assert client.api_usage == (limit, limit)


def test_api_disabled_for_org(small: Sandbox) -> None:
    client = connect(small)
    small.salesforce.api_enabled = False
    with pytest.raises(ApiDisabledError) as caught:
        client.count("Contact")
    assert caught.value.code == "API_DISABLED_FOR_ORG" and isinstance(caught.value, AuthError)


def test_bad_query_is_fatal_with_salesforce_error_code(small: Sandbox) -> None:
    client = connect(small)
    with pytest.raises(FatalApiError) as caught:
        list(client.query_pages("SELECT Id, NoSuchField__c FROM Contact"))
    assert (caught.value.status, caught.value.code) == (400, "INVALID_FIELD")
    assert "NoSuchField__c" in str(caught.value)
    assert calls(small, "GET", f"{V}/query") == [400]


# -- SOQL literals ------------------------------------------------------------------------------------


def test_soql_quote_neutralises_injection_and_round_trips(small: Sandbox) -> None:
    client = connect(small)
    odd = 'O\'Brien \\ "the" %_ one\nsecond\tline'
    target = client.create_records("Contact", [{"LastName": "Plain"}, {"LastName": odd}])[1].id
    injected = soql_quote("' OR LastName != '")
    assert client.count("Contact", f"LastName = {injected}") == 0  # unescaped it would match all 32
    found = [
        r["Id"]
        for p in client.query_pages(f"SELECT Id FROM Contact WHERE LastName = {soql_quote(odd)}")
        for r in p
    ]
    assert found == [target]
    assert client.count("Contact", f"LastName LIKE {soql_quote('%_ one', like=True)[:-1]}%'") == 0
    assert client.count("Contact", f"LastName LIKE '%{soql_quote('%_ one', like=True)[1:-1]}%'") == 1


def test_soql_datetime_is_utc_with_milliseconds(small: Sandbox) -> None:
    moment = datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert soql_datetime(moment) == "2026-03-01T10:30:05.123Z"
    with pytest.raises(ValueError):
        soql_datetime(datetime(2026, 3, 1))
    client = connect(small)
    stamps = sorted(r["SystemModstamp"] for r in small.salesforce.records("Contact"))
    latest = datetime.strptime(stamps[-1], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert client.count("Contact", f"SystemModstamp >= {soql_datetime(latest)}") == stamps.count(stamps[-1])
    assert client.count("Contact", f"SystemModstamp > {soql_datetime(latest)}") == 0


def test_backoff_honours_retry_after_and_stays_bounded() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0, max_retry_after=60.0)
    rng = random.Random(1)
    assert policy.delay(1, 7.0, rng) == 7.0 and policy.delay(1, 900.0, rng) == 60.0
    delays = [policy.delay(n, None, rng) for n in range(1, 10)]
    assert 0.25 <= delays[0] <= 0.5 and all(d <= 4.0 for d in delays) and delays[-1] >= 2.0
