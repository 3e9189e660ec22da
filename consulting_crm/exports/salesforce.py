"""Write the Salesforce-shaped dbt models as Data Loader-ready CSV files.

The models in schema ``salesforce`` (``models/exports/salesforce``, built by ``crm export
salesforce``; a plain ``crm build`` leaves them out) already carry Salesforce API names, picklist
values and external-id references; this module only reads them in one consistent snapshot and
writes one UTF-8 CSV per object, named by load step
(``1-Account.csv`` ... ``6-Event-Opportunity.csv``, then the shared activities'
``7-TaskRelation.csv`` and ``8-EventRelation.csv``). Before any file is written, every text value
is checked against its Salesforce field's length (:data:`FIELD_LIMITS`): one that does not fit
stops the export with the list of offending rows, or, with ``truncate``, is cut and ends in
:data:`TRUNCATION_MARKER`. Tasks and Events are split by the kind of
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

# No length limit: numbers, dates, times and booleans, which Salesforce checks by type, not length.
UNLIMITED = None

# The longest value each exported column may hold in Salesforce, in characters, per object and
# column as the files name them (references carry a Crm_Id__c, our Text(36) external id). From
# Salesforce's Object Reference and Field Reference for the standard objects (field type and
# length); picklists are 255 in current orgs except the Task ones (40). The export checks every
# value against it before writing, docs/salesforce-mapping.md shows it (`cog`), and
# tests/consulting_crm/exports/test_salesforce.py checks it names every column of the models.
FIELD_LIMITS: dict[str, dict[str, int | None]] = {
    "Account": {
        "Crm_Id__c": 36,
        "Name": 255,
        "Website": 255,
        "Industry": 255,
        "Phone": 40,
        "BillingStreet": 255,
        "BillingCity": 40,
        "BillingState": 80,
        "BillingPostalCode": 20,
        "BillingCountry": 80,
        "AnnualRevenue": UNLIMITED,
        "NumberOfEmployees": UNLIMITED,
        "Description": 32000,
        "CreatedDate": UNLIMITED,
        "LastModifiedDate": UNLIMITED,
    },
    "Contact": {
        "Crm_Id__c": 36,
        "Account.Crm_Id__c": 36,
        "FirstName": 40,
        "LastName": 80,
        "Email": 80,
        "Title": 128,
        "Department": 80,
        "Phone": 40,
        "MobilePhone": 40,
        "MailingCity": 40,
        "MailingCountry": 80,
        "HasOptedOutOfEmail": UNLIMITED,
        "Description": 32000,
        "CreatedDate": UNLIMITED,
        "LastModifiedDate": UNLIMITED,
    },
    "Opportunity": {
        "Crm_Id__c": 36,
        "Account.Crm_Id__c": 36,
        "Contact.Crm_Id__c": 36,
        "Name": 120,
        "StageName": 255,
        "Probability": UNLIMITED,
        "Amount": UNLIMITED,
        "CurrencyIsoCode": 3,
        "CloseDate": UNLIMITED,
        "Type": 255,
        "LeadSource": 255,
        "NextStep": 255,
        "Description": 32000,
        "CreatedDate": UNLIMITED,
        "LastModifiedDate": UNLIMITED,
    },
    "Lead": {
        "Crm_Id__c": 36,
        "FirstName": 40,
        "LastName": 80,
        "Company": 255,
        "Title": 128,
        "Email": 80,
        "Phone": 40,
        "Website": 255,
        "City": 40,
        "Country": 80,
        "LeadSource": 255,
        "Status": 255,
        "Estimated_Amount__c": UNLIMITED,
        "Description": 32000,
        "IsConverted": UNLIMITED,
        "ConvertedDate": UNLIMITED,
        "ConvertedAccount.Crm_Id__c": 36,
        "ConvertedContact.Crm_Id__c": 36,
        "ConvertedOpportunity.Crm_Id__c": 36,
        "CreatedDate": UNLIMITED,
        "LastModifiedDate": UNLIMITED,
    },
    "Task": {
        "Crm_Id__c": 36,
        "Lead:Who.Crm_Id__c": 36,
        "Contact:Who.Crm_Id__c": 36,
        "Account:What.Crm_Id__c": 36,
        "Opportunity:What.Crm_Id__c": 36,
        "Subject": 255,
        "Description": 32000,
        "TaskSubtype": 40,
        "Status": 40,
        "Priority": 40,
        "ActivityDate": UNLIMITED,
        "Crm_Due_Date__c": UNLIMITED,
        "CompletedDateTime": UNLIMITED,
        "CallType": 40,
        "CreatedDate": UNLIMITED,
        "LastModifiedDate": UNLIMITED,
    },
    "Event": {
        "Crm_Id__c": 36,
        "Lead:Who.Crm_Id__c": 36,
        "Contact:Who.Crm_Id__c": 36,
        "Account:What.Crm_Id__c": 36,
        "Opportunity:What.Crm_Id__c": 36,
        "Subject": 255,
        "Description": 32000,
        "ActivityDateTime": UNLIMITED,
        "StartDateTime": UNLIMITED,
        "EndDateTime": UNLIMITED,
        "CreatedDate": UNLIMITED,
        "LastModifiedDate": UNLIMITED,
    },
    "TaskRelation": {
        "Task.Crm_Id__c": 36,
        "Contact:Relation.Crm_Id__c": 36,
        "IsWhat": UNLIMITED,
        "LastModifiedDate": UNLIMITED,
    },
    "EventRelation": {
        "Event.Crm_Id__c": 36,
        "Contact:Relation.Crm_Id__c": 36,
        "IsParent": UNLIMITED,
        "IsInvitee": UNLIMITED,
        "LastModifiedDate": UNLIMITED,
    },
}

# How the report names a row besides its Crm_Id__c.
NAME_COLUMNS: dict[str, tuple[str, ...]] = {
    "Account": ("Name",),
    "Contact": ("FirstName", "LastName"),
    "Opportunity": ("Name",),
    "Lead": ("FirstName", "LastName", "Company"),
    "Task": ("Subject",),
    "Event": ("Subject",),
    "TaskRelation": ("Contact:Relation.Crm_Id__c",),
    "EventRelation": ("Contact:Relation.Crm_Id__c",),
}

# The end of a value `--truncate` cut, within the field's limit.
TRUNCATION_MARKER = "…[truncated]"


@dataclass(frozen=True)
class Oversized:
    """One value longer than its Salesforce field allows (as written: formula guard included)."""

    object_name: str
    crm_id: str
    name: str
    field: str
    length: int
    limit: int

    def describe(self) -> str:
        return (
            f'{self.object_name} {self.crm_id} "{self.name}": {self.field} has {self.length:,} '
            f"characters, Salesforce allows {self.limit:,}"
        )


def truncate_cell(cell: str, limit: int) -> str:
    """``cell`` cut so that it ends in the marker and fits ``limit`` characters."""
    if len(cell) <= limit:
        return cell
    return cell[: limit - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER


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
    # The column that names a row in reports, and sorts the file (then the name columns): the
    # record's own Crm_Id__c, or for a relation the Crm_Id__c of its Task or Event.
    key: str = "Crm_Id__c"


# Accounts first; contacts and opportunities reference accounts (and opportunities their primary
# contact); leads reference what they were converted into; activities reference all of them.
OBJECTS = (
    SalesforceObject(1, "Account", "sf_account"),
    SalesforceObject(2, "Contact", "sf_contact"),
    SalesforceObject(3, "Opportunity", "sf_opportunity"),
    SalesforceObject(4, "Lead", "sf_lead"),
    SalesforceObject(5, "Task", "sf_task", WHO_WHAT_SPLITS),
    SalesforceObject(6, "Event", "sf_event", WHO_WHAT_SPLITS),
    # Shared activities: further contacts of the Tasks and Events loaded before (inserted).
    SalesforceObject(7, "TaskRelation", "sf_task_relation", key="Task.Crm_Id__c"),
    SalesforceObject(8, "EventRelation", "sf_event_relation", key="Event.Crm_Id__c"),
)


@dataclass(frozen=True)
class ExportedFile:
    """One object (or one part of a split object) and the file written for it."""

    object_name: str  # e.g. "Task" or "Task (Lead)"
    file_name: str
    rows: int
    path: Path | None  # None when there were no rows, so no file was written


@dataclass(frozen=True)
class SalesforceExport:
    """What an export wrote, and the values it cut to fit (only with ``truncate``)."""

    files: list[ExportedFile]
    truncated: list[Oversized]


def _parts(sobject: SalesforceObject) -> tuple[Split | None, ...]:
    return sobject.splits or (None,)


def _file_name(sobject: SalesforceObject, split: Split | None) -> str:
    kind = f"-{split.parent}" if split else ""
    return f"{sobject.step}-{sobject.name}{kind}.csv"


def export_file_names() -> list[str]:
    """Every file name an export can write, in load order."""
    return [_file_name(sobject, split) for sobject in OBJECTS for split in _parts(sobject)]


def export_salesforce(
    conn: psycopg.Connection,
    out_dir: Path,
    *,
    since: dt.date | None = None,
    truncate: bool = False,
) -> SalesforceExport:
    """Write one CSV per Salesforce object (and parent kind) into ``out_dir``, in load order.

    ``since`` keeps the rows whose LastModifiedDate (our ``updated_at``) is on or after that day
    (00:00 UTC): an incremental export, which an upsert merges into what is already loaded.
    Files a previous export left in ``out_dir`` under our names are removed first, so that a file
    with no rows this time cannot be loaded again by mistake.

    Every value is checked against :data:`FIELD_LIMITS` before anything is written (or removed):
    a value that does not fit raises :class:`CrmError` naming every offending object, row and
    field, unless ``truncate``, which cuts those values to end in :data:`TRUNCATION_MARKER`.
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
        oversized = [item for sobject in OBJECTS for item in _oversized(conn, sobject, cutoff)]
        if oversized and not truncate:
            raise CrmError(oversized_message(oversized))
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in export_file_names():
            (out_dir / name).unlink(missing_ok=True)
        for sobject in OBJECTS:
            for split in _parts(sobject):
                exported.append(_export_part(conn, out_dir, sobject, split, cutoff, truncate))
    return SalesforceExport(exported, oversized)


def oversized_message(oversized: list[Oversized]) -> str:
    """The error that lists every value too long for its field; nothing was written."""
    lines = "\n".join(f"  {item.describe()}" for item in oversized)
    count = len(oversized)
    values = "value is" if count == 1 else "values are"
    return (
        f"{count} {values} longer than the Salesforce field allows, so nothing was written "
        f"(Data Loader would reject these rows):\n{lines}\nShorten them in the CRM, or export "
        f'with --truncate to cut them to the limit, ending in "{TRUNCATION_MARKER}".'
    )


def _oversized(
    conn: psycopg.Connection, sobject: SalesforceObject, cutoff: dt.datetime | None
) -> list[Oversized]:
    """The values of one object longer than their field's limit, as the file would hold them.

    The database picks the candidate rows (a value of at least ``limit`` characters: the formula
    guard may add one); the written cell (:func:`csv_cell`) is then measured exactly.
    """
    from psycopg import sql

    limits = {name: limit for name, limit in FIELD_LIMITS[sobject.name].items() if limit}
    names = NAME_COLUMNS[sobject.name]
    near = sql.SQL(" or ").join(
        sql.SQL("char_length({}) >= {}").format(sql.Identifier(name), sql.Literal(limit))
        for name, limit in limits.items()
    )
    conditions: list[sql.Composable] = [sql.SQL("({})").format(near)]
    params: list[object] = []
    if cutoff is not None:
        conditions.append(sql.SQL('"LastModifiedDate" >= %s'))
        params.append(cutoff)
    columns = list(dict.fromkeys([sobject.key, *names, *limits]))
    query = sql.SQL("select {} from {}.{} where {} order by {}").format(
        sql.SQL(", ").join(sql.Identifier(name) for name in columns),
        sql.Identifier(SCHEMA),
        sql.Identifier(sobject.model),
        sql.SQL(" and ").join(conditions),
        sql.Identifier(sobject.key),
    )
    found = []
    for record in conn.execute(query, params):
        row = dict(zip(columns, record, strict=True))
        name = " ".join(str(row[column]) for column in names if row[column] is not None)
        shown = name if len(name) <= 60 else name[:59] + "…"
        for field, limit in limits.items():
            length = len(csv_cell(row[field]))
            if length > limit:
                found.append(
                    Oversized(sobject.name, str(row[sobject.key]), shown, field, length, limit)
                )
    return found


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
    truncate: bool = False,
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
    order = [sobject.key, *(name for name in NAME_COLUMNS[sobject.name] if name != sobject.key)]
    query = sql.SQL("select * from {}.{} where {} order by {}").format(
        sql.Identifier(SCHEMA),
        sql.Identifier(sobject.model),
        sql.SQL(" and ").join(conditions),
        sql.SQL(", ").join(sql.Identifier(name) for name in order),
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
        limits = FIELD_LIMITS[sobject.name]
        cut = [(index, limit) for index in keep if (limit := limits[columns[index]])]
        rows = 0
        try:
            with partial.open("w", encoding="utf-8", newline="") as file:
                writer = csv.writer(file, lineterminator="\r\n")
                writer.writerow([columns[index] for index in keep])
                for record in _chain(first, cursor):
                    if truncate:
                        cells = {index: csv_cell(record[index]) for index in keep}
                        for index, limit in cut:
                            cells[index] = truncate_cell(cells[index], limit)
                        writer.writerow(cells.values())
                    else:
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


def field_limits_markdown() -> str:
    """:data:`FIELD_LIMITS` as the table in docs/salesforce-mapping.md (one row per object and
    limit, longest first; `unlimited` for numbers, dates, times and booleans)."""
    lines = ["| object | max. characters | fields |", "|---|---|---|"]
    for sobject in OBJECTS:
        limits = FIELD_LIMITS[sobject.name]
        for limit in sorted({value or 0 for value in limits.values()}, reverse=True):
            fields = [name for name, value in limits.items() if (value or 0) == limit]
            shown = f"{limit:,}" if limit else "unlimited"
            lines.append(f"| {sobject.name} | {shown} | {', '.join(f'`{f}`' for f in fields)} |")
    return "\n".join(lines)
