"""``toolkit serve``: the process that runs the active integrations by itself.

One APScheduler ``BackgroundScheduler`` (UTC) holds the clock; the work itself runs in one
*lane* per active integration, a thread that takes its work in order, so that two runs of one
integration never overlap in this process (and the run lock keeps other processes out)::

    refresh (every few seconds)    active integrations -> lanes and jobs; webhooks registered
    sync:<name>    its schedule    -> lane: papermill sync.ipynb (notebook + report kept)
    retry:<name>   after a failure -> lane: the same, with backoff (1, 2, 4... x retry_seconds)
    reconcile:<name>  weekly       -> lane: papermill sync.ipynb with a full resync
    poll:<name>    every minute    -> lane: SELECT COUNT() of changed records; a run if any
    (a webhook received)           -> lane: the inbox's events applied by a targeted run
    housekeeping   every minute    pending quota e-mails sent; old notebooks, reports, events purged

Work already waiting in a lane is not queued twice (a poll, events, a scheduled run), so a
slow run is followed by one catch-up, not a backlog. The Voilà apps and the webhook receiver
are started beside it, and everything stops on :meth:`Server.stop`.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from toolkit.api import Toolkit
from toolkit.apps import login_help, running_voila
from toolkit.config import Settings
from toolkit.exceptions import RunLockedError, ToolkitError
from toolkit.schedules import trigger
from toolkit.store import IntegrationStatus, RunTrigger

from .events import apply_events
from .hooks import sync_webhooks
from .poll import poll_salesforce
from .receiver import Receiver
from .runner import backoff, purge_runs, run_sync_notebook

__all__ = ["REFRESH_SECONDS", "Server", "Work"]

log = logging.getLogger(__name__)

REFRESH_SECONDS = 10.0
"""How often the server re-reads the integrations (activated, deactivated, schedule changed)."""
WEBHOOKS_RECHECK = timedelta(minutes=10)
"""How often the registered webhooks are checked at Brevo when no integration changed."""
EVENTS_KEPT = timedelta(days=7)
"""Processed webhook events are kept this long (to answer "did Brevo tell us?"), then purged."""


class Work(StrEnum):
    """What a lane does for its integration."""

    SCHEDULE = "schedule"
    RETRY = "retry"
    RECONCILE = "reconcile"
    POLL = "poll"
    EVENTS = "events"


@dataclass
class _Lane:
    """One integration's worker thread and the work waiting for it."""

    name: str
    work: queue.Queue[tuple[Work, int] | None] = field(default_factory=queue.Queue)
    waiting: set[Work] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    thread: threading.Thread | None = None


class Server:
    """``toolkit serve``: schedules, poll, reconciliation, webhook inbox, apps.

    Args:
        settings: the toolkit's settings (state, ports, ``public_url``, poll and retry timing).
        apps: serve the Voilà apps (``toolkit serve --no-apps`` leaves them out).
        viewer: serve the apps read-only (the dashboard and the integrations page, no actions).
        webhooks: receive Brevo's webhooks (and register them when ``public_url`` is set).
        jobs: run the integrations (schedules, poll, reconciliation, events); without them
            only the apps are served.
        refresh_seconds: how often the integrations are re-read.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        apps: bool = True,
        viewer: bool = False,
        webhooks: bool = True,
        jobs: bool = True,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self.settings = settings
        self.apps = apps
        self.viewer = viewer
        self.webhooks = webhooks and jobs
        self.jobs = jobs
        self.refresh_seconds = refresh_seconds
        self.scheduler = BackgroundScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
        )
        self.receiver: Receiver | None = None
        self.apps_url: str | None = None
        self._lanes: dict[str, _Lane] = {}
        self._schedules: dict[str, tuple[str, str]] = {}  # name -> (schedule, reconcile) as scheduled
        self._stack = ExitStack()
        self._stopping = threading.Event()
        self._hooks_state: tuple[tuple[str, str, int | None], ...] | None = None
        self._hooks_checked_at = datetime.min.replace(tzinfo=UTC)
        self._lanes_lock = threading.Lock()

    # -- life cycle -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the receiver, the apps and the scheduler (the first refresh runs at once)."""
        state_dir = self.settings.state_dir
        if self.webhooks:
            self.receiver = Receiver(
                state_dir,
                state=self.settings.state_location,
                host=self.settings.serve_host,
                port=self.settings.webhook_port,
                on_recorded=lambda name: self.submit(name, Work.EVENTS),
            )
            self.receiver.start()
            self._stack.callback(self.receiver.stop)
        if self.apps:
            server = self._stack.enter_context(
                running_voila(
                    state_dir, port=self.settings.apps_port, ip=self.settings.serve_host, viewer=self.viewer
                )
            )
            self.apps_url = server.url
        if not self.jobs:
            return
        now = datetime.now(UTC)
        self.scheduler.add_job(
            self.refresh, IntervalTrigger(seconds=self.refresh_seconds), id="refresh", next_run_time=now
        )
        self.scheduler.add_job(
            self.housekeeping, IntervalTrigger(minutes=1), id="housekeeping", next_run_time=now
        )
        self.scheduler.start()
        self._stack.callback(lambda: self.scheduler.shutdown(wait=False))

    def stop(self) -> None:
        """Stop taking work, let each lane finish what it is doing, stop the apps and the receiver."""
        self._stopping.set()
        with self._lanes_lock:
            lanes = list(self._lanes.values())
        for lane in lanes:
            lane.work.put(None)
        self._stack.close()
        for lane in lanes:
            if lane.thread is not None:
                lane.thread.join(timeout=60)

    # -- the clock ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Match the lanes and jobs to the active integrations; register or remove webhooks."""
        with Toolkit(self.settings) as tk:
            active = {i.name: i for i in tk.store.list_integrations(status=IntegrationStatus.ACTIVE)}
            if self.webhooks:
                self._check_webhooks(tk)
            pending = {name for name, i in active.items() if tk.store.pending_events(i.id, limit=1)}
        for name in set(self._schedules) - set(active):
            for job in ("sync", "poll", "reconcile", "retry"):
                self._remove_job(f"{job}:{name}")
            del self._schedules[name]
            log.info("%s is no longer active: its jobs are removed", name)
        for name, integ in active.items():
            wanted = (integ.schedule, self.settings.reconcile_schedule)
            if self._schedules.get(name) == wanted:
                continue
            # A newly active integration runs at once (activating it means "start syncing");
            # a changed schedule takes effect from its next time. (None would add it paused.)
            first = {} if name in self._schedules else {"next_run_time": datetime.now(UTC)}
            self.scheduler.add_job(
                self.submit, trigger(integ.schedule), args=[name, Work.SCHEDULE], id=f"sync:{name}",
                replace_existing=True, **first,
            )  # fmt: skip
            if self.settings.poll_seconds > 0:
                self.scheduler.add_job(
                    self.submit, IntervalTrigger(seconds=self.settings.poll_seconds), args=[name, Work.POLL],
                    id=f"poll:{name}", replace_existing=True,
                )  # fmt: skip
            if self.settings.reconcile_schedule:
                self.scheduler.add_job(
                    self.submit, trigger(self.settings.reconcile_schedule), args=[name, Work.RECONCILE],
                    id=f"reconcile:{name}", replace_existing=True,
                )  # fmt: skip
            log.info("%s runs %s", name, integ.schedule)
            self._schedules[name] = wanted
        for name in pending & set(active):
            self.submit(name, Work.EVENTS)

    def _check_webhooks(self, tk: Toolkit) -> None:
        """Register or remove webhooks when an integration's status changed, else every
        :data:`WEBHOOKS_RECHECK` (one ``GET /webhooks`` per Brevo account: one deleted in Brevo's
        settings comes back)."""
        state = tuple((i.name, i.status, i.webhook_id) for i in tk.store.list_integrations())
        now = datetime.now(UTC)
        if state == self._hooks_state and now - self._hooks_checked_at < WEBHOOKS_RECHECK:
            return
        try:
            for change in sync_webhooks(tk, self.settings.public_url or None):
                log.info("webhooks: %s", change)
        except ToolkitError as exc:  # retried at the next refresh
            log.warning("webhooks could not be registered: %s", exc)
            return
        self._hooks_state = tuple((i.name, i.status, i.webhook_id) for i in tk.store.list_integrations())
        self._hooks_checked_at = now

    def next_run(self, name: str) -> datetime | None:
        """When the integration's next scheduled run is due (``None``: not scheduled here)."""
        job = self.scheduler.get_job(f"sync:{name}")
        return None if job is None else job.next_run_time

    def housekeeping(self) -> None:
        """Send pending quota e-mails (Q2, Q3); purge old notebooks, reports and processed events."""
        try:
            with Toolkit(self.settings) as tk:
                tk.notify()
                tk.store.purge_processed(datetime.now(UTC) - EVENTS_KEPT)
            purge_runs(self.settings.state_dir, self.settings.keep_runs_days)
        except ToolkitError as exc:
            log.warning("housekeeping: %s", exc)

    def _remove_job(self, job_id: str) -> None:
        if self.scheduler.get_job(job_id) is not None:
            self.scheduler.remove_job(job_id)

    # -- the lanes ---------------------------------------------------------------------------
    def submit(self, name: str, work: Work, attempt: int = 0) -> None:
        """Queue ``work`` in ``name``'s lane, unless the same work already waits there."""
        if self._stopping.is_set():
            return
        with self._lanes_lock:
            lane = self._lanes.get(name)
            if lane is None:
                lane = self._lanes[name] = _Lane(name)
                lane.thread = threading.Thread(
                    target=self._drain, args=(lane,), name=f"lane:{name}", daemon=True
                )
                lane.thread.start()
        with lane.lock:
            if work in lane.waiting:
                return
            lane.waiting.add(work)
        lane.work.put((work, attempt))

    def _drain(self, lane: _Lane) -> None:
        tk: Toolkit | None = None
        try:
            while True:
                item = lane.work.get()
                if item is None or self._stopping.is_set():
                    return
                work, attempt = item
                with lane.lock:
                    lane.waiting.discard(work)
                if tk is None:
                    tk = Toolkit(self.settings)
                try:
                    self._do(tk, lane.name, work, attempt)
                except RunLockedError:
                    log.info("%s: another run is in progress; %s skipped", lane.name, work)
                except ToolkitError as exc:  # the toolkit's messages name no secret
                    log.warning("%s: %s failed: %s", lane.name, work, exc)
                except Exception:
                    log.exception("%s: %s failed", lane.name, work)
        finally:
            if tk is not None:
                tk.close()

    def _do(self, tk: Toolkit, name: str, work: Work, attempt: int) -> None:
        if work == Work.EVENTS:
            result = apply_events(tk, name)
            if result is not None:
                log.info("%s: events applied, run %s %s", name, result.run_id, result.status)
            return
        if work == Work.POLL:
            found = poll_salesforce(tk, name)
            if found.changed:
                result = tk.run(name, trigger=RunTrigger.POLL)
                log.info(
                    "%s: %s changed in Salesforce, run %s %s",
                    name,
                    found.changed,
                    result.run_id,
                    result.status,
                )
            return
        full = work == Work.RECONCILE
        served = run_sync_notebook(
            self.settings.state_dir,
            name,
            trigger=RunTrigger(str(work)),
            full=full,
            state=self.settings.state_location,
        )
        status = served.run.status if served.run is not None else f"exit {served.exit_code}"
        log.info("%s: %s run %s (%s)", name, work, status, served.notebook.name)
        if served.failed and attempt < self.settings.run_retries and not self._stopping.is_set():
            wait = backoff(attempt + 1, self.settings.retry_seconds)
            self.scheduler.add_job(
                self.submit, DateTrigger(datetime.now(UTC) + wait), args=[name, Work.RETRY, attempt + 1],
                id=f"retry:{name}", replace_existing=True,
            )  # fmt: skip
            log.warning("%s: the run failed (%s); retry %s in %s", name, served.error, attempt + 1, wait)


def serve_forever(
    settings: Settings,
    out: Callable[[str], object],
    stop: threading.Event,
    *,
    apps: bool = True,
    viewer: bool = False,
    jobs: bool = True,
    webhooks: bool = True,
) -> None:
    """Run a :class:`Server` until ``stop`` is set (``toolkit serve``'s body); print where it listens."""
    server = Server(settings, apps=apps, viewer=viewer, jobs=jobs, webhooks=webhooks)
    server.start()
    try:
        if server.apps_url:
            role = "read-only (viewer)" if viewer else "full"
            out(f"Apps ({role}): {server.apps_url}/voila/render/integrations.ipynb")
            out(login_help(settings.state_dir, viewer=viewer))
        if server.receiver is not None:
            public = settings.public_url or "(no public_url: webhooks are not registered)"
            out(f"Brevo webhooks: {server.receiver.url}/brevo/webhooks/<integration>, public {public}")
        if not jobs:
            out("Only the apps are served: no integration runs from this process.")
        out("Serving. Press Ctrl-C to stop.")
        stop.wait()
    finally:
        server.stop()
