"""Brevo's marketing webhooks end to end: the sandbox posts real events to a started receiver, and
targeted runs apply them (issue 14). Everything goes over real sockets; deliveries are awaited by
polling the inbox, never by sleeping a fixed time.

Rule ids (README, "Rules"): Y1 (Brevo's own contacts are never created in Salesforce), Y10 (a
contact deleted in Brevo is deleted in Salesforce; a Contact with a Case is kept), B6 (mass
deletions wait for a confirmation), B9 (a contact taken off the list in Brevo).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from tests.support.sync import Env, setup_integration
from toolkit.api import Toolkit
from toolkit.sandbox.brevo.contact_ops import update_contact
from toolkit.serve.events import apply_events
from toolkit.serve.hooks import HOOK_EVENTS, sync_webhooks
from toolkit.serve.receiver import TOKEN_FIELD, TOKEN_KIND, Receiver, hook_url
from toolkit.store import IntegrationStatus, LinkState, RunTrigger, WebhookEvent, WebhookEventOutcome

NAME = "contacts"


class Hooked:
    """A sandbox, a toolkit with one active, synced integration, and a receiver Brevo posts to."""

    def __init__(self, env: Env, receiver: Receiver) -> None:
        self.env = env
        self.tk = env.tk
        self.receiver = receiver
        self.iid = 0  # set by _start, once the integration exists
        self.public_url: str | None = None  # where Brevo posts (None: the receiver itself)

    def contact(self, **fields: Any) -> str:
        [result] = self.env.sandbox.salesforce.create_many("Contact", [{"LastName": "Weber", **fields}])
        assert result["success"], result
        return str(result["id"])

    def pending(self) -> list[WebhookEvent]:
        return self.tk.store.pending_events(self.iid)

    def wait_for(self, predicate: Any, timeout: float = 15.0) -> list[WebhookEvent]:
        """The inbox's pending events, once ``predicate(events)`` holds (polled; fails on timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.pending()
            if predicate(events):
                return events
            if time.monotonic() > deadline:
                raise AssertionError(f"the inbox never got there: {[(e.kind, e.email) for e in events]}")
            time.sleep(0.02)

    def wait_for_event(self, kind: str, email: str) -> list[WebhookEvent]:
        return self.wait_for(lambda events: any(e.kind == kind and e.email == email for e in events))

    def settle(self) -> None:
        """Run until a run has nothing left to write, then let the sandbox deliver what those runs
        caused (the toolkit's own writes echo as events) and mark it processed: a quiet start."""
        for _ in range(4):
            if self.tk.run(NAME).tasks == 0:
                break
        else:
            raise AssertionError("the integration does not settle")
        assert self.env.sandbox.brevo.webhooks.wait_idle(15)
        self.drain()

    def drain(self) -> None:
        """Mark whatever is still pending processed (echoes of the toolkit's own writes)."""
        self.tk.store.mark_processed([e.id for e in self.pending()], WebhookEventOutcome.IGNORED)

    def deletion_check_not_due(self) -> None:
        """The periodic deletion check just ran and is expensive: not due for hours."""
        self.tk.store.set_cursor(self.iid, "brevo_deletions_checked_at", datetime.now(UTC).isoformat())
        self.tk.store.set_cursor(self.iid, "brevo_deletions_pages", "1000000")

    def list_reads(self) -> int:
        """Reads of the list's members: ``GET /contacts?listIds=`` (or the list's own listing)."""
        return sum(
            1
            for entry in self.env.sandbox.log.entries("brevo")
            if entry.method == "GET"
            and (
                ("/contacts/lists/" in entry.path and entry.path.endswith("/contacts"))
                or (entry.path.endswith("/v3/contacts") and "listIds=" in entry.query)
            )
        )

    def token(self) -> str:
        return self.tk.credentials.get(TOKEN_KIND, NAME, TOKEN_FIELD).reveal()

    def post(self, body: Any, token: str | None = None) -> requests.Response:
        with requests.Session() as http:
            http.trust_env = False
            return http.post(
                hook_url(self.receiver.url, NAME),
                data=json.dumps(body),
                headers={
                    "Authorization": f"Bearer {token or self.token()}",
                    "Content-Type": "application/json",
                },
                timeout=10,
            )

    def post_raw(self, body: bytes, token: str | None = None) -> requests.Response:
        with requests.Session() as http:
            http.trust_env = False
            return http.post(
                hook_url(self.receiver.url, NAME),
                data=body,
                headers={"Authorization": f"Bearer {self.token() if token is None else token}"},
                timeout=10,
            )

    def sf(self, sf_id: str) -> dict[str, Any]:
        return self.env.sandbox.salesforce.get("Contact", sf_id) or {}

    def deliveries(self) -> list[dict[str, Any]]:
        return self.env.sandbox.brevo.webhooks.attempts()


class Relay:
    """A public URL in front of the receiver that keeps the exact bodies Brevo posts, then passes them on."""

    def __init__(self, target: str) -> None:
        relay = self
        self._bodies: list[bytes] = []
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with relay._lock:
                    relay._bodies.append(body)
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")
                }
                with requests.Session() as http:
                    http.trust_env = False
                    answer = http.post(target + self.path, data=body, headers=headers, timeout=10)
                self.send_response(answer.status_code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def bodies(self) -> list[bytes]:
        with self._lock:
            return list(self._bodies)

    def __enter__(self) -> Relay:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture
def hooked(env_factory: Any) -> Iterator[Hooked]:
    env: Env = env_factory()
    env.sandbox.brevo.webhooks.retry_scale = 2e-5  # Brevo's 10 min ... 8 h become 12 ms ... 0.6 s
    receiver = Receiver(env.settings.state_dir, state=env.settings.state_location)
    receiver.start()
    yield Hooked(env, receiver)
    receiver.stop()


def _start(hooked: Hooked, **contacts: dict[str, Any]) -> dict[str, str]:
    """Contacts created in Salesforce, the integration set up and synced, the webhook registered."""
    ids = {key: hooked.contact(**fields) for key, fields in contacts.items()}
    setup_integration(hooked.tk)
    hooked.iid = hooked.tk.store.get_integration(NAME).id
    assert hooked.tk.run(NAME).ok
    changed = sync_webhooks(hooked.tk, hooked.public_url or hooked.receiver.url)
    assert len(changed) == 1 and "registered" in changed[0]
    return ids


# -- registration --------------------------------------------------------------------------------


def test_an_active_integration_gets_one_webhook_registered_once(hooked: Hooked) -> None:
    _start(hooked)
    integration = hooked.tk.store.get_integration(NAME)
    url = hook_url(hooked.receiver.url, NAME)
    assert integration.webhook_url == url and integration.webhook_id is not None
    [webhook] = hooked.tk.brevo().list_webhooks("marketing")
    assert (webhook.id, webhook.url, set(webhook.events)) == (integration.webhook_id, url, set(HOOK_EVENTS))
    assert webhook.token is not None and webhook.token.reveal() == hooked.token()
    assert len(hooked.token()) >= 40  # secrets.token_urlsafe(32)
    assert sync_webhooks(hooked.tk, hooked.receiver.url) == []  # idempotent: nothing to change
    assert [w.id for w in hooked.tk.brevo().list_webhooks("marketing")] == [webhook.id]


def test_a_new_public_url_re_registers_and_a_webhook_deleted_at_brevo_comes_back(hooked: Hooked) -> None:
    _start(hooked)
    first = hooked.tk.store.get_integration(NAME).webhook_id
    moved = sync_webhooks(hooked.tk, "https://sync.example.com")
    assert [line.split(":")[0] for line in moved] == [NAME, NAME]
    [webhook] = hooked.tk.brevo().list_webhooks("marketing")
    assert webhook.id != first and webhook.url == "https://sync.example.com/brevo/webhooks/contacts"
    hooked.tk.brevo().delete_webhook(webhook.id)  # someone removed it in Brevo's settings
    again = sync_webhooks(hooked.tk, hooked.receiver.url)
    assert len(again) == 2  # the gone one "deleted" (404 is fine), a new one registered
    [back] = hooked.tk.brevo().list_webhooks("marketing")
    assert back.url == hook_url(hooked.receiver.url, NAME)


def test_deactivating_the_integration_deletes_its_webhook_at_brevo(hooked: Hooked) -> None:
    _start(hooked)
    hooked.tk.store.set_status(NAME, IntegrationStatus.STOPPED)
    changed = sync_webhooks(hooked.tk, hooked.receiver.url)
    assert len(changed) == 1 and "deleted" in changed[0]
    assert hooked.tk.brevo().list_webhooks("marketing") == []
    integration = hooked.tk.store.get_integration(NAME)
    assert integration.webhook_id is None and integration.webhook_url is None
    assert hooked.tk.credentials.find(TOKEN_KIND, NAME, TOKEN_FIELD) is None
    assert sync_webhooks(hooked.tk, hooked.receiver.url) == []  # idempotent


def test_no_public_url_means_no_webhooks(hooked: Hooked) -> None:
    _start(hooked)
    assert len(sync_webhooks(hooked.tk, None)) == 1
    assert hooked.tk.brevo().list_webhooks("marketing") == []
    assert sync_webhooks(hooked.tk, None) == []


# -- contact_deleted -----------------------------------------------------------------------------------


def test_a_contact_deleted_in_brevo_is_deleted_in_salesforce_by_the_event_run(hooked: Hooked) -> None:
    ids = _start(hooked, gone={"Email": "gone@example.org"}, stays={"Email": "stays@example.org"})
    hooked.settle()
    hooked.deletion_check_not_due()
    reads = hooked.list_reads()
    assert hooked.tk.brevo().delete_contact(ids["gone"], "ext_id")
    [event] = hooked.wait_for_event("contact_deleted", "gone@example.org")
    result = apply_events(hooked.tk, NAME)
    assert result is not None and result.ok and result.counts["to_salesforce.delete"] == 1
    assert hooked.sf(ids["gone"])["IsDeleted"] and not hooked.sf(ids["stays"]).get("IsDeleted")
    assert hooked.list_reads() == reads  # the periodic check was not due: the event did it
    assert [run.trigger for run in hooked.tk.store.list_runs(hooked.iid, limit=1)] == [RunTrigger.EVENT]
    done = hooked.tk.store.get_webhook_event(event.id)
    assert done is not None and done.outcome == WebhookEventOutcome.APPLIED
    assert [link.sf_id for link in hooked.tk.links(NAME)] == [ids["stays"]]
    assert apply_events(hooked.tk, NAME) is None  # nothing pending any more


def test_a_contact_with_a_case_deleted_in_brevo_is_kept_with_a_y10_rejection(hooked: Hooked) -> None:
    ids = _start(hooked, kept={"Email": "case@example.org"})
    [case] = hooked.env.sandbox.salesforce.create_many(
        "Case", [{"ContactId": ids["kept"], "Subject": "Help"}]
    )
    assert case["success"], case
    hooked.settle()
    hooked.deletion_check_not_due()
    assert hooked.tk.brevo().delete_contact(ids["kept"], "ext_id")
    hooked.wait_for_event("contact_deleted", "case@example.org")
    result = apply_events(hooked.tk, NAME)
    assert result is not None and result.ok and result.rejected == {"Y10": 1}
    assert not hooked.sf(ids["kept"]).get("IsDeleted")
    [link] = hooked.tk.links(NAME)
    assert link.state == LinkState.KEPT
    assert [r["rule"] for r in hooked.tk.rejections(NAME)] == ["Y10"]


def test_a_deletion_event_for_a_contact_that_still_exists_deletes_nothing(hooked: Hooked) -> None:
    """Forged with the right token, replayed or reordered after a re-creation: the look-up decides."""
    ids = _start(hooked, alive={"Email": "alive@example.org"})
    hooked.settle()
    hooked.deletion_check_not_due()
    body = {
        "event": "contact_deleted",
        "email": "alive@example.org",
        "id": 1,
        "list_id": [2],
        "ts": int(time.time()),
    }
    assert hooked.post(body).json()["recorded"] == 1
    result = apply_events(hooked.tk, NAME)
    assert result is not None and result.ok and "to_salesforce.delete" not in result.counts
    assert result.tasks == 0  # nothing to do: nothing written
    assert not hooked.sf(ids["alive"]).get("IsDeleted")
    assert hooked.env.brevo_contact(ids["alive"]) is not None
    assert [link.state for link in hooked.tk.links(NAME)] == [LinkState.ACTIVE]


def test_a_deletion_event_naming_the_contact_by_its_brevo_id_deletes_it(hooked: Hooked) -> None:
    """A payload with ``contact_id`` (the documented ones have none) finds the link by its Brevo id."""
    ids = _start(hooked, moved={"Email": "moved@example.org"})
    hooked.settle()
    hooked.deletion_check_not_due()
    [link] = hooked.tk.links(NAME)
    assert link.brevo_id is not None  # learnt by the sync
    brevo_id = link.brevo_id
    hooked.env.sandbox.brevo.webhooks.stop()  # this deletion is told by the test's event only
    assert hooked.tk.brevo().delete_contact(ids["moved"], "ext_id")
    body = {
        "event": "contact_deleted",
        "email": "renamed@example.org",
        "contact_id": brevo_id,
        "ts": int(time.time()),
    }
    assert hooked.post(body).json()["recorded"] == 1
    result = apply_events(hooked.tk, NAME)
    assert result is not None and result.ok and result.counts["to_salesforce.delete"] == 1
    assert hooked.sf(ids["moved"])["IsDeleted"]


def test_mass_deletions_by_events_wait_for_a_confirmation_b6(hooked: Hooked) -> None:
    ids = _start(hooked, **{f"c{i}": {"Email": f"mass{i}@example.org"} for i in range(30)})
    hooked.settle()
    hooked.deletion_check_not_due()
    for sf_id in ids.values():
        assert hooked.tk.brevo().delete_contact(sf_id, "ext_id")
    hooked.wait_for(lambda events: len([e for e in events if e.kind == "contact_deleted"]) == 30)
    result = apply_events(hooked.tk, NAME)
    assert result is not None and result.status == "blocked" and "to_salesforce.delete" not in result.counts
    assert not any(hooked.sf(sf_id).get("IsDeleted") for sf_id in ids.values())
    assert {link.state for link in hooked.tk.links(NAME)} == {LinkState.HELD_BREVO_DELETE}


# -- contact_updated, unsubscribed, list_addition ----------------------------------------------------------


def test_a_contact_updated_in_brevo_updates_salesforce_through_the_event(hooked: Hooked) -> None:
    ids = _start(hooked, ana={"Email": "ana@example.org", "FirstName": "Ana"})
    hooked.settle()
    hooked.tk.brevo().update_contact(ids["ana"], identifier_type="ext_id", attributes={"FIRSTNAME": "Anabel"})
    [event] = hooked.wait_for_event("contact_updated", "ana@example.org")
    result = apply_events(hooked.tk, NAME)
    assert result is not None and result.ok and result.counts["to_salesforce.update"] == 1
    assert hooked.sf(ids["ana"])["FirstName"] == "Anabel"
    done = hooked.tk.store.get_webhook_event(event.id)
    assert done is not None and done.outcome == WebhookEventOutcome.APPLIED


def test_an_event_whose_change_the_cursor_already_passed_is_read_directly(hooked: Hooked) -> None:
    """The modifiedSince read does not bring it (already read): the named contact is read directly."""
    ids = _start(hooked, bo={"Email": "bo@example.org", "FirstName": "Bo"})
    hooked.settle()
    hooked.tk.brevo().update_contact(ids["bo"], identifier_type="ext_id", attributes={"FIRSTNAME": "Bob"})
    hooked.wait_for_event("contact_updated", "bo@example.org")
    # The Brevo cursor moved past the change without the change being applied (as when a run read
    # it and then lost its write, or the change did not move modifiedAt).
    future = datetime.now(UTC).replace(year=datetime.now(UTC).year + 1)
    hooked.tk.store.set_cursor(hooked.iid, "brevo", future.isoformat(timespec="milliseconds"))
    assert hooked.tk.run(NAME).counts.get("to_salesforce.update") is None  # the usual read misses it
    result = apply_events(hooked.tk, NAME)
    assert result is not None and result.ok and result.counts["to_salesforce.update"] == 1
    assert hooked.sf(ids["bo"])["FirstName"] == "Bob"


def test_a_list_addition_puts_a_contact_back_on_the_list_b9(hooked: Hooked) -> None:
    ids = _start(hooked, otto={"Email": "otto@example.org"})
    list_id = int(hooked.tk.store.get_integration(NAME).list_id or 0)
    hooked.settle()
    hooked.tk.brevo().remove_from_list(list_id, [ids["otto"]])
    assert hooked.tk.run(NAME).ok
    assert [link.state for link in hooked.tk.links(NAME)] == [LinkState.LEFT_LIST]
    hooked.settle()
    hooked.tk.brevo().update_contact(ids["otto"], identifier_type="ext_id", list_ids=[list_id])
    hooked.wait_for_event("list_addition", "otto@example.org")
    result = apply_events(hooked.tk, NAME)
    assert result is not None and result.ok and result.counts.get("back_on_list") == 1
    assert [link.state for link in hooked.tk.links(NAME)] == [LinkState.ACTIVE]


def test_a_list_addition_of_a_brevo_only_contact_is_ignored_y1(hooked: Hooked) -> None:
    _start(hooked)
    list_id = int(hooked.tk.store.get_integration(NAME).list_id or 0)
    hooked.settle()
    hooked.tk.brevo().create_contact(email="brevo-only@example.org", list_ids=[list_id])
    [event] = hooked.wait_for_event("list_addition", "brevo-only@example.org")
    result = apply_events(hooked.tk, NAME)
    assert result is not None and result.ok and result.tasks == 0
    assert not [e for e in hooked.env.sandbox.log.entries("brevo") if "brevo-only" in e.path]  # no look-up
    assert not [
        r
        for r in hooked.env.sandbox.salesforce.records("Contact")
        if r.get("Email") == "brevo-only@example.org"
    ]
    done = hooked.tk.store.get_webhook_event(event.id)
    assert done is not None and done.outcome == WebhookEventOutcome.IGNORED


def test_an_unsubscribe_in_brevo_opts_the_contact_out_in_salesforce_b8(hooked: Hooked) -> None:
    una = hooked.contact(Email="una@example.org")
    setup_integration(hooked.tk)
    hooked.tk.store.update_integration(NAME, sync_unsubscribes=True)  # B8 on
    hooked.iid = hooked.tk.store.get_integration(NAME).id
    assert hooked.tk.run(NAME).ok
    assert sync_webhooks(hooked.tk, hooked.receiver.url)
    hooked.settle()
    assert not hooked.sf(una).get("HasOptedOutOfEmail")
    hooked.tk.brevo().update_contact(una, identifier_type="ext_id", email_blacklisted=True)
    [event] = hooked.wait_for_event("unsubscribed", "una@example.org")
    result = apply_events(hooked.tk, NAME)
    assert result is not None and result.ok and result.counts.get("to_salesforce.update") == 1
    assert hooked.sf(una)["HasOptedOutOfEmail"] is True
    done = hooked.tk.store.get_webhook_event(event.id)
    assert done is not None and done.outcome == WebhookEventOutcome.APPLIED


# -- what must change nothing -----------------------------------------------------------------------------


def test_forged_replayed_and_malformed_events_change_nothing(hooked: Hooked) -> None:
    with Relay(hooked.receiver.url) as relay:  # Brevo posts through it: the test sees the exact bodies
        hooked.public_url = relay.url
        ids = _start(hooked, cy={"Email": "cy@example.org"}, dee={"Email": "dee@example.org"})
        hooked.settle()
        hooked.deletion_check_not_due()
        assert hooked.tk.brevo().delete_contact(ids["cy"], "ext_id")
        hooked.wait_for_event("contact_deleted", "cy@example.org")
        [delivered] = [body for body in relay.bodies() if b"contact_deleted" in body]
    assert apply_events(hooked.tk, NAME) is not None and hooked.sf(ids["cy"])["IsDeleted"]
    runs = len(hooked.tk.store.list_runs(hooked.iid, limit=100))

    replay = hooked.post_raw(delivered)  # the very body Brevo posted, posted again
    assert replay.status_code == 200 and replay.json()["recorded"] == 0
    forged = dict(json.loads(delivered), email="dee@example.org", ts=int(time.time()))
    assert hooked.post(forged, token="not-the-token").status_code == 401  # a deletion of a live contact
    assert hooked.post_raw(json.dumps(forged).encode(), token="").status_code == 401
    malformed = {**forged, "ts": "soon"}  # authenticated, but no readable time
    assert hooked.post(malformed).status_code == 400
    assert hooked.post_raw(b"[{]").status_code == 400
    assert hooked.pending() == []
    assert apply_events(hooked.tk, NAME) is None  # no run at all
    assert len(hooked.tk.store.list_runs(hooked.iid, limit=100)) == runs
    assert not hooked.sf(ids["dee"]).get("IsDeleted") and hooked.env.brevo_contact(ids["dee"]) is not None
    assert [link.sf_id for link in hooked.tk.links(NAME)] == [ids["dee"]]


def test_events_for_an_inactive_integration_are_ignored_without_a_run(hooked: Hooked) -> None:
    _start(hooked)
    hooked.settle()
    body = {"event": "contact_updated", "email": "x@example.org", "ts": int(time.time())}
    assert hooked.post(body).json()["recorded"] == 1
    hooked.tk.store.set_status(NAME, IntegrationStatus.STOPPED)
    runs = len(hooked.tk.store.list_runs(hooked.iid, limit=100))
    assert apply_events(hooked.tk, NAME) is None
    assert hooked.pending() == [] and len(hooked.tk.store.list_runs(hooked.iid, limit=100)) == runs


def test_the_toolkits_own_writes_coming_back_as_events_start_no_run(hooked: Hooked) -> None:
    """With ``brevo_api_key_name`` set, an event of a change the toolkit's key made is its own write
    echoing back: ignored without a run. A person's edit in Brevo (no API key) is applied."""
    ids = _start(hooked, ana={"Email": "ana@example.org", "FirstName": "Ana"})
    hooked.settle()
    own_name = hooked.env.sandbox.brevo.api_key_name
    with Toolkit(hooked.tk.settings.replace(brevo_api_key_name=own_name)) as tk:
        [ok] = hooked.env.sandbox.salesforce.update_many("Contact", [{"Id": ids["ana"], "FirstName": "Anna"}])
        assert ok["success"] and tk.run(NAME).counts["to_brevo.update"] == 1
        [echo] = hooked.wait_for_event("contact_updated", "ana@example.org")
        assert echo.api_key_name == own_name
        runs = len(tk.store.list_runs(hooked.iid))
        assert apply_events(tk, NAME) is None and len(tk.store.list_runs(hooked.iid)) == runs
        done = tk.store.get_webhook_event(echo.id)
        assert done is not None and done.outcome == WebhookEventOutcome.IGNORED
        update_contact(
            hooked.env.sandbox.brevo, ids["ana"], "ext_id", {"attributes": {"FIRSTNAME": "Annika"}}
        )
        [edit] = hooked.wait_for_event("contact_updated", "ana@example.org")
        assert edit.api_key_name == ""  # made in Brevo's own app, not through an API key
        result = apply_events(tk, NAME)
        assert result is not None and result.counts["to_salesforce.update"] == 1
        assert hooked.sf(ids["ana"])["FirstName"] == "Annika"
