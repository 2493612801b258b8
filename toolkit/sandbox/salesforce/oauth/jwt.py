"""Verification of OAuth 2.0 JWT bearer assertions (RFC 7523) the way Salesforce checks them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from toolkit.sandbox.salesforce.oauth.credentials import Credentials

LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
MAX_ASSERTION_LIFETIME = timedelta(minutes=3)
# Salesforce wants exp at most 3 minutes ahead; allow for a client clock running a little fast.
CLOCK_SKEW = timedelta(seconds=30)
# @salesforce/core, under `sf org login jwt`, signs `exp: Date.now() + 300` — JavaScript
# milliseconds, not RFC 7519 seconds (forcedotcom/sfdx-core, src/org/authInfo.ts,
# AuthInfo.tryJwtAuth) — and real orgs accept those assertions. An exp at or above 10^11 is
# therefore read as milliseconds: in seconds it would be the year 5138, in milliseconds 1973.
MILLISECONDS_FROM = 10**11


class OAuthError(Exception):
    """An OAuth error response: ``{"error": error, "error_description": description}``.

    Attributes:
        error: the OAuth error code, e.g. ``invalid_grant``.
        description: Salesforce's ``error_description`` text (never contains a secret).
        status: the HTTP status (400 for every token endpoint error Salesforce sends).
    """

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


def _numeric_date(value: Any) -> tuple[datetime, bool] | None:
    """``exp`` as a datetime, and whether it was given in milliseconds; None if not a number."""
    # simple-salesforce sends exp as a string of digits; Salesforce accepts it.
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
        in_ms = number >= MILLISECONDS_FROM
        return datetime.fromtimestamp(number / 1000 if in_ms else number, tz=UTC), in_ms
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def verify_assertion(
    assertion: str, credentials: Credentials, *, own_url: str, client_now: datetime, server_now: datetime
) -> str:
    """Check a JWT bearer assertion; return the username (``sub``) it logs in.

    Args:
        assertion: the compact JWT from the ``assertion`` form field.
        credentials: the connected app (consumer key and uploaded certificate).
        own_url: the sandbox's login URL, accepted as ``aud`` next to login/test.salesforce.com.
        client_now: the client's idea of now; ``exp`` (seconds, or milliseconds as
            @salesforce/core signs it) must lie after it. Clients sign with the wall clock,
            which knows nothing of the sandbox clock being advanced.
        server_now: sandbox time; ``exp`` may lie at most 3 minutes after it.

    Raises:
        OAuthError: with the error Salesforce sends for the first check that fails.
    """
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise OAuthError("invalid_grant", "invalid assertion") from exc
    if header.get("alg") != "RS256":
        raise OAuthError("invalid_grant", "invalid assertion")
    if claims.get("iss") != credentials.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    try:
        jwt.decode(
            assertion,
            credentials.jwt_public_key(),
            algorithms=["RS256"],
            options={
                "verify_exp": False,
                "verify_aud": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_iss": False,
            },
        )
    except (jwt.PyJWTError, ValueError) as exc:  # ValueError: the app's key is no RSA key
        raise OAuthError("invalid_grant", "invalid assertion") from exc
    audiences = claims.get("aud")
    audiences = audiences if isinstance(audiences, list) else [audiences]
    accepted = {*LOGIN_AUDIENCES, own_url.rstrip("/")}
    if not any(isinstance(a, str) and a.rstrip("/") in accepted for a in audiences):
        raise OAuthError("invalid_grant", "audience is invalid")
    parsed = _numeric_date(claims.get("exp"))
    if parsed is None or parsed[0] > server_now + MAX_ASSERTION_LIFETIME + CLOCK_SKEW:
        raise OAuthError("invalid_grant", "invalid assertion")
    exp, in_ms = parsed
    # A milliseconds exp from @salesforce/core lies only 300 ms ahead: it may have passed by the
    # time the assertion arrives, so it gets the clock-skew allowance; one further back is expired.
    if exp <= (client_now - CLOCK_SKEW if in_ms else client_now):
        raise OAuthError("invalid_grant", "expired authorization code")
    subject = claims.get("sub")
    if not isinstance(subject, str) or subject.lower() != credentials.username.lower():
        raise OAuthError("invalid_grant", "authentication failure")
    return subject
