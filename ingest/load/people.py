"""The import rules for people files (HubSpot, Google, Outlook, LinkedIn): contact or lead per row.

1. In-file duplicates: a row with the external id or the lower-cased email of an earlier row is
   rejected, whichever table either would go to.
2. Routing: with ``--entity leads`` or ``--entity contacts`` every row goes there. Otherwise a
   person stored as a contact stays a contact, else one stored as a lead stays a lead (matched as
   the two tables match), else a new person whose account is found (by the account columns or
   the email's domain) becomes a contact, and everyone else a lead.
3. The rules of :mod:`ingest.load.contacts` and :mod:`ingest.load.leads` then run on their rows;
   the counts say how many rows went to each table.
"""

from __future__ import annotations

from ingest.load.contacts import load_contacts
from ingest.load.context import LoadContext, MergeCounts, add
from ingest.load.leads import load_leads
from ingest.load.matching import match_people, resolve_accounts
from ingest.load.rejects import (
    reject_people_duplicates,
)
from ingest.load.staging import STAGE


def load_people(context: LoadContext) -> MergeCounts:
    """Contacts when the person is known as one or their company/email domain is an account."""
    reject_people_duplicates(context, "person")
    if context.forced_entity in ("leads", "contacts"):
        context.execute(f"update {STAGE} set route = %(route)s", {"route": context.forced_entity})
    else:
        match_people(context, "contacts", "contact_id")
        context.execute(
            f"""
            update {STAGE} s set route = 'contacts'
            where coalesce(s.by_external_id, s.by_email, s.by_name) is not null
            """
        )
        context.execute(
            f"update {STAGE} set by_external_id = null, by_email = null, by_name = null "
            "where num_nonnulls(by_external_id, by_email, by_name) > 0"
        )
        match_people(context, "leads", "lead_id", "s.route is null")
        context.execute(
            f"""
            update {STAGE} s set route = 'leads'
            where s.route is null and coalesce(s.by_external_id, s.by_email, s.by_name) is not null
            """
        )
        context.execute(
            f"update {STAGE} set by_external_id = null, by_email = null, by_name = null "
            "where num_nonnulls(by_external_id, by_email, by_name) > 0"
        )
        resolve_accounts(context, "account_id", email_fallback=True)
        context.execute(
            f"""
            update {STAGE} s set route = case when s.account_id is not null then 'contacts'
                                             else 'leads' end,
                                 candidates = null, candidate_count = null
            where s.route is null
            """
        )
        context.execute(
            f"update {STAGE} set account_id = null, candidates = null "
            "where num_nonnulls(account_id, candidates) > 0"
        )
    total = MergeCounts()
    contacts = load_contacts(context, "s.route = 'contacts'")
    leads = load_leads(context, "s.route = 'leads'")
    add(total, contacts)
    add(total, leads)
    total.routed = {
        "contacts": contacts.inserted + contacts.updated + contacts.unchanged,
        "leads": leads.inserted + leads.updated + leads.unchanged,
    }
    return total
