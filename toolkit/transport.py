"""What both services' HTTP transports share: a urllib3 ``Retry`` that knows a broken TLS stream.

:class:`toolkit.brevo.retry.BrevoRetry` and :class:`toolkit.salesforce.retry.SalesforceRetry`
derive from :class:`NetworkRetry`, so that the two clients judge a failed connection alike.
"""

from __future__ import annotations

import ssl

from urllib3.exceptions import SSLError
from urllib3.util.retry import Retry

__all__ = ["NetworkRetry", "is_verification_error"]


class NetworkRetry(Retry):
    """urllib3 ``Retry`` that retries a TLS stream broken mid-way, never a certificate refused.

    urllib3 counts every ``SSLError`` as an "other" error. A stream broken mid-way (EOF, a bad
    record) is a network failure like a reset: it is counted as a read error here and retried
    as such. A certificate that fails verification will fail again: it is not retried.
    """

    def _is_read_error(self, err: Exception) -> bool:
        if isinstance(err, SSLError):
            return not is_verification_error(err)
        return bool(super()._is_read_error(err))


def is_verification_error(err: BaseException) -> bool:
    """Whether ``err`` (or an error it wraps) is a failed certificate verification."""
    seen: BaseException | None = err
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:
        visited.add(id(seen))
        if isinstance(seen, ssl.SSLCertVerificationError) or type(seen).__name__ == "CertificateError":
            return True
        nested = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = nested or seen.__cause__ or seen.__context__
    return False
