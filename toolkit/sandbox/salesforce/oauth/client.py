"""A ``requests.Session`` that sends simple-salesforce's fixed ``*.salesforce.com`` login URLs to the sandbox.

simple-salesforce builds its token URL as ``https://{domain}.salesforce.com/services/oauth2/token``
and cannot be pointed anywhere else. Mounting :class:`HostRewriteAdapter` on a session for that
host (and for login/test.salesforce.com) rewrites those requests to the sandbox's base URL before
they leave; the token answer's ``instance_url`` then points simple-salesforce at the sandbox for
every later call. simple-salesforce itself is not modified.

Example:
    >>> session = salesforce_session(base_url, ca_bundle)            # doctest: +SKIP
    >>> sf = Salesforce(consumer_key=cid, consumer_secret=secret,    # doctest: +SKIP
    ...                 domain="sandbox.my", session=session)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

LOGIN_HOSTS = ("login.salesforce.com", "test.salesforce.com")


class HostRewriteAdapter(HTTPAdapter):
    """Sends requests for ``https://<host>/...`` to ``<base_url>/...`` instead.

    Args:
        base_url: where to send them, e.g. ``https://127.0.0.1:4431`` (scheme, host, port; no path).
    """

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ValueError("base_url must be a scheme and host, like https://127.0.0.1:4431")
        self.base_url = f"{parts.scheme}://{parts.netloc}"
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        """Rewrite the request's scheme and host, keep path and query, then send it."""
        parts = urlsplit(request.url or "")
        path = parts.path or "/"
        request.url = self.base_url + path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, *args, **kwargs)


def salesforce_session(base_url: str, ca_bundle: str | Path, domain: str = "sandbox.my") -> requests.Session:
    """A session whose Salesforce login requests reach the sandbox, trusting only the sandbox CA.

    Requests to ``https://{domain}.salesforce.com``, ``https://login.salesforce.com`` and
    ``https://test.salesforce.com`` go to ``base_url``; all others (the sandbox's own
    ``instance_url``) go out unchanged. Environment settings (``REQUESTS_CA_BUNDLE``, proxies) are
    ignored so that ``verify`` stays the sandbox CA.

    Args:
        base_url: the sandbox's Salesforce URL, e.g. ``https://127.0.0.1:4431``.
        ca_bundle: the sandbox CA bundle (PEM).
        domain: the ``domain`` given to simple-salesforce; client-credentials login needs a My
            Domain such as the default ``sandbox.my`` (simple-salesforce refuses ``login``/``test``).
    """
    session = requests.Session()
    session.trust_env = False
    session.verify = str(ca_bundle)
    adapter = HostRewriteAdapter(base_url)
    for host in dict.fromkeys((f"{domain}.salesforce.com", *LOGIN_HOSTS)):
        # The trailing slash keeps e.g. "login.salesforce.com.example" from matching the prefix.
        session.mount(f"https://{host}/", adapter)
    return session
