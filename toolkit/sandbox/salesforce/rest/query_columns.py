"""``query?q=...&columns=true``: the column metadata of a SOQL query instead of its records.

``sf data query`` (salesforcecli/plugin-data, ``src/commands/data/query.ts``, ``retrieveColumns``)
asks ``${baseUrl}/query?q=<soql>&columns=true`` after a query that returned records and reads
``columnMetadata`` from the answer to label its table. The shape answered here:

- each column as in plugin-data's fixtures (``test/test-files/queryFields.exemplars.ts``):
  ``{"aggregate": false, "apexType": "Id", "booleanType": false, "columnName": "Id",
  "custom": false, "displayName": "Id", "foreignKeyName": null, "insertable": false,
  "joinColumns": [], "numberType": false, "textType": false, "updatable": false}``;
- around them the query's ``entityName``, ``groupBy``, ``idSelected`` and ``keyPrefix``, as in the
  ``queryMetadata`` that forcedotcom/salesforcedx-vscode's Apex Replay Debugger tests read
  (``packages/salesforcedx-apex-replay-debugger/test/unit/commands/apexExecutionOverlayResultCommand.test.ts``:
  ``"entityName":"Account","groupBy":false,"idSelected":true,"keyPrefix":"001"``).

The sandbox's SOQL has no relationship fields, subqueries, aggregates nor GROUP BY, so
``joinColumns`` is always empty and ``aggregate``/``groupBy`` false; ``COUNT()`` has no column.
"""

from __future__ import annotations

from typing import Any

from toolkit.sandbox.salesforce.schema import NUMBER_TYPES, TEXT_TYPES, FieldDef, ObjectDef
from toolkit.sandbox.salesforce.soql import CompiledQuery

# describe type -> the Apex type of the field's values.
APEX_TYPES = {
    "id": "Id",
    "reference": "Id",
    "boolean": "Boolean",
    "date": "Date",
    "datetime": "Datetime",
    "double": "Decimal",
    "currency": "Decimal",
    "percent": "Decimal",
    "int": "Integer",
}


def column(fdef: FieldDef) -> dict[str, Any]:
    """One selected field's entry in ``columnMetadata``."""
    return {
        "aggregate": False,
        "apexType": APEX_TYPES.get(fdef.type, "String"),
        "booleanType": fdef.type == "boolean",
        "columnName": fdef.name,
        "custom": fdef.custom,
        "displayName": fdef.name,
        "foreignKeyName": None,
        "insertable": fdef.createable,
        "joinColumns": [],
        "numberType": fdef.type in NUMBER_TYPES,
        "textType": fdef.type in TEXT_TYPES,
        "updatable": fdef.updateable,
    }


def column_metadata(obj: ObjectDef, compiled: CompiledQuery) -> dict[str, Any]:
    """The ``columns=true`` answer for a query compiled against ``obj`` (the query is not run)."""
    columns = [column(obj.field(name)) for name in compiled.fields]  # type: ignore[arg-type]
    return {
        "columnMetadata": columns,
        "entityName": obj.name,
        "groupBy": False,
        "idSelected": "Id" in compiled.fields,
        "keyPrefix": obj.key_prefix,
    }
