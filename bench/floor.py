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
``bodies``, ``page``). Output: one JSON line with ``seconds``, the calls made and the floor's
own CPU seconds while timed (``cpu_seconds``).

:class:`Client` is shared with the incremental floor (:mod:`bench.floor_incremental`).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import requests

from toolkit.sandbox.salesforce.bulk import COMPLETE_AFTER_SECONDS

from .driver import cpu_seconds

# The sandbox completes a Bulk job polled this long after its creation; polling sooner would
# trip its complete-on-the-second-poll shortcut, which no real Bulk job offers.
JOB_SECONDS = COMPLETE_AFTER_SECONDS
POLL_SECONDS = 0.05  # between import polls


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


class Client:
    """One HTTP session to both sandbox services, signed in to Salesforce; calls counted.

    Signing in (the OAuth token request) happens here, before a floor starts its clock.

    Args:
        spec: the floor's input (``salesforce`` and ``brevo`` connection info).
        poll_seconds: the wait between two polls of an import's process.
    """

    def __init__(self, spec: dict[str, Any], poll_seconds: float = POLL_SECONDS) -> None:
        sf, brevo = spec["salesforce"], spec["brevo"]
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = sf["ca_bundle"]
        began = time.perf_counter()
        token = self.session.post(
            f"{sf['login_url']}/services/oauth2/token",
            timeout=60,
            data={
                "grant_type": "client_credentials",
                "client_id": sf["client_id"],
                "client_secret": sf["client_secret"],
            },
        )
        token.raise_for_status()
        self.sign_in_seconds = time.perf_counter() - began
        auth = token.json()
        self.instance_url: str = auth["instance_url"]
        self.api_version: str = sf["api_version"]
        self.brevo_url: str = brevo["base_url"]
        self.sf_headers = {"Authorization": f"Bearer {auth['access_token']}"}
        self.brevo_headers = {"api-key": brevo["api_key"], "content-type": "application/json"}
        self.poll = poll_seconds
        self.calls = {"salesforce": 0, "brevo": 0}

    def salesforce(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """A Salesforce API call; ``url`` is absolute or a path from the instance's root."""
        self.calls["salesforce"] += 1
        headers = {**self.sf_headers, **kwargs.pop("headers", {})}
        full = url if url.startswith("https://") else f"{self.instance_url}{url}"
        answer = self.session.request(method, full, headers=headers, timeout=600, **kwargs)
        answer.raise_for_status()
        return answer

    def brevo(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A Brevo API call; ``path`` follows ``/v3``."""
        self.calls["brevo"] += 1
        headers = {**self.brevo_headers, **kwargs.pop("headers", {})}
        answer = self.session.request(
            method, f"{self.brevo_url}{path}", headers=headers, timeout=600, **kwargs
        )
        answer.raise_for_status()
        return answer

    def import_and_wait(self, body: bytes, phases: dict[str, float], **kwargs: Any) -> None:
        """``POST /contacts/import``, then poll its process every ``poll`` seconds until completed.

        Adds the seconds to ``phases["import_posts"]`` and ``phases["import_waits"]``.
        """
        began = time.perf_counter()
        process_id = self.brevo("POST", "/contacts/import", data=body, **kwargs).json()["processId"]
        posted = time.perf_counter()
        phases["import_posts"] = phases.get("import_posts", 0.0) + posted - began
        while self.brevo("GET", f"/processes/{process_id}").json()["status"] != "completed":
            time.sleep(self.poll)
        phases["import_waits"] = phases.get("import_waits", 0.0) + time.perf_counter() - posted

    def close(self) -> None:
        self.session.close()


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Time the initial load's I/O (see the module's docstring)."""
    client = Client(spec, float(spec.get("poll_seconds", POLL_SECONDS)))
    base = f"/services/data/v{client.api_version}/jobs/query"
    bodies = read_bodies(Path(spec["bodies"]))
    phases = {"job": 0.0, "pages": 0.0, "import_posts": 0.0, "import_waits": 0.0}

    def import_page(chosen: list[bytes]) -> None:
        for body in chosen:
            client.import_and_wait(body, phases)

    cpu = cpu_seconds()
    started = time.perf_counter()
    job = client.salesforce(
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
    while client.salesforce("GET", f"{base}/{job['id']}").json()["state"] != "JobComplete":
        time.sleep(client.poll)
    phases["job"] = time.perf_counter() - started
    locator, page, fetched = "", 0, 0
    while True:
        began = time.perf_counter()
        params = {"maxRecords": spec["page"], **({"locator": locator} if locator else {})}
        answer = client.salesforce("GET", f"{base}/{job['id']}/results", params=params)
        fetched += len(answer.content)
        phases["pages"] += time.perf_counter() - began
        import_page([body for index, body in bodies if index == page])
        locator = answer.headers.get("Sforce-Locator", "null")
        page += 1
        if locator in ("", "null"):
            break
    import_page([body for index, body in bodies if index >= page])  # bodies cut over the whole load
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    client.close()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "sign_in_seconds": client.sign_in_seconds,
        "phases": phases,
        "calls": client.calls,
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
