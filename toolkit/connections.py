"""Connecting accounts (SPEC S2, S3) and opening API clients from what is stored.

S3 (one Salesforce account used by at most 5 integrations) is kept by the store whenever an
integration is given a connection (:func:`toolkit.store.connections.check_account_use`); a new
sign-in for an integration is recorded and put to use in one transaction, and its tokens are
revoked when it is refused.

A connection row in the store says who signed in where and by which OAuth flow; its secrets
(client secret, refresh token, JWT private key) live only in the credential store, under
``("salesforce", <connection name>, <field>)``. A Brevo account's key lives under
``("brevo", <account name>, "api_key")``. Scheduled runs call :func:`open_salesforce` and
:func:`open_brevo` with names only: nothing secret ever crosses a notebook or a parameter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import requests

from .brevo import BrevoClient
from .config import Settings
from .credentials import CredentialStore, Secret
from .exceptions import AuthError, ConfigError
from .salesforce import SalesforceClient, TokenSet, auth, make_session
from .store import Connection, Store

__all__ = [
    "connect_salesforce",
    "identity_username",
    "open_brevo",
    "open_salesforce",
    "revoke_sign_in",
    "save_brevo_key",
]

log = logging.getLogger(__name__)

_SECRET_FIELDS = {
    "authorization_code": ("refresh_token", "client_secret"),
    "client_credentials": ("client_secret",),
    "jwt_bearer": ("private_key",),
    "password": ("client_secret", "password"),
}


def _session(settings: Settings) -> requests.Session:
    """A session for one Salesforce connection: every request through it (API calls, token
    requests, identity reads, revocations) is retried by :class:`~toolkit.salesforce.SalesforceRetry`."""
    return make_session(
        str(settings.ca_bundle) if settings.ca_bundle else None, timeout=settings.http_timeout
    )


def identity_username(tokens: TokenSet, settings: Settings) -> str:
    """The signed-in user's username, read from the token's identity URL (retried like any call).

    Raises:
        AuthError: the identity could not be read (refused, unreachable, or not the answer
            Salesforce documents).
    """
    session = _session(settings)
    try:
        response = session.get(
            tokens.id_url, headers={"Authorization": f"Bearer {tokens.access_token.reveal()}"}
        )
    except requests.RequestException as exc:  # its text may quote the URL: only the kind is kept
        raise AuthError(f"could not read the signed-in user's identity ({type(exc).__name__})") from None
    finally:
        session.close()
    if response.status_code != 200:
        raise AuthError(f"could not read the signed-in user's identity (HTTP {response.status_code})")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("username"), str):
        raise AuthError("the identity answer has no username", code="invalid_identity_response")
    return str(body["username"])


def connect_salesforce(
    store: Store,
    credentials: CredentialStore,
    settings: Settings,
    *,
    name: str,
    tokens: TokenSet,
    client_id: str,
    flow: str,
    login_url: str | None = None,
    secrets: dict[str, str | Secret] | None = None,
    integration: str | None = None,
) -> Connection:
    """Record a signed-in Salesforce account and keep its secrets in the credential store.

    The caller has already signed in (``tokens`` from :mod:`toolkit.salesforce.auth`, e.g. an
    :class:`~toolkit.salesforce.AuthorizationCodeFlow` for a person). This checks that the
    org's API answers (S2: ``API_DISABLED_FOR_ORG`` raises
    :class:`~toolkit.exceptions.ApiDisabledError`), then stores the connection and, when
    ``integration`` is named, makes that integration use it, in one transaction: an account
    that 5 other integrations use already is refused with
    :class:`~toolkit.exceptions.ConnectionLimitError` (S3) and nothing is kept.

    Whenever the sign-in is not kept (refused by S3, a disabled API, a taken name...), its tokens
    are revoked at Salesforce (``POST /services/oauth2/revoke``): a refused sign-in leaves no
    live token behind.

    Args:
        secrets: what later runs need to sign in again without a person: for
            ``authorization_code`` the refresh token (taken from ``tokens`` when omitted), for
            ``client_credentials`` the client secret, for ``jwt_bearer`` the private key PEM.
        integration: the integration to connect (the wizard's); ``None`` only records the
            connection (a connection that no integration uses is no use of the account, S3).
    """
    login_url = login_url or settings.salesforce_login_url
    try:
        wanted = dict(secrets or {})
        if flow == "authorization_code" and "refresh_token" not in wanted:
            if tokens.refresh_token is None:
                raise AuthError("the sign-in returned no refresh token: allow the 'refresh_token' scope")
            wanted["refresh_token"] = tokens.refresh_token
        missing = [f for f in _SECRET_FIELDS[flow][:1] if f not in wanted]
        if missing:
            raise ConfigError(f"connecting with {flow} needs: {', '.join(missing)}")
        if integration is not None:
            store.get_integration(integration)  # a wrong name is said before any API call
        client = _client(tokens, settings, reauthenticate=lambda: tokens)
        try:
            client.limits()  # the first API call: a disabled API or a bad token shows here (S2)
        finally:
            client.close()
        username = identity_username(tokens, settings)
        with store.transaction():  # the connection, its use (S3) and its secrets, or none of them
            connection = store.add_connection(
                name,
                login_url=login_url,
                username=username,
                client_id=client_id,
                flow=flow,
                instance_url=tokens.instance_url,
                org_id=tokens.org_id,
                user_id=tokens.user_id,
            )
            if integration is not None:
                store.update_integration(integration, connection_id=connection.id)
            for field, value in wanted.items():
                credentials.set("salesforce", name, field, value)
    except Exception:
        if not store.db.in_transaction:
            _forget_secrets(credentials, name, store)
        revoke_sign_in(tokens, login_url, settings)
        raise
    log.info("connected Salesforce account %s as %r (%s)", username, name, flow)
    return connection


def revoke_sign_in(tokens: TokenSet, login_url: str, settings: Settings) -> bool:
    """Revoke the tokens of a sign-in that is not kept (see :func:`toolkit.salesforce.auth.revoke`).

    Returns:
        Whether Salesforce confirmed it; a failure is logged (without the token), never raised.
    """
    session = _session(settings)
    try:
        revoked = auth.revoke(login_url, tokens, session=session)
    except AuthError as exc:  # e.g. a login URL that is not one
        log.warning("the tokens of a refused Salesforce sign-in could not be revoked: %s", exc)
        return False
    finally:
        session.close()
    if revoked:
        log.info("revoked the tokens of a Salesforce sign-in that was not kept")
    else:
        log.warning(
            "the tokens of a refused Salesforce sign-in could not be revoked; they expire by themselves"
        )
    return revoked


def _forget_secrets(credentials: CredentialStore, name: str, store: Store) -> None:
    """Drop secrets written for a connection whose row was not committed (nothing half-saved)."""
    if any(c.name == name for c in store.list_connections()):
        return  # an existing connection of that name keeps its own secrets
    try:
        credentials.delete("salesforce", name)
    except ConfigError:
        log.warning("could not remove the secrets of the connection %r that was not recorded", name)


def _client(
    tokens: TokenSet, settings: Settings, *, reauthenticate: Callable[[], TokenSet]
) -> SalesforceClient:
    return SalesforceClient(
        tokens, reauthenticate, session=_session(settings), version=settings.salesforce_api_version
    )


def _sign_in(connection: Connection, credentials: CredentialStore, settings: Settings) -> TokenSet:
    session = _session(settings)

    def secret(field: str) -> Secret:
        return credentials.get("salesforce", connection.name, field)

    try:
        if connection.flow == "authorization_code":
            client_secret = credentials.find("salesforce", connection.name, "client_secret")
            return auth.refresh(
                connection.login_url,
                connection.client_id,
                secret("refresh_token"),
                session=session,
                client_secret=client_secret,
            )
        if connection.flow == "client_credentials":
            return auth.client_credentials(
                connection.login_url, connection.client_id, secret("client_secret"), session=session
            )
        if connection.flow == "jwt_bearer":
            return auth.jwt_bearer(
                connection.login_url,
                connection.client_id,
                connection.username,
                secret("private_key"),
                session=session,
            )
        return auth.password(
            connection.login_url,
            connection.client_id,
            secret("client_secret"),
            connection.username,
            secret("password"),
            session=session,
        )
    finally:
        session.close()


def open_salesforce(
    store: Store, credentials: CredentialStore, settings: Settings, connection: str | int
) -> SalesforceClient:
    """A signed-in client for a stored connection; it signs in again by itself when a session expires."""
    conn = store.get_connection(connection)
    tokens = _sign_in(conn, credentials, settings)
    return _client(tokens, settings, reauthenticate=lambda: _sign_in(conn, credentials, settings))


def save_brevo_key(credentials: CredentialStore, api_key: str | Secret, *, account: str = "default") -> None:
    """Keep a Brevo API key in the credential store under an account name."""
    credentials.set("brevo", account, "api_key", api_key)


def open_brevo(
    credentials: CredentialStore,
    settings: Settings,
    *,
    account: str = "default",
    base_url: str | None = None,
    ca_bundle: Path | str | None = None,
) -> BrevoClient:
    """A Brevo client for a named account (key from the credential store or the environment)."""
    key = credentials.get("brevo", account, "api_key")
    bundle = ca_bundle if ca_bundle is not None else settings.ca_bundle
    return BrevoClient(
        base_url or settings.brevo_api_url,
        key,
        ca_bundle=str(bundle) if bundle else None,
        timeout=settings.http_timeout,
    )
