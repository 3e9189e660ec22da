"""Dependencies point one way: readers, values and validation never reach the database driver.

Each module is imported in a fresh interpreter, and the packages it must not load are looked for
in ``sys.modules``: readers and validation know nothing of psycopg; the registry, the result data
classes and the formula guard load neither pandas nor psycopg (``crm --help`` and the mail
importer use them); nothing in the library loads the command-line framework.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

APPLICATION = ("typer", "rich")
DATABASE = ("psycopg", *APPLICATION)
PLAIN = ("pandas", "psycopg", *APPLICATION)


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("ingest.readers", DATABASE),
        ("ingest.readers.text", DATABASE),
        ("ingest.readers.xlsx", DATABASE),
        ("ingest.values.text", DATABASE),
        ("ingest.values.money", DATABASE),
        ("ingest.values.numbers", DATABASE),
        ("ingest.values.choices", DATABASE),
        ("ingest.values.dates", DATABASE),
        ("ingest.validate", DATABASE),
        ("ingest.profiles", PLAIN),
        ("ingest.entities", PLAIN),
        ("ingest.results", PLAIN),
        ("ingest.formulas", PLAIN),
        ("ingest.audit", ("pandas", *APPLICATION)),
        ("ingest.load", APPLICATION),
        ("ingest.spreadsheet", APPLICATION),
    ],
)
def test_module_does_not_load(module: str, forbidden: tuple[str, ...]) -> None:
    code = (
        f"import sys, {module}\n"
        f"print(' '.join(name for name in {forbidden!r} if name in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == [], f"importing {module} loads {', '.join(loaded)}"
