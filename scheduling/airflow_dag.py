"""Apache Airflow: one papermill run of the toolkit's ``sync.ipynb`` per integration, every hour.

Copy this file into Airflow's ``dags/`` folder (the ``apache-airflow-providers-papermill``
package provides the operator); the toolkit must be installed where Airflow runs (``pip install
'sf-brevo-toolkit[notebooks]'``): the notebook is taken from the installed package
(``toolkit.apps.NOTEBOOKS``). The worker needs ``TOOLKIT_STATE_DIR`` in its environment; the
credentials come from the state's ``credentials.json`` or ``TOOLKIT_SALESFORCE_*`` /
``TOOLKIT_BREVO_*`` variables, never from a parameter, so nothing secret is saved in the output
notebooks.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from airflow import DAG
from airflow.providers.papermill.operators.papermill import PapermillOperator

from toolkit.apps import NOTEBOOKS

REPO = Path(__file__).resolve().parents[1]
INTEGRATIONS = ("newsletter",)  # the integrations' names, as in `toolkit integrations list`
RUNS = REPO / "runs"

with DAG(
    dag_id="sf_brevo_sync",
    schedule=timedelta(hours=1),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,  # the toolkit also locks each integration: a second run would exit 5
    default_args={"retries": 1, "retry_delay": timedelta(minutes=5)},
    tags=["salesforce", "brevo"],
) as dag:
    for name in INTEGRATIONS:
        PapermillOperator(
            task_id=f"sync_{name.replace('-', '_')}",
            input_nb=str(NOTEBOOKS / "sync.ipynb"),
            output_nb=str(RUNS / f"sync-{name}-{{{{ ts_nodash }}}}.ipynb"),
            kernel_name="python3",
            parameters={"integration": name, "dry_run": False, "report_dir": str(RUNS / "reports")},
        )
