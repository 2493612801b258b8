"""Contact attributes: the account's definitions and the rule that decides which values stick.

Brevo ignores (stores nothing, raises nothing) a value whose type does not match its attribute,
and a value for an attribute the account does not have. The constraints on creating attributes
follow the reference: ``boolean`` and ``multiple-choice`` only in the ``normal`` category, ``id``
only in ``transactional``, ``category`` only in ``category`` (with an ``enumeration``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from toolkit.sandbox.brevo.errors import BrevoError, invalid, missing, not_found
from toolkit.sandbox.brevo.formats import is_digits

CATEGORIES = ("normal", "transactional", "category", "calculated", "global")
TYPES_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    "normal": ("text", "date", "float", "boolean", "multiple-choice"),
    "transactional": ("text", "date", "float", "id"),
    "category": ("category",),
}
# Identifiers are stored on the contact itself (email, ext_id) or validated as phone numbers.
IDENTIFIER_ATTRIBUTES = ("EMAIL", "EXT_ID", "SMS", "WHATSAPP", "LANDLINE_NUMBER")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")


@dataclass
class Attribute:
    """One attribute definition of the account."""

    name: str
    category: str
    type: str | None = None
    enumeration: list[dict[str, Any]] | None = None
    options: list[str] | None = None
    value: str | None = None
    is_recurring: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """The attribute as ``GET /contacts/attributes`` lists it."""
        body: dict[str, Any] = {"name": self.name, "category": self.category}
        if self.type:
            # The published definition has no "category" type in responses; its example shows
            # category attributes as "text" with an enumeration.
            body["type"] = "text" if self.type == "category" else self.type
        if self.enumeration is not None:
            # valueStr: required in brevo-python 5.1.0 (GetAttributesResponseAttributesItemEnumerationItem).
            body["enumeration"] = [{**e, "valueStr": str(e["value"])} for e in self.enumeration]
        if self.options is not None:
            body["multiCategoryOptions"] = list(self.options)
        if self.value is not None:
            body["calculatedValue"] = self.value
        return body

    def coerce(self, value: Any, *, from_text: bool = False) -> tuple[bool, Any]:
        """``(True, stored_value)`` when ``value`` fits this attribute, else ``(False, None)``.

        Args:
            value: the value as sent (JSON types, or a string from a CSV import).
            from_text: the value comes from CSV text, so numbers and booleans arrive as strings.
        """
        kind = self.type
        if self.category not in ("normal", "category"):
            return False, None
        if kind == "text":
            if isinstance(value, str):
                return True, value
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return True, str(value)
        elif kind == "date":
            if isinstance(value, str) and _DATE_RE.match(value):
                try:
                    date.fromisoformat(value)
                    return True, value
                except ValueError:
                    return False, None
        elif kind == "float":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return True, value
            if from_text and isinstance(value, str):
                try:
                    return True, float(value)
                except ValueError:
                    return False, None
        elif kind == "boolean":
            if isinstance(value, bool):
                return True, value
            if from_text and isinstance(value, str) and value.lower() in _TRUE + _FALSE:
                return True, value.lower() in _TRUE
        elif kind == "category":
            return self._coerce_category(value, from_text)
        elif kind == "multiple-choice":
            items = value.split(",") if from_text and isinstance(value, str) else value
            if isinstance(items, list) and items and all(isinstance(i, str) for i in items):
                chosen = [i.strip() for i in items]
                if all(i in (self.options or []) for i in chosen):
                    return True, chosen
        return False, None

    def _coerce_category(self, value: Any, from_text: bool) -> tuple[bool, Any]:
        if from_text and isinstance(value, str) and is_digits(value):
            value = int(value)
        for option in self.enumeration or []:
            if isinstance(value, int) and not isinstance(value, bool) and value == option["value"]:
                return True, option["label"]
            if isinstance(value, str) and value.lower() == str(option["label"]).lower():
                return True, option["label"]
        return False, None


def default_attributes() -> list[Attribute]:
    """What a new Brevo account lists: identifiers, names, double opt-in, order fields."""
    normal = [
        Attribute(n, "normal", "text")
        for n in ("EMAIL", "FIRSTNAME", "LASTNAME", "SMS", "WHATSAPP", "LANDLINE_NUMBER", "EXT_ID")
    ]
    return [
        *normal,
        Attribute(
            "DOUBLE_OPT-IN",
            "category",
            "category",
            enumeration=[{"value": 1, "label": "Yes"}, {"value": 2, "label": "No"}],
        ),
        Attribute("ORDER_ID", "transactional", "id"),
        Attribute("ORDER_DATE", "transactional", "date"),
        Attribute("ORDER_PRICE", "transactional", "float"),
    ]


class AttributeRegistry:
    """The account's attributes by upper-cased name (not thread-safe: callers hold the account lock)."""

    def __init__(self, attributes: list[Attribute] | None = None) -> None:
        self._items: dict[str, Attribute] = {a.name: a for a in (attributes or default_attributes())}

    def get(self, name: str) -> Attribute | None:
        """The attribute named ``name`` (any case), or ``None``."""
        return self._items.get(name.upper())

    def all(self) -> list[Attribute]:
        """Every attribute, in creation order."""
        return list(self._items.values())

    def create(self, category: str, name: str, body: dict[str, Any]) -> Attribute:
        """Create an attribute (``POST /contacts/attributes/{category}/{name}``)."""
        name = name.upper()
        if category not in CATEGORIES:
            raise invalid("attributeCategory is not valid")
        if name in self._items:
            raise BrevoError(400, "duplicate_parameter", "Attribute name already exists")
        kind = body.get("type")
        attribute = Attribute(name, category)
        if category in ("calculated", "global"):
            if kind is not None:
                raise invalid(f"type is not allowed for {category} attributes")
            if not isinstance(body.get("value"), str) or not body["value"].strip():
                raise missing(f"value is mandatory for {category} attributes")
            attribute.value = body["value"]
            attribute.is_recurring = bool(body.get("isRecurring", False))
        else:
            allowed = TYPES_BY_CATEGORY[category]
            kind = kind or ("category" if category == "category" else "text")
            if kind not in allowed:
                raise invalid(f"type {kind} is not allowed for {category} attributes")
            attribute.type = kind
            if kind == "category":
                attribute.enumeration = self._enumeration(body.get("enumeration"))
            elif body.get("enumeration") is not None:
                raise invalid("enumeration is only allowed for category attributes")
            if kind == "multiple-choice":
                attribute.options = self._options(body.get("multiCategoryOptions"))
        self._items[name] = attribute
        return attribute

    def update(self, category: str, name: str, body: dict[str, Any]) -> Attribute:
        """Update an attribute (``PUT``): enumeration, formula value or multiple-choice options."""
        if category not in ("category", "calculated", "global", "normal"):
            raise invalid("attributeCategory is not valid")
        attribute = self._items.get(name.upper())
        if attribute is None or attribute.category != category:
            raise not_found("Attribute not found")
        if category == "category":
            attribute.enumeration = self._enumeration(body.get("enumeration"))
        elif category in ("calculated", "global"):
            if not isinstance(body.get("value"), str) or not body["value"].strip():
                raise missing("value is mandatory")
            attribute.value = body["value"]
        elif attribute.type == "multiple-choice":
            new = self._options(body.get("multiCategoryOptions"))
            attribute.options = [
                *(attribute.options or []),
                *(o for o in new if o not in (attribute.options or [])),
            ]
        else:
            raise invalid("Only category, calculated, global and multiple-choice attributes can be updated")
        return attribute

    def delete(self, category: str, name: str) -> None:
        """Delete an attribute; identifier attributes cannot be deleted."""
        if category not in CATEGORIES:
            raise invalid("attributeCategory is not valid")
        attribute = self._items.get(name.upper())
        if attribute is None or attribute.category != category:
            raise not_found("Attribute not found")
        if attribute.name in IDENTIFIER_ATTRIBUTES:
            raise invalid(f"Attribute {attribute.name} cannot be deleted")
        del self._items[attribute.name]

    @staticmethod
    def _enumeration(value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not value:
            raise missing("enumeration is mandatory for category attributes")
        options = []
        for item in value:
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("value"), int)
                or not isinstance(item.get("label"), str)
                or not item["label"]
            ):
                raise invalid("enumeration items need an integer value and a label")
            if len(item["label"]) > 200:
                raise invalid("enumeration labels are limited to 200 characters")
            options.append({"value": item["value"], "label": item["label"]})
        return options

    @staticmethod
    def _options(value: Any) -> list[str]:
        if not isinstance(value, list) or not value or not all(isinstance(o, str) and o for o in value):
            raise missing("multiCategoryOptions is mandatory for multiple-choice attributes")
        return list(value)

    def to_dict(self) -> list[dict[str, Any]]:
        """JSON-serialisable definitions (for ``BrevoAccount.to_dict``)."""
        return [asdict(a) for a in self._items.values()]

    @classmethod
    def from_dict(cls, data: list[dict[str, Any]]) -> AttributeRegistry:
        """Rebuild the registry written by ``to_dict``."""
        return cls([Attribute(**item) for item in data])
