"""Brevo sandbox: folders, lists, list membership and contact attributes."""

from __future__ import annotations

import pytest
import requests


def test_new_account_has_first_folder_and_list(api: str, http: requests.Session) -> None:
    assert http.get(f"{api}/contacts/folders").json() == {
        "folders": [
            {
                "id": 1,
                "name": "Your first folder",
                "totalBlacklisted": 0,
                "totalSubscribers": 0,
                "uniqueSubscribers": 0,
            }
        ],
        "count": 1,
    }
    assert http.get(f"{api}/contacts/lists").json() == {
        "lists": [
            {
                "id": 2,
                "name": "Your first list",
                "totalBlacklisted": 0,
                "totalSubscribers": 0,
                "uniqueSubscribers": 0,
                "folderId": 1,
            }
        ],
        "count": 1,
    }


def test_folder_and_list_lifecycle(api: str, http: requests.Session) -> None:
    folder_id = http.post(f"{api}/contacts/folders", json={"name": "Salesforce"}).json()["id"]
    list_id = http.post(f"{api}/contacts/lists", json={"name": "SF Contacts", "folderId": folder_id}).json()[
        "id"
    ]
    assert http.put(f"{api}/contacts/lists/{list_id}", json={"name": "SF Leads"}).status_code == 204
    detail = http.get(f"{api}/contacts/lists/{list_id}").json()
    assert detail["name"] == "SF Leads" and detail["folderId"] == folder_id and "createdAt" in detail
    assert [lst["id"] for lst in http.get(f"{api}/contacts/folders/{folder_id}/lists").json()["lists"]] == [
        list_id
    ]
    both = http.put(f"{api}/contacts/lists/{list_id}", json={"name": "X", "folderId": 1})
    assert both.status_code == 400
    assert http.delete(f"{api}/contacts/folders/{folder_id}").status_code == 204
    assert http.get(f"{api}/contacts/lists/{list_id}").json() == {
        "code": "document_not_found",
        "message": "List ID not found",
    }
    assert http.get(f"{api}/contacts/folders/{folder_id}").status_code == 404


def test_list_needs_name_and_existing_folder(api: str, http: requests.Session) -> None:
    assert (
        http.post(f"{api}/contacts/lists", json={"name": "No folder"}).json()["code"] == "missing_parameter"
    )
    assert http.post(f"{api}/contacts/lists", json={"name": "X", "folderId": 99}).status_code == 400


def test_lists_limit_is_at_most_50(api: str, http: requests.Session) -> None:
    assert http.get(f"{api}/contacts/lists", params={"limit": 51}).status_code == 400
    assert http.get(f"{api}/contacts/lists", params={"limit": 50}).status_code == 200


def test_add_and_remove_members_and_page_through_the_list(api: str, http: requests.Session) -> None:
    ids = [
        http.post(f"{api}/contacts", json={"email": f"m{i}@example.com", "ext_id": f"SF-{i}"}).json()["id"]
        for i in range(12)
    ]
    added = http.post(
        f"{api}/contacts/lists/2/contacts/add",
        json={"emails": [f"m{i}@example.com" for i in range(5)] + ["ghost@example.com"]},
    )
    assert added.status_code == 201
    assert added.json() == {
        "contacts": {"success": [f"m{i}@example.com" for i in range(5)], "failure": ["ghost@example.com"]}
    }
    http.post(f"{api}/contacts/lists/2/contacts/add", json={"ids": ids[5:9]})
    http.post(f"{api}/contacts/lists/2/contacts/add", json={"extIds": ["SF-9", "SF-10", "SF-11"]})
    again = http.post(f"{api}/contacts/lists/2/contacts/add", json={"ids": ids[:2]})
    assert again.status_code == 400
    assert again.json() == {
        "code": "invalid_parameter",
        "message": "Contact already in list and/or does not exist",
    }
    seen = []
    for offset in range(0, 12, 5):
        params: dict[str, str | int] = {"limit": 5, "offset": offset, "sort": "asc"}
        page = http.get(f"{api}/contacts/lists/2/contacts", params=params).json()
        assert page["count"] == 12
        seen += [c["id"] for c in page["contacts"]]
    assert seen == ids
    removed = http.post(f"{api}/contacts/lists/2/contacts/remove", json={"ids": ids[:3]})
    assert removed.status_code == 201 and removed.json()["contacts"]["success"] == ids[:3]
    assert http.get(f"{api}/contacts/lists/2").json()["uniqueSubscribers"] == 9
    everyone = http.post(f"{api}/contacts/lists/2/contacts/remove", json={"all": True})
    assert everyone.status_code == 201 and everyone.json()["contacts"]["total"] == 9
    assert http.get(f"{api}/contacts/lists/2/contacts").json() == {"contacts": [], "count": 0}


def test_membership_requests_hold_1_to_150_items(api: str, http: requests.Session) -> None:
    too_many = http.post(f"{api}/contacts/lists/2/contacts/add", json={"ids": list(range(1, 152))})
    empty = http.post(f"{api}/contacts/lists/2/contacts/add", json={"emails": []})
    assert too_many.status_code == empty.status_code == 400
    unknown_list = http.post(f"{api}/contacts/lists/77/contacts/add", json={"ids": [1]})
    assert unknown_list.status_code == 404


def test_list_page_limit_is_at_most_500(api: str, http: requests.Session) -> None:
    assert http.get(f"{api}/contacts/lists/2/contacts", params={"limit": 501}).status_code == 400


def test_default_attributes(api: str, http: requests.Session) -> None:
    attributes = {a["name"]: a for a in http.get(f"{api}/contacts/attributes").json()["attributes"]}
    for name in ("EMAIL", "FIRSTNAME", "LASTNAME", "SMS", "EXT_ID"):
        assert attributes[name] == {"name": name, "category": "normal", "type": "text"}


@pytest.mark.parametrize(
    ("category", "body"),
    [
        ("category", {"type": "boolean"}),
        ("transactional", {"type": "boolean"}),
        ("normal", {"type": "category", "enumeration": [{"value": 1, "label": "A"}]}),
        ("category", {"type": "category"}),
        ("normal", {"type": "id"}),
        ("nonsense", {"type": "text"}),
    ],
)
def test_attribute_category_and_type_constraints(
    api: str, http: requests.Session, category: str, body: dict
) -> None:
    response = http.post(f"{api}/contacts/attributes/{category}/NEWATTR", json=body)
    assert response.status_code == 400


def test_attribute_names_are_upper_cased_and_lifecycle(api: str, http: requests.Session) -> None:
    assert (
        http.post(
            f"{api}/contacts/attributes/category/tier",
            json={"type": "category", "enumeration": [{"value": 1, "label": "Gold"}]},
        ).status_code
        == 201
    )
    assert http.post(f"{api}/contacts/attributes/normal/Tier", json={"type": "text"}).status_code == 400
    assert (
        http.put(
            f"{api}/contacts/attributes/category/TIER",
            json={"enumeration": [{"value": 1, "label": "Gold"}, {"value": 2, "label": "Silver"}]},
        ).status_code
        == 204
    )
    tier = next(a for a in http.get(f"{api}/contacts/attributes").json()["attributes"] if a["name"] == "TIER")
    assert tier["category"] == "category" and [e["label"] for e in tier["enumeration"]] == ["Gold", "Silver"]
    http.post(f"{api}/contacts", json={"email": "t@example.com", "attributes": {"TIER": "silver"}})
    assert http.get(f"{api}/contacts/t@example.com").json()["attributes"] == {"TIER": "Silver"}
    assert http.delete(f"{api}/contacts/attributes/category/TIER").status_code == 204
    assert http.get(f"{api}/contacts/t@example.com").json()["attributes"] == {}
    assert http.delete(f"{api}/contacts/attributes/category/TIER").status_code == 404
    assert http.delete(f"{api}/contacts/attributes/normal/EMAIL").status_code == 400
