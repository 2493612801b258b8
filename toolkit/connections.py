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

A connection's life after it was made (issue 15): :func:`token_state` signs in once to say
whether it still works; :func:`disconnect_salesforce` revokes its token at Salesforce, removes its
secrets and marks it disconnected (refused while an integration that runs by itself uses it);
:func:`reconnect_salesforce` records a new sign-in of the same account under the same name (a
person's, through :class:`BrowserSignIn`: Salesforce's login page, the authorization-code flow
with PKCE and a loopback redirect, as the setup wizard signs in). Each change is recorded in the
store's change log with who made it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import requests

from .brevo import BrevoClient
from .config import Settings
from .credentials import CredentialStore, Secret
from .exceptions import AuthError, ConfigError
from .salesforce import AuthorizationCodeFlow, SalesforceClient, TokenSet, auth, make_session
from .salesforce.oauth import revoke_token
from .store import (
    MAX_CONNECTIONS_PER_ACCOUNT,
    Connection,
    Integration,
    IntegrationStatus,
    StopReason,
    Store,
)
from .store.connections import ApiUsage

__all__ = [
    "SIGN_IN_TIMEOUT",
    "BrowserSignIn",
    "ConnectionView",
    "TokenState",
    "connect_salesforce",
    "connection_views",
    "disconnect_salesforce",
    "identity_username",
    "open_brevo",
    "open_salesforce",
    "reconnect_salesforce",
    "revoke_sign_in",
    "save_brevo_key",
    "token_state",
]

log = logging.getLogger(__name__)

_SECRET_FIELDS = {
    "authorization_code": ("refresh_token", "client_secret"),
    "client_credentials": ("client_secret",),
    "jwt_bearer": ("private_key",),
    "password": ("client_secret", "password"),
}
_ALL_SECRET_FIELDS = ("refresh_token", "client_secret", "private_key", "password")

SIGN_IN_TIMEOUT = 900.0
"""Seconds a sign-in through the login page (:class:`BrowserSignIn`) waits for the browser's redirect."""


class TokenState(StrEnum):
    """Whether a connection still signs in (:func:`token_state`), in the words the pages show."""

    VALID = "valid"
    REFUSED = "sign-in refused: reconnect"  # revoked or expired grant, changed secret, secret missing
    UNREACHABLE = "Salesforce not reached: check again"
    DISCONNECTED = "disconnected"
    NOT_CHECKED = "not checked"


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

    The new connection is recorded in the change log (``connected``, with who made it) in that
    same transaction.

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
        wanted = _wanted_secrets(flow, tokens, secrets)
        if integration is not None:
            store.get_integration(integration)  # a wrong name is said before any API call
        username = _check_sign_in(tokens, settings)
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


def _wanted_secrets(
    flow: str, tokens: TokenSet, secrets: Mapping[str, str | Secret] | None
) -> dict[str, str | Secret]:
    """The secrets a connection of ``flow`` keeps (the refresh token taken from ``tokens``)."""
    wanted = dict(secrets or {})
    if flow == "authorization_code" and "refresh_token" not in wanted:
        if tokens.refresh_token is None:
            raise AuthError("the sign-in returned no refresh token: allow the 'refresh_token' scope")
        wanted["refresh_token"] = tokens.refresh_token
    missing = [f for f in _SECRET_FIELDS[flow][:1] if f not in wanted]
    if missing:
        raise ConfigError(f"connecting with {flow} needs: {', '.join(missing)}")
    return wanted


def _check_sign_in(tokens: TokenSet, settings: Settings) -> str:
    """Check that the org's API answers to a new sign-in (S2) and return its username."""
    client = _client(tokens, settings, reauthenticate=lambda: tokens)
    try:
        client.limits()  # the first API call: a disabled API or a bad token shows here (S2)
    finally:
        client.close()
    return identity_username(tokens, settings)


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
    """A signed-in client for a stored connection; it signs in again by itself when a session expires.

    Raises:
        ConfigError: the connection was disconnected (reconnect it first).
    """
    conn = _connected(store.get_connection(connection))
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


# -- a connection's life after it was made (issue 15) ------------------------------------------------


def _connected(connection: Connection) -> Connection:
    """``connection``, or a ConfigError saying it was disconnected."""
    if connection.disconnected_at is not None:
        raise ConfigError(
            f"the Salesforce connection {connection.name!r} was disconnected on "
            f"{connection.disconnected_at:%Y-%m-%d %H:%M} UTC: reconnect it (the connections page) first"
        )
    return connection


def _kept_on_disconnect(connection: Connection) -> set[str]:
    """Secrets a disconnection keeps: an authorization-code connection's client secret is the
    connected app's (a person's sign-in is still needed to use it), kept for its reconnection."""
    return {"client_secret"} if connection.flow == "authorization_code" else set()


def token_state(
    store: Store, credentials: CredentialStore, settings: Settings, connection: str | int
) -> TokenState:
    """Whether a stored connection still signs in: one token request (none when it is disconnected).

    A refresh token revoked or expired, a changed client secret or key, or a secret missing from
    the credential store is :attr:`TokenState.REFUSED`: reconnect it. The reason is logged
    (without any secret).
    """
    conn = store.get_connection(connection)
    if conn.disconnected_at is not None:
        return TokenState.DISCONNECTED
    try:
        _sign_in(conn, credentials, settings)
    except AuthError as exc:
        log.warning("checking the Salesforce connection %r: %s", conn.name, exc)
        return TokenState.UNREACHABLE if exc.code == "unreachable" else TokenState.REFUSED
    except ConfigError as exc:  # e.g. its secret is not in the credential store
        log.warning("checking the Salesforce connection %r: %s", conn.name, exc)
        return TokenState.REFUSED
    return TokenState.VALID


def disconnect_salesforce(
    store: Store,
    credentials: CredentialStore,
    settings: Settings,
    connection: str | int,
    *,
    sessions: Iterable[TokenSet] = (),
) -> bool | None:
    """Disconnect a Salesforce connection: its grant revoked at Salesforce, its secrets removed.

    Refused while an integration that runs by itself uses the connection (active, or stopped by
    the quota, which resumes by itself): pause or deactivate it first. Paused, draft and failed
    integrations do not hold it; they cannot be activated again until it is reconnected.

    In order: the connection is marked disconnected and the change recorded (one transaction:
    from then on nothing signs in through it and no integration using it can be activated); the
    refresh token is revoked (``POST /services/oauth2/revoke``: Salesforce ends every access
    token issued from it along), or for a flow without one the access tokens of ``sessions``;
    then its secrets leave the credential store (an authorization-code connection keeps the
    connected app's client secret, for its reconnection). Secrets set as environment variables
    cannot be removed here: a warning names them.

    Args:
        connection: its name or id.
        sessions: live sign-ins of the connection (e.g. the toolkit's open clients'), whose
            access tokens are revoked when the flow has no refresh token.

    Returns:
        ``True`` when Salesforce confirmed every revocation, ``False`` when it refused one or
        could not be reached (the tokens then expire by themselves; the connection is
        disconnected all the same), ``None`` when there was no token to revoke (a flow without
        refresh token and no live session).

    Raises:
        ConfigError: integrations that run use it (named in the message), or it was disconnected already.
    """
    conn = store.get_connection(connection)
    refresh_token = (
        credentials.find("salesforce", conn.name, "refresh_token")
        if conn.flow == "authorization_code"
        else None
    )
    conn = store.mark_disconnected(conn.id)  # refuses while integrations run through it
    tokens = [refresh_token] if refresh_token is not None else [s.access_token for s in sessions]
    confirmed: bool | None = None
    if tokens:
        session = _session(settings)
        try:
            results = [revoke_token(conn.login_url, token, session=session) for token in tokens]
            confirmed = all(results)
        except AuthError as exc:  # a login URL that is not one
            log.warning("the tokens of the connection %r could not be revoked: %s", conn.name, exc)
            confirmed = False
        finally:
            session.close()
    kept = _kept_on_disconnect(conn)
    for field in _ALL_SECRET_FIELDS:
        if field in kept:
            continue
        try:
            credentials.delete("salesforce", conn.name, field)
        except ConfigError as exc:
            log.warning("could not remove the secret %r of the connection %r: %s", field, conn.name, exc)
        if credentials.find("salesforce", conn.name, field) is not None:
            log.warning(
                "the secret %r of the disconnected connection %r is set in the environment: remove it there",
                field,
                conn.name,
            )
    log.info(
        "disconnected the Salesforce connection %r (revocation %s)",
        conn.name,
        {True: "confirmed", False: "not confirmed", None: "not needed"}[confirmed],
    )
    return confirmed


def reconnect_salesforce(
    store: Store,
    credentials: CredentialStore,
    settings: Settings,
    connection: str | int,
    *,
    tokens: TokenSet,
    flow: str = "authorization_code",
    client_id: str | None = None,
    login_url: str | None = None,
    secrets: dict[str, str | Secret] | None = None,
) -> Connection:
    """Record a new sign-in for a stored connection, under the same name (issue 15).

    The sign-in must be the connection's own Salesforce account (same org, same user:
    :func:`toolkit.store.same_account`), and the org's API must answer (S2). Then, in one
    transaction, its identity is updated, ``disconnected_at`` cleared, the change recorded
    (``reconnected``) and the new secrets replace the old ones. A connection reconnected while it
    was still connected has its old refresh token revoked afterwards. A sign-in refused for any
    reason (another account, a disabled API...) has its tokens revoked, as in
    :func:`connect_salesforce`, and the connection stays as it was.

    Args:
        connection: its name or id.
        tokens: the new sign-in (e.g. from :class:`BrowserSignIn`).
        flow: the flow it was made with (the apps: ``authorization_code``).
        client_id, login_url: the connected app and login URL signed in with (default: the connection's).
        secrets: as for :func:`connect_salesforce`.

    Raises:
        ConfigError: another account signed in (the message names both), or a secret is missing.
        AuthError: the sign-in does not work (API disabled, identity unreadable).
    """
    current = store.get_connection(connection)
    login_url = login_url or current.login_url
    try:
        wanted = _wanted_secrets(flow, tokens, secrets)
        username = _check_sign_in(tokens, settings)
        old_refresh = (
            credentials.find("salesforce", current.name, "refresh_token") if current.connected else None
        )
        with store.transaction():  # the row, the change and the secrets, or none of them
            conn = store.mark_connected(
                current.id,
                login_url=login_url,
                username=username,
                client_id=client_id or current.client_id,
                flow=flow,
                instance_url=tokens.instance_url,
                org_id=tokens.org_id,
                user_id=tokens.user_id,
            )
            keep = set(wanted) | ({"client_secret"} if flow == "authorization_code" else set())
            for field in _ALL_SECRET_FIELDS:
                if field not in keep:
                    credentials.delete("salesforce", conn.name, field)
            for field, value in wanted.items():
                credentials.set("salesforce", conn.name, field, value)
    except Exception:
        revoke_sign_in(tokens, login_url, settings)
        raise
    new_refresh = wanted.get("refresh_token")
    if old_refresh is not None and (new_refresh is None or _reveal(new_refresh) != old_refresh.reveal()):
        session = _session(settings)
        try:  # the replaced grant is of no use any more: end it
            revoke_token(current.login_url, old_refresh, session=session)
        except AuthError as exc:
            log.warning("the replaced refresh token of %r could not be revoked: %s", conn.name, exc)
        finally:
            session.close()
    log.info("reconnected the Salesforce connection %r as %s (%s)", conn.name, username, flow)
    return conn


def _reveal(value: str | Secret) -> str:
    return value.reveal() if isinstance(value, Secret) else value


class BrowserSignIn:
    """A person's sign-in on Salesforce's own login page, concluded exactly once.

    The authorization-code flow with PKCE and a loopback redirect listener
    (:class:`~toolkit.salesforce.AuthorizationCodeFlow`): show :attr:`authorize_url` as a link;
    the sign-in completes by itself when the browser's redirect reaches the listener, or with
    :meth:`complete` and the redirect URL pasted from the browser (a remote notebook).
    ``on_done`` is called once with the tokens or the :class:`~toolkit.exceptions.AuthError`
    (refused, or nothing came back within ``timeout``), from the listener's thread or the
    caller's; a :meth:`cancel` calls nothing.

    The client secret, when the connected app needs one with PKCE, comes from the credential
    store (``("salesforce", <name>, "client_secret")``), never from a page.

    The setup wizard's connect step signs a new connection in through it, and
    :meth:`toolkit.api.Toolkit.start_reconnect` a stored one (the connections page's Reconnect).

    Args:
        settings: the CA bundle, timeouts and the listener's port (``salesforce_callback_port``).
        credentials: where a client secret is looked up.
        login_url, client_id: where to sign in, with which connected app.
        name: the connection's name (for its client secret).
        on_done: called once with the outcome.
        port: the listener's port (default: the settings'; 0 = any free port).
        timeout: seconds to wait for the redirect.

    Raises:
        AuthError: the listener cannot start, or the login URL is not HTTPS.
    """

    def __init__(
        self,
        settings: Settings,
        credentials: CredentialStore,
        *,
        login_url: str,
        client_id: str,
        name: str,
        on_done: Callable[[TokenSet | AuthError], None],
        port: int | None = None,
        timeout: float = SIGN_IN_TIMEOUT,
    ) -> None:
        self.name = name
        self._on_done = on_done
        self._lock = threading.Lock()
        self._finished = False
        self.done = threading.Event()
        self._session = _session(settings)
        try:
            self.flow = AuthorizationCodeFlow(
                login_url,
                client_id,
                session=self._session,
                client_secret=credentials.find("salesforce", name, "client_secret"),
                port=settings.salesforce_callback_port if port is None else port,
            )
        except BaseException:
            self._session.close()
            raise
        self._deadline = time.monotonic() + timeout
        threading.Thread(target=self._watch, name="salesforce-sign-in", daemon=True).start()

    @property
    def authorize_url(self) -> str:
        """The login page's URL, to open in a browser."""
        return self.flow.authorize_url

    @property
    def waiting(self) -> bool:
        """Not concluded yet."""
        return not self._finished

    def complete(self, redirect_url: str) -> None:
        """Finish with the redirect URL pasted from the browser's address bar.

        Raises:
            AuthError: the URL is not this sign-in's (``code="state_mismatch"``): keep waiting
                for the right one. Any other failure goes to ``on_done``.
        """
        try:
            outcome: TokenSet | AuthError = self.flow.complete(redirect_url)
        except AuthError as exc:
            if exc.code == "state_mismatch":
                raise
            outcome = exc
        self._conclude(outcome)
        self.done.wait(60)  # the listener's thread may have got there first: let it finish

    def cancel(self) -> None:
        """Stop waiting (the listener closes); ``on_done`` is not called."""
        with self._lock:
            finished, self._finished = self._finished, True
        if not finished:
            self._close()
            self.done.set()

    def _watch(self) -> None:
        while not self._finished and time.monotonic() < self._deadline:
            try:
                outcome: TokenSet | AuthError = self.flow.wait(timeout=0.5)
            except AuthError as exc:
                if exc.code == "timeout":
                    continue
                outcome = exc
            self._conclude(outcome)
            return
        self._conclude(AuthError("no sign-in came back in time; start the sign-in again", code="timeout"))

    def _conclude(self, outcome: TokenSet | AuthError) -> None:
        with self._lock:
            if self._finished:
                return
            self._finished = True
        try:
            self._close()
            self._on_done(outcome)
        finally:
            self.done.set()

    def _close(self) -> None:
        self.flow.close()
        self._session.close()


@dataclass(frozen=True, slots=True)
class ConnectionView:
    """One Salesforce connection as the connections page shows it (issue 15).

    Attributes:
        name, org_id, instance_url, username, flow, login_url: the stored connection.
        integrations: ``(name, status)`` of the integrations using this connection.
        account_uses: integrations using its Salesforce account through any connection (S3).
        disconnected_at: when it was disconnected (``None``: connected).
        api_usage: the org's daily API usage the newest run through it recorded (B3), if any.
        token_state: the last check's outcome (:attr:`TokenState.NOT_CHECKED` until checked).
    """

    name: str
    org_id: str | None
    instance_url: str | None
    username: str
    flow: str
    login_url: str
    integrations: tuple[tuple[str, str], ...]
    account_uses: int
    disconnected_at: datetime | None
    api_usage: ApiUsage | None
    token_state: TokenState

    @property
    def connected(self) -> bool:
        """Not disconnected."""
        return self.disconnected_at is None

    @property
    def uses(self) -> str:
        """The account's uses against the S3 limit: ``"1 of 5"``."""
        return f"{self.account_uses} of {MAX_CONNECTIONS_PER_ACCOUNT}"


def _status_words(integration: Integration) -> str:
    """``"active"``, ``"paused"``, ``"stopped by the quota"``, ``"draft"``, ``"error"``."""
    if integration.status != IntegrationStatus.STOPPED or not integration.stop_reason:
        return str(integration.status)
    if integration.stop_reason == StopReason.PAUSED:
        return "paused"
    if integration.stop_reason == StopReason.QUOTA:
        return "stopped by the quota"
    return f"stopped ({integration.stop_reason})"


def connection_views(store: Store, checked: Mapping[str, TokenState] | None = None) -> list[ConnectionView]:
    """Every connection with its integrations, account uses (S3), API usage (B3) and token state.

    Args:
        checked: the token states found by :func:`token_state`, by connection name (the others
            are :attr:`TokenState.NOT_CHECKED`; a disconnected one is always ``DISCONNECTED``).
    """
    checked = checked or {}
    integrations = store.list_integrations()
    views = []
    for conn in store.list_connections():
        using = tuple(
            (integ.name, _status_words(integ)) for integ in integrations if integ.connection_id == conn.id
        )
        state = (
            TokenState.DISCONNECTED
            if conn.disconnected_at is not None
            else checked.get(conn.name, TokenState.NOT_CHECKED)
        )
        views.append(
            ConnectionView(
                name=conn.name,
                org_id=conn.org_id,
                instance_url=conn.instance_url,
                username=conn.username,
                flow=conn.flow,
                login_url=conn.login_url,
                integrations=using,
                account_uses=len(store.account_users(conn.id)),
                disconnected_at=conn.disconnected_at,
                api_usage=store.api_usage(conn.id),
                token_state=state,
            )
        )
    return views
