"""The sandbox connected app's settings an administrator sets in Salesforce Setup.

By default the sandbox's app is lenient, so that any client on this machine can sign in: every
loopback callback URL is accepted, the selected OAuth scopes are ``api`` and ``refresh_token``,
and the web server flow needs no consumer secret when PKCE is used. ``PUT
/_sandbox/salesforce/connected-app`` (or :meth:`AppSettings.update`) makes it as strict as a real
app, to reproduce what a person meets when going live:

* ``callback_urls``: the registered Callback URLs; an authorize request naming another
  ``redirect_uri`` gets Salesforce's OAuth error page ``error=redirect_uri_mismatch`` (no
  redirect). Empty: any loopback URL (the default).
* ``scopes``: the app's Selected OAuth Scopes (``offline_access`` is ``refresh_token``).
* ``unselected_scopes``: what a request for a scope the app lacks gets: ``"refuse"`` (the
  default) redirects back with ``error=invalid_scope`` ("Client scope requests must be a subset
  of the connected app's scope permissions", Mobile SDK guide, Scope Parameter Values);
  ``"omit"`` grants the scopes the app has and leaves the others out, so that a sign-in without
  ``refresh_token`` on the app gets no refresh token, as reported for real orgs
  (crunch-accounting/salesforce-api-php-wrapper#17, jsforce/jsforce#163).
* ``require_secret``: "Require secret for Web Server Flow" and "Require secret for Refresh Token
  Flow" (ticked by default on a new external client app): a code or refresh-token exchange
  without the consumer secret is refused with ``invalid_client``.
* ``jwt_preauthorized``: the user is pre-authorized for the JWT bearer flow ("Admin approved
  users are pre-authorized" and the user's profile or permission set on the app; the default);
  ``false``: a valid assertion is refused with ``invalid_grant`` "user hasn't approved this
  consumer", as reported for real orgs (omniphx/forrest#278, JitendraZaa/OAuthFlows#1).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# OAuth scopes a Salesforce app can select (the ones a sync integration could meet).
KNOWN_SCOPES = ("api", "refresh_token", "id", "web", "full", "openid", "chatter_api")
SCOPE_ALIASES = {"offline_access": "refresh_token"}
DEFAULT_SCOPES = ("api", "refresh_token")
UNSELECTED_SCOPE_POLICIES = ("refuse", "omit")


def canonical_scope(scope: str) -> str:
    """A scope's canonical name (``offline_access`` is ``refresh_token``)."""
    return SCOPE_ALIASES.get(scope, scope)


@dataclass
class AppSettings:
    """What Setup says about the sandbox's one connected app (thread-safe to read and update).

    Attributes:
        callback_urls: registered callback URLs; empty accepts any loopback URL.
        scopes: selected OAuth scopes, in this order in token answers.
        unselected_scopes: ``"refuse"`` (``invalid_scope``) or ``"omit"`` (granted without them).
        require_secret: the web server and refresh token flows need the consumer secret.
        jwt_preauthorized: the JWT bearer flow's user is pre-authorized on the app.
    """

    callback_urls: tuple[str, ...] = ()
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    unselected_scopes: str = "refuse"
    require_secret: bool = False
    jwt_preauthorized: bool = True
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """The settings as the control route shows them."""
        with self._lock:
            return {
                "callback_urls": list(self.callback_urls),
                "scopes": list(self.scopes),
                "unselected_scopes": self.unselected_scopes,
                "require_secret": self.require_secret,
                "jwt_preauthorized": self.jwt_preauthorized,
            }

    def update(self, data: Mapping[str, Any]) -> None:
        """Change the settings named in ``data``; ``{"reset": true}`` first restores the defaults.

        Raises:
            ValueError: an unknown key or a value of the wrong kind (nothing is changed then).
        """
        keys = {"callback_urls", "scopes", "unselected_scopes", "require_secret", "jwt_preauthorized"}
        unknown = set(data) - keys - {"reset"}
        if unknown:
            raise ValueError(f"unknown connected-app settings: {', '.join(sorted(unknown))}")
        fresh = AppSettings() if data.get("reset") else None
        with self._lock:
            callback_urls = fresh.callback_urls if fresh else self.callback_urls
            scopes = fresh.scopes if fresh else self.scopes
            policy = fresh.unselected_scopes if fresh else self.unselected_scopes
            require_secret = fresh.require_secret if fresh else self.require_secret
            preauthorized = fresh.jwt_preauthorized if fresh else self.jwt_preauthorized
        if "callback_urls" in data:
            urls = data["callback_urls"]
            if not isinstance(urls, list) or not all(isinstance(u, str) and u for u in urls):
                raise ValueError("callback_urls must be a list of URLs")
            callback_urls = tuple(urls)
        if "scopes" in data:
            wanted = data["scopes"]
            if not isinstance(wanted, list) or not all(isinstance(s, str) for s in wanted):
                raise ValueError("scopes must be a list of scope names")
            names = [canonical_scope(s) for s in wanted]
            bad = [s for s in names if s not in KNOWN_SCOPES]
            if bad:
                raise ValueError(f"unknown scopes: {', '.join(bad)} (known: {', '.join(KNOWN_SCOPES)})")
            scopes = tuple(dict.fromkeys(names))
        if "unselected_scopes" in data:
            if data["unselected_scopes"] not in UNSELECTED_SCOPE_POLICIES:
                raise ValueError(f"unselected_scopes must be one of {', '.join(UNSELECTED_SCOPE_POLICIES)}")
            policy = str(data["unselected_scopes"])
        if "require_secret" in data:
            if not isinstance(data["require_secret"], bool):
                raise ValueError("require_secret must be true or false")
            require_secret = data["require_secret"]
        if "jwt_preauthorized" in data:
            if not isinstance(data["jwt_preauthorized"], bool):
                raise ValueError("jwt_preauthorized must be true or false")
            preauthorized = data["jwt_preauthorized"]
        with self._lock:
            self.callback_urls, self.scopes = callback_urls, scopes
            self.unselected_scopes, self.require_secret = policy, require_secret
            self.jwt_preauthorized = preauthorized

    def callback_registered(self, uri: str) -> bool | None:
        """Whether ``uri`` is a registered callback URL; ``None`` when none is registered."""
        with self._lock:
            return (uri in self.callback_urls) if self.callback_urls else None
