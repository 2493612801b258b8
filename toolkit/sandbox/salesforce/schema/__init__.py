"""Object and field metadata of the sandbox org, and the describe payloads built from it.

Field definitions live in :mod:`schema.objects`; this module holds the data model, the lookup
helpers used by validation and SOQL, and the JSON shapes of ``sobjects/``, ``sobjects/X/`` and
``sobjects/X/describe/`` as Salesforce returns them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# describe "type" -> SOAP type, as in real describe results.
SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "string": "xsd:string",
    "textarea": "xsd:string",
    "email": "xsd:string",
    "phone": "xsd:string",
    "picklist": "xsd:string",
    "multipicklist": "xsd:string",
    "url": "xsd:string",
    "boolean": "xsd:boolean",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
}
TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "picklist", "multipicklist", "url"})
NUMBER_TYPES = frozenset({"double", "currency", "percent", "int"})


@dataclass(frozen=True)
class FieldDef:
    """One field of an sObject, with the properties describe reports.

    ``createable``/``updateable`` are what the API user may write; server-set fields
    (Id, audit fields, formulas, compound names) have both False.
    """

    name: str
    label: str
    type: str
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    calculated: bool = False
    formula: str | None = None
    defaulted_on_create: bool = False
    default_value: Any = None
    custom: bool = False
    picklist: tuple[str, ...] = ()
    default_picklist: str | None = None
    restricted_picklist: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    precision: int = 0
    scale: int = 0
    auto_number: bool = False
    name_field: bool = False
    id_lookup: bool = False
    external_id: bool = False
    unique: bool = False
    compound_field_name: str | None = None
    filterable: bool = True
    sortable: bool = True
    restricted_delete: bool = False
    extra_type_info: str | None = None

    @property
    def required_on_create(self) -> bool:
        """Salesforce's rule: not nillable, createable and not defaulted on create."""
        return not self.nillable and self.createable and not self.defaulted_on_create

    def describe(self) -> dict[str, Any]:
        """The field's entry in ``describe().fields``, keys as Salesforce returns them."""
        text = self.type in TEXT_TYPES or self.type in ("id", "reference")
        byte_length = self.length * 3 if self.type in TEXT_TYPES else self.length
        return {
            "aggregatable": self.type not in ("textarea", "multipicklist") or self.length <= 255,
            "aiPredictionField": False,
            "autoNumber": self.auto_number,
            "byteLength": byte_length,
            "calculated": self.calculated,
            "calculatedFormula": self.formula,
            "cascadeDelete": False,
            "caseSensitive": False,
            "compoundFieldName": self.compound_field_name,
            "controllerName": None,
            "createable": self.createable,
            "custom": self.custom,
            "defaultValue": self.default_value,
            "defaultValueFormula": None,
            "defaultedOnCreate": self.defaulted_on_create,
            "dependentPicklist": False,
            "deprecatedAndHidden": False,
            "digits": 0,
            "displayLocationInDecimal": False,
            "encrypted": False,
            "externalId": self.external_id,
            "extraTypeInfo": self.extra_type_info or ("plaintextarea" if self.type == "textarea" else None),
            "filterable": self.filterable,
            "filteredLookupInfo": None,
            "formulaTreatNullNumberAsZero": False,
            "groupable": self.type not in ("textarea", "double", "currency", "multipicklist", "datetime"),
            "highScaleNumber": False,
            "htmlFormatted": False,
            "idLookup": self.id_lookup,
            "inlineHelpText": None,
            "label": self.label,
            "length": self.length if text else 0,
            "mask": None,
            "maskType": None,
            "name": self.name,
            "nameField": self.name_field,
            "namePointing": False,
            "nillable": self.nillable,
            "permissionable": self.custom and self.nillable and not self.calculated,
            "picklistValues": [
                {
                    "active": True,
                    "defaultValue": value == self.default_picklist,
                    "label": value,
                    "validFor": None,
                    "value": value,
                }
                for value in self.picklist
            ],
            "polymorphicForeignKey": len(self.reference_to) > 1,
            "precision": self.precision,
            "queryByDistance": False,
            "referenceTargetField": None,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "relationshipOrder": None,
            "restrictedDelete": self.restricted_delete,
            "restrictedPicklist": self.restricted_picklist,
            "scale": self.scale,
            "searchPrefilterable": self.type == "reference",
            "soapType": SOAP_TYPES[self.type],
            "sortable": self.sortable,
            "type": self.type,
            "unique": self.unique,
            "updateable": self.updateable,
            "writeRequiresMasterRead": False,
        }


@dataclass(frozen=True)
class ChildRelationship:
    """A child relationship reported by describe (e.g. Contact.Cases)."""

    child_sobject: str
    field: str
    relationship_name: str
    restricted_delete: bool = False


@dataclass(frozen=True)
class ObjectDef:
    """An sObject: its describe properties and fields (in describe order).

    ``read_only`` objects (User, Organization) hold no stored data: their records are built
    from the org's settings, describe reports them neither createable, updateable nor
    deletable, and every write is refused. ``describe_flags`` overrides other object-level
    describe properties (e.g. ``searchable``) where a standard object differs from the rest.
    """

    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: tuple[FieldDef, ...]
    custom: bool = False
    child_relationships: tuple[ChildRelationship, ...] = ()
    read_only: bool = False
    describe_flags: tuple[tuple[str, bool], ...] = ()
    _by_lower: dict[str, FieldDef] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_lower.update({f.name.lower(): f for f in self.fields})

    def field(self, name: str) -> FieldDef | None:
        """The field called ``name`` (case-insensitive, as Salesforce), or None."""
        return self._by_lower.get(name.lower())

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def field_types(self) -> dict[str, str]:
        """Canonical field name -> describe type (what the SOQL compiler needs)."""
        return {f.name: f.type for f in self.fields}

    def basic_info(self, version: str) -> dict[str, Any]:
        """The object's entry in the global describe and in ``sobjects/X/``."""
        base = f"/services/data/v{version}/sobjects/{self.name}"
        writable = not self.read_only
        info: dict[str, Any] = {
            "activateable": False,
            "associateEntityType": None,
            "associateParentEntity": None,
            "createable": writable,
            "custom": self.custom,
            "customSetting": False,
            "deepCloneable": False,
            "deletable": writable,
            "deprecatedAndHidden": False,
            "feedEnabled": True,
            "hasSubtypes": False,
            "isInterface": False,
            "isSubtype": False,
            "keyPrefix": self.key_prefix,
            "label": self.label,
            "labelPlural": self.label_plural,
            "layoutable": True,
            "mergeable": writable and self.name != "Case",
            "mruEnabled": True,
            "name": self.name,
            "queryable": True,
            "replicateable": True,
            "retrieveable": True,
            "searchable": True,
            "triggerable": True,
            "undeletable": writable,
            "updateable": writable,
            "urls": {
                "compactLayouts": f"{base}/describe/compactLayouts",
                "rowTemplate": f"{base}/{{ID}}",
                "approvalLayouts": f"{base}/describe/approvalLayouts",
                "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
                "listviews": f"{base}/listviews",
                "describe": f"{base}/describe",
                "quickActions": f"{base}/quickActions",
                "layouts": f"{base}/describe/layouts",
                "sobject": base,
            },
        }
        info.update(self.describe_flags)
        return info

    def describe(self, version: str) -> dict[str, Any]:
        """The full ``sobjects/X/describe/`` payload."""
        info = self.basic_info(version)
        info.update(
            {
                "actionOverrides": [],
                "childRelationships": [
                    {
                        "cascadeDelete": False,
                        "childSObject": rel.child_sobject,
                        "deprecatedAndHidden": False,
                        "field": rel.field,
                        "junctionIdListNames": [],
                        "junctionReferenceTo": [],
                        "relationshipName": rel.relationship_name,
                        "restrictedDelete": rel.restricted_delete,
                    }
                    for rel in self.child_relationships
                ],
                "compactLayoutable": True,
                "defaultImplementation": None,
                "extendedBy": None,
                "extendsInterfaces": None,
                "fields": [f.describe() for f in self.fields],
                "implementedBy": None,
                "implementsInterfaces": None,
                "listviewable": None,
                "lookupLayoutable": None,
                "namedLayoutInfos": [],
                "networkScopeFieldName": None,
                "recordTypeInfos": [
                    {
                        "active": True,
                        "available": True,
                        "defaultRecordTypeMapping": True,
                        "developerName": "Master",
                        "master": True,
                        "name": "Master",
                        "recordTypeId": "012000000000000AAA",
                        "urls": {
                            "layout": f"/services/data/v{version}/sobjects/{self.name}/describe/layouts/"
                            "012000000000000AAA"
                        },
                    }
                ],
                "searchLayoutable": True,
                "sobjectDescribeOption": "FULL",
                "supportedScopes": [
                    {"label": "All " + self.label_plural.lower(), "name": "everything"},
                    {"label": "My " + self.label_plural.lower(), "name": "mine"},
                ],
            }
        )
        return dict(sorted(info.items()))


class Schema:
    """The org's objects, looked up case-insensitively by name or by key prefix."""

    def __init__(self, objects: list[ObjectDef]) -> None:
        self.objects = {o.name: o for o in objects}
        self._by_lower = {o.name.lower(): o for o in objects}
        self._by_prefix = {o.key_prefix: o for o in objects}

    def get(self, name: str) -> ObjectDef | None:
        """The object called ``name`` (case-insensitive), or None."""
        return self._by_lower.get(name.lower())

    def by_prefix(self, key_prefix: str) -> ObjectDef | None:
        """The object whose Ids start with ``key_prefix``, or None."""
        return self._by_prefix.get(key_prefix)

    def global_describe(self, version: str) -> dict[str, Any]:
        """The ``sobjects/`` payload."""
        return {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [o.basic_info(version) for o in self.objects.values()],
        }


def default_schema() -> Schema:
    """The sandbox org's schema: Contact, Lead and Case with their custom fields, plus the
    read-only standard objects every org has (User, Organization), in global-describe
    (alphabetical) order."""
    from toolkit.sandbox.salesforce.schema.objects import build_objects
    from toolkit.sandbox.salesforce.schema.standard import standard_objects

    return Schema(sorted([*build_objects(), *standard_objects()], key=lambda o: o.name))
