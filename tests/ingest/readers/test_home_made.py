"""Home-made sheets: title rows above the header, a totals row at the bottom."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.readers import open_table
from ingest.readers.table import find_header


@pytest.mark.parametrize(
    ("records", "header"),
    [
        # A title, a "Stand" line of two cells, a blank line, then the header of six columns.
        ([["Pipeline"], ["Stand", "me"], [], list("abcdef"), list("123456")], 3),
        # A header of three with a ragged row of seven below it stays the header.
        ([list("abc"), list("123"), list("1234567"), list("123")], 0),
        # LinkedIn's preamble of one-cell lines.
        ([["Notes:"], ["x"], list("abc"), list("123")], 2),
        ([list("ab")], 0),
    ],
)
def test_find_header(records: list[list[str]], header: int) -> None:
    assert find_header(records) == header


def test_a_totals_row_is_left_out_only_at_the_bottom(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.csv"
    path.write_text(
        "Pipeline 2025;\n"
        "Client;Value;Stage\n"
        "Total;5;won\n"  # a client named Total, in the middle: data
        "Birch;7;lost\n"
        "\n"
        "Summe:;12;\n",
        encoding="utf-8",
    )
    table = open_table(path)
    assert (table.headers, table.header_row) == (["Client", "Value", "Stage"], 2)
    chunks = list(table.chunks())
    assert [row for chunk in chunks for row in chunk.rows] == [
        ["Total", "5", "won"],
        ["Birch", "7", "lost"],
    ]
    assert table.totals_note() == 'left out row 6 ("Summe:"), the totals row at the bottom'
