"""XLSX workbooks: the first sheet (or a named one), cached formula values, real date cells."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path

from ingest.errors import CrmError, ExitCode
from ingest.readers.table import SheetTable, check_headers, find_header


class NumberText(str):
    """The text of a numeric cell (`1234.5`, `1e-05`): its mark is always a decimal point, so the
    number readers take it as it is and never apply the column's decimal-mark rule to it."""

    __slots__ = ()


def cell_text(value: object) -> str:
    """A cell as the text a person sees: dates in ISO form, whole numbers without `.0`."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return NumberText(int(value) if value.is_integer() else repr(value))
    if isinstance(value, int):
        return NumberText(value)
    return str(value)


def open_xlsx(path: Path, *, sheet: str | None = None) -> SheetTable:
    """Open a workbook read-only (formulas as their cached values) and read the header row."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise CrmError(
            f"{path.name}: cannot open it as an XLSX workbook ({exc}). "
            "Open it in Excel and save it again as .xlsx, or export it as CSV UTF-8.",
            exit_code=ExitCode.FILE_FAILED,
        ) from exc
    names = workbook.sheetnames
    if sheet is not None and sheet not in names:
        workbook.close()
        raise CrmError(
            f"{path.name}: there is no sheet named {sheet!r}; the sheets are "
            + ", ".join(repr(name) for name in names)
            + ". Pass one of them with --sheet.",
            exit_code=ExitCode.FILE_FAILED,
        )
    sheet_name = sheet or names[0]
    worksheet = workbook[sheet_name]
    total_rows = int(worksheet.max_row or 0)
    head: list[list[str]] = []
    for values in worksheet.iter_rows(values_only=True, max_row=25):
        head.append([cell_text(value) for value in values])
    workbook.close()
    if not any(any(cell.strip() for cell in row) for row in head):
        raise CrmError(
            f"{path.name}: sheet {sheet_name!r} is empty. "
            "Put a header row and at least one data row on it (or choose another with --sheet).",
            exit_code=ExitCode.FILE_FAILED,
        )
    header_index = find_header(head)
    header_row = header_index + 1
    headers = check_headers(path, head[header_index], header_row)

    def records() -> Iterator[list[str]]:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            rows = book[sheet_name].iter_rows(values_only=True, min_row=header_row + 1)
            for values in rows:
                yield [cell_text(value) for value in values]
        finally:
            book.close()

    return SheetTable(
        path=path,
        kind="xlsx",
        encoding="xlsx",
        delimiter=None,
        headers=headers,
        header_row=header_row,
        preamble_rows=header_index,
        size=total_rows,
        sheet=sheet_name,
        _records=records,
        pad_short_rows=True,
    )
