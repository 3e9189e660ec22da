"""A folder of awkward real-world files through `crm import`, then every stored value checked.

Each file stands for a class of problem met with real exports (issue 13): numbers written the
German way, a stray Windows byte, a later import that must not rewrite first-touch facts, external
ids of two systems, placeholders, probabilities, excess decimals, implausible years, NUL bytes,
invisible characters, long names, formula cells without results, huge declared XLSX ranges, long
headers, a file name that is not UTF-8, formula-like values in the reject report and a corrupt
workbook. The whole folder is one `crm import` run: each file loads or fails on its own, and the
database ends up holding exactly what the files meant.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from consulting_crm.cli import main
from tests.factories.spreadsheets import write_xlsx


@pytest.fixture
def fresh_url(
    make_database: Callable[..., str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> str:
    url = make_database()
    for name in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE", "PGHOSTADDR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("CRM_CONFIG", str(tmp_path / "no-settings.toml"))  # the defaults
    return url


def _csv(
    path: Path, rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8"
) -> None:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle, delimiter=delimiter, lineterminator="\r\n").writerows(rows)


LONG_NAME = "Langer Name " * 334  # 4,008 characters


def write_corpus(folder: Path) -> Path:
    """The files, named so that the folder's order is the order a user would have met them."""
    folder.mkdir()
    _csv(
        folder / "01-konten.csv",
        [
            ["name", "domain", "annual_revenue", "employee_count"],
            ["Müller GmbH", "mueller.example", "20.000", "12"],
            ["Schäfer AG", "schaefer.example", "1.234", "7"],
            ["Weiß KG", "weiss.example", "20.000 €", "3"],
            ["Groß & Co", "gross.example", "1.234,56", "1.200"],
        ],
        delimiter=";",
    )
    _csv(
        folder / "02-hubspot-contacts.csv",
        [
            [
                "Record ID",
                "First Name",
                "Last Name",
                "Email",
                "Phone Number",
                "Original Source",
                "Create Date",
            ],
            [
                "901",
                "Ada",
                "Lovelace",
                "ada@lovelace.example",
                "+44 20 7946 0000",
                "ORGANIC_SEARCH",
                "01/15/2024 10:00 AM",
            ],
            [
                "902",
                "Grace",
                "Hopper",
                "grace@hopper.example",
                "",
                "REFERRALS",
                "02/03/2024 09:30 AM",
            ],
        ],
    )
    _csv(
        folder / "03-Connections.csv",
        [
            [
                "First Name",
                "Last Name",
                "URL",
                "Email Address",
                "Company",
                "Position",
                "Connected On",
            ],
            [
                "Ada",
                "Lovelace",
                "https://www.linkedin.com/in/ada",
                "ada@lovelace.example",
                "",
                "",
                "15 Mar 2025",
            ],
            [
                "Grace",
                "Hopper",
                "https://www.linkedin.com/in/grace",
                "grace@hopper.example",
                "",
                "",
                "01 Jan 2023",
            ],
        ],
    )
    _csv(
        folder / "04-generic-leads.csv",
        [
            ["external_id", "first_name", "last_name", "email", "company"],
            ["901", "Zed", "Other", "zed@other.example", "Other Ltd"],
        ],
    )
    _csv(
        folder / "05-google.csv",
        [
            ["First Name", "Last Name", "E-mail 1 - Value", "Phone 1 - Value", "Labels"],
            ["Ada", "Lovelace", "ada@lovelace.example", "-", "* myContacts"],
        ],
    )
    _csv(
        folder / "06-projekte.csv",
        [
            ["name", "account_domain", "stage", "amount", "currency_code", "probability"],
            ["Audit", "mueller.example", "proposal", "12000", "EUR", "1"],
            ["Rollout", "schaefer.example", "negotiation", "8000", "EUR", "2"],
            ["Precise", "weiss.example", "proposal", "1234.567", "EUR", "50"],
            ["Dollar", "gross.example", "proposal", "€ 100", "USD", "50"],
        ],
    )
    (folder / "07-gemischt.csv").write_bytes(
        "name,domain\r\nMüller GmbH,mueller.example\r\n".encode()
        + b"M\xfcller Zwei,zwei.example\r\n"
    )
    _csv(
        folder / "08-windows.csv",
        [["name", "domain"], ["Jürgen Weiß Beratung", "juergen.example"]],
        encoding="cp1252",
    )
    (folder / "09-nul.csv").write_bytes(
        b"name,domain,description\r\nNul AG,nul.example,before\x00after\r\n"
    )
    _csv(
        folder / "10-unsichtbar.csv",
        [
            ["first_name", "last_name", "email", "company"],
            ["Zed", "Other", "zed\u200b@other.example", "Other Ltd"],
        ],
    )
    _csv(
        folder / "11-lang.csv",
        [["name", "domain"], [LONG_NAME, "lang.example"], ["Kurz GmbH", "kurz.example"]],
    )
    _csv(
        folder / "12-jahre.csv",
        [
            ["first_name", "last_name", "email", "created_at"],
            ["Old", "Typo", "typo@years.example", "01/02/0025"],
            ["New", "Fine", "fine@years.example", "2025-02-01"],
        ],
    )
    write_xlsx(
        folder / "13-formeln.xlsx",
        {
            "Accounts": [
                ["name", "domain", "annual_revenue"],
                ["Formel AG", "formel.example", "=1000*12"],
            ]
        },
    )
    _write_huge_dimension(folder / "14-grosser-bereich.xlsx")
    wide = [f"unused column {index} " + "x" * 900 for index in range(80)]  # > 64 KB of header
    _csv(
        folder / "15-breit.csv",
        [["name", "domain", *wide], ["Breit GmbH", "breit.example", *[""] * 80]],
    )
    (folder / os.fsdecode(b"16-Kunden-\xfc.csv")).write_text(
        "name,domain\r\nLatin Name GmbH,latin.example\r\n", encoding="utf-8"
    )
    _csv(
        folder / "17-formelwerte.csv",
        [
            ["first_name", "last_name", "email"],
            ["Eve", "Hacker", '=HYPERLINK("http://evil.example","click")'],
        ],
    )
    (folder / "18-kaputt.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    return folder


def _write_huge_dimension(path: Path) -> None:
    write_xlsx(
        path,
        {
            "Accounts": [
                ["name", "domain"],
                ["Range AG", "range.example"],
                ["Bereich KG", "bereich.example"],
            ]
        },
    )
    with zipfile.ZipFile(path) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    xml = entries[sheet].decode()
    xml = re.sub(r'<dimension ref="[^"]*"\s*/>', '<dimension ref="A1:XFD1048576"/>', xml)
    assert 'ref="A1:XFD1048576"' in xml
    entries[sheet] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in entries.items():
            target.writestr(name, content)


def _status(conn: psycopg.Connection) -> dict[str, tuple[str, str]]:
    rows = conn.execute(
        "select file_name, status::text, coalesce(message, '') from ingest.import_batches "
        "order by import_batch_id"
    ).fetchall()
    return {name: (status, message) for name, status, message in rows}


def test_a_folder_of_awkward_files_stores_exactly_what_was_meant(
    fresh_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_corpus(tmp_path / "inbox")
    reports = tmp_path / "reports"
    code = main(["import", str(folder), "--report-dir", str(reports)])
    out = capsys.readouterr()
    assert code == 5, out  # some files failed; the others loaded
    with psycopg.connect(fresh_url) as conn:
        status = _status(conn)
        accounts = {
            row[0]: row[1:]
            for row in conn.execute(
                "select domain, name, annual_revenue, employee_count, description from accounts"
            ).fetchall()
        }
        leads = {
            row[0]: row[1:]
            for row in conn.execute(
                "select email, external_id, lead_source, created_at::date, phone from leads"
            ).fetchall()
        }
        rejected = set(
            conn.execute(
                "select b.file_name, r.column_name, r.reason_code from ingest.rejected_rows r "
                "join ingest.import_batches b using (import_batch_id)"
            ).fetchall()
        )
        projects = {
            row[0]: row[1:]
            for row in conn.execute(
                "select name, amount, currency_code, probability from projects"
            ).fetchall()
        }
    # 1. German numbers: one reading for the whole column, `;` file → decimal comma.
    assert accounts["mueller.example"][1:3] == (Decimal("20000.00"), 12)
    assert accounts["schaefer.example"][1:3] == (Decimal("1234.00"), 7)
    assert accounts["weiss.example"][1:3] == (Decimal("20000.00"), 3)
    assert accounts["gross.example"][1:3] == (Decimal("1234.56"), 1200)
    # 2. First-touch facts: LinkedIn neither moves created_at later nor replaces lead_source.
    assert leads["ada@lovelace.example"][1:3] == ("ORGANIC_SEARCH", dt.date(2024, 1, 15))
    assert leads["grace@hopper.example"][1:3] == ("REFERRALS", dt.date(2023, 1, 1))
    # 3. External ids belong to their system: generic 901 is not HubSpot's 901.
    assert leads["ada@lovelace.example"][0] == "901"
    assert leads["zed@other.example"][0] == "901"
    # 4. A placeholder phone does not replace the real one.
    assert leads["ada@lovelace.example"][3] == "+44 20 7946 0000"
    # 5. Probabilities: one reading per column (here percent), excess decimals and a currency
    #    that contradicts the row are rejected, never rounded or converted.
    assert projects["Audit"] == (Decimal("12000.00"), "EUR", Decimal("0.0100"))
    assert projects["Rollout"] == (Decimal("8000.00"), "EUR", Decimal("0.0200"))
    assert "Precise" not in projects and "Dollar" not in projects
    # 6. Encodings: a mixed file fails whole; a real Windows-1252 file loads as written.
    assert status["07-gemischt.csv"][0] == "failed"
    assert "zwei.example" not in accounts
    assert accounts["juergen.example"][0] == "Jürgen Weiß Beratung"
    # 7. NUL bytes are removed, the row loads.
    assert accounts["nul.example"][3] == "beforeafter"
    # 8. Zero-width characters do not make a second person.
    assert sum(1 for email in leads if email.startswith("zed")) == 1
    # 9. A 4,000-character name rejects its row only.
    assert "lang.example" not in accounts and accounts["kurz.example"][0] == "Kurz GmbH"
    # 10. Implausible years reject the row.
    assert "typo@years.example" not in leads and "fine@years.example" in leads
    # 11. Formula cells without saved results fail the workbook; a huge declared range does not
    #     matter; a long header is read; a non-UTF-8 file name loads.
    assert status["13-formeln.xlsx"][0] == "failed"
    assert "formel.example" not in accounts
    assert {"range.example", "bereich.example", "breit.example", "latin.example"} <= set(accounts)
    # 12. The corrupt workbook fails alone.
    assert status["18-kaputt.xlsx"][0] == "failed"
    # 13. The reject report guards formula-like values for Excel.
    report = (reports / "17-formelwerte.rejected.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in report
    # Each decision and each failure is said where the user reads it.
    assert "decimal comma" in status["01-konten.csv"][1]
    assert "row 3" in status["07-gemischt.csv"][1]
    assert "windows-1252" in status["08-windows.csv"][1]
    assert "removed 1 NUL byte(s)" in status["09-nul.csv"][1]
    assert "Open it in Excel (or LibreOffice) and save it" in status["13-formeln.xlsx"][1]
    assert "is not a readable XLSX workbook" in status["18-kaputt.xlsx"][1]
    assert status["16-Kunden-\\xfc.csv"][0] == "loaded"
    assert rejected == {
        ("06-projekte.csv", "amount", "too_many_decimals"),
        ("06-projekte.csv", "amount", "currency_mismatch"),
        ("11-lang.csv", "name", "too_long"),
        ("12-jahre.csv", "created_at", "invalid_date"),
        ("17-formelwerte.csv", "email", "invalid_email"),
    }
    # Every file has exactly one batch, and nothing else failed.
    failed = {name for name, (state, _) in status.items() if state == "failed"}
    assert failed == {"07-gemischt.csv", "13-formeln.xlsx", "18-kaputt.xlsx"}
    # Importing the folder again changes nothing.
    with psycopg.connect(fresh_url) as conn:
        before = conn.execute(
            "select count(*), max(updated_at) from (select updated_at from accounts union all "
            "select updated_at from leads union all select updated_at from projects) t"
        ).fetchone()
    main(["import", str(folder), "--report-dir", str(reports)])
    with psycopg.connect(fresh_url) as conn:
        after = conn.execute(
            "select count(*), max(updated_at) from (select updated_at from accounts union all "
            "select updated_at from leads union all select updated_at from projects) t"
        ).fetchone()
    assert after == before
