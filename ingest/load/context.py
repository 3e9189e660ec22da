"""What every step of the load works with: the file's context, and the counts the merge adds up."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

import psycopg


@dataclass
class MergeCounts:
    """What the merge did with the staged rows (``routed``: people files, rows per table)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected_rows: int = 0
    routed: dict[str, int] = field(default_factory=dict)


@dataclass
class LoadContext:
    """What the SQL messages need to name: the file and the headers behind each column."""

    conn: psycopg.Connection
    batch_id: int
    file_name: str
    source: str
    entity: str  # the mapped entity ("people" for contact/lead files)
    headers: dict[str, str]  # stage column → header in the file
    forced_entity: str | None = None
    # Columns a profile's constant ([variants.defaults]) may have filled: only blanks take them.
    constants: frozenset[str] = frozenset()
    # Decisions the load took on evidence, for the file's summary (key → sentence), and the
    # counts behind the notes on references found in another system.
    notes: dict[str, str] = field(default_factory=dict)
    cross_system: dict[str, int] = field(default_factory=dict)
    # --create-accounts (or the profile's create_accounts): a project or contact whose account
    # name matches no account creates one (:func:`~ingest.load.matching.create_named_accounts`),
    # and the ids and names of the accounts it created, in the order the file first names them.
    create_accounts: bool = False
    dry_run: bool = False  # the summary says "would create" (the transaction is rolled back)
    created_accounts: list[tuple[UUID, str]] = field(default_factory=list)
    # Filled by the Stager: leads already inserted while reading, rows left for the merge.
    early_inserted: int = 0
    staged_for_merge: int | None = None

    @property
    def system(self) -> str:
        """The file's system (its profile) as an SQL literal: external ids are unique within it."""
        return "'" + self.source.replace("'", "''") + "'"

    def header(self, column: str) -> str:
        return self.headers.get(column, column)

    def execute(self, query: str, params: dict[str, object] | None = None) -> int:
        cursor = self.conn.execute(query, params or {})  # type: ignore[arg-type]
        return cursor.rowcount


def add(total: MergeCounts, part: MergeCounts) -> None:
    total.inserted += part.inserted
    total.updated += part.updated
    total.unchanged += part.unchanged
