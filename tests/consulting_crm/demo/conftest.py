"""The demo run the tests of this package share: one database, `crm demo` twice on it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from consulting_crm.cli import main

TABLES = ("accounts", "contacts", "leads", "projects", "activities")


def _state(conninfo: str) -> dict[str, Any]:
    """Every operational row and the audit trail, to show a second run changes nothing."""
    with psycopg.connect(conninfo) as conn:
        state: dict[str, Any] = {}
        for table in (*(f"public.{name}" for name in TABLES), "ingest.rejected_rows"):
            state[table] = sorted(conn.execute(f"select * from {table}").fetchall(), key=repr)
        state["batches"] = conn.execute(
            "select file_name, file_sha256, status::text from ingest.import_batches order by 1"
        ).fetchall()
    return state


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="package")
def demo_run(
    make_database: Callable[..., str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """One empty database (no schema: the demo applies it), the demo run twice on it.

    Shared by every module here (the demo's figures, its Power BI project), so the package pays
    for one demo build.
    """
    conninfo = make_database(with_schema=False)
    out = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"):
            patch.delenv(name, raising=False)
        patch.setenv("DATABASE_URL", conninfo)
        patch.setenv("COLUMNS", "100")
        first_code = main(["demo", "--out", str(out)])
        first_state = _state(conninfo)
        first_powerbi = _tree(out / "powerbi")
        second_code = main(["demo", "--out", str(out)])
    return {
        "conninfo": conninfo,
        "out": out,
        "codes": (first_code, second_code),
        "states": (first_state, _state(conninfo)),
        "powerbi": (first_powerbi, _tree(out / "powerbi")),
    }
