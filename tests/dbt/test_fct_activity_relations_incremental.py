"""The incremental bridge fct_activity_relations ends every build with exactly the rows a full
rebuild gives.

A history of activities and further participants dated 2024, then three nights. After each
night's build the table is compared with a `--full-refresh` of the same data, and the compiled
SQL shows which path the night took: a normal night copies only the rows of candidate
activities; a night whose changes no timestamp shows (a relation, an activity and a person
deleted, an activity left without a person, a relation written with an old stamp, rows deleted
from the table by hand) still ends right, through the post-hook that compares the keys; while
most of the table changed within the window, a night recomputes every row and writes only those
that differ.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import pytest

from consulting_crm.dbt_runner import BuildResult
from tests.dbt.incremental_nights import Night, incremental_nights

A, B = UUID("00000000-0000-0000-0000-00000000000a"), UUID("00000000-0000-0000-0000-00000000000b")
C1, C2, C3 = (UUID(f"00000000-0000-0000-0000-0000000000c{n}") for n in (1, 2, 3))
L1, L2 = UUID("00000000-0000-0000-0000-0000000000e1"), UUID("00000000-0000-0000-0000-0000000000e2")
UNKNOWN = UUID("00000000-0000-0000-0000-000000000000")

# 60 activities over 2024 on account A: every other one with contact C1, every third on lead L1
# (some have both); every fourth also concerns C2, every fifth lead L2 (further participants).
HISTORY = f"""
insert into public.accounts (account_id, name, updated_at)
values ('{A}', 'Acme', '2024-01-01'), ('{B}', 'Beta', '2024-01-01');
insert into public.contacts (contact_id, account_id, first_name, last_name, updated_at) values
    ('{C1}', '{A}', 'Ada', 'Lovelace', '2024-01-01'),
    ('{C2}', '{B}', 'Grace', 'Hopper', '2024-01-01'),
    ('{C3}', '{A}', 'Edsger', 'Dijkstra', '2024-01-01');
insert into public.leads (lead_id, last_name, company, status, updated_at) values
    ('{L1}', 'Lead', 'Gamma', 'contacted', '2024-01-01'),
    ('{L2}', 'Other', 'Delta', 'new', '2024-01-01');

alter table public.activities disable trigger activities_stamp_updated_at;
insert into public.activities (
    activity_type, occurred_at, account_id, lead_id, contact_id, subject, created_at, updated_at
)
select
    'note',
    timestamptz '2024-01-01 09:00+00' + n * interval '6 days',
    case when n % 3 <> 0 then '{A}'::uuid end,
    case when n % 3 = 0 then '{L1}'::uuid end,
    case when n % 2 = 0 then '{C1}'::uuid end,
    'History ' || n,
    timestamptz '2024-01-01 09:00+00' + n * interval '6 days',
    timestamptz '2024-01-01 09:00+00' + n * interval '6 days'
from generate_series(1, 60) as n;
alter table public.activities enable trigger activities_stamp_updated_at;

insert into public.activity_relations (activity_id, contact_id, lead_id, created_at, updated_at)
select activity_id, '{C2}'::uuid, null::uuid, updated_at, updated_at
from public.activities where substr(subject, 9)::int % 4 = 0
union all
select activity_id, null, '{L2}'::uuid, updated_at, updated_at
from public.activities where substr(subject, 9)::int % 5 = 0;
"""


def _activity(n: int) -> str:
    return f"(select activity_id from public.activities where subject = 'History {n}')"


# A normal night: a new activity with C3 and C2 as a further participant, an edited one, a
# participant added to an old activity, lead L1 converted into B, contact C2 moved to account A.
FIRST_NIGHT = f"""
insert into public.activities (activity_type, occurred_at, account_id, contact_id, subject)
values ('call', '2025-06-01 10:00+00', '{B}', '{C3}', 'New call');
insert into public.activity_relations (activity_id, contact_id)
values ((select activity_id from public.activities where subject = 'New call'), '{C2}');
update public.activities set subject = 'History 7, edited' where subject = 'History 7';
insert into public.activity_relations (activity_id, contact_id) values ({_activity(1)}, '{C3}');
update public.leads
set status = 'converted', converted_account_id = '{B}', converted_date = '2025-06-01'
where lead_id = '{L1}';
update public.contacts set account_id = '{A}' where contact_id = '{C2}';
"""

# What timestamps miss: a relation deleted; an activity deleted; an activity's contact removed
# (activity 2: now no person at all) and another's changed (activity 4: C1 -> C3); lead L2
# deleted (its relations go with it); a relation written with an old stamp; and rows of the
# table deleted by hand.
SECOND_NIGHT = f"""
delete from public.activity_relations where activity_id = {_activity(8)} and contact_id = '{C2}';
delete from public.activities where subject = 'History 12';
update public.activities set contact_id = null where subject = 'History 2';
update public.activities set contact_id = '{C3}' where subject = 'History 4';
delete from public.leads where lead_id = '{L2}';
insert into public.activity_relations (activity_id, contact_id, created_at, updated_at)
values ({_activity(9)}, '{C2}', '2024-03-01', '2024-03-01');
delete from analytics.fct_activity_relations where activity_id = {_activity(16)};
"""

# Most of the table changes (a history re-imported), then a small change: within the window,
# that much change means one pass over every row is cheaper than a lookup per candidate.
THIRD_NIGHT = "update public.activities set subject = subject || '.' where subject like 'History%';"
FOURTH_NIGHT = f"update public.contacts set account_id = '{B}' where contact_id = '{C3}';"

ONLY_CANDIDATES = "Candidates only"
EVERY_ROW = "Every row was recomputed"
QUERY = "select * from analytics.fct_activity_relations order by activity_relation_key"


@pytest.fixture(scope="module")
def nights(make_database: Callable[..., str], dbt_build: Callable[..., BuildResult]) -> list[Night]:
    return incremental_nights(
        dbt_build,
        make_database(),
        Path("models/marts/clients/fct_activity_relations.sql"),
        HISTORY,
        [FIRST_NIGHT, SECOND_NIGHT, THIRD_NIGHT, FOURTH_NIGHT],
        QUERY,
    )


def test_a_normal_night_copies_candidates_only_and_matches_a_full_rebuild(
    nights: list[Night],
) -> None:
    first = nights[0]
    assert ONLY_CANDIDATES in first.sql
    assert EVERY_ROW not in first.sql
    assert first.rows == first.rebuilt
    by_person = {(row["activity_id"], row["lead_id"] or row["contact_id"]) for row in first.rows}
    # 30 with C1, 20 on L1, 15 with C2, 12 with L2, the new call's C3 and C2, activity 1's C3.
    assert len(first.rows) == 30 + 20 + 15 + 12 + 2 + 1
    assert len(by_person) == len(first.rows)
    accounts: dict[UUID, set[UUID]] = {}
    for row in first.rows:
        accounts.setdefault(row["lead_id"] or row["contact_id"], set()).add(row["account_id"])
    assert accounts[L1] == {B}  # converted into B: every row of L1, primary or not, moved
    assert accounts[C2] == {A}  # C2 moved to A
    assert accounts[L2] == {UNKNOWN}


def test_changes_no_timestamp_shows_still_end_as_a_full_rebuild(nights: list[Night]) -> None:
    second = nights[1]
    assert ONLY_CANDIDATES in second.sql
    assert second.rows == second.rebuilt
    # 80 - activity 8's C2 - activity 12's 3 rows (C1, L1, C2) - activity 2's C1 - L2's 12 +
    # activity 9's old-stamped C2; activity 4 keeps one row (C3 for C1); activity 16's rows,
    # deleted by hand, are back.
    assert len(second.rows) == 80 - 1 - 3 - 1 - 12 + 1
    people = {row["lead_id"] or row["contact_id"] for row in second.rows}
    assert L2 not in people


def test_after_a_night_that_changed_most_rows_every_row_is_recomputed(
    nights: list[Night],
) -> None:
    third, fourth = nights[2], nights[3]
    assert ONLY_CANDIDATES in third.sql  # the table did not know yet
    assert third.rows == third.rebuilt
    assert EVERY_ROW in fourth.sql
    assert fourth.rows == fourth.rebuilt
    assert {row["account_id"] for row in fourth.rows if row["contact_id"] == C3} == {B}
