"""Apache Airflow: one DAG per active integration, each on the integration's own schedule.

At parse time this file reads the active integrations from the toolkit's state (``Settings``
from the environment: ``TOOLKIT_STATE_DIR``, and ``TOOLKIT_STATE_URL`` for a PostgreSQL state)
and makes one DAG ``sf_brevo_sync__<name>`` for each, scheduled by ``Integration.schedule``
(an interval becomes a ``timedelta``, a cron expression stays one, in UTC as ``toolkit serve``
reads it). Its one task runs the installed toolkit's ``sync.ipynb`` with papermill (the
``apache-airflow-providers-papermill`` operator), for real, with ``trigger`` set to
``schedule``, ``manual`` (a DAG run started by hand) or ``retry`` (Airflow's retries).

Why one DAG per integration and not one DAG with dynamic task mapping: a DAG has one schedule,
and the mapped tasks of one DAG run all run at that schedule; integrations have their own
(``every 15 minutes``, ``0 6 * * mon-fri``). Separate DAGs also give each integration its own
run history, retries, pause switch and ``max_active_runs=1`` (the toolkit's run lock, an
advisory lock on PostgreSQL, would make a second concurrent run exit 5 anyway). A new, paused
or deleted integration appears or goes at the next parse of this file.

Kept: the executed notebooks in ``<output>/<name>/sync-<name>-<ts>-try<N>.ipynb`` and the
audit reports in ``<output>/<name>/reports``, where ``<output>`` is ``TOOLKIT_AIRFLOW_OUTPUT``
or ``<state_dir>/airflow``.

Credentials are never in this file nor in the notebook's parameters (which papermill writes into
the output notebook): the worker's environment (``TOOLKIT_SALESFORCE_*`` / ``TOOLKIT_BREVO_*``),
the state directory's ``credentials.json``, or libpq's own environment or ``~/.pgpass`` for the
state's database.

Copy this file into Airflow's ``dags/`` folder; the toolkit must be installed where Airflow
runs (``make airflow`` builds such a virtualenv, ``.venv-airflow``).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from airflow.providers.papermill.operators.papermill import PapermillOperator

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # pragma: no cover - Airflow 2
    from airflow import DAG

from toolkit.apps import NOTEBOOKS
from toolkit.config import Settings
from toolkit.schedules import parse_schedule
from toolkit.store import IntegrationStatus, Store

DAG_PREFIX = "sf_brevo_sync__"
OUTPUT_ENV = "TOOLKIT_AIRFLOW_OUTPUT"
TRIGGER = "{{ 'retry' if ti.try_number > 1 else ('manual' if dag_run.run_type == 'manual' else 'schedule') }}"


def dag_id(name: str) -> str:
    """The DAG id of integration ``name`` (Airflow allows letters, digits, ``-``, ``_`` and ``.``)."""
    return DAG_PREFIX + "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def airflow_schedule(text: str) -> timedelta | str:
    """``Integration.schedule`` as Airflow's ``schedule``: a ``timedelta`` or a cron expression."""
    schedule = parse_schedule(text)
    if schedule.interval is not None:
        return schedule.interval
    assert schedule.cron is not None
    return schedule.cron


def active_integrations(settings: Settings) -> list[tuple[str, str]]:
    """``(name, schedule)`` of every active integration of the state, by name."""
    with Store.open(settings.state_location) as store:
        return [(i.name, i.schedule) for i in store.list_integrations(status=IntegrationStatus.ACTIVE)]


def _make_folder(folder: Path, context: Any) -> None:
    """Before the task runs, on its worker: papermill writes only into an existing folder."""
    (folder / "reports").mkdir(parents=True, exist_ok=True)


def make_dag(name: str, schedule: str, output: Path) -> DAG:
    """The DAG running integration ``name``'s ``sync.ipynb`` on its schedule."""
    folder = output / name
    with DAG(
        dag_id=dag_id(name),
        schedule=airflow_schedule(schedule),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
        tags=["salesforce", "brevo", "sf-brevo-toolkit"],
        doc_md=f"Syncs the integration `{name}` ({schedule}) through `sync.ipynb`.",
    ) as dag:
        PapermillOperator(
            task_id="sync",
            input_nb=str(NOTEBOOKS / "sync.ipynb"),
            output_nb=str(folder / f"sync-{name}-{{{{ ts_nodash }}}}-try{{{{ ti.try_number }}}}.ipynb"),
            kernel_name="python3",
            on_execute_callback=partial(_make_folder, folder),
            parameters={
                "integration": name,
                "dry_run": False,
                "report_dir": str(folder / "reports"),
                "trigger": TRIGGER,
            },
        )
    return dag


SETTINGS = Settings.from_env()
OUTPUT = Path(os.environ.get(OUTPUT_ENV) or SETTINGS.state_dir / "airflow")
for _name, _schedule in active_integrations(SETTINGS):
    globals()[dag_id(_name)] = make_dag(_name, _schedule, OUTPUT)
