"""Local Salesforce and Brevo APIs over their real wire formats (SPEC B7).

Start both with :class:`Sandbox` (or ``toolkit sandbox start`` on the command line).
"""

from __future__ import annotations

from toolkit.sandbox.clock import Clock
from toolkit.sandbox.middleware import FaultPlan, RequestLog
from toolkit.sandbox.runner import Sandbox, SandboxConfig

__all__ = ["Clock", "FaultPlan", "RequestLog", "Sandbox", "SandboxConfig"]
