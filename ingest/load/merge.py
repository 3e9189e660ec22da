"""The merge: one UPDATE for the stage rows that found their record, one INSERT for the rest.

Blank cells are NULL in the stage and never overwrite a stored value (``coalesce(new, old)``); a
row whose merged values equal the stored ones is not touched, so re-importing a file changes
nothing. Which columns are written, with which cast, insert default and merge rule, is the
entity's registry entry (:mod:`ingest.entities`):

- ``overwrite``: the file's value replaces the stored one;
- ``earliest``: the earlier of the two (``created_at``: a later import never makes a record
  younger);
- ``fill_blank``: the file's value only fills a blank stored value (``lead_source``, the
  ``external_id``: origin facts that the first system to know a record wrote).

A value a profile's constant gave (``[variants.defaults]``, e.g. LinkedIn's ``lead_source``) is
not a fact of the file: it only fills a blank stored value, whatever the column's rule
(``from_constant`` in the stage lists those columns per row). A new record takes it like any
value. The record's ``external_system`` is the file's profile when its ``external_id`` comes from
this file.
"""

from __future__ import annotations

from ingest.entities import Entity, Field
from ingest.load.context import LoadContext, MergeCounts
from ingest.load.staging import STAGE


def _staged(column: Field) -> str:
    return f"s.{column.name}::{column.cast}" if column.cast else f"s.{column.name}"


def merged_value(column: Field, spec: Entity, constants: frozenset[str] = frozenset()) -> str:
    """The SQL of a column's value after the merge of stage row ``s`` into stored row ``t``."""
    staged = _staged(column)
    if column.merge == "earliest":
        value = f"least({staged}, t.{column.name})"  # least() skips NULLs
    elif column.merge == "fill_blank":
        value = f"coalesce(t.{column.name}, {staged})"
    else:
        value = f"coalesce({staged}, t.{column.name})"
    if column.name == "email":
        # The same address in other letter case is the same key: keep how it was stored.
        value = f"case when lower(s.email) = lower(t.email) then t.email else {value} end"
    if spec.table == "leads" and column.name == "status":
        # A converted lead stays converted: undoing it would orphan its account link.
        value = f"case when t.status = 'converted' then t.status else {value} end"
    if column.name in constants:
        value = (
            f"case when '{column.name}' = any(s.from_constant) "
            f"then coalesce(t.{column.name}, {staged}) else {value} end"
        )
    return value


def merge(context: LoadContext, spec: Entity, where: str = "true") -> MergeCounts:
    """One UPDATE for matched rows that differ, one INSERT for new rows; count each outcome."""
    counts = MergeCounts()
    table = f"public.{spec.table}"
    merged = [
        (column.name, merged_value(column, spec, context.constants)) for column in spec.columns
    ]
    # An id this file gives a record that had none is an id of the file's system.
    merged.append(
        (
            "external_system",
            "case when t.external_id is null and s.external_id is not null "
            "then %(source)s else t.external_system end",
        )
    )
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
        {"batch": context.batch_id, "source": context.source},
    )
    counts.unchanged = matched - counts.updated
    counts.inserted = context.execute(
        insert_statement(spec, STAGE, f"s.target_id is null and {where}"),
        {"batch": context.batch_id, "source": context.source},
    )
    return counts


def insert_statement(spec: Entity, source: str, where: str) -> str:
    """INSERT of the rows of ``source`` (aliased ``s``) matching ``where`` as new records.

    Blank cells take the column's default; ``%(source)s`` (the profile, which is also the
    external ids' system) and ``%(batch)s`` are parameters.
    """
    names = ", ".join(column.name for column in spec.columns)
    values = ", ".join(
        f"coalesce({_staged(column)}, {column.default})" if column.default else _staged(column)
        for column in spec.columns
    )
    return f"""
        insert into public.{spec.table} ({names}, source, external_system, import_batch_id)
        select {values}, %(source)s, %(source)s, %(batch)s
        from {source} s
        where {where}
        """
