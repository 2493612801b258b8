"""HTTP plumbing shared by both sandbox services: JSON responses and a threaded HTTPS server."""

from __future__ import annotations

import json
import logging
import ssl
import threading
from collections.abc import Callable
from typing import Any, TypeAlias

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Response

# The development server logs every request at INFO; the sandbox keeps its own request log.
logging.getLogger("werkzeug").setLevel(logging.WARNING)

Handler: TypeAlias = Callable[..., Response]
"""An API operation's function: the request (and the service's state) and the URL's values in, the response out."""

Route: TypeAlias = tuple[str, str, str, Handler]
"""One route of a service: ``(operation, method, path, handler)``."""


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response; ``body=None`` gives an empty body (for 204)."""
    data = b"" if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    resp = Response(data, status=status, headers=headers)
    if body is not None:
        resp.mimetype = "application/json"
    return resp


class ServerThread:
    """Serve a WSGI app on 127.0.0.1 in a daemon thread, keep-alive (HTTP/1.1) and threaded."""

    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        # threaded=True: a ThreadedWSGIServer, whose request threads are daemon threads
        self.server: BaseWSGIServer = make_server(host, port, app, threaded=True, ssl_context=ssl_context)
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"sandbox-{self.port}",
            daemon=True,
        )

    @property
    def port(self) -> int:
        """The port actually bound (useful with ``port=0``)."""
        return int(self.server.socket.getsockname()[1])

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting requests and close the listening socket."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
