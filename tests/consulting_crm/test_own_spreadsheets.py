"""Home-made spreadsheets: proposal and flags when unmapped, --map/--value, --save-profile,
the saved profile recognised next time, and `crm profile`."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from consulting_crm.cli import main
from ingest.errors import ExitCode
from tests.factories.home_made import (
    DEAL_FLAGS,
    DEALS_BY_YEAR,
    ENGLISH_ROWS,
    GERMAN_LATER_ROWS,
    clients_csv,
    deals_by_year_xlsx,
    english_pipeline_xlsx,
    german_pipeline_csv,
    messy_pipeline_xlsx,
)
from tests.factories.imports import spawn_import, use_database
from tests.factories.spreadsheets import Cell

GERMAN_FLAGS = [
    "--entity", "projects",
    "--map", "Kunde=account_name",
    "--map", "Projekt=name",
    "--map", "Auftragswert=amount",
    "--map", "Währung=currency_code",
    "--map", "Phase=stage",
    "--map", "Abschluss=close_date",
    "--map", "Notiz=description",
    "--value", "stage:Angebot=proposal",
    "--value", "stage:Gewonnen=won",
    "--value", "stage:Verloren=lost",
]  # fmt: skip


@pytest.fixture
def home(make_database: Callable[..., str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A database of its own and a CRM_HOME of its own (where profiles are saved)."""
    url = make_database()
    use_database(monkeypatch, url, tmp_path)
    return url


def _import_clients(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The clients list first, mapped from the proposal's flags (the accounts must exist)."""
    clients = clients_csv(tmp_path / "Kundenliste.csv")
    args = ["import", str(clients), "--report-dir", str(tmp_path)]
    assert main(args) == ExitCode.FILE_FAILED
    out = " ".join(capsys.readouterr().out.split())
    assert '--entity accounts --map "Firma=name" --map "Webseite=domain"' in out
    assert '"Webseite" → domain (99% from the header and contents;' in out
    flags = ["--map", "Firma=name", "--map", "Webseite=domain", "--map", "Branche=industry"]
    assert main([*args, *flags, "--map", "Ort=city"]) == ExitCode.OK
    capsys.readouterr()


def _projects(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select a.name, p.name, p.amount::text, p.currency_code, p.stage::text, "
            "p.close_date::text, p.source from projects p join accounts a using (account_id) "
            "order by a.name"
        ).fetchall()


def test_german_sheet_proposal_then_flags_then_saved_profile_next_time(
    home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _import_clients(tmp_path, capsys)
    first = german_pipeline_csv(tmp_path / "Kunden 2025.csv")
    reports = ["--report-dir", str(tmp_path)]

    # Without a terminal: the file fails (like any file that loads nothing), printing the
    # proposal with samples and confidence, and the exact flags.
    assert main(["import", str(first), *reports]) == ExitCode.FILE_FAILED
    out = capsys.readouterr().out
    assert '"Kunde" → account_name  (95% from the header; e.g. Alder Foods GmbH, Birch AG' in out
    assert '"Auftragswert" → amount' in out and '"Phase" → stage' in out
    assert '"Gewonnen" ×2 → won' in out and '"Angebot" ×1 → proposal' in out
    flags = (
        '--entity projects --map "Kunde=account_name" --map "Projekt=name" '
        '--map "Auftragswert=amount" --map "Währung=currency_code" --map "Phase=stage" '
        '--map "Abschluss=close_date" --map "Notiz=description" '
        '--value "stage:Gewonnen=won" --value "stage:Angebot=proposal" '
        '--value "stage:Verloren=lost"'
    )
    assert flags in " ".join(out.split())
    assert _projects(home) == []

    # The flags it printed import the file, and --save-profile remembers them.
    args = ["import", str(first), *GERMAN_FLAGS, "--save-profile", "kunden", *reports]
    assert main(args) == ExitCode.OK
    out = capsys.readouterr().out
    assert 'left out row 6 ("Summe"), the totals row at the bottom' in " ".join(out.split())
    saved = tmp_path / "crm-home" / "profiles" / "kunden.toml"
    assert f"saved profile kunden (projects, 7 columns) to {saved}" in out
    assert _projects(home) == [
        ("Alder Foods GmbH", "Preisstudie", "12500.00", "EUR", "proposal", "2025-03-15", "kunden"),
        ("Birch AG", "Vorstandsvorlage", "8000.00", "EUR", "won", "2025-04-01", "kunden"),
        ("Cedar KG", "Prozessaudit", "3250.50", "EUR", "won", "2025-05-02", "kunden"),
        ("Delta SE", "Strategie", "5000.00", "EUR", "lost", "2025-06-03", "kunden"),
    ]

    # The next export of the same sheet, with no option at all: recognised by its headers. A
    # stage it has not seen before is rejected, listed with its count, proposed target and flag.
    later = german_pipeline_csv(tmp_path / "Kunden 2025 (2).csv", GERMAN_LATER_ROWS)
    assert main(["import", str(later), *reports]) == ExitCode.ROWS_REJECTED
    out = " ".join(capsys.readouterr().out.split())
    assert "kunden:projects" in out
    assert (
        'values "Phase" (stage) does not know: "Beauftragt" ×1 → won, "Pausiert" ×1 → ?; to '
        'read them, import again with --value "stage:Beauftragt=won" (--save-profile NAME, or '
        "`crm profile edit` for a profile of yours, keeps them for next time)"
    ) in out
    rows = _projects(home)
    assert (
        "Alder Foods GmbH",
        "Preisstudie",
        "12500.00",
        "EUR",
        "won",
        "2025-03-20",
        "kunden",
    ) in rows
    assert (
        "Elm GmbH",
        "Marktanalyse",
        "9900.00",
        "EUR",
        "proposal",
        "2025-06-30",
        "kunden",
    ) in rows
    assert len(rows) == 5  # Elm's row and Alder's update; the two unknown stages rejected

    # `crm profile` lists, shows and checks it.
    assert main(["profile", "list"]) == 0
    listing = capsys.readouterr().out
    assert listing.index("kunden") < listing.index("salesforce")
    assert main(["profile", "show", "kunden"]) == 0
    shown = capsys.readouterr().out
    assert 'detect = [["Kunde", "Projekt", "Auftragswert", "Währung", "Phase"' in shown
    assert '"Gewonnen" = "won"' in shown


def test_english_workbook_with_flags_and_value_map(
    home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _import_clients(tmp_path, capsys)
    book = english_pipeline_xlsx(tmp_path / "pipeline.xlsx")
    assert main(["import", str(book), "--report-dir", str(tmp_path)]) == ExitCode.FILE_FAILED
    out = " ".join(capsys.readouterr().out.split())
    assert '--map "Client=account_name" --map "Project=name" --map "Value €=amount"' in out
    assert '--map "Contact=primary_contact_email"' in out
    assert '--value "stage:Closed Won=won"' in out and '--value "stage:Closed Lost=lost"' in out
    args = [
        "import", str(book), "--report-dir", str(tmp_path),
        "--map", "Client=account_name", "--map", "Project=name", "--map", "Value €=amount",
        "--map", "Expected close=close_date",
        "--value", "stage:Closed Won=won", "--value", "stage:Closed Lost=lost",
    ]  # fmt: skip
    assert main(args) == ExitCode.OK
    assert [(row[0], row[2], row[4], row[5]) for row in _projects(home)] == [
        ("Fir Partners", "12000.00", "won", "2025-02-14"),
        ("Gum Tree Ltd", "4500.50", "proposal", "2025-05-01"),
        ("Hazel & Co", "30000.00", "lost", "2025-01-20"),
    ]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--map", "Kunde"], '--map "Kunde": write it as "Header=field"'),
        (["--value", "stage:Angebot"], 'write it as "field:Their word=our value"'),
        (["--value", "stage:Angebot=offer"], "'offer' is not a value of stage; use one of:"),
        (["--value", "name:X=Y"], "name has no fixed set of values"),
        (["--map", "Kundin=account_name"], 'the file has no column "Kundin"'),
        (["--map", "Kunde=colour"], "'colour' is not a column the import can fill"),
        (["--map", "Kunde=amount", "--entity", "accounts"], "no accounts has all the columns"),
        (["--dry-run", "--save-profile", "x"], "a dry run writes nothing, not even a profile"),
    ],
)
def test_bad_flags_say_what_to_write(
    home: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    message: str,
) -> None:
    sheet = german_pipeline_csv(tmp_path / "kunden.csv")
    code = main(["import", str(sheet), "--report-dir", str(tmp_path), *flags])
    captured = capsys.readouterr()
    assert code in (ExitCode.USAGE, ExitCode.FILE_FAILED)
    assert message in " ".join((captured.out + captured.err).split())


def test_profile_new_and_edit_check_the_file(
    home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sheet = german_pipeline_csv(tmp_path / "kunden.csv")
    args = ["profile", "new", "kunden", "--from", str(sheet), *GERMAN_FLAGS]
    assert main(args) == 0
    path = tmp_path / "crm-home" / "profiles" / "kunden.toml"
    assert 'stage = ["Phase"]' in path.read_text(encoding="utf-8")
    assert main(["profile", "new", "generic", "--from", str(sheet), *GERMAN_FLAGS]) == 3
    assert "'generic' is the name of a built-in profile" in capsys.readouterr().err

    # An editor that writes a stage nobody knows: the check names the file and the fix.
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "p.write_text(p.read_text(encoding='utf-8').replace('= \"won\"', '= \"gewonnen\"'),"
        " encoding='utf-8')\n"
    )
    monkeypatch.setenv("VISUAL", f"{sys.executable} {editor}")
    assert main(["profile", "edit", "kunden"]) == 3
    err = " ".join(capsys.readouterr().err.split())
    assert f"{path}, variant 'projects': values.stage: 'Gewonnen' maps to 'gewonnen'" in err
    assert "The file is kept as you left it" in err
    # A broken profile stops every import with the same message, rather than being ignored.
    assert main(["import", str(sheet), "--report-dir", str(tmp_path)]) == ExitCode.FILE_FAILED
    assert "maps to 'gewonnen', which is not one of" in " ".join(capsys.readouterr().out.split())


def test_on_a_terminal_it_asks_column_by_column_then_saves(
    home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real pseudo-terminal: accept, change, skip, the stage values, then a profile name."""
    import pexpect

    _import_clients(tmp_path, capsys)
    sheet = german_pipeline_csv(tmp_path / "Kunden 2025.csv")
    child = spawn_import(sheet, tmp_path)
    child.expect_exact('"Kunde" → account_name  (95% from the header;')
    child.expect_exact("Load the rows as [projects]")
    child.sendline("")
    child.expect_exact('"Kunde" (e.g. Alder Foods GmbH, Birch AG, Cedar KG) → account_name (95%)')
    child.sendline("a")
    child.expect_exact('"Projekt" (e.g. Preisstudie, Vorstandsvorlage, Prozessaudit) → name')
    child.sendline("c")  # change: to a field that is not one, then to the right one
    child.expect_exact('Field for "Projekt"')
    child.sendline("projekt")
    child.expect_exact("Please answer one of:")
    child.sendline("name")
    for header in ("Auftragswert", "Währung", "Phase"):
        child.expect_exact(f'"{header}" (e.g.')
        child.sendline("")
    child.expect_exact('"Gewonnen" ×2 → [won]')
    child.sendline("")
    child.expect_exact('"Angebot" ×1 → [proposal]')
    child.sendline("negotiation")  # this user's "Angebot" stage is later than ours
    child.expect_exact('"Verloren" ×1 → [lost]')
    child.sendline("")
    child.expect_exact('"Abschluss" (e.g.')
    child.sendline("a")
    child.expect_exact('"Notiz" (e.g.')
    child.sendline("s")
    child.expect_exact("Save this mapping as a profile for next time?")
    child.sendline("Kunden")  # not a usable name: asked again
    child.expect_exact("'Kunden' is not a usable profile name")
    child.sendline("kunden")
    child.expect_exact("saved profile kunden (projects, 6 columns)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == ExitCode.OK, child.before
    rows = _projects(home)
    assert [(row[1], row[4], row[6]) for row in rows] == [
        ("Preisstudie", "negotiation", "kunden"),
        ("Vorstandsvorlage", "won", "kunden"),
        ("Prozessaudit", "won", "kunden"),
        ("Strategie", "lost", "kunden"),
    ]
    with psycopg.connect(home) as conn:
        assert conn.execute(
            "select count(*) from projects where description is not null"
        ).fetchone() == (0,)
    # The next export: no question, no option (its two new stages are rejected, and listed).
    later = german_pipeline_csv(tmp_path / "Kunden 2025 (2).csv", GERMAN_LATER_ROWS)
    assert main(["import", str(later), "--report-dir", str(tmp_path)]) == ExitCode.ROWS_REJECTED
    assert len(_projects(home)) == 5


def test_xlsx_templates_teach_and_import_back(
    home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from openpyxl import load_workbook

    from ingest.entities import ENTITIES, ENTITY_FIELDS, ENUMS

    for entity in ENTITIES:
        args = ["import", "--template", entity, "--format", "xlsx", "--out", str(tmp_path)]
        assert main(args) == 0
        book = load_workbook(tmp_path / f"{entity}-template.xlsx")
        assert book.sheetnames == [entity, "Columns"]
        sheet = book[entity]
        headers = [str(cell.value) for cell in sheet[1]]
        lists = {
            sheet.cell(1, next(iter(validation.sqref.ranges)).min_col).value: validation.formula1
            for validation in sheet.data_validations.dataValidation
        }
        fields = ENTITY_FIELDS[entity]
        choices = {
            header: ENUMS[spec.enum] if spec.enum else ("yes", "no")
            for header, spec in ((header, fields[header]) for header in headers)
            if spec.enum or spec.kind == "boolean"
        }
        assert lists == {header: '"' + ",".join(labels) + '"' for header, labels in choices.items()}
        guide = {row[0]: row[1:] for row in book["Columns"].iter_rows(values_only=True) if row[0]}
        assert set(headers) <= set(guide)
    book = load_workbook(tmp_path / "projects-template.xlsx")
    assert book["Columns"]["B7"].value == "one of: qualification, proposal, negotiation, won, lost"
    assert book["projects"]["F2"].value == "proposal"
    capsys.readouterr()
    # The example rows import as they are: an account, its contact, its project.
    for entity in ("accounts", "contacts", "projects"):
        path = tmp_path / f"{entity}-template.xlsx"
        assert main(["import", str(path), "--report-dir", str(tmp_path)]) == ExitCode.OK, (
            capsys.readouterr().out
        )
    assert _projects(home) == [
        (
            "Alder Foods GmbH",
            "Pricing review",
            "12500.00",
            "EUR",
            "proposal",
            "2025-06-30",
            "generic",
        )
    ]


def test_title_rows_hidden_column_and_totals_row_of_a_home_made_workbook(
    home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _import_clients(tmp_path, capsys)
    book = messy_pipeline_xlsx(tmp_path / "Pipeline.xlsx")
    args = [
        "import", str(book), "--report-dir", str(tmp_path),
        "--map", "Client=account_name", "--map", "Project=name", "--map", "Value €=amount",
        "--map", "Expected close=close_date",
        "--value", "stage:Closed Won=won", "--value", "stage:Closed Lost=lost",
    ]  # fmt: skip
    assert main(args) == ExitCode.OK
    out = " ".join(capsys.readouterr().out.split())
    assert "sheet '2025'; skipped 3 line(s) before the header" in out
    assert "left out hidden column(s): Margin helper" in out
    assert 'left out row 8 ("Total"), the totals row at the bottom' in out
    assert [(row[1], row[2], row[4]) for row in _projects(home)] == [
        ("Pricing review", "12000.00", "won"),
        ("Board pack", "4500.50", "proposal"),
        ("Due diligence", "30000.00", "lost"),
    ]


def _batches(url: str, after: int = 0) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select sheet, status::text, rows_inserted, rows_updated, rows_unchanged, "
            "rows_rejected from ingest.import_batches where import_batch_id > %s "
            "and file_name like 'Deals%%' order by import_batch_id",
            (after,),
        ).fetchall()


def _last_batch(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("select coalesce(max(import_batch_id), 0) from ingest.import_batches")
        return int(row.fetchone()[0])  # type: ignore[index]


def test_a_sheet_per_year_imports_in_one_command_and_the_saved_profile_next_time(
    home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _import_clients(tmp_path, capsys)
    book = deals_by_year_xlsx(tmp_path / "Deals.xlsx")
    reports = ["--report-dir", str(tmp_path)]
    args = ["import", str(book), *reports, *DEAL_FLAGS, "--save-profile", "deals"]
    assert main(args) == ExitCode.OK
    out = capsys.readouterr().out
    said = " ".join(out.split())
    assert "imported sheets '2024', '2025', '2026' (same columns)" in said
    assert (
        'NOT imported: sheet \'Notes\' (other columns: no column "Project", "Value €", '
        '"Stage" … (5 of the 6 columns); column(s) "Remember" added)'
    ) in said
    assert "sheet '2025': 2 new, 0 updated, 0 same, 0 rejected (skipped 1 line(s)" in said
    for year, new in (("2024", 1), ("2025", 2), ("2026", 1)):  # a row per sheet in the table
        assert re.search(rf"│ +sheet {year} +│ +│ +│ +{new} │ +0 │ +0 │ +0 │", out), out
    assert [row[1] for row in _projects(home)] == [
        "Pricing review",
        "Follow-up review",
        "Board pack",
        "Due diligence",
    ]
    assert _batches(home) == [
        ("2024", "loaded", 1, 0, 0, 0),
        ("2025", "loaded", 2, 0, 0, 0),
        ("2026", "loaded", 1, 0, 0, 0),
    ]

    # The same workbook again: skipped, nothing changes.
    before = _last_batch(home)
    assert main(["import", str(book), *reports]) == ExitCode.OK
    assert "already imported" in capsys.readouterr().out
    assert _batches(home, before) == []

    # Next year's export: only sheet 2026 changed (a stage moved on, a deal added). No option:
    # the saved profile is recognised by the headers, the unchanged sheets merge to no change.
    later: dict[str, list[list[Cell]]] = {
        **DEALS_BY_YEAR,
        "2026": [
            ["Fir Partners", "Follow-up review", 8000, "Closed Won", "2026-03-31", ""],
            ["Hazel & Co", "Contract review", 5000, "Proposal", "2026-09-30", ""],
        ],
    }
    book2 = deals_by_year_xlsx(tmp_path / "Deals (2).xlsx", later)
    before = _last_batch(home)
    assert main(["import", str(book2), *reports]) == ExitCode.OK
    said = " ".join(capsys.readouterr().out.split())
    assert "profile deals:projects (chosen from the headers)" in said
    assert "sheet '2024': 0 new, 0 updated, 1 same, 0 rejected" in said
    assert "sheet '2026': 1 new, 1 updated, 0 same, 0 rejected" in said
    assert _batches(home, before) == [
        ("2024", "loaded", 0, 0, 1, 0),
        ("2025", "loaded", 0, 0, 2, 0),
        ("2026", "loaded", 1, 1, 0, 0),
    ]
    assert ("Fir Partners", "Follow-up review", "won") in [
        (row[0], row[1], row[4]) for row in _projects(home)
    ]

    # --sheet still reads just the one sheet.
    before = _last_batch(home)
    assert main(["import", str(book2), *reports, "--sheet", "2025", "--force"]) == ExitCode.OK
    said = " ".join(capsys.readouterr().out.split())
    assert "sheet '2025'" in said and "'2024'" not in said
    assert _batches(home, before) == [("2025", "loaded", 0, 0, 2, 0)]


def test_a_workbook_of_which_one_sheet_was_imported_is_imported_whole_next_time(
    home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A batch is known by the file's bytes and its sheet: the same bytes imported with --sheet
    do not make the other sheets count as imported."""
    _import_clients(tmp_path, capsys)
    book = deals_by_year_xlsx(tmp_path / "Deals.xlsx")
    args = ["import", str(book), "--report-dir", str(tmp_path), *DEAL_FLAGS]
    assert main([*args, "--sheet", "2024"]) == ExitCode.OK
    assert _batches(home) == [("2024", "loaded", 1, 0, 0, 0)]
    capsys.readouterr()
    assert main([*args, "--sheet", "2024"]) == ExitCode.OK
    assert "already imported" in capsys.readouterr().out
    assert main(args) == ExitCode.OK
    assert "imported sheets '2024', '2025', '2026'" in " ".join(capsys.readouterr().out.split())
    assert _batches(home)[1:] == [
        ("2024", "loaded", 0, 0, 1, 0),
        ("2025", "loaded", 2, 0, 0, 0),
        ("2026", "loaded", 1, 0, 0, 0),
    ]
    assert main(args) == ExitCode.OK
    assert "already imported" in capsys.readouterr().out
    assert len(_batches(home)) == 4


def test_a_rejected_row_of_a_later_sheet_is_reported_with_its_sheet(
    home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import csv

    _import_clients(tmp_path, capsys)
    years = {
        **DEALS_BY_YEAR,
        "2025": [ENGLISH_ROWS[1], [*ENGLISH_ROWS[2][:3], "Maybe", *ENGLISH_ROWS[2][4:]]],
    }
    book = deals_by_year_xlsx(tmp_path / "Deals.xlsx", years, notes=False)
    args = ["import", str(book), "--report-dir", str(tmp_path), *DEAL_FLAGS]
    # A dry run writes the same report and nothing else.
    assert main([*args, "--dry-run"]) == ExitCode.ROWS_REJECTED
    assert "sheet '2025': 1 new" in " ".join(capsys.readouterr().out.split())
    assert (tmp_path / "Deals.rejected.csv").read_text(encoding="utf-8-sig").startswith("sheet,")
    assert _projects(home) == []
    (tmp_path / "Deals.rejected.csv").unlink()
    assert main(args) == ExitCode.ROWS_REJECTED
    said = " ".join(capsys.readouterr().out.split())
    assert "sheet '2025': 1 new, 0 updated, 0 same, 1 rejected" in said
    assert f"rejected rows are listed in {tmp_path / 'Deals.rejected.csv'}" in said
    with (tmp_path / "Deals.rejected.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["sheet", "row", "column", "value", "reason", "message"]
    assert len(rows) == 2
    sheet, row, column, value, reason, message = rows[1]
    # Row 4 of sheet 2025: its title row, the header, then the second deal.
    assert (sheet, row, column, value, reason) == ("2025", "4", "Stage", "Maybe", "invalid_value")
    assert message.startswith("Deals.xlsx, sheet '2025', row 4, column \"Stage\": ")
    assert [row[1] for row in _projects(home)] == [
        "Pricing review",
        "Follow-up review",
        "Board pack",
    ]


def test_the_sheets_of_a_workbook_are_read_as_one(
    home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One mapping reads every sheet, so the evidence of one sheet holds for the others: the
    proposal lists the values of every sheet, and "12.000,00 €" in 2024 says how "8.000 €" in
    2025 reads (on its own, that sheet would have to ask)."""
    from tests.factories.spreadsheets import write_xlsx

    header: list[Cell] = ["Kunde", "Projekt", "Phase", "Auftragswert", "Abschluss"]
    book = write_xlsx(
        tmp_path / "Aufträge.xlsx",
        {
            "2024": [header, ["Nordlicht GmbH", "Prozessaufnahme", "Gewonnen", "12.000,00 €",
                              "15.03.2024"]],
            "2025": [header, ["Nordlicht GmbH", "Rollout", "Angebot", "8.000 €", ""]],
        },
    )  # fmt: skip
    args = ["import", str(book), "--report-dir", str(tmp_path), "--create-accounts"]
    assert main(args) == ExitCode.FILE_FAILED
    said = " ".join(capsys.readouterr().out.split())
    assert '"Gewonnen" ×1 → won' in said
    assert '"Angebot" ×1 → proposal' in said
    flags = [
        "--entity", "projects",
        "--map", "Kunde=account_name", "--map", "Projekt=name", "--map", "Phase=stage",
        "--map", "Auftragswert=amount", "--map", "Abschluss=close_date",
        "--value", "stage:Gewonnen=won", "--value", "stage:Angebot=proposal",
    ]  # fmt: skip
    assert main([*args, *flags]) == ExitCode.OK
    said = " ".join(capsys.readouterr().out.split())
    assert "read with a decimal comma" in said
    assert [(row[1], row[2]) for row in _projects(home)] == [
        ("Prozessaufnahme", "12000.00"),
        ("Rollout", "8000.00"),
    ]


def test_a_sheet_that_fails_leaves_nothing_of_the_workbook(
    home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _import_clients(tmp_path, capsys)
    # Sheet 2025 has a formula no spreadsheet program calculated: it cannot be read.
    years = {
        **DEALS_BY_YEAR,
        "2025": [ENGLISH_ROWS[1], [*ENGLISH_ROWS[2][:2], "=1+1", *ENGLISH_ROWS[2][3:]]],
    }
    book = deals_by_year_xlsx(tmp_path / "Deals.xlsx", years)
    args = ["import", str(book), "--report-dir", str(tmp_path), *DEAL_FLAGS]
    assert main(args) == ExitCode.FILE_FAILED
    said = " ".join(capsys.readouterr().out.split())
    assert "Deals.xlsx, sheet '2025': has formulas without a calculated value (C4; 1 cell)" in said
    assert (
        "The sheets '2024', '2025', '2026' have the same columns and are imported together, all "
        "or nothing: nothing from any of them was loaded."
    ) in said
    assert _projects(home) == []
    assert _batches(home) == [(None, "failed", 0, 0, 0, 0)]


@pytest.mark.slow
def test_nightly_imports_every_sheet_of_a_workbook_its_saved_profile_maps(
    home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import time

    _import_clients(tmp_path, capsys)
    book = deals_by_year_xlsx(tmp_path / "Deals.xlsx")
    assert main(["profile", "new", "deals", "--from", str(book), *DEAL_FLAGS]) == 0
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    dropped = deals_by_year_xlsx(inbox / "Deals.xlsx")
    past = time.time() - 3600
    os.utime(dropped, (past, past))
    assert main(["nightly", "--inbox", str(inbox), "--as-of", "2026-06-30"]) == ExitCode.OK
    assert len(_projects(home)) == 4
    assert [row[0] for row in _batches(home)] == ["2024", "2025", "2026"]
    assert [path.name for path in (inbox / "archive").glob("*/*")] == ["Deals.xlsx"]
