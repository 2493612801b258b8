"""HTTP handlers of folders, lists and list membership."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from toolkit.sandbox.brevo.contacts import Contact, ContactPatch
from toolkit.sandbox.brevo.errors import BrevoError, invalid, missing
from toolkit.sandbox.brevo.formats import (
    format_ts,
    int_arg,
    json_body,
    normalize_email,
    page,
    path_id,
    sort_arg,
)
from toolkit.sandbox.brevo.lists import ContactList
from toolkit.sandbox.brevo.routes.contacts import contact_filters
from toolkit.sandbox.http import Route, json_response

if TYPE_CHECKING:
    from toolkit.sandbox.brevo.account import BrevoAccount

MAX_MEMBERSHIP_ITEMS = 150


def _folder_id(value: str) -> int:
    return path_id(value, "folderId is not valid")


def _list_id(value: str) -> int:
    return path_id(value, "listId is not valid")


def _stats(contacts: Iterable[Contact]) -> dict[str, int]:
    members = list(contacts)
    blacklisted = sum(1 for c in members if c.email_blacklisted)
    return {
        "totalBlacklisted": blacklisted,
        "totalSubscribers": len(members) - blacklisted,
        "uniqueSubscribers": len(members),
    }


def _list_json(account: BrevoAccount, lst: ContactList, *, with_folder: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"id": lst.id, "name": lst.name, **_stats(account.contact_store.members(lst.id))}
    if with_folder:
        body["folderId"] = lst.folder_id
    return body


def _folder_json(account: BrevoAccount, folder_id: int) -> dict[str, Any]:
    folder = account.list_store.folder(folder_id)
    unique = {
        c.id: c
        for lst in account.list_store.lists_in(folder_id)
        for c in account.contact_store.members(lst.id)
    }
    return {"id": folder.id, "name": folder.name, **_stats(unique.values())}


def _get_folders(account: BrevoAccount, request: Request) -> Response:
    limit, offset, descending = (
        int_arg(request, "limit", 10, 50),
        int_arg(request, "offset", 0),
        sort_arg(request),
    )
    with account.lock:
        ids = list(account.list_store.folders)
        return json_response(
            {
                "folders": [_folder_json(account, i) for i in page(ids, offset, limit, descending)],
                "count": len(ids),
            }
        )


def _post_folder(account: BrevoAccount, request: Request) -> Response:
    body = json_body(request)
    with account.lock:
        return json_response({"id": account.list_store.create_folder(body.get("name")).id}, 201)


def _get_folder(account: BrevoAccount, request: Request, folder_id: str) -> Response:
    with account.lock:
        return json_response(_folder_json(account, _folder_id(folder_id)))


def _put_folder(account: BrevoAccount, request: Request, folder_id: str) -> Response:
    body = json_body(request)
    with account.lock:
        folder = account.list_store.folder(_folder_id(folder_id))
        if not isinstance(body.get("name"), str) or not body["name"].strip():
            raise missing("name is mandatory")
        folder.name = body["name"].strip()
    return json_response(None, 204)


def _delete_folder(account: BrevoAccount, request: Request, folder_id: str) -> Response:
    with account.lock:
        folder = account.list_store.folder(_folder_id(folder_id))
        for lst in account.list_store.lists_in(folder.id):
            account.contact_store.drop_list(lst.id)
            del account.list_store.lists[lst.id]
        del account.list_store.folders[folder.id]
    return json_response(None, 204)


def _get_folder_lists(account: BrevoAccount, request: Request, folder_id: str) -> Response:
    limit, offset, descending = (
        int_arg(request, "limit", 10, 50),
        int_arg(request, "offset", 0),
        sort_arg(request),
    )
    with account.lock:
        lists = account.list_store.lists_in(account.list_store.folder(_folder_id(folder_id)).id)
        return json_response(
            {
                "lists": [
                    _list_json(account, lst, with_folder=False)
                    for lst in page(lists, offset, limit, descending)
                ],
                "count": len(lists),
            }
        )


def _get_lists(account: BrevoAccount, request: Request) -> Response:
    limit, offset, descending = (
        int_arg(request, "limit", 10, 50),
        int_arg(request, "offset", 0),
        sort_arg(request),
    )
    with account.lock:
        lists = list(account.list_store.lists.values())
        return json_response(
            {
                "lists": [_list_json(account, lst) for lst in page(lists, offset, limit, descending)],
                "count": len(lists),
            }
        )


def _post_list(account: BrevoAccount, request: Request) -> Response:
    body = json_body(request)
    with account.lock:
        return json_response(
            {"id": account.list_store.create_list(body.get("name"), body.get("folderId")).id}, 201
        )


def _get_list(account: BrevoAccount, request: Request, list_id: str) -> Response:
    with account.lock:
        lst = account.list_store.get_list(_list_id(list_id))
        body = {
            **_list_json(account, lst),
            "createdAt": format_ts(lst.created_at),
            "campaignStats": [],
            "dynamicList": False,
        }
    return json_response(body)


def _put_list(account: BrevoAccount, request: Request, list_id: str) -> Response:
    body = json_body(request)
    with account.lock:
        lst = account.list_store.get_list(_list_id(list_id))
        given = [k for k in ("name", "folderId") if body.get(k) is not None]
        if not given:
            raise missing("name or folderId is mandatory")
        if len(given) > 1:
            raise invalid("Either name or folderId can be updated at a time")
        if given[0] == "name":
            if not isinstance(body["name"], str) or not body["name"].strip():
                raise invalid("name is not valid")
            lst.name = body["name"].strip()
        else:
            folder_id = body["folderId"]
            if (
                not isinstance(folder_id, int)
                or isinstance(folder_id, bool)
                or folder_id not in account.list_store.folders
            ):
                raise invalid("Folder ID not found")
            lst.folder_id = folder_id
    return json_response(None, 204)


def _delete_list(account: BrevoAccount, request: Request, list_id: str) -> Response:
    with account.lock:
        lst = account.list_store.get_list(_list_id(list_id))
        account.contact_store.drop_list(lst.id)
        del account.list_store.lists[lst.id]
    return json_response(None, 204)


def _get_list_contacts(account: BrevoAccount, request: Request, list_id: str) -> Response:
    limit, offset, descending = (
        int_arg(request, "limit", 50, 500),
        int_arg(request, "offset", 0),
        sort_arg(request),
    )
    predicates = contact_filters(request)
    with account.lock:
        lst = account.list_store.get_list(_list_id(list_id))
        members = [c for c in account.contact_store.members(lst.id) if all(p(c) for p in predicates)]
        return json_response(
            {
                "contacts": [c.to_json(account.variants) for c in page(members, offset, limit, descending)],
                "count": len(members),
            }
        )


def _membership(account: BrevoAccount, request: Request, list_id: str, *, adding: bool) -> Response:
    body = json_body(request)
    keys = [k for k in ("emails", "ids", "extIds") if k in body]
    with account.lock:
        lst = account.list_store.get_list(_list_id(list_id))
        store = account.contact_store
        if not adding and body.get("all") is True and not keys:
            members = store.members(lst.id)
            for contact in members:
                store.apply(contact, ContactPatch(remove_lists=[lst.id]))
            process = account.processes.record("REMOVE_FROM_LIST")
            return json_response({"contacts": {"total": len(members), "processId": process.id}}, 201)
        if len(keys) != 1:
            raise missing("Pass one of emails, ids or extIds" + ("" if adding else " or all"))
        values = body[keys[0]]
        if not isinstance(values, list) or not values or len(values) > MAX_MEMBERSHIP_ITEMS:
            raise BrevoError(400, "out_of_range", f"{keys[0]} should hold 1 to {MAX_MEMBERSHIP_ITEMS} items")
        success: list[Any] = []
        failure: list[Any] = []
        found = [_member(store, keys[0], value) for value in values]  # type errors before any write
        for value, member in zip(values, found):
            if member is None or (lst.id in member.list_ids) == adding:
                failure.append(value)
                continue
            store.apply(
                member, ContactPatch(add_lists=[lst.id]) if adding else ContactPatch(remove_lists=[lst.id])
            )
            success.append(value)
    if not success:
        raise invalid(
            "Contact already in list and/or does not exist"
            if adding
            else "Contact already removed from list and/or does not exist"
        )
    return json_response({"contacts": {"success": success, "failure": failure}}, 201)


def _member(store: Any, key: str, value: Any) -> Contact | None:
    if key == "emails":
        return store.by_email(normalize_email(value))
    if key == "ids":
        if not isinstance(value, int) or isinstance(value, bool):
            raise invalid("ids should be an array of integers")
        return store.get(value)
    if not isinstance(value, str):
        raise invalid("extIds should be an array of strings")
    return store.by_ext_id(value)


def _add_to_list(account: BrevoAccount, request: Request, list_id: str) -> Response:
    return _membership(account, request, list_id, adding=True)


def _remove_from_list(account: BrevoAccount, request: Request, list_id: str) -> Response:
    return _membership(account, request, list_id, adding=False)


ROUTES: list[Route] = [
    ("getFolders", "GET", "/v3/contacts/folders", _get_folders),
    ("createFolder", "POST", "/v3/contacts/folders", _post_folder),
    ("getFolder", "GET", "/v3/contacts/folders/<folder_id>", _get_folder),
    ("updateFolder", "PUT", "/v3/contacts/folders/<folder_id>", _put_folder),
    ("deleteFolder", "DELETE", "/v3/contacts/folders/<folder_id>", _delete_folder),
    ("getFolderLists", "GET", "/v3/contacts/folders/<folder_id>/lists", _get_folder_lists),
    ("getLists", "GET", "/v3/contacts/lists", _get_lists),
    ("createList", "POST", "/v3/contacts/lists", _post_list),
    ("getList", "GET", "/v3/contacts/lists/<list_id>", _get_list),
    ("updateList", "PUT", "/v3/contacts/lists/<list_id>", _put_list),
    ("deleteList", "DELETE", "/v3/contacts/lists/<list_id>", _delete_list),
    ("getContactsFromList", "GET", "/v3/contacts/lists/<list_id>/contacts", _get_list_contacts),
    ("addContactToList", "POST", "/v3/contacts/lists/<list_id>/contacts/add", _add_to_list),
    ("removeContactFromList", "POST", "/v3/contacts/lists/<list_id>/contacts/remove", _remove_from_list),
]
