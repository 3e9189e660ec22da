"""The merge: one UPDATE for the stage rows that found their record, one INSERT for the rest.

Blank cells are NULL in the stage and never overwrite a stored value (``coalesce(new, old)``); a
row whose merged values equal the stored ones is not touched, so re-importing a file changes
nothing. Which columns are written, with which cast and insert default, is the entity's
registry entry (:mod:`ingest.entities`).
"""

from __future__ import annotations

from ingest.entities import Entity, Field
from ingest.load.context import LoadContext, MergeCounts
from ingest.load.staging import STAGE


def merge(context: LoadContext, spec: Entity, where: str = "true") -> MergeCounts:
    """One UPDATE for matched rows that differ, one INSERT for new rows; count each outcome."""
    counts = MergeCounts()
    table = f"public.{spec.table}"

    def staged(column: Field) -> str:
        return f"s.{column.name}::{column.cast}" if column.cast else f"s.{column.name}"

    merged = []
    for column in spec.columns:
        value = f"coalesce({staged(column)}, t.{column.name})"
        if column.name == "external_id":
            # An id from another system never replaces the one a record already has: it would
            # make the two exports flip it back and forth on every import.
            value = f"coalesce(t.external_id, {staged(column)})"
        if column.name == "email":
            # The same address in other letter case is the same key: keep how it was stored.
            value = f"case when lower(s.email) = lower(t.email) then t.email else {value} end"
        if spec.table == "leads" and column.name == "status":
            # A converted lead stays converted: undoing it would orphan its account link.
            value = f"case when t.status = 'converted' then t.status else {value} end"
        merged.append((column.name, value))
    assignments = ", ".join(f"{name} = {value}" for name, value in merged)
    new_values = ", ".join(value for _, value in merged)
    old_values = ", ".join(f"t.{name}" for name, _ in merged)
    row = context.conn.execute(
        f"select count(*) from {STAGE} s where s.target_id is not null and {where}"  # type: ignore[arg-type]
    ).fetchone()
    matched = int(row[0]) if row else 0
    counts.updated = context.execute(
        f"""
        update {table} t
        set {assignments}, import_batch_id = %(batch)s
        from {STAGE} s
        where t.{spec.id_column} = s.target_id and {where}
          and ({new_values}) is distinct from ({old_values})
        """,
        {"batch": context.batch_id},
    )
    counts.unchanged = matched - counts.updated
    counts.inserted = context.execute(
        insert_statement(spec, STAGE, f"s.target_id is null and {where}"),
        {"batch": context.batch_id, "source": context.source},
    )
    return counts


def insert_statement(spec: Entity, source: str, where: str) -> str:
    """INSERT of the rows of ``source`` (aliased ``s``) matching ``where`` as new records.

    Blank cells take the column's default; ``%(source)s`` and ``%(batch)s`` are parameters.
    """

    def staged(column: Field) -> str:
        return f"s.{column.name}::{column.cast}" if column.cast else f"s.{column.name}"

    names = ", ".join(column.name for column in spec.columns)
    values = ", ".join(
        f"coalesce({staged(column)}, {column.default})" if column.default else staged(column)
        for column in spec.columns
    )
    return f"""
        insert into public.{spec.table} ({names}, source, import_batch_id)
        select {values}, %(source)s, %(batch)s
        from {source} s
        where {where}
        """
