"""What the browser suite's fixtures hand to its tests: the served sandbox, toolkit and Voilà."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from toolkit.api import Toolkit
from toolkit.apps import VoilaServer
from toolkit.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    """The sandbox, the toolkit on the served state, and Voilà (which asks for the apps token)."""

    sandbox: Sandbox
    tk: Toolkit
    server: VoilaServer
    log: Path | None = None

    @property
    def url(self) -> str:
        """Voilà's base URL."""
        return self.server.url

    def app(self, notebook: str) -> str:
        """A URL that logs the browser in with the token and opens one app (``toolkit/notebooks/<notebook>``)."""
        return self.server.login_url(notebook)

    def bare(self, notebook: str) -> str:
        """One app's URL without any credential (a browser that has not logged in is refused)."""
        return self.server.app_url(notebook)
