"""The webhook receiver: Brevo's marketing events authenticated, recorded durably, answered at once.

``POST /brevo/webhooks/<integration>`` (the name URL-quoted, see :func:`hook_url`) is what
:func:`toolkit.serve.hooks.sync_webhooks` registers at Brevo. A request is answered, in order:

- ``404`` when no integration has that name (or for any other path; ``405`` for another method);
- ``401`` when ``Authorization: Bearer <token>`` does not match the token kept in the credentials
  as ``("brevo_webhook", <integration>, "token")`` (or none is kept): nothing is read or recorded;
- ``411`` without a ``Content-Length``, ``413`` above :data:`MAX_BODY_BYTES` (the body unread);
- ``400`` when nothing in the body is a well-formed event (no JSON, or every event of a batch
  malformed): nothing is recorded;
- ``200`` otherwise: the well-formed events are recorded in the integration's inbox
  (:meth:`toolkit.store.Store.record_events`, a repeated event is ignored by its key), the answer
  is sent, and then ``on_recorded(integration)`` is called when something new was recorded (the
  targeted run is :func:`toolkit.serve.events.apply_events`, started by the caller: Brevo's
  delivery never waits for it).

An event is a hint, so a forged, repeated, reordered or malformed one can at worst make a run
read contacts that did not change. No log line and no answer repeats the body (personal data)
or a token: answers are a fixed text per status, logs name the integration and the status.

The server runs in its own threads (``http.server.ThreadingHTTPServer``, one thread per
request). A :class:`toolkit.store.Store` belongs to the thread that opened it, so each request
opens the state database and closes it again (WAL mode: runs and the receiver do not block
each other beyond SQLite's busy timeout).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from ..api import WEBHOOK_TOKEN
from ..brevo.events import MalformedEvent, authenticate, parse_batch
from ..credentials import CredentialStore
from ..exceptions import ConfigError
from ..store import Store

__all__ = ["HOOK_PATH", "MAX_BODY_BYTES", "TOKEN_FIELD", "TOKEN_KIND", "Receiver", "hook_url"]

log = logging.getLogger(__name__)

HOOK_PATH = "/brevo/webhooks/"
"""The path under which each integration's endpoint lies (then its URL-quoted name)."""
MAX_BODY_BYTES = 1_000_000
"""The largest body accepted (1 MB); a larger one is answered 413 without being read."""
TOKEN_KIND, TOKEN_FIELD = WEBHOOK_TOKEN
"""The credentials entry of an integration's bearer token: ``(TOKEN_KIND, <name>, TOKEN_FIELD)``."""


def hook_url(public_base: str, integration: str) -> str:
    """The URL Brevo posts an integration's events to: ``{public_base}/brevo/webhooks/{name}``.

    The name is URL-quoted (a space, a slash or a non-ASCII letter stays one path segment).

    Example:
        >>> hook_url("https://sync.example.com/", "EU contacts")
        'https://sync.example.com/brevo/webhooks/EU%20contacts'
    """
    return f"{public_base.rstrip('/')}{HOOK_PATH}{quote(integration, safe='')}"


class Receiver:
    """An HTTP server receiving Brevo's marketing webhooks for the integrations of one state directory.

    Args:
        state_dir: the toolkit's state directory (``state.db`` and ``credentials.json``).
        state: where the state database is when not ``state_dir/state.db`` (``Settings.state_location``:
            a PostgreSQL URL, issue 16).
        host, port: where to listen (port ``0``: any free port; :attr:`url` tells which).
        on_recorded: called with the integration's name after new events were recorded and the
            answer was sent (in the request's thread; an exception there is logged, not raised).

    Example:
        >>> receiver = Receiver(state_dir)  # doctest: +SKIP
        >>> receiver.start(); receiver.url  # doctest: +SKIP
        'http://127.0.0.1:50123'
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        state: Path | str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        on_recorded: Callable[[str], None] | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.state: Path | str = state if state is not None else self.state_dir
        self.host = host
        self.port = port
        self.on_recorded = on_recorded
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL the server listens on (``http://host:port``); the receiver must be started."""
        if self._server is None:
            raise RuntimeError("the receiver is not started")
        address = self._server.server_address
        host = address[0].decode() if isinstance(address[0], bytes) else str(address[0])
        port = address[1]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._server is not None

    def start(self) -> None:
        """Listen and serve in a background thread (a second call does nothing)."""
        if self._server is not None:
            return
        receiver = self

        class Handler(_Handler):
            owner = receiver

        server = ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="brevo-webhook-receiver",
            daemon=True,
        )
        self._thread.start()
        log.info("webhook receiver listening on %s", self.url)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening (requests being answered finish in their threads)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout)

    def __enter__(self) -> Receiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- one request (in its own thread) -----------------------------------------------------
    def _receive(
        self, name: str, headers: dict[str, str], read: Callable[[int], bytes], length: int | None
    ) -> _Answer:
        """Authenticate, read, parse and record one delivery; the answer to send."""
        with Store.open(self.state) as store:
            try:
                integration = store.get_integration(name)
            except ConfigError:
                return _Answer(HTTPStatus.NOT_FOUND, "no such endpoint")
            token = CredentialStore(self.state_dir).find(TOKEN_KIND, name, TOKEN_FIELD)
            if token is None or not authenticate(headers, token):
                log.warning("webhook for %s refused: not authenticated", name)
                return _Answer(HTTPStatus.UNAUTHORIZED, "not authenticated")
            if length is None:
                return _Answer(HTTPStatus.LENGTH_REQUIRED, "a Content-Length is required")
            if length > MAX_BODY_BYTES:
                log.warning("webhook for %s refused: body of %s bytes is too large", name, length)
                return _Answer(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body is limited to {MAX_BODY_BYTES} bytes"
                )
            body = read(length)
            try:
                parsed = parse_batch(body)
            except MalformedEvent:
                parsed = None
            if parsed is None or not parsed.events:
                log.warning("webhook for %s refused: no well-formed event", name)
                return _Answer(HTTPStatus.BAD_REQUEST, "no well-formed event in the body")
            recorded = store.record_events(integration.id, parsed.events)
        log.info(
            "webhook for %s: %s event(s), %s new, %s malformed left out",
            name,
            len(parsed.events),
            recorded,
            parsed.malformed,
        )
        return _Answer(
            HTTPStatus.OK,
            json.dumps({"received": len(parsed.events), "recorded": recorded, "malformed": parsed.malformed}),
            recorded=recorded,
            integration=name,
        )

    def _after(self, answer: _Answer) -> None:
        """What follows a sent answer: the ``on_recorded`` callback when events were recorded."""
        if answer.recorded and answer.integration is not None and self.on_recorded is not None:
            try:
                self.on_recorded(answer.integration)
            except Exception as exc:  # the delivery was answered: only the log can tell
                log.error(
                    "after a webhook for %s: on_recorded failed: %s", answer.integration, type(exc).__name__
                )


@dataclass(frozen=True, slots=True)
class _Answer:
    """An HTTP answer of the receiver: status, a fixed text (never the body), what was recorded."""

    status: HTTPStatus
    text: str
    recorded: int = 0
    integration: str | None = None


class _Handler(BaseHTTPRequestHandler):
    owner: Receiver
    protocol_version = "HTTP/1.1"
    server_version = "toolkit-webhooks"
    sys_version = ""
    timeout = 30  # seconds a client may take to send its request (a slow one holds a thread)

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if not path.startswith(HOOK_PATH) or "/" in path[len(HOOK_PATH) :] or len(path) == len(HOOK_PATH):
            self._send(_Answer(HTTPStatus.NOT_FOUND, "no such endpoint"), body_read=False)
            return
        name = unquote(path[len(HOOK_PATH) :])
        try:
            length = self._length()
        except ValueError:
            self._send(_Answer(HTTPStatus.BAD_REQUEST, "bad Content-Length"), body_read=False)
            return
        # Only the one header authenticate() reads; two Authorization headers authenticate nothing.
        given = self.headers.get_all("Authorization") or []
        headers = {"Authorization": given[0]} if len(given) == 1 else {}
        consumed = 0

        def read(n: int) -> bytes:
            nonlocal consumed
            data = self.rfile.read(n)
            consumed += len(data)
            return data

        try:
            answer = self.owner._receive(name, headers, read, length)
        except Exception as exc:  # the store or the credentials failed: Brevo retries nothing on 5xx
            log.error("webhook for %r failed: %s", name, type(exc).__name__)
            answer = _Answer(HTTPStatus.INTERNAL_SERVER_ERROR, "the event could not be recorded")
        self._send(answer, body_read=length is not None and consumed >= length)
        self.owner._after(answer)

    def do_GET(self) -> None:
        self._send(_Answer(HTTPStatus.METHOD_NOT_ALLOWED, "only POST"), body_read=False)

    do_PUT = do_DELETE = do_PATCH = do_GET

    def _length(self) -> int | None:
        """The announced body length, ``None`` when none is.

        Raises:
            ValueError: the ``Content-Length`` is no number.
        """
        value = self.headers.get("Content-Length")
        if value is None or self.headers.get("Transfer-Encoding"):
            return None
        value = value.strip()
        if not value.isdigit():
            raise ValueError("Content-Length")
        return int(value)

    def _send(self, answer: _Answer, *, body_read: bool) -> None:
        payload = (
            answer.text.encode()
            if answer.status == HTTPStatus.OK
            else json.dumps({"message": answer.text}).encode()
        )
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if not body_read:
            # The body was not read: the connection cannot carry another request.
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the receiver logs its own lines (no path query, no header, no body)."""

    def log_error(self, format: str, *args: Any) -> None:
        log.info("webhook receiver: malformed HTTP request")
