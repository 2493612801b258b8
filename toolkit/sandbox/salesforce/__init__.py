"""A local stand-in for a Salesforce org: OAuth, REST (query, sObjects, collections) and Bulk API 2.0.

Public entry points: :class:`~.org.SalesforceOrg` (the data and its Python API),
:func:`~.app.make_app` / :func:`~.app.make_service` (the HTTPS-servable instance).
"""

from __future__ import annotations

__all__ = ["SalesforceOrg", "make_app", "make_service", "fault_body", "control_routes"]


def __getattr__(name: str) -> object:
    # Imported lazily so that ``salesforce.soql`` or ``salesforce.oauth`` load without the REST app.
    if name == "SalesforceOrg":
        from .org import SalesforceOrg

        return SalesforceOrg
    if name in ("make_app", "make_service", "fault_body", "control_routes"):
        from . import app

        return getattr(app, name)
    raise AttributeError(name)
