"""What the browser suite's fixtures hand to its tests (the served sandbox, toolkit and Voilà), and
the Salesforce login page an app opens in a new tab (:func:`open_login_tab`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def open_login_tab(page: Any, link: Any, sf: dict[str, Any]) -> Any:
    """Follow an app's link to the Salesforce login page, opened in a new tab, and fill in the sandbox
    user's name and password (``sf``: the sandbox's ``info["salesforce"]``); the caller submits.

    Returns:
        The login page's tab (a Playwright page).
    """
    with page.context.expect_page() as opened:
        link.click()
    login = opened.value
    login.wait_for_load_state()
    login.locator("#username").fill(sf["username"])
    login.locator("#password").fill(sf["password"])
    return login
