"""The Airflow DAG of the scheduling recipe passes no secret (tests/test_airflow.py runs it in Airflow).

Read without Airflow (this venv has none): the notebook's parameters (which papermill writes into
the executed notebook) are the integration's name and the run's options only, and no string in
the file is a secret's value; secrets reach the task from Airflow connections or the worker.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAG_FILE = ROOT / "scheduling" / "airflow_dag.py"


def test_the_recipes_pass_no_credential() -> None:
    assert "-k python3" in (ROOT / "README.md").read_text()  # the cron recipe's papermill line
    tree = ast.parse(DAG_FILE.read_text())
    parameters = [
        kw.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for kw in node.keywords
        if kw.arg == "parameters"
    ]
    assert len(parameters) == 1 and isinstance(parameters[0], ast.Dict)
    keys = {k.value for k in parameters[0].keys if isinstance(k, ast.Constant)}
    assert keys == {"integration", "dry_run", "report_dir", "trigger"}
    # The values are the name, a flag, a folder and a template; none reads a secret.
    text = ast.unparse(parameters[0]).lower()
    assert not [w for w in ("password", "api_key", "secret", "token", "credentials", "environ") if w in text]
