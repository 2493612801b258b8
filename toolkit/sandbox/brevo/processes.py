"""Background processes (``GET /processes``) and the worker thread that runs imports.

Imports run one after another, as Brevo advises: queued -> in_process -> completed. The worker
thread exists only while there is work and exits when the queue is empty.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from toolkit.sandbox.brevo.formats import TIMESTAMP_FORMS, format_ts
from toolkit.sandbox.brevo.imports import REPORT_KINDS, ImportJob, import_row
from toolkit.sandbox.brevo.webhooks import API_KEY_NAME
from toolkit.sandbox.variants import WireVariants

if TYPE_CHECKING:
    from toolkit.sandbox.brevo.account import BrevoAccount

log = logging.getLogger(__name__)
_NO_VARIANTS = WireVariants(None)
CHUNK_ROWS = 500  # rows imported per hold of the account lock, so API calls interleave
REPORT_PATH = "_sandbox/brevo/import-report"


@dataclass
class Process:
    """One background process; imports keep a report of the rows they skipped."""

    id: int
    name: str
    status: str
    created_at: datetime
    completed_at: datetime | None = None
    job: ImportJob | None = None
    report: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_json(self, base_url: str, variants: WireVariants | None = None) -> dict[str, Any]:
        """The process as ``GET /processes/{id}`` returns it; ``base_url`` ends with ``/``.

        Fields of brevo-python 5.1.0 ``GetProcessResponse`` (id, name, status, info); the
        running status is ``in_process`` (definition) or ``processing`` (SDK v4's
        ``GetProcessResponseStatus``), and ``created_at``/``completed_at`` (SDK v4 4.0.10, gone
        in 5.1.0) come or not, as ``variants`` picks per process. ``info.import`` lists a URL for
        each kind of problem the import had (the SDK's kinds), ``null`` for the others.
        """
        pick = (variants or _NO_VARIANTS).pick
        status = self.status
        if status == "in_process":
            status = pick("brevo.process.status", self.id, ("in_process", "processing"))
        body: dict[str, Any] = {"id": self.id, "status": status, "name": self.name}
        if pick("brevo.process.times", self.id, (True, False)):
            form = pick("brevo.timestamp", f"process{self.id}", TIMESTAMP_FORMS)
            body["created_at"] = format_ts(self.created_at, form)
            if self.completed_at is not None:
                body["completed_at"] = format_ts(self.completed_at, form)
        if self.name == "IMPORTUSER" and self.status == "completed":
            body["info"] = {
                "import": {
                    kind: f"{base_url}{REPORT_PATH}?processId={self.id}&kind={kind}"
                    if self.report.get(kind)
                    else None
                    for kind in REPORT_KINDS
                }
            }
        return body


class ProcessManager:
    """The account's processes and its import queue (guarded by the account lock)."""

    def __init__(self, account: BrevoAccount) -> None:
        self._account = account
        self._lock = account.lock
        self._changed = threading.Condition(account.lock)
        self._processes: dict[int, Process] = {}
        self._queue: deque[int] = deque()
        self._worker: threading.Thread | None = None
        self._paused = False
        self.next_id = 1

    def submit(self, job: ImportJob) -> Process:
        """Queue an import and make sure a worker runs it."""
        with self._lock:
            process = self._new("IMPORTUSER", "queued", job=job)
            self._queue.append(process.id)
            self._kick()
            return process

    def record(self, name: str) -> Process:
        """A process that completed at once (e.g. removing all contacts from a list)."""
        with self._lock:
            process = self._new(name, "completed")
            process.completed_at = process.created_at
            return process

    def get(self, process_id: int) -> Process | None:
        """The process with this id, or ``None``."""
        with self._lock:
            return self._processes.get(process_id)

    def all(self) -> list[Process]:
        """Every process, oldest first."""
        with self._lock:
            return list(self._processes.values())

    @property
    def paused(self) -> bool:
        """Whether queued imports are held (see ``pause``)."""
        with self._lock:
            return self._paused

    def pause(self) -> None:
        """Keep new imports queued (the running one finishes); lets tests see ``queued``."""
        with self._lock:
            self._paused = True

    def resume(self) -> None:
        """Let queued imports run again."""
        with self._lock:
            self._paused = False
            self._kick()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no import is queued or running; ``False`` on timeout."""
        with self._changed:
            return self._changed.wait_for(
                lambda: not self._worker and (self._paused or not self._queue), timeout
            )

    def _new(self, name: str, status: str, job: ImportJob | None = None) -> Process:
        process = Process(self.next_id, name, status, self._account.clock.now(), job=job)
        self.next_id += 1
        self._processes[process.id] = process
        return process

    def _kick(self) -> None:
        if self._worker is None and self._queue and not self._paused:
            self._worker = threading.Thread(target=self._run, name="brevo-import", daemon=True)
            self._worker.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._queue or self._paused:
                    self._worker = None
                    self._changed.notify_all()
                    return
                process = self._processes[self._queue.popleft()]
                process.status = "in_process"
            try:
                self._execute(process)
            except Exception:  # a sandbox bug must not leave the process running forever
                log.exception("import process %s failed", process.id)
            with self._lock:
                process.status = "completed"
                process.completed_at = self._account.clock.now()
                process.job = None
                self._changed.notify_all()

    def _execute(self, process: Process) -> None:
        job = process.job
        assert job is not None
        rows = list(job.rows())
        API_KEY_NAME.set(job.api_key_name)  # this worker thread's context: changes come from that key
        for start in range(0, len(rows), CHUNK_ROWS):
            with self._lock:
                for line, row, from_text in rows[start : start + CHUNK_ROWS]:
                    outcome = import_row(self._account, job, row, from_text)
                    if outcome is not None:
                        kind, reason = outcome
                        process.report.setdefault(kind, []).append(_report_entry(line, row, reason))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable processes, with the rows of imports not yet completed."""
        with self._lock:
            return {
                "next_id": self.next_id,
                "processes": [
                    {
                        **asdict(p),
                        "created_at": p.created_at.isoformat(),
                        "completed_at": p.completed_at.isoformat() if p.completed_at else None,
                    }
                    for p in self._processes.values()
                ],
            }

    def load(self, data: dict[str, Any]) -> None:
        """Restore processes; imports that had not completed are queued again."""
        with self._lock:
            for item in data["processes"]:
                process = Process(
                    **{
                        **item,
                        "created_at": datetime.fromisoformat(item["created_at"]),
                        "completed_at": datetime.fromisoformat(item["completed_at"])
                        if item["completed_at"]
                        else None,
                        "job": ImportJob(**item["job"]) if item["job"] else None,
                    }
                )
                self._processes[process.id] = process
                if process.status != "completed":
                    process.status = "queued"
                    self._queue.append(process.id)
            self.next_id = data["next_id"]
            self._kick()


def _report_entry(line: int, row: dict[str, Any], reason: str) -> dict[str, Any]:
    attributes = row.get("attributes")
    upper = {str(k).upper(): v for k, v in attributes.items()} if isinstance(attributes, dict) else {}
    return {
        "line": line,
        "email": row.get("email") or upper.get("EMAIL") or "",
        "ext_id": row.get("ext_id") or upper.get("EXT_ID") or "",
        "SMS": upper.get("SMS") or "",
        "reason": reason,
    }
