"""CSV and text exports: every reading pitfall from FORMATS.md, one fixture each."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import CrmError, ExitCode
from ingest.readers import normalise_header, open_table
from tests.factories.spreadsheets import DATA, write_encoded


def rows_of(path: Path) -> list[tuple[int, list[str]]]:
    table = open_table(path)
    return [
        (number, row)
        for chunk in table.chunks(rows_per_chunk=2)
        for number, row in zip(chunk.row_numbers, chunk.rows, strict=True)
    ]


def test_utf8_with_bom_is_read_without_the_mark() -> None:
    table = open_table(DATA / "google_contacts.csv")
    assert table.encoding == "utf-8-sig"
    assert table.headers[0] == "First Name"


def test_utf8_without_bom() -> None:
    table = open_table(DATA / "generic_leads.csv")
    assert (table.encoding, table.delimiter) == ("utf-8", ",")
    assert rows_of(DATA / "generic_leads.csv")[1][1][:3] == ["L-002", "Mateo", "García"]


@pytest.mark.parametrize("encoding", ["utf-16-le-bom", "utf-16-be-bom"])
def test_excel_unicode_text_is_utf16_and_tab_separated(tmp_path: Path, encoding: str) -> None:
    source = (DATA / "unicode_text_source.txt").read_text(encoding="utf-8")
    path = write_encoded(tmp_path / "export.txt", source, encoding)
    table = open_table(path)
    assert (table.encoding, table.delimiter) == (encoding, "\t")
    assert table.headers == ["first_name", "last_name", "email", "company", "city"]
    assert rows_of(path)[1] == (
        3,
        ["Sørina", "Ødegård", "sorina@odegard.example", "Ødegård AS", "Tromsø"],
    )


def test_windows_1252_is_never_read_as_latin1(tmp_path: Path) -> None:
    source = (DATA / "cp1252_source.txt").read_text(encoding="utf-8")
    path = write_encoded(tmp_path / "excel.csv", source, "cp1252")
    assert b"\x80" in path.read_bytes()  # the euro sign in Windows-1252
    assert open_table(path).encoding == "cp1252"
    assert rows_of(path)[0][1][4] == "€1.500"


def test_bytes_neither_utf8_nor_cp1252_fail_the_file_with_a_fix(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(b"first_name,email\r\nAd\x81a,ada@example.com\r\n")
    with pytest.raises(CrmError) as caught:
        open_table(path)
    assert str(caught.value) == (
        "broken.csv: byte 0x81 at offset 20 is neither UTF-8 nor Windows-1252. "
        'Save the file again as "CSV UTF-8" and import that.'
    )
    assert caught.value.exit_code == ExitCode.FILE_FAILED


def test_semicolon_delimiter_is_sniffed() -> None:
    table = open_table(DATA / "semicolon_decimal_comma.csv")
    assert table.delimiter == ";"
    assert rows_of(DATA / "semicolon_decimal_comma.csv")[1][1][4] == "1.234.567,89"


def test_excel_sep_line_sets_the_delimiter_and_is_not_a_row() -> None:
    table = open_table(DATA / "excel_sep_line.csv")
    assert (table.delimiter, table.header_row) == (";", 1)
    assert table.headers[0] == "first_name"
    assert rows_of(DATA / "excel_sep_line.csv")[0] == (
        2,
        [
            "Jürgen",
            "Maier",
            "juergen.maier@maier-metall.de",
            "Maier Metall GmbH",
            "1.234,56 €",
            "12.03.2025",
        ],
    )


def test_quoted_cells_keep_their_line_breaks_and_row_numbers_count_records() -> None:
    rows = rows_of(DATA / "quoted_newlines.csv")
    assert rows[0] == (
        2,
        [
            "Nora",
            "Haddad",
            "nora.haddad@cedar-labs.example",
            'Line one of the note,\r\nline two with "quotes", and a comma.',
        ],
    )
    assert rows[1][0] == 3


def test_linkedin_notes_preamble_is_skipped() -> None:
    table = open_table(DATA / "linkedin_connections.csv")
    assert (table.preamble_rows, table.header_row) == (3, 4)
    assert table.headers[-1] == "Connected On"
    first = rows_of(DATA / "linkedin_connections.csv")[1]
    assert first == (
        6,
        [
            "Jonas",
            "Weiß, Dr.",
            "https://www.linkedin.com/in/jonasweiss",
            "jonas.weiss@kessler-bau.de",
            "Kessler Bau GmbH",
            'Leiter "Digital"',
            "15 Nov 2024",
        ],
    )


def test_values_are_kept_exactly_as_written() -> None:
    rows = rows_of(DATA / "values_as_written.csv")
    assert rows[0][1] == [
        "Leo",
        "NA",
        "leo.na@example.com",
        "+49 170 5550000",
        "NA",
        "007 Security",
        "-12",
    ]
    assert rows[1][1][1] == "null" and rows[1][1][5] == "=SUM(A1)"


def test_duplicate_headers_after_normalisation_fail_the_file() -> None:
    with pytest.raises(CrmError) as caught:
        open_table(DATA / "duplicate_headers.csv")
    assert str(caught.value) == (
        'duplicate_headers.csv: row 1 has duplicate columns: column 1 "First Name" and column 3 '
        '"first_name" both read as "firstname". Rename or delete one of them and import again.'
    )


def test_empty_file_fails_with_a_message() -> None:
    with pytest.raises(CrmError) as caught:
        open_table(DATA / "empty.csv")
    assert str(caught.value) == (
        "empty.csv: the file is empty. Export it again with a header row and at least one data row."
    )


def test_blank_rows_are_dropped_and_counted_ragged_rows_set_apart() -> None:
    table = open_table(DATA / "ragged_and_blank.csv")
    chunks = list(table.chunks())
    assert sum(chunk.blank for chunk in chunks) == 2
    assert [row for chunk in chunks for row in chunk.row_numbers] == [2, 6]
    ragged = [(row.row_number, row.cells) for chunk in chunks for row in chunk.ragged]
    assert ragged == [(4, ["Bob", "Builder", "bob@example.com", "extra"]), (5, ["Cy", "Young"])]


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("StageName", "stagename"),
        ("stage_name", "stagename"),
        ("Stage Name", "stagename"),
        ("E-mail 1 - Value", "email1value"),
        ("\ufeffFirst Name", "firstname"),
    ],
)
def test_header_matching_ignores_case_spaces_underscores_punctuation(header: str, key: str) -> None:
    assert normalise_header(header) == key


def test_chunks_bound_memory_and_report_progress(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_text("email\n" + "".join(f"p{i}@example.com\n" for i in range(25)))
    chunks = list(open_table(path).chunks(rows_per_chunk=10))
    assert [len(chunk.rows) for chunk in chunks] == [10, 10, 5]
    assert chunks[-1].position == path.stat().st_size
