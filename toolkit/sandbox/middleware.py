"""What wraps each sandbox service: the request log, fault injection and the control routes.

Control routes live under ``/_sandbox/`` on each server. They are the sandbox's own and are
NOT part of Salesforce's or Brevo's API; they are neither logged, counted nor faulted.
"""

from __future__ import annotations

import random
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from toolkit.sandbox.clock import Clock
from toolkit.sandbox.http import json_response

FAULT_KINDS = ("429", "500", "503", "reset", "delay")

# Query parameters whose values the request log never keeps (a careless client may send them).
_SECRET_PARAMS = re.compile(
    r"(?i)(^|&)(password|client_secret|code|code_verifier|refresh_token|assertion|access_token|token|api-key|api_key)"
    r"=[^&]*"
)

ControlHandler = Callable[[Request], Response]
FaultBody = Callable[[int], Response]


@dataclass(frozen=True)
class LoggedRequest:
    """One request a sandbox service answered (control routes excluded)."""

    service: str
    method: str
    path: str
    query: str
    status: int
    at: float
    fault: str | None = None


class RequestLog:
    """Append-only, thread-safe log of requests; tests and benchmarks count API calls with it."""

    def __init__(self) -> None:
        self._items: list[LoggedRequest] = []
        self._lock = threading.Lock()

    def append(self, item: LoggedRequest) -> None:
        with self._lock:
            self._items.append(item)

    def entries(self, service: str | None = None) -> list[LoggedRequest]:
        """All entries, or those of one service (``"salesforce"`` or ``"brevo"``)."""
        with self._lock:
            items = list(self._items)
        return [i for i in items if service is None or i.service == service]

    def count(self, service: str | None = None, method: str | None = None, path_prefix: str = "") -> int:
        """How many requests match the service, method and path prefix."""
        return sum(
            1
            for i in self.entries(service)
            if (method is None or i.method == method) and i.path.startswith(path_prefix)
        )

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


@dataclass
class FaultPlan:
    """Which share of requests gets which fault.

    Attributes:
        rates: kind -> share of requests (0..1); kinds are ``429``, ``500``, ``503``,
            ``reset`` (the TCP connection is reset before any answer) and ``delay``.
        delay_seconds: how long a ``delay`` fault holds the request before answering it normally.
        path_prefix: only requests whose path starts with this are faulted.
        script: faults for the next requests, in order (``None`` entries pass), taken before
            ``rates`` are drawn; deterministic tests use it.
        seed: seed of the random draw, so that a faulted run can be replayed.
    """

    rates: dict[str, float] = field(default_factory=dict)
    delay_seconds: float = 1.0
    path_prefix: str = ""
    script: list[str | None] = field(default_factory=list)
    seed: int | None = None

    def __post_init__(self) -> None:
        for kind in [*self.rates, *(k for k in self.script if k)]:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if sum(self.rates.values()) > 1:
            raise ValueError("fault rates add up to more than 1")

    @classmethod
    def parse(cls, spec: str, **kwargs: Any) -> FaultPlan:
        """Parse ``"429=0.05,503=0.02,reset=0.01"`` as given on the command line."""
        rates: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            kind, _, share = part.partition("=")
            rates[kind.strip()] = float(share)
        return cls(rates=rates, **kwargs)


class FaultInjector:
    """Draws faults for requests according to the current plan (replaceable at run time)."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self.injected: dict[str, int] = {}
        self.set_plan(plan or FaultPlan())

    def set_plan(self, plan: FaultPlan) -> None:
        with self._lock:
            self.plan = plan
            self._script = list(plan.script)
            self._random = random.Random(plan.seed)

    def draw(self, path: str) -> str | None:
        """The fault for a request to ``path``, or ``None``."""
        with self._lock:
            if not path.startswith(self.plan.path_prefix):
                return None
            if self._script:
                kind = self._script.pop(0)
            else:
                x, kind = self._random.random(), None
                for k, share in self.plan.rates.items():
                    if x < share:
                        kind = k
                        break
                    x -= share
            if kind:
                self.injected[kind] = self.injected.get(kind, 0) + 1
            return kind


def redact_query(query: str) -> str:
    """The query string with the values of secret-looking parameters replaced by ``***``."""
    return _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}{m.group(2)}=***", query)


def reset_connection(environ: dict[str, Any]) -> None:
    """Abort the client's TCP connection with no answer, ending in a RST as a crashed proxy would.

    The socket is shut down but left to the server to close (closing it here could let a new
    connection reuse the descriptor while the old TLS state still points at it); ``SO_LINGER`` 0
    makes that close a reset.
    """
    # Read the request's body first: left on the connection, the server's keep-alive loop would
    # parse it as the next request line and log it, a token request's client secret included.
    length = environ.get("CONTENT_LENGTH") or ""
    if length.isdigit():
        environ["wsgi.input"].read(int(length))
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's: TLS state untouched
        except OSError:
            pass
    raise ConnectionResetError("sandbox fault: connection reset")


class Service:
    """A sandbox service: the API app behind the request log, faults and control routes."""

    def __init__(
        self,
        name: str,
        app: Callable[..., Iterable[bytes]],
        *,
        clock: Clock,
        log: RequestLog,
        faults: FaultInjector,
        fault_body: FaultBody,
        control: dict[tuple[str, str], ControlHandler] | None = None,
    ) -> None:
        self.name = name
        self.app = app
        self.clock = clock
        self.log = log
        self.faults = faults
        self.fault_body = fault_body
        self.control: dict[tuple[str, str], ControlHandler] = {**self._common_control(), **(control or {})}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_sandbox/"):
            return self._control(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET")
        query = redact_query(environ.get("QUERY_STRING", ""))
        fault = self.faults.draw(path)
        if fault == "reset":
            self.log.append(LoggedRequest(self.name, method, path, query, 0, time.time(), fault))
            reset_connection(environ)
        if fault == "delay":
            time.sleep(self.faults.plan.delay_seconds)
        if fault in ("429", "500", "503"):
            response = self.fault_body(int(fault))
            self.log.append(
                LoggedRequest(self.name, method, path, query, response.status_code, time.time(), fault)
            )
            return response(environ, start_response)
        status_box: list[int] = [0]

        def recording_start_response(status: str, headers: list[Any], exc_info: Any = None) -> Any:
            status_box[0] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        body = self.app(environ, recording_start_response)
        self.log.append(LoggedRequest(self.name, method, path, query, status_box[0], time.time(), fault))
        return body

    def _control(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        handler = self.control.get((request.method, request.path))
        if handler is None:
            response = json_response(
                {
                    "error": "no such sandbox control route",
                    "routes": sorted(f"{m} {p}" for m, p in self.control),
                },
                404,
            )
        else:
            try:
                response = handler(request)
            except (ValueError, KeyError, TypeError) as exc:
                response = json_response({"error": str(exc)}, 400)
        return response(environ, start_response)

    def _common_control(self) -> dict[tuple[str, str], ControlHandler]:
        def requests_(request: Request) -> Response:
            since = int(request.args.get("since", 0))
            items = self.log.entries(None if request.args.get("all") else self.name)
            return json_response({"total": len(items), "requests": [asdict(i) for i in items[since:]]})

        def clear_requests(_request: Request) -> Response:
            self.log.clear()
            return json_response(None, 204)

        def get_faults(_request: Request) -> Response:
            return json_response({"plan": asdict(self.faults.plan), "injected": self.faults.injected})

        def put_faults(request: Request) -> Response:
            self.faults.set_plan(FaultPlan(**(request.get_json(force=True) or {})))
            return get_faults(request)

        def get_clock(_request: Request) -> Response:
            return json_response(
                {"now": self.clock.now().isoformat(), "offset_seconds": self.clock.offset.total_seconds()}
            )

        def advance_clock(request: Request) -> Response:
            self.clock.advance(timedelta(seconds=float(request.get_json(force=True)["advance_seconds"])))
            return get_clock(request)

        return {
            ("GET", "/_sandbox/requests"): requests_,
            ("DELETE", "/_sandbox/requests"): clear_requests,
            ("GET", "/_sandbox/faults"): get_faults,
            ("PUT", "/_sandbox/faults"): put_faults,
            ("GET", "/_sandbox/clock"): get_clock,
            ("POST", "/_sandbox/clock"): advance_clock,
        }
