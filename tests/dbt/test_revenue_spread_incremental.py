"""The incremental int_projects_revenue_spread ends a build with the rows a full rebuild gives.

Won projects with and without delivery windows, then one night of every kind of change: a new
won deal, an amount and a window changed, a deal lost after all, an amount cleared, a project
deleted, a project moved to another account, and one untouched. The night's build recomputes only
the projects whose updated_at moved and must equal a `--full-refresh` of the same data.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

from consulting_crm.dbt_runner import BuildResult
from tests.dbt.incremental_nights import Night, incremental_nights

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


@pytest.fixture(scope="module")
def night(
    make_database: Callable[..., str], dbt_build: Callable[..., BuildResult]
) -> tuple[Night, Night]:
    """Two nights after the won deals are built: a quiet one, then one with every kind of change."""
    conninfo = make_database()
    model = Path("models/intermediate/int_projects_revenue_spread.sql")
    query = (
        "select * from intermediate.int_projects_revenue_spread order by project_id, revenue_month"
    )
    quiet, changes = incremental_nights(dbt_build, conninfo, model, WON, ["", NIGHT], query)
    return quiet, changes


def test_the_night_recomputes_changed_projects_only(night: tuple[Night, Night]) -> None:
    quiet, changes = night
    # The incremental path compared updated_at; the untouched project's rows are as they were.
    assert "built.project_updated_at = projects.updated_at" in changes.sql
    assert quiet.rows == quiet.rebuilt
    untouched = [row for row in quiet.rows if row["project_id"] == P[1]]
    assert [row for row in changes.rows if row["project_id"] == P[1]] == untouched
    assert len(untouched) == 3


def test_after_the_night_the_rows_equal_a_full_rebuild(night: tuple[Night, Night]) -> None:
    _, changes = night
    assert changes.rows == changes.rebuilt
    by_project: dict[UUID, list[tuple[str, Decimal, UUID]]] = {}
    for row in changes.rows:
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
