"""The package's layering (README, Architecture): every import points down, never up or sideways.

Each top-level unit of ``toolkit`` has a rank; a module may import units of a lower rank only. The
sandbox stands apart: it imports nothing of the product, and only the CLI (``toolkit sandbox``,
``toolkit demo``) imports it, inside the commands, so that the base install never loads it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "toolkit"

RANKS: dict[str, int] = {
    "_version": 0,
    "exceptions": 0,
    "timestamps": 0,
    "transport": 0,
    "schedules": 0,
    "config": 1,
    "credentials": 1,
    "mapping": 1,
    "brevo": 2,
    "salesforce": 2,
    "rules": 3,
    "store": 4,
    "connections": 5,
    "audit": 5,
    "notify": 6,
    "quota": 7,
    "sync": 8,
    "api": 9,
    "ui": 10,
    "apps": 10,
    "cli": 12,
    "serve": 11,
    "__main__": 13,
    "": 13,  # toolkit/__init__.py: the public names
}
SANDBOX = "sandbox"


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path) -> Iterator[tuple[str, int, bool]]:
    """``(imported module, line, at module level)`` for every import of a toolkit module in ``path``."""
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    module = ".".join(relative.parts)
    package = module[: -len(".__init__")] if module.endswith(".__init__") else module.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [f"{target}.{alias.name}" for alias in node.names] if not node.module else [target]
            else:
                names = [node.module or ""]
                if node.module == "toolkit":
                    names = [f"toolkit.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            if name == "toolkit" or name.startswith("toolkit."):
                yield name, node.lineno, id(node) in top_level


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_unit_has_a_rank() -> None:
    units = {_unit(".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)) for p in _modules()}
    units.discard("__init__")
    assert units - set(RANKS) - {SANDBOX} == set(), "give the new unit a rank in RANKS"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    unit = _unit(module)
    unit = "" if unit == "__init__" else unit
    wrong = []
    for target, line, top_level in _imports(path):
        other = _unit(target)
        if other == unit:
            continue
        if unit == SANDBOX:
            wrong.append(f"line {line}: the sandbox imports {target}")
        elif other == SANDBOX:
            if unit != "cli" or top_level:
                wrong.append(f"line {line}: {target} (only the CLI's commands may start a sandbox)")
        elif RANKS[other] >= RANKS[unit]:
            wrong.append(f"line {line}: {target} (rank {RANKS[other]}) from rank {RANKS[unit]}")
    assert not wrong, f"{module} imports upward or sideways:\n" + "\n".join(wrong)
