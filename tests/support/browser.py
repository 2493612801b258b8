"""What the browser suite's fixtures hand to its tests: the served sandbox, toolkit and Voilà."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from toolkit.api import Toolkit
from toolkit.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    """The sandbox, the toolkit on the served state, and Voilà's base URL."""

    sandbox: Sandbox
    tk: Toolkit
    url: str

    def app(self, notebook: str) -> str:
        """The URL of one Voilà app (``toolkit/notebooks/<notebook>``)."""
        return f"{self.url}/voila/render/{notebook}"
