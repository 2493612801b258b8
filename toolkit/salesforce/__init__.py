"""Salesforce: OAuth flows against a configurable login URL, and the client the engine uses.

The toolkit signs in itself (:mod:`.auth`) and hands the instance URL, the access token and a
prepared ``requests.Session`` to simple-salesforce. That session retries every request, API call,
token request or identity read, with one urllib3 retry (:mod:`.retry`); every API call goes
through one funnel (:mod:`.funnel`) that re-authenticates once on an expired session and maps
errors to :mod:`toolkit.exceptions`.

Modules: ``retry`` (the session and its retry), ``oauth`` (TokenSet, token request, revocation),
``auth`` (the flows), ``auth_code`` (browser sign-in with PKCE), ``funnel`` (re-authentication,
error translation, usage), ``errors`` (exception mapping), ``client`` (describe, queries, writes),
``bulk`` (Bulk API 2.0 queries), ``soql`` (escaping literals).
"""

from __future__ import annotations

from ..timestamps import format_salesforce_datetime, parse_salesforce_datetime
from .auth import client_credentials, default_audience, jwt_bearer, password, refresh
from .auth_code import AuthorizationCodeFlow
from .client import BATCH_SIZE, RecordError, SalesforceClient, SaveResult
from .funnel import DEFAULT_API_VERSION, Funnel
from .oauth import TokenSet
from .retry import RetryPolicy, SalesforceRetry, make_session
from .soql import soql_date, soql_datetime, soql_in, soql_name, soql_quote

__all__ = [
    "AuthorizationCodeFlow",
    "BATCH_SIZE",
    "DEFAULT_API_VERSION",
    "Funnel",
    "RecordError",
    "RetryPolicy",
    "SalesforceClient",
    "SalesforceRetry",
    "SaveResult",
    "TokenSet",
    "client_credentials",
    "default_audience",
    "format_salesforce_datetime",
    "jwt_bearer",
    "make_session",
    "parse_salesforce_datetime",
    "password",
    "refresh",
    "soql_date",
    "soql_datetime",
    "soql_in",
    "soql_name",
    "soql_quote",
]
