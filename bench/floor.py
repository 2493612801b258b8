"""The I/O floor: the initial load's requests and bytes with no logic at all, timed.

It makes the requests the toolkit's initial sync makes, in the same order, and nothing else:
create the Bulk API 2.0 query job (same SOQL), poll it once it is complete (the sandbox
completes a job one second after its creation), then for each results page: fetch it (the CSV
is not even parsed), post that page's import bodies (built beforehand by the host from the
toolkit's own rows, so they are the same bytes) and poll each import's process until it
completed. Import polls come every ``poll_seconds`` (0.05 s): the floor waits as little as
the sandbox allows, as a client that knew when to poll once would. Signing in and reading the
bodies happen before the clock starts.

Input: one JSON object on stdin (``salesforce``/``brevo`` connection info, ``soql``,
``bodies``, ``page``). Output: one JSON line with ``seconds`` and the calls made.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import requests

from toolkit.sandbox.salesforce.bulk import COMPLETE_AFTER_SECONDS

# The sandbox completes a Bulk job polled this long after its creation; polling sooner would
# trip its complete-on-the-second-poll shortcut, which no real Bulk job offers.
JOB_SECONDS = COMPLETE_AFTER_SECONDS


def read_bodies(path: Path) -> list[tuple[int, bytes]]:
    """The ``(page index, body)`` pairs :func:`bench.host._floor_bodies` wrote."""
    data = path.read_bytes()
    found: list[tuple[int, bytes]] = []
    at = 0
    while at < len(data):
        page, size = int(data[at : at + 6]), int(data[at + 6 : at + 16])
        found.append((page, data[at + 16 : at + 16 + size]))
        at += 16 + size
    return found


def _session(ca_bundle: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_bundle
    return session


def run(spec: dict[str, Any]) -> dict[str, Any]:
    sf, brevo = spec["salesforce"], spec["brevo"]
    session = _session(sf["ca_bundle"])
    token = session.post(
        f"{sf['login_url']}/services/oauth2/token",
        timeout=60,
        data={
            "grant_type": "client_credentials",
            "client_id": sf["client_id"],
            "client_secret": sf["client_secret"],
        },
    )
    token.raise_for_status()
    auth = token.json()
    base = f"{auth['instance_url']}/services/data/v{sf['api_version']}/jobs/query"
    sf_headers = {"Authorization": f"Bearer {auth['access_token']}"}
    brevo_headers = {"api-key": brevo["api_key"], "content-type": "application/json"}
    bodies = read_bodies(Path(spec["bodies"]))
    poll = float(spec.get("poll_seconds", 0.05))
    calls = {"salesforce": 0, "brevo": 0}

    def sf_call(method: str, url: str, **kwargs: Any) -> requests.Response:
        calls["salesforce"] += 1
        answer = session.request(method, url, headers=sf_headers, timeout=600, **kwargs)
        answer.raise_for_status()
        return answer

    def brevo_call(method: str, path: str, **kwargs: Any) -> requests.Response:
        calls["brevo"] += 1
        answer = session.request(
            method, f"{brevo['base_url']}{path}", headers=brevo_headers, timeout=600, **kwargs
        )
        answer.raise_for_status()
        return answer

    phases = {"job": 0.0, "pages": 0.0, "import_posts": 0.0, "import_waits": 0.0}

    def import_page(chosen: list[bytes]) -> None:
        for body in chosen:
            began = time.perf_counter()
            process_id = brevo_call("POST", "/contacts/import", data=body).json()["processId"]
            posted = time.perf_counter()
            phases["import_posts"] += posted - began
            while brevo_call("GET", f"/processes/{process_id}").json()["status"] != "completed":
                time.sleep(poll)
            phases["import_waits"] += time.perf_counter() - posted

    started = time.perf_counter()
    job = sf_call(
        "POST",
        base,
        json={
            "operation": "query",
            "query": spec["soql"],
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        },
    ).json()
    time.sleep(float(spec.get("job_seconds", JOB_SECONDS)))
    while sf_call("GET", f"{base}/{job['id']}").json()["state"] != "JobComplete":
        time.sleep(poll)
    phases["job"] = time.perf_counter() - started
    locator, page, fetched = "", 0, 0
    while True:
        began = time.perf_counter()
        params = {"maxRecords": spec["page"], **({"locator": locator} if locator else {})}
        answer = sf_call("GET", f"{base}/{job['id']}/results", params=params)
        fetched += len(answer.content)
        phases["pages"] += time.perf_counter() - began
        import_page([body for index, body in bodies if index == page])
        locator = answer.headers.get("Sforce-Locator", "null")
        page += 1
        if locator in ("", "null"):
            break
    import_page([body for index, body in bodies if index >= page])  # bodies cut over the whole load
    seconds = time.perf_counter() - started
    session.close()
    return {
        "seconds": seconds,
        "phases": phases,
        "calls": calls,
        "pages": page,
        "imports": len(bodies),
        "import_bytes": sum(len(b) for _, b in bodies),
        "csv_bytes": fetched,
    }


def main() -> int:
    spec = json.loads(sys.stdin.read())
    print(json.dumps(run(spec)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
