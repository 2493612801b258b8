"""Keep Salesforce Contacts and Leads in sync with Brevo.

The package is organised by concern (see README's architecture section). Its public API is
listed in ``__all__``; importing it has no side effects.

Example:
    >>> from toolkit import Toolkit
    >>> tk = Toolkit()                       # settings from TOOLKIT_* and toolkit.toml  # doctest: +SKIP
    >>> tk.plan("newsletter").counts         # what a run would write (SPEC B1)          # doctest: +SKIP
"""

from __future__ import annotations

from toolkit.mapping import mappable_fields, suggest_mapping, validate_mapping

from ._version import __version__
from .api import Toolkit
from .config import Settings
from .credentials import CredentialStore, Secret
from .exceptions import (
    ApiDisabledError,
    ApiError,
    AuthError,
    ConfigError,
    ConnectionLimitError,
    CredentialsError,
    FatalApiError,
    MappingError,
    MassDeleteBlocked,
    ProtocolError,
    QuotaExhausted,
    RetriableApiError,
    RunLockedError,
    ToolkitError,
)
from .sync import RunResult

__all__ = [
    "ApiDisabledError",
    "ApiError",
    "AuthError",
    "ConfigError",
    "ConnectionLimitError",
    "CredentialStore",
    "CredentialsError",
    "FatalApiError",
    "MappingError",
    "MassDeleteBlocked",
    "ProtocolError",
    "QuotaExhausted",
    "RetriableApiError",
    "RunLockedError",
    "RunResult",
    "Secret",
    "Settings",
    "Toolkit",
    "ToolkitError",
    "__version__",
    "mappable_fields",
    "suggest_mapping",
    "validate_mapping",
]
