"""The Airflow DAG of the scheduling recipe passes no secret (tests/test_airflow.py runs it in Airflow)."""

from __future__ import annotations

from pathlib import Path

DAG_FILE = Path(__file__).resolve().parents[1] / "scheduling" / "airflow_dag.py"


def test_the_recipes_pass_no_credential() -> None:
    text = DAG_FILE.read_text().lower()
    assert "-k python3" in (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert not [w for w in ("password", "api_key", "client_secret", "token=") if w in text]
