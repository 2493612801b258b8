"""The mapping's data: type pairs, Brevo attribute kinds, and the ``Mapping`` the store keeps.

Split from :mod:`toolkit.mapping` (which validates and suggests mappings) so that the rules
can import the data types alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any, TypeAlias

from toolkit.exceptions import MappingError

# Brevo attribute kinds. EMAIL and SMS are Brevo's identifiers; SMS also stands for its other
# phone identifiers (WHATSAPP, LANDLINE_NUMBER), which take the same E.164 numbers.
EMAIL = "EMAIL"
SMS = "SMS"
TEXT = "text"
DATE = "date"
FLOAT = "float"
BOOLEAN = "boolean"
CATEGORY = "category"
MULTIPLE_CHOICE = "multiple-choice"
BLACKLIST = "blacklist"
"""B8: not an attribute but one of a contact's top-level blacklist flags (``emailBlacklisted``,
``smsBlacklisted``), synced with a Salesforce checkbox. Its canonical value is ``True`` or absent."""

EMAIL_BLACKLISTED = "emailBlacklisted"
"""Brevo's top-level contact flag: ``true`` when the contact unsubscribed from e-mails (B8)."""
SMS_BLACKLISTED = "smsBlacklisted"
"""Brevo's top-level contact flag: ``true`` when the contact unsubscribed from SMS (B8)."""
BLACKLIST_FLAGS = (EMAIL_BLACKLISTED, SMS_BLACKLISTED)
EMAIL_OPT_OUT_FIELD = "HasOptedOutOfEmail"
"""The standard Contact and Lead checkbox B8 syncs with ``emailBlacklisted``."""
RULE_B8 = "B8"

PHONE_IDENTIFIERS = ("SMS", "WHATSAPP", "LANDLINE_NUMBER")

#: Salesforce describe type -> the Brevo kinds a field of that type may map to.
TYPE_PAIRS: dict[str, tuple[str, ...]] = {
    "string": (TEXT,),
    "textarea": (TEXT,),
    "url": (TEXT,),
    "combobox": (TEXT,),
    "email": (EMAIL, TEXT),
    "phone": (SMS, TEXT),
    "date": (DATE,),
    "datetime": (DATE,),
    "double": (FLOAT,),
    "currency": (FLOAT,),
    "percent": (FLOAT,),
    "int": (FLOAT,),
    "boolean": (BOOLEAN,),
    "picklist": (CATEGORY, TEXT),
    "multipicklist": (MULTIPLE_CHOICE,),
}
#: Types synced only with the B4 extension (SPEC S6, Y11, B4).
OPT_IN_TYPES = frozenset({"boolean", "picklist", "multipicklist"})
#: Salesforce types whose values are text with a maximum length (STRING_TOO_LONG).
TEXT_SF_TYPES = frozenset(
    {"string", "textarea", "url", "combobox", "email", "phone", "picklist", "multipicklist"}
)
#: Fields naming the record's country, most specific first (phone numbers' region).
COUNTRY_FIELDS: dict[str, tuple[str, ...]] = {
    "Contact": ("MailingCountryCode", "MailingCountry", "OtherCountryCode", "OtherCountry"),
    "Lead": ("CountryCode", "Country"),
}

BrevoAttributes: TypeAlias = dict[str, Any] | Iterable[dict[str, Any]]
"""Brevo's contact attributes: the whole ``GET /contacts/attributes`` answer, or its list."""

_KINDS = {"text": TEXT, "date": DATE, "float": FLOAT, "boolean": BOOLEAN, "multiple-choice": MULTIPLE_CHOICE}


def attribute_list(brevo_attributes: BrevoAttributes) -> list[dict[str, Any]]:
    """The attribute dicts, given the whole ``GET /contacts/attributes`` answer or its list."""
    items = brevo_attributes.get("attributes", []) if isinstance(brevo_attributes, dict) else brevo_attributes
    return [a for a in items if isinstance(a, dict) and a.get("name")]


def brevo_kind(attribute: dict[str, Any]) -> str | None:
    """The kind of value a Brevo attribute holds, or ``None`` when a sync may not write it."""
    name = str(attribute.get("name", "")).upper()
    category = attribute.get("category", "normal")
    if name == "EXT_ID" or category not in ("normal", "category"):
        return None
    if name == "EMAIL":
        return EMAIL
    if name in PHONE_IDENTIFIERS:
        return SMS
    if category == "category" or attribute.get("enumeration"):
        return CATEGORY
    return _KINDS.get(str(attribute.get("type", "text")))


def unwritable_reason(attribute: dict[str, Any]) -> str:
    """Why :func:`brevo_kind` refused ``attribute``, in plain words."""
    name = str(attribute.get("name", "")).upper()
    category = attribute.get("category", "normal")
    if name == "EXT_ID":
        return "EXT_ID is reserved: the toolkit links each contact to its Salesforce Id there (SPEC B5)"
    if category in ("calculated", "global"):
        return "Brevo computes this attribute's value, so a sync cannot write it"
    if category == "transactional":
        return "it is a transactional attribute (orders), not contact data"
    return f"Brevo attributes of type {attribute.get('type')} cannot be synced"


@dataclass(frozen=True)
class MappableField:
    """A Salesforce field the wizard offers, and the Brevo kinds it may map to.

    Attributes:
        name: API name (``MobilePhone``).
        label: the label users know (``Mobile Phone``).
        sf_type: describe type (``phone``).
        brevo_types: Brevo kinds, first the natural one (``("SMS", "text")``).
    """

    name: str
    label: str
    sf_type: str
    brevo_types: tuple[str, ...]


@dataclass(frozen=True)
class MappedField:
    """One validated pair and the metadata the rules need, copied from both sides.

    Attributes:
        brevo_attribute: attribute name, upper case.
        kind: Brevo kind (``EMAIL``, ``SMS``, ``text``, ``date``, ``float``, ``boolean``,
            ``category``, ``multiple-choice``).
        sf_field, sf_type, label: the Salesforce field's API name, describe type and label.
        length: maximum length of a text field (0 = none).
        required: Salesforce refuses the field empty (not nillable; booleans excepted).
        precision, scale: digits of a number field.
        picklist: the picklist's values; restricted: only those are accepted.
        options: Brevo category labels or multiple-choice options; option_ids: the
            category's numeric values, aligned with ``options``.
    """

    brevo_attribute: str
    kind: str
    sf_field: str
    sf_type: str
    label: str
    length: int = 0
    required: bool = False
    precision: int = 0
    scale: int = 0
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    options: tuple[str, ...] = ()
    option_ids: tuple[int, ...] = ()

    @classmethod
    def build(
        cls, attribute_name: str, kind: str, field: dict[str, Any], attribute: dict[str, Any]
    ) -> MappedField:
        """Combine a describe field entry and a Brevo attribute entry."""
        enumeration = [e for e in attribute.get("enumeration") or [] if isinstance(e, dict)]
        options = tuple(str(e.get("label")) for e in enumeration) or tuple(
            attribute.get("multiCategoryOptions") or ()
        )
        return cls(
            brevo_attribute=attribute_name,
            kind=kind,
            sf_field=field["name"],
            sf_type=field["type"],
            label=field.get("label") or field["name"],
            length=int(field.get("length") or 0),
            required=not field.get("nillable", True) and field["type"] != "boolean",
            precision=int(field.get("precision") or 0),
            scale=int(field.get("scale") or 0),
            picklist=tuple(
                str(p["value"]) for p in field.get("picklistValues") or [] if p.get("active", True)
            ),
            restricted=bool(field.get("restrictedPicklist")),
            options=options,
            option_ids=tuple(int(e["value"]) for e in enumeration if isinstance(e.get("value"), int)),
        )


@dataclass(frozen=True)
class Mapping:
    """A validated mapping of one integration; build it with ``validate_mapping`` or ``from_json``.

    Attributes:
        object: ``"Contact"`` or ``"Lead"``.
        pairs: ``(brevo_attribute, salesforce_field)`` pairs.
        booleans_and_picklists: B4 switched on.
        fields: one :class:`MappedField` per pair, same order.
        country_fields: the object's country fields, read to parse national phone numbers.
        unsubscribes: B8's blacklist flags, each with its Salesforce checkbox (kind
            :data:`BLACKLIST`); set for a run by :meth:`with_unsubscribes`, never stored (the
            integration's ``sync_unsubscribes`` and ``sms_optout_field`` say whether they sync).
    """

    object: str
    pairs: tuple[tuple[str, str], ...]
    booleans_and_picklists: bool = False
    fields: tuple[MappedField, ...] = ()
    country_fields: tuple[str, ...] = ()
    unsubscribes: tuple[MappedField, ...] = ()

    def __post_init__(self) -> None:
        described = tuple((f.brevo_attribute, f.sf_field) for f in self.fields)
        if described != tuple(tuple(p) for p in self.pairs):
            raise ValueError(
                "a Mapping needs each pair's metadata: build it with validate_mapping() or from_json()"
            )

    def synced(self) -> Iterator[MappedField]:
        """The pairs that sync: all of them, except boolean/picklist fields without B4 (Y11).

        Then B8's blacklist flags, when the run syncs them (:meth:`with_unsubscribes`).
        """
        for field in self.fields:
            if self.booleans_and_picklists or field.sf_type not in OPT_IN_TYPES:
                yield field
        yield from self.unsubscribes

    def with_unsubscribes(self, sms_optout_field: str | None = None, sms_label: str | None = None) -> Mapping:
        """This mapping plus B8's flags: ``emailBlacklisted`` <-> ``HasOptedOutOfEmail``, and
        ``smsBlacklisted`` <-> ``sms_optout_field`` when one is given (a checkbox of the object).

        Raises:
            MappingError: a flag's checkbox is mapped to an attribute already (Brevo -> Salesforce
                would get two values for it), naming the field and B8.
        """
        flags = [(EMAIL_BLACKLISTED, EMAIL_OPT_OUT_FIELD, "Email Opt Out")]
        if sms_optout_field:
            flags.append((SMS_BLACKLISTED, sms_optout_field, sms_label or sms_optout_field))
        mapped = {f.sf_field.lower(): f.brevo_attribute for f in self.fields}
        for flag, sf_field, _label in flags:
            if sf_field.lower() in mapped:
                raise MappingError(
                    sf_field,
                    f"the field is mapped to the attribute {mapped[sf_field.lower()]} and synced with Brevo's "
                    f"{flag} by {RULE_B8} (sync unsubscribes); unmap it or switch {RULE_B8} off",
                )
        if sms_optout_field and sms_optout_field.lower() == EMAIL_OPT_OUT_FIELD.lower():
            raise MappingError(
                sms_optout_field,
                f"{EMAIL_OPT_OUT_FIELD} is synced with emailBlacklisted already; choose another checkbox for "
                f"smsBlacklisted ({RULE_B8})",
            )
        unsubscribes = tuple(
            MappedField(flag, BLACKLIST, sf_field, "boolean", label) for flag, sf_field, label in flags
        )
        return replace(self, unsubscribes=unsubscribes)

    @property
    def email_field(self) -> str | None:
        """The Salesforce field mapped to Brevo's ``EMAIL``, if any."""
        return next((f.sf_field for f in self.synced() if f.brevo_attribute == "EMAIL"), None)

    @property
    def soql_fields(self) -> tuple[str, ...]:
        """The Salesforce fields a sync reads: Id, the mapped fields, the country fields."""
        names = ["Id", *(f.sf_field for f in self.synced()), *self.country_fields]
        return tuple(dict.fromkeys(names))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict for the store (``Store.set_mapping``)."""
        return {
            "version": 1,
            "object": self.object,
            "pairs": [list(p) for p in self.pairs],
            "booleans_and_picklists": self.booleans_and_picklists,
            "fields": [asdict(f) for f in self.fields],
            "country_fields": list(self.country_fields),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Mapping:
        """Rebuild a mapping written by :meth:`to_json`.

        Raises:
            ValueError: the dict is not a mapping written by :meth:`to_json`.
        """
        try:
            fields = tuple(MappedField(**_tuples(f)) for f in data["fields"])
            return cls(
                str(data["object"]),
                tuple((str(a), str(s)) for a, s in data["pairs"]),
                bool(data.get("booleans_and_picklists", False)),
                fields,
                tuple(data.get("country_fields", ())),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a stored mapping: {exc}") from None


def _tuples(item: dict[str, Any]) -> dict[str, Any]:
    """A JSON object's lists as tuples again (the frozen dataclasses hold tuples)."""
    return {key: tuple(value) if isinstance(value, list) else value for key, value in item.items()}
