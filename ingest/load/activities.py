"""The import rules for activities, in the order they run.

1. A row with the external id of an earlier row is rejected.
2. Related records, each from the references the registry lists: the project by
   ``project_external_id``, ``what_external_id`` or its name (when only one project has it); the
   account by ``what_external_id`` or the account columns; the lead by ``who_external_id`` or
   ``lead_email``; the contact by ``who_external_id`` or ``contact_email``.
3. Exactly one parent, the most specific one named (project, then account, then lead); a contact
   alone means its account. The time is ``occurred_at``, else the due date, else ``created_at``.
4. Rejected: no type, no time, an end before the start, and no parent found (the message names
   the first reference the row gave).
5. Matching: the stored activity with the same external id, else (neither has one) the one with
   the same type, time, subject and parent. A second row for the same activity is rejected.
6. Merge (:func:`~ingest.load.merge.merge`).
"""

from __future__ import annotations

from ingest.entities import ACTIVITIES
from ingest.load.context import LoadContext, MergeCounts
from ingest.load.matching import resolve_accounts, resolve_external_ids, set_targets
from ingest.load.merge import merge
from ingest.load.rejects import (
    reject,
    reject_in_file_duplicates,
)
from ingest.load.staging import STAGE, stage_columns


def load_activities(context: LoadContext) -> MergeCounts:
    reject_in_file_duplicates(context, "s.external_id", "external_id", noun="external id")
    stage = stage_columns(context.entity)
    # By external id within the file's system, then by email, then by an id only another system
    # has (see resolve_external_ids; a record found by another reference is not looked for).
    by_id = [
        ("project_id", "projects", "project_id", "project_external_id", "false"),
        ("project_id", "projects", "project_id", "what_external_id", "s.account_id is not null"),
        ("account_id", "accounts", "account_id", "what_external_id", "s.project_id is not null"),
        ("lead_id", "leads", "lead_id", "who_external_id", "s.contact_id is not null"),
        ("contact_id", "contacts", "contact_id", "who_external_id", "s.lead_id is not null"),
    ]
    for into, table, id_column, reference, _ in by_id:
        resolve_external_ids(context, into, table, id_column, reference, passes=("own",))
    by_email = [
        ("lead_id", "leads", "lead_id", "lead_email"),
        ("contact_id", "contacts", "contact_id", "contact_email"),
    ]
    for into, table, id_column, reference in by_email:
        context.execute(
            f"""
            update {STAGE} s set {into} = p.{id_column}
            from public.{table} p where s.{into} is null and lower(p.email) = lower(s.{reference})
            """
        )
    for into, table, id_column, reference, unless in by_id:
        resolve_external_ids(
            context, into, table, id_column, reference, unless=unless, passes=("other",)
        )
    if "project_name" in stage:
        context.execute(
            f"""
            update {STAGE} s set project_id = m.project_id
            from (select lower(name) as key, min(project_id::text)::uuid as project_id
                  from public.projects group by 1 having count(*) = 1) m
            where s.project_id is null and m.key = lower(s.project_name)
            """
        )
    resolve_accounts(context, "account_id")
    # Exactly one parent: the most specific one named; a contact alone means its account.
    context.execute(
        f"""
        update {STAGE} s set
            account_id = case
                when s.project_id is not null then null
                when s.account_id is not null then s.account_id
                when s.lead_id is not null then null
                else (select c.account_id from public.contacts c
                      where c.contact_id = s.contact_id) end,
            lead_id = case when s.project_id is null and s.account_id is null
                           then s.lead_id end,
            occurred_at = coalesce(s.occurred_at, s.due_date::timestamptz, s.created_at)
        """
    )
    reject(
        context,
        where="s.activity_type is null",
        reason="missing_value",
        column="activity_type",
        value="s.activity_type",
        explain="'the activity has no type; write email, call, meeting, note or task.'",
    )
    reject(
        context,
        where="s.occurred_at is null",
        reason="missing_date",
        column="occurred_at",
        value="s.occurred_at",
        explain="'the activity has no date; fill in when it happened (or its due date).'",
    )
    reject(
        context,
        where="s.ends_at < s.occurred_at",
        reason="end_before_start",
        column="ends_at",
        value="s.ends_at",
        explain="'the activity ends before it starts; correct one of the times.'",
    )
    named = [
        f"s.{name}"
        for name in (
            "who_external_id",
            "what_external_id",
            "lead_email",
            "contact_email",
            "account_name",
            "account_domain",
            "account_external_id",
            "project_external_id",
            "project_name",
        )
        if name in context.headers
    ]
    value = f"coalesce({', '.join(named)})" if named else "null"
    reject(
        context,
        where="num_nonnulls(s.lead_id, s.account_id, s.project_id) = 0",
        reason="no_parent",
        column=None,
        value=value,
        explain="'no lead, contact, account or project matches ' || coalesce('\"' || "
        f"{value} || '\"', 'this row (none is named)') || '; import them first or correct the "
        "reference.'",
    )
    context.execute(
        f"""
        update {STAGE} s set by_external_id = a.activity_id
        from public.activities a
        where a.external_id = s.external_id and a.external_system = {context.system}
        """
    )
    # Without an external id an activity is the same when its type, time, subject and parent are.
    context.execute(
        f"""
        update {STAGE} s set by_name = a.activity_id
        from public.activities a
        where s.external_id is null and a.external_id is null
          and a.activity_type = s.activity_type::public.activity_type
          and a.occurred_at = s.occurred_at
          and a.subject is not distinct from s.subject
          and a.lead_id is not distinct from s.lead_id
          and a.account_id is not distinct from s.account_id
          and a.project_id is not distinct from s.project_id
        """
    )
    set_targets(context)
    reject_in_file_duplicates(
        context,
        "coalesce(s.target_id::text, s.occurred_at::text || s.activity_type || "
        "coalesce(s.subject, '') || coalesce(s.lead_id, s.account_id, s.project_id)::text)",
        "subject",
        noun="activity",
        shown="coalesce(s.subject, s.occurred_at::text)",
    )
    return merge(context, ACTIVITIES)
