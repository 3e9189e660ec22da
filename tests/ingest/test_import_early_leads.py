"""Leads that are provably new are inserted while the file is read; the outcome must be exactly
what the set-based merge alone decides (same rows, counts, rejections and messages)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ingest.load.staging import Stager, _first_occurrences
from tests.factories.imports import counts, run_import

STORED = """
insert into public.accounts (name, external_id, external_system)
values ('Acme', 'acc-1', 'generic');
insert into public.leads
    (lead_id, first_name, last_name, company, email, external_id, external_system)
values ('00000000-0000-0000-0000-000000000001', 'Ada', 'Stored', 'Acme', 'ada@stored.example',
        'L-1', 'generic');
insert into public.leads (lead_id, first_name, last_name, company)
values ('00000000-0000-0000-0000-000000000002', 'Bo', 'Nameonly', 'Beta Co');
"""  # fixed ids: rejected rows name the record they matched, and the two runs must agree
# (the external ids are the generic profile's, as if an earlier generic import wrote them)

# Row numbers as a spreadsheet shows them (the header is row 1). With 3 rows per chunk, the
# duplicates below fall in other chunks than the rows they repeat.
ROWS = [
    "external_id,first_name,last_name,company,email,status,converted_date,"
    "converted_account_external_id,description",
    ",New,One,Gamma,new.one@example.com,,,,first new",  # 2: new
    ",Ada,Again,Acme,ADA@STORED.example,,,,matches a stored lead by email",  # 3: update
    ",New,Dup,Gamma,NEW.ONE@example.com,,,,same email as row 2",  # 4: duplicate of 2
    "X-2,Ext,Two,Delta,ext.two@example.com,,,,new with an id",  # 5: new
    "X-2,Ext,Again,Delta,ext.three@example.com,,,,same id as row 5",  # 6: duplicate of 5
    # 7: the email of row 6, which the id check rejects first, so this one is new
    ",Ext,Three,Delta,ext.three@example.com,,,,after a rejected row",
    ",Con,Verted,Delta,con@example.com,converted,2024-05-01,,converted without account",  # 8
    ",Bo,Nameonly,Beta Co,,,,,matches a stored lead by name",  # 9: update
    ",Late,Date,Eta,late@example.com,new,2024-05-02,,a conversion date on a new lead",  # 10
    "L-1,Ada,Byid,Acme,other@example.com,,,,matches a stored lead by external id",  # 11
    ",Plain,New,Theta,plain@example.com,qualified,,,",  # 12: new
    ",Plain,New,Theta,plain@example.com,qualified,,,",  # 13: exact repeat of 12
    "x-2,Ext,Case,Delta,case@example.com,,,,an id differs in case: another lead",  # 14: new
    ",Acc,Ount,Acme,acc@example.com,converted,2024-05-03,acc-1,converted with account",  # 15
]


def _outcome(conn: psycopg.Connection) -> tuple[list[tuple[object, ...]], ...]:
    leads = conn.execute(
        "select first_name, last_name, company, email, external_id, status::text, "
        "converted_date, converted_account_id is not null, description, source "
        "from public.leads order by email nulls first, first_name, last_name"
    ).fetchall()
    rejected = conn.execute(
        "select row_number, column_name, raw_value, reason_code, message, raw_row "
        "from ingest.rejected_rows order by row_number, rejected_row_id"
    ).fetchall()
    return leads, rejected


@pytest.mark.parametrize("stored", [True, False], ids=["stored-leads", "empty-table"])
def test_inserting_new_leads_early_changes_nothing_in_the_outcome(
    make_database: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stored: bool,
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("\n".join(ROWS) + "\n", encoding="utf-8")
    outcomes: list[tuple[Any, ...]] = []
    split: dict[bool, tuple[int, int]] = {}
    closing = Stager.close

    def record(stager: Stager) -> None:
        split[stager.insert_early] = (stager.early_inserted, stager.staged_for_merge)
        closing(stager)

    monkeypatch.setattr(Stager, "close", record)
    for early in (False, True):
        monkeypatch.setattr(Stager, "insert_early", early)
        with psycopg.connect(make_database(), autocommit=True) as conn:
            if stored:
                conn.execute(STORED)  # type: ignore[arg-type]
            result = run_import(conn, path, tmp_path, rows_per_chunk=3)
            assert result.status == "loaded", result.message
            outcomes.append((counts(result), result.counts.read, *_outcome(conn)))
    assert outcomes[0] == outcomes[1]
    assert split[False] == (0, 14)
    inserted, updated, unchanged, rejected = outcomes[1][0]
    # Rows 2, 5, 12 and 14 (and 3 and 11 without stored leads) went in while reading; row 7
    # waited for the merge (its email is row 6's), which then inserted it.
    assert split[True] == ((4, 10) if stored else (6, 8))
    assert (inserted, updated, unchanged, rejected) == ((7, 2, 0, 5) if stored else (9, 0, 0, 5))
    messages = [row[4] for row in outcomes[1][3]]
    assert (
        'leads.csv, row 4, column "email": "NEW.ONE@example.com" is the same lead as row 2; '
        "merge the two rows or delete one." in messages
    )
    assert (
        'leads.csv, row 6, column "external_id": "X-2" is the same lead as row 5; merge '
        "the two rows or delete one." in messages
    )


def test_a_database_error_in_a_later_chunk_undoes_the_leads_inserted_before_it(
    make_database: Callable[..., str], tmp_path: Path
) -> None:
    """Rows inserted while reading are in the file's transaction: one failure undoes them all."""
    path = tmp_path / "leads.csv"
    path.write_text(
        "first_name,email\nAda,ada@example.com\nZed,zed@example.com\n", encoding="utf-8"
    )
    with psycopg.connect(make_database(), autocommit=True) as conn:
        conn.execute("alter table leads add constraint no_zed check (first_name <> 'Zed')")
        result = run_import(conn, path, tmp_path, rows_per_chunk=1)
        assert result.status == "failed"
        assert 'violates check constraint "no_zed"' in (result.message or "")
        assert conn.execute("select count(*) from leads").fetchone() == (0,)
        assert conn.execute("select status::text from ingest.import_batches").fetchall() == [
            ("failed",)
        ]


def test_repeated_keys_are_never_first_occurrences() -> None:
    seen: set[int] = set()
    assert _first_occurrences(["a", None, "b", "a", None], seen) == [
        True,
        True,
        True,
        False,
        True,
    ]
    # Across chunks, and a key whose hash is already known (a collision) is not a first either.
    assert _first_occurrences(["b", "c"], seen) == [False, True]
    seen.add(hash("d"))
    assert _first_occurrences(["d"], seen) == [False]
