"""The import rules for leads, in the order they run.

Also run on the rows of a people file that :mod:`ingest.load.people` routes to leads (``where``).

1. In-file duplicates: a row with the external id or the lower-cased email of an earlier row is
   rejected (for a people file this was done before routing).
2. The rows the :class:`~ingest.load.staging.Stager` inserted while the file was read leave the
   stage: they are the first of their keys and match no stored lead.
3. Matching: the stored lead with the same external id, else the same lower-cased email, else
   (neither has an id or email) the same first name, last name and company. A row whose id and
   email name two different leads is rejected, and so is a second row for the same stored lead.
4. Conversion: ``converted_account_external_id`` finds the account the lead became. A converted
   lead needs that account and its converted date (in the row or stored), or it is rejected; a
   lead that is not converted has both cleared. ``converted_contact_external_id`` and
   ``converted_project_external_id`` find the contact and project it became; one that is not
   found leaves the link blank (as a project's primary contact), and a lead that is not converted
   has them cleared.
5. Merge (:func:`~ingest.load.merge.merge`): a stored converted lead stays converted.
"""

from __future__ import annotations

from ingest.entities import LEADS
from ingest.load.context import LoadContext, MergeCounts
from ingest.load.matching import match_people, resolve_external_ids, set_targets
from ingest.load.merge import merge
from ingest.load.rejects import (
    reject,
    reject_in_file_duplicates,
    reject_key_conflicts,
    reject_people_duplicates,
)
from ingest.load.staging import STAGE, stage_columns


def load_leads(context: LoadContext, where: str = "true") -> MergeCounts:
    if where == "true":
        reject_people_duplicates(context, "lead")
    if context.early_inserted:
        # Rows inserted while reading are the first of their keys (the duplicate checks above
        # kept them) and match no stored lead; with them gone, the rest merges as it would have.
        context.execute(f"delete from {STAGE} where early")
    match_people(context, "leads", "lead_id", where)
    reject_key_conflicts(context, "lead", where)
    set_targets(context, where)
    reject_in_file_duplicates(
        context,
        "s.target_id",
        "email",
        noun="lead",
        where=where,
        shown="coalesce(s.email, s.external_id, s.last_name)",
    )
    stage = stage_columns(context.entity)
    for link, table, key in (
        ("converted_account", "accounts", "account_id"),
        ("converted_contact", "contacts", "contact_id"),
        ("converted_project", "projects", "project_id"),
    ):
        if f"{link}_external_id" in stage:
            resolve_external_ids(context, f"{link}_id", table, key, f"{link}_external_id")
    converted = context.conn.execute(
        f"select exists (select from {STAGE} s where s.status = 'converted' and {where})"  # type: ignore[arg-type]
    ).fetchone()
    if converted and converted[0]:
        reject(
            context,
            where=f"""s.status = 'converted' and {where} and (
                coalesce(s.converted_account_id,
                         (select converted_account_id from public.leads l
                          where l.lead_id = s.target_id)) is null
                or coalesce(s.converted_date,
                            (select converted_date from public.leads l
                             where l.lead_id = s.target_id)) is null)""",
            reason="converted_without_account",
            column="status",
            value="s.status",
            explain="'a converted lead needs the account it became (an account id that is "
            "already imported) and its converted date; import the accounts first or fill in "
            "both columns.'",
        )
        context.execute(
            f"""
            update {STAGE} s set converted_account_id = null, converted_date = null,
                converted_contact_id = null, converted_project_id = null
            where coalesce(s.status, 'new') <> 'converted' and {where}
              and num_nonnulls(s.converted_account_id, s.converted_date, s.converted_contact_id,
                               s.converted_project_id) > 0
            """
        )
    counts = merge(context, LEADS, where)
    counts.inserted += context.early_inserted
    return counts
