"""The project installs the same way for pip and conda users, and its wheel works on its own.

- ``pyproject.toml`` and ``environment.yml`` name the same packages; the base dependencies are
  what the product imports (outside the sandbox and the notebooks' UI), each extra covers its part.
- ``import toolkit`` imports no sandbox or notebook package (checked here in the project's venv).
- The slow test builds the wheel, installs it alone in a fresh venv (base: none of the extras'
  packages is there, ``import toolkit`` works), then adds the ``sandbox`` and ``notebooks`` extras
  and runs ``toolkit demo --no-serve`` away from the clone, with the notebooks shipped in the wheel.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "sf-brevo-toolkit"
SANDBOX_ONLY = {"faker", "werkzeug", "trustme"}
NOTEBOOK_MODULES = {"papermill", "voila", "ipywidgets", "matplotlib", "nbconvert", "ipykernel", "jupyterlab"}
NOTEBOOK_FILES = {
    "audit_report.ipynb",
    "connections.ipynb",
    "integrations.ipynb",
    "quota_dashboard.ipynb",
    "setup_wizard.ipynb",
    "sync.ipynb",
}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _extras(requirement: str) -> set[str]:
    found = re.search(r"\[([^\]]*)\]", requirement)
    return {e.strip() for e in found.group(1).split(",")} if found else set()


def _project() -> dict[str, Any]:
    project: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project


def _requirements(project: dict[str, Any], *extras: str) -> set[str]:
    """The names the base install plus ``extras`` brings, self-references (``PROJECT[x]``) followed."""
    names = {_name(r) for r in project["dependencies"]}
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for requirement in project["optional-dependencies"][extra]:
            if _name(requirement) == PROJECT:
                todo += _extras(requirement)
            else:
                names.add(_name(requirement))
    return names


def test_environment_yml_names_the_same_packages_as_pyproject() -> None:
    wanted = _requirements(_project(), "test")
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)} - {"python", "pip"}
    pip_block = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda |= {_name(line) for line in pip_block if not line.startswith("-")}  # PyPI-only packages
    assert conda == wanted


def test_environment_yml_uses_conda_forge_and_installs_the_project_with_pip() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    pip_block = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert any(line.startswith("-e .") for line in pip_block)


def test_python_requirement_matches() -> None:
    project = _project()
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert project["requires-python"] == ">=3.11"
    assert "python>=3.11" in env["dependencies"]


def test_extras_split_the_product_from_the_sandbox_the_notebooks_and_the_tests() -> None:
    project = _project()
    base = {_name(r) for r in project["dependencies"]}
    extras = project["optional-dependencies"]
    assert not base & (SANDBOX_ONLY | NOTEBOOK_MODULES | {"lark", "pytest"})
    assert {_name(r) for r in extras["sandbox"]} == SANDBOX_ONLY
    assert {_name(r) for r in extras["notebooks"]} >= NOTEBOOK_MODULES
    assert f"{PROJECT}[sandbox,notebooks,postgresql]" in extras["test"]
    assert {"pytest", "ruff", "mypy", "types-requests", "pandas-stubs", "types-tqdm"} <= _requirements(
        project, "test"
    )
    assert project["license"] == "MIT"  # an SPDX expression (setuptools >= 77), not a table
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"] == [
        "setuptools>=77"
    ]


def _third_party_imports(path: Path) -> set[str]:
    """The top-level modules ``path`` imports, at any depth, leaving out the standard library and toolkit."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"toolkit", "__future__"}


def test_every_package_the_toolkit_imports_is_declared_where_it_is_needed() -> None:
    """Base code imports base packages; toolkit.ui adds the notebooks extra, toolkit.sandbox the sandbox one,
    the store's dialect module the postgresql one (psycopg, imported when a postgresql:// state is opened)."""
    project = _project()
    distributions = importlib.metadata.packages_distributions()
    allowed = {
        "base": _requirements(project),
        "ui": _requirements(project, "notebooks"),
        "sandbox": _requirements(project, "sandbox"),
        "postgresql": _requirements(project, "postgresql"),
    }
    missing = []
    for path in sorted((ROOT / "toolkit").rglob("*.py")):
        part = path.relative_to(ROOT / "toolkit").parts[0]
        area = part if part in ("ui", "sandbox") else "base"
        if path == ROOT / "toolkit" / "store" / "dialect.py":  # psycopg, inside the PostgreSQL dialect only
            area = "postgresql"
        for module in _third_party_imports(path):
            dists = {_name(d) for d in distributions.get(module, [module])}
            if not dists & allowed[area]:
                missing.append(f"{path.relative_to(ROOT)}: {module} ({area})")
    assert not missing
    used = set()
    for path in (ROOT / "toolkit").rglob("*.py"):
        for module in _third_party_imports(path):
            used |= {_name(d) for d in distributions.get(module, [module])}
    assert not {_name(r) for r in project["dependencies"]} - used  # no base dependency left unused


CHECK_IMPORTS = """
import json, sys
import toolkit, toolkit.cli, toolkit.cli.demo, toolkit.apps
print(json.dumps({"modules": sorted(sys.modules), "notebooks": str(toolkit.apps.NOTEBOOKS)}))
"""


def _imported(python: Path | str, cwd: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [str(python), "-c", CHECK_IMPORTS], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _assert_no_extra_imported(modules: list[str]) -> None:
    tops = {m.split(".")[0].lower() for m in modules}
    assert not tops & (SANDBOX_ONLY | NOTEBOOK_MODULES | {"ipython", "psycopg"})
    assert not [m for m in modules if m.startswith(("toolkit.sandbox", "toolkit.ui"))]


def test_importing_the_toolkit_imports_no_sandbox_or_notebook_package() -> None:
    result = _imported(sys.executable, ROOT)
    _assert_no_extra_imported(result["modules"])
    assert {p.name for p in Path(result["notebooks"]).glob("*.ipynb")} == NOTEBOOK_FILES
    assert Path(result["notebooks"]) == ROOT / "toolkit" / "notebooks"


def _run(args: list[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.mark.slow
def test_the_wheel_installs_alone_and_runs_the_demo_with_its_extras(tmp_path: Path) -> None:
    started = time.monotonic()
    # pip's environment as in the project's venv (index, certificates, find-links), but nothing
    # that would let the clone be imported instead of the installed wheel.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOOLKIT_", "PYTHON", "VIRTUAL_ENV"))}
    pip: list[str | Path] = [sys.executable, "-m", "pip"]

    # Build from a copy of what the wheel is made of, so that no stale build/ of the clone slips in.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "toolkit", src / "toolkit", ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path / "dist"
    _run([*pip, "wheel", "-q", "--no-deps", "-w", dist, src], env=env, timeout=300)
    (wheel,) = dist.glob("sf_brevo_toolkit-*.whl")
    built = time.monotonic()

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], env=env, timeout=120)
    python = venv / "bin" / "python"
    # --no-compile: byte-compiling every installed package is three quarters of an install's time
    install: list[str | Path] = [*pip, "--python", python, "install", "-q", "--no-compile"]
    _run([*install, wheel], env=env, timeout=600)
    elsewhere = tmp_path / "elsewhere"  # not the clone: its toolkit/ and notebooks cannot be found
    elsewhere.mkdir()
    base = _imported(python, elsewhere, env)
    _assert_no_extra_imported(base["modules"])
    notebooks = Path(base["notebooks"])
    assert notebooks.is_relative_to(venv) and {p.name for p in notebooks.glob("*.ipynb")} == NOTEBOOK_FILES
    extra_modules = sorted(SANDBOX_ONLY | NOTEBOOK_MODULES)
    check = f"import importlib.util as u; print([m for m in {extra_modules!r} if u.find_spec(m)])"
    present = _run([python, "-c", check], cwd=elsewhere, env=env)
    assert present.stdout.strip() == "[]"  # the base install brings none of the extras' packages
    no_extra = subprocess.run(
        [venv / "bin" / "toolkit", "demo", "--no-serve"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        timeout=120,
    )
    assert no_extra.returncode == 2 and "sf-brevo-toolkit[sandbox,notebooks]" in no_extra.stderr
    base_done = time.monotonic()

    _run([*install, f"{wheel}[sandbox,notebooks]"], env=env, timeout=900)
    extras_done = time.monotonic()
    home = tmp_path / "home"
    home.mkdir()
    demo = _run(
        [venv / "bin" / "toolkit", "demo", "--no-serve"],
        cwd=elsewhere,
        env={**env, "HOME": str(home), "TOOLKIT_STATE_DIR": str(home / "state"), "PYTHONUNBUFFERED": "1"},
        timeout=600,
    )
    out = demo.stdout
    assert re.search(r"demo-contacts: run \d+ succeeded, \d+ records synced", out)
    assert re.search(r"demo-leads: run \d+ succeeded, \d+ records synced", out)
    assert re.search(r"Tasks used this month: [\d,]+ of 100,000", out)
    assert f"papermill: {notebooks / 'sync.ipynb'} -> " in out  # the wheel's notebook, not the clone's
    reports = [Path(p) for p in re.findall(r"audit report \((?:HTML|CSV)\): (\S+)", out)]
    assert len(reports) == 4 and all(p.exists() and p.is_relative_to(elsewhere) for p in reports)
    assert (elsewhere / ".sandbox" / "demo-state" / "runs" / "sync-demo-contacts.ipynb").exists()
    finished = time.monotonic()
    print(
        f"wheel {built - started:.0f} s, venv + base install + checks {base_done - built:.0f} s, "
        f"extras {extras_done - base_done:.0f} s, demo {finished - extras_done:.0f} s, "
        f"total {finished - started:.0f} s"
    )
