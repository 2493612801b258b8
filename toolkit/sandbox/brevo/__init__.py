"""Local stand-in of Brevo's API v3 (contacts, lists, attributes, imports, processes, SMTP e-mail).

It speaks Brevo's wire format over HTTPS so that the toolkit runs against it unchanged; see
``app.py`` for the implemented operations and ``control.py`` for the sandbox-only routes.
"""

from __future__ import annotations

from toolkit.sandbox.brevo.account import BrevoAccount
from toolkit.sandbox.brevo.app import BrevoApp, make_app, make_service, url_map
from toolkit.sandbox.brevo.control import control_routes
from toolkit.sandbox.brevo.errors import BrevoError, fault_body

__all__ = [
    "BrevoAccount",
    "BrevoApp",
    "BrevoError",
    "control_routes",
    "fault_body",
    "make_app",
    "make_service",
    "url_map",
]
