"""Folders and lists (their metadata; membership lives on the contacts).

Not thread-safe on its own: every caller holds the account lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from toolkit.sandbox.brevo.errors import invalid, missing, not_found
from toolkit.sandbox.clock import Clock

FIRST_FOLDER = "Your first folder"
FIRST_LIST = "Your first list"


@dataclass
class Folder:
    """A folder of lists."""

    id: int
    name: str
    created_at: datetime


@dataclass
class ContactList:
    """A contact list inside a folder."""

    id: int
    name: str
    folder_id: int
    created_at: datetime


class ListStore:
    """Folders and lists of an account; a new account has folder 1 holding list 2."""

    def __init__(self, clock: Clock, *, seed: bool = True) -> None:
        self.clock = clock
        self.folders: dict[int, Folder] = {}
        self.lists: dict[int, ContactList] = {}
        self.next_folder_id = 1
        self.next_list_id = 2
        if seed:
            folder = self.create_folder(FIRST_FOLDER)
            self.create_list(FIRST_LIST, folder.id)

    def create_folder(self, name: Any) -> Folder:
        """A new folder; 400 ``missing_parameter`` without a name."""
        if not isinstance(name, str) or not name.strip():
            raise missing("name is mandatory")
        folder = Folder(self.next_folder_id, name.strip(), self.clock.now())
        self.next_folder_id += 1
        self.folders[folder.id] = folder
        return folder

    def folder(self, folder_id: int) -> Folder:
        """The folder, or 404 "Folder ID not found"."""
        found = self.folders.get(folder_id)
        if found is None:
            raise not_found("Folder ID not found")
        return found

    def create_list(self, name: Any, folder_id: Any) -> ContactList:
        """A new list in an existing folder; 400 without a name or with an unknown folder."""
        if not isinstance(name, str) or not name.strip():
            raise missing("name is mandatory")
        if folder_id is None:
            raise missing("folderId is mandatory")
        if not isinstance(folder_id, int) or isinstance(folder_id, bool) or folder_id not in self.folders:
            raise invalid("Folder ID not found")
        contact_list = ContactList(self.next_list_id, name.strip(), folder_id, self.clock.now())
        self.next_list_id += 1
        self.lists[contact_list.id] = contact_list
        return contact_list

    def get_list(self, list_id: int) -> ContactList:
        """The list, or 404 "List ID not found"."""
        found = self.lists.get(list_id)
        if found is None:
            raise not_found("List ID not found")
        return found

    def lists_in(self, folder_id: int) -> list[ContactList]:
        """The lists of one folder, oldest first."""
        return [lst for lst in self.lists.values() if lst.folder_id == folder_id]

    def missing_lists(self, list_ids: list[int]) -> list[int]:
        """The ids among ``list_ids`` that are not lists of this account."""
        return [i for i in list_ids if i not in self.lists]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable contents (for ``BrevoAccount.to_dict``)."""
        return {
            "next_folder_id": self.next_folder_id,
            "next_list_id": self.next_list_id,
            "folders": [
                {**f.__dict__, "created_at": f.created_at.isoformat()} for f in self.folders.values()
            ],
            "lists": [
                {**lst.__dict__, "created_at": lst.created_at.isoformat()} for lst in self.lists.values()
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], clock: Clock) -> ListStore:
        """Rebuild the store written by ``to_dict``."""
        store = cls(clock, seed=False)
        for item in data["folders"]:
            store.folders[item["id"]] = Folder(
                **{**item, "created_at": datetime.fromisoformat(item["created_at"])}
            )
        for item in data["lists"]:
            store.lists[item["id"]] = ContactList(
                **{**item, "created_at": datetime.fromisoformat(item["created_at"])}
            )
        store.next_folder_id = data["next_folder_id"]
        store.next_list_id = data["next_list_id"]
        return store
