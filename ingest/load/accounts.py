"""The import rules for accounts, in the order they run.

1. A row without a name is rejected, and so is a row with the external id or the lower-cased
   domain of an earlier row.
2. Matching: the stored account with the same external id, and the one with the same domain; a
   row whose id and domain name two different accounts is rejected. Without either, the account
   with the same name (case-insensitive), but only when the row has no domain or no account of
   that name has one (two companies may share a name); a name several accounts share is
   rejected with the candidates listed.
3. A second row for the same account (the same stored one, else the same domain, else the same
   name) is rejected.
4. Merge (:func:`~ingest.load.merge.merge`).
"""

from __future__ import annotations

from ingest.entities import ACCOUNTS
from ingest.load.context import LoadContext, MergeCounts
from ingest.load.matching import set_targets
from ingest.load.merge import merge
from ingest.load.rejects import (
    reject,
    reject_in_file_duplicates,
    reject_missing_name,
)
from ingest.load.staging import STAGE


def load_accounts(context: LoadContext) -> MergeCounts:
    reject_missing_name(context, noun="account")
    reject_in_file_duplicates(context, "s.external_id", "external_id", noun="external id")
    reject_in_file_duplicates(context, "lower(s.domain)", "domain", noun="domain", shown="s.domain")
    context.execute(
        f"""
        update {STAGE} s set by_external_id = a.account_id
        from public.accounts a
        where a.external_id = s.external_id and a.external_system = {context.system}
        """
    )
    context.execute(
        f"""
        update {STAGE} s set by_domain = a.account_id
        from public.accounts a where lower(a.domain) = lower(s.domain)
        """
    )
    reject(
        context,
        where="s.by_external_id <> s.by_domain",
        reason="key_conflict",
        column="domain",
        value="s.domain",
        explain='format(\'"%%s" belongs to another account than external id "%%s"; correct '
        "the domain or the id.', s.domain, s.external_id)",
    )
    # Without an id or domain match, an account is found by its exact name (case-insensitive),
    # but only one whose domain is blank or the same: two companies may share a name.
    context.execute(
        f"""
        update {STAGE} s
        set by_name = case when m.n = 1 then m.account_id end,
            candidates = case when m.n > 1 then m.names end, candidate_count = m.n
        from (
            select lower(a.name) as key, count(*) as n, min(a.account_id::text)::uuid
                   as account_id, string_agg(a.name || coalesce(' [' || a.domain || ']', ''),
                   ', ' order by a.name, a.domain) as names
            from public.accounts a
            group by lower(a.name)
        ) m
        where s.by_external_id is null and s.by_domain is null and m.key = lower(s.name)
          and (s.domain is null or not exists (
                select from public.accounts a
                where lower(a.name) = m.key and a.domain is not null))
        """
    )
    reject(
        context,
        where="s.candidates is not null",
        reason="ambiguous_account",
        column="name",
        value="s.name",
        explain='format(\'"%%s" matches %%s accounts (%%s); add the domain or external id to '
        "say which.', s.name, s.candidate_count, s.candidates)",
    )
    set_targets(context)
    reject_in_file_duplicates(
        context,
        "coalesce(s.target_id::text, lower(s.domain), lower(s.name))",
        "name",
        noun="account",
        shown="s.name",
    )
    return merge(context, ACCOUNTS)
