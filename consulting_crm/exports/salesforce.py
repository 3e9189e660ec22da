"""Write the Salesforce-shaped dbt models as Data Loader-ready CSV files.

The models in schema ``salesforce`` (``models/exports/salesforce``, built by ``crm export
salesforce``; a plain ``crm build`` leaves them out) already carry Salesforce API names, picklist
values and external-id references; this module only reads them in one consistent snapshot and
writes one UTF-8 CSV per object, named by load step
(``1-Account.csv`` ... ``6-Event-Opportunity.csv``). Tasks and Events are split by the kind of
record their polymorphic WhoId/WhatId point at, because an upsert resolves an external id for one
object type per relationship and file. Objects with no rows get no file (an empty file is nothing
to load, and ``crm import`` refuses it). Every text cell is guarded against spreadsheet formula
injection by :func:`guard_formula`; ``crm import --profile salesforce`` undoes the guard with
:func:`restore_formula`. Field mapping and procedure: docs/salesforce-mapping.md.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.errors import CrmError
from ingest.formulas import guard_formula

if TYPE_CHECKING:
    import psycopg

SCHEMA = "salesforce"


@dataclass(frozen=True)
class Split:
    """One file of a polymorphic object: the rows whose parent is of one kind."""

    parent: str  # Lead, Account or Opportunity
    column: str  # the reference column that is set on exactly these rows
    keeps: tuple[str, ...]  # the reference columns this file carries


WHO_WHAT_COLUMNS = (
    "Lead:Who.Crm_Id__c",
    "Contact:Who.Crm_Id__c",
    "Account:What.Crm_Id__c",
    "Opportunity:What.Crm_Id__c",
)
WHO_WHAT_SPLITS = (
    Split("Lead", "Lead:Who.Crm_Id__c", ("Lead:Who.Crm_Id__c",)),
    Split("Account", "Account:What.Crm_Id__c", ("Contact:Who.Crm_Id__c", "Account:What.Crm_Id__c")),
    Split(
        "Opportunity",
        "Opportunity:What.Crm_Id__c",
        ("Contact:Who.Crm_Id__c", "Opportunity:What.Crm_Id__c"),
    ),
)


@dataclass(frozen=True)
class SalesforceObject:
    step: int  # load order: a record's references are loaded in an earlier step
    name: str
    model: str
    splits: tuple[Split, ...] = ()


# Accounts first; contacts and opportunities reference accounts (and opportunities their primary
# contact); leads reference what they were converted into; activities reference all of them.
OBJECTS = (
    SalesforceObject(1, "Account", "sf_account"),
    SalesforceObject(2, "Contact", "sf_contact"),
    SalesforceObject(3, "Opportunity", "sf_opportunity"),
    SalesforceObject(4, "Lead", "sf_lead"),
    SalesforceObject(5, "Task", "sf_task", WHO_WHAT_SPLITS),
    SalesforceObject(6, "Event", "sf_event", WHO_WHAT_SPLITS),
)


@dataclass(frozen=True)
class ExportedFile:
    """One object (or one part of a split object) and the file written for it."""

    object_name: str  # e.g. "Task" or "Task (Lead)"
    file_name: str
    rows: int
    path: Path | None  # None when there were no rows, so no file was written


def _parts(sobject: SalesforceObject) -> tuple[Split | None, ...]:
    return sobject.splits or (None,)


def _file_name(sobject: SalesforceObject, split: Split | None) -> str:
    kind = f"-{split.parent}" if split else ""
    return f"{sobject.step}-{sobject.name}{kind}.csv"


def export_file_names() -> list[str]:
    """Every file name an export can write, in load order."""
    return [_file_name(sobject, split) for sobject in OBJECTS for split in _parts(sobject)]


def export_salesforce(
    conn: psycopg.Connection, out_dir: Path, *, since: dt.date | None = None
) -> list[ExportedFile]:
    """Write one CSV per Salesforce object (and parent kind) into ``out_dir``, in load order.

    ``since`` keeps the rows whose LastModifiedDate (our ``updated_at``) is on or after that day
    (00:00 UTC): an incremental export, which an upsert merges into what is already loaded.
    Files a previous export left in ``out_dir`` under our names are removed first, so that a file
    with no rows this time cannot be loaded again by mistake.
    """
    from psycopg.pq import TransactionStatus

    cutoff = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC) if since else None
    exported: list[ExportedFile] = []
    # One snapshot for every file, so references between the files agree (when the caller has no
    # transaction open; inside one, its snapshot rules).
    owns_transaction = conn.info.transaction_status == TransactionStatus.IDLE
    with conn.transaction():
        if owns_transaction:
            conn.execute("set transaction isolation level repeatable read, read only")
        _require_models(conn)
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in export_file_names():
            (out_dir / name).unlink(missing_ok=True)
        for sobject in OBJECTS:
            for split in _parts(sobject):
                exported.append(_export_part(conn, out_dir, sobject, split, cutoff))
    return exported


def _require_models(conn: psycopg.Connection) -> None:
    missing = []
    for sobject in OBJECTS:
        row = conn.execute("select to_regclass(%s)", (f'{SCHEMA}."{sobject.model}"',)).fetchone()
        if row is None or row[0] is None:
            missing.append(f"{SCHEMA}.{sobject.model}")
    if missing:
        raise CrmError(
            f"the Salesforce models are not built ({', '.join(missing)} missing); run "
            "`crm export salesforce` without --no-build (it builds them), or "
            "`crm build --select path:models/exports/salesforce`."
        )


def _export_part(
    conn: psycopg.Connection,
    out_dir: Path,
    sobject: SalesforceObject,
    split: Split | None,
    cutoff: dt.datetime | None,
) -> ExportedFile:
    from psycopg import sql

    object_name = f"{sobject.name} ({split.parent})" if split else sobject.name
    file_name = _file_name(sobject, split)
    conditions: list[sql.Composable] = [sql.SQL("true")]
    params: list[object] = []
    if split is not None:
        conditions.append(sql.SQL("{} is not null").format(sql.Identifier(split.column)))
    if cutoff is not None:
        conditions.append(sql.SQL('"LastModifiedDate" >= %s'))
        params.append(cutoff)
    query = sql.SQL('select * from {}.{} where {} order by "Crm_Id__c"').format(
        sql.Identifier(SCHEMA), sql.Identifier(sobject.model), sql.SQL(" and ").join(conditions)
    )
    path = out_dir / file_name
    partial = path.with_name(path.name + ".part")
    with conn.cursor(name=f"export_{sobject.model}") as cursor:
        cursor.itersize = 5000
        cursor.execute(query, params)
        first = cursor.fetchmany(1)
        if not first:
            return ExportedFile(object_name, file_name, 0, None)
        assert cursor.description is not None
        columns = [column.name for column in cursor.description]
        dropped = set()
        if split is not None:
            dropped = {name for name in WHO_WHAT_COLUMNS if name not in split.keeps}
        keep = [index for index, name in enumerate(columns) if name not in dropped]
        rows = 0
        try:
            with partial.open("w", encoding="utf-8", newline="") as file:
                writer = csv.writer(file, lineterminator="\r\n")
                writer.writerow([columns[index] for index in keep])
                for record in _chain(first, cursor):
                    writer.writerow([csv_cell(record[index]) for index in keep])
                    rows += 1
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    partial.replace(path)
    return ExportedFile(object_name, file_name, rows, path)


def _chain(
    first: list[tuple[object, ...]], rest: Iterable[tuple[object, ...]]
) -> Iterator[tuple[object, ...]]:
    yield from first
    yield from rest


def csv_cell(value: object) -> str:
    """A value as Data Loader reads it: ISO dates, UTC times in milliseconds, guarded text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        utc = value.astimezone(dt.UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    return guard_formula(str(value))
