"""The locks between runs (ingest.run_locks): the import row lock, and who may touch the locks.

The import lock is a ``select … for update`` of row 'import', held until the file's transaction
ends; the nightly lease is row 'nightly' (tests/consulting_crm/test_nightly_lock.py). Only a role
with UPDATE on ingest.run_locks can take either: a Power BI reader or an API role can neither take
them nor hold them up, which an advisory lock (callable by any role) could not promise.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors

from ingest.audit import IMPORT_LOCK, lock_imports
from ingest.errors import CrmError

OTHER_ROLES = ("powerbi_reader", "anon", "authenticated", "service_role")


@pytest.fixture
def second(crm_database: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(crm_database) as connection:
        yield connection
        connection.rollback()


def test_the_lock_rows_exist_and_nobody_else_may_touch_them(conn: psycopg.Connection) -> None:
    rows = conn.execute("select name, holder from ingest.run_locks order by name").fetchall()
    assert rows == [(IMPORT_LOCK, None), ("nightly", None)]
    granted = conn.execute(
        "select grantee, privilege_type from information_schema.role_table_grants "
        "where table_schema = 'ingest' and table_name = 'run_locks' "
        "and grantee <> (select tableowner from pg_tables "
        "                where schemaname = 'ingest' and tablename = 'run_locks')"
    ).fetchall()
    assert granted == []


def test_one_import_at_a_time(conn: psycopg.Connection, second: psycopg.Connection) -> None:
    lock_imports(conn)  # held until conn's transaction ends
    second.execute("set local lock_timeout = '200ms'")
    with pytest.raises(errors.LockNotAvailable):
        lock_imports(second)
    second.rollback()

    took: list[float] = []

    def wait_for_it() -> None:
        lock_imports(second)  # waits, as an importer does
        took.append(1)
        second.rollback()

    waiter = threading.Thread(target=wait_for_it)
    waiter.start()
    waiter.join(0.5)
    assert took == []  # still waiting while conn's transaction lasts
    conn.rollback()
    waiter.join(10)
    assert took == [1]


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_other_roles_can_neither_take_nor_block_the_locks(
    conn: psycopg.Connection, second: psycopg.Connection, role: str
) -> None:
    conn.execute(f"set local role {role}")
    attempts = [
        "select * from ingest.run_locks where name = 'import' for update",
        "select * from ingest.run_locks where name = 'import' for key share",
        "update ingest.run_locks set holder = 'x', acquired_at = now(), "
        "expires_at = now() + interval '1 day' where name = 'nightly'",
        "lock table ingest.run_locks in access exclusive mode",
    ]
    for statement in attempts:
        with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
            conn.execute(statement)  # type: ignore[arg-type]
    with (
        pytest.raises(CrmError, match=r"the role .* may not take the import lock"),
        conn.transaction(),
    ):
        lock_imports(conn)
    # Whatever that role tried, the CRM's own role takes the import lock at once.
    second.execute("set local lock_timeout = '200ms'")
    lock_imports(second)


def test_an_old_schema_says_to_run_db_init(conn: psycopg.Connection) -> None:
    conn.execute("drop table ingest.run_locks")  # rolled back at the end of the test
    with pytest.raises(CrmError, match=r"run `crm db init` to upgrade it"):
        lock_imports(conn)


def test_a_missing_lock_row_says_to_run_db_init(conn: psycopg.Connection) -> None:
    conn.execute("delete from ingest.run_locks where name = %s", (IMPORT_LOCK,))
    with pytest.raises(CrmError, match=r"import lock row is missing .* run `crm db init`"):
        lock_imports(conn)
