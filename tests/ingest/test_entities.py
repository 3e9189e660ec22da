"""The entity registry (ingest/entities.py) against schema.sql, applied to a real database.

Every column of every imported table is either written by the importer (with the type and insert
default the registry gives it), a system column, or listed as not imported with a reason; every
enum has the labels the validator accepts, in the same order. A column added to schema.sql and
not to the registry, or the other way round, fails here with a message that says what to do.
"""

from __future__ import annotations

import re

import psycopg
import pytest

from ingest.entities import (
    ENTITIES,
    ENTITY_FIELDS,
    ENUMS,
    IDENTITY,
    PEOPLE,
    REGISTRY,
    ROW_IDENTITY,
    Field,
)

REGISTRY_FILE = "ingest/entities.py"
# The type information_schema shows for each staged type.
SCHEMA_TYPES = {"timestamptz": "timestamp with time zone"}


def table_columns(conn: psycopg.Connection, table: str) -> dict[str, tuple[str, str | None]]:
    """Column → (type, default without its cast) of a table in schema public."""
    rows = conn.execute(
        """
        select column_name,
               case data_type
                   when 'numeric' then format('numeric(%%s,%%s)', numeric_precision, numeric_scale)
                   when 'USER-DEFINED' then udt_name
                   else data_type end,
               column_default
        from information_schema.columns
        where table_schema = 'public' and table_name = %s
        order by ordinal_position
        """,
        (table,),
    ).fetchall()
    return {name: (kind, _without_cast(default)) for name, kind, default in rows}


def _without_cast(default: str | None) -> str | None:
    return None if default is None else re.sub(r"::[\w .]+$", "", default)


def expected_type(column: Field) -> str:
    if column.kind == "enum":
        assert column.enum is not None
        return column.enum
    return SCHEMA_TYPES.get(column.sql_type, column.sql_type)


def length_limits(conn: psycopg.Connection, table: str) -> dict[str, int]:
    """Column → the limit of its `<table>_<column>_length` CHECK constraint."""
    rows = conn.execute(
        """
        select c.conname, pg_get_constraintdef(c.oid)
        from pg_catalog.pg_constraint c
        where c.conrelid = format('public.%%I', %s::text)::regclass and c.contype = 'c'
          and c.conname like '%%\\_length'
        """,
        (table,),
    ).fetchall()
    limits: dict[str, int] = {}
    for name, definition in rows:
        found = re.search(r"char_length\((\w+)\) <= (\d+)", definition)
        assert found, f"{name} is not a length limit: {definition}"
        assert name == f"{table}_{found.group(1)}_length", f"{name} limits {found.group(1)}"
        limits[found.group(1)] = int(found.group(2))
    return limits


def schema_differences(conn: psycopg.Connection) -> list[str]:
    """Every way the registry and the database disagree, one message each."""
    problems: list[str] = []
    for entity in REGISTRY.values():
        table = f"public.{entity.table}"
        stored = table_columns(conn, entity.table)
        limits = length_limits(conn, entity.table) if stored else {}
        if not stored:
            problems.append(f"{table} does not exist in schema.sql, but {REGISTRY_FILE} loads it")
            continue
        written = {column.name: column for column in entity.columns}
        for name in stored:
            if (
                name not in written
                and name not in entity.system_columns
                and name not in entity.not_imported
            ):
                problems.append(
                    f"{table}.{name} is in schema.sql but not in {REGISTRY_FILE}: add it to the "
                    f"columns of {entity.name} (with its kind), or to its not_imported with the "
                    "reason no import fills it"
                )
        for name in [*written, *entity.system_columns, *entity.not_imported]:
            if name not in stored:
                problems.append(
                    f"{REGISTRY_FILE} lists {entity.name}.{name}, but {table} has no such column "
                    "in schema.sql: remove it from the registry or add it to the table"
                )
        for name, column in written.items():
            if name not in stored:
                continue
            kind, default = stored[name]
            if kind != expected_type(column):
                problems.append(
                    f"{table}.{name} is {kind} in schema.sql, but {REGISTRY_FILE} reads it as "
                    f"{column.kind} ({expected_type(column)}): make the two agree"
                )
            if default != column.default:
                problems.append(
                    f"{table}.{name} defaults to {default} in schema.sql, but {REGISTRY_FILE} "
                    f"inserts {column.default} for a blank cell: make the two agree"
                )
            if limits.get(name) != column.length_limit:
                problems.append(
                    f"{table}.{name} is limited to {limits.get(name)} characters in schema.sql "
                    f"(constraint {entity.table}_{name}_length), but {REGISTRY_FILE} allows "
                    f"{column.length_limit}: make the two agree"
                )
        for name in limits.keys() - written.keys():
            problems.append(
                f"{table}.{name} has a length limit in schema.sql, but {REGISTRY_FILE} does not "
                "write that column: remove the limit or add the column to the registry"
            )
    rows = conn.execute(
        """
        select t.typname, array_agg(e.enumlabel::text order by e.enumsortorder)
        from pg_catalog.pg_type t
        join pg_catalog.pg_namespace n on n.oid = t.typnamespace
        join pg_catalog.pg_enum e on e.enumtypid = t.oid
        where n.nspname = 'public'
        group by t.typname
        """
    ).fetchall()
    labels = {name: tuple(values) for name, values in rows}
    for name in sorted(labels.keys() | ENUMS.keys()):
        if labels.get(name) != ENUMS.get(name):
            problems.append(
                f"enum public.{name} has labels {labels.get(name)} in schema.sql, but ENUMS in "
                f"{REGISTRY_FILE} has {ENUMS.get(name)}: copy the labels, in their order"
            )
    return problems


def test_the_registry_matches_schema_sql(conn: psycopg.Connection) -> None:
    assert schema_differences(conn) == []


@pytest.mark.parametrize(
    ("change", "reported"),
    [
        (
            "alter table public.accounts add column fax text",
            "public.accounts.fax is in schema.sql but not in ingest/entities.py: add it to the "
            "columns of accounts (with its kind), or to its not_imported with the reason no "
            "import fills it",
        ),
        (
            "alter table public.leads drop column website",
            "ingest/entities.py lists leads.website, but public.leads has no such column in "
            "schema.sql: remove it from the registry or add it to the table",
        ),
        (
            "alter table public.activities drop column thread_key",
            "ingest/entities.py lists activities.thread_key, but public.activities has no such "
            "column in schema.sql: remove it from the registry or add it to the table",
        ),
        (
            "alter table public.projects alter column amount type numeric(16,2)",
            "public.projects.amount is numeric(16,2) in schema.sql, but ingest/entities.py reads "
            "it as money (numeric(14,2)): make the two agree",
        ),
        (
            "alter table public.leads alter column status set default 'contacted'",
            "public.leads.status defaults to 'contacted' in schema.sql, but ingest/entities.py "
            "inserts 'new' for a blank cell: make the two agree",
        ),
        (
            "alter table public.accounts drop constraint accounts_name_length",
            "public.accounts.name is limited to None characters in schema.sql (constraint "
            "accounts_name_length), but ingest/entities.py allows 255: make the two agree",
        ),
        (
            "alter table public.leads add constraint leads_description_length "
            "check (char_length(description) <= 32000)",
            "public.leads.description is limited to 32000 characters in schema.sql (constraint "
            "leads_description_length), but ingest/entities.py allows None: make the two agree",
        ),
        (
            "alter table public.leads drop constraint leads_phone_length, add constraint "
            "leads_phone_length check (char_length(phone) <= 80)",
            "public.leads.phone is limited to 80 characters in schema.sql (constraint "
            "leads_phone_length), but ingest/entities.py allows 40: make the two agree",
        ),
        (
            "alter type public.activity_direction add value 'internal'",
            "enum public.activity_direction has labels ('inbound', 'outbound', 'internal') in "
            "schema.sql, but ENUMS in ingest/entities.py has ('inbound', 'outbound'): copy the "
            "labels, in their order",
        ),
    ],
)
def test_a_change_to_one_side_only_is_reported(
    conn: psycopg.Connection, change: str, reported: str
) -> None:
    conn.execute(change)  # type: ignore[arg-type]
    assert reported in schema_differences(conn)


@pytest.mark.parametrize("name", ENTITIES)
def test_references_resolve_ids(name: str) -> None:
    """Each related-record id is found from references the entity has; none is left unused."""
    entity = REGISTRY[name]
    references = {reference.name for reference in entity.references}
    used = {
        reference
        for column in entity.columns
        if column.kind == "id"
        for reference in column.references
    }
    assert used <= references, f"{name}: ids resolved from unknown references {used - references}"
    assert references <= used, f"{name}: references that resolve nothing {references - used}"


@pytest.mark.parametrize("name", [*ENTITIES, PEOPLE])
def test_identity_columns_are_fields_a_file_can_fill(name: str) -> None:
    assert set(IDENTITY[name]) <= set(ENTITY_FIELDS[name])
    assert set(ROW_IDENTITY.get(name, ())) <= set(IDENTITY[name])


def test_people_files_fill_any_field_of_leads_or_contacts() -> None:
    people = ENTITY_FIELDS[PEOPLE]
    assert set(people) == set(ENTITY_FIELDS["leads"]) | set(ENTITY_FIELDS["contacts"])
    for name in ("leads", "contacts"):
        for field_name, spec in ENTITY_FIELDS[name].items():
            assert people[field_name] == spec, f"{field_name} differs between people and {name}"
    assert set(ROW_IDENTITY) == {"leads", "contacts", PEOPLE}
