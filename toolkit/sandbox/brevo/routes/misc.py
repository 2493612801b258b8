"""HTTP handlers of attributes, contact imports, processes and transactional e-mail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from toolkit.sandbox.brevo.errors import missing, not_found
from toolkit.sandbox.brevo.formats import int_arg, json_body, page, path_id, sort_arg
from toolkit.sandbox.brevo.imports import MAX_BODY_BYTES, parse_import_request
from toolkit.sandbox.brevo.smtp import send_email
from toolkit.sandbox.http import Route, json_response

if TYPE_CHECKING:
    from toolkit.sandbox.brevo.account import BrevoAccount


def _get_attributes(account: BrevoAccount, request: Request) -> Response:
    with account.lock:
        return json_response({"attributes": [a.to_json() for a in account.attributes.all()]})


def _post_attribute(account: BrevoAccount, request: Request, category: str, name: str) -> Response:
    body = json_body(request)
    if not body:
        raise missing("No inputs in the body")
    with account.lock:
        account.attributes.create(category, name, body)
    return json_response(None, 201)


def _put_attribute(account: BrevoAccount, request: Request, category: str, name: str) -> Response:
    body = json_body(request)
    with account.lock:
        account.attributes.update(category, name, body)
    return json_response(None, 204)


def _delete_attribute(account: BrevoAccount, request: Request, category: str, name: str) -> Response:
    with account.lock:
        account.attributes.delete(category, name)
        account.contact_store.drop_attribute(name.upper())
    return json_response(None, 204)


def _import_contacts(account: BrevoAccount, request: Request) -> Response:
    """``POST /contacts/import``: 202 with the id of the process that imports the rows."""
    size = len(request.get_data(cache=True))  # read it all, so keep-alive stays in step
    body = json_body(request) if size <= MAX_BODY_BYTES else {}
    with account.lock:
        job = parse_import_request(account, body, size)
        process = account.processes.submit(job)
    return json_response({"processId": process.id}, 202)


def _get_processes(account: BrevoAccount, request: Request) -> Response:
    limit, offset, descending = (
        int_arg(request, "limit", 10, 50),
        int_arg(request, "offset", 0),
        sort_arg(request),
    )
    processes = account.processes.all()
    with account.lock:
        body = {
            "processes": [
                p.to_json(request.host_url, account.variants)
                for p in page(processes, offset, limit, descending)
            ],
            "count": len(processes),
        }
    return json_response(body)


def _get_process(account: BrevoAccount, request: Request, process_id: str) -> Response:
    process = account.processes.get(path_id(process_id, "processId is invalid"))
    if process is None:
        raise not_found("Process ID not found")
    with account.lock:
        return json_response(process.to_json(request.host_url, account.variants))


def _post_email(account: BrevoAccount, request: Request) -> Response:
    status, body = send_email(account, json_body(request))
    return json_response(body, status)


ROUTES: list[Route] = [
    ("getAttributes", "GET", "/v3/contacts/attributes", _get_attributes),
    ("createAttribute", "POST", "/v3/contacts/attributes/<category>/<name>", _post_attribute),
    ("updateAttribute", "PUT", "/v3/contacts/attributes/<category>/<name>", _put_attribute),
    ("deleteAttribute", "DELETE", "/v3/contacts/attributes/<category>/<name>", _delete_attribute),
    ("importContacts", "POST", "/v3/contacts/import", _import_contacts),
    ("getProcesses", "GET", "/v3/processes", _get_processes),
    ("getProcess", "GET", "/v3/processes/<process_id>", _get_process),
    ("sendTransacEmail", "POST", "/v3/smtp/email", _post_email),
]
