"""The incremental int_projects_revenue_spread ends a build with the rows a full rebuild gives.

Won projects with and without delivery windows, then one night of every kind of change: a new
won deal, an amount and a window changed, a deal lost after all, an amount cleared, a project
deleted, a project moved to another account, and one untouched. The night's build recomputes only
the projects whose updated_at moved and must equal a `--full-refresh` of the same data.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.rows import dict_row

from ingest.build import BuildResult
from ingest.errors import ExitCode

A, B = UUID("00000000-0000-0000-0000-00000000000a"), UUID("00000000-0000-0000-0000-00000000000b")
P = {n: UUID(f"00000000-0000-0000-0000-0000000001{n:02d}") for n in range(1, 9)}

WON = f"""
insert into public.accounts (account_id, name) values ('{A}', 'Acme'), ('{B}', 'Beta');
insert into public.projects (
    project_id, account_id, name, stage, amount, close_date, start_date, end_date, updated_at
) values
    ('{P[1]}', '{A}', 'Untouched', 'won', 1200, '2024-01-10', '2024-02-01', '2024-04-30',
        '2024-01-10'),
    ('{P[2]}', '{A}', 'Amount and window change', 'won', 900, '2024-03-01', '2024-03-01',
        '2024-05-31', '2024-03-01'),
    ('{P[3]}', '{A}', 'Lost after all', 'won', 500, '2024-04-01', null, null, '2024-04-01'),
    ('{P[4]}', '{A}', 'Amount cleared', 'won', 700, '2024-05-01', null, null, '2024-05-01'),
    ('{P[5]}', '{A}', 'Deleted', 'won', 300, '2024-06-01', '2024-06-01', '2024-07-31',
        '2024-06-01'),
    ('{P[6]}', '{A}', 'Moves to Beta', 'won', 600, '2024-07-01', '2024-07-01', '2024-09-30',
        '2024-07-01'),
    ('{P[7]}', '{B}', 'Not won yet', 'proposal', 800, '2024-09-01', null, null, '2024-08-01');
"""

NIGHT = f"""
update public.projects set amount = 1000, end_date = '2024-06-30' where project_id = '{P[2]}';
update public.projects set stage = 'lost' where project_id = '{P[3]}';
update public.projects set amount = null where project_id = '{P[4]}';
delete from public.projects where project_id = '{P[5]}';
update public.projects set account_id = '{B}' where project_id = '{P[6]}';
update public.projects set stage = 'won', close_date = '2024-09-15' where project_id = '{P[7]}';
insert into public.projects (project_id, account_id, name, stage, amount, close_date)
values ('{P[8]}', '{B}', 'New deal', 'won', 250, '2024-10-01');
"""


def spread(conninfo: str) -> list[dict[str, Any]]:
    with psycopg.connect(conninfo, row_factory=dict_row) as conn:
        return conn.execute(
            "select * from intermediate.int_projects_revenue_spread "
            "order by project_id, revenue_month"
        ).fetchall()


@pytest.fixture(scope="module")
def night(
    make_database: Callable[..., str], dbt_build: Callable[..., BuildResult]
) -> dict[str, Any]:
    conninfo = make_database()
    select = ("--select", "+int_projects_revenue_spread", "--indirect-selection", "cautious")
    with psycopg.connect(conninfo) as conn:
        conn.execute(WON)  # type: ignore[arg-type]  # a trusted literal, several statements
    assert dbt_build(conninfo, *select).exit_code == ExitCode.OK
    before = spread(conninfo)
    with psycopg.connect(conninfo) as conn:
        conn.execute(NIGHT)  # type: ignore[arg-type]
    incremental = dbt_build(conninfo, *select)
    assert incremental.exit_code == ExitCode.OK, incremental.output
    assert incremental.run_results is not None
    compiled = (
        incremental.run_results.parent
        / "compiled/consulting_crm/models/intermediate/int_projects_revenue_spread.sql"
    ).read_text(encoding="utf-8")
    after = spread(conninfo)
    rebuilt = dbt_build(conninfo, *select, "--full-refresh")
    assert rebuilt.exit_code == ExitCode.OK, rebuilt.output
    return {"before": before, "after": after, "rebuilt": spread(conninfo), "sql": compiled}


def test_the_night_recomputes_changed_projects_only(night: dict[str, Any]) -> None:
    # The incremental path compared updated_at; the untouched project kept its rows as they were.
    assert "built.project_updated_at = projects.updated_at" in night["sql"]
    untouched = [row for row in night["before"] if row["project_id"] == P[1]]
    assert [row for row in night["after"] if row["project_id"] == P[1]] == untouched
    assert len(untouched) == 3


def test_after_the_night_the_rows_equal_a_full_rebuild(night: dict[str, Any]) -> None:
    assert night["after"] == night["rebuilt"]
    by_project: dict[UUID, list[tuple[str, Decimal, UUID]]] = {}
    for row in night["after"]:
        by_project.setdefault(row["project_id"], []).append(
            (row["revenue_month"].isoformat(), row["recognised_revenue"], row["account_id"])
        )
    assert set(by_project) == {P[1], P[2], P[6], P[7], P[8]}  # 3 lost, 4 no amount, 5 deleted
    assert by_project[P[2]] == [  # 1000 over March-June
        ("2024-03-01", Decimal("250.00"), A),
        ("2024-04-01", Decimal("250.00"), A),
        ("2024-05-01", Decimal("250.00"), A),
        ("2024-06-01", Decimal("250.00"), A),
    ]
    assert {account for _, _, account in by_project[P[6]]} == {B}
    assert by_project[P[7]] == [("2024-09-01", Decimal("800.00"), B)]
    assert by_project[P[8]] == [("2024-10-01", Decimal("250.00"), B)]
