"""The incremental I/O floor: the incremental run's minimum requests, same content, no logic, timed.

The toolkit's measured incremental run is recorded by the sandbox host (:class:`bench.host.Capture`,
bodies included); :func:`bench.case_incremental.floor_plan` keeps from it the kinds of requests
:func:`~bench.case_incremental.incremental_minimum` counts, as many as the run made, in its
order, and this child replays them right after that run, one after the other, nothing between:

- ``GET /contacts?modifiedSince=...`` pages: the toolkit's own query strings (same ``since``,
  ``limit`` 1,000, same offsets);
- the Salesforce read of the changes: the toolkit's ``queryAll`` (same SOQL, same endpoint),
  then ``nextRecordsUrl`` followed for as many pages as the toolkit read (found in the head
  of each answer: the records are not parsed);
- each ``POST /contacts/import`` with the toolkit's body, its process polled every 0.05 s until
  completed (as the initial floor does);
- each ``PATCH composite/sobjects`` with the toolkit's body (the same values written again).

Not in the floor, by design (the toolkit's figure includes them, as its cost above the floor):
the toolkit's OAuth sign-in (the floor signs in before its clock starts, as the initial floor
does; ``sign_in_seconds`` says what that takes), its calls outside the minimum (the B6 deletion
check ``SELECT Id ... IsDeleted = true``, the presence check's reads of the list, ``GET
/contacts/attributes``, its own process polls), and everything it does between calls (store,
planning, rules). The toolkit's figure is ``run_seconds`` (``Toolkit.run`` called to returned,
see :mod:`bench.syncrun`); the floor's is its first request to its last answer.

Where the replay differs from the run it copies: it comes after the toolkit's writes, so the
Salesforce read also returns the records the toolkit's PATCHes just touched (their
``SystemModstamp`` moved) and Brevo's pages the contacts its import just wrote: a few more rows
(at most as many as the toolkit wrote), but no more calls, as the floor stops at the toolkit's
number of pages. The writes set the values they already hold, which the sandbox applies as it
applies new ones. Requests are replayed one at a time, in the order the toolkit made them.

Input: one JSON object on stdin (``salesforce``/``brevo`` connection info, ``plan``: the path of
the plan's JSON). Output: one JSON line with ``seconds``, ``phases``, the calls made and the
floor's own CPU seconds while timed.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from .driver import cpu_seconds
from .floor import POLL_SECONDS, Client

_NEXT_URL = re.compile(rb'"nextRecordsUrl"\s*:\s*"([^"]+)"')
_TOTAL = re.compile(rb'"totalSize"\s*:\s*(\d+)')
HEAD = 512  # bytes of a query page searched for nextRecordsUrl (Salesforce puts it before the records)


def _next_url(answer: requests.Response) -> str | None:
    match = _NEXT_URL.search(answer.content[:HEAD])
    return match.group(1).decode() if match else None


def replay(client: Client, plan: list[dict[str, Any]]) -> dict[str, Any]:
    """Make the plan's requests in order; seconds per phase and what was read."""
    phases = {"brevo_reads": 0.0, "salesforce_reads": 0.0, "import_posts": 0.0, "import_waits": 0.0}
    phases["salesforce_writes"] = 0.0
    brevo_root = urlsplit(client.brevo_url).path  # "/v3"
    read = {"query_pages": 0, "query_total_size": 0, "brevo_pages": 0, "bytes": 0}
    for item in plan:
        began = time.perf_counter()
        body = base64.b64decode(item["body"]) if item.get("body") else None
        if item["kind"] == "brevo_read":
            answer = client.brevo("GET", f"{item['path'].removeprefix(brevo_root)}?{item['query']}")
            read["brevo_pages"] += 1
            read["bytes"] += len(answer.content)
            phases["brevo_reads"] += time.perf_counter() - began
        elif item["kind"] == "salesforce_read":
            url: str | None = f"{item['path']}?{item['query']}"
            for _ in range(int(item["pages"])):
                if url is None:
                    break
                answer = client.salesforce("GET", url)
                if read["query_pages"] == 0 and (total := _TOTAL.search(answer.content[:HEAD])):
                    read["query_total_size"] += int(total.group(1))
                read["query_pages"] += 1
                read["bytes"] += len(answer.content)
                url = _next_url(answer)
            phases["salesforce_reads"] += time.perf_counter() - began
        elif item["kind"] == "import":
            client.import_and_wait(body or b"", phases, headers=item["headers"])
        elif item["kind"] == "salesforce_write":
            client.salesforce(item["method"], item["path"], data=body, headers=item["headers"])
            phases["salesforce_writes"] += time.perf_counter() - began
        else:
            raise ValueError(f"unknown plan item {item['kind']!r}")
    return {"phases": phases, "read": read}


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Sign in, load the plan, then time its replay (see the module's docstring)."""
    client = Client(spec, float(spec.get("poll_seconds", POLL_SECONDS)))
    plan = json.loads(Path(spec["plan"]).read_text(encoding="utf-8"))
    cpu = cpu_seconds()
    started = time.perf_counter()
    done = replay(client, plan)
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    client.close()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "sign_in_seconds": client.sign_in_seconds,
        "calls": client.calls,
        **done,
    }


def main() -> int:
    spec = json.loads(sys.stdin.read())
    print(json.dumps(run(spec)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
