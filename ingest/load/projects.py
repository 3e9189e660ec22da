"""The import rules for projects, in the order they run.

1. A row without a name is rejected, and so is a row with the external id of an earlier row.
2. Account: the one named by ``account_external_id``, ``account_domain`` or ``account_name``
   (when exactly one account has that name), else the stored project's own. With
   ``--create-accounts`` (or ``create_accounts = true`` in the profile), a row that names its
   account by name alone and matches none gets the account whose name is the same letter case
   and white space aside, else a new one, one per distinct name
   (:func:`~ingest.load.matching.create_named_accounts`); one whose rows are all rejected
   by a later rule is deleted again before the merge
   (:func:`~ingest.load.matching.keep_used_accounts`). A row without an account is rejected
   (the summary names the clients and the two ways to load them); an ambiguous name lists the
   candidates.
3. Matching: the stored project with the same external id, else (the row has no external id)
   the only project of that account with the same name (case-insensitive). A second row for the
   same project is rejected (see the comment below on what counts as the same).
4. Primary contact: by ``primary_contact_external_id``, else ``primary_contact_email``; a contact
   that is not found leaves the column blank.
5. Currency: ``currency_code``, else the one written with the amount, upper-cased; anything but
   three letters is rejected (blank takes the table's default, EUR).
6. The database's rules, checked per row so one bad row does not fail the file: a won or lost
   project needs a close date, only a won project has a delivery status, and the end date is
   not before the start date (each taken from the row, else from the stored project).
7. Merge (:func:`~ingest.load.merge.merge`).
"""

from __future__ import annotations

from ingest.entities import PROJECTS
from ingest.load.context import LoadContext, MergeCounts
from ingest.load.matching import (
    create_named_accounts,
    keep_used_accounts,
    note_unknown_accounts,
    resolve_accounts,
    resolve_external_ids,
    set_targets,
)
from ingest.load.merge import merge
from ingest.load.rejects import (
    reject,
    reject_in_file_duplicates,
    reject_missing_name,
    reject_unresolved_account,
)
from ingest.load.staging import STAGE, stage_columns


def load_projects(context: LoadContext) -> MergeCounts:
    reject_missing_name(context, noun="project")
    reject_in_file_duplicates(context, "s.external_id", "external_id", noun="external id")
    resolve_accounts(context, "account_id")
    context.execute(
        f"""
        update {STAGE} s set by_external_id = p.project_id,
                             account_id = coalesce(s.account_id, p.account_id)
        from public.projects p
        where p.external_id = s.external_id and p.external_system = {context.system}
        """
    )
    create_named_accounts(context, "account_id")
    reject_unresolved_account(
        context,
        "account_id",
        where="true",
        fix="import the account first or correct the account column"
        + (
            ", or import with --create-accounts to create the accounts this column names."
            if "account_name" in context.headers and not context.create_accounts
            else "."
        ),
    )
    note_unknown_accounts(context)
    context.execute(
        f"""
        update {STAGE} s set by_name = m.project_id
        from (
            select account_id, lower(name) as key, min(project_id::text)::uuid as project_id
            from public.projects group by 1, 2 having count(*) = 1
        ) m
        where s.by_external_id is null and s.external_id is null
          and m.account_id = s.account_id and m.key = lower(s.name)
        """
    )
    set_targets(context)
    # Two rows are the same project when they update the same stored one, share an external id
    # (checked above), or, without an external id, share the account and the name. Rows with
    # their own external ids are different projects even with the same name (a client can buy
    # the same "Pricing review" twice).
    reject_in_file_duplicates(
        context,
        "coalesce(s.target_id::text, 'external:' || s.external_id,"
        " 'name:' || s.account_id::text || ':' || lower(s.name))",
        "name",
        noun="project",
        shown="s.name",
    )
    stage = stage_columns(context.entity)
    if "primary_contact_external_id" in stage:
        resolve_external_ids(
            context, "primary_contact_id", "contacts", "contact_id", "primary_contact_external_id"
        )
    context.execute(
        f"""
        update {STAGE} s set primary_contact_id = c.contact_id
        from public.contacts c
        where s.primary_contact_id is null and lower(c.email) = lower(s.primary_contact_email)
        """
    )
    context.execute(
        f"""
        update {STAGE} s set currency_code = upper(btrim(coalesce(s.currency_code,
                                                                   s.amount__currency)))
        where coalesce(s.currency_code, s.amount__currency) is not null
        """
    )
    reject(
        context,
        where="s.currency_code !~ '^[A-Z]{3}$'",
        reason="invalid_currency",
        column="currency_code",
        value="s.currency_code",
        explain='format(\'"%%s" is not a currency code; write a three-letter ISO code like EUR '
        "or USD.', s.currency_code)",
    )
    stored = "(select {column} from public.projects p where p.project_id = s.target_id)"
    stage_value = "coalesce(s.stage, {stored}::text, 'qualification')".format(
        stored=stored.format(column="stage")
    )
    close_date = f"coalesce(s.close_date, {stored.format(column='close_date')})"
    reject(
        context,
        where=f"{stage_value} in ('won', 'lost') and {close_date} is null",
        reason="missing_close_date",
        column="close_date",
        value="s.close_date",
        explain=f"format('a %%s project needs a close date; fill it in.', {stage_value})",
    )
    reject(
        context,
        where=f"s.delivery_status is not null and {stage_value} <> 'won'",
        reason="delivery_before_won",
        column="delivery_status",
        value="s.delivery_status",
        explain="'only won projects have a delivery status; set the stage to won or clear it.'",
    )
    reject(
        context,
        where=f"s.end_date < coalesce(s.start_date, {stored.format(column='start_date')})",
        reason="end_before_start",
        column="end_date",
        value="s.end_date",
        explain="'the end date is before the start date; correct one of them.'",
    )
    keep_used_accounts(context, "account_id")
    return merge(context, PROJECTS)
