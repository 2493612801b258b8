"""Keep Salesforce Contacts and Leads in sync with Brevo.

The package is organised by concern (see README's architecture section). Its public API is
listed in ``__all__``; importing it has no side effects.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
