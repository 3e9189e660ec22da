"""XLSX workbooks: date cells, the 1904 date system, numbers stored as text, cached formulas."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.errors import CrmError
from ingest.readers import open_table
from tests.factories.spreadsheets import (
    SHEET1,
    Cell,
    rewrite_xlsx_member,
    sheet_xml,
    write_xlsx,
)


def data_rows(path: Path, sheet: str | None = None) -> list[list[str]]:
    return [row for chunk in open_table(path, sheet=sheet).chunks() for row in chunk.rows]


HEADER: list[Cell] = ["first_name", "email", "phone", "estimated_amount", "created_at"]


@pytest.mark.parametrize("date1904", [False, True])
def test_date_cells_are_iso_in_both_date_systems(tmp_path: Path, date1904: bool) -> None:
    path = write_xlsx(
        tmp_path / "leads.xlsx",
        {"Leads": [HEADER, ["Ada", "ada@example.com", "0151 555", 1234.5, dt.date(2025, 3, 4)]]},
        date1904=date1904,
    )
    assert data_rows(path) == [["Ada", "ada@example.com", "0151 555", "1234.5", "2025-03-04"]]


def test_numbers_stored_as_text_keep_leading_zeros(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "zeros.xlsx",
        {"Sheet1": [["first_name", "postal_code", "employee_count"], ["Ada", "01067", 12.0]]},
    )
    assert data_rows(path) == [["Ada", "01067", "12"]]


def test_formulas_are_read_as_their_cached_values(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "formulas.xlsx",
        {"Sheet1": [["first_name", "estimated_amount"], ["Ada", "=1000*1.19"]]},
        cached={"B2": "1190"},
    )
    assert data_rows(path) == [["Ada", "1190"]]


def test_first_sheet_by_default_and_another_by_name(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "two.xlsx",
        {"Leads": [["email"], ["a@example.com"]], "Old": [["email"], ["b@example.com"]]},
    )
    assert data_rows(path) == [["a@example.com"]]
    assert data_rows(path, sheet="Old") == [["b@example.com"]]
    with pytest.raises(CrmError) as caught:
        open_table(path, sheet="Nope")
    assert str(caught.value) == (
        "two.xlsx: there is no sheet named 'Nope'; the sheets are 'Leads', 'Old'. "
        "Pass one of them with --sheet."
    )


def test_short_rows_are_padded_blank_rows_counted(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "gaps.xlsx",
        {
            "S": [
                ["first_name", "email", "city"],
                ["Ada", "ada@example.com"],
                [None, None, None],
                ["Bob", "bob@example.com", "Bonn"],
            ]
        },
    )
    chunks = list(open_table(path).chunks())
    assert [row for chunk in chunks for row in chunk.rows] == [
        ["Ada", "ada@example.com", ""],
        ["Bob", "bob@example.com", "Bonn"],
    ]
    assert sum(chunk.blank for chunk in chunks) == 1
    assert [n for chunk in chunks for n in chunk.row_numbers] == [2, 4]


def test_empty_sheet_fails_the_file(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "blank.xlsx", {"Sheet1": []})
    with pytest.raises(CrmError) as caught:
        open_table(path)
    assert str(caught.value) == (
        "blank.xlsx: sheet 'Sheet1' is empty. Put a header row and at least one data row on it "
        "(or choose another with --sheet)."
    )


def test_a_huge_declared_dimension_costs_nothing(tmp_path: Path) -> None:
    """Some exporters declare the whole grid; the rows are read as they are."""
    path = write_xlsx(
        tmp_path / "grid.xlsx",
        {"S": [["first_name", "email"], ["Ada", "a@x.org"], [None, None], ["Bob", "b@x.org"]]},
    )
    xml = sheet_xml(path)
    assert '<dimension ref="A1:B4" />' in xml
    # The whole grid declared, and a formatted empty cell in its last corner (as Excel keeps
    # one when a whole sheet was formatted).
    xml = xml.replace('<dimension ref="A1:B4" />', '<dimension ref="A1:XFD1048576" />')
    xml = xml.replace(
        "</sheetData>", '<row r="1048576"><c r="XFD1048576" s="0" /></row></sheetData>'
    )
    rewrite_xlsx_member(path, SHEET1, xml.encode())
    table = open_table(path)
    assert table.headers == ["first_name", "email"]
    chunks = list(table.chunks())
    assert [row for chunk in chunks for row in chunk.rows] == [
        ["Ada", "a@x.org"],
        ["Bob", "b@x.org"],
    ]
    assert [n for chunk in chunks for n in chunk.row_numbers] == [2, 4]
    assert sum(chunk.blank for chunk in chunks) == 1  # the one between, not a million after


def test_formulas_without_a_cached_value_fail_the_file_naming_the_cells(tmp_path: Path) -> None:
    rows: list[list[Cell]] = [["first_name", "estimated_amount", "discount"]]
    rows += [[f"P{n}", f"={n}*100", f"=B{n + 2}/10"] for n in range(6)]  # written by a script
    path = write_xlsx(tmp_path / "script.xlsx", {"Sheet1": rows})
    table = open_table(path)
    with pytest.raises(CrmError) as caught:
        list(table.chunks())
    assert str(caught.value) == (
        "script.xlsx: has formulas without a calculated value (B2, C2, B3, C3, B4 …; 12 cells), "
        "as a file written by a script is; nothing was loaded. Open it in Excel (or LibreOffice) "
        "and save it, so each formula's result is stored, then import again."
    )


def test_one_uncalculated_formula_is_named_alone(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "one.xlsx",
        {"Sheet1": [["first_name", "amount"], ["Ada", "=2*3"], ["Bob", "=1+1"]]},
        cached={"B2": "6"},
    )
    with pytest.raises(CrmError) as caught:
        list(open_table(path).chunks())
    assert "(B3; 1 cell)" in str(caught.value)


def test_a_formula_whose_cached_result_is_empty_text_reads_blank(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "empty.xlsx", {"Sheet1": [["first_name", "note"], ["Ada", '=""']]})
    xml = sheet_xml(path).replace(
        '<c r="B2"><f>""</f><v /></c>', '<c r="B2" t="str"><f>""</f><v></v></c>'
    )
    assert 't="str"' in xml
    rewrite_xlsx_member(path, SHEET1, xml.encode())
    assert data_rows(path) == [["Ada", ""]]


def _good(path: Path) -> Path:
    return write_xlsx(path, {"Sheet1": [["first_name", "email"], ["Ada", "a@x.org"]]})


def _flip_a_byte_of_the_sheet(path: Path) -> Path:
    _good(path)
    rewrite_xlsx_member(path, SHEET1, sheet_xml(path).encode(), stored=True)
    data = bytearray(path.read_bytes())
    at = data.index(b"a@x.org")
    data[at] = ord("b")  # the member's bytes no longer match its CRC
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("breakage", "detail"),
    [
        (lambda p: p.write_bytes(b"first_name,email\nAda,a@x.org\n"), "File is not a zip file"),
        (
            lambda p: rewrite_xlsx_member(_good(p), SHEET1, None),
            "no worksheet in it could be read",
        ),
        (_flip_a_byte_of_the_sheet, "Bad CRC-32 for file 'xl/worksheets/sheet1.xml'"),
        (
            lambda p: rewrite_xlsx_member(_good(p), SHEET1, b"<worksheet><sheetData><row>"),
            "no element found: line 1, column 27",
        ),
    ],
    ids=["not-a-zip", "missing-sheet-part", "crc-error", "invalid-xml"],
)
def test_a_corrupt_workbook_fails_with_one_line(
    tmp_path: Path, breakage: Callable[[Path], object], detail: str
) -> None:
    path = tmp_path / "broken.xlsx"
    breakage(path)
    with pytest.raises(CrmError) as caught:
        list(open_table(path).chunks())
    assert str(caught.value) == (
        f"broken.xlsx: is not a readable XLSX workbook ({detail}); open and save it again in "
        "Excel (or export it as CSV UTF-8), then import again."
    )


def test_sheets_with_exactly_the_header_row_are_found_and_the_others_named(tmp_path: Path) -> None:
    """The sheets a workbook import reads with the first: the same header row (after title rows,
    without hidden columns); every other sheet but an empty one is named with the reason."""
    from openpyxl import load_workbook

    header: list[Cell] = ["Client", "Stage", "Value"]
    path = write_xlsx(
        tmp_path / "deals.xlsx",
        {
            "2024": [header, ["Alder", "won", 1]],
            "2025": [["Deals 2025"], header, ["Birch", "lost", 2]],
            "2026": [["Client", "Helper", "Stage", "Value"], ["Cedar", "x", "won", 3]],
            "Reordered": [["Stage", "Client", "Value"], ["won", "Dove", 4]],
            "Wider": [[*header, "Comment"], ["Elm", "won", 5, "hi"]],
            "Archive": [header, ["Fir", "won", 6]],
            "Sheet2": [],
        },
    )
    book = load_workbook(path)
    book["2026"].column_dimensions["B"].hidden = True
    book["Archive"].sheet_state = "hidden"
    book.save(path)
    table = open_table(path)
    assert table.sheet == "2024"
    assert table.same_column_sheets == ["2025", "2026"]
    assert table.other_sheets == {
        "Reordered": "the same columns in another order",
        "Wider": 'other columns: column(s) "Comment" added',
        "Archive": "a hidden sheet",
    }
    assert data_rows(path, sheet="2026") == [["Cedar", "won", "3"]]
    # A sheet named with --sheet is read alone: the others are not looked at.
    assert open_table(path, sheet="2025").same_column_sheets == []
