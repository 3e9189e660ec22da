"""XLSX workbooks: the first sheet (or a named one), cached formula values, real date cells.

The rows are read as the sheet XML holds them, not as its ``<dimension>`` declares them: openpyxl's
read-only mode pads every row to the declared width and yields empty rows up to the declared
height, so a sheet declaring ``A1:XFD1048576`` (some exporters write that) would cost a million
rows of 16,384 cells. Here a row is as wide as its last cell with a value, blank rows between data
rows are kept (they are counted), and blank rows after the last data row cost nothing.

A formula cell without a cached value (a file written by a script, openpyxl say, that Excel never
calculated) would read as blank; the file fails instead, naming the cells, because only a
spreadsheet program can calculate them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.errors import CrmError, ExitCode
from ingest.readers.table import SheetTable, check_headers, find_header, normalise_header
from ingest.results import display_name

if TYPE_CHECKING:
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

HEAD_ROWS = 25  # rows read to find the header (after a preamble)
NAMED_CELLS = 5  # uncalculated formula cells named in the message; the rest are counted


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


def unreadable_workbook(path: Path, exc: BaseException) -> CrmError:
    """The one message for a workbook that is not a readable XLSX (bad zip, CRC, XML, parts)."""
    detail = str(exc).strip() or type(exc).__name__
    if isinstance(exc, KeyError):  # zipfile's "There is no item named … in the archive"
        detail = str(exc.args[0]) if exc.args else detail
    return CrmError(
        f"{display_name(path)}: is not a readable XLSX workbook ({detail}); open and save it "
        "again in Excel (or export it as CSV UTF-8), then import again.",
        exit_code=ExitCode.FILE_FAILED,
    )


class Uncalculated:
    """Formula cells without a cached value, at or below ``min_row``: the first few and a count."""

    def __init__(self, min_row: int) -> None:
        self.min_row = min_row
        self.cells: list[str] = []
        self.count = 0

    def add(self, reference: str) -> None:
        self.count += 1
        if len(self.cells) < NAMED_CELLS:
            self.cells.append(reference)

    def problem(self, path: Path) -> CrmError:
        named = ", ".join(self.cells) + (" …" if self.count > len(self.cells) else "")
        cells = "1 cell" if self.count == 1 else f"{self.count} cells"
        return CrmError(
            f"{display_name(path)}: has formulas without a calculated value ({named}; {cells}), "
            "as a file written by a script is; nothing was loaded. Open it in Excel (or "
            "LibreOffice) and save it, so each formula's result is stored, then import again.",
            exit_code=ExitCode.FILE_FAILED,
        )


def _parser_class() -> type:
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

    class Parser(WorkSheetParser):  # type: ignore[misc]
        """openpyxl's sheet parser, noting formula cells that have no cached value."""

        uncalculated: Uncalculated | None = None

        def parse_cell(self, element: Any) -> dict[str, Any]:
            cell: dict[str, Any] = super().parse_cell(element)
            if (
                cell["value"] is None
                and self.uncalculated is not None
                and cell["row"] >= self.uncalculated.min_row
                and element.find(FORMULA_TAG) is not None
                # an empty text result is cached as t="str" with an empty <v>
                and not (element.get("t") == "str" and element.find(_VALUE_TAG) is not None)
            ):
                self.uncalculated.add(
                    element.get("r") or f"{get_column_letter(cell['column'])}{cell['row']}"
                )
            return cell

    return Parser


_VALUE_TAG = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}v"


def sheet_rows(
    worksheet: ReadOnlyWorksheet,
    *,
    min_row: int = 1,
    max_row: int | None = None,
    uncalculated: Uncalculated | None = None,
    hidden: set[int] | None = None,
) -> Iterator[list[object]]:
    """The sheet's rows from ``min_row`` as cell values, ignoring the declared dimension.

    Each row is as wide as its last cell with a value; a missing or empty row between rows with
    values is an empty list; nothing is yielded after the last row with a value. ``hidden``, when
    given, receives the (0-based) indexes of the columns the sheet hides, known once the first
    row has been read (the column settings come before the rows in the sheet's XML).
    """
    workbook = worksheet.parent
    with worksheet._get_source() as source:
        parser = _parser_class()(
            source,
            worksheet._shared_strings,
            data_only=True,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        parser.uncalculated = uncalculated
        expected = min_row  # the next row number to yield
        for number, cells in parser.parse():
            if hidden is not None and not hidden:
                hidden.update(_hidden_columns(parser.column_dimensions))
            if number < min_row:
                continue
            if max_row is not None and number > max_row:
                break
            width = 0
            for cell in cells:
                if cell["value"] is not None and cell["column"] > width:
                    width = cell["column"]
            if not width:
                continue  # blank: yielded (as a gap) only when a row with values follows
            values: list[object] = [None] * width
            for cell in cells:
                if cell["column"] <= width:
                    values[cell["column"] - 1] = cell["value"]
            for _ in range(expected, number):
                yield []
            expected = number + 1
            yield values


def _hidden_columns(dimensions: dict[str, dict[str, str]]) -> set[int]:
    hidden: set[int] = set()
    for attributes in dimensions.values():
        if attributes.get("hidden") in ("1", "true"):
            first = int(attributes.get("min", 0))
            last = int(attributes.get("max", first))
            hidden.update(range(first - 1, min(last, 16_384)))
    return hidden


def open_xlsx(path: Path, *, sheet: str | None = None) -> SheetTable:
    """Open a workbook read-only (formulas as their cached values) and read the header row."""
    import openpyxl

    name = display_name(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except OSError:
        raise  # unreadable (permission, gone): the importer says so in its own words
    except Exception as exc:  # openpyxl raises many kinds on a broken workbook
        raise unreadable_workbook(path, exc) from exc
    try:
        names = workbook.sheetnames
        if not names:  # openpyxl leaves out (with a warning) a sheet whose part is missing
            raise unreadable_workbook(path, ValueError("no worksheet in it could be read"))
        if sheet is not None and sheet not in names:
            raise CrmError(
                f"{name}: there is no sheet named {sheet!r}; the sheets are "
                + ", ".join(repr(name) for name in names)
                + ". Pass one of them with --sheet.",
                exit_code=ExitCode.FILE_FAILED,
            )
        sheet_name = sheet or names[0]
        worksheet = workbook[sheet_name]
        # The declared dimension is only an estimate for the progress bar: rows are read as
        # they are, and the last chunk reports the end whatever it said.
        declared = int(worksheet.max_row or 0)
        hidden: set[int] = set()
        try:
            head = [
                [cell_text(value) for value in values]
                for values in sheet_rows(worksheet, max_row=HEAD_ROWS, hidden=hidden)
            ]
            # The other sheets' heads, to find those with the same columns (a sheet per year),
            # which are imported with this one; a hidden sheet is left out unread.
            others: dict[str, list[list[str]] | None] = {}
            for other in names:
                if sheet is not None or other == sheet_name:
                    continue
                if getattr(workbook[other], "sheet_state", "visible") != "visible":
                    others[other] = None
                    continue
                other_hidden: set[int] = set()
                rows = [
                    [cell_text(value) for value in values]
                    for values in sheet_rows(
                        workbook[other], max_row=HEAD_ROWS, hidden=other_hidden
                    )
                ]
                others[other] = [_visible(row, other_hidden) for row in rows]
        except (CrmError, OSError):
            raise
        except Exception as exc:
            raise unreadable_workbook(path, exc) from exc
    finally:
        workbook.close()
    if not any(any(cell.strip() for cell in row) for row in head):
        raise CrmError(
            f"{name}: sheet {sheet_name!r} is empty. "
            "Put a header row and at least one data row on it (or choose another with --sheet).",
            exit_code=ExitCode.FILE_FAILED,
        )
    # Hidden columns of a home-made sheet hold helper values, not data: they are left out (and
    # the summary names them); unhide a column to import it.
    hidden_headers: list[str] = []
    if hidden:
        full = head[find_header(head)] if head else []
        hidden_headers = [
            full[index].strip() or f"(column {index + 1})"
            for index in sorted(hidden)
            if index < len(full) and any(index < len(row) and row[index].strip() for row in head)
        ]
        head = [_visible(row, hidden) for row in head]
    header_index = find_header(head)
    header_row = header_index + 1
    headers = check_headers(path, head[header_index], header_row)
    same_columns: list[str] = []
    other_sheets: dict[str, str] = {}
    for other, other_rows in others.items():
        if other_rows is not None and not any(
            any(cell.strip() for cell in row) for row in other_rows
        ):
            continue  # an empty sheet (Excel's "Sheet2") holds nothing to leave out
        why = _why_not_same(head[header_index], other_rows)
        if why is None:
            same_columns.append(other)
        else:
            other_sheets[other] = why

    def records() -> Iterator[list[str]]:
        uncalculated = Uncalculated(header_row + 1)
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except OSError:
            raise
        except Exception as exc:
            raise unreadable_workbook(path, exc) from exc
        try:
            rows = sheet_rows(book[sheet_name], min_row=header_row + 1, uncalculated=uncalculated)
            while True:
                try:
                    values = next(rows)
                except StopIteration:
                    break
                except OSError:
                    raise
                except Exception as exc:  # a CRC error or broken XML further into the sheet
                    raise unreadable_workbook(path, exc) from exc
                cells = [cell_text(value) for value in values]
                yield _visible(cells, hidden) if hidden else cells
        finally:
            book.close()
        if uncalculated.count:
            raise uncalculated.problem(path)

    return SheetTable(
        path=path,
        kind="xlsx",
        encoding="xlsx",
        delimiter=None,
        headers=headers,
        header_row=header_row,
        preamble_rows=header_index,
        size=declared,
        sheet=sheet_name,
        _records=records,
        pad_short_rows=True,
        hidden_columns=hidden_headers,
        same_column_sheets=same_columns,
        other_sheets=other_sheets,
    )


def _why_not_same(headers: list[str], rows: list[list[str]] | None) -> str | None:
    """None when a sheet's header row (after its title rows, without its hidden columns) has
    exactly ``headers``, in the same order; else why not, in a few words."""
    if rows is None:
        return "a hidden sheet"
    row = _trimmed(rows[find_header(rows)])
    headers = _trimmed(headers)
    theirs = [normalise_header(cell) for cell in row]
    ours = [normalise_header(header) for header in headers]
    if theirs == ours:
        return None
    missing = [
        header.strip()
        for header in headers
        if header.strip() and normalise_header(header) not in theirs
    ]
    extra = [cell.strip() for cell in row if cell.strip() and normalise_header(cell) not in ours]
    if not missing and not extra:
        return "the same columns in another order"
    parts = []
    if missing:
        shown = ", ".join(f'"{header}"' for header in missing[:3])
        if len(missing) > 3:
            shown += f" … ({len(missing)} of the {len(ours)} columns)"
        parts.append("no column " + shown)
    if extra:
        shown = ", ".join(f'"{cell}"' for cell in extra[:3]) + (" …" if len(extra) > 3 else "")
        parts.append(f"column(s) {shown} added")
    return "other columns: " + "; ".join(parts)


def _trimmed(cells: list[str]) -> list[str]:
    end = len(cells)
    while end and not cells[end - 1].strip():
        end -= 1
    return cells[:end]


def _visible(cells: list[str], hidden: set[int]) -> list[str]:
    return [cell for index, cell in enumerate(cells) if index not in hidden]
