"""The Airflow DAG of the scheduling recipe loads (when Airflow is installed) and passes no secret."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

DAG_FILE = Path(__file__).resolve().parents[1] / "scheduling" / "airflow_dag.py"


def test_the_airflow_dag_runs_sync_ipynb_with_papermill() -> None:
    pytest.importorskip(
        "airflow.providers.papermill", reason="Apache Airflow's papermill provider is not installed"
    )
    spec = importlib.util.spec_from_file_location("airflow_dag", DAG_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tasks = module.dag.tasks
    assert [t.task_id for t in tasks] == ["sync_newsletter"]
    assert tasks[0].kernel_name == "python3" and tasks[0].input_nb.endswith("notebooks/sync.ipynb")
    assert set(tasks[0].parameters) == {"integration", "dry_run", "report_dir"}


def test_the_recipes_pass_no_credential() -> None:
    text = DAG_FILE.read_text().lower()
    assert "-k python3" in (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert not [w for w in ("password", "api_key", "client_secret", "token=") if w in text]
