"""A deal list that names its clients: --create-accounts (or a saved profile's create_accounts)
creates the accounts the file names and no account has, in the same transaction as the projects."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from consulting_crm.cli import main
from ingest.errors import ExitCode
from tests.factories.imports import spawn_import, use_database

DEAL_FLAGS = [
    "--entity", "projects",
    "--map", "Client=account_name",
    "--map", "Project=name",
    "--map", "Stage=stage",
    "--map", "Value €=amount",
]  # fmt: skip

# One client written three ways (case and spaces), another two ways, one that is an account
# already (Cedar KG), and one that is an account already under other spaces and case (Dune Ltd).
DEALS = [
    ("ACME GmbH", "Pricing review", "proposal", "12500"),
    ("acme gmbh ", "Board deck", "qualification", "4000"),
    ("Birch  AG", "Process audit", "negotiation", "8000"),
    ("ACME  GMBH", "Strategy day", "qualification", "3000"),
    ("Birch AG", "Cost study", "proposal", "6000"),
    ("Cedar KG", "Market scan", "qualification", "2500"),
    (" DUNE  LTD", "Reorganisation", "proposal", "9000"),
]


def _deals_csv(path: Path, rows: list[tuple[str, str, str, str]] = DEALS) -> Path:
    lines = ["Client,Project,Stage,Value €", *(",".join(row) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def home(make_database: Callable[..., str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A database of its own, with two accounts already there, and a CRM_HOME of its own."""
    url = make_database()
    use_database(monkeypatch, url, tmp_path, columns=250)
    with psycopg.connect(url) as conn:
        conn.execute("insert into accounts (name) values ('Cedar KG'), ('Dune Ltd')")
    return url


def _accounts(url: str) -> list[tuple[str, str, str, bool]]:
    """Name, source, external system, and whether an import batch created it."""
    with psycopg.connect(url) as conn:
        return [
            (str(name), str(source), str(system), bool(batch))
            for name, source, system, batch in conn.execute(
                "select name, source, external_system, import_batch_id is not null "
                "from accounts order by name"
            ).fetchall()
        ]


def _deals(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return [
            (str(account), str(project))
            for account, project in conn.execute(
                "select a.name, p.name from projects p join accounts a using (account_id) "
                "order by p.name"
            ).fetchall()
        ]


EXPECTED_DEALS = [
    ("ACME GmbH", "Board deck"),
    ("Cedar KG", "Market scan"),
    ("Birch AG", "Process audit"),
    ("ACME GmbH", "Pricing review"),
    ("Dune Ltd", "Reorganisation"),
    ("ACME GmbH", "Strategy day"),
    ("Birch AG", "Cost study"),
]


def _out(capsys: pytest.CaptureFixture[str]) -> str:
    return " ".join(capsys.readouterr().out.split())


def test_the_flag_creates_each_client_once_and_reuses_the_existing_ones(
    home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = _deals_csv(tmp_path / "deals.csv")
    args = ["import", str(sheet), *DEAL_FLAGS, "--report-dir", str(tmp_path)]

    assert main([*args, "--create-accounts"]) == ExitCode.OK
    out = _out(capsys)
    assert 'created 2 accounts from the "Client" column: ACME GmbH, Birch AG' in out
    assert _accounts(home) == [
        ("ACME GmbH", "generic", "generic", True),
        ("Birch AG", "generic", "generic", True),
        ("Cedar KG", "manual", "manual", False),
        ("Dune Ltd", "manual", "manual", False),
    ]
    assert sorted(_deals(home), key=lambda deal: deal[1]) == sorted(
        EXPECTED_DEALS, key=lambda deal: deal[1]
    )
    with psycopg.connect(home) as conn:
        # The accounts belong to the import batch of the deal list, as its projects do.
        assert conn.execute(
            "select count(distinct import_batch_id) from (select import_batch_id from accounts "
            "where import_batch_id is not null union all select import_batch_id from projects) b"
        ).fetchone() == (1,)

    # The same file again: skipped; and forced, it creates nothing and changes nothing.
    assert main([*args, "--create-accounts"]) == ExitCode.OK
    assert "already imported" in _out(capsys)
    assert main([*args, "--create-accounts", "--force"]) == ExitCode.OK
    out = _out(capsys)
    assert "created" not in out and "would create" not in out
    assert len(_accounts(home)) == 4
    assert len(_deals(home)) == len(DEALS)


def test_a_client_whose_every_row_is_rejected_is_not_created(
    home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Elm Oy's only deal is won without a close date (rejected after the accounts were matched);
    # Fir AB's second deal is rejected the same way, its first one lands.
    sheet = _deals_csv(
        tmp_path / "deals.csv",
        [
            ("Elm Oy", "Lost cause", "won", "1000"),
            ("Fir AB", "Good deal", "proposal", "2000"),
            ("fir ab", "Won without a date", "won", "3000"),
        ],
    )
    args = ["import", str(sheet), *DEAL_FLAGS, "--report-dir", str(tmp_path), "--create-accounts"]

    assert main(args) == ExitCode.ROWS_REJECTED
    out = _out(capsys)
    assert 'created 1 account from the "Client" column: Fir AB' in out
    assert "Elm Oy" not in [name for name, *_ in _accounts(home)]
    assert _deals(home) == [("Fir AB", "Good deal")]
    report = (tmp_path / "deals.rejected.csv").read_text(encoding="utf-8")
    assert report.count("missing_close_date") == 2


def test_without_the_flag_the_rows_are_rejected_naming_the_option(
    home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = _deals_csv(tmp_path / "deals.csv")
    args = ["import", str(sheet), *DEAL_FLAGS, "--report-dir", str(tmp_path)]

    assert main(args) == ExitCode.ROWS_REJECTED
    out = _out(capsys)
    # Each client once, as its first row writes it (three spellings of ACME are one name).
    assert (
        '6 row(s) rejected because no account has the name in "Client" (3 names: ACME GmbH, '
        "Birch AG, DUNE LTD); import your client list as accounts first, or import this file "
        'again with --create-accounts to create them from "Client"'
    ) in out
    assert len(_accounts(home)) == 2
    # Cedar KG is an account: its row loads. Dune Ltd is written with other spaces, which only
    # the creation of accounts forgives: rejected too, and listed in the report.
    assert _deals(home) == [("Cedar KG", "Market scan")]
    with psycopg.connect(home) as conn:
        messages = [
            str(row[0])
            for row in conn.execute(
                "select message from ingest.rejected_rows where reason_code = 'no_account' "
                "order by row_number"
            ).fetchall()
        ]
    assert len(messages) == 6
    assert messages[0] == (
        'deals.csv, row 2, column "Client": no account matches "ACME GmbH"; import the account '
        "first or correct the account column, or import with --create-accounts to create the "
        "accounts this column names."
    )


def test_dry_run_says_what_would_be_created_and_writes_nothing(
    home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = _deals_csv(tmp_path / "deals.csv")
    args = ["import", str(sheet), *DEAL_FLAGS, "--create-accounts", "--dry-run"]

    assert main([*args, "--report-dir", str(tmp_path)]) == ExitCode.OK
    out = _out(capsys)
    assert 'would create 2 accounts from the "Client" column: ACME GmbH, Birch AG' in out
    assert "Dry run: nothing was written." in out
    assert len(_accounts(home)) == 2
    assert _deals(home) == []


def test_create_accounts_is_for_projects_and_contacts_only(
    home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a file of leads the option does nothing, and the summary says so."""
    leads = tmp_path / "leads.csv"
    leads.write_text("first_name,last_name,company,email\nAda,Lovelace,Engines Ltd,ada@x.example\n")
    args = ["import", str(leads), "--entity", "leads", "--create-accounts"]
    assert main(args) == ExitCode.OK
    assert "--create-accounts created nothing: it applies to projects and contacts" in _out(capsys)
    assert len(_accounts(home)) == 2


def test_contacts_file_creates_the_companies_it_names(
    home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new contact whose company is no account gets one; one whose email's domain is an
    account's keeps that account (the name is not needed)."""
    with psycopg.connect(home) as conn:
        conn.execute("update accounts set domain = 'cedar.example' where name = 'Cedar KG'")
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "first_name,last_name,email,account_name\n"
        "Ada,Lovelace,ada@engines.example,Engines Ltd\n"
        "Charles,Babbage,charles@engines.example,ENGINES LTD\n"
        "Grace,Hopper,grace@cedar.example,Cedar Holding\n"
    )
    args = ["import", str(contacts), "--entity", "contacts", "--report-dir", str(tmp_path)]
    assert main(args) == ExitCode.ROWS_REJECTED
    assert '--create-accounts to create them from "account_name"' in _out(capsys)

    assert main([*args, "--create-accounts", "--force"]) == ExitCode.OK
    assert 'created 1 account from the "account_name" column: Engines Ltd' in _out(capsys)
    with psycopg.connect(home) as conn:
        assert conn.execute(
            "select c.last_name, a.name from contacts c join accounts a using (account_id) "
            "order by c.last_name"
        ).fetchall() == [
            ("Babbage", "Engines Ltd"),
            ("Hopper", "Cedar KG"),
            ("Lovelace", "Engines Ltd"),
        ]


def test_a_profile_saved_with_the_flag_creates_accounts_in_crm_nightly(
    home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = _deals_csv(tmp_path / "deals.csv", DEALS[:2])
    args = ["import", str(sheet), *DEAL_FLAGS, "--create-accounts", "--save-profile", "deals"]
    assert main(args) == ExitCode.OK
    out = _out(capsys)
    assert "saved profile deals (projects, 4 columns)" in out
    assert 'created 1 account from the "Client" column: ACME GmbH' in out
    saved = (tmp_path / "crm-home" / "profiles" / "deals.toml").read_text(encoding="utf-8")
    assert "\ncreate_accounts = true\n" in saved
    assert _accounts(home)[0] == ("ACME GmbH", "deals", "deals", True)

    # The next export of the same sheet, dropped into the inbox: recognised by the profile,
    # unattended, and its new client created.
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    later = _deals_csv(
        inbox / "deals (2).csv",
        [*DEALS[:2], ("Elm GmbH", "Data audit", "qualification", "7000")],
    )
    past = time.time() - 3600
    os.utime(later, (past, past))
    assert main(["nightly", "--inbox", str(inbox), "--as-of", "2025-06-30"]) == ExitCode.OK
    summary = json.loads((tmp_path / "crm-home" / "runs" / "latest.json").read_text())
    (item,) = summary["files"]
    assert item["profile"] == "deals:projects"
    assert 'created 1 account from the "Client" column: Elm GmbH' in item["message"]
    assert [name for name, *_ in _accounts(home)] == [
        "ACME GmbH",
        "Cedar KG",
        "Dune Ltd",
        "Elm GmbH",
    ]
    assert ("Elm GmbH", "Data audit") in _deals(home)


def test_profile_new_keeps_create_accounts_and_the_import_uses_it(
    home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = _deals_csv(tmp_path / "deals.csv")
    made = ["profile", "new", "deals", "--from", str(sheet), *DEAL_FLAGS, "--create-accounts"]
    assert main(made) == ExitCode.OK
    assert "saved profile deals (projects, 4 columns)" in _out(capsys)
    assert _accounts(home)[0][0] == "Cedar KG"  # nothing imported yet
    assert main(["import", str(sheet), "--report-dir", str(tmp_path)]) == ExitCode.OK
    out = _out(capsys)
    assert "profile deals:projects (chosen from the headers)" in out
    assert 'created 2 accounts from the "Client" column: ACME GmbH, Birch AG' in out


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal")
def test_on_a_terminal_it_offers_to_create_the_missing_accounts(home: str, tmp_path: Path) -> None:
    import pexpect

    sheet = _deals_csv(tmp_path / "deals.csv")
    child = spawn_import(sheet, tmp_path)
    child.expect_exact("Load the rows as [projects]")
    child.sendline("")
    for header in ("Client", "Project", "Stage", "Value €"):  # the stages are our own words
        child.expect_exact(f'"{header}" (e.g.')
        child.sendline("")
    child.expect_exact('2 client(s) in "Client" are no account yet: ACME GmbH, Birch AG.')
    child.expect_exact("Create these accounts (--create-accounts)? y or [n]: ")
    child.sendline("x")
    child.expect_exact("Please answer one of: y, n.")
    child.sendline("y")
    child.expect_exact("Save this mapping as a profile for next time?")
    child.sendline("deallist")
    child.expect_exact("saved profile deallist (projects, 4 columns)")
    child.expect_exact("created 2 accounts")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == ExitCode.OK, child.before
    assert [name for name, *_ in _accounts(home)] == [
        "ACME GmbH",
        "Birch AG",
        "Cedar KG",
        "Dune Ltd",
    ]
    assert len(_deals(home)) == len(DEALS)
    saved = tmp_path / "crm-home" / "profiles" / "deallist.toml"
    assert "\ncreate_accounts = true\n" in saved.read_text(encoding="utf-8")
