"""Access control in schema.sql on a real PostgreSQL: members, strangers, anon, and the catalog.

Mirrors schema.sql's "access control (issue 14)" section. A request is played the way PostgREST
plays it on Supabase: ``set local role authenticated`` (or ``anon``) and ``request.jwt.claims``
holding the token's claims, in the same transaction as the statement. The catalog checks at the end
cover the rules of Supabase's database linter (splinter) that apply to this schema; each is shown
to fail on a fault made in a rolled-back transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql

from consulting_crm import database as db
from tests.test_schema import ACCOUNT, ACTIVITY, CONTACT, LEAD, PROJECT, SEED_ROWS

MEMBER = "11111111-1111-4111-8111-111111111111"
STRANGER = "22222222-2222-4222-8222-222222222222"

# Per table: a valid insert, the key it returns, a harmless update of the new row.
# The CRM's tables and the exchange rates the user keeps: the same members-only rules on each.
GUARDED_TABLES = (*db.PUBLIC_TABLES, "exchange_rates")
WRITES: dict[str, tuple[str, str, str]] = {
    "accounts": ("insert into public.accounts (name) values ('Contoso')", "account_id", "industry"),
    "contacts": (
        f"insert into public.contacts (account_id, last_name) values ('{ACCOUNT}', 'Lovelace')",
        "contact_id",
        "first_name",
    ),
    "leads": ("insert into public.leads (last_name) values ('Turing')", "lead_id", "company"),
    "projects": (
        f"insert into public.projects (account_id, name) values ('{ACCOUNT}', 'Audit')",
        "project_id",
        "name",
    ),
    "activities": (
        f"insert into public.activities (activity_type, occurred_at, lead_id) "
        f"values ('call', now(), '{LEAD}')",
        "activity_id",
        "subject",
    ),
    "activity_relations": (
        f"insert into public.activity_relations (activity_id, contact_id) "
        f"values ('{ACTIVITY}', '{CONTACT}')",
        "activity_relation_id",
        "source",
    ),
    "exchange_rates": (
        "insert into public.exchange_rates (currency_code, base_currency, valid_from, rate) "
        "values ('USD', 'EUR', '2025-01-01', 0.92)",
        "exchange_rate_id",
        "note",
    ),
}
SEEDED_KEYS = {
    "accounts": ("account_id", ACCOUNT),
    "contacts": ("contact_id", CONTACT),
    "leads": ("lead_id", LEAD),
    "projects": ("project_id", PROJECT),
}


def sign_in(conn: psycopg.Connection, user_id: str | None, *, role: str = "authenticated") -> None:
    """Become a request of ``user_id`` (None: no token) for the rest of the transaction."""
    conn.execute("reset role")
    claims = {"role": role} if user_id is None else {"sub": user_id, "role": role}
    conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
    conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))


def count(conn: psycopg.Connection, table: str, schema: str = "public") -> int:
    row = conn.execute(
        sql.SQL("select count(*) from {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def api(conn: psycopg.Connection) -> psycopg.Connection:
    """One row in every table and MEMBER on the member list; rolled back after the test."""
    conn.execute(SEED_ROWS)  # type: ignore[arg-type]
    conn.execute(
        "insert into crm_private.members (user_id, email) values (%s, 'me@firm.example')", (MEMBER,)
    )
    return conn


# ---------------------------------------------------------------------------------------------
# A member reads and writes everything
# ---------------------------------------------------------------------------------------------


def test_member_reads_every_table(api: psycopg.Connection) -> None:
    sign_in(api, MEMBER)
    assert {table: count(api, table) for table in GUARDED_TABLES} == dict.fromkeys(
        GUARDED_TABLES, 1
    )


@pytest.mark.parametrize("table", GUARDED_TABLES)
def test_member_inserts_updates_and_deletes(api: psycopg.Connection, table: str) -> None:
    insert, key, column = WRITES[table]
    sign_in(api, MEMBER)
    row = api.execute(f"{insert} returning {key}").fetchone()  # type: ignore[arg-type]
    assert row is not None
    new_id = row[0]
    updated = api.execute(
        sql.SQL("update public.{} set {} = 'Changed' where {} = %s").format(
            sql.Identifier(table), sql.Identifier(column), sql.Identifier(key)
        ),
        (new_id,),
    )
    assert updated.rowcount == 1
    deleted = api.execute(
        sql.SQL("delete from public.{} where {} = %s").format(
            sql.Identifier(table), sql.Identifier(key)
        ),
        (new_id,),
    )
    assert deleted.rowcount == 1
    assert count(api, table) == 1


def test_member_cannot_truncate(api: psycopg.Connection) -> None:
    # TRUNCATE bypasses row level security, so no API role has it.
    for table in GUARDED_TABLES:
        sign_in(api, MEMBER)
        with pytest.raises(errors.InsufficientPrivilege), api.transaction():
            api.execute(sql.SQL("truncate public.{} cascade").format(sql.Identifier(table)))


# ---------------------------------------------------------------------------------------------
# Anyone else who signs up sees nothing and changes nothing
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("user", [STRANGER, None], ids=["stranger", "no-sub-claim"])
def test_non_member_sees_no_rows(api: psycopg.Connection, user: str | None) -> None:
    sign_in(api, user)
    assert {table: count(api, table) for table in GUARDED_TABLES} == dict.fromkeys(
        GUARDED_TABLES, 0
    )


@pytest.mark.parametrize("table", GUARDED_TABLES)
def test_non_member_insert_is_refused_by_the_policy(api: psycopg.Connection, table: str) -> None:
    insert, _, _ = WRITES[table]
    sign_in(api, STRANGER)
    refused = pytest.raises(errors.InsufficientPrivilege, match="row-level security policy")
    with refused, api.transaction():
        api.execute(insert)  # type: ignore[arg-type]


@pytest.mark.parametrize("table", GUARDED_TABLES)
def test_non_member_update_and_delete_touch_no_row(api: psycopg.Connection, table: str) -> None:
    # Row level security hides the rows from UPDATE and DELETE: no error, zero rows affected.
    _, key, column = WRITES[table]
    sign_in(api, STRANGER)
    updated = api.execute(
        sql.SQL("update public.{} set {} = 'Defaced'").format(
            sql.Identifier(table), sql.Identifier(column)
        )
    )
    deleted = api.execute(sql.SQL("delete from public.{}").format(sql.Identifier(table)))
    assert (updated.rowcount, deleted.rowcount) == (0, 0)
    api.execute("reset role")
    assert count(api, table) == 1
    changed = api.execute(
        sql.SQL("select count(*) from public.{} where {}::text = 'Defaced'").format(
            sql.Identifier(table), sql.Identifier(column)
        )
    ).fetchone()
    assert changed == (0,), key


def test_non_member_cannot_truncate_or_add_themselves(api: psycopg.Connection) -> None:
    statements = [
        *[f"truncate public.{table} cascade" for table in GUARDED_TABLES],
        f"insert into crm_private.members (user_id) values ('{STRANGER}')",
        f"update crm_private.members set user_id = '{STRANGER}'",
        "delete from crm_private.members",
        "select email from crm_private.members",
    ]
    for statement in statements:
        sign_in(api, STRANGER)
        with pytest.raises(errors.InsufficientPrivilege), api.transaction():
            api.execute(statement)  # type: ignore[arg-type]


def test_a_member_sees_only_their_own_membership(api: psycopg.Connection) -> None:
    api.execute("insert into crm_private.members (user_id) values (gen_random_uuid())")
    sign_in(api, MEMBER)
    rows = api.execute("select user_id::text from crm_private.members").fetchall()
    assert rows == [(MEMBER,)]
    sign_in(api, STRANGER)
    assert count(api, "members", "crm_private") == 0


# ---------------------------------------------------------------------------------------------
# anon (the public API key alone) has no privileges at all
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("claims_of", [None, MEMBER], ids=["no-sub", "member-sub"])
def test_anon_can_do_nothing(api: psycopg.Connection, claims_of: str | None) -> None:
    statements = [
        *[f"select count(*) from public.{table}" for table in GUARDED_TABLES],
        *[WRITES[table][0] for table in GUARDED_TABLES],
        *[f"delete from public.{table}" for table in GUARDED_TABLES],
        "update public.leads set company = 'Defaced'",
        "truncate public.leads cascade",
        "select count(*) from crm_private.members",
        "select crm_private.is_member()",
    ]
    for statement in statements:
        sign_in(api, claims_of, role="anon")
        with pytest.raises(errors.InsufficientPrivilege), api.transaction():
            api.execute(statement)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Membership changes take effect at the next statement
# ---------------------------------------------------------------------------------------------


def test_removing_a_member_takes_effect_at_the_next_statement(
    make_database: Callable[..., str],
) -> None:
    conninfo = make_database()
    with psycopg.connect(conninfo, autocommit=True) as owner:
        owner.execute(SEED_ROWS)  # type: ignore[arg-type]
        owner.execute("insert into crm_private.members (user_id) values (%s)", (MEMBER,))
        with psycopg.connect(conninfo) as request:
            sign_in(request, MEMBER)
            assert count(request, "leads") == 1
            owner.execute("delete from crm_private.members where user_id = %s", (MEMBER,))
            # Same transaction, same claims: the next statement already sees nothing.
            assert count(request, "leads") == 0
            updated = request.execute("update public.leads set company = 'Defaced'")
            assert updated.rowcount == 0
            owner.execute("insert into crm_private.members (user_id) values (%s)", (MEMBER,))
            assert count(request, "leads") == 1
            request.rollback()


# ---------------------------------------------------------------------------------------------
# The membership check runs once per statement (an initPlan), not once per row
# ---------------------------------------------------------------------------------------------


def _plan_nodes(node: dict[str, Any], in_init_plan: bool = False) -> Iterator[tuple[dict, bool]]:
    yield node, in_init_plan
    for child in node.get("Plans", []):
        child_in_init = in_init_plan or child.get("Parent Relationship") == "InitPlan"
        yield from _plan_nodes(child, child_in_init)


def test_membership_check_is_an_init_plan_evaluated_once(api: psycopg.Connection) -> None:
    api.execute(
        "insert into public.leads (last_name) select 'Lead ' || n from generate_series(1, 50) n"
    )
    sign_in(api, MEMBER)
    row = api.execute(
        "explain (analyze, verbose, costs off, timing off, format json) select * from public.leads"
    ).fetchone()
    assert row is not None
    nodes = list(_plan_nodes(row[0][0]["Plan"]))
    init_plans = [node for node, inside in nodes if node.get("Parent Relationship") == "InitPlan"]
    assert init_plans, "the membership check is not an initPlan"
    assert all(node["Actual Loops"] == 1 for node in init_plans)
    scans = [node for node, _ in nodes if node.get("Relation Name") == "leads"]
    assert scans and scans[0]["Actual Rows"] == 51
    per_row = [
        text
        for node, inside in nodes
        if not inside
        for key in ("Filter", "One-Time Filter")
        if "is_member(" in (text := node.get(key, ""))
    ]
    assert per_row == []
    checked = [
        expression
        for node, inside in nodes
        if inside
        for expression in node.get("Output", [])
        if "crm_private.is_member()" in expression
    ]
    assert checked, "the initPlan does not call crm_private.is_member()"


# ---------------------------------------------------------------------------------------------
# auth.uid() and auth.jwt() where there is no Supabase; Supabase's auth schema is left alone
# ---------------------------------------------------------------------------------------------


def test_stand_in_auth_functions_read_the_request_claims(conn: psycopg.Connection) -> None:
    def uid_and_jwt() -> tuple[Any, ...]:
        row = conn.execute("select auth.uid()::text, auth.jwt()").fetchone()
        assert row is not None
        return tuple(row)

    assert uid_and_jwt() == (None, None)
    claims = {"sub": MEMBER, "role": "authenticated", "email": "me@firm.example"}
    conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
    assert uid_and_jwt() == (MEMBER, claims)
    conn.execute("select set_config('request.jwt.claims', '', true)")
    assert uid_and_jwt() == (None, None)
    # Supabase's auth.uid() also reads the older per-claim setting first.
    conn.execute("select set_config('request.jwt.claim.sub', %s, true)", (STRANGER,))
    assert uid_and_jwt()[0] == STRANGER


SUPABASE_AUTH = """
create schema auth;
create table auth.users (id uuid primary key, email text);
create function auth.uid() returns uuid language sql stable as $$
  select nullif(coalesce(current_setting('request.jwt.claim.sub', true),
                         (current_setting('request.jwt.claims', true)::jsonb ->> 'sub')), '')::uuid
$$;
"""


def test_supabase_auth_schema_is_left_alone(make_database: Callable[..., str]) -> None:
    conninfo = make_database(with_schema=False)
    with psycopg.connect(conninfo) as conn:
        conn.execute(SUPABASE_AUTH)  # type: ignore[arg-type]
        before = conn.execute(
            "select p.oid::regprocedure::text, md5(pg_get_functiondef(p.oid)) from pg_proc p "
            "where p.pronamespace = 'auth'::regnamespace order by 1"
        ).fetchall()
        conn.commit()
        assert db.apply_schema(conn) == 6
        after = conn.execute(
            "select p.oid::regprocedure::text, md5(pg_get_functiondef(p.oid)) from pg_proc p "
            "where p.pronamespace = 'auth'::regnamespace order by 1"
        ).fetchall()
        comment = conn.execute(
            "select obj_description('auth'::regnamespace, 'pg_namespace')"
        ).fetchone()
        assert after == before == [("auth.uid()", before[0][1])]
        assert comment == (None,)
        # A member is a Supabase user: deleting the user ends the membership.
        conn.execute("insert into auth.users (id, email) values (%s, 'me@firm.example')", (MEMBER,))
        conn.execute("insert into crm_private.members (user_id) values (%s)", (MEMBER,))
        with pytest.raises(errors.ForeignKeyViolation), conn.transaction():
            conn.execute("insert into crm_private.members (user_id) values (%s)", (STRANGER,))
        conn.execute("delete from auth.users where id = %s", (MEMBER,))
        assert count(conn, "members", "crm_private") == 0
        conn.rollback()


# ---------------------------------------------------------------------------------------------
# Upgrading a version-2 database in place
# ---------------------------------------------------------------------------------------------

VERSION_2_ACCESS = """
drop schema crm_private cascade;
delete from ingest.schema_version where version >= 3;
do $v2$
declare
    t text;
begin
    foreach t in array array['accounts', 'contacts', 'leads', 'projects', 'activities'] loop
        execute format('create policy authenticated_full_access on public.%I for all '
                       'to authenticated using (true) with check (true)', t);
        execute format('grant all on public.%I to anon, authenticated', t);
    end loop;
end
$v2$;
"""


def test_version_2_database_is_upgraded_in_place(make_database: Callable[..., str]) -> None:
    conninfo = make_database()
    with psycopg.connect(conninfo) as conn:
        conn.execute(SEED_ROWS)  # type: ignore[arg-type]
        conn.execute(VERSION_2_ACCESS)  # type: ignore[arg-type]
        conn.commit()
        assert db.schema_version(conn) == 2
        assert db.apply_schema(conn) == 6
        policies = conn.execute(
            "select tablename, string_agg(policyname, ',' order by policyname) "
            "from pg_policies where schemaname = 'public' group by tablename order by tablename"
        ).fetchall()
        anon = conn.execute(
            "select count(*) from information_schema.role_table_grants "
            "where grantee = 'anon' and table_schema = 'public'"
        ).fetchone()
        counts = {table: count(conn, table) for table in GUARDED_TABLES}
        assert lint_findings(conn) == {}
    assert policies == [
        (table, "members_delete,members_insert,members_select,members_update")
        for table in sorted(GUARDED_TABLES)
    ]
    assert anon == (0,)
    assert counts == dict.fromkeys(GUARDED_TABLES, 1)


# ---------------------------------------------------------------------------------------------
# Catalog checks: Supabase's linter rules (splinter) that apply here, plus our own
# ---------------------------------------------------------------------------------------------

# Schemas splinter leaves out (Supabase's own and extensions'), plus PostgreSQL's.
SYSTEM_SCHEMAS = (
    "'auth', 'cron', 'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', "
    "'pgmq', 'pgroonga', 'pgsodium', 'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', "
    "'pg_toast', 'realtime', 'repack', 'storage', 'supabase_functions', 'supabase_migrations', "
    "'tiger', 'topology', 'vault'"
)

# Policy rows for the roles the API uses (anon, authenticated) or everyone (public), with their
# expressions normalised as splinter does (lower case, no white space).
API_POLICIES = f"""
select n.nspname || '.' || c.relname || '.' || p.polname as policy, c.relrowsecurity,
       p.polpermissive, p.polcmd,
       replace(replace(replace(lower(coalesce(pg_get_expr(p.polqual, p.polrelid), '')),
           ' ', ''), E'\\n', ''), E'\\t', '') as qual,
       replace(replace(replace(lower(coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '')),
           ' ', ''), E'\\n', ''), E'\\t', '') as with_check,
       p.polqual is null as no_qual, p.polwithcheck is null as no_check
from pg_policy p
join pg_class c on c.oid = p.polrelid
join pg_namespace n on n.oid = c.relnamespace
where n.nspname not in ({SYSTEM_SCHEMAS})
  and (p.polroles = array[0::oid]
       or exists (select from unnest(p.polroles) r where r::regrole::text in ('anon',
                                                                               'authenticated')))
"""
ALWAYS_TRUE = "('true', '(true)', '1=1', '(1=1)')"
# A call of auth.uid() and its kin, or of our membership check, in a normalised expression.
CHECK_CALL = r"(auth\.(uid|jwt|role|email)|crm_private\.is_member)\(\)"

LINTS: dict[str, str] = {
    # splinter 0013 (ERROR): a table in public without row level security.
    "rls_disabled_in_public": """
        select c.oid::regclass::text from pg_class c
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
          and not c.relrowsecurity
    """,
    # splinter 0007 (ERROR): policies on a table whose row level security is off.
    "policy_exists_rls_disabled": f"""
        select distinct c.oid::regclass::text from pg_policy p
        join pg_class c on c.oid = p.polrelid
        where not c.relrowsecurity and c.relnamespace::regnamespace::text not in ({SYSTEM_SCHEMAS})
    """,
    # splinter 0024 (WARN), stricter: no API policy is always true, for any command (splinter
    # exempts SELECT), and no permissive policy leaves out the expression that would filter.
    "rls_policy_always_true": f"""
        select policy from ({API_POLICIES}) p
        where qual in {ALWAYS_TRUE} or with_check in {ALWAYS_TRUE}
           or (polpermissive and no_qual and polcmd in ('r', 'w', 'd', '*'))
           or (polpermissive and no_check and polcmd = 'a')
    """,
    # splinter 0030 (WARN), stricter: no API policy admits anything when an auth value IS NULL
    # (`auth.uid() is null or …` lets a request without a user see every row), wherever the
    # test stands in the expression.
    "rls_policy_null_auth_disjunct": f"""
        select policy from ({API_POLICIES}) p
        where qual || ' ' || with_check ~ ('(auth\\.(uid|jwt|role|email)\\(\\)(as\\w+\\))?'
                                           '|current_setting\\([^)]*\\))isnull')
    """,
    # splinter 0003 (WARN), extended to our membership check: auth.*() and
    # crm_private.is_member() in a policy are wrapped in a sub-select (an initPlan, evaluated
    # once per statement), never called per row.
    "auth_rls_initplan": f"""
        select policy from ({API_POLICIES}) p
        where regexp_count(qual, '{CHECK_CALL}') > regexp_count(qual, 'select{CHECK_CALL}')
           or regexp_count(with_check, '{CHECK_CALL}')
              > regexp_count(with_check, 'select{CHECK_CALL}')
    """,
    # splinter 0006 (WARN): two permissive policies for one role and command on one table.
    "multiple_permissive_policies": f"""
        select c.oid::regclass::text || ' ' || r.rolname || ' ' || act.cmd
        from pg_policy p
        join pg_class c on c.oid = p.polrelid
        join pg_roles r on p.polroles @> array[r.oid] or p.polroles = array[0::oid]
        cross join lateral unnest(case p.polcmd when 'r' then array['select']
            when 'a' then array['insert'] when 'w' then array['update']
            when 'd' then array['delete'] else array['select', 'insert', 'update', 'delete'] end)
            as act(cmd)
        where p.polpermissive and not r.rolbypassrls and r.rolname not like 'pg\\_%'
          and c.relnamespace::regnamespace::text not in ({SYSTEM_SCHEMAS})
        group by 1 having count(*) > 1
    """,
    # splinter 0011 (WARN): every function of ours fixes its search_path.
    "function_search_path_mutable": f"""
        select p.oid::regprocedure::text from pg_proc p
        where p.pronamespace::regnamespace::text not in ({SYSTEM_SCHEMAS})
          and not exists (select from pg_depend d where d.objid = p.oid and d.deptype = 'e')
          and not exists (select from unnest(coalesce(p.proconfig, '{{}}')) c
                          where c like 'search_path=%')
    """,
    # The rule, in every schema including auth: a SECURITY DEFINER function the API roles
    # can call fixes its search_path.
    "security_definer_search_path_mutable": """
        select p.oid::regprocedure::text from pg_proc p
        where p.prosecdef
          and (has_function_privilege('anon', p.oid, 'execute')
               or has_function_privilege('authenticated', p.oid, 'execute'))
          and p.pronamespace::regnamespace::text not in ('pg_catalog', 'information_schema')
          and not exists (select from unnest(coalesce(p.proconfig, '{}')) c
                          where c like 'search_path=%')
    """,
    # splinter 0028 and 0029 (WARN): no SECURITY DEFINER function is callable by anon or
    # authenticated (it would run with its owner's rights and bypass row level security).
    "api_security_definer_function_executable": f"""
        select p.oid::regprocedure::text from pg_proc p
        where p.prosecdef
          and (has_function_privilege('anon', p.oid, 'execute')
               or has_function_privilege('authenticated', p.oid, 'execute'))
          and p.pronamespace::regnamespace::text not in ({SYSTEM_SCHEMAS})
    """,
    # splinter 0026 (WARN), whether or not pg_graphql is installed, and for every privilege:
    # anon has nothing on any table, view or sequence of ours.
    "anon_has_privileges": f"""
        select c.oid::regclass::text || ' ' || priv from pg_class c
        cross join unnest(array['select', 'insert', 'update', 'delete', 'truncate',
                                'references', 'trigger']) as priv
        where c.relkind in ('r', 'p', 'v', 'm', 'f')
          and c.relnamespace::regnamespace::text not in ({SYSTEM_SCHEMAS})
          and has_table_privilege('anon', c.oid, priv)
        union all
        select c.oid::regclass::text || ' usage' from pg_class c
        where c.relkind = 'S' and c.relnamespace::regnamespace::text not in ({SYSTEM_SCHEMAS})
          and case when c.relkind = 'S' then has_sequence_privilege('anon', c.oid, 'usage') end
    """,
    # Ours (issue 14): TRUNCATE bypasses row level security; REFERENCES and TRIGGER are no API
    # role's business.
    "api_role_truncate_references_trigger": """
        select c.oid::regclass::text || ' ' || r || ' ' || priv from pg_class c
        cross join unnest(array['anon', 'authenticated']) as r
        cross join unnest(array['truncate', 'references', 'trigger']) as priv
        where c.relnamespace in ('public'::regnamespace, 'crm_private'::regnamespace)
          and c.relkind in ('r', 'p') and has_table_privilege(r, c.oid, priv)
    """,
    # Ours (issue 14): every public table has exactly one member policy per command for
    # authenticated, each the membership check.
    "public_table_without_member_policies": """
        select c.oid::regclass::text || ' ' || cmd from pg_class c
        cross join unnest(array['r', 'a', 'w', 'd']) as cmd
        where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
          and (select count(*) from pg_policy p
               where p.polrelid = c.oid and p.polcmd::text = cmd
                 and p.polroles = array['authenticated'::regrole::oid]
                 and coalesce(pg_get_expr(p.polqual, p.polrelid), '') in
                     ('', '( SELECT crm_private.is_member() AS is_member)')
                 and coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') in
                     ('', '( SELECT crm_private.is_member() AS is_member)')
                 and (p.polqual is not null or p.polwithcheck is not null)) <> 1
    """,
}


def lint_findings(conn: psycopg.Connection) -> dict[str, list[str]]:
    """Every lint with what it found (an empty dict: the catalog is clean)."""
    findings = {}
    for name, query in LINTS.items():
        rows = [str(row[0]) for row in conn.execute(query).fetchall()]  # type: ignore[arg-type]
        if rows:
            findings[name] = sorted(rows)
    return findings


def test_catalog_is_clean(conn: psycopg.Connection) -> None:
    assert lint_findings(conn) == {}


# (lint, the fault that must make it fail, a piece of what it reports)
FAULTS: list[tuple[str, str, str]] = [
    ("rls_disabled_in_public", "create table public.crm_test_open (id int)", "crm_test_open"),
    (
        "policy_exists_rls_disabled",
        "alter table public.leads disable row level security",
        "leads",
    ),
    (
        "rls_policy_always_true",
        "create policy crm_test_all on public.leads for select to authenticated using (true)",
        "public.leads.crm_test_all",
    ),
    (
        "rls_policy_always_true",
        "create policy crm_test_all on public.leads for insert to public with check (1 = 1)",
        "public.leads.crm_test_all",
    ),
    (
        "rls_policy_null_auth_disjunct",
        "create policy crm_test_null on public.leads as restrictive for select to authenticated "
        "using ((select auth.uid()) is null or (select crm_private.is_member()))",
        "public.leads.crm_test_null",
    ),
    (
        "auth_rls_initplan",
        "create policy crm_test_slow on public.leads as restrictive for select to authenticated "
        "using (crm_private.is_member())",
        "public.leads.crm_test_slow",
    ),
    (
        "auth_rls_initplan",
        "create policy crm_test_slow on public.leads as restrictive for insert to authenticated "
        "with check (auth.uid() is not distinct from (select auth.uid()))",
        "public.leads.crm_test_slow",
    ),
    (
        "multiple_permissive_policies",
        "create policy crm_test_twice on public.leads for select to authenticated "
        "using ((select crm_private.is_member()))",
        "leads authenticated select",
    ),
    (
        "function_search_path_mutable",
        "create function crm_private.crm_test_f() returns int language sql as 'select 1'",
        "crm_private.crm_test_f()",
    ),
    (
        "security_definer_search_path_mutable",
        "create function auth.crm_test_definer() returns int language sql security definer "
        "as 'select 1'",
        "auth.crm_test_definer()",
    ),
    (
        "api_security_definer_function_executable",
        "create function public.crm_test_definer() returns int language sql security definer "
        "set search_path = '' as 'select 1'",
        "crm_test_definer()",
    ),
    ("anon_has_privileges", "grant select on public.leads to anon", "leads select"),
    (
        "anon_has_privileges",
        "create sequence public.crm_test_seq; grant usage on public.crm_test_seq to anon",
        "crm_test_seq usage",
    ),
    (
        "api_role_truncate_references_trigger",
        "grant truncate on public.leads to authenticated",
        "leads authenticated truncate",
    ),
    (
        "public_table_without_member_policies",
        "drop policy members_delete on public.activities",
        "activities d",
    ),
    (
        "public_table_without_member_policies",
        "alter policy members_update on public.projects using (true)",
        "projects w",
    ),
]


@pytest.mark.parametrize(
    ("lint", "fault", "reported"),
    [pytest.param(*fault, id=f"{fault[0]}-{n}") for n, fault in enumerate(FAULTS)],
)
def test_each_catalog_check_fails_on_its_fault(
    conn: psycopg.Connection, lint: str, fault: str, reported: str
) -> None:
    with conn.transaction(force_rollback=True):
        conn.execute(fault)  # type: ignore[arg-type]
        findings = lint_findings(conn)
    assert lint in findings, findings
    assert any(reported in finding for finding in findings[lint]), findings[lint]


def test_every_lint_has_a_fault_that_trips_it() -> None:
    assert {lint for lint, _, _ in FAULTS} == set(LINTS)
