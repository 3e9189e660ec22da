"""schema.sql on a real PostgreSQL: every rule holds, re-applying is safe, roles see their share."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import psycopg
import pytest
from psycopg import errors, sql

from consulting_crm import database as db

ACCOUNT = "00000000-0000-0000-0000-00000000000a"
CONTACT = "00000000-0000-0000-0000-00000000000c"
LEAD = "00000000-0000-0000-0000-00000000001e"
PROJECT = "00000000-0000-0000-0000-00000000000b"
MISSING = "00000000-0000-0000-0000-0000000000ff"
ACTIVITY = "00000000-0000-0000-0000-0000000000ac"

SEED_ROWS = f"""
insert into public.accounts (account_id, name, domain, external_id)
values ('{ACCOUNT}', 'Northwind Traders', 'northwind.example', 'acc-1');
insert into public.contacts (contact_id, account_id, first_name, last_name, email, external_id)
values ('{CONTACT}', '{ACCOUNT}', 'Ada', 'Byron', 'ada@northwind.example', 'con-1');
insert into public.leads (lead_id, first_name, last_name, company, email, external_id)
values ('{LEAD}', 'Grace', 'Hopper', 'Cobol Ltd', 'grace@cobol.example', 'lead-1');
insert into public.projects (project_id, account_id, name, stage, amount, external_id)
values ('{PROJECT}', '{ACCOUNT}', 'Data strategy', 'proposal', 12000, 'prj-1');
insert into public.activities
    (activity_id, activity_type, occurred_at, account_id, external_id)
values ('{ACTIVITY}', 'note', '2025-01-02 10:00+00', '{ACCOUNT}', 'act-1');
insert into public.activity_relations (activity_id, lead_id) values ('{ACTIVITY}', '{LEAD}');
insert into public.exchange_rates (currency_code, base_currency, valid_from, rate)
values ('GBP', 'EUR', '2025-01-01', 1.17);
"""

# (rule, statement, expected SQLSTATE class)
ErrorTypes = type[psycopg.Error] | tuple[type[psycopg.Error], ...]

VIOLATIONS: list[tuple[str, str, ErrorTypes]] = [
    ("account name required", "insert into accounts (name) values ('  ')", errors.CheckViolation),
    (
        "account domain is a host name",
        "insert into accounts (name, domain) values ('X', 'not a domain')",
        errors.CheckViolation,
    ),
    (
        "account domain unique ignoring case",
        "insert into accounts (name, domain) values ('Other', 'NorthWind.Example')",
        errors.UniqueViolation,
    ),
    (
        "account external id unique",
        "insert into accounts (name, external_id) values ('Other', 'acc-1')",
        errors.UniqueViolation,
    ),
    (
        "account revenue not negative",
        "insert into accounts (name, annual_revenue) values ('X', -1)",
        errors.CheckViolation,
    ),
    (
        "contact belongs to an existing account",
        f"insert into contacts (account_id, last_name) values ('{MISSING}', 'Nobody')",
        errors.ForeignKeyViolation,
    ),
    (
        "contact needs an account",
        "insert into contacts (last_name) values ('Nobody')",
        errors.NotNullViolation,
    ),
    (
        "contact email syntax",
        f"insert into contacts (account_id, email) values ('{ACCOUNT}', 'ada@')",
        errors.CheckViolation,
    ),
    (
        "contact email unique ignoring case",
        f"insert into contacts (account_id, email) values ('{ACCOUNT}', 'ADA@northwind.example')",
        errors.UniqueViolation,
    ),
    (
        "contact is identified",
        f"insert into contacts (account_id, first_name) values ('{ACCOUNT}', ' ')",
        errors.CheckViolation,
    ),
    (
        "lead email unique ignoring case",
        "insert into leads (email) values ('Grace@Cobol.Example')",
        errors.UniqueViolation,
    ),
    (
        "lead status is an enum",
        "insert into leads (last_name, status) values ('X', 'hot')",
        errors.InvalidTextRepresentation,
    ),
    (
        "converted lead points at its account",
        "insert into leads (last_name, status, converted_date) values ('X', 'converted', "
        "'2025-01-01')",
        errors.CheckViolation,
    ),
    (
        "only a converted lead points at an account",
        f"insert into leads (last_name, status, converted_account_id) values ('X', 'qualified', "
        f"'{ACCOUNT}')",
        errors.CheckViolation,
    ),
    (
        "converted lead has a conversion date",
        f"insert into leads (last_name, status, converted_account_id) values ('X', 'converted', "
        f"'{ACCOUNT}')",
        errors.CheckViolation,
    ),
    (
        "conversion links only on converted leads",
        f"insert into leads (last_name, converted_contact_id) values ('X', '{CONTACT}')",
        errors.CheckViolation,
    ),
    (
        "lead is identified",
        "insert into leads (first_name) values ('')",
        errors.CheckViolation,
    ),
    (
        "project amount not negative",
        f"insert into projects (account_id, name, amount) values ('{ACCOUNT}', 'P', -5)",
        errors.CheckViolation,
    ),
    (
        "project ends after it starts",
        f"insert into projects (account_id, name, start_date, end_date) "
        f"values ('{ACCOUNT}', 'P', '2025-02-01', '2025-01-31')",
        errors.CheckViolation,
    ),
    (
        "won project has a close date",
        f"insert into projects (account_id, name, stage) values ('{ACCOUNT}', 'P', 'won')",
        errors.CheckViolation,
    ),
    (
        "lost project has a close date",
        f"insert into projects (account_id, name, stage) values ('{ACCOUNT}', 'P', 'lost')",
        errors.CheckViolation,
    ),
    (
        "delivery status only on won projects",
        f"insert into projects (account_id, name, stage, delivery_status) "
        f"values ('{ACCOUNT}', 'P', 'proposal', 'active')",
        errors.CheckViolation,
    ),
    (
        "probability is a fraction",
        f"insert into projects (account_id, name, probability) values ('{ACCOUNT}', 'P', 1.5)",
        errors.CheckViolation,
    ),
    (
        "currency is an ISO code",
        f"insert into projects (account_id, name, currency_code) values ('{ACCOUNT}', 'P', 'euro')",
        errors.CheckViolation,
    ),
    (
        "project belongs to an account",
        f"insert into projects (account_id, name) values ('{MISSING}', 'P')",
        errors.ForeignKeyViolation,
    ),
    (
        "activity has a parent",
        "insert into activities (activity_type, occurred_at) values ('call', now())",
        errors.CheckViolation,
    ),
    (
        "activity has only one parent",
        f"insert into activities (activity_type, occurred_at, account_id, project_id) "
        f"values ('call', now(), '{ACCOUNT}', '{PROJECT}')",
        errors.CheckViolation,
    ),
    (
        "activity ends after it starts",
        f"insert into activities (activity_type, occurred_at, ends_at, lead_id) "
        f"values ('meeting', '2025-01-02', '2025-01-01', '{LEAD}')",
        errors.CheckViolation,
    ),
    (
        "activity external id unique",
        f"insert into activities (activity_type, occurred_at, lead_id, external_id) "
        f"values ('email', now(), '{LEAD}', 'act-1')",
        errors.UniqueViolation,
    ),
    (
        "activity type is an enum",
        f"insert into activities (activity_type, occurred_at, lead_id) "
        f"values ('fax', now(), '{LEAD}')",
        errors.InvalidTextRepresentation,
    ),
    (
        "activity relation names a contact or a lead",
        f"insert into activity_relations (activity_id) values ('{ACTIVITY}')",
        errors.CheckViolation,
    ),
    (
        "activity relation names only one of them",
        f"insert into activity_relations (activity_id, contact_id, lead_id) "
        f"values ('{ACTIVITY}', '{CONTACT}', '{LEAD}')",
        errors.CheckViolation,
    ),
    (
        "activity relation: one person once per activity",
        f"insert into activity_relations (activity_id, lead_id) values ('{ACTIVITY}', '{LEAD}')",
        errors.UniqueViolation,
    ),
    (
        "activity relation needs an existing activity",
        f"insert into activity_relations (activity_id, contact_id) "
        f"values ('{MISSING}', '{CONTACT}')",
        errors.ForeignKeyViolation,
    ),
    (
        "activity relation needs an existing contact",
        f"insert into activity_relations (activity_id, contact_id) "
        f"values ('{ACTIVITY}', '{MISSING}')",
        errors.ForeignKeyViolation,
    ),
    (
        "account with contacts cannot be deleted",
        f"delete from accounts where account_id = '{ACCOUNT}'",
        # PostgreSQL 18 reports RESTRICT as its own SQLSTATE (23001); 15 as a FK violation.
        (errors.RestrictViolation, errors.ForeignKeyViolation),
    ),
    (
        "batch sha256 is hex",
        "insert into ingest.import_batches (file_name, file_sha256) values ('f.csv', 'xyz')",
        errors.CheckViolation,
    ),
    (
        "rejected row belongs to a batch",
        "insert into ingest.rejected_rows (import_batch_id, row_number, reason_code, message) "
        "values (-1, 2, 'bad', 'bad')",
        errors.ForeignKeyViolation,
    ),
    (
        "exchange rate is positive",
        "insert into exchange_rates (currency_code, base_currency, valid_from, rate) "
        "values ('USD', 'EUR', '2025-01-01', 0)",
        errors.CheckViolation,
    ),
    (
        "exchange rate currency is an ISO code",
        "insert into exchange_rates (currency_code, base_currency, valid_from, rate) "
        "values ('usd', 'EUR', '2025-01-01', 1)",
        errors.CheckViolation,
    ),
    (
        "one exchange rate per pair and day",
        "insert into exchange_rates (currency_code, base_currency, valid_from, rate) "
        "values ('GBP', 'EUR', '2025-01-01', 1.2)",
        errors.UniqueViolation,
    ),
]


@pytest.fixture
def seeded(conn: psycopg.Connection) -> psycopg.Connection:
    conn.execute(SEED_ROWS)  # type: ignore[arg-type]
    return conn


@pytest.mark.parametrize(
    ("statement", "expected"),
    [pytest.param(stmt, exc, id=rule) for rule, stmt, exc in VIOLATIONS],
)
def test_invalid_write_is_rejected(
    seeded: psycopg.Connection, statement: str, expected: ErrorTypes
) -> None:
    with pytest.raises(expected), seeded.transaction():
        seeded.execute(statement)  # type: ignore[arg-type]


def test_valid_conversion_is_accepted(seeded: psycopg.Connection) -> None:
    seeded.execute(
        "update leads set status = 'converted', converted_account_id = %s, "
        "converted_contact_id = %s, converted_date = '2025-03-01' where lead_id = %s",
        (ACCOUNT, CONTACT, LEAD),
    )
    row = seeded.execute("select status::text from leads where lead_id = %s", (LEAD,)).fetchone()
    assert row == ("converted",)


def test_updated_at_moves_only_when_something_changed(seeded: psycopg.Connection) -> None:
    # Backdate the row with triggers off (as a restore would), then watch the trigger.
    seeded.execute("set local session_replication_role = replica")
    seeded.execute(
        "update accounts set updated_at = '2020-01-01' where account_id = %s", (ACCOUNT,)
    )
    seeded.execute("set local session_replication_role = origin")
    seeded.execute("update accounts set name = name where account_id = %s", (ACCOUNT,))
    unchanged = seeded.execute(
        "select updated_at::date::text from accounts where account_id = %s", (ACCOUNT,)
    ).fetchone()
    seeded.execute("update accounts set industry = 'Retail' where account_id = %s", (ACCOUNT,))
    changed = seeded.execute(
        "select updated_at > '2020-01-02' from accounts where account_id = %s", (ACCOUNT,)
    ).fetchone()
    assert unchanged == ("2020-01-01",)
    assert changed == (True,)


def test_activity_updated_at_is_the_database_clock_on_insert(seeded: psycopg.Connection) -> None:
    # The incremental fct_activities finds new activities by updated_at: a client cannot
    # backdate one (REST API, psql, a restore with triggers on).
    seeded.execute(
        "insert into activities (activity_type, occurred_at, account_id, subject, updated_at) "
        "values ('note', '2020-01-01', %s, 'Backdated by the client', '2020-01-01')",
        (ACCOUNT,),
    )
    stamped = seeded.execute(
        "select updated_at = now() from activities where subject = 'Backdated by the client'"
    ).fetchone()
    assert stamped == (True,)


# ---------------------------------------------------------------------------------------------
# Re-applying schema.sql
# ---------------------------------------------------------------------------------------------

CATALOG_SNAPSHOT = """
select 'column' as kind, table_schema || '.' || table_name || '.' || column_name as name,
       concat_ws(' ', data_type, udt_name, is_nullable, column_default) as definition
from information_schema.columns where table_schema in ('public', 'ingest')
union all
select 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid)
from pg_constraint where connamespace in ('public'::regnamespace, 'ingest'::regnamespace)
union all
select 'index', schemaname || '.' || indexname, indexdef
from pg_indexes where schemaname in ('public', 'ingest')
union all
select 'trigger', tgrelid::regclass::text || '.' || tgname, pg_get_triggerdef(oid)
from pg_trigger where not tgisinternal
union all
select 'policy', schemaname || '.' || tablename || '.' || policyname,
       concat_ws(' ', cmd, roles::text, qual, with_check)
from pg_policies where schemaname = 'public'
union all
select 'enum', t.typname, string_agg(e.enumlabel, ',' order by e.enumsortorder)
from pg_type t join pg_enum e on e.enumtypid = t.oid group by t.typname
union all
select 'function', p.oid::regprocedure::text, md5(pg_get_functiondef(p.oid))
from pg_proc p where p.pronamespace in ('public'::regnamespace, 'ingest'::regnamespace)
union all
select 'grant', table_schema || '.' || table_name || '.' || grantee,
       string_agg(privilege_type, ',' order by privilege_type)
from information_schema.role_table_grants where table_schema in ('public', 'ingest')
group by table_schema, table_name, grantee
union all
select 'rls', relname, relrowsecurity::text
from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r'
order by 1, 2
"""


def _catalog(conninfo: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(conninfo) as connection:
        return [tuple(row) for row in connection.execute(CATALOG_SNAPSHOT).fetchall()]


def test_reapplying_schema_changes_nothing_and_keeps_data(
    make_database: Callable[..., str],
) -> None:
    conninfo = make_database()
    with psycopg.connect(conninfo) as connection:
        connection.execute(SEED_ROWS)  # type: ignore[arg-type]
        connection.commit()
    before = _catalog(conninfo)
    with psycopg.connect(conninfo) as connection:
        assert db.apply_schema(connection) == 6
        counts = {
            table: connection.execute(
                sql.SQL("select count(*) from public.{}").format(sql.Identifier(table))
            ).fetchone()
            for table in db.PUBLIC_TABLES
        }
        versions = connection.execute("select count(*) from ingest.schema_version").fetchone()
    assert _catalog(conninfo) == before
    assert counts == {table: (1,) for table in db.PUBLIC_TABLES}
    assert versions == (6,)


def test_activity_relations_go_with_their_activity_contact_or_lead(
    seeded: psycopg.Connection,
) -> None:
    seeded.execute(
        "insert into activity_relations (activity_id, contact_id) values (%s, %s)",
        (ACTIVITY, CONTACT),
    )
    seeded.execute("delete from leads where lead_id = %s", (LEAD,))
    relations = "select contact_id::text, lead_id::text from activity_relations"
    assert seeded.execute(relations).fetchall() == [(CONTACT, None)]
    seeded.execute("delete from activities where activity_id = %s", (ACTIVITY,))
    assert seeded.execute(relations).fetchall() == []


def test_external_ids_are_unique_per_system(seeded: psycopg.Connection) -> None:
    seeded.execute(
        "insert into accounts (name, external_id, external_system) "
        "values ('Other', 'acc-1', 'hubspot')"
    )
    with pytest.raises(errors.UniqueViolation, match="accounts_external_id_system_key"):
        seeded.execute(
            "insert into accounts (name, external_id, external_system) "
            "values ('Third', 'acc-1', 'hubspot')"
        )


def test_version_4_gives_existing_rows_their_system_from_source(
    make_database: Callable[..., str],
) -> None:
    """A database from before version 4: external ids globally unique, no external_system."""
    conninfo = make_database()
    with psycopg.connect(conninfo) as connection:
        for table in db.PUBLIC_TABLES:
            if table == "activity_relations":  # version 5, no external ids
                continue
            connection.execute(
                sql.SQL(
                    "alter table public.{table} drop column external_system, "
                    "add constraint {old} unique (external_id)"
                ).format(
                    table=sql.Identifier(table),
                    old=sql.Identifier(f"{table}_external_id_key"),
                )
            )
        connection.execute("delete from ingest.schema_version where version = 4")
        connection.execute(
            "insert into public.accounts (name, external_id, source) values "
            "('Northwind', '901', 'hubspot'), ('Contoso', null, 'generic'), "
            "('Fabrikam', 'F-1', 'manual')"
        )
        connection.commit()
        assert db.apply_schema(connection) == 6
        rows = connection.execute(
            "select name, external_id, external_system from public.accounts order by name"
        ).fetchall()
        assert rows == [
            ("Contoso", None, "generic"),
            ("Fabrikam", "F-1", "manual"),
            ("Northwind", "901", "hubspot"),
        ]
        constraints = connection.execute(
            "select conname from pg_constraint where conrelid = 'public.accounts'::regclass "
            "and contype = 'u' and conname like '%external%' order by 1"
        ).fetchall()
        assert constraints == [("accounts_external_id_system_key",)]
        connection.execute(
            "insert into public.accounts (name, external_id, external_system) "
            "values ('Other 901', '901', 'generic')"
        )
        connection.rollback()
    before = _catalog(conninfo)
    with psycopg.connect(conninfo) as connection:
        assert db.apply_schema(connection) == 6
    assert _catalog(conninfo) == before


def test_schema_applies_to_an_empty_database(make_database: Callable[..., str]) -> None:
    conninfo = make_database(with_schema=False)
    with psycopg.connect(conninfo) as connection:
        assert db.schema_version(connection) is None
        assert db.apply_schema(connection) == 6
        assert db.schema_version(connection) == 6


def test_length_limits_never_break_db_init_on_longer_stored_values(
    make_database: Callable[..., str],
) -> None:
    """A database holding a value over a limit added by version 4 still takes the schema: the
    limit holds for new rows at once, and is validated once the stored values are shortened."""
    conninfo = make_database()
    with psycopg.connect(conninfo) as connection:
        connection.execute("alter table public.accounts drop constraint accounts_name_length")
        connection.execute("delete from ingest.schema_version where version = 4")
        connection.execute("insert into public.accounts (name) values (repeat('n', 300))")
        connection.commit()
        assert db.apply_schema(connection) == 6
        state = "select convalidated from pg_constraint where conname = 'accounts_name_length'"
        assert connection.execute(state).fetchone() == (False,)
        with pytest.raises(errors.CheckViolation), connection.transaction():
            connection.execute("insert into public.accounts (name) values (repeat('m', 256))")
        connection.execute("update public.accounts set name = left(name, 255)")
        connection.commit()
        assert db.apply_schema(connection) == 6
        assert connection.execute(state).fetchone() == (True,)


# ---------------------------------------------------------------------------------------------
# Roles and row level security (Supabase's model)
# ---------------------------------------------------------------------------------------------


def test_anon_has_no_privileges_at_all(seeded: psycopg.Connection) -> None:
    # tests/test_security.py covers members, non-members and anon in full; this is the short form.
    seeded.execute("set local role anon")
    statements = [
        *[f"select count(*) from public.{table}" for table in db.PUBLIC_TABLES],
        "insert into accounts (name) values ('Sneaky')",
        "update accounts set name = 'Sneaky'",
        "delete from activities",
        "truncate leads",
        "select count(*) from ingest.import_batches",
        "select count(*) from crm_private.members",
    ]
    for statement in statements:
        with pytest.raises(errors.InsufficientPrivilege), seeded.transaction():
            seeded.execute(statement)  # type: ignore[arg-type]


def test_authenticated_member_has_crud_and_a_stranger_sees_nothing(
    seeded: psycopg.Connection,
) -> None:
    member, stranger = str(uuid.uuid4()), str(uuid.uuid4())
    seeded.execute("insert into crm_private.members (user_id) values (%s)", (member,))
    seeded.execute("set local role authenticated")
    seeded.execute(
        "select set_config('request.jwt.claims', %s, true)",
        (json.dumps({"sub": member, "role": "authenticated"}),),
    )
    assert seeded.execute("select count(*) from accounts").fetchone() == (1,)
    seeded.execute("insert into accounts (name, domain) values ('Contoso', 'contoso.example')")
    seeded.execute("update accounts set industry = 'Retail' where domain = 'contoso.example'")
    seeded.execute("delete from accounts where domain = 'contoso.example'")
    assert seeded.execute("select count(*) from accounts").fetchone() == (1,)
    seeded.execute(
        "select set_config('request.jwt.claims', %s, true)",
        (json.dumps({"sub": stranger, "role": "authenticated"}),),
    )
    assert seeded.execute("select count(*) from accounts").fetchone() == (0,)


def test_service_role_bypasses_row_level_security(seeded: psycopg.Connection) -> None:
    row = seeded.execute(
        "select rolbypassrls from pg_roles where rolname = 'service_role'"
    ).fetchone()
    assert row == (True,)
    seeded.execute("set local role service_role")
    assert seeded.execute("select count(*) from leads").fetchone() == (1,)


@pytest.mark.parametrize(
    "statement",
    [
        *[f"select * from public.{table}" for table in db.PUBLIC_TABLES],
        "select * from ingest.import_batches",
        "select * from ingest.rejected_rows",
    ],
)
def test_powerbi_reader_cannot_read_operational_tables(
    seeded: psycopg.Connection, statement: str
) -> None:
    seeded.execute("set local role powerbi_reader")
    with pytest.raises(errors.InsufficientPrivilege), seeded.transaction():
        seeded.execute(statement)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Catalog checks
# ---------------------------------------------------------------------------------------------


def test_every_public_table_has_row_level_security(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        "select relname, relrowsecurity from pg_class "
        "where relnamespace = 'public'::regnamespace and relkind = 'r' order by relname"
    ).fetchall()
    assert rows == [(table, True) for table in sorted((*db.PUBLIC_TABLES, "exchange_rates"))]


def test_every_foreign_key_column_is_indexed(conn: psycopg.Connection) -> None:
    unindexed = conn.execute(
        """
        select c.conrelid::regclass::text || '.' || a.attname
        from pg_constraint c
        join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
        where c.contype = 'f'
          and c.connamespace in ('public'::regnamespace, 'ingest'::regnamespace)
          and not exists (
              select from pg_index i
              where i.indrelid = c.conrelid and i.indkey[0] = c.conkey[1]
          )
        """
    ).fetchall()
    assert unindexed == []


def test_every_function_has_a_fixed_search_path(conn: psycopg.Connection) -> None:
    functions = conn.execute(
        """
        select p.oid::regprocedure::text,
               exists (select from unnest(coalesce(p.proconfig, '{}')) as c
                       where c like 'search_path=%%')
        from pg_proc p
        where p.pronamespace in ('public'::regnamespace, 'ingest'::regnamespace)
        """
    ).fetchall()
    assert functions, "schema.sql defines functions; the query found none"
    assert [name for name, has_path in functions if not has_path] == []


def test_no_security_definer_function_is_executable_by_anon(conn: psycopg.Connection) -> None:
    exposed = conn.execute(
        """
        select p.oid::regprocedure::text from pg_proc p
        where p.prosecdef
          and p.pronamespace in ('public'::regnamespace, 'ingest'::regnamespace)
          and has_function_privilege('anon', p.oid, 'execute')
        """
    ).fetchall()
    assert exposed == []


def test_ingest_schema_is_not_reachable_by_api_roles(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        "select r, has_schema_privilege(r, 'ingest', 'usage') "
        "from unnest(array['anon', 'authenticated', 'powerbi_reader']) as r order by r"
    ).fetchall()
    assert rows == [("anon", False), ("authenticated", False), ("powerbi_reader", False)]
