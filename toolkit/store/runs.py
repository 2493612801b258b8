"""Runs: one row per sync run, started before reading and finished with its counts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from toolkit.exceptions import ConfigError
from toolkit.store.base import StoreBase, dumps, loads, one_of
from toolkit.store.records import RUN_STATUSES, Run, RunStatus, RunTrigger, from_ts

__all__ = ["RunsMixin"]

_COLUMNS = (
    "id, integration_id, started_at, finished_at, status, dry_run, full_sync, counts, "
    "error, sf_api_used, sf_api_limit, trigger"
)
_ABANDONED = "abandoned: the process ended before the run finished"


def _run(row: tuple[Any, ...]) -> Run:
    (id_, integration_id, started, finished, status, dry_run, full, counts, error, used, limit, trigger) = row
    return Run(
        id_,
        integration_id,
        from_ts(started),
        from_ts(finished),
        RunStatus(status),
        bool(dry_run),
        bool(full),
        loads(counts),
        error,
        used,
        limit,
        RunTrigger(trigger) if trigger else None,
    )


class RunsMixin(StoreBase):
    """Methods on ``runs``."""

    def start_run(
        self,
        integration_id: int,
        *,
        dry_run: bool = False,
        full: bool = False,
        trigger: RunTrigger = RunTrigger.MANUAL,
    ) -> Run:
        """Record the start of a run (status ``running``) and what started it."""
        new_id = self._insert(
            "INSERT INTO runs (integration_id, started_at, status, dry_run, full_sync, counts, trigger) "
            "VALUES (?, ?, ?, ?, ?, '{}', ?) RETURNING id",
            (
                integration_id,
                self._now(),
                RunStatus.RUNNING,
                int(dry_run),
                int(full),
                RunTrigger(trigger).value,
            ),
        )
        return self.get_run(new_id)

    def finish_run(
        self,
        run_id: int,
        status: RunStatus,
        *,
        counts: Mapping[str, object] | None = None,
        error: str | None = None,
        sf_api_used: int | None = None,
        sf_api_limit: int | None = None,
    ) -> Run:
        """Record the end of a run.

        Args:
            run_id: the run :meth:`start_run` returned.
            status: ``SUCCEEDED``, ``FAILED``, ``STOPPED`` (quota) or ``BLOCKED`` (B6).
            counts: per-action / per-rule numbers (JSON, see :meth:`toolkit.sync.model.Outcome.as_json`).
            error: what went wrong, for ``failed``, ``stopped`` and ``blocked``.
            sf_api_used: Salesforce API calls used in the last 24 hours, after the run (B3).
            sf_api_limit: the org's daily API call allowance (B3).

        Raises:
            ValueError: ``status`` is ``running`` or unknown.
            ConfigError: the run does not exist or has already finished.
        """
        one_of(status, [s for s in RUN_STATUSES if s != RunStatus.RUNNING], "a finished run's status")
        with self.transaction():
            run = self.get_run(run_id)
            if run.status != RunStatus.RUNNING:
                raise ConfigError(f"run {run_id} already finished ({run.status})")
            self.db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, counts = ?, error = ?, "
                "sf_api_used = ?, sf_api_limit = ? WHERE id = ?",
                (self._now(), status, dumps(counts), error, sf_api_used, sf_api_limit, run_id),
            )
            return self.get_run(run_id)

    def get_run(self, run_id: int) -> Run:
        """Return one run.

        Raises:
            ConfigError: no such run.
        """
        rows = self._rows(f"SELECT {_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise ConfigError(f"no run {run_id}")
        return _run(rows[0])

    def list_runs(
        self, integration_id: int | None = None, *, since: str | None = None, limit: int | None = 100
    ) -> list[Run]:
        """Return runs, newest first.

        Args:
            integration_id: one integration's runs, or all when ``None``.
            since: only runs started at or after this ISO-8601 UTC text (see ``records.to_ts``).
            limit: at most this many (``None`` for all).
        """
        where: list[str] = []
        params: list[Any] = []
        if integration_id is not None:
            where.append("integration_id = ?")
            params.append(integration_id)
        if since is not None:
            where.append("started_at >= ?")
            params.append(since)
        sql = f"SELECT {_COLUMNS} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_at DESC, id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_run(r) for r in self._rows(sql, params)]

    def abandon_running_runs(self, integration_id: int, error: str = _ABANDONED) -> int:
        """Mark runs still ``running`` as ``failed``; call once the run lock is held.

        A run whose process died keeps status ``running``; whoever next holds the integration's
        lock knows it cannot still be running.

        Returns:
            How many runs were closed.
        """
        return self._write(
            "UPDATE runs SET status = ?, finished_at = ?, error = ? WHERE integration_id = ? AND status = ?",
            (RunStatus.FAILED, self._now(), error, integration_id, RunStatus.RUNNING),
        ).rowcount
