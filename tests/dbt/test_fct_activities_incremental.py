"""The incremental fct_activities ends every build with exactly the rows a full rebuild gives.

A history of activities dated 2024 (written with the database's insert stamp switched off, as a
long-used CRM's would be), then two nights of changes. After each night's build the table is
compared with a `--full-refresh` of the same data, and the compiled SQL shows which path the
night took: a normal night looks only at candidates through the indexes; a night on which the
keys' count and checksum say rows may be missing (an activity stamped in the past, a deleted
one, here one of each so that the count alone would not notice) also compares every key once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import pytest

from consulting_crm.dbt_runner import BuildResult
from tests.dbt.incremental_nights import Night, incremental_nights

A, B = UUID("00000000-0000-0000-0000-00000000000a"), UUID("00000000-0000-0000-0000-00000000000b")
CONTACT = "00000000-0000-0000-0000-0000000000c1"
PROJECT = "00000000-0000-0000-0000-0000000000f1"
LEAD, OTHER_LEAD = "00000000-0000-0000-0000-0000000000e1", "00000000-0000-0000-0000-0000000000e2"
UNKNOWN = UUID("00000000-0000-0000-0000-000000000000")

# 60 activities over 2024 (the window of 3 days before the newest holds a tenth or less): on the
# account, the project, a lead that converts, a lead that does not; every fifth with the contact.
# Changing the project, the lead or the contact re-attributes theirs.
HISTORY = f"""
insert into public.accounts (account_id, name, updated_at)
values ('{A}', 'Acme', '2024-01-01'), ('{B}', 'Beta', '2024-01-01');
insert into public.contacts (contact_id, account_id, first_name, last_name, updated_at)
values ('{CONTACT}', '{A}', 'Ada', 'Lovelace', '2024-01-01');
insert into public.projects (project_id, account_id, name, stage, updated_at)
values ('{PROJECT}', '{A}', 'Operating model', 'proposal', '2024-01-01');
insert into public.leads (lead_id, last_name, company, status, updated_at) values
    ('{LEAD}', 'Lead', 'Gamma', 'contacted', '2024-01-01'),
    ('{OTHER_LEAD}', 'Other', 'Delta', 'new', '2024-01-01');

alter table public.activities disable trigger activities_stamp_updated_at;
insert into public.activities (
    activity_type, occurred_at, account_id, project_id, lead_id, contact_id, subject, created_at,
    updated_at
)
select
    'note',
    timestamptz '2024-01-01 09:00+00' + n * interval '6 days',
    case when n % 4 = 0 then '{A}'::uuid end,
    case when n % 4 = 1 then '{PROJECT}'::uuid end,
    case n % 4 when 2 then '{LEAD}'::uuid when 3 then '{OTHER_LEAD}'::uuid end,
    case when n % 5 = 0 then '{CONTACT}'::uuid end,
    'History ' || n,
    timestamptz '2024-01-01 09:00+00' + n * interval '6 days',
    timestamptz '2024-01-01 09:00+00' + n * interval '6 days'
from generate_series(1, 60) as n;
alter table public.activities enable trigger activities_stamp_updated_at;
"""

# A normal night: a new activity, an edited one, a converted lead, a project and a contact
# moved to another account.
FIRST_NIGHT = f"""
insert into public.activities (activity_type, occurred_at, account_id, subject)
values ('call', '2025-06-01 10:00+00', '{B}', 'New call');
update public.activities set subject = 'History 3, edited' where subject = 'History 3';
update public.leads
set status = 'converted', converted_account_id = '{B}', converted_date = '2025-06-01'
where lead_id = '{LEAD}';
update public.projects set account_id = '{B}' where project_id = '{PROJECT}';
update public.contacts set account_id = '{B}' where contact_id = '{CONTACT}';
"""

# A night on which the timestamps alone would miss something: an activity deleted, and one
# written with an old updated_at while the stamp was off (a restore, a transaction open for days).
SECOND_NIGHT = f"""
delete from public.activities where subject = 'History 6';
alter table public.activities disable trigger activities_stamp_updated_at;
insert into public.activities (activity_type, occurred_at, account_id, subject, updated_at)
values ('meeting', '2024-02-01 10:00+00', '{A}', 'Restored from a backup', '2024-02-01');
alter table public.activities enable trigger activities_stamp_updated_at;
"""

ONLY_CANDIDATES = "Candidates only"
COMPARE_EVERY_KEY = "Not in the table at all"


@pytest.fixture(scope="module")
def nights(make_database: Callable[..., str], dbt_build: Callable[..., BuildResult]) -> list[Night]:
    return incremental_nights(
        dbt_build,
        make_database(),
        Path("models/marts/clients/fct_activities.sql"),
        HISTORY,
        [FIRST_NIGHT, SECOND_NIGHT],
        "select * from analytics.fct_activities order by activity_id",
    )


def test_a_normal_night_reads_candidates_only_and_matches_a_full_rebuild(
    nights: list[Night],
) -> None:
    first = nights[0]
    assert ONLY_CANDIDATES in first.sql
    assert COMPARE_EVERY_KEY not in first.sql
    assert first.rows == first.rebuilt
    by_subject = {row["subject"]: row for row in first.rows}
    assert by_subject["New call"]["account_id"] == B
    assert "History 3, edited" in by_subject
    # Re-attributed: the converted lead's activities to its account, the project's and the
    # contact's to their new account.
    assert by_subject["History 2"]["account_id"] == B  # on the converted lead
    assert by_subject["History 1"]["account_id"] == B  # on the project
    assert by_subject["History 15"]["account_id"] == B  # on the other lead, with the contact
    assert by_subject["History 4"]["account_id"] == A  # on the account itself
    assert by_subject["History 3, edited"]["account_id"] == UNKNOWN  # other lead, no contact


def test_a_night_with_missing_or_deleted_rows_compares_every_key(nights: list[Night]) -> None:
    second = nights[1]
    assert ONLY_CANDIDATES in second.sql
    assert COMPARE_EVERY_KEY in second.sql
    assert second.rows == second.rebuilt
    subjects = {row["subject"] for row in second.rows}
    assert "Restored from a backup" in subjects
    assert "History 6" not in subjects
    assert len(second.rows) == 61  # 60 + the new call - 1 deleted + 1 restored
