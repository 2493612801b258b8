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

Credentials are never in this file, in the DAG's parameters nor in the notebook's (which
papermill writes into the output notebook), and never in the shared database. The task reads
them, on the worker, when it runs:

- from **Airflow connections**, when they exist: ``toolkit_salesforce_<connection>`` for the
  integration's Salesforce connection and ``toolkit_brevo_<account>`` for its Brevo key (names
  lower-cased, other characters than letters and digits as ``_``: the connection ``Prod org`` is
  ``toolkit_salesforce_prod_org``). The Airflow connection's *password* is the Salesforce
  connection's ``client_secret`` or the Brevo ``api_key``; its *extra* (JSON) may give any
  secret field by name (``refresh_token``, ``client_secret``, ``private_key``, ``password``,
  ``api_key``). Airflow keeps them in its metadata database (encrypted with its Fernet key) or
  in its secrets backend (Vault, AWS/GCP secret managers...), and masks them in task logs. The
  task puts them into the environment of the notebook's kernel as ``TOOLKIT_<KIND>_<NAME>_<FIELD>``
  (:mod:`toolkit.credentials`), for that task only;
- else from the worker's environment (``TOOLKIT_SALESFORCE_*`` / ``TOOLKIT_BREVO_*``) or the state
  directory's ``credentials.json``;
- and for the state's PostgreSQL database, libpq's own environment or ``~/.pgpass``.

Copy this file into Airflow's ``dags/`` folder; the toolkit must be installed where Airflow
runs (``make airflow`` builds such a virtualenv, ``.venv-airflow``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from airflow.exceptions import AirflowNotFoundException
from airflow.providers.papermill.operators.papermill import PapermillOperator

try:  # Airflow 3
    from airflow.sdk import DAG, BaseHook
except ImportError:  # pragma: no cover - Airflow 2
    from airflow import DAG
    from airflow.hooks.base import BaseHook

from toolkit.apps import NOTEBOOKS
from toolkit.config import Settings
from toolkit.credentials import env_var_name
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


#: What an Airflow connection's *password* is, per kind of toolkit secret.
PASSWORD_FIELD = {"salesforce": "client_secret", "brevo": "api_key"}


def airflow_conn_id(kind: str, name: str) -> str:
    """The Airflow connection holding the secrets of toolkit connection (or Brevo account) ``name``."""
    return f"toolkit_{kind}_" + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def secret_environment(
    kind: str, name: str, password: str | None, extra: Mapping[str, Any]
) -> dict[str, str]:
    """The ``TOOLKIT_<KIND>_<NAME>_<FIELD>`` variables an Airflow connection's password and extra give."""
    fields = {PASSWORD_FIELD[kind]: password} if password else {}
    fields.update({str(k): v for k, v in extra.items() if isinstance(v, str) and v})
    return {env_var_name(kind, name, field): value for field, value in fields.items()}


class ToolkitSyncOperator(PapermillOperator):  # type: ignore[misc]  # Airflow is not in the lint venv
    """Papermill's operator, with the integration's secrets read from Airflow connections.

    Args:
        secrets: ``(kind, name)`` of the toolkit connection and the Brevo account the integration
            uses; for each, the Airflow connection :func:`airflow_conn_id` is read if it exists
            (else the worker's environment or ``credentials.json`` serve, as outside Airflow).
    """

    def __init__(self, *, secrets: tuple[tuple[str, str], ...] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.secrets = secrets

    def execute(self, context: Any) -> Any:
        for kind, name in self.secrets:
            try:
                conn = BaseHook.get_connection(airflow_conn_id(kind, name))
            except AirflowNotFoundException:
                continue
            # extra_dejson also masks the extra's secret fields in the task's log. The kernel
            # papermill starts inherits this process's environment (this task's only).
            os.environ.update(secret_environment(kind, name, conn.password, conn.extra_dejson))
        return super().execute(context)


def active_integrations(settings: Settings) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """``(name, schedule, secrets)`` of every active integration of the state, by name.

    ``secrets`` are the ``(kind, name)`` of its Salesforce connection and its Brevo account.
    """
    out = []
    with Store.open(settings.state_location) as store:
        connections = {c.id: c.name for c in store.list_connections()}
        for i in store.list_integrations(status=IntegrationStatus.ACTIVE):
            secrets = [("brevo", i.brevo_account)]
            if i.connection_id in connections:
                secrets.insert(0, ("salesforce", connections[i.connection_id]))
            out.append((i.name, i.schedule, tuple(secrets)))
    return out


def _make_folder(folder: Path, context: Any) -> None:
    """Before the task runs, on its worker: papermill writes only into an existing folder."""
    (folder / "reports").mkdir(parents=True, exist_ok=True)


def make_dag(name: str, schedule: str, output: Path, secrets: tuple[tuple[str, str], ...] = ()) -> DAG:
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
        ToolkitSyncOperator(
            task_id="sync",
            secrets=secrets,
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
for _name, _schedule, _secrets in active_integrations(SETTINGS):
    globals()[dag_id(_name)] = make_dag(_name, _schedule, OUTPUT, _secrets)
