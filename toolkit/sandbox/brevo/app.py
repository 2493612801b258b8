"""The Brevo API v3 as a WSGI app: routing, ``api-key`` auth, rate limit, ``sib-request-id``."""

from __future__ import annotations

import hmac
import itertools
import logging
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.wrappers import Request, Response

from toolkit.sandbox.brevo.account import BrevoAccount
from toolkit.sandbox.brevo.control import control_routes
from toolkit.sandbox.brevo.errors import REQUEST_ID_HEADER, BrevoError, fault_body, new_request_id
from toolkit.sandbox.brevo.ratelimit import RATE_LIMITED_PREFIX
from toolkit.sandbox.brevo.routes.account import ROUTES as ACCOUNT_ROUTES
from toolkit.sandbox.brevo.routes.contacts import ROUTES as CONTACT_ROUTES
from toolkit.sandbox.brevo.routes.lists import ROUTES as LIST_ROUTES
from toolkit.sandbox.brevo.routes.misc import ROUTES as MISC_ROUTES
from toolkit.sandbox.brevo.routes.webhooks import ROUTES as WEBHOOK_ROUTES
from toolkit.sandbox.brevo.webhooks import API_KEY_NAME
from toolkit.sandbox.http import Handler, Route
from toolkit.sandbox.middleware import FaultInjector, RequestLog, Service

log = logging.getLogger(__name__)
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
ROUTES: list[Route] = [*CONTACT_ROUTES, *LIST_ROUTES, *MISC_ROUTES, *ACCOUNT_ROUTES, *WEBHOOK_ROUTES]


def url_map() -> Map:
    """The implemented operations; each rule's endpoint is Brevo's ``operationId``."""
    return Map(
        [Rule(path, methods=[method], endpoint=operation) for operation, method, path, _ in ROUTES],
        strict_slashes=False,
        merge_slashes=False,
    )


class BrevoApp:
    """WSGI app of one account's API (``/v3/...``)."""

    def __init__(self, account: BrevoAccount) -> None:
        self.account = account
        self.url_map = url_map()
        self._handlers: dict[str, Handler] = {operation: handler for operation, _, _, handler in ROUTES}
        self._answers = itertools.count()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        response = self.dispatch(Request(environ))
        response.headers[REQUEST_ID_HEADER] = new_request_id()
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        """Answer one request; every Brevo error becomes its JSON body."""
        headers: dict[str, str] = {}
        try:
            self._authenticate(request)
            if request.path.startswith(RATE_LIMITED_PREFIX):
                decision = self.account.rate_limiter.hit()
                headers = decision.headers
                if not decision.allowed:
                    raise BrevoError(429, "too_many_requests", "The expected rate limit is exceeded.")
            operation, args = self.url_map.bind_to_environ(request.environ).match()
            token = API_KEY_NAME.set(self.account.api_key_name)  # contact webhooks' api_key_name
            try:
                response = self._handlers[operation](self.account, request, **args)
            finally:
                API_KEY_NAME.reset(token)
        except BrevoError as error:
            response = error.response()
        except (NotFound, RequestRedirect):
            response = BrevoError(404, "document_not_found", "Invalid route").response()
        except MethodNotAllowed:
            response = BrevoError(405, "method_not_allowed", "Method not allowed").response()
        except Exception:  # a sandbox bug still answers in Brevo's format, and is logged
            log.exception("brevo sandbox failed on %s %s", request.method, request.path)
            response = fault_body(500)
        if headers and (
            response.status_code == 429
            or not self.account.variants.chance("brevo.ratelimit-headers", next(self._answers), 0.2)
        ):
            # The x-sib-ratelimit-* headers are documented on Brevo's "limit headers" page but are
            # not in the definition: a share of successful answers comes without them.
            response.headers.update(headers)
        return response

    def _authenticate(self, request: Request) -> None:
        key = request.headers.get("api-key")
        if key is None:
            raise BrevoError(401, "unauthorized", "authentication not found in headers")
        if not hmac.compare_digest(key.encode(), self.account.api_key.encode()):
            raise BrevoError(401, "unauthorized", "Key not found")


def make_app(account: BrevoAccount, *, rate_limit_per_second: float | None = 10.0) -> BrevoApp:
    """The account's API; contacts endpoints allow ``rate_limit_per_second`` (0/None: unlimited)."""
    account.rate_limiter.configure(rate_limit_per_second)
    return BrevoApp(account)


def make_service(
    account: BrevoAccount,
    *,
    log: RequestLog,
    faults: FaultInjector | None = None,
    rate_limit_per_second: float | None = 10.0,
) -> Service:
    """The account's API wrapped as the ``"brevo"`` sandbox service (log, faults, control routes)."""
    return Service(
        "brevo",
        make_app(account, rate_limit_per_second=rate_limit_per_second),
        clock=account.clock,
        log=log,
        faults=faults or FaultInjector(),
        fault_body=fault_body,
        control=control_routes(account),
    )
