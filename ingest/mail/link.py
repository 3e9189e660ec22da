"""Linking: stored mail to the contacts, leads and accounts it belongs to, and its activities.

A message links to a contact with one of its counterpart addresses, else a lead with one, else an
account whose domain is the address's domain (never a free-mail domain). Each linked message
becomes one email activity, whose primary parent is that match; every other counterpart who is a
known contact or lead (To, Cc, From) is related to the activity in public.activity_relations
(:func:`link_participants`), like Salesforce's shared activities. The importer
(:mod:`ingest.mail.load`) links each file's staged messages; :func:`relink` runs the same
linking over the stored messages that were unmatched, so mail links itself when its contact, lead
or account arrives later, and relates the people who arrived since to the mail already linked.
"""

from __future__ import annotations

from collections.abc import Mapping

import psycopg
from psycopg import sql

from ingest.audit import lock_imports
from ingest.mail.people import FREE_MAIL_DOMAINS

__all__ = [
    "EXTERNAL_ID",
    "SOURCE",
    "create_activities",
    "link_messages",
    "link_participants",
    "relink",
    "rowcount",
]

SOURCE = "mail"
# An activity's external id: the message key plus the start of its content fingerprint, so two
# different messages that share a Message-ID get two activities.
# An activity's external id names its message; a key too long for the 255-character limit on
# external ids (Message-IDs may have up to 500) is named by its SHA-256 instead.
EXTERNAL_ID = sql.SQL(
    "'email:' || case when char_length(m.message_key) <= 236 then m.message_key "
    "else 'sha256-of-key:' || encode(sha256(convert_to(m.message_key, 'UTF8')), 'hex') end "
    "|| '#' || left(m.content_sha256, 12)"
)


def relink(conn: psycopg.Connection) -> int:
    """Link stored, unmatched messages to the contacts, leads and accounts that exist now.

    Creates one activity per newly linked message and returns how many were linked. Runs in the
    caller's transaction when there is one (as a savepoint), else in its own.
    """
    with conn.transaction():
        lock_imports(conn)  # one import (or relink) at a time, as for spreadsheets
        linked = link_messages(
            conn,
            "ingest.mail_messages",
            "m.link_state = 'unmatched'",
            row_key="mail_message_id",
        )
        if linked:
            # Rows linked just now: linked in this transaction and still without an activity.
            # (A message whose activity was deleted later keeps activity_id null but an older
            # linked_at, so relink does not bring back what a person deleted.)
            just_linked = (
                "m.link_state = 'linked' and m.activity_id is null and m.linked_at = now()"
            )
            create_activities(
                conn, "ingest.mail_messages", just_linked, batch=sql.SQL("m.import_batch_id")
            )
            conn.execute(
                sql.SQL(
                    """
                    update ingest.mail_messages m set activity_id = a.activity_id, body = null
                    from public.activities a
                    where {just_linked} and a.external_id = {external_id}
                      and a.external_system = 'mail'
                    """
                ).format(just_linked=sql.SQL(just_linked), external_id=EXTERNAL_ID)
            )
        # Every stored message with an activity: a contact or lead that arrived since may be
        # one of its further participants.
        link_participants(conn, "ingest.mail_messages", "true", batch=sql.SQL("m.import_batch_id"))
    return linked


def link_messages(conn: psycopg.Connection, table: str, where: str, *, row_key: str) -> int:
    """Link rows of ``table`` matching ``where``: contact, then lead, then account by domain.

    Among several counterpart addresses the kind of match decides first, then the position
    (the sender of received mail comes first). Free-mail domains never match an account.
    ``row_key`` is the column that identifies a row of ``table``. Returns how many rows were
    linked.
    """
    key = sql.Identifier(row_key)
    query = sql.SQL(
        """
        with addresses as (
            select m.{key} as row_key, c.address, c.ordinality
            from {table} m
            cross join lateral unnest(m.counterpart_addresses)
                with ordinality as c (address, ordinality)
            where {where}
        ),
        matches as (
            select a.row_key, 1 as rank, a.ordinality, a.address,
                   ct.contact_id, ct.account_id, null::uuid as lead_id
            from addresses a join public.contacts ct on lower(ct.email) = a.address
            union all
            select a.row_key, 2, a.ordinality, a.address, null, null, l.lead_id
            from addresses a join public.leads l on lower(l.email) = a.address
            union all
            select a.row_key, 3, a.ordinality, a.address, null, ac.account_id, null
            from addresses a
            join public.accounts ac on lower(ac.domain) = split_part(a.address, '@', 2)
            where split_part(a.address, '@', 2) <> all(%(free)s)
        ),
        best as (
            select distinct on (row_key) * from matches order by row_key, rank, ordinality
        )
        update {table} m set
            link_state = 'linked',
            linked_by = case b.rank when 1 then 'contact' when 2 then 'lead' else 'domain' end,
            linked_address = b.address,
            linked_at = now(),
            contact_id = b.contact_id,
            account_id = b.account_id,
            lead_id = b.lead_id
        from best b
        where m.{key} = b.row_key
        """
    ).format(
        table=sql.SQL(table),
        key=key,
        where=sql.SQL(where),  # a fixed condition from the mail package, never user input
    )
    return rowcount(conn, query, {"free": sorted(FREE_MAIL_DOMAINS)})


def create_activities(
    conn: psycopg.Connection, table: str, where: str, *, batch: sql.Composable
) -> int:
    """One email activity per linked message; the external id makes a second run a no-op."""
    query = sql.SQL(
        """
        insert into public.activities (
            activity_type, direction, subject, body, occurred_at, lead_id, account_id,
            contact_id, thread_key, details, external_id, external_system, source, import_batch_id
        )
        select 'email', m.direction::public.activity_direction, m.subject, m.body,
               m.occurred_at, m.lead_id, case when m.lead_id is null then m.account_id end,
               m.contact_id, m.thread_key,
               m.details || jsonb_build_object(
                   'labels', to_jsonb(m.labels),
                   'linked_by', m.linked_by,
                   'linked_address', m.linked_address,
                   'message_id_conflict', m.has_message_id_conflict
               ),
               {external_id}, %(source)s, %(source)s, {batch}
        from {table} m
        where {where}
        order by m.occurred_at
        on conflict (external_system, external_id) do nothing
        """
    ).format(table=sql.SQL(table), where=sql.SQL(where), batch=batch, external_id=EXTERNAL_ID)
    return rowcount(conn, query, {"source": SOURCE})


def link_participants(
    conn: psycopg.Connection, table: str, where: str, *, batch: sql.Composable
) -> int:
    """Relate each message's activity to every known contact or lead among its counterparts.

    An address that is a contact's relates that contact (a lead with the same address is then
    left out, as the linking prefers contacts); otherwise a lead's relates the lead. The activity's
    primary contact or lead is not repeated. Rows of ``table`` matching ``where`` that have an
    activity are read; the unique keys on activity_relations make a second run a no-op. Returns
    how many relations were added.
    """
    query = sql.SQL(
        """
        with participants as (
            select distinct m.activity_id, c.address, {batch} as batch
            from {table} m
            cross join lateral unnest(m.counterpart_addresses) as c (address)
            where {where} and m.activity_id is not null
        ),
        people as (
            select p.activity_id, ct.contact_id, null::uuid as lead_id, p.batch
            from participants p
            join public.contacts ct on lower(ct.email) = p.address
            union
            select p.activity_id, null, l.lead_id, p.batch
            from participants p
            join public.leads l on lower(l.email) = p.address
            where not exists (select from public.contacts ct where lower(ct.email) = p.address)
        )
        insert into public.activity_relations
            (activity_id, contact_id, lead_id, source, import_batch_id)
        select people.activity_id, people.contact_id, people.lead_id, %(source)s, people.batch
        from people
        join public.activities a on a.activity_id = people.activity_id
        where (people.contact_id is null or people.contact_id is distinct from a.contact_id)
          and (people.lead_id is null or people.lead_id is distinct from a.lead_id)
        order by people.activity_id
        on conflict do nothing
        """
    ).format(table=sql.SQL(table), where=sql.SQL(where), batch=batch)
    return rowcount(conn, query, {"source": SOURCE})


def rowcount(
    conn: psycopg.Connection,
    query: str | sql.Composable,
    params: Mapping[str, object] | None = None,
) -> int:
    """Run one statement built here (never from input) and return how many rows it touched."""
    cursor = conn.execute(query, params)  # type: ignore[arg-type]  # a str built here, not input
    return max(cursor.rowcount, 0)
