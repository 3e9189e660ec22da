"""Atomic, idempotent, audited: the reliability rules of the spreadsheet importer."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from ingest.options import ImportOptions
from ingest.spreadsheet import import_spreadsheet
from tests.factories.imports import counts, run_import, snapshot
from tests.factories.spreadsheets import DATA

ROOT = Path(__file__).resolve().parents[2]


def batches(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    return conn.execute(
        "select file_name, status::text, is_dry_run, rows_read, rows_inserted, rows_rejected, "
        "message from ingest.import_batches order by import_batch_id"
    ).fetchall()


def test_same_file_twice_changes_nothing_and_says_so(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    first = run_import(fresh, DATA / "generic_leads.csv", tmp_path)
    before = snapshot(fresh)
    second = run_import(fresh, DATA / "generic_leads.csv", tmp_path)
    assert second.status == "skipped"
    assert second.message == (
        f"already imported (batch {first.import_batch_id}, "
        + fresh.execute(
            "select to_char(started_at, 'YYYY-MM-DD HH24:MI') from ingest.import_batches"
        ).fetchone()[0]  # type: ignore[index]
        + "); nothing changed. Use --force to import it again."
    )
    forced = run_import(fresh, DATA / "generic_leads.csv", tmp_path, force=True)
    assert counts(forced) == (0, 0, 3, 0)
    assert snapshot(fresh) == before  # not even updated_at moved


def test_strict_with_one_bad_row_leaves_the_database_as_it_was(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    run_import(fresh, DATA / "generic_accounts.csv", tmp_path)
    before = snapshot(fresh)
    bad = tmp_path / "leads.csv"
    bad.write_text(
        "first_name,email\nAda,ada@example.com\nBob,bob@@example.com\nCy,cy@example.com\n"
    )
    result = run_import(fresh, bad, tmp_path, strict=True)
    assert result.status == "failed"
    assert result.message == (
        "leads.csv: 1 row(s) rejected and --strict is on, so nothing was loaded. First: "
        'leads.csv, row 3, column "email": "bob@@example.com" is not an email address; write '
        f"it as name@example.com or leave the cell empty. All of them are in "
        f"{tmp_path / 'leads.rejected.csv'}."
    )
    assert snapshot(fresh) == before
    assert batches(fresh)[-1][:2] == ("leads.csv", "failed")


def test_a_file_that_breaks_mid_load_leaves_the_database_as_it_was(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["first_name", "email"])
        writer.writerows([f"P{i}", f"p{i}@example.com"] for i in range(30))
    before = snapshot(fresh)

    def crash(done: int, total: int) -> None:
        raise KeyboardInterrupt  # the user pressed Ctrl-C after the first chunk was copied

    with pytest.raises(KeyboardInterrupt):
        import_spreadsheet(
            fresh, path, ImportOptions(rows_per_chunk=10, report_dir=tmp_path), progress=crash
        )
    assert snapshot(fresh) == before
    assert batches(fresh) == []


def test_a_database_error_mid_merge_fails_the_file_and_changes_nothing(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    fresh.execute("alter table leads add constraint no_zed check (first_name <> 'Zed')")
    path = tmp_path / "zed.csv"
    path.write_text("first_name,email\nAda,ada@example.com\nZed,zed@example.com\n")
    before = snapshot(fresh)
    result = run_import(fresh, path, tmp_path)
    assert result.status == "failed"
    assert result.message == (
        'zed.csv: the database refused the file: new row for relation "leads" violates check '
        'constraint "no_zed" (rule no_zed); nothing was loaded. Correct the value it names and '
        "import again."
    )
    assert snapshot(fresh) == before


@pytest.mark.slow
def test_kill_9_mid_copy_leaves_the_database_unchanged(
    fresh: psycopg.Connection, fresh_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "many.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["first_name", "last_name", "email", "description"])
        writer.writerows(
            [f"Person{i}", "Müller", f"person{i}@example.com", "notes, with a comma"]
            for i in range(400_000)
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["DATABASE_URL"] = fresh_url
    process = subprocess.Popen(
        [sys.executable, "-m", "consulting_crm.cli", "import", str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    database = fresh.execute("select current_database()").fetchone()[0]  # type: ignore[index]
    deadline = time.monotonic() + 60
    seen_copy = False
    while time.monotonic() < deadline and process.poll() is None:
        row = fresh.execute(
            "select count(*) from pg_stat_activity where datname = %s and pid <> "
            "pg_backend_pid() and state = 'active' and query ilike 'copy %%leads%%'",
            (database,),
        ).fetchone()
        if row and row[0]:
            seen_copy = True
            break
        time.sleep(0.01)
    assert seen_copy, "the import finished before it could be killed"
    time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    while fresh.execute(
        "select count(*) from pg_stat_activity where datname = %s and pid <> pg_backend_pid()",
        (database,),
    ).fetchone() != (0,):
        time.sleep(0.05)
    assert fresh.execute("select count(*) from leads").fetchone() == (0,)
    assert batches(fresh) == []


def test_two_overlapping_exports_merge_without_duplicates(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    run_import(fresh, DATA / "hubspot_contacts.csv", tmp_path)
    overlap = tmp_path / "spreadsheet.csv"
    overlap.write_text(
        "first_name,last_name,email,company,city,phone\n"
        "Yusuf,,YUSUF.DEMIR@anatolia-tekstil.com.tr,,Istanbul,\n"
        "Ada,Lovelace,ada@example.com,Analytical Engines,,\n",
        encoding="utf-8",
    )
    result = run_import(fresh, overlap, tmp_path)
    assert counts(result) == (1, 1, 0, 0)
    rows = fresh.execute(
        "select first_name, last_name, email, company, city, phone, external_id from leads "
        "where lower(email) like 'yusuf%'"
    ).fetchall()
    # Blank cells kept the stored values; the new city was added; still one Yusuf.
    assert rows == [
        (
            "Yusuf",
            "Demir",
            "yusuf.demir@anatolia-tekstil.com.tr",
            "Anatolia Tekstil",
            "Istanbul",
            "+90 212 555 0199",
            "903",
        ),
    ]


def test_dry_run_writes_nothing(fresh: psycopg.Connection, tmp_path: Path) -> None:
    before = snapshot(fresh)
    result = run_import(fresh, DATA / "ragged_and_blank.csv", tmp_path, dry_run=True)
    assert result.status == "dry_run"
    assert counts(result) == (2, 0, 0, 2)
    assert snapshot(fresh) == before
    assert batches(fresh) == []
    assert (tmp_path / "ragged_and_blank.rejected.csv").exists()


def test_rejected_rows_are_audited_and_reported(fresh: psycopg.Connection, tmp_path: Path) -> None:
    result = run_import(fresh, DATA / "ragged_and_blank.csv", tmp_path)
    assert (result.status, result.counts.read, result.counts.blank) == ("loaded", 4, 2)
    assert counts(result) == (2, 0, 0, 2)
    rejected = fresh.execute(
        "select row_number, reason_code, message, raw_row from ingest.rejected_rows "
        "order by row_number"
    ).fetchall()
    message = (
        "ragged_and_blank.csv, row {n}: it has {k} cells but the header has 3; fix the quoting or"
        " the delimiter on that row (a value with a delimiter in it needs double quotes)."
    )
    assert rejected == [
        (
            4,
            "ragged_row",
            message.format(n=4, k=4),
            {"cell 1": "Bob", "cell 2": "Builder", "cell 3": "bob@example.com", "cell 4": "extra"},
        ),
        (5, "ragged_row", message.format(n=5, k=2), {"cell 1": "Cy", "cell 2": "Young"}),
    ]
    with result.reject_report.open(encoding="utf-8-sig") as handle:  # type: ignore[union-attr]
        report = list(csv.reader(handle))
    assert report[0] == ["row", "column", "value", "reason", "message"]
    assert report[1] == ["4", "", "", "ragged_row", message.format(n=4, k=4)]
    batch = batches(fresh)[0]
    assert batch[:6] == ("ragged_and_blank.csv", "loaded", False, 4, 2, 2)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "duplicate_headers.csv",
            'duplicate_headers.csv: row 1 has duplicate columns: column 1 "First Name" and '
            'column 3 "first_name" both read as "firstname". Rename or delete one of them and '
            "import again.",
        ),
        (
            "empty.csv",
            "empty.csv: the file is empty. Export it again with a header row and at least one "
            "data row.",
        ),
        (
            "header_only.csv",
            "header_only.csv: the file has a header row but no data rows. Export it again with "
            "the rows you want to import.",
        ),
        (
            "no_required_column.csv",
            "no_required_column.csv: no column matches a known export (columns: Favourite "
            'Colour, Shoe Size). Say which column is which with --map "Header=field", or use the '
            "template from `crm import --template ENTITY`.\n"
            "Proposed mapping as leads (confidence; sample values):\n"
            '  "Favourite Colour" → (not imported)  e.g. blue\n'
            '  "Shoe Size" → (not imported)  e.g. 42\n'
            "No column looks like one of email, last_name, first_name, company, linkedin_url, of "
            'which leads needs one; say which column holds it, e.g. --map "Header=email".',
        ),
        (
            "ambiguous_dates.csv",
            'ambiguous_dates.csv: column "created_at" has dates like 03/04/2025 that could be '
            "day/month or month/day. Rerun with --date-format DMY (day first) or --date-format "
            "MDY (month first).",
        ),
    ],
)
def test_file_level_problems_fail_the_file_with_a_message(
    fresh: psycopg.Connection, tmp_path: Path, name: str, message: str
) -> None:
    result = run_import(fresh, DATA / name, tmp_path)
    assert (result.status, result.message) == ("failed", message)
    assert batches(fresh) == [(name, "failed", False, 0, 0, 0, message)]


def test_no_required_column_for_the_chosen_entity(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "cities.csv"
    path.write_text("city,country\nBonn,Germany\n")
    result = run_import(fresh, path, tmp_path, entity="contacts")
    assert result.message == (
        "cities.csv: no required column for contacts is mapped by profile generic:contacts; the "
        "file needs at least one of: email, last_name, first_name. Say which column holds it "
        'with --map "Header=field", rename the header, or choose another --profile or --entity.\n'
        "Proposed mapping as contacts (confidence; sample values):\n"
        '  "city" → city  (95% from the header; e.g. Bonn)\n'
        '  "country" → country  (95% from the header; e.g. Germany)\n'
        "No column looks like one of email, last_name, first_name, of which contacts needs one; "
        'say which column holds it, e.g. --map "Header=email".'
    )


def test_date_format_option_resolves_ambiguous_dates(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    result = run_import(fresh, DATA / "ambiguous_dates.csv", tmp_path, date_format="DMY")
    assert result.status == "loaded"
    assert fresh.execute("select created_at::date::text from leads order by email").fetchall() == [
        ("2025-04-03",),
        ("2025-06-05",),
    ]


def test_values_are_stored_as_written(fresh: psycopg.Connection, tmp_path: Path) -> None:
    run_import(fresh, DATA / "values_as_written.csv", tmp_path)
    rows = fresh.execute(
        "select last_name, phone, country, company, description from leads order by email"
    ).fetchall()
    assert rows == [
        ("NA", "+49 170 5550000", "NA", "007 Security", "-12"),
        ("null", "0044 20 5550 1234", "Namibia", "=SUM(A1)", "@mention"),
    ]


def test_excel_european_files_load_amounts_and_dates(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    run_import(fresh, DATA / "excel_sep_line.csv", tmp_path)
    run_import(fresh, DATA / "semicolon_decimal_comma.csv", tmp_path)
    rows = fresh.execute(
        "select email, estimated_amount::text, country from leads order by email"
    ).fetchall()
    assert rows == [
        ("anna.schulz@schulz-partner.de", "12.50", None),
        ("emilie.rousseau@rousseau-conseil.fr", "2500.00", "France"),
        ("juergen.maier@maier-metall.de", "1234.56", None),
        ("pieter@devries-bv.nl", "1234567.89", "Nederland"),
    ]
    dates = fresh.execute(
        "select created_at::date::text from leads where email ~ 'maier|schulz' order by email"
    ).fetchall()
    assert dates == [("2025-01-31",), ("2025-03-12",)]


def test_ambiguous_and_missing_accounts_reject_the_row_naming_candidates(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("name,domain\nAcme,acme.de\nAcme,acme.co.uk\n")
    run_import(fresh, accounts, tmp_path)
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "first_name,email,account_name\n"
        "Ada,ada@elsewhere.example,Acme\n"
        "Bob,bob@acme.de,\n"
        "Cy,cy@nowhere.example,Nowhere Ltd\n"
    )
    result = run_import(fresh, contacts, tmp_path)
    assert counts(result) == (1, 0, 0, 2)
    messages = [
        row[0]
        for row in fresh.execute(
            "select message from ingest.rejected_rows order by row_number"
        ).fetchall()
    ]
    assert messages == [
        'contacts.csv, row 2, column "account_name": "Acme" matches 2 accounts (Acme '
        "[acme.co.uk], Acme [acme.de]); use the account's domain or external id instead.",
        'contacts.csv, row 4, column "account_name": no account matches "Nowhere Ltd"; import '
        "the account first, add it to the file, or import the person as a lead with --entity "
        "leads (or with --create-accounts to create the accounts this column names).",
    ]


def test_duplicate_people_in_one_file_keep_the_first(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "dupes.csv"
    path.write_text("first_name,email\nAda,ada@example.com\nAda L.,ADA@example.com\n")
    result = run_import(fresh, path, tmp_path)
    assert counts(result) == (1, 0, 0, 1)
    assert fresh.execute("select message from ingest.rejected_rows").fetchone() == (
        'dupes.csv, row 3, column "email": "ADA@example.com" is the same lead as row 2; merge '
        "the two rows or delete one.",
    )


def test_an_xlsx_workbook_imports_end_to_end(fresh: psycopg.Connection, tmp_path: Path) -> None:
    import datetime as dt

    from tests.factories.spreadsheets import write_xlsx

    path = write_xlsx(
        tmp_path / "leads.xlsx",
        {
            "Leads": [
                ["First Name", "Email", "Phone", "Estimated Amount", "Created At"],
                ["Ada", "ada@example.com", "0151 5550", 1234.5, dt.date(2025, 3, 4)],
                ["Bob", "bob@example.com", "+49 30 1234", "=1000*2", dt.date(2025, 3, 5)],
            ]
        },
        date1904=True,
        cached={"D3": "2000"},
    )
    result = run_import(fresh, path, tmp_path)
    assert (result.status, counts(result)) == ("loaded", (2, 0, 0, 0))
    assert fresh.execute(
        "select first_name, phone, estimated_amount::text, created_at::date::text from leads "
        "order by email"
    ).fetchall() == [
        ("Ada", "0151 5550", "1234.50", "2025-03-04"),
        ("Bob", "+49 30 1234", "2000.00", "2025-03-05"),
    ]
    assert fresh.execute("select encoding from ingest.import_batches").fetchone() == ("xlsx",)


def test_date_order_precedence_flag_then_profile_then_setting_then_evidence(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    """HubSpot documents month-first dates: the import.date_format setting (DMY) must not turn
    its 03/04/2025 into 3 April, while --date-format still wins over the profile."""
    hubspot = tmp_path / "hubspot-contacts.csv"
    hubspot.write_text(
        "Record ID,First Name,Last Name,Email,Create Date\n"
        "11,Ada,Lovelace,ada@example.com,03/04/2025\n"
    )
    result = run_import(fresh, hubspot, tmp_path, default_date_format="DMY")
    assert result.status == "loaded", result.message
    assert fresh.execute(
        "select created_at::date::text from contacts union all "
        "select created_at::date::text from leads"
    ).fetchall() == [("2025-03-04",)]
    plain = tmp_path / "plain.csv"
    plain.write_text("first_name,email,created_at\nAda,a@example.com,03/04/2025\n")
    result = run_import(fresh, plain, tmp_path, entity="leads", default_date_format="DMY")
    assert result.status == "loaded", result.message
    assert "read as DMY (the import.date_format setting)" in (result.message or "")
    assert fresh.execute(
        "select created_at::date::text from leads where email = 'a@example.com'"
    ).fetchone() == ("2025-04-03",)


def test_date_order_decided_on_evidence_is_named_in_the_summary(
    fresh: psycopg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        "first_name,email,created_at\nAda,a@example.com,03/04/2025\nBo,b@example.com,25/12/2024\n"
    )
    result = run_import(fresh, path, tmp_path, entity="leads")
    assert result.status == "loaded", result.message
    assert 'dates in "created_at" read as DMY: 25/12/2024 can only be day first' in (
        result.message or ""
    )
    assert fresh.execute("select created_at::date::text from leads order by email").fetchall() == [
        ("2025-04-03",),
        ("2024-12-25",),
    ]
