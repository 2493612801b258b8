"""HTTP handlers of the contact endpoints: list, read, create, update, delete, batch."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from toolkit.sandbox.brevo.contact_ops import CONTACT_NOT_FOUND, create_contact, update_batch, update_contact
from toolkit.sandbox.brevo.contacts import Contact
from toolkit.sandbox.brevo.errors import invalid, not_found
from toolkit.sandbox.brevo.formats import int_arg, is_digits, json_body, page, parse_datetime_param, sort_arg
from toolkit.sandbox.http import Route, json_response

if TYPE_CHECKING:
    from toolkit.sandbox.brevo.account import BrevoAccount

_FILTER_RE = re.compile(r"^equals\(\s*([A-Za-z0-9_\-]+)\s*,\s*(.*?)\s*\)$")


def contact_filters(request: Request) -> list[Callable[[Contact], bool]]:
    """Predicates for ``modifiedSince`` and ``createdSince`` (strictly after, as documented)."""
    predicates: list[Callable[[Contact], bool]] = []
    if request.args.get("modifiedSince"):
        modified = parse_datetime_param("modifiedSince", request.args["modifiedSince"])
        predicates.append(lambda c: c.modified_at > modified)
    if request.args.get("createdSince"):
        created = parse_datetime_param("createdSince", request.args["createdSince"])
        predicates.append(lambda c: c.created_at > created)
    return predicates


def _list_ids_arg(request: Request) -> set[int]:
    ids: set[int] = set()
    for raw in request.args.getlist("listIds"):
        for part in filter(None, (p.strip() for p in raw.split(","))):
            if not is_digits(part):
                raise invalid("listIds is not valid")
            ids.add(int(part))
    return ids


def _attribute_filter(raw: str) -> Callable[[Contact], bool]:
    match = _FILTER_RE.match(raw)
    if not match:
        raise invalid('filter is not valid, use equals(ATTRIBUTE,"value")')
    name, text = match.group(1).upper(), match.group(2)
    wanted: Any
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        wanted = text[1:-1]
    elif text.lower() in ("true", "false"):
        wanted = text.lower() == "true"
    else:
        try:
            wanted = float(text)
        except ValueError:
            wanted = text

    def value_of(contact: Contact) -> Any:
        """The compared value: e-mail and ext_id live on the contact, the rest in attributes."""
        return {"EMAIL": contact.email, "EXT_ID": contact.ext_id}.get(name, contact.attributes.get(name))

    return lambda c: value_of(c) == wanted


def _get_contacts(account: BrevoAccount, request: Request) -> Response:
    """``GET /contacts``; ``count`` is the number of contacts matching the filters."""
    limit = int_arg(request, "limit", 50, 1000)
    offset = int_arg(request, "offset", 0)
    descending = sort_arg(request)
    predicates = contact_filters(request)
    list_ids = _list_ids_arg(request)
    if request.args.get("segmentId"):
        if list_ids:
            raise invalid("Either listIds or segmentId can be passed")
        raise invalid("segmentId is not valid")
    if request.args.get("filter"):
        predicates.append(_attribute_filter(request.args["filter"]))
    with account.lock:
        store = account.contact_store
        if len(list_ids) == 1:  # one list: its members, without a scan of the account
            candidates = store.members(next(iter(list_ids)))
        elif list_ids:
            candidates = [c for c in store.all() if c.list_ids & list_ids]
        else:
            candidates = store.all()
        matching = [c for c in candidates if all(p(c) for p in predicates)] if predicates else candidates
        body = {
            "contacts": [c.to_json(account.variants) for c in page(matching, offset, limit, descending)],
            "count": len(matching),
        }
    return json_response(body)


def _post_contact(account: BrevoAccount, request: Request) -> Response:
    status, contact_id = create_contact(account, json_body(request))
    return json_response({"id": contact_id} if status == 201 else None, status)


def _get_contact(account: BrevoAccount, request: Request, identifier: str) -> Response:
    with account.lock:
        contact = account.contact_store.find(identifier, request.args.get("identifierType"))
        if contact is None:
            raise not_found(CONTACT_NOT_FOUND)
        body = contact.to_json(account.variants)
    body["statistics"] = {}  # the sandbox sends no campaigns
    return json_response(body)


def _put_contact(account: BrevoAccount, request: Request, identifier: str) -> Response:
    update_contact(account, identifier, request.args.get("identifierType"), json_body(request))
    return json_response(None, 204)


def _delete_contact(account: BrevoAccount, request: Request, identifier: str) -> Response:
    with account.lock:
        contact = account.contact_store.find(
            identifier, request.args.get("identifierType"), allow_phone=False
        )
        if contact is None:
            raise not_found(CONTACT_NOT_FOUND)
        account.contact_store.delete(contact)
    return json_response(None, 204)


def _post_batch(account: BrevoAccount, request: Request) -> Response:
    update_batch(account, json_body(request))
    return json_response(None, 204)


ROUTES: list[Route] = [
    ("getContacts", "GET", "/v3/contacts", _get_contacts),
    ("createContact", "POST", "/v3/contacts", _post_contact),
    ("getContactInfo", "GET", "/v3/contacts/<identifier>", _get_contact),
    ("updateContact", "PUT", "/v3/contacts/<identifier>", _put_contact),
    ("deleteContact", "DELETE", "/v3/contacts/<identifier>", _delete_contact),
    ("updateBatchContacts", "POST", "/v3/contacts/batch", _post_batch),
]
