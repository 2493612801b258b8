"""Contact lists and the folders that hold them."""

from __future__ import annotations

from typing import Any

from toolkit.exceptions import FatalApiError

from .base import BrevoApi, CallOptions

__all__ = ["ListsMixin"]

LISTS_MAX_PAGE = 50
LIST_MEMBERSHIP_MAX = 150  # Brevo's maxItems for /contacts/lists/{id}/contacts/add|remove


class ListsMixin(BrevoApi):
    """``/contacts/lists`` and ``/contacts/folders``."""

    def lists(self) -> list[dict[str, Any]]:
        """Every list of the account (``id``, ``name``, ``folderId``, subscriber counts), 50 a call."""
        return [
            lst
            for page in self._paged(
                "/contacts/lists", "lists", page_size=LISTS_MAX_PAGE, max_page=LISTS_MAX_PAGE
            )
            for lst in page
        ]

    def create_list(self, name: str, folder_id: int) -> int:
        """Create a list in a folder and return its id."""
        answer = self._json("POST", "/contacts/lists", json={"name": name, "folderId": int(folder_id)})
        return self._field(answer, "id", int, method="POST", path="/contacts/lists")

    def folders(self) -> list[dict[str, Any]]:
        """Every folder of the account (``id``, ``name``...), 50 a call."""
        return [
            folder
            for page in self._paged(
                "/contacts/folders", "folders", page_size=LISTS_MAX_PAGE, max_page=LISTS_MAX_PAGE
            )
            for folder in page
        ]

    def create_folder(self, name: str) -> int:
        """Create a folder and return its id."""
        answer = self._json("POST", "/contacts/folders", json={"name": name})
        return self._field(answer, "id", int, method="POST", path="/contacts/folders")

    def ensure_folder(self, name: str) -> int:
        """The id of the folder called ``name`` (the oldest, if several), created when missing."""
        for folder in self.folders():
            if folder.get("name") == name:
                return int(folder["id"])
        return self.create_folder(name)

    def add_to_list(self, list_id: int, ext_ids: list[str]) -> list[str]:
        """Put contacts on a list by ext_id, 150 a call; returns the ext_ids Brevo added.

        A batch whose contacts are all on the list already (a replay after a crash) is not an
        error: Brevo answers it with 400 "Contact already in list and/or does not exist"
        (brevo-api.md §1.8).
        """
        return self._membership(list_id, ext_ids, "add", "already in list")

    def remove_from_list(self, list_id: int, ext_ids: list[str]) -> list[str]:
        """Take contacts out of a list by ext_id, 150 a call; returns the ext_ids Brevo removed.

        The contacts themselves stay in the account (they may belong to other lists). A batch
        whose contacts are all gone from the list already (a replay after a crash or a lost
        answer) is not an error: Brevo answers it with 400 "Contact already removed from list".
        """
        return self._membership(list_id, ext_ids, "remove", "already removed")

    def _membership(self, list_id: int, ext_ids: list[str], verb: str, done: str) -> list[str]:
        """``POST /contacts/lists/{id}/contacts/add|remove`` in batches; a 400 saying ``done`` is a no-op."""
        changed: list[str] = []
        for start in range(0, len(ext_ids), LIST_MEMBERSHIP_MAX):
            batch = ext_ids[start : start + LIST_MEMBERSHIP_MAX]
            options: CallOptions = {
                "json": {"extIds": batch},
                "idempotent": True,
                "path_params": {"list_id": int(list_id)},
            }
            try:
                if verb == "add":
                    answer = self._json("POST", "/contacts/lists/{list_id}/contacts/add", **options)
                else:
                    answer = self._json("POST", "/contacts/lists/{list_id}/contacts/remove", **options)
            except FatalApiError as exc:
                if exc.status == 400 and done in str(exc.args[0]).lower():
                    continue
                raise
            contacts = (answer or {}).get("contacts")
            success = contacts.get("success") if isinstance(contacts, dict) else None
            changed += [str(x) for x in success] if isinstance(success, list) else []
        return changed
