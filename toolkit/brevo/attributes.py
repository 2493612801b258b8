"""Contact attributes: what the account defines, and creating new ones."""

from __future__ import annotations

from typing import Any

from .base import BrevoApi

__all__ = ["ATTRIBUTE_CATEGORIES", "AttributesMixin"]

ATTRIBUTE_CATEGORIES = ("normal", "transactional", "category", "calculated", "global")


class AttributesMixin(BrevoApi):
    """``/contacts/attributes``."""

    def attributes(self) -> list[dict[str, Any]]:
        """Every attribute (``name``, ``category``, ``type``, ``enumeration``...)."""
        answer = self._json("GET", "/contacts/attributes")
        found = (answer or {}).get("attributes") or []
        return [a for a in found if isinstance(a, dict)] if isinstance(found, list) else []

    def create_attribute(
        self, category: str, name: str, type: str | None, enumeration: list[dict[str, Any]] | None = None
    ) -> None:
        """Create an attribute.

        Args:
            category: ``normal`` (text, date, float, boolean, multiple-choice), ``category``
                (type ``category`` with an ``enumeration``), ``transactional``...
            name: the attribute's name; Brevo stores it upper-cased.
            type: ``text``, ``date``, ``float``, ``boolean``, ``category``...
            enumeration: for category attributes, ``[{"value": 1, "label": "Gold"}, ...]``.

        Raises:
            ValueError: an unknown category.
            FatalApiError: Brevo refused it (e.g. it exists, or the type does not fit the category).
        """
        if category not in ATTRIBUTE_CATEGORIES:
            raise ValueError(f"category must be one of {', '.join(ATTRIBUTE_CATEGORIES)}")
        body: dict[str, Any] = {}
        if type is not None:
            body["type"] = type
        if enumeration is not None:
            body["enumeration"] = enumeration
        self._call(
            "POST",
            "/contacts/attributes/{category}/{name}",
            path_params={"category": category, "name": name},
            json=body,
        )
