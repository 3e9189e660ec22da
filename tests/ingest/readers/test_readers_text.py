"""CSV and text exports: every reading pitfall from FORMATS.md, one fixture each."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import CrmError, ExitCode
from ingest.readers import SheetTable, normalise_header, open_table
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
        "broken.csv: the file holds bytes that are neither UTF-8 nor Windows-1252: row 2 "
        '(byte 0x81); nothing was loaded. Save the file again as "CSV UTF-8" and import that, '
        "or give --encoding NAME."
    )
    assert caught.value.exit_code == ExitCode.FILE_FAILED


def test_a_windows_1252_file_says_so_in_its_note(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(b"first_name,city\r\nJ\xfcrgen,K\xf6ln\r\n")
    table = open_table(path)
    assert table.encoding == "cp1252"
    assert table.encoding_note == (
        "encoding windows-1252: the file is not UTF-8 and has no UTF-8 characters"
    )
    assert rows_of(path) == [(2, ["Jürgen", "Köln"])]


def test_utf8_with_a_stray_byte_fails_naming_the_rows_not_read_as_cp1252(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    lines = [b"first_name,city", "Jürgen,Köln".encode(), b"M\xfcller,Bonn"]
    lines += [f"Name {n},Berlin".encode() for n in range(3, 8)]
    lines += [b"Stra\xdfe,Essen", "Zoë,Zürich".encode()]
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    with pytest.raises(CrmError) as caught:
        open_table(path)
    assert str(caught.value) == (
        "mixed.csv: the file holds UTF-8 text with bytes that are not UTF-8 (reading it all as "
        "Windows-1252 would garble its correct characters): row 3 (byte 0xFC), row 9 (byte "
        '0xDF); nothing was loaded. Correct those rows, or save the file again as "CSV UTF-8" '
        "and import that; --encoding NAME reads the whole file in the encoding you name."
    )
    assert caught.value.exit_code == ExitCode.FILE_FAILED


def test_a_multibyte_character_split_across_blocks_is_still_utf8(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ingest.readers.text as text

    monkeypatch.setattr(text, "_BLOCK", 16)
    path = tmp_path / "split.csv"
    data = "first_name,city\r\nJürgen,Köln\r\nZoë,Zürich\r\n".encode()
    path.write_bytes(data)
    for cut in range(1, len(data)):  # some block boundary falls inside each ü, ö, ë
        monkeypatch.setattr(text, "_BLOCK", cut)
        assert text.decide_encoding(path) == text.EncodingDecision("utf-8")
    path.write_bytes(data + b"M\xfcller,Bonn\r\n")
    for cut in (1, 2, 3, 7, 16):
        monkeypatch.setattr(text, "_BLOCK", cut)
        assert text.decide_encoding(path).mixed


def test_encoding_forced_reads_the_file_in_it(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("first_name,city\r\nJürgen,Köln\r\n".encode("latin-1"))
    table = open_table(path, encoding="latin-1")
    assert (table.encoding, table.encoding_note) == ("latin-1", None)
    assert rows_of_table(table) == [(2, ["Jürgen", "Köln"])]
    utf8 = tmp_path / "utf8.csv"
    utf8.write_bytes("first_name,city\r\nJürgen,Köln\r\n".encode())
    assert rows_of_table(open_table(utf8, encoding="cp1252")) == [(2, ["JÃ¼rgen", "KÃ¶ln"])]


def test_bytes_the_forced_encoding_cannot_decode_fail_naming_the_row(tmp_path: Path) -> None:
    path = tmp_path / "forced.csv"
    path.write_bytes(b"first_name,city\r\nAda,Bonn\r\nJ\xfcrgen,K\xf6ln\r\n")
    with pytest.raises(CrmError) as caught:
        open_table(path, encoding="utf-8")
    assert str(caught.value) == (
        "forced.csv: the file holds bytes that are not utf-8: row 3 (byte 0xFC); nothing was "
        "loaded. Check that the file really is utf-8, or import it without --encoding to let "
        "the importer decide."
    )
    with pytest.raises(CrmError, match="--encoding klingon: no such encoding"):
        open_table(path, encoding="klingon")


def test_a_header_longer_than_the_sample_is_read_whole(tmp_path: Path) -> None:
    headers = ["email", *(f"custom field number {n:05d} " + "x" * 40 for n in range(1200))]
    assert len(",".join(headers)) > 70_000
    path = tmp_path / "wide.csv"
    row = ["ada@example.com", *(str(n) for n in range(1200))]
    path.write_text(",".join(headers) + "\r\n" + ",".join(row) + "\r\n", encoding="utf-8")
    table = open_table(path)
    assert table.headers == headers
    assert rows_of_table(table) == [(2, row)]


def test_a_cell_over_the_csv_module_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    path.write_text(f'name,description\r\nAcme,"{"y" * 200_000}"\r\n', encoding="utf-8")
    assert rows_of(path) == [(2, ["Acme", "y" * 200_000])]


def test_nul_characters_are_removed_and_counted_by_row(tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(b"name,city\r\nAcme,Bonn\r\nAc\x00me,Bo\x00nn\r\nBeta,K\x00\r\n\x00,\r\n")
    table = open_table(path)
    assert rows_of_table(table) == [
        (2, ["Acme", "Bonn"]),
        (3, ["Acme", "Bonn"]),
        (4, ["Beta", "K"]),
    ]
    assert table.nul_note() == "removed 4 NUL byte(s) (rows 3, 4, 5)"


def rows_of_table(table: SheetTable) -> list[tuple[int, list[str]]]:
    return [
        (number, row)
        for chunk in table.chunks(rows_per_chunk=2)
        for number, row in zip(chunk.row_numbers, chunk.rows, strict=True)
    ]


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


def test_a_byte_order_mark_file_with_bytes_it_cannot_decode_fails_naming_the_row(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bom.csv"
    rows = b"".join(f"Name {n},Berlin\r\n".encode() for n in range(3, 3000))
    path.write_bytes(b"\xef\xbb\xbffirst_name,city\r\nAda,Bonn\r\n" + rows + b"J\xfcrgen,K\r\n")
    table = open_table(path)
    assert table.encoding == "utf-8-sig"
    with pytest.raises(CrmError) as caught:
        rows_of_table(table)
    assert str(caught.value) == (
        "bom.csv: the file holds bytes that are not utf-8-sig, the encoding its byte-order mark "
        "declares: row 3000 (byte 0xFC); nothing was loaded. Correct those rows, or save the "
        'file again as "CSV UTF-8" and import that; --encoding NAME reads the whole file in the '
        "encoding you name."
    )
    early = tmp_path / "early.csv"
    early.write_bytes(b"\xef\xbb\xbfsep=,\r\nfirst_name,city\r\nJ\xfcrgen,K\r\n")
    with pytest.raises(CrmError, match=r"row 2 \(byte 0xFC\)"):
        open_table(early)
