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

from collections.abc import Callable, Sequence
from typing import Any

from toolkit.mapping import suggest_mapping, validate_mapping
from toolkit.mapping.types import Mapping
from toolkit.notify import DeliveryReport, notify_pending

from .brevo import BrevoClient
from .config import Settings
from .connections import open_brevo, open_salesforce
from .credentials import CredentialStore
from .exceptions import ConfigError
from .quota import Quota
from .salesforce import SalesforceClient
from .store import (
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
from .sync import RunResult, run_integration
from .sync.region import org_region

__all__ = ["Toolkit"]

DEFAULT_FOLDER = "Salesforce"


class Toolkit:
    """State, credentials and API clients for one state directory.

    Args:
        settings: where the state lives and how to reach the services (default: from the
            environment, see :meth:`toolkit.config.Settings.from_env`).
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.store = Store.from_settings(self.settings)
        self.credentials = CredentialStore(self.settings.state_dir)
        self.quota = Quota(self.store, self.settings)
        self._sf: dict[int, SalesforceClient] = {}
        self._brevo: dict[str, BrevoClient] = {}

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
