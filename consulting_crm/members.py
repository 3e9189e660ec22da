"""Who may use the CRM through the API: the member list in ``crm_private.members``.

A signed-in user (Supabase's ``authenticated`` role, e.g. through its REST API) reads and writes the
CRM's tables only while their user id is on this list; schema.sql's policies check it once per
statement, so adding or removing a member takes effect at the next statement.

On Supabase (``auth.users`` exists) a member is a Supabase user, found by email or user id; the
email shown is theirs from ``auth.users``. Elsewhere there is no user directory: a member is a
user id (the ``sub`` claim of the tokens your own issuer signs), with an optional email as a label.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import psycopg

from ingest.errors import CrmError

SIGN_UP_FIRST = (
    "sign up first (or invite them in the Supabase dashboard: Authentication > Users > "
    "Invite user), then run the command again"
)


@dataclass(frozen=True)
class Member:
    user_id: uuid.UUID
    email: str | None
    added_at: datetime
    added_by: str


def uses_supabase_auth(conn: psycopg.Connection) -> bool:
    """Whether the database has Supabase Auth's user directory (``auth.users``)."""
    row = conn.execute("select to_regclass('auth.users') is not null").fetchone()
    return bool(row and row[0])


def list_members(conn: psycopg.Connection) -> list[Member]:
    """Every member, oldest first; on Supabase with the user's current email."""
    _require_schema(conn)
    if uses_supabase_auth(conn):
        query = (
            "select m.user_id, coalesce(u.email, m.email), m.added_at, m.added_by "
            "from crm_private.members m left join auth.users u on u.id = m.user_id "
            "order by m.added_at, m.user_id"
        )
    else:
        query = (
            "select user_id, email, added_at, added_by from crm_private.members "
            "order by added_at, user_id"
        )
    return [Member(*row) for row in conn.execute(query).fetchall()]


def add_member(
    conn: psycopg.Connection, who: str, *, email: str | None = None
) -> tuple[Member, bool]:
    """Make a user a member; return the member and whether they were new (False: already one).

    Committed on return when ``conn`` had no transaction open (as :func:`remove_member`).
    """
    with conn.transaction():
        _require_schema(conn)
        if uses_supabase_auth(conn):
            if email is not None:
                raise CrmError(
                    "--email is for servers without Supabase Auth; on Supabase the email comes "
                    f"from the user's account: crm db members add {who}"
                )
            user_id, label = _supabase_user(conn, who)
        else:
            user_id = _user_id(who)
            label = email.strip().lower() if email else None
        row = conn.execute(
            """
            insert into crm_private.members (user_id, email) values (%s, %s)
            on conflict (user_id) do update set email = coalesce(excluded.email, members.email)
            returning user_id, email, added_at, added_by, xmax = 0
            """,
            (user_id, label),
        ).fetchone()
    assert row is not None
    return Member(*row[:4]), bool(row[4])


def remove_member(conn: psycopg.Connection, who: str) -> Member:
    """Take a user off the member list (by user id or email); return who was removed."""
    with conn.transaction():
        _require_schema(conn)
        user_id = _member_id(conn, who)
        row = (
            conn.execute(
                "delete from crm_private.members where user_id = %s "
                "returning user_id, email, added_at, added_by",
                (user_id,),
            ).fetchone()
            if user_id is not None
            else None
        )
    if row is None:
        raise CrmError(f"{who} is not a member; `crm db members list` shows who is.")
    return Member(*row)


def _member_id(conn: psycopg.Connection, who: str) -> uuid.UUID | None:
    """The user id ``who`` names: itself, a member's email label, or (Supabase) a user's email."""
    if _is_uuid(who):
        return uuid.UUID(who.strip())
    row = conn.execute(
        "select user_id from crm_private.members where lower(email) = lower(%s)", (who.strip(),)
    ).fetchone()
    if row is None and uses_supabase_auth(conn):
        row = conn.execute(
            "select id from auth.users where lower(email) = lower(%s)", (who.strip(),)
        ).fetchone()
    return row[0] if row else None


def _require_schema(conn: psycopg.Connection) -> None:
    row = conn.execute("select to_regclass('crm_private.members')").fetchone()
    if not row or row[0] is None:
        raise CrmError(
            "this database has no member list yet (schema version 3); run `crm db init` first."
        )


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text.strip())
    except ValueError:
        return False
    return True


def _user_id(who: str) -> uuid.UUID:
    if _is_uuid(who):
        return uuid.UUID(who.strip())
    raise CrmError(
        f"'{who}' is not a user id. Without Supabase Auth (no auth.users here) a member is the "
        "user id your token issuer puts in `sub`: crm db members add "
        "00000000-0000-0000-0000-000000000000 --email ada@example.com"
    )


def _supabase_user(conn: psycopg.Connection, who: str) -> tuple[uuid.UUID, str | None]:
    if _is_uuid(who):
        row = conn.execute(
            "select id, email from auth.users where id = %s", (who.strip(),)
        ).fetchone()
        if row is None:
            raise CrmError(f"no Supabase user has the id {who}: {SIGN_UP_FIRST}.")
    else:
        row = conn.execute(
            "select id, email from auth.users where lower(email) = lower(%s)", (who.strip(),)
        ).fetchone()
        if row is None:
            raise CrmError(f"no Supabase user has the email {who}: {SIGN_UP_FIRST}.")
    return row[0], row[1]
