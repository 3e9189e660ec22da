"""The import rules for contacts, in the order they run.

Also run on the rows of a people file that :mod:`ingest.load.people` routes to contacts
(``where``).

1. In-file duplicates: a row with the external id or the lower-cased email of an earlier row is
   rejected (for a people file this was done before routing).
2. Matching: the stored contact with the same external id, else the same lower-cased email, else
   (neither has an id or email) the same first name, last name and account name. A row whose id
   and email name two different contacts is rejected, and so is a second row for the same stored
   contact.
3. Account: the one named by ``account_external_id``, ``account_domain`` or ``account_name``
   (when exactly one account has that name), else the one whose domain is the email's. With
   ``--create-accounts`` (or ``create_accounts = true`` in the profile), a new contact that
   names its account by name alone and matches none gets one, as a project does
   (:func:`~ingest.load.matching.create_named_accounts`); one whose rows are all rejected
   by a later rule is deleted again before the merge
   (:func:`~ingest.load.matching.keep_used_accounts`). A new contact without an account is
   rejected; an ambiguous name lists the candidates.
4. Merge (:func:`~ingest.load.merge.merge`).
"""

from __future__ import annotations

from ingest.entities import CONTACTS
from ingest.load.context import LoadContext, MergeCounts
from ingest.load.matching import (
    create_named_accounts,
    keep_used_accounts,
    match_people,
    note_unknown_accounts,
    resolve_accounts,
    set_targets,
)
from ingest.load.merge import merge
from ingest.load.rejects import (
    reject_in_file_duplicates,
    reject_key_conflicts,
    reject_people_duplicates,
    reject_unresolved_account,
)


def load_contacts(context: LoadContext, where: str = "true") -> MergeCounts:
    if where == "true":
        reject_people_duplicates(context, "contact")
    match_people(context, "contacts", "contact_id", where)
    reject_key_conflicts(context, "contact", where)
    set_targets(context, where)
    reject_in_file_duplicates(
        context,
        "s.target_id",
        "email",
        noun="contact",
        where=where,
        shown="coalesce(s.email, s.external_id, s.last_name)",
    )
    resolve_accounts(context, "account_id", email_fallback=True)
    create_named_accounts(context, "account_id", where=f"s.target_id is null and {where}")
    reject_unresolved_account(
        context,
        "account_id",
        where=f"s.target_id is null and {where}",
        fix="import the account first, add it to the file, or import the person as a lead "
        "with --entity leads"
        + (
            " (or with --create-accounts to create the accounts this column names)."
            if "account_name" in context.headers and not context.create_accounts
            else "."
        ),
    )
    note_unknown_accounts(context)
    keep_used_accounts(context, "account_id")
    return merge(context, CONTACTS, where)
