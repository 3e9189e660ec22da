"""Recognising mail exports by content and splitting them into messages (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.mail import is_mail_export
from ingest.mail.sources import iter_messages, recognise
from tests.factories.mail_files import DATA, all_files


def test_checked_in_fixtures_match_their_builder() -> None:
    for relative, data in all_files().items():
        assert (DATA / relative).read_bytes() == data, f"regenerate {relative}"


@pytest.mark.parametrize(
    ("relative", "label"),
    [
        ("takeout/Mail/All mail Including Spam and Trash.mbox", "Gmail Takeout mbox (mboxo)"),
        ("thunderbird/Inbox", "mbox (mboxo)"),
        ("mutt/sent.mboxrd", "mbox (mboxrd)"),
        ("apple/Kunden.mbox", "Apple Mail .mbox folder (mboxo)"),
        ("outlook", "eml folder"),
        ("single/Rechnung 2025-031.eml", "eml"),
    ],
)
def test_mail_exports_are_recognised_by_content(relative: str, label: str) -> None:
    assert is_mail_export(DATA / relative)
    export = recognise(DATA / relative)
    assert export is not None and export.label == label


def test_other_files_are_not_mail(tmp_path: Path) -> None:
    csv = tmp_path / "contacts.csv"
    csv.write_text("First Name,Last Name,Email\nJonas,Weber,jonas@x.de\n")
    empty = tmp_path / "empty.mbox"
    empty.write_bytes(b"")
    prose = tmp_path / "notes.txt"
    prose.write_text("From the desk of Maria: call Jonas.\nSubject to change.\n")
    renamed = tmp_path / "looks-like.eml"
    renamed.write_text("just text\n")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "a.eml").write_bytes((DATA / "single" / "Rechnung 2025-031.eml").read_bytes())
    (mixed / "leads.csv").write_text("Email\n")
    for path in (csv, empty, prose, renamed, mixed, tmp_path / "missing", DATA / "apple"):
        assert not is_mail_export(path), path
    # A folder mixing .eml with other files is not one export, but its .eml still is.
    assert is_mail_export(mixed / "a.eml")


def _split(data: bytes, tmp_path: Path) -> list[tuple[int, int, str | None, bytes]]:
    path = tmp_path / "box.mbox"
    path.write_bytes(data)
    export = recognise(path)
    assert export is not None
    return [(m.number, m.offset, m.from_line, m.data) for m in iter_messages(export)]


def test_only_real_from_lines_split_messages(tmp_path: Path) -> None:
    first = b"From a@b.c Mon Mar  3 10:00:00 2025\nFrom: a@b.c\nSubject: one\n\n"
    body = (
        b"From here on we agree.\n\n"  # not a From_ line: no date
        b"From a@b.c Mon Mar  3 10:00:00 2025\n"  # looks like one, but no header follows
        b"quoted text\n\n"
    )
    second = b"From x@y.z Tue Mar  4 11:00:00 2025\nFrom: x@y.z\n\nsecond\n"
    messages = _split(first + body + second, tmp_path)
    assert [(n, o, f) for n, o, f, _ in messages] == [
        (1, 0, "From a@b.c Mon Mar  3 10:00:00 2025"),
        (2, len(first + body), "From x@y.z Tue Mar  4 11:00:00 2025"),
    ]
    assert messages[0][3] == first.split(b"\n", 1)[1] + body[:-1]
    assert messages[1][3] == b"From: x@y.z\n\nsecond\n"


def test_from_escapes_are_undone_only_in_mboxrd(tmp_path: Path) -> None:
    mboxrd = b"From a@b.c Mon Mar  3 10:00:00 2025\nFrom: a@b.c\nTo: d@e.f\n\n>From x\n>>From y\n"
    assert _split(mboxrd, tmp_path)[0][3] == b"From: a@b.c\nTo: d@e.f\n\nFrom x\n>From y\n"
    # Without a `>>From` line nothing says the file is mboxrd: `>From` stays as written.
    mboxo = b"From a@b.c Mon Mar  3 10:00:00 2025\nFrom: a@b.c\nTo: d@e.f\n\n>From x\n"
    assert _split(mboxo, tmp_path)[0][3] == b"From: a@b.c\nTo: d@e.f\n\n>From x\n"


def test_oversized_messages_are_measured_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "box.mbox"
    big = b"x" * 5000 + b"\n"
    path.write_bytes(
        b"From a@b.c Mon Mar  3 10:00:00 2025\nFrom: a@b.c\nTo: d@e.f\n\n"
        + big * 3
        + b"\nFrom a@b.c Mon Mar  3 11:00:00 2025\nFrom: a@b.c\nTo: d@e.f\n\nsmall\n"
    )
    export = recognise(path)
    assert export is not None
    found = [
        (m.number, m.is_oversized, m.size_bytes, len(m.data))
        for m in iter_messages(export, max_bytes=10_000)
    ]
    assert found == [(1, True, 23 + len(big) * 3 + 1, 0), (2, False, 29, 29)]
