"""Natural keys: find the stored record each stage row updates, and the accounts rows name."""

from __future__ import annotations

from ingest.entities import ENTITY_FIELDS
from ingest.load.context import LoadContext
from ingest.load.staging import STAGE, stage_columns


def match_people(context: LoadContext, table: str, id_column: str, where: str = "true") -> None:
    """Find existing leads/contacts by external id, lower(email), else name and company."""
    context.execute(
        f"""
        update {STAGE} s set by_external_id = t.{id_column}
        from public.{table} t
        where t.external_id = s.external_id and t.external_system = {context.system}
          and {where}
        """
    )
    context.execute(
        f"""
        update {STAGE} s set by_email = t.{id_column}
        from public.{table} t
        where lower(t.email) = lower(s.email) and {where}
        """
    )
    company = "t.company" if table == "leads" else "a.name"
    join = "" if table == "leads" else "join public.accounts a using (account_id)"
    stage_company = "s.company" if "company" in ENTITY_FIELDS[context.entity] else "s.account_name"
    context.execute(
        f"""
        update {STAGE} s set by_name = m.{id_column}
        from (
            select lower(coalesce(t.first_name, '')) as first_name,
                   lower(coalesce(t.last_name, '')) as last_name,
                   lower(coalesce({company}, '')) as company,
                   min(t.{id_column}::text)::uuid as {id_column}
            from public.{table} t {join}
            where t.email is null and t.external_id is null
            group by 1, 2, 3
            having count(*) = 1
        ) m
        where s.external_id is null and s.email is null and {where}
          and m.first_name = lower(coalesce(s.first_name, ''))
          and m.last_name = lower(coalesce(s.last_name, ''))
          and m.company = lower(coalesce({stage_company}, ''))
        """
    )


def set_targets(context: LoadContext, where: str = "true") -> None:
    context.execute(
        f"update {STAGE} s set target_id = coalesce(by_external_id, by_email, by_domain, by_name)"
        f" where coalesce(by_external_id, by_email, by_domain, by_name) is not null and {where}"
    )


def resolve_external_ids(
    context: LoadContext,
    into: str,
    table: str,
    id_column: str,
    reference: str,
    *,
    unless: str = "false",
    passes: tuple[str, ...] = ("own", "other"),
) -> None:
    """Set ``into`` to the record of ``table`` whose external id the stage's ``reference`` gives.

    External ids are unique per system: the record with that id in the file's system wins. An id
    no record of that system has may still be exactly one record's id in another system (a
    generic file written with Salesforce ids, a Salesforce file naming them): that record is
    taken, and the summary says so. An id several systems share names none of them. Rows where
    ``unless`` holds (another reference found the record) are left alone by that second pass.
    ``passes`` runs only the file's own system ("own") or only the others ("other").
    """
    if "own" in passes:
        context.execute(
            f"""
            update {STAGE} s set {into} = p.{id_column}
            from public.{table} p
            where s.{into} is null and p.external_id = s.{reference}
              and p.external_system = {context.system}
            """
        )
    if "other" not in passes:
        return
    found = context.execute(
        f"""
        update {STAGE} s set {into} = p.{id_column}
        from public.{table} p
        where s.{into} is null and not ({unless}) and p.external_id = s.{reference}
          and not exists (
              select from public.{table} q
              where q.external_id = p.external_id and q.{id_column} <> p.{id_column})
        """
    )
    if found:
        header = context.header(reference)
        key = f"external ids {reference}"
        earlier = context.cross_system.get(key, 0)
        context.cross_system[key] = earlier + found
        context.notes[key] = (
            f'{earlier + found} "{header}" value(s) found only among {table} of another system '
            "than this file's (the only record with that id was taken)"
        )


def resolve_accounts(
    context: LoadContext, into: str, *, prefix: str = "account", email_fallback: bool = False
) -> None:
    """Set ``into`` from the account's external id, domain or exact name (case-insensitive).

    A name that matches several accounts leaves the candidates in ``candidates`` so the row can be
    rejected with them named. With ``email_fallback`` the person's email domain is tried last.
    """
    external, domain, name = (f"{prefix}_external_id", f"{prefix}_domain", f"{prefix}_name")
    stage = stage_columns(context.entity)
    if external in stage:
        resolve_external_ids(context, into, "accounts", "account_id", external)
    if domain in stage:
        context.execute(
            f"""
            update {STAGE} s set {into} = a.account_id
            from public.accounts a
            where s.{into} is null and lower(a.domain) = lower(s.{domain})
            """
        )
    if name in stage:
        context.execute(
            f"""
            update {STAGE} s
            set {into} = case when m.n = 1 then m.account_id end,
                candidates = case when m.n > 1 then m.names end,
                candidate_count = m.n
            from (
                select lower(a.name) as key, count(*) as n, min(a.account_id::text)::uuid
                       as account_id,
                       string_agg(a.name || coalesce(' [' || a.domain || ']', ''), ', '
                                  order by a.name, a.domain) as names
                from public.accounts a
                group by lower(a.name)
            ) m
            where s.{into} is null and s.candidates is null and m.key = lower(s.{name})
            """
        )
    if email_fallback and "email" in stage:
        context.execute(
            f"""
            update {STAGE} s set {into} = a.account_id
            from public.accounts a
            where s.{into} is null and s.candidates is null and s.email is not null
              and lower(a.domain) = lower(split_part(s.email, '@', 2))
            """
        )
