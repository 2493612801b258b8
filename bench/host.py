"""The sandbox in a process of its own, driven through one JSON line per command on stdin.

The benchmarks run the sandbox apart from the clients they time, so that client and server
each have a core (and a GIL) of their own, as they would against the real services. The first
line on stdout is the sandbox's connection JSON (as ``toolkit sandbox start`` prints it); then
every command line gets one answer line. Commands act on the sandbox's state directly, so they
are neither logged nor counted as API calls:

- ``{"op": "reset_brevo"}``: wait for running imports, then remove every Brevo contact made
  since seeding (each case starts from the same empty list).
- ``{"op": "create_list", "name": ...}``: a Brevo list for a client without setup calls.
- ``{"op": "floor_bodies", ...}``: write the import bodies the toolkit sends (see :func:`_floor_bodies`).
- ``{"op": "mutate", "share": 0.01, "seed": 1, "list_id": 3}``: change a share of the records on
  each side (see :func:`_mutate`).
- ``{"op": "newest_modified", "list_id": 3}``: the latest ``modifiedAt`` of the list's contacts.
- ``{"op": "capture"}``, then ``{"op": "captured", "path": ...}``: keep the API requests
  answered meanwhile, bodies included, and write them to a file (see :class:`Capture`).
- ``{"op": "cpu"}``: this process's CPU seconds so far (user + system), to tell what the sandbox
  takes of the cores while a client is timed.
- ``{"op": "rate_limit", "per_second": 0}``, ``{"op": "log_mark"}``, ``{"op": "log", "since": n}``,
  ``{"op": "rss"}``, ``{"op": "stop"}``.

Run as ``python -m bench.host --contacts N --seed S``.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import random
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from toolkit.sandbox import Sandbox, SandboxConfig
from toolkit.sandbox.brevo.contacts import ContactPatch
from toolkit.sandbox.middleware import redact_query

from .driver import cpu_seconds

BULK_PAGE = 50_000
LAST_PAGE = 999_999  # page index of bodies cut over the whole load: imported after every page


def _reset_brevo(sandbox: Sandbox, seeded: set[int]) -> dict[str, Any]:
    account = sandbox.brevo
    account.wait_for_imports(timeout=600)
    with account.lock:
        store = account.contact_store
        extra = [c for c in store.all() if c.id not in seeded]
        for contact in extra:
            store.delete(contact)
    return {"removed": len(extra)}


def _floor_bodies(
    sandbox: Sandbox,
    *,
    mapping: dict[str, Any],
    sobject: str,
    list_id: int,
    path: str,
    page: int = BULK_PAGE,
    max_bytes: int = 8_000_000,
    per_page: bool = True,
) -> dict[str, Any]:
    """Write the ``POST /contacts/import`` bodies of an initial load to ``path``.

    The rows are the toolkit's own (``rules.to_brevo`` over the records in Bulk API order, with
    B8's blacklist flags as a new integration has them), cut per Bulk results page when
    ``per_page`` (as the engine imports a page at a time), otherwise over the whole load
    (imported after the last page). Opted-out records' rows go into imports of their own that
    set the flag (``emailBlacklist``), as the toolkit sends them. Each body is written as its
    page's index (6 digits), its length (10 digits) and its bytes.
    """
    from toolkit import rules
    from toolkit.brevo.imports import import_bodies
    from toolkit.mapping.types import BLACKLIST_FLAGS, Mapping

    parsed = Mapping.from_json(mapping).with_unsubscribes()
    records = sandbox.salesforce.records(sobject)
    chunks = [records[i : i + page] for i in range(0, len(records), page)] if per_page else [records]
    count = size = rows_total = 0
    with Path(path).open("wb") as fh:
        for index, chunk in enumerate(chunks):
            rows, _ = rules.to_brevo(chunk, parsed, object=sobject)
            rows_total += len(rows)
            groups: dict[frozenset[str], list[Any]] = {}
            for row in rows:
                flags = frozenset(k for k in BLACKLIST_FLAGS if row.get(k) is True)
                groups.setdefault(flags, []).append(row)
            for flags, group in sorted(groups.items(), key=lambda item: (not item[0], sorted(item[0]))):
                for body in import_bodies(group, list_ids=[list_id], max_bytes=max_bytes, blacklist=flags):
                    fh.write(f"{index if per_page else LAST_PAGE:06d}{len(body):010d}".encode() + body)
                    count += 1
                    size += len(body)
    return {"imports": count, "bytes": size, "rows": rows_total, "records": len(records)}


def _mutate(
    sandbox: Sandbox, *, share: float, seed: int, list_id: int, sobject: str = "Contact"
) -> dict[str, Any]:
    """Change ``share`` of the linked records in Salesforce and another ``share`` in Brevo.

    Salesforce: the first name of randomly chosen records gets a suffix (their SystemModstamp
    moves). Brevo: the LASTNAME of other randomly chosen contacts of the list changes (their
    ``modifiedAt`` moves). The two sets do not overlap, so there is no conflict.
    """
    rng = random.Random(seed)
    org, account = sandbox.salesforce, sandbox.brevo
    with account.lock:
        members = [c for c in account.contact_store.members(list_id) if c.ext_id]
    count = max(1, round(len(members) * share))
    chosen = rng.sample(members, min(len(members), 2 * count))
    sf_side, brevo_side = chosen[:count], chosen[count:]
    by_id = {r["Id"]: r for r in org.records(sobject)}
    updates = [
        {"Id": c.ext_id, "FirstName": f"{(by_id[c.ext_id].get('FirstName') or 'A')[:30]} Bench"}
        for c in sf_side
        if c.ext_id in by_id
    ]
    for start in range(0, len(updates), 10_000):
        org.update_many(sobject, updates[start : start + 10_000])
    with account.lock:
        for contact in brevo_side:
            last = str(contact.attributes.get("LASTNAME") or "B")
            account.contact_store.apply(contact, ContactPatch(attributes={"LASTNAME": f"{last[:60]} Bench"}))
    return {"salesforce_changed": len(updates), "brevo_changed": len(brevo_side)}


def _log(sandbox: Sandbox, since: int) -> dict[str, Any]:
    entries = sandbox.log.entries()
    return {
        "total": len(entries),
        "requests": [
            {
                "service": e.service,
                "method": e.method,
                "path": e.path,
                "status": e.status,
                "fault": e.fault,
                "at": e.at,
            }
            for e in entries[since:]
        ],
    }


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# Request headers a replay needs to send the same request (never the credentials).
CAPTURED_HEADERS = ("Content-Type", "Content-Encoding", "Sforce-Query-Options")


class Capture:
    """While on, keeps each API request the sandbox gets: service, method, path, query, body.

    It wraps both servers' WSGI apps (in front of the request log), so it sees requests in the
    order they arrive. OAuth and control routes are left out, and so are credentials: only the
    :data:`CAPTURED_HEADERS` are kept, and the query string is redacted as the request log's is.
    The incremental floor (:mod:`bench.floor_incremental`) replays what it kept.
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self._items: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.on = False
        for thread in sandbox._servers:  # the sandbox offers no hook of its own; a ServerThread's
            server = thread.server  # werkzeug server looks its ``app`` up at each request
            server.app = self._wrap(server.app.name, server.app)  # type: ignore[attr-defined]

    def _wrap(self, service: str, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        def recording(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "")
            if self.on and not path.startswith(("/_sandbox/", "/services/oauth2/")):
                self._keep(service, path, environ)
            return app(environ, start_response)

        return recording

    def _keep(self, service: str, path: str, environ: dict[str, Any]) -> None:
        length = environ.get("CONTENT_LENGTH") or ""
        body = environ["wsgi.input"].read(int(length)) if length.isdigit() else b""
        environ["wsgi.input"] = io.BytesIO(body)  # read again by the app
        headers = {h: environ[key] for h in CAPTURED_HEADERS if (key := _environ_key(h)) in environ}
        item = {
            "service": service,
            "method": environ.get("REQUEST_METHOD", "GET"),
            "path": path,
            "query": redact_query(environ.get("QUERY_STRING", "")),
            "headers": headers,
            "body": base64.b64encode(body).decode("ascii") if body else None,
        }
        with self._lock:
            self._items.append(item)

    def start(self) -> dict[str, Any]:
        with self._lock:
            self._items.clear()
        self.on = True
        return {}

    def write(self, path: str) -> dict[str, Any]:
        """Stop capturing; write the requests kept (a JSON list) to ``path``."""
        self.on = False
        with self._lock:
            items, self._items = self._items, []
        Path(path).write_text(json.dumps(items), encoding="utf-8")
        return {"requests": len(items), "bodies": sum(1 for i in items if i["body"])}


def _environ_key(header: str) -> str:
    name = header.upper().replace("-", "_")
    return name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"


def serve(sandbox: Sandbox, lines: Any, out: Any) -> None:
    """Answer commands from ``lines`` (an iterable of text lines) on ``out`` until ``stop``."""
    seeded = {c.id for c in sandbox.brevo.contact_store.all()}
    capture = Capture(sandbox)
    for line in lines:
        if not line.strip():
            continue
        command = json.loads(line)
        op = command.pop("op")
        try:
            if op == "stop":
                out.write(json.dumps({"ok": True, "rss_mb": _rss_mb()}) + "\n")
                out.flush()
                return
            if op == "reset_brevo":
                answer = _reset_brevo(sandbox, seeded)
            elif op == "create_list":
                answer = {
                    "list_id": sandbox.brevo.create_list(
                        command["name"], min(sandbox.brevo.list_store.folders)
                    )
                }
            elif op == "floor_bodies":
                answer = _floor_bodies(sandbox, **command)
            elif op == "mutate":
                answer = _mutate(sandbox, **command)
            elif op == "newest_modified":
                with sandbox.brevo.lock:
                    newest = max(
                        c.modified_at for c in sandbox.brevo.contact_store.members(command["list_id"])
                    )
                answer = {"modified_at": newest.isoformat(timespec="milliseconds")}
            elif op == "rate_limit":
                sandbox.brevo.rate_limiter.configure(command["per_second"])
                answer = {"per_second": sandbox.brevo.rate_limiter.per_second}
            elif op == "log_mark":
                answer = {"mark": len(sandbox.log.entries())}
            elif op == "log":
                answer = _log(sandbox, int(command.get("since", 0)))
            elif op == "rss":
                answer = {"rss_mb": _rss_mb()}
            elif op == "cpu":
                answer = {"cpu_seconds": cpu_seconds()}
            elif op == "capture":
                answer = capture.start()
            elif op == "captured":
                answer = capture.write(command["path"])
            else:
                raise ValueError(f"unknown command {op!r}")
            answer["ok"] = True
        except Exception as exc:  # answered, so the driver can say what went wrong
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.host", description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rule-share", type=float, default=0.0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sandbox = Sandbox(
        SandboxConfig(contacts=args.contacts, seed=args.seed, rule_share=args.rule_share, brevo_rate_limit=0)
    )
    seeded = time.perf_counter() - started
    info = sandbox.start()
    info["bench"] = {"seed_seconds": seeded, "rss_mb": _rss_mb()}
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    try:
        serve(sandbox, sys.stdin, sys.stdout)
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
