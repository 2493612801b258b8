"""ipywidgets apps for people who do not write code: the setup wizard, the integrations page, the
connections page and the quota dashboard; plus the helpers behind the papermill notebooks.

The apps only call the package (:class:`toolkit.api.Toolkit`, :mod:`toolkit.quota`,
:mod:`toolkit.audit`) and show what comes back; the notebooks in ``toolkit/notebooks/`` import, build
and display them. Built without arguments, each opens ``Toolkit()`` on ``$TOOLKIT_STATE_DIR``
(and its ``toolkit.toml``), so no notebook carries a setting or a secret.

Example:
    >>> from toolkit.ui import SetupWizard, IntegrationsPage, QuotaDashboard   # doctest: +SKIP
    >>> SetupWizard()                                                          # doctest: +SKIP

Importing this package needs the ``notebooks`` extra (ipywidgets, matplotlib).
"""

from __future__ import annotations

from .common import FAIL, INIT, READY, SUCCESS
from .connections import ConnectionsPage
from .dashboard import QuotaDashboard
from .integrations import IntegrationsPage
from .wizard import SetupWizard
from .wizard.step import WizardStep

__all__ = [
    "ConnectionsPage",
    "FAIL",
    "INIT",
    "IntegrationsPage",
    "QuotaDashboard",
    "READY",
    "SUCCESS",
    "SetupWizard",
    "WizardStep",
]
