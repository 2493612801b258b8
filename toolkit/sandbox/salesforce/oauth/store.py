"""Thread-safe storage of the OAuth server's sessions, refresh tokens and authorization codes."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from toolkit.sandbox.clock import Clock
from toolkit.sandbox.salesforce.oauth.credentials import (
    new_access_token,
    new_authorization_code,
    new_refresh_token,
)

CODE_LIFETIME = timedelta(minutes=15)


@dataclass
class AccessSession:
    """A live access token (a Salesforce session).

    Attributes:
        client_id: the connected app it was issued to.
        scope: granted scopes, space-separated.
        issued_at: when it was issued (sandbox time).
        expires_at: when it stops working unless used; moved on by activity.
        refresh_token: the refresh token it was issued from or with, if any.
    """

    token: str
    client_id: str
    scope: str
    issued_at: datetime
    expires_at: datetime
    refresh_token: str | None = None


@dataclass
class AuthorizationCode:
    """A code issued by the authorize endpoint, exchangeable once within 15 minutes."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    issued_at: datetime
    code_challenge: str | None = None
    code_challenge_method: str = "S256"
    used: bool = False


@dataclass
class RefreshGrant:
    """A refresh token and what it grants."""

    token: str
    client_id: str
    scope: str
    issued_at: datetime


@dataclass
class _State:
    sessions: dict[str, AccessSession] = field(default_factory=dict)
    refresh: dict[str, RefreshGrant] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)


class TokenStore:
    """Issues, looks up and revokes tokens; every method is safe to call from server threads.

    Sessions time out after ``session_seconds`` of inactivity, as Salesforce sessions do: a use
    in the second half of the timeout moves the expiry to ``session_seconds`` from that use.
    """

    def __init__(self, clock: Clock, org_id: str, session_seconds: int) -> None:
        self._clock = clock
        self._org_id = org_id
        self._timeout = timedelta(seconds=session_seconds)
        self._lock = threading.Lock()
        self._state = _State()

    def issue_session(self, client_id: str, scope: str, refresh_token: str | None = None) -> AccessSession:
        """A new access token for ``client_id``."""
        now = self._clock.now()
        session = AccessSession(
            new_access_token(self._org_id), client_id, scope, now, now + self._timeout, refresh_token
        )
        with self._lock:
            self._state.sessions[session.token] = session
        return session

    def use_session(self, token: str) -> AccessSession | None:
        """The live session of ``token`` (its timeout renewed), or ``None`` if unknown or expired."""
        now = self._clock.now()
        with self._lock:
            session = self._state.sessions.get(token)
            if session is None:
                return None
            if now >= session.expires_at:
                del self._state.sessions[token]
                return None
            if session.expires_at - now < self._timeout / 2:
                session.expires_at = now + self._timeout
            return session

    def issue_refresh(self, client_id: str, scope: str) -> RefreshGrant:
        """A new refresh token (they do not expire in the sandbox until revoked)."""
        grant = RefreshGrant(new_refresh_token(), client_id, scope, self._clock.now())
        with self._lock:
            self._state.refresh[grant.token] = grant
        return grant

    def refresh_grant(self, token: str) -> RefreshGrant | None:
        """The grant of a live refresh token, or ``None``."""
        with self._lock:
            return self._state.refresh.get(token)

    def issue_code(
        self,
        client_id: str,
        redirect_uri: str,
        scope: str,
        code_challenge: str | None,
        code_challenge_method: str,
    ) -> AuthorizationCode:
        """A new single-use authorization code."""
        code = AuthorizationCode(
            new_authorization_code(),
            client_id,
            redirect_uri,
            scope,
            self._clock.now(),
            code_challenge,
            code_challenge_method,
        )
        with self._lock:
            self._state.codes[code.code] = code
        return code

    def take_code(self, value: str) -> tuple[AuthorizationCode | None, bool]:
        """Mark a code used; returns ``(code or None if unknown, whether it was still valid)``.

        A code counts as spent by any exchange attempt that reaches it, so that a wrong
        verifier cannot be retried against the same code.
        """
        now = self._clock.now()
        with self._lock:
            code = self._state.codes.get(value)
            if code is None:
                return None, False
            valid = not code.used and now - code.issued_at < CODE_LIFETIME
            code.used = True
            return code, valid

    def revoke(self, token: str) -> bool:
        """Revoke an access token, or a refresh token with every access token issued from it."""
        with self._lock:
            if self._state.sessions.pop(token, None) is not None:
                return True
            if self._state.refresh.pop(token, None) is None:
                return False
            for key in [k for k, s in self._state.sessions.items() if s.refresh_token == token]:
                del self._state.sessions[key]
            return True

    def expire_sessions(self) -> int:
        """End every session (refresh tokens stay valid); returns how many were live."""
        with self._lock:
            count = len(self._state.sessions)
            self._state.sessions.clear()
            return count

    def revoke_refresh_tokens(self) -> int:
        """Revoke every refresh token and the sessions issued from them; returns how many."""
        with self._lock:
            count = len(self._state.refresh)
            self._state.refresh.clear()
            for key in [k for k, s in self._state.sessions.items() if s.refresh_token is not None]:
                del self._state.sessions[key]
            return count

    def counts(self) -> dict[str, int]:
        """How many live sessions and refresh tokens exist (expired sessions excluded)."""
        now = self._clock.now()
        with self._lock:
            live = sum(1 for s in self._state.sessions.values() if now < s.expires_at)
            return {"sessions": live, "refresh_tokens": len(self._state.refresh)}
