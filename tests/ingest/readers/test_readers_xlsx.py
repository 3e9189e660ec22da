"""XLSX workbooks: date cells, the 1904 date system, numbers stored as text, cached formulas."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ingest.errors import CrmError
from ingest.readers import open_table
from tests.factories.spreadsheets import Cell, write_xlsx


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
