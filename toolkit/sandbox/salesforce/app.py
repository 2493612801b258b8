"""The Salesforce sandbox as one WSGI app: OAuth, the REST API, fault bodies and control routes.

Example::

    org = SalesforceOrg(clock)
    oauth = OAuthServer(Credentials.generate(), clock, org_id=org.org_id, user_id=org.user_id)
    service = make_service(org, oauth, log=RequestLog(), faults=FaultInjector())
    url = serve(service)            # then: oauth.instance_url = url
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wrappers import Request, Response

from toolkit.sandbox.http import json_response
from toolkit.sandbox.middleware import ControlHandler, FaultInjector, RequestLog, Service
from toolkit.sandbox.salesforce.errors import error_response, not_found
from toolkit.sandbox.salesforce.oauth import OAuthServer
from toolkit.sandbox.salesforce.org import SalesforceOrg
from toolkit.sandbox.salesforce.org.conversion import DEFAULT_CONVERTED_STATUS, LeadConvert
from toolkit.sandbox.salesforce.rest import RestApi

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_FAULTS = {
    429: ("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
    500: (
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact "
        "support: 1425384761-39052 (-1375425345)",
    ),
    503: ("SERVER_UNAVAILABLE", "Server is temporarily unavailable. Please try again later."),
}


class SalesforceApp:
    """Routes ``/services/oauth2/*`` and ``/id/*`` to OAuth and ``/services/data*`` to the REST API.

    Attributes:
        rest: the REST API (its cursors and Bulk jobs are reachable for tests).
    """

    def __init__(self, org: SalesforceOrg, oauth: OAuthServer) -> None:
        self.org = org
        self.oauth = oauth
        self.rest = RestApi(org, oauth)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(("/services/oauth2/", "/id/")):
            return self.oauth.wsgi_app(environ, start_response)
        if path == "/services/data" or path.startswith("/services/data/"):
            return self.rest(environ, start_response)
        return not_found()(environ, start_response)


def make_app(org: SalesforceOrg, oauth: OAuthServer) -> SalesforceApp:
    """The sandbox Salesforce instance (OAuth + REST + Bulk 2.0) for ``org``."""
    return SalesforceApp(org, oauth)


def fault_body(status: int) -> Response:
    """Salesforce's own error list for an injected 429/500/503."""
    code, message = _FAULTS.get(status, ("UNKNOWN_EXCEPTION", _FAULTS[500][1]))
    return error_response(status, code, message)


def control_routes(org: SalesforceOrg, oauth: OAuthServer) -> dict[tuple[str, str], ControlHandler]:
    """Sandbox-only routes (NOT part of Salesforce's API) that steer the org.

    ``POST /_sandbox/salesforce/api-enabled`` ``{"enabled": false}``;
    ``GET|POST /_sandbox/salesforce/api-usage`` ``{"used": N, "limit": M}``;
    ``GET /_sandbox/salesforce/summary`` (record counts);
    ``POST /_sandbox/salesforce/convert-lead`` ``{"leadId": ..., "contactId": null,
    "convertedStatus": "Closed - Converted", "overwriteLeadSource": false}`` converts a Lead the
    way Salesforce's ``convertLead()`` leaves the records (:mod:`conversion`) and answers its
    LeadConvertResult (200, or 400 when ``success`` is false); plus the OAuth server's routes.
    """

    def api_enabled(request: Request) -> Response:
        org.api_enabled = bool(request.get_json(force=True)["enabled"])
        return json_response({"enabled": org.api_enabled})

    def get_usage(_request: Request) -> Response:
        used, limit = org.api_usage
        return json_response({"used": used, "limit": limit})

    def set_usage(request: Request) -> Response:
        data = request.get_json(force=True) or {}
        org.allowance.set(used=data.get("used"), limit=data.get("limit"))
        return get_usage(request)

    def summary(_request: Request) -> Response:
        counts = {}
        for name in org.data_objects:  # User and Organization are settings, not data
            rows = org.snapshot(name, include_deleted=True)
            deleted = sum(1 for r in rows if r["IsDeleted"])
            counts[name] = {"live": len(rows) - deleted, "deleted": deleted}
        return json_response(
            {"org_id": org.org_id, "user_id": org.user_id, "api_enabled": org.api_enabled, "records": counts}
        )

    def convert_lead(request: Request) -> Response:
        data = request.get_json(force=True, silent=True)
        if not isinstance(data, dict) or not isinstance(data.get("leadId"), str):
            return error_response(400, "INVALID_ARGUMENT", "leadId is required")
        contact_id = data.get("contactId")
        [result] = org.convert_leads(
            [
                LeadConvert(
                    data["leadId"],
                    contact_id if isinstance(contact_id, str) and contact_id else None,
                    str(data.get("convertedStatus") or DEFAULT_CONVERTED_STATUS),
                    bool(data.get("overwriteLeadSource")),
                )
            ]
        )
        return json_response(result, 200 if result["success"] else 400)

    return {
        ("POST", "/_sandbox/salesforce/api-enabled"): api_enabled,
        ("POST", "/_sandbox/salesforce/convert-lead"): convert_lead,
        ("GET", "/_sandbox/salesforce/api-usage"): get_usage,
        ("POST", "/_sandbox/salesforce/api-usage"): set_usage,
        ("GET", "/_sandbox/salesforce/summary"): summary,
        **oauth.control_routes(),
    }


def make_service(
    org: SalesforceOrg, oauth: OAuthServer, *, log: RequestLog, faults: FaultInjector | None = None
) -> Service:
    """The org wrapped as a sandbox ``Service`` named ``"salesforce"`` (request log, faults, controls)."""
    return Service(
        "salesforce",
        make_app(org, oauth),
        clock=org.clock,
        log=log,
        faults=faults or FaultInjector(),
        fault_body=fault_body,
        control=control_routes(org, oauth),
    )
