"""Natural keys: find the stored record each stage row updates, and the accounts rows name."""

from __future__ import annotations

import psycopg

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
        match_account_names(context, into, "lower(a.name)", f"lower(s.{name})", f"s.{into} is null")
    if email_fallback and "email" in stage:
        context.execute(
            f"""
            update {STAGE} s set {into} = a.account_id
            from public.accounts a
            where s.{into} is null and s.candidates is null and s.email is not null
              and lower(a.domain) = lower(split_part(s.email, '@', 2))
            """
        )


def match_account_names(
    context: LoadContext, into: str, account_key: str, row_key: str, where: str
) -> None:
    """Set ``into`` on the stage rows ``where`` selects to the account whose ``account_key`` (SQL
    over ``a``) equals the row's ``row_key`` (SQL over ``s``); when several accounts do, leave
    their names (and domains) in ``candidates`` so the row is rejected with them named."""
    context.execute(
        f"""
        update {STAGE} s
        set {into} = case when m.n = 1 then m.account_id end,
            candidates = case when m.n > 1 then m.names end,
            candidate_count = m.n
        from (
            select {account_key} as key, count(*) as n,
                   min(a.account_id::text)::uuid as account_id,
                   string_agg(a.name || coalesce(' [' || a.domain || ']', ''), ', '
                              order by a.name, a.domain) as names
            from public.accounts a
            group by 1
        ) m
        where {where} and s.candidates is null and m.key = {row_key}
        """
    )


def spaced(text: str) -> str:
    """SQL: ``text`` without leading and trailing white space, inner runs of it one space."""
    return f"regexp_replace(regexp_replace({text}, '^\\s+|\\s+$', '', 'g'), '\\s+', ' ', 'g')"


def name_key(text: str) -> str:
    """SQL: the key two account names are the same by when accounts are created from them:
    letter case and white space aside ("ACME  GmbH " is "acme gmbh")."""
    return f"lower({spaced(text)})"


SHOWN_NAMES = 10  # account names a summary note lists before "and N more"


def listed(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN_NAMES])
    more = len(names) - SHOWN_NAMES
    return shown + (f" and {more} more" if more > 0 else "")


def create_named_accounts(
    context: LoadContext, into: str, *, where: str = "true", prefix: str = "account"
) -> None:
    """With ``context.create_accounts``: give the rows whose account name matched no account
    (``into`` still blank, no candidates) an account of that name, reusing one whose name is the
    same letter case and white space aside, else creating one per distinct name.

    Only rows that name their account by name alone qualify: a row that also gives an account
    domain or external id no account has is left to be rejected (which of the two is wrong
    cannot be told). A created account takes the name as the file's first row with it writes
    it (white space trimmed), the file's system as its ``source`` and ``external_system`` (as
    the accounts loader does) and the import batch; the summary names every account created.
    Set-based: one UPDATE to reuse, one INSERT, one UPDATE to link, whatever the rows.
    """
    name = f"{prefix}_name"
    stage = stage_columns(context.entity)
    if not context.create_accounts or name not in stage:
        return
    others = " ".join(
        f"and s.{column} is null"
        for column in (f"{prefix}_domain", f"{prefix}_external_id")
        if column in stage
    )
    eligible = (
        f"s.{into} is null and s.candidates is null and {where} "
        f"and {spaced(f's.{name}')} <> '' {others}"
    )
    key = name_key(f"s.{name}")
    match_account_names(context, into, name_key("a.name"), key, eligible)
    created = context.conn.execute(
        f"""
        insert into public.accounts (name, source, external_system, import_batch_id)
        select wanted.name, %(source)s, %(source)s, %(batch)s
        from (
            select distinct on ({key}) {spaced(f"s.{name}")} as name, s.row_number
            from {STAGE} s
            where {eligible}
            order by {key}, s.row_number
        ) wanted
        order by wanted.row_number
        returning account_id, name
        """,  # type: ignore[arg-type]
        {"source": context.source, "batch": context.batch_id},
    ).fetchall()
    if not created:
        return
    context.execute(
        f"""
        update {STAGE} s set {into} = a.account_id
        from public.accounts a
        where {eligible} and a.import_batch_id = %(batch)s and {name_key("a.name")} = {key}
        """,
        {"batch": context.batch_id},
    )
    context.created_accounts.extend((row[0], str(row[1])) for row in created)


def keep_used_accounts(context: LoadContext, into: str, *, prefix: str = "account") -> None:
    """Before the merge, after every rejection: delete the accounts
    :func:`create_named_accounts` created that no row left in the stage uses (each of their rows
    was rejected later, e.g. a won deal without a close date), so a rejected row leaves nothing
    behind; then say in the summary which accounts were created."""
    if not context.created_accounts:
        return
    dropped = {
        row[0]
        for row in context.conn.execute(
            f"""
            delete from public.accounts a
            where a.account_id = any(%(created)s) and a.import_batch_id = %(batch)s
              and not exists (select from {STAGE} s where s.{into} = a.account_id)
            returning a.account_id
            """,  # type: ignore[arg-type]
            {
                "created": [account for account, _ in context.created_accounts],
                "batch": context.batch_id,
            },
        ).fetchall()
    }
    context.created_accounts[:] = [
        (account, name) for account, name in context.created_accounts if account not in dropped
    ]
    if not context.created_accounts:
        return
    names = [name for _, name in context.created_accounts]
    count = f"{len(names)} account{'s' if len(names) != 1 else ''}"
    verb = "would create" if context.dry_run else "created"
    context.notes["created_accounts"] = (
        f'{verb} {count} from the "{context.header(f"{prefix}_name")}" column: ' + listed(names)
    )


def note_unknown_accounts(context: LoadContext, *, prefix: str = "account") -> None:
    """Without ``context.create_accounts``: when rows were rejected because no account has the
    name they give, the summary names those clients and the two ways to load them."""
    name = f"{prefix}_name"
    if context.create_accounts or name not in context.headers:
        return
    given = f"(r.raw_row ->> '{name}')"
    rows = context.conn.execute(
        f"""
        select (array_agg({spaced(given)} order by r.row_number))[1], count(*)
        from ingest.rejected_rows r
        where r.import_batch_id = %(batch)s and r.reason_code = 'no_account'
          and {spaced(given)} <> ''
        group by {name_key(given)} order by min(r.row_number)
        """,  # type: ignore[arg-type]
        {"batch": context.batch_id},
    ).fetchall()
    if not rows:
        return
    header = context.header(name)
    total = sum(int(count) for _, count in rows)
    clients = f"{len(rows)} name{'s' if len(rows) != 1 else ''}"
    context.notes["unknown_accounts"] = (
        f'{total} row(s) rejected because no account has the name in "{header}" ({clients}: '
        f"{listed([str(value) for value, _ in rows])}); import your client list as accounts "
        f'first, or import this file again with --create-accounts to create them from "{header}"'
    )


def unknown_account_names(conn: psycopg.Connection, names: list[str]) -> list[str]:
    """The distinct ``names`` (letter case and white space aside) no account has, as
    :func:`create_named_accounts` would create them, in the order given."""
    rows = conn.execute(
        f"""
        select (array_agg({spaced("n.name")} order by n.i))[1]
        from unnest(%(names)s::text[]) with ordinality n(name, i)
        where {spaced("n.name")} <> ''
          and not exists (
              select from public.accounts a where {name_key("a.name")} = {name_key("n.name")})
        group by {name_key("n.name")}
        order by min(n.i)
        """,  # type: ignore[arg-type]
        {"names": names},
    ).fetchall()
    return [str(row[0]) for row in rows]
