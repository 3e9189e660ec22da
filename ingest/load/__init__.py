"""The loader: stage valid rows with COPY, resolve keys and relations in SQL, merge set-based.

Everything here runs inside the caller's transaction (one per file, together with the batch row).
Rows are streamed into a temporary table ``import_stage`` with ``COPY``; then a handful of
set-based statements find each row's existing record by natural key, resolve related records by
their natural keys, reject what cannot be loaded (into ``ingest.rejected_rows``, with a message),
and merge the rest with one ``UPDATE`` and one ``INSERT`` per table. Blank cells are NULL in the
stage and never overwrite a stored value (``coalesce(new, old)``); a row whose merged values equal
the stored ones is not touched, so re-importing a file changes nothing.

Leads that the merge could only insert are copied straight into ``leads`` while the file is still
being read, instead of waiting in the stage (see :class:`~ingest.load.staging.Stager`); the
outcome is the same.

- :mod:`~ingest.load.staging`: the stage table, COPY, the staging thread;
- :mod:`~ingest.load.rejects`: the reject rules several entities share;
- :mod:`~ingest.load.matching`: natural keys (people, targets, accounts);
- :mod:`~ingest.load.merge`: the UPDATE and INSERT of one table;
- one module per kind of file with its import rules, top to bottom:
  :mod:`~ingest.load.accounts`, :mod:`~ingest.load.contacts`, :mod:`~ingest.load.leads`,
  :mod:`~ingest.load.people` (contact or lead, per row), :mod:`~ingest.load.projects`,
  :mod:`~ingest.load.activities`; :func:`load_stage` picks one.
"""

from __future__ import annotations

from collections.abc import Callable

from ingest.load.accounts import load_accounts
from ingest.load.activities import load_activities
from ingest.load.contacts import load_contacts
from ingest.load.context import LoadContext, MergeCounts
from ingest.load.leads import load_leads
from ingest.load.people import load_people
from ingest.load.projects import load_projects
from ingest.load.staging import (
    EARLY_KEYS,
    STAGE,
    Stager,
    StagingThread,
    create_stage,
    frame_columns,
)

__all__ = [
    "EARLY_KEYS",
    "STAGE",
    "LoadContext",
    "MergeCounts",
    "Stager",
    "StagingThread",
    "create_stage",
    "frame_columns",
    "load_stage",
]


def load_stage(context: LoadContext) -> MergeCounts:
    """Resolve and merge everything staged for the file; rejected rows leave the stage."""
    if context.create_accounts and (
        context.entity not in ("projects", "contacts", "people")
        or (context.entity == "people" and context.forced_entity != "contacts")
    ):
        context.notes["create_accounts"] = (
            "--create-accounts created nothing: it applies to projects and contacts"
            + (
                " (in a file of people, one whose company is no account becomes a lead; "
                "--entity contacts loads every row as a contact, creating the accounts)"
                if context.entity == "people"
                else ""
            )
        )
    if context.entity == "leads" and context.early_inserted and not context.staged_for_merge:
        # Every row was provably new and is inserted already (see Stager): the merge would
        # reject, match and update nothing, so it is skipped.
        return MergeCounts(inserted=context.early_inserted)
    context.execute(f"analyze {STAGE}")
    loaders: dict[str, Callable[[LoadContext], MergeCounts]] = {
        "accounts": load_accounts,
        "contacts": load_contacts,
        "leads": load_leads,
        "people": load_people,
        "projects": load_projects,
        "activities": load_activities,
    }
    return loaders[context.entity](context)
