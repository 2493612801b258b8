"""The state one run carries through its phases, and how it records what it did."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from collections.abc import Mapping as MappingOf
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property

from toolkit.mapping import check_sms_optout_field
from toolkit.mapping.types import RULE_B8, Mapping
from toolkit.rules.base import BrevoContact, BrevoRow

from ..brevo import BrevoClient
from ..config import Settings
from ..exceptions import ConfigError, MappingError
from ..quota import STOP_REASON
from ..salesforce import SalesforceClient
from ..store import Conflict, Direction, Integration, Link, LinkKey, LinkState, Rejection, RunStatus, Store
from ..store.reporting import redact_row
from .model import Outcome, Sample
from .plan import RULE_LEFT_LIST, PlanSettings

__all__ = ["BrevoMembers", "OtherLinkState", "RESTART_LOOK_BACK", "Reserve", "SyncContext", "unlimited"]

log = logging.getLogger(__name__)

RESTART_LOOK_BACK = timedelta(minutes=10)
"""How far before the last good run's start a cursor that cannot be read is replaced by (clock skew)."""

Reserve = Callable[[int], int]
"""Quota hook: asked for ``n`` tasks, grants how many may be written now (SPEC Q1-Q3)."""


def unlimited(n: int) -> int:
    """A quota that grants every task."""
    return n


@dataclass(slots=True)
class PresenceTally:
    """What the presence checks of a run saw so far (see :mod:`.presence`).

    Attributes:
        records: Salesforce records planned so far. unknown: their updates whose contact this
            run had not seen in Brevo (a check each). expected: records the Salesforce read
            brings in all, once its first answer said so (REST ``totalSize``).
        page_records, page_unknown: the same for the latest page alone.
    """

    records: int = 0
    unknown: int = 0
    expected: int | None = None
    page_records: int = 0
    page_unknown: int = 0

    def expect(self, records: int) -> None:
        """The read will bring ``records`` in all."""
        self.expected = records

    def add_page(self, records: int, unknown: int) -> None:
        """A page of ``records`` was planned; ``unknown`` of its updates need a check."""
        self.records += records
        self.unknown += unknown
        self.page_records, self.page_unknown = records, unknown

    def still_needed(self) -> float:
        """Checks from the latest page on: its own, and the records still to come at its rate.

        The read is in ``SystemModstamp`` order, so the records still to come resemble the latest
        page more than the first ones (a re-read of the cursor's second comes first, unchanged).
        Checks already made do not count: they are spent either way.
        """
        remaining = max(0, (self.expected or 0) - self.records)
        rate = self.page_unknown / self.page_records if self.page_records > 0 else 0.0
        return self.page_unknown + remaining * rate


@dataclass(frozen=True, slots=True)
class OtherLinkState:
    """A state to set on a link of another integration (a Lead's, superseded by a Contact: D2, L1).

    Attributes:
        integration_id, sf_id: the link. state: its new state. detail: what the state refers to.
    """

    integration_id: int
    sf_id: str
    state: LinkState
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class BrevoMembers:
    """The integration list's members, read once in a run (see :mod:`.presence`).

    Attributes:
        ext_ids: their EXT_IDs. ids: their Brevo contact ids. pages: the calls the read took.
    """

    ext_ids: set[str]
    ids: set[int]
    pages: int

    def has(self, link: Link | LinkKey) -> bool:
        """Whether the link's contact is a member (by EXT_ID, or by its Brevo id when known)."""
        return link.sf_id in self.ext_ids or (link.brevo_id is not None and link.brevo_id in self.ids)


@dataclass
class SyncContext:
    """Everything a phase of one run needs; phases call its methods to record outcomes.

    In a dry run (B1) the ``record_*`` methods only count: nothing reaches the store.

    When the integration syncs unsubscribes (B8, ``Integration.sync_unsubscribes``), ``mapping``
    is the stored one plus Brevo's blacklist flags
    (:meth:`~toolkit.mapping.types.Mapping.with_unsubscribes`): the rules, the diff, conflicts and
    echoes treat them like mapped attributes. :meth:`check_unsubscribes` says what is wrong with them.
    """

    store: Store
    settings: Settings
    integration: Integration
    mapping: Mapping
    sf: SalesforceClient
    brevo: BrevoClient
    run_id: int
    dry_run: bool = False
    reserve: Reserve = unlimited
    record_tasks: Callable[[int], None] | None = None  # counts written tasks inside the batch's commit
    progress: Callable[[str, int], None] | None = None
    outcome: Outcome = field(default_factory=Outcome)
    stopped: str | None = None  # why the run stopped early (the quota: STOP_REASON)
    held: list[str] = field(default_factory=list)  # B6: why deletions wait for a confirmation
    members: BrevoMembers | None = None  # the list's members, once read in this run
    presence: PresenceTally = field(default_factory=PresenceTally)  # the checks so far (presence)
    seen_in_brevo: dict[str, BrevoContact] = field(default_factory=dict)  # contacts read, by EXT_ID
    gone_in_brevo: dict[str, Link] = field(default_factory=dict)  # linked contacts found deleted in Brevo
    left_list: list[str] = field(default_factory=list)  # linked contacts found taken off the list (B9)
    off_list: set[str] = field(default_factory=set)  # seen off the list in Brevo's changes: B9 unless deleted
    deleted_in_salesforce: set[str] = field(default_factory=set)  # records this run saw deleted in Salesforce
    claimed: dict[str, str] = field(default_factory=dict)  # e-mail -> Id of rows sent, not yet committed (D1)
    unsubscribes_problem: str | None = None  # B8: why the blacklist flags cannot sync (check_unsubscribes)
    unsubscribes_checked: bool = False  # B8: the SMS opt-out checkbox was checked against describe

    def __post_init__(self) -> None:
        """B8: add the blacklist flags to the run's mapping when the integration syncs them."""
        if not self.integration.sync_unsubscribes:
            return
        try:
            self.mapping = self.mapping.with_unsubscribes(self.integration.sms_optout_field)
        except MappingError as exc:
            self.unsubscribes_problem = str(exc)

    def check_unsubscribes(self) -> None:
        """B8: refuse to run when the blacklist flags cannot sync as set (before anything is written).

        The SMS opt-out checkbox (``Integration.sms_optout_field``) must be an updateable boolean
        field of the object: checked once a run against Salesforce's describe (a call only when
        one is set).

        Raises:
            ConfigError: naming the field and B8.
        """
        if self.unsubscribes_problem is None and not self.unsubscribes_checked:
            self.unsubscribes_checked = True
            chosen = self.integration.sms_optout_field
            if self.integration.sync_unsubscribes and chosen:
                try:
                    check_sms_optout_field(self.sf.describe(self.sobject), chosen)
                except MappingError as exc:
                    self.unsubscribes_problem = str(exc)
        if self.unsubscribes_problem is not None:
            raise ConfigError(
                f"integration {self.integration.name!r} cannot sync unsubscribes ({RULE_B8}): "
                f"{self.unsubscribes_problem}; choose another checkbox, or switch {RULE_B8} off"
            )

    @property
    def iid(self) -> int:
        return self.integration.id

    @property
    def sobject(self) -> str:
        return self.integration.object

    @cached_property
    def account_integrations(self) -> dict[int, str]:
        """The other integrations on this Brevo account, id -> object (D2, L1); read once per run."""
        return {
            i.id: i.object
            for i in self.store.list_integrations()
            if i.id != self.iid and i.brevo_account == self.integration.brevo_account
        }

    def plan_settings(self) -> PlanSettings:
        """What :func:`~toolkit.sync.plan.plan_page` needs of the integration."""
        return PlanSettings(
            self.mapping, self.sobject, self.integration.conflict_winner, self.integration.default_region
        )

    def hold(self, planned: int, side: str, share: float, minimum: int, linked: int) -> None:
        """Record that ``planned`` deletions wait for a confirmation (B6); the run says so."""
        self.outcome.add("blocked_deletes", planned)
        self.held.append(
            f"{planned} of {linked} linked contacts were deleted in {side}: more than {share:.0%} and more than "
            f"{minimum}, so these deletions wait (everything else was synced). Check them, then confirm: "
            f"`toolkit sync {self.integration.name} --confirm-deletes` or the Confirm button of the "
            "integrations page."
        )

    def tick(self, phase: str, n: int) -> None:
        """Report progress (records handled) to the progress callback, if any."""
        if self.progress is not None and n:
            self.progress(phase, n)

    def cursor_moment(self, name: str, parse: Callable[[str], datetime]) -> datetime | None:
        """A stored cursor as a moment (``None`` when never set).

        A cursor that cannot be read (written by an older version, or edited by hand) must not
        make every run fail: it is reported (a warning, and ``cursor_replaced`` in the run's
        counts) and replaced by a safe one, the start of the last run that succeeded minus
        :data:`RESTART_LOOK_BACK` (that run read every change made before it started), or
        ``None`` (read from the beginning) when none did. Re-reading is harmless: unchanged
        records compare equal to what was synced. The next commit stores a readable cursor.
        """
        text = self.store.get_cursor(self.iid, name)
        if text is None:
            return None
        try:
            return parse(text)
        except ValueError as exc:
            safe = self.last_good_start()
            restart = safe - RESTART_LOOK_BACK if safe is not None else None
            shown = restart.isoformat(timespec="milliseconds") if restart else "the beginning"
            log.warning(
                "integration %s: the stored %s cursor cannot be read (%s); reading again from %s",
                self.integration.name,
                name,
                exc,
                shown,
            )
            self.outcome.add("cursor_replaced", sample={"cursor": name, "restart_from": shown})
            return restart

    def last_good_start(self) -> datetime | None:
        """When the last succeeded (not dry) run of this integration started, if any did."""
        for run in self.store.list_runs(self.iid, limit=200):
            if run.id != self.run_id and run.status == RunStatus.SUCCEEDED and not run.dry_run:
                started = run.started_at
                return started if started.tzinfo else started.replace(tzinfo=UTC)
        return None

    def grant(self, wanted: int) -> int:
        """Tasks that may be written now; a short grant stops the run after this batch (Q3)."""
        if self.dry_run or wanted == 0:
            return wanted
        granted = max(0, min(wanted, self.reserve(wanted)))
        if granted < wanted:
            self.stopped = STOP_REASON
        return granted

    def rejections(
        self,
        direction: Direction,
        found: Iterable[Rejection],
        data_hashes: MappingOf[str, str] | None = None,
        *,
        service: MappingOf[str, tuple[str, str]] | None = None,
        permanent: bool = False,
    ) -> list[Rejection]:
        """Count rejections and complete them for the store (written by :meth:`commit`).

        Each gets this integration, ``direction``, this run, the service's code and message
        (``service``, by record id) and its ``data_hashes`` entry; secret-like values are
        redacted before anything is stored (A1).

        A3: a record rejected before whose source data has not changed since (same rule, field
        and ``data_hashes`` entry as an open rejection) is not reported again, only counted as
        ``still_rejected``: re-reading a cursor's boundary or a full run does not repeat it.
        """
        found = list(found)
        hashes = data_hashes or {}
        seen: set[tuple[str, str, str, str | None]] = set()
        if hashes:
            for record_id, old in self.store.open_rejections(
                self.iid, direction, {r.record_id for r in found}
            ).items():
                seen.update((record_id, o.rule, o.field, o.data_hash) for o in old if o.data_hash)
        rows: list[Rejection] = []
        for r in found:
            if (r.record_id, r.rule, r.field or "", hashes.get(r.record_id)) in seen:
                self.outcome.add("still_rejected")
                continue
            code, message = (service or {}).get(r.record_id, (None, None))
            # Secret-like fields are redacted before anything is stored (A1): value, reason, message.
            safe = redact_row(
                {"field": r.field, "value": r.value, "reason": r.reason, "service_message": message},
                [a for a, f in self.mapping.pairs if f in (r.field or "").split(",")],
            )
            self.outcome.reject(
                r.rule, {"record_id": r.record_id, "field": r.field, "reason": safe["reason"]}
            )
            rows.append(
                dataclasses.replace(
                    r,
                    reason=safe["reason"],
                    value=safe["value"],
                    integration_id=self.iid,
                    direction=direction,
                    service_code=code,
                    service_message=safe["service_message"],
                    data_hash=hashes.get(r.record_id),
                    permanent=permanent or r.permanent,
                    run_id=self.run_id,
                )
            )
        return rows

    def commit(
        self,
        *,
        links: Iterable[Link] = (),
        unlink: Iterable[str] = (),
        rejected: Iterable[Rejection] = (),
        resolved: MappingOf[Direction, list[str]] | None = None,
        conflicts: Iterable[Conflict] = (),
        cursors: MappingOf[str, str] | None = None,
        link_states: MappingOf[LinkState, list[str] | dict[str, str | None]] | None = None,
        other_link_states: Iterable[OtherLinkState] = (),
        tasks: int = 0,
    ) -> None:
        """Write one batch's outcome in ONE transaction: links, rejections, conflicts, cursors, tasks.

        A crash before this commit replays the batch on the next run; the writes that were
        already made are upserts keyed by Salesforce Id, so the replay changes nothing twice,
        and the batch's ``tasks`` (records written, SPEC Q1) are counted here, once.

        Args:
            link_states: state -> Salesforce Ids, or Ids -> detail (e.g. the Contact that took over).
            other_link_states: other integrations' links to set (a Lead's, superseded by this
                integration's Contact).
            resolved: direction -> records written at last: their open rejections are resolved
                (before this batch's own rejections are recorded, so a field-level one stays open;
                a removal from the list, B9, stays open until the contact is back on it).
        """
        if self.dry_run:
            return
        with self.store.transaction():
            self.store.upsert_links(links)  # as they come: a batch's links need not all be held at once
            unlink = list(unlink)
            if unlink:
                self.store.delete_links(self.iid, unlink)
            for state, ids in (link_states or {}).items():
                details = ids if isinstance(ids, dict) else dict.fromkeys(ids)
                for detail in set(details.values()):
                    self.store.set_link_state(
                        self.iid, [i for i, d in details.items() if d == detail], state, detail
                    )
            for other in other_link_states:
                self.store.set_link_state(other.integration_id, [other.sf_id], other.state, other.detail)
            for direction, ids in (resolved or {}).items():
                if ids:
                    self.store.resolve_rejections(
                        self.iid, direction, ids, run_id=self.run_id, keep_rules=(RULE_LEFT_LIST,)
                    )
            self.store.upsert_rejections(list(rejected), run_id=self.run_id)
            self.store.add_conflicts(list(conflicts), run_id=self.run_id)
            for name, value in (cursors or {}).items():
                self.store.set_cursor(self.iid, name, value)
            if tasks and self.record_tasks is not None:
                self.record_tasks(tasks)

    def sample(self, row: BrevoRow) -> Sample:
        """A small, safe sample row for dry-run plans: the e-mail and the mapped values (EXT_ID: the Id)."""
        sample: Sample = {"email": row["email"]} if "email" in row else {}
        return sample | row["attributes"]
