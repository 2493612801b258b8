"""The REST API under ``/services/data``: routing, authentication, org checks and the API allowance.

Every call under ``/services/data/vNN.N/`` is authenticated (401 INVALID_SESSION_ID), refused
when the org's API is disabled (403 API_DISABLED_FOR_ORG) or the daily allowance is spent
(403 REQUEST_LIMIT_EXCEEDED), counted, and answered with ``Sforce-Limit-Info``. The versions
list ``GET /services/data/`` needs no session and carries no usage header, as in Salesforce.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.wrappers import Request, Response

from toolkit.sandbox.http import Handler
from toolkit.sandbox.salesforce import bulk
from toolkit.sandbox.salesforce.errors import ApiError, error_response, not_found
from toolkit.sandbox.salesforce.rest import composite, directory, query, replication, sobjects
from toolkit.sandbox.salesforce.rest.query import CursorStore

if TYPE_CHECKING:
    from toolkit.sandbox.salesforce.oauth import OAuthServer
    from toolkit.sandbox.salesforce.org import SalesforceOrg

log = logging.getLogger(__name__)

SUPPORTED_VERSIONS = tuple(f"{v}.0" for v in range(50, 68))


class VersionConverter(BaseConverter):
    """``NN.N`` after ``/services/data/v``."""

    regex = r"\d+\.\d+"


@dataclass
class Ctx:
    """What a handler gets: the API (org, cursors, jobs), the request and the API version."""

    api: RestApi
    request: Request
    version: str

    @property
    def org(self) -> SalesforceOrg:
        return self.api.org

    def body_json(self) -> tuple[Any, str]:
        """The parsed JSON body and its raw text.

        Raises:
            ApiError: JSON_PARSER_ERROR when the body is not JSON.
        """
        raw = self.request.get_data(as_text=True)
        try:
            return json.loads(raw), raw
        except json.JSONDecodeError as exc:
            raise ApiError(
                400,
                "JSON_PARSER_ERROR",
                f"Unexpected character: {exc.msg} at [line:{exc.lineno}, column:{exc.colno}]",
            ) from None


_V = "/services/data/v<version:version>"
_ROUTES: list[tuple[str, str, tuple[str, ...], Handler]] = [
    (_V, "resources", ("GET",), directory.resources),
    (f"{_V}/limits", "limits", ("GET",), replication.limits),
    (f"{_V}/query", "query", ("GET",), query.query),
    (f"{_V}/query/<locator>", "query_more", ("GET",), query.query_more),
    (f"{_V}/queryAll", "query_all", ("GET",), query.query_all),
    (f"{_V}/queryAll/<locator>", "query_all_more", ("GET",), query.query_more),
    (f"{_V}/sobjects", "global_describe", ("GET",), sobjects.global_describe),
    (f"{_V}/sobjects/<sobject>", "sobject", ("GET", "POST"), sobjects.sobject_root),
    (f"{_V}/sobjects/<sobject>/describe", "describe", ("GET",), sobjects.describe),
    (f"{_V}/sobjects/<sobject>/updated", "updated", ("GET",), replication.updated),
    (f"{_V}/sobjects/<sobject>/deleted", "deleted", ("GET",), replication.deleted),
    (f"{_V}/sobjects/<sobject>/<record_id>", "record", ("GET", "PATCH", "DELETE"), sobjects.record),
    (f"{_V}/composite", "composite", ("GET",), directory.composite),
    (f"{_V}/composite/sobjects", "collections", ("POST", "PATCH", "DELETE"), composite.collections),
    (f"{_V}/composite/sobjects/<sobject>", "collections_get", ("GET", "POST"), composite.retrieve),
    (f"{_V}/jobs", "jobs_index", ("GET",), directory.jobs),
    (f"{_V}/jobs/query", "jobs", ("GET", "POST"), bulk.jobs_root),
    (f"{_V}/jobs/query/<job_id>", "job", ("GET", "PATCH", "DELETE"), bulk.job),
    (f"{_V}/jobs/query/<job_id>/results", "job_results", ("GET",), bulk.job_results),
]
_HANDLERS = {endpoint: handler for _, endpoint, _, handler in _ROUTES}


class RestApi:
    """WSGI app for ``/services/data``.

    Attributes:
        org: the org served.
        oauth: the OAuth server that issued the sessions.
        cursors: open query cursors (``nextRecordsUrl`` locators).
        jobs: Bulk API 2.0 query jobs.
    """

    def __init__(self, org: SalesforceOrg, oauth: OAuthServer) -> None:
        self.org = org
        self.oauth = oauth
        self.cursors = CursorStore(org.clock)
        self.jobs = bulk.BulkJobs(org)
        rules = [Rule("/services/data", endpoint="versions", methods=["GET"])]
        rules += [
            Rule(path, endpoint=endpoint, methods=list(methods)) for path, endpoint, methods, _ in _ROUTES
        ]
        self.url_map = Map(rules, converters={"version": VersionConverter}, strict_slashes=False)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        return self.handle(request)(environ, start_response)

    def handle(self, request: Request) -> Response:
        """Answer one request (never raises)."""
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except MethodNotAllowed as exc:
            endpoint, values = "", {"allowed": sorted(exc.valid_methods or [])}
        except HTTPException:  # NotFound, or a redirect that strict_slashes=False never produces
            endpoint, values = "", {}
        if endpoint == "versions":
            return sobjects.versions(request, SUPPORTED_VERSIONS)
        refusal = self.oauth.authenticate(request)
        if refusal is not None:
            return refusal
        if not self.org.api_enabled:
            return error_response(
                403, "API_DISABLED_FOR_ORG", "API is not enabled for this Organization or Partner"
            )
        if not self.org.allowance.try_spend():
            return self._with_usage(
                error_response(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            )
        return self._with_usage(self._dispatch(request, endpoint, dict(values)))

    def _dispatch(self, request: Request, endpoint: str, values: dict[str, Any]) -> Response:
        if not endpoint:
            if "allowed" in values:
                return error_response(
                    405,
                    "METHOD_NOT_ALLOWED",
                    f"HTTP Method '{request.method}' not allowed. "
                    f"Allowed are {','.join(m for m in values['allowed'] if m != 'HEAD')}",
                )
            return not_found()
        version = values.pop("version")
        if version not in SUPPORTED_VERSIONS:
            return not_found()
        ctx = Ctx(self, request, version)
        try:
            return _HANDLERS[endpoint](ctx, **values)
        except ApiError as exc:
            return exc.response()
        except Exception:
            log.exception("sandbox Salesforce REST handler failed: %s %s", request.method, request.path)
            return error_response(
                500,
                "UNKNOWN_EXCEPTION",
                "An unexpected error occurred. Please include this "
                "ErrorId if you contact support: 0000000000-00000 (0)",
            )

    def _with_usage(self, response: Response) -> Response:
        used, limit = self.org.api_usage
        response.headers["Sforce-Limit-Info"] = f"api-usage={used}/{limit}"
        return response
