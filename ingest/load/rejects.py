"""Reject rules decided in SQL: stage rows that cannot be loaded move to ``ingest.rejected_rows``.

Each rule deletes the stage rows it matches and records them, with a message naming the file, row,
column and value, and how to fix it. The rules shared by several entities are here; the rules of
one entity only are in its own module.
"""

from __future__ import annotations

from ingest.load.context import LoadContext
from ingest.load.staging import STAGE, stage_columns


def reject(
    context: LoadContext,
    *,
    where: str,
    reason: str,
    column: str | None,
    value: str,
    explain: str,
    params: dict[str, object] | None = None,
) -> int:
    """Move stage rows matching ``where`` into ingest.rejected_rows with a per-row message.

    ``value`` and ``explain`` are SQL expressions over the stage row ``s``; the message is
    `<file>, row <n>, column "<header>": <explain>`.
    """
    prefix = (
        "format('%%s, row %%s, column \"%%s\": ', %(file)s::text, s.row_number, %(header)s::text)"
        if column
        else "format('%%s, row %%s: ', %(file)s::text, s.row_number)"
    )
    query = f"""
        with bad as (
            delete from {STAGE} s where {where} returning s.*
        )
        insert into ingest.rejected_rows
            (import_batch_id, row_number, column_name, raw_value, reason_code, message, raw_row)
        select %(batch)s, s.row_number, %(header)s, ({value})::text, %(reason)s,
               {prefix} || {explain},
               jsonb_strip_nulls(to_jsonb(s) - 'row_number' - 'from_constant')
        from bad s
    """
    return context.execute(
        query,
        {
            "batch": context.batch_id,
            "file": context.file_name,
            "header": context.header(column) if column else None,
            "reason": reason,
            **(params or {}),
        },
    )


def reject_missing_name(context: LoadContext, *, noun: str) -> int:
    """Reject rows without a name (accounts and projects are known by it)."""
    return reject(
        context,
        where="s.name is null or btrim(s.name) = ''",
        reason="missing_value",
        column="name",
        value="s.name",
        explain=f"'the {noun} has no name; fill in the name.'",
    )


def reject_in_file_duplicates(
    context: LoadContext,
    key_sql: str,
    column: str,
    *,
    noun: str,
    where: str = "true",
    shown: str | None = None,
) -> int:
    """Reject rows whose key already appeared in an earlier row of the same file."""
    context.execute(
        f"""
        update {STAGE} s set first_row = d.first_row
        from (
            select row_number,
                   min(row_number) over (partition by {key_sql}) as first_row
            from {STAGE} s
            where {key_sql} is not null and {where}
        ) d
        where s.row_number = d.row_number and d.first_row <> d.row_number
        """
    )
    return reject(
        context,
        where="s.first_row is not null",
        reason="duplicate_in_file",
        column=column,
        value=shown or key_sql,
        explain=f'format(\'"%%s" is the same {noun} as row %%s; merge the two rows or delete '
        f"one.', {shown or key_sql}, s.first_row)",
    )


def reject_key_conflicts(context: LoadContext, noun: str, where: str = "true") -> int:
    """A row whose external id and email point at two different stored records."""
    return reject(
        context,
        where=f"s.by_external_id <> s.by_email and {where}",
        reason="key_conflict",
        column="email",
        value="s.email",
        explain=f'format(\'"%%s" belongs to another {noun} than external id "%%s"; correct '
        "the email or the id.', s.email, s.external_id)",
    )


def reject_unresolved_account(
    context: LoadContext, into: str, *, where: str, prefix: str = "account", fix: str
) -> int:
    """Reject rows that need an account: ambiguous names first, then no match at all."""
    names = f"{prefix}_name"
    stage = stage_columns(context.entity)
    rejected = 0
    if names in stage:
        rejected += reject(
            context,
            where=f"s.{into} is null and s.candidates is not null and {where}",
            reason="ambiguous_account",
            column=names,
            value=f"s.{names}",
            explain=f"format('\"%%s\" matches %%s accounts (%%s); use the account''s domain or "
            f"external id instead.', s.{names}, s.candidate_count, s.candidates)",
        )
    given = [
        f"s.{name}"
        for name in (names, f"{prefix}_domain", f"{prefix}_external_id")
        if name in stage
    ]
    value = f"coalesce({', '.join(given)})" if given else "null"
    column = next(
        (
            name
            for name in (names, f"{prefix}_domain", f"{prefix}_external_id")
            if name in context.headers
        ),
        None,
    )
    unnamed = f"'no account is named; {fix}'"
    if "email" in stage:
        unnamed = (
            "'no account is named' || coalesce(' and none has the domain of \"' || s.email || "
            f"'\"', '') || '; {fix}'"
        )
    rejected += reject(
        context,
        where=f"s.{into} is null and {where}",
        reason="no_account",
        column=column,
        value=value,
        explain=f"case when {value} is null then {unnamed} else format('no "
        f'account matches "%%s"; {fix}\', {value}) end',
    )
    return rejected


def reject_people_duplicates(context: LoadContext, noun: str, where: str = "true") -> None:
    reject_in_file_duplicates(context, "s.external_id", "external_id", noun=noun, where=where)
    reject_in_file_duplicates(
        context, "lower(s.email)", "email", noun=noun, where=where, shown="s.email"
    )
