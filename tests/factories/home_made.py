"""Home-made spreadsheets, as people keep their clients before they have a CRM.

Each builder writes a file whose headers and values no built-in profile knows: German headers
with German numbers and dates in a semicolon CSV (as German Excel saves it), English headers with
"Value €" and "Closed Won" in a workbook. ``rows`` lets a test write a later export of the same
sheet with other rows.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from tests.factories.spreadsheets import Cell, _patch_cached_values, write_xlsx

GERMAN_HEADERS = ["Kunde", "Projekt", "Auftragswert", "Währung", "Phase", "Abschluss", "Notiz"]
GERMAN_ROWS = [
    [
        "Alder Foods GmbH",
        "Preisstudie",
        "12.500,00",
        "EUR",
        "Angebot",
        "15.03.2025",
        "Erstgespräch",
    ],
    ["Birch AG", "Vorstandsvorlage", "8.000", "EUR", "Gewonnen", "01.04.2025", ""],
    ["Cedar KG", "Prozessaudit", "3.250,50", "EUR", "Gewonnen", "02.05.2025", "Folgeauftrag?"],
    ["Delta SE", "Strategie", "5.000", "EUR", "Verloren", "03.06.2025", ""],
]
GERMAN_LATER_ROWS = [
    ["Alder Foods GmbH", "Preisstudie", "12.500,00", "EUR", "Gewonnen", "20.03.2025", ""],
    ["Elm GmbH", "Marktanalyse", "9.900", "EUR", "Angebot", "30.06.2025", "neu"],
    ["Birch AG", "Nachfolgeprojekt", "4.000", "EUR", "Beauftragt", "15.07.2025", ""],
    ["Cedar KG", "Lieferantenaudit", "2.000", "EUR", "Pausiert", "31.07.2025", ""],
]

# The clients list beside the pipeline (projects need their account to exist).
CLIENT_HEADERS = ["Firma", "Webseite", "Branche", "Ort"]
CLIENT_ROWS = [
    ["Alder Foods GmbH", "www.alder-foods.example", "Lebensmittel", "Köln"],
    ["Birch AG", "https://birch-ag.example/", "Finanzen", "Bonn"],
    ["Cedar KG", "cedar-kg.example", "Handel", "Essen"],
    ["Delta SE", "delta.example", "Energie", "Berlin"],
    ["Elm GmbH", "elm.example", "Pharma", "Mainz"],
    ["Fir Partners", "fir.example", "Consulting", "London"],
    ["Gum Tree Ltd", "gumtree.example", "Retail", "Leeds"],
    ["Hazel & Co", "hazel.example", "Law", "York"],
]

ENGLISH_HEADERS: list[Cell] = ["Client", "Project", "Value €", "Stage", "Expected close", "Contact"]
ENGLISH_ROWS: list[list[Cell]] = [
    ["Fir Partners", "Pricing review", 12000, "Closed Won", "2025-02-14", "ann@fir.example"],
    ["Gum Tree Ltd", "Board pack", 4500.5, "Proposal", "2025-05-01", "bo@gumtree.example"],
    ["Hazel & Co", "Due diligence", 30000, "Closed Lost", "2025-01-20", "cy@hazel.example"],
]


def german_pipeline_csv(path: Path, rows: list[list[str]] | None = None) -> Path:
    """A semicolon CSV in cp1252 with German headers, amounts like 12.500,00, dates 15.03.2025,
    and the sheet's totals row at the bottom ("Summe")."""
    lines = [";".join(GERMAN_HEADERS)]
    lines += [";".join(row) for row in (GERMAN_ROWS if rows is None else rows)]
    lines.append("Summe;;28.750,50;;;;")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


def clients_csv(path: Path) -> Path:
    """A UTF-8 clients list with German headers: company, website, industry, town."""
    lines = [",".join(CLIENT_HEADERS)] + [",".join(row) for row in CLIENT_ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def english_pipeline_xlsx(path: Path, rows: list[list[Cell]] | None = None) -> Path:
    """A workbook with "Client", "Project", "Value €", "Stage" ("Closed Won") and a contact."""
    return write_xlsx(
        path, {"Pipeline": [ENGLISH_HEADERS, *(ENGLISH_ROWS if rows is None else rows)]}
    )


MESSY_HEADERS = ["Client", "Project", "Value €", "Margin helper", "Stage", "Expected close"]


def messy_pipeline_xlsx(path: Path) -> Path:
    """The pipeline as a person lays it out: a merged title row and a "Stand" line above the
    header, a blank row, a hidden helper column (with a header of its own), and a totals row
    whose sum Excel calculated."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "2025"
    sheet.append(["Pipeline 2025"])
    sheet.merge_cells("A1:F1")
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(["Stand: 01.06.2025", "owner: me"])
    sheet.append([])
    sheet.append(MESSY_HEADERS)
    for row in ENGLISH_ROWS:
        client, project, value, stage, close, _ = row
        sheet.append([client, project, value, 0.3, stage, close])
    sheet.append(["Total", None, "=SUM(C5:C7)", None, None, None])
    sheet.column_dimensions["D"].hidden = True
    book.save(path)
    _patch_cached_values(path, {"C8": "46500.5"})
    return path


# A deal list kept as one sheet per year, and a notes sheet beside them.
DEALS_BY_YEAR: dict[str, list[list[Cell]]] = {
    "2024": [ENGLISH_ROWS[0]],
    "2025": ENGLISH_ROWS[1:],
    "2026": [["Fir Partners", "Follow-up review", 8000, "Proposal", "2026-03-31", ""]],
}
DEAL_FLAGS = [
    "--map", "Client=account_name", "--map", "Project=name", "--map", "Value €=amount",
    "--map", "Expected close=close_date",
    "--value", "stage:Closed Won=won", "--value", "stage:Closed Lost=lost",
]  # fmt: skip


def deals_by_year_xlsx(
    path: Path,
    years: dict[str, list[list[Cell]]] | None = None,
    *,
    notes: bool = True,
) -> Path:
    """A workbook with a sheet per year ("2024", "2025", "2026"), each with a title row above
    the same header row, and a "Notes" sheet with other columns after them."""
    sheets: dict[str, list[list[Cell]]] = {
        year: [[f"Deals {year}"], ENGLISH_HEADERS, *rows]
        for year, rows in (DEALS_BY_YEAR if years is None else years).items()
    }
    if notes:
        sheets["Notes"] = [["Client", "Remember"], ["Fir Partners", "call in March"]]
    return write_xlsx(path, sheets)
