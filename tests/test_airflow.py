"""``airflow dags test`` of scheduling/airflow_dag.py on the sandbox, the state on PostgreSQL.

Runs in the virtualenv of ``make airflow`` (``.venv-airflow``: real Apache Airflow, its papermill
provider, this project); ``make test-airflow`` runs this file, and ``make test`` runs that target
when the virtualenv exists. Without it the tests are skipped with the reason.

One state with two active integrations (each its own schedule: an interval, a cron expression)
and a draft one: the DAG file makes one DAG per active integration, at parse time, from the state;
``airflow dags test`` of one of them runs ``sync.ipynb`` through papermill for real, and the run
is in the state (trigger ``manual``: a DAG run started by hand), its executed notebook and audit
report are kept, and no secret is in the notebook or in the DAG's parameters.

The secrets come from Airflow connections (``AIRFLOW_CONN_TOOLKIT_SALESFORCE_SANDBOX_ORG``,
``AIRFLOW_CONN_TOOLKIT_BREVO_DEFAULT``, Airflow's environment-variable form of a connection): they
are taken out of the state directory's ``credentials.json`` first, so the run can only succeed
if the task read them there; afterwards they are neither in that file nor in the shared database.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.postgres import PgServer
from tests.support.sync import make_env, setup_integration
from toolkit.api import Toolkit
from toolkit.cli.demo import write_state_config
from toolkit.sandbox import Sandbox
from toolkit.store import IntegrationStatus

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_VENV = ROOT / ".venv-airflow"
AIRFLOW = AIRFLOW_VENV / "bin" / "airflow"
DAG_FOLDER = ROOT / "scheduling"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not AIRFLOW.exists(), reason="no .venv-airflow (make airflow creates it)"),
]

# What the DAG file made, printed by the Airflow venv's own interpreter (DagBag of the folder).
LIST_DAGS = """
import json, sys
try:
    from airflow.dag_processing.dagbag import DagBag  # Airflow 3
except ImportError:
    from airflow.models.dagbag import DagBag
bag = DagBag(sys.argv[1])
out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in sorted(bag.dags.items()):
    (task,) = dag.tasks
    out["dags"][dag_id] = {
        "schedule": str(dag.schedule), "timetable": type(dag.timetable).__name__,
        "task": task.task_id, "operator": [c.__name__ for c in type(task).__mro__[:2]],
        "secrets": task.secrets, "retries": task.retries,
        "kernel": task.kernel_name, "input_nb": task.input_nb, "output_nb": task.output_nb,
        "parameters": task.parameters, "max_active_runs": dag.max_active_runs,
    }
print(json.dumps(out))
"""


@dataclass
class AirflowState:
    sandbox: Sandbox
    tk: Toolkit
    env: dict[str, str]
    output: Path

    def secrets(self) -> list[str]:
        info = self.sandbox.info
        return [info["salesforce"]["client_secret"], info["salesforce"]["password"], info["brevo"]["api_key"]]


def _move_secrets_to_airflow(tk: Toolkit) -> dict[str, str]:
    """Take the sandbox's secrets out of ``credentials.json``; return them as Airflow connections.

    A connection's password is the Salesforce ``client_secret`` / the Brevo ``api_key``; any other
    secret field goes into its extra (scheduling/airflow_dag.py's rule).
    """
    password_field = {"salesforce": "client_secret", "brevo": "api_key"}
    environ = {}
    for kind, name, conn_id in (
        ("salesforce", "sandbox-org", "TOOLKIT_SALESFORCE_SANDBOX_ORG"),
        ("brevo", "default", "TOOLKIT_BREVO_DEFAULT"),
    ):
        fields = {
            field: tk.credentials.get(kind, name, field).reveal()
            for field in ("client_secret", "refresh_token", "private_key", "password", "api_key")
            if tk.credentials.find(kind, name, field) is not None
        }
        assert password_field[kind] in fields, (kind, sorted(fields))
        password = fields.pop(password_field[kind])
        environ[f"AIRFLOW_CONN_{conn_id}"] = json.dumps(
            {"conn_type": "generic", "password": password, "extra": fields}
        )
        tk.credentials.delete(kind, name)
    assert tk.credentials.names("salesforce") == [] and tk.credentials.names("brevo") == []
    return environ


def _database_text(tk: Toolkit) -> str:
    """Every row of every table of the state's database, as text."""
    conn = tk.store.db
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    ]
    return "\n".join(repr(conn.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables)


@pytest.fixture(scope="module")
def airflow_state(tmp_path_factory: pytest.TempPathFactory, pg_server: PgServer) -> Iterator[AirflowState]:
    tmp = tmp_path_factory.mktemp("airflow")
    url = pg_server.create_database()
    sandbox, tk = make_env(tmp, contacts=40, leads=10, seed=43, state_url=url)
    setup_integration(tk, "newsletter")
    tk.store.update_integration("newsletter", schedule="every 15 minutes")
    setup_integration(tk, "leads-weekday", "Lead")
    tk.store.update_integration("leads-weekday", schedule="0 6 * * mon-fri")
    tk.create_integration("draft-one", "Contact")  # a draft: no DAG
    write_state_config(sandbox.info, tk.settings.state_dir)
    connections = _move_secrets_to_airflow(tk)
    home = tmp / "airflow-home"
    output = tmp / "airflow-output"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOOLKIT_", "AIRFLOW", "VIRTUAL_ENV"))}
    env.update(
        {
            "PATH": f"{AIRFLOW_VENV / 'bin'}:{env.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "TOOLKIT_STATE_DIR": str(tk.settings.state_dir),
            "TOOLKIT_STATE_URL": url,
            "TOOLKIT_AIRFLOW_OUTPUT": str(output),
            **connections,
        }
    )
    migrate = subprocess.run(
        [str(AIRFLOW), "db", "migrate"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
    yield AirflowState(sandbox, tk, env, output)
    tk.close()
    sandbox.stop()
    pg_server.drop_database(url)


def test_the_dag_file_makes_one_dag_per_active_integration_on_its_schedule(
    airflow_state: AirflowState,
) -> None:
    assert [i.name for i in airflow_state.tk.store.list_integrations(status=IntegrationStatus.ACTIVE)] == [
        "leads-weekday",
        "newsletter",
    ]
    done = subprocess.run(
        [str(AIRFLOW_VENV / "bin" / "python"), "-c", LIST_DAGS, str(DAG_FOLDER)],
        env=airflow_state.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    listed = json.loads(done.stdout.strip().splitlines()[-1])
    assert listed["errors"] == {}
    dags = listed["dags"]
    assert sorted(dags) == ["sf_brevo_sync__leads-weekday", "sf_brevo_sync__newsletter"]
    news, leads = dags["sf_brevo_sync__newsletter"], dags["sf_brevo_sync__leads-weekday"]
    assert "0:15:00" in news["schedule"] and leads["schedule"] == "0 6 * * mon-fri"
    for dag in (news, leads):
        assert dag["operator"] == ["ToolkitSyncOperator", "PapermillOperator"] and dag["kernel"] == "python3"
        assert dag["input_nb"].endswith("toolkit/notebooks/sync.ipynb") and dag["retries"] == 2
        assert dag["max_active_runs"] == 1
        assert set(dag["parameters"]) == {"integration", "dry_run", "report_dir", "trigger"}
        assert dag["parameters"]["dry_run"] is False
        text = json.dumps(dag)
        assert not [s for s in airflow_state.secrets() if s in text]
    assert news["parameters"]["integration"] == "newsletter"
    # Where the task looks for the secrets: the integration's connection and Brevo account (names only).
    assert news["secrets"] == [["salesforce", "sandbox-org"], ["brevo", "default"]]


def test_airflow_dags_test_runs_the_integration_through_papermill(airflow_state: AirflowState) -> None:
    store = airflow_state.tk.store
    iid = store.get_integration("newsletter").id
    before = len(store.list_runs(iid))
    done = subprocess.run(
        [str(AIRFLOW), "dags", "test", "sf_brevo_sync__newsletter", "2026-12-01T06:00:00+00:00"],
        env=airflow_state.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-5000:]
    runs = store.list_runs(iid)
    assert len(runs) == before + 1, log[-5000:]
    run = runs[0]
    assert str(run.status) == "succeeded", run
    assert str(run.trigger) == "manual"
    folder = airflow_state.output / "newsletter"
    notebooks = sorted(folder.glob("sync-newsletter-*-try1.ipynb"))
    assert len(notebooks) == 1, sorted(p.name for p in folder.iterdir())
    reports = list((folder / "reports").rglob("*.html"))
    assert reports, sorted(p.name for p in (folder / "reports").rglob("*"))
    text = notebooks[0].read_text()
    assert not [s for s in airflow_state.secrets() if s in text or s in log]
    # The secrets came from the Airflow connections only, and went nowhere else.
    credentials = airflow_state.tk.settings.state_dir / "credentials.json"
    stored = credentials.read_text() if credentials.exists() else ""
    assert not [s for s in airflow_state.secrets() if s in stored or s in _database_text(airflow_state.tk)]
    cells = json.loads(text)["cells"]
    injected = [c for c in cells if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and 'integration = "newsletter"' in "".join(injected[0]["source"])
    assert 'trigger = "manual"' in "".join(injected[0]["source"])
