"""Local Salesforce and Brevo APIs over their real wire formats (SPEC B7).

Start both with :class:`Sandbox` (or ``toolkit sandbox start`` on the command line).
"""

from __future__ import annotations

from .clock import Clock
from .middleware import FaultPlan, RequestLog
from .runner import Sandbox, SandboxConfig

__all__ = ["Clock", "FaultPlan", "RequestLog", "Sandbox", "SandboxConfig"]
