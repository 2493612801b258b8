"""A local stand-in for a Salesforce org: OAuth, REST (query, sObjects, collections) and Bulk API 2.0.

Public entry points: :class:`~.org.SalesforceOrg` (the data and its Python API),
:func:`~.app.make_app` / :func:`~.app.make_service` (the HTTPS-servable instance).
"""

from __future__ import annotations

from toolkit.sandbox.salesforce.app import control_routes, fault_body, make_app, make_service
from toolkit.sandbox.salesforce.org import SalesforceOrg

__all__ = ["SalesforceOrg", "control_routes", "fault_body", "make_app", "make_service"]
