"""The semantic model (TMSL, ``model.bim``) built from dbt's manifest.

One table per model in schema ``analytics``, its columns and their types from the model's
contract, descriptions from the dbt docs; the relationships and measures of
:mod:`consulting_crm.powerbi.measures`; two M parameters (server and database) that every
partition reads through Power BI's PostgreSQL connector.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from consulting_crm.powerbi.measures import MEASURE_TABLE, MEASURES, RELATIONSHIPS, format_string
from ingest.errors import CrmError

ANALYTICS_SCHEMA = "analytics"
DATE_TABLE = "dim_date"
DATE_KEY = "date_day"
# Every id in the project derives from this namespace, so two runs write the same bytes.
ID_NAMESPACE = uuid.UUID("6f1d0c8e-2b1a-4c55-9a53-1d3f0c6b7e21")


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str  # the contract's PostgreSQL type, e.g. numeric(14,2)
    description: str


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name}.{name}")


def stable_id(*parts: str) -> str:
    """A UUID that depends only on ``parts``."""
    return str(uuid.uuid5(ID_NAMESPACE, "/".join(parts)))


def analytics_tables(manifest: Mapping[str, Any]) -> tuple[Table, ...]:
    """The ``analytics`` models of a dbt manifest, sorted by name, with their contract columns."""
    tables = []
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model" or node.get("schema") != ANALYTICS_SCHEMA:
            continue
        name = node.get("alias") or node["name"]
        if not node.get("config", {}).get("contract", {}).get("enforced"):
            raise CrmError(
                f"model {name} in schema analytics has no enforced contract, so its column types "
                "are not fixed; add `contract: {enforced: true}` to it (models/marts do this in "
                "dbt_project.yml) and run the command again."
            )
        columns = []
        for column in node.get("columns", {}).values():
            if not column.get("data_type"):
                raise CrmError(
                    f"model {name}, column {column['name']}: no data_type in the model's YAML; "
                    "every column of a contract needs one."
                )
            columns.append(
                Column(column["name"], column["data_type"], column.get("description", "").strip())
            )
        tables.append(Table(name, node.get("description", "").strip(), tuple(columns)))
    if not tables:
        raise CrmError(
            "dbt's manifest lists no models in schema analytics; run `crm build` (or dbt parse) "
            "in the project, then run the command again."
        )
    return tuple(sorted(tables, key=lambda table: table.name))


_NUMERIC = re.compile(r"^numeric\((\d+),\s*(\d+)\)$")


def tabular_type(data_type: str) -> str:
    """The model's data type for a PostgreSQL contract type."""
    text = data_type.strip().lower()
    if text in {"text", "uuid", "varchar", "character varying", "char", "citext"}:
        return "string"
    if text in {"integer", "int", "int4", "bigint", "int8", "smallint", "int2"}:
        return "int64"
    if text in {"boolean", "bool"}:
        return "boolean"
    if text in {"date", "timestamp", "timestamptz", "timestamp with time zone"}:
        return "dateTime"
    if text in {"double precision", "real", "float8", "float4", "numeric"}:
        return "double"
    match = _NUMERIC.match(text)
    if match:
        # Fixed decimal keeps 4 places exactly: right for money, too few for shares (scale 6).
        return "decimal" if int(match.group(2)) <= 4 else "double"
    if text.startswith("varchar") or text.startswith("character varying"):
        return "string"
    raise CrmError(
        f"column type {data_type!r} has no Power BI type in consulting_crm/powerbi/model.py; "
        "add it to tabular_type() or change the model's contract."
    )


def _format(data_type: str) -> str | None:
    text = data_type.lower()
    if text == "date":
        return "yyyy-mm-dd"
    if text.startswith("timestamp"):
        return "yyyy-mm-dd hh:nn"
    if text.startswith("numeric(14,2)"):
        return "#,0.00"
    if tabular_type(text) == "int64":
        return "0"
    return None


def _is_key(column: Column) -> bool:
    return column.name.endswith("_id")


def _lines(text: str) -> str | list[str]:
    """TMSL accepts an expression as one string or as its lines; lines diff better."""
    lines = text.splitlines()
    return lines if len(lines) > 1 else text


def _m_source(table: str) -> list[str]:
    return [
        "let",
        "    Source = PostgreSQL.Database(Server, Database),",
        f'    Data = Source{{[Schema = "{ANALYTICS_SCHEMA}", Item = "{table}"]}}[Data]',
        "in",
        "    Data",
    ]


def _table(table: Table) -> dict[str, Any]:
    columns = []
    for column in table.columns:
        entry: dict[str, Any] = {
            "name": column.name,
            "dataType": tabular_type(column.data_type),
            "sourceColumn": column.name,
        }
        if column.description:
            entry["description"] = column.description
        shown = _format(column.data_type)
        if shown:
            entry["formatString"] = shown
        if _is_key(column):
            entry["isHidden"] = True
        if tabular_type(column.data_type) in {"int64", "decimal", "double"}:
            entry["summarizeBy"] = "none" if _is_key(column) else "sum"
        else:
            entry["summarizeBy"] = "none"
        if table.name == DATE_TABLE and column.name == DATE_KEY:
            entry["isKey"] = True
        columns.append(entry)
    result: dict[str, Any] = {"name": table.name}
    if table.description:
        result["description"] = table.description
    if table.name == DATE_TABLE:
        result["dataCategory"] = "Time"  # marks the date table; isKey names its key
    result["columns"] = columns
    result["partitions"] = [
        {
            "name": table.name,
            "mode": "import",
            "source": {"type": "m", "expression": _m_source(table.name)},
        }
    ]
    return result


def _measure_table(currency: str) -> dict[str, Any]:
    return {
        "name": MEASURE_TABLE,
        "description": "The DAX measures of docs/metrics.md (generated by crm powerbi).",
        "columns": [
            {
                "name": "Measure",
                "dataType": "string",
                "sourceColumn": "Measure",
                "isHidden": True,
                "summarizeBy": "none",
            }
        ],
        "partitions": [
            {
                "name": MEASURE_TABLE,
                "mode": "import",
                "source": {"type": "m", "expression": "#table(type table [Measure = text], {})"},
            }
        ],
        "measures": [
            {
                "name": item.name,
                "expression": _lines(item.expression),
                "formatString": format_string(item.format, currency),
                "description": item.description,
                "displayFolder": item.folder,
            }
            for item in MEASURES
        ],
    }


def check_relationships(tables: tuple[Table, ...]) -> None:
    """Every relationship names tables and columns the manifest has, with the same type."""
    by_name = {table.name: table for table in tables}
    for rel in RELATIONSHIPS:
        ends = []
        for table, column in ((rel.from_table, rel.from_column), (rel.to_table, rel.to_column)):
            if table not in by_name:
                raise CrmError(
                    f"relationship {rel.from_table}.{rel.from_column} -> {rel.to_table}."
                    f"{rel.to_column}: model {table} is not in schema analytics."
                )
            try:
                ends.append(tabular_type(by_name[table].column(column).data_type))
            except KeyError:
                raise CrmError(
                    f"relationship {rel.from_table}.{rel.from_column} -> {rel.to_table}."
                    f"{rel.to_column}: model {table} has no column {column}."
                ) from None
        if ends[0] != ends[1]:
            raise CrmError(
                f"relationship {rel.from_table}.{rel.from_column} -> {rel.to_table}."
                f"{rel.to_column} joins a {ends[0]} to a {ends[1]}; both ends need one type."
            )


def _relationship(index: int) -> dict[str, Any]:
    rel = RELATIONSHIPS[index]
    entry: dict[str, Any] = {
        "name": stable_id(
            "relationship", rel.from_table, rel.from_column, rel.to_table, rel.to_column
        ),
        "fromTable": rel.from_table,
        "fromColumn": rel.from_column,
        "toTable": rel.to_table,
        "toColumn": rel.to_column,
    }
    if rel.one_to_one:
        # Power BI filters both ways across a one-to-one relationship.
        entry.update(
            fromCardinality="one", toCardinality="one", crossFilteringBehavior="bothDirections"
        )
    if not rel.active:
        entry["isActive"] = False
    return entry


def _parameter(name: str, value: str, description: str) -> dict[str, Any]:
    quoted = value.replace('"', '""')
    return {
        "name": name,
        "kind": "m",
        "description": description,
        "expression": f'"{quoted}" meta [IsParameterQuery=true, Type="Text", '
        "IsParameterQueryRequired=true]",
    }


def build_model(
    manifest: Mapping[str, Any], *, server: str, database: str, currency: str = "EUR"
) -> dict[str, Any]:
    """The TMSL document (``model.bim``) for the manifest's ``analytics`` models."""
    tables = analytics_tables(manifest)
    check_relationships(tables)
    if MEASURE_TABLE in {table.name for table in tables}:
        raise CrmError(f"a model is called {MEASURE_TABLE}, the name of the measure table.")
    return {
        "compatibilityLevel": 1567,
        "model": {
            "culture": "en-US",
            "dataAccessOptions": {"legacyRedirects": True, "returnErrorValuesAsNull": True},
            "defaultPowerBIDataSourceVersion": "powerBI_V3",
            "sourceQueryCulture": "en-US",
            "tables": [*(_table(table) for table in tables), _measure_table(currency)],
            "relationships": [_relationship(index) for index in range(len(RELATIONSHIPS))],
            "expressions": [
                _parameter(
                    "Server",
                    server,
                    "PostgreSQL server as host:port (crm db serve for the embedded server).",
                ),
                _parameter("Database", database, "The CRM database on that server."),
            ],
            "annotations": [
                {"name": "PBI_QueryOrder", "value": '["Server","Database"]'},
                {"name": "__PBI_TimeIntelligenceEnabled", "value": "0"},
            ],
        },
    }
