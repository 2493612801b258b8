"""Sandbox-only routes under ``/_sandbox/brevo/`` (NOT part of Brevo's API).

- ``GET /_sandbox/brevo/emails``: messages accepted by ``POST /v3/smtp/email``; ``DELETE`` clears them.
- ``GET|PUT /_sandbox/brevo/rate-limit``: ``{"per_second": n}`` for the contacts endpoints (0: unlimited).
- ``GET|PUT /_sandbox/brevo/imports``: ``{"paused": bool}`` holds queued imports (to observe ``queued``).
- ``GET /_sandbox/brevo/import-report?processId=N&kind=K``: CSV of the rows an import skipped
  (the URLs that ``GET /v3/processes/{id}`` lists under ``info.import``).
- ``GET /_sandbox/brevo/webhook-deliveries``: every webhook delivery attempt (webhookId, url,
  event, attempt, status, error, outcome, at), never the auth token or headers.
- ``GET|PUT /_sandbox/brevo/webhook-retry``: ``{"scale": x}`` multiplies Brevo's retry delays
  (10 min, 1 h, 2 h, 8 h); a test sets it small.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from toolkit.sandbox.brevo.processes import REPORT_PATH
from toolkit.sandbox.http import json_response

if TYPE_CHECKING:
    from toolkit.sandbox.brevo.account import BrevoAccount

ControlHandler = Callable[[Request], Response]


def control_routes(account: BrevoAccount) -> dict[tuple[str, str], ControlHandler]:
    """The sandbox control routes of one Brevo account, for ``Service(control=...)``."""

    def get_emails(_request: Request) -> Response:
        emails = account.sent_emails()
        return json_response({"count": len(emails), "emails": emails})

    def clear_emails(_request: Request) -> Response:
        with account.lock:
            account.emails.clear()
        return json_response(None, 204)

    def get_rate(_request: Request) -> Response:
        return json_response({"per_second": account.rate_limiter.per_second})

    def put_rate(request: Request) -> Response:
        account.rate_limiter.configure((request.get_json(force=True) or {}).get("per_second"))
        return get_rate(request)

    def get_imports(_request: Request) -> Response:
        return json_response({"paused": account.processes.paused})

    def put_imports(request: Request) -> Response:
        paused = (request.get_json(force=True) or {})["paused"]
        if not isinstance(paused, bool):
            raise ValueError("paused must be a boolean")
        (account.processes.pause if paused else account.processes.resume)()
        return get_imports(request)

    def import_report(request: Request) -> Response:
        process = account.processes.get(int(request.args["processId"]))
        if process is None:
            return json_response({"error": "no such process"}, 404)
        with account.lock:
            rows = list(process.report.get(request.args["kind"], []))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=["line", "email", "ext_id", "SMS", "reason"], delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
        return Response(out.getvalue(), mimetype="text/csv")

    def webhook_deliveries(_request: Request) -> Response:
        attempts = account.webhooks.attempts()
        return json_response({"count": len(attempts), "deliveries": attempts})

    def get_webhook_retry(_request: Request) -> Response:
        return json_response({"scale": account.webhooks.retry_scale})

    def put_webhook_retry(request: Request) -> Response:
        scale = (request.get_json(force=True) or {})["scale"]
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale < 0:
            raise ValueError("scale must be a number >= 0")
        account.webhooks.retry_scale = float(scale)
        return get_webhook_retry(request)

    return {
        ("GET", "/_sandbox/brevo/emails"): get_emails,
        ("DELETE", "/_sandbox/brevo/emails"): clear_emails,
        ("GET", "/_sandbox/brevo/rate-limit"): get_rate,
        ("PUT", "/_sandbox/brevo/rate-limit"): put_rate,
        ("GET", "/_sandbox/brevo/imports"): get_imports,
        ("PUT", "/_sandbox/brevo/imports"): put_imports,
        ("GET", "/" + REPORT_PATH): import_report,
        ("GET", "/_sandbox/brevo/webhook-deliveries"): webhook_deliveries,
        ("GET", "/_sandbox/brevo/webhook-retry"): get_webhook_retry,
        ("PUT", "/_sandbox/brevo/webhook-retry"): put_webhook_retry,
    }
