"""The Python API analysts use in JupyterLab (and the CLI, wizard and notebooks build on).

Example:
    >>> tk = Toolkit()                                         # doctest: +SKIP
    >>> tk.create_integration("newsletter", "Contact")         # S1
    >>> tk.use_connection("newsletter", "my-org")              # S2 (connected beforehand)
    >>> tk.accept_opt_in("newsletter")                         # S4
    >>> tk.set_mapping("newsletter", tk.suggest_mapping("newsletter"))   # S5/S6
    >>> tk.choose_list("newsletter", new_list="Salesforce contacts")     # S7
    >>> tk.activate("newsletter")                              # S8
    >>> tk.plan("newsletter").counts                           # B1: what a run would do
    >>> tk.run("newsletter").counts
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from toolkit.mapping import optout_checkboxes, suggest_mapping, validate_mapping
from toolkit.mapping.types import Mapping
from toolkit.notify import DeliveryReport, notify_pending

from .brevo import BrevoClient
from .config import Settings
from .connections import (
    BrowserSignIn,
    ConnectionView,
    TokenState,
    connection_views,
    disconnect_salesforce,
    open_brevo,
    open_salesforce,
    reconnect_salesforce,
    token_state,
)
from .credentials import CredentialStore
from .exceptions import ConfigError, MappingError
from .quota import Quota
from .salesforce import SalesforceClient
from .salesforce.oauth import TokenSet
from .schedules import parse_schedule
from .store import (
    Change,
    Integration,
    IntegrationStatus,
    Link,
    LinkState,
    RejectionState,
    ReportRow,
    RunTrigger,
    Store,
    WebhookEvent,
)
from .store.records import Connection
from .sync import EditPlan, EditPreview, IntegrationEdit, RunLock, RunResult, plan_edit, run_integration
from .sync.lists import MOVED_STATES
from .sync.region import org_region

__all__ = ["ACTOR_ENV", "Toolkit", "default_actor"]

DEFAULT_FOLDER = "Salesforce"
ACTOR_ENV = "TOOLKIT_ACTOR"
"""Who the changes made through a :class:`Toolkit` are recorded as (e.g. ``jane@example.com``)."""
WEBHOOK_TOKEN = ("brevo_webhook", "token")
"""Where ``toolkit serve`` keeps an integration's webhook token: ``(kind, field)`` in the credentials."""


def default_actor(environ: os._Environ[str] | dict[str, str] | None = None) -> str:
    """``$TOOLKIT_ACTOR``, else the operating-system user and host (``jane@laptop``)."""
    env = os.environ if environ is None else environ
    if env.get(ACTOR_ENV, "").strip():
        return env[ACTOR_ENV].strip()
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name in this container
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


class Toolkit:
    """State, credentials and API clients for one state directory.

    Args:
        settings: where the state lives and how to reach the services (default: from the
            environment, see :meth:`toolkit.config.Settings.from_env`).
        actor: who the changes made through it are recorded as (default: :func:`default_actor`).
        via: where they are made (``"python"``; the pages say ``"integrations page"``...).
    """

    def __init__(
        self, settings: Settings | None = None, *, actor: str | None = None, via: str = "python"
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.store = Store.from_settings(self.settings)
        self.store.actor = actor or default_actor()
        self.store.via = via
        self.credentials = CredentialStore(self.settings.state_dir)
        self.quota = Quota(self.store, self.settings)
        self._sf: dict[int, SalesforceClient] = {}
        self._brevo: dict[str, BrevoClient] = {}
        self._checked: dict[str, TokenState] = {}  # connection name -> what check_connection found

    # -- clients -------------------------------------------------------------------------------
    def salesforce(self, integration: str | Integration) -> SalesforceClient:
        """The signed-in Salesforce client of an integration's connection (cached)."""
        integ = (
            integration if isinstance(integration, Integration) else self.store.get_integration(integration)
        )
        if integ.connection_id is None:
            raise ConfigError(f"integration {integ.name!r} has no Salesforce connection yet (S2)")
        if integ.connection_id not in self._sf:
            self._sf[integ.connection_id] = open_salesforce(
                self.store, self.credentials, self.settings, integ.connection_id
            )
        return self._sf[integ.connection_id]

    def brevo(self, account: str = "default") -> BrevoClient:
        """The Brevo client of a named account (cached)."""
        if account not in self._brevo:
            self._brevo[account] = open_brevo(self.credentials, self.settings, account=account)
        return self._brevo[account]

    def close(self) -> None:
        """Close the API sessions and the database."""
        for sf in self._sf.values():
            sf.close()
        for brevo in self._brevo.values():
            brevo.close()
        self._sf.clear()
        self._brevo.clear()
        self.store.close()

    def __enter__(self) -> Toolkit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- setup (SPEC S1-S9) ----------------------------------------------------------------------
    def create_integration(self, name: str, object: str, *, brevo_account: str = "default") -> Integration:
        """S1/S9: a new draft integration of Salesforce Contacts or Leads."""
        return self.store.create_integration(name, object, brevo_account=brevo_account)

    def use_connection(self, name: str, connection: str) -> Integration:
        """S2: the Salesforce connection the integration reads and writes through."""
        return self.store.update_integration(name, connection_id=self.store.get_connection(connection).id)

    def accept_opt_in(self, name: str, accepted: bool = True) -> Integration:
        """S4: the opt-in agreement."""
        return self.store.set_opt_in(name, accepted)

    def brevo_attributes(self, name: str) -> list[dict[str, Any]]:
        """The Brevo account's contact attributes (for the mapping step)."""
        return self.brevo(self.store.get_integration(name).brevo_account).attributes()

    def suggest_mapping(self, name: str, *, booleans_and_picklists: bool = False) -> list[tuple[str, str]]:
        """S5: the pairs the wizard proposes (EMAIL <- Email, FIRSTNAME <- FirstName, ...)."""
        integ = self.store.get_integration(name)
        return suggest_mapping(
            self.salesforce(integ).describe(integ.object),
            self.brevo_attributes(name),
            booleans_and_picklists=booleans_and_picklists,
        )

    def set_mapping(
        self,
        name: str,
        pairs: list[tuple[str, str]] | dict[str, str],
        *,
        booleans_and_picklists: bool = False,
        default_region: str | None = None,
    ) -> Mapping:
        """S5/S6/Y4/Y11/B4: validate the mapping against both sides' metadata and keep it.

        Args:
            default_region: ISO region (``"DE"``) in which national phone numbers of records
                naming no country are read; by default the org's country (Salesforce's
                ``Organization``), looked up once.

        Raises:
            MappingError: naming the field and the reason.
        """
        integ = self.store.get_integration(name)
        sf = self.salesforce(integ)
        mapping = validate_mapping(
            pairs,
            sf.describe(integ.object),
            self.brevo_attributes(name),
            booleans_and_picklists=booleans_and_picklists,
        )
        region = default_region or integ.default_region or org_region(sf)
        self.store.update_integration(
            name,
            mapping=mapping.to_json(),
            sync_booleans_picklists=booleans_and_picklists,
            default_region=region,
        )
        return mapping

    def org_region(self, name: str) -> str | None:
        """The phone region of the integration's org (its ``Organization`` country), if it can be read."""
        return org_region(self.salesforce(self.store.get_integration(name)))

    def choose_list(
        self,
        name: str,
        *,
        list_id: int | None = None,
        new_list: str | None = None,
        folder: str = DEFAULT_FOLDER,
    ) -> int:
        """S7: an existing Brevo list, or a new one created in ``folder``; returns its id."""
        if (list_id is None) == (new_list is None):
            raise ConfigError("choose either an existing list (list_id) or a new list's name (new_list)")
        client = self.brevo(self.store.get_integration(name).brevo_account)
        if list_id is None:
            list_id = client.create_list(str(new_list), client.ensure_folder(folder))
        elif list_id not in {int(lst["id"]) for lst in client.lists()}:
            raise ConfigError(f"Brevo has no list with id {list_id}")
        self.store.set_list(name, int(list_id))
        return int(list_id)

    def activate(self, name: str) -> Integration:
        """S8 "Save and activate"."""
        return self.store.set_status(name, IntegrationStatus.ACTIVE)

    def deactivate(self, name: str) -> Integration:
        """Stop syncing (back to draft); nothing is lost, the cursors stay."""
        return self.store.set_status(name, IntegrationStatus.DRAFT)

    def integrations(self) -> list[Integration]:
        """Every integration with its status (S8's integrations page)."""
        return self.store.list_integrations()

    # -- after setup: edit, pause, delete (issue 15) ----------------------------------------------
    def plan_edit(self, name: str, edit: IntegrationEdit) -> EditPlan:
        """What saving ``edit`` stores and what the next run does because of it (nothing is saved).

        The new mapping is validated against the (new) connection's describe and Brevo's
        attributes, as the wizard's mapping step does (S5/S6/Y11/B4).

        Raises:
            MappingError: naming the field and the reason. ConfigError: an unknown connection or
            a list Brevo does not have. ValueError: a schedule that is not one.
        """
        integ = self.store.get_integration(name)
        connection_id = None if edit.connection is None else self.store.get_connection(edit.connection).id
        mapping_json = None
        if (
            edit.mapping is not None or edit.booleans_and_picklists is not None
        ):  # B4 is validated with the pairs
            pairs = (
                edit.mapping
                if edit.mapping is not None
                else [tuple(p) for p in integ.mapping.get("pairs", [])]
            )
            b4 = (
                integ.sync_booleans_picklists
                if edit.booleans_and_picklists is None
                else edit.booleans_and_picklists
            )
            target = integ if connection_id is None else replace(integ, connection_id=connection_id)
            mapping_json = validate_mapping(
                [(str(a), str(f)) for a, f in pairs],
                self.salesforce(target).describe(integ.object),
                self.brevo_attributes(name),
                booleans_and_picklists=b4,
            ).to_json()
        unsubscribes = integ.sync_unsubscribes if edit.sync_unsubscribes is None else edit.sync_unsubscribes
        sms = integ.sms_optout_field if edit.sms_optout_field is None else (edit.sms_optout_field or None)
        if unsubscribes and (mapping_json or integ.mapping):  # B8's checkboxes: real ones, not mapped (B8)
            Mapping.from_json(mapping_json or integ.mapping).with_unsubscribes(sms)
            if sms and edit.sms_optout_field:
                describe = self.salesforce(integ).describe(integ.object)
                if sms not in {f.name for f in optout_checkboxes(describe)}:
                    raise MappingError(
                        sms, f"not a checkbox of {integ.object} that can hold SMS opt-outs (B8)"
                    )
        if edit.list_id is not None and edit.list_id != integ.list_id:
            known = {int(lst["id"]) for lst in self.brevo(integ.brevo_account).lists()}
            if edit.list_id not in known:
                raise ConfigError(f"Brevo has no list with id {edit.list_id}")
        return plan_edit(
            integ,
            mapping=mapping_json,
            booleans_and_picklists=edit.booleans_and_picklists,
            sync_unsubscribes=edit.sync_unsubscribes,
            list_id=edit.list_id,
            move_contacts=edit.move_contacts,
            connection_id=connection_id,
            schedule=None if edit.schedule is None else parse_schedule(edit.schedule).text,
            sms_optout_field=edit.sms_optout_field,
            default_region=edit.default_region,
        )

    def preview_edit(self, name: str, edit: IntegrationEdit) -> EditPreview:
        """B1 for an edit: the plan, the settings changed in words, and a dry run of the next run
        with the new settings (a full one when attributes are newly synced). Nothing is saved.

        Raises:
            RunLockedError: a run of the integration is in progress (try again after it).
            and as :meth:`plan_edit`.
        """
        integ = self.store.get_integration(name)
        plan = self.plan_edit(name, edit)
        dry_run = None
        if plan.fields and integ.list_id is not None and integ.mapping:
            # planned on the list the contacts are on: the move is counted, not simulated
            proposed = replace(integ, **{**plan.fields, "list_id": integ.list_id, "list_move_from": None})
            dry_run = run_integration(
                self.store,
                self.settings,
                name,
                sf=self.salesforce(proposed),
                brevo=self.brevo(integ.brevo_account),
                dry_run=True,
                full=plan.backfill,
                proposed=proposed,
            )
        linked = (
            sum(self.store.count_links(integ.id, state=state) for state in MOVED_STATES)
            if plan.moves_list
            else 0
        )
        return EditPreview(
            name,
            plan,
            changes=self._changed_words(integ, plan),
            dry_run=dry_run,
            linked=linked,
            quota_remaining=self.quota.status().remaining,
        )

    def save_edit(self, name: str, edit: IntegrationEdit | EditPlan) -> Integration:
        """Store an edit (one transaction, every changed setting in the change log).

        A backfill and a list move are done by the next run (see :mod:`toolkit.sync.edits`); an
        :class:`~toolkit.sync.EditPlan` from :meth:`plan_edit` or a preview is stored as it is.
        """
        plan = edit if isinstance(edit, EditPlan) else self.plan_edit(name, edit)
        if not plan.fields:
            return self.store.get_integration(name)
        return self.store.update_integration(name, **plan.fields)

    def pause(self, name: str) -> Integration:
        """Pause an active integration: no run until :meth:`resume`; the cursors stay, so its next
        run catches up with what changed meanwhile."""
        return self.store.pause(name)

    def resume(self, name: str) -> Integration:
        """Make a paused integration active again."""
        return self.store.resume(name)

    def delete_integration(self, name: str, *, keep_history: bool = True) -> Integration:
        """Delete an integration; the Brevo contacts are never deleted by it.

        Its Brevo webhook (``toolkit serve``) is deleted first. With ``keep_history`` (the
        default) its links, runs, rejections and changes stay for the month's report, under the
        name ``"<name> (deleted <when>)"``; otherwise they are removed (the tasks it used stay in
        the month's quota either way).

        Returns:
            The integration as it was.

        Raises:
            RunLockedError: it is running now (try again when the run has finished).
        """
        integ = self.store.get_integration(name)
        with RunLock(self.settings.state_dir, name, self.store):  # not while it runs (RunLockedError says so)
            if integ.status == IntegrationStatus.ACTIVE:
                self.store.set_status(name, IntegrationStatus.DRAFT)  # no new run starts meanwhile
            if integ.webhook_id is not None:
                self.brevo(integ.brevo_account).delete_webhook(integ.webhook_id, missing_ok=True)
                self.store.update_integration(name, webhook_id=None, webhook_url=None)
            self.credentials.delete(WEBHOOK_TOKEN[0], name, WEBHOOK_TOKEN[1])
            return self.store.delete_integration(name, keep_history=keep_history)

    def changes(self, name: str | None = None, *, limit: int = 200) -> list[Change]:
        """Who changed what and when, newest first: of one integration, or of everything."""
        iid = None if name is None else self.store.get_integration(name).id
        return self.store.list_changes(integration_id=iid, limit=limit)

    def _changed_words(self, integ: Integration, plan: EditPlan) -> list[tuple[str, str, str]]:
        words = []
        for key, value in plan.fields.items():
            if key in ("backfill_pending", "list_move_from", "list_move_remove"):
                continue
            before, after = getattr(integ, key), value
            if key == "mapping":
                before, after = _pairs_text(before), _pairs_text(after)
            elif key == "connection_id":
                before = self.store.get_connection(before).name if before else "none"
                after = self.store.get_connection(after).name
            words.append((_SETTING_WORDS.get(key, key), str(before), str(after)))
        return words

    # -- runs ------------------------------------------------------------------------------------
    def run(
        self,
        name: str,
        *,
        dry_run: bool = False,
        full: bool = False,
        confirm_deletes: bool = False,
        progress: Callable[[str, int], None] | None = None,
        trigger: RunTrigger = RunTrigger.MANUAL,
        events: Sequence[WebhookEvent] | None = None,
    ) -> RunResult:
        """Run one integration's two-way sync (see :func:`toolkit.sync.run_integration`).

        ``trigger`` records what started it (``toolkit serve`` passes its own); ``events``
        makes it a targeted run that also acts on these webhook events (``toolkit serve``:
        :func:`toolkit.serve.events.apply_events`).

        Integrations stopped by the quota resume first when the month rolled over or the limit
        was raised (Q3), and quota e-mails queued by the run are sent after it (Q2).
        """
        self.quota.resume()
        integ = self.store.get_integration(name)
        brevo = self.brevo(integ.brevo_account)
        result = run_integration(
            self.store,
            self.settings,
            name,
            sf=self.salesforce(integ),
            brevo=brevo,
            dry_run=dry_run,
            full=full,
            confirm_deletes=confirm_deletes,
            quota=None if dry_run else self.quota,
            progress=progress,
            trigger=trigger,
            events=events,
        )
        self.notify()
        return result

    def notify(self) -> DeliveryReport:
        """Send the quota e-mails waiting in the outbox (each exactly once, SPEC Q2/Q3)."""
        return notify_pending(self.store, self.settings, self.credentials, brevo=self._brevo.get("default"))

    def plan(self, name: str, *, full: bool = False) -> RunResult:
        """B1: what a run would create, update, delete and reject, without writing anything."""
        return self.run(name, dry_run=True, full=full)

    def links(self, name: str) -> list[Link]:
        """The integration's links (Salesforce Id <-> Brevo contact)."""
        return self.store.all_links(self.store.get_integration(name).id)

    def held_deletions(self, name: str) -> list[Link]:
        """Deletions the B6 guard holds until someone confirms them (:meth:`confirm_deletions`).

        ``state`` says which: :attr:`LinkState.HELD_DELETE` (deleted in Salesforce: to be taken off
        the Brevo list) or :attr:`LinkState.HELD_BREVO_DELETE` (deleted in Brevo: to be deleted in
        Salesforce).
        """
        iid = self.store.get_integration(name).id
        return [
            *self.store.all_links(iid, state=LinkState.HELD_DELETE),
            *self.store.all_links(iid, state=LinkState.HELD_BREVO_DELETE),
        ]

    def confirm_deletions(self, name: str) -> RunResult:
        """Carry out the held deletions (B6), in a run that also syncs everything else."""
        return self.run(name, confirm_deletes=True)

    def rejections(
        self, name: str | None = None, *, state: RejectionState = RejectionState.OPEN
    ) -> list[ReportRow]:
        """Rejected records with rule, reason and field (A1), as dicts ready for a DataFrame."""
        iid = None if name is None else self.store.get_integration(name).id
        return self.store.list_rejections(iid, state=state)

    # -- connections (issue 15) ------------------------------------------------------------------
    def connections(self) -> list[ConnectionView]:
        """Every Salesforce connection: its org and user, the integrations using it, its account's
        uses (S3: ``view.uses == "1 of 5"``), whether it is disconnected, the org's API usage the
        newest run through it saw (B3), and its token state as :meth:`check_connection` last found
        it (``not checked`` until then: nothing signs in to list them).
        """
        return connection_views(self.store, self._checked)

    def check_connection(self, name: str) -> TokenState:
        """Sign in through a connection once and say whether it still works (remembered for
        :meth:`connections`)."""
        state = token_state(self.store, self.credentials, self.settings, name)
        self._checked[name] = state
        return state

    def connection_changes(self, name: str, *, limit: int = 50) -> list[Change]:
        """A connection's recorded changes, newest first: connected, disconnected, reconnected, by whom."""
        return self.store.list_changes(connection_id=self.store.get_connection(name).id, limit=limit)

    def disconnect_blockers(self, name: str) -> list[tuple[str, str]]:
        """The integrations that keep a connection from being disconnected: ``(name, status)``
        of those using it that run by themselves (active, or stopped by the quota)."""
        return self.store.running_users(name)

    def disconnect(self, name: str) -> bool | None:
        """Disconnect a Salesforce connection (see :func:`toolkit.connections.disconnect_salesforce`):
        refused while an integration that runs by itself uses it; else its grant is revoked at
        Salesforce and its secrets removed.

        Returns:
            Whether Salesforce confirmed the revocation (``None``: no token to revoke).
        """
        conn = self.store.get_connection(name)
        live = self._sf.get(conn.id)
        confirmed = disconnect_salesforce(
            self.store,
            self.credentials,
            self.settings,
            conn.id,
            sessions=[live.tokens] if live is not None else [],
        )
        self._drop_connection_client(conn.id)
        self._checked.pop(conn.name, None)
        return confirmed

    def reconnect(
        self,
        name: str,
        tokens: TokenSet,
        *,
        flow: str = "authorization_code",
        client_id: str | None = None,
        login_url: str | None = None,
        secrets: dict[str, Any] | None = None,
    ) -> Connection:
        """Record a new sign-in (``tokens``) of a connection's own Salesforce account under its name
        (see :func:`toolkit.connections.reconnect_salesforce`); the integrations using it may be
        activated or resumed again."""
        conn = reconnect_salesforce(
            self.store,
            self.credentials,
            self.settings,
            name,
            tokens=tokens,
            flow=flow,
            client_id=client_id,
            login_url=login_url,
            secrets=secrets,
        )
        self._drop_connection_client(conn.id)
        self._checked[conn.name] = TokenState.VALID
        return conn

    def start_reconnect(
        self,
        name: str,
        *,
        on_done: Callable[[Connection | Exception], None],
        port: int | None = None,
    ) -> BrowserSignIn:
        """Start a person's sign-in for a connection on Salesforce's login page (its login URL and
        connected app); when it comes back, it is recorded as :meth:`reconnect` does and
        ``on_done`` gets the connection, or the error (refused, another account, timed out).

        ``on_done`` may run in the sign-in listener's thread (the store has a database connection
        for each thread).
        """
        conn = self.store.get_connection(name)

        def record(outcome: TokenSet | Exception) -> None:
            if isinstance(outcome, Exception):
                on_done(outcome)
                return
            try:
                done = self.reconnect(conn.name, outcome, client_id=conn.client_id, login_url=conn.login_url)
            except Exception as exc:  # said by the caller, in words
                on_done(exc)
                return
            on_done(done)

        return BrowserSignIn(
            self.settings,
            self.credentials,
            login_url=conn.login_url,
            client_id=conn.client_id,
            name=conn.name,
            on_done=record,
            port=port,
        )

    def _drop_connection_client(self, connection_id: int) -> None:
        """Forget the cached client of a connection whose grant changed (the next use signs in anew)."""
        client = self._sf.pop(connection_id, None)
        if client is not None:
            client.close()


_SETTING_WORDS = {
    "mapping": "Field mapping",
    "sync_booleans_picklists": "Booleans and picklists (B4)",
    "sync_unsubscribes": "Unsubscribes (B8)",
    "list_id": "Brevo list",
    "connection_id": "Salesforce connection",
    "schedule": "Schedule",
    "default_region": "Phone region",
    "sms_optout_field": "SMS unsubscribes (B8)",
}


def _pairs_text(mapping: dict[str, Any] | None) -> str:
    pairs = (mapping or {}).get("pairs", [])
    return ", ".join(f"{attribute} <- {field}" for attribute, field in pairs) or "none"
