"""Directory resources: ``GET vNN.N/`` (the resources of a version), ``vNN.N/composite`` and ``vNN.N/jobs``.

Salesforce lists some forty resources under ``/services/data/vNN.N/`` ("Resources by Version",
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_discoveryresource.htm).
The sandbox lists only those it serves, so that a client following any listed path gets an
answer rather than 404: a name maps to a path under the version, ``identity`` to the identity
URL of the session's user (as Salesforce does). ``composite`` and ``jobs`` are directories of
their own, listing the sandbox's sub-resources (``composite/sobjects``, ``jobs/query``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from toolkit.sandbox.http import json_response

if TYPE_CHECKING:
    from toolkit.sandbox.salesforce.rest import Ctx

# name -> path under /services/data/vNN.N/ (each one routed in rest.py).
RESOURCES = {
    "composite": "composite",
    "jobs": "jobs",
    "limits": "limits",
    "query": "query",
    "queryAll": "queryAll",
    "sobjects": "sobjects",
}
COMPOSITE_RESOURCES = {"sobjects": "composite/sobjects"}
JOBS_RESOURCES = {"query": "jobs/query"}


def _paths(ctx: Ctx, names: dict[str, str]) -> dict[str, str]:
    base = f"/services/data/v{ctx.version}"
    return {name: f"{base}/{path}" for name, path in names.items()}


def resources(ctx: Ctx) -> Response:
    """``GET /services/data/vNN.N/``: the resources of this version the sandbox serves."""
    body = _paths(ctx, RESOURCES)
    body["identity"] = ctx.api.oauth.identity_url(ctx.request)
    return json_response(dict(sorted(body.items())))


def composite(ctx: Ctx) -> Response:
    """``GET composite``: the composite resources the sandbox serves (sObject Collections)."""
    return json_response(_paths(ctx, COMPOSITE_RESOURCES))


def jobs(ctx: Ctx) -> Response:
    """``GET jobs``: the Bulk API 2.0 job resources the sandbox serves (query jobs; no ingest)."""
    return json_response(_paths(ctx, JOBS_RESOURCES))
