"""Builds binary and re-encoded spreadsheet fixtures at test time, so none is hand-edited.

XLSX files are written with openpyxl; formula cells then get a cached value patched into the sheet
XML, as Excel itself would have saved it (openpyxl cannot write cached values). Text fixtures in
other encodings are made from readable UTF-8 sources in tests/data.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904

DATA = Path(__file__).resolve().parent.parent / "data" / "spreadsheets"

Cell = str | int | float | bool | dt.date | dt.datetime | None


def write_xlsx(
    path: Path,
    sheets: dict[str, list[list[Cell]]],
    *,
    date1904: bool = False,
    cached: dict[str, str] | None = None,
) -> Path:
    """Write a workbook: one sheet per entry; `cached` maps a cell like "C2" to its value."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    if date1904:
        workbook.epoch = CALENDAR_MAC_1904
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, dt.datetime | dt.date):
                    cell.number_format = "yyyy-mm-dd"
                elif isinstance(cell.value, str) and cell.value.isdigit():
                    cell.number_format = "@"  # a number stored as text, as Excel marks it
    workbook.save(path)
    if cached:
        _patch_cached_values(path, cached)
    return path


def _patch_cached_values(path: Path, cached: dict[str, str]) -> None:
    with zipfile.ZipFile(path) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    name = "xl/worksheets/sheet1.xml"
    xml = entries[name].decode()
    for ref, value in cached.items():

        def with_value(match: re.Match[str], value: str = value) -> str:
            return f"{match.group(1)}<f>{match.group(2)}</f><v>{value}</v>"

        xml = re.sub(rf'(<c r="{ref}"[^>]*>)<f>([^<]*)</f><v\s*/>', with_value, xml)
    entries[name] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for entry, content in entries.items():
            target.writestr(entry, content)


def write_encoded(path: Path, text: str, encoding: str) -> Path:
    """Write text in an encoding the way Excel does (CRLF; BOM for utf-16 and utf-8-sig)."""
    data = text.replace("\r\n", "\n").replace("\n", "\r\n")
    if encoding == "utf-16-le-bom":
        path.write_bytes(b"\xff\xfe" + data.encode("utf-16-le"))
    elif encoding == "utf-16-be-bom":
        path.write_bytes(b"\xfe\xff" + data.encode("utf-16-be"))
    else:
        path.write_bytes(data.encode(encoding))
    return path


def rewrite_xlsx_member(
    path: Path, member: str, content: bytes | None, *, stored: bool = False
) -> Path:
    """Replace (or, with None, leave out) one member of a workbook, as a broken file would.

    ``stored`` writes the archive uncompressed, so a test can flip a byte of a member's data.
    """
    with zipfile.ZipFile(path) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    if content is None:
        del entries[member]
    else:
        entries[member] = content
    compression = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w", compression) as target:
        for entry, data in entries.items():
            target.writestr(entry, data)
    return path


SHEET1 = "xl/worksheets/sheet1.xml"


def sheet_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as source:
        return source.read(SHEET1).decode()
