"""Probabilities (percent or fraction) and whole numbers."""

from __future__ import annotations

import pandas as pd

from ingest.values.column import ColumnResult


def read_percent(values: pd.Series) -> ColumnResult:
    stripped = values.str.strip()
    blank = stripped.eq("")
    has_percent = stripped.str.endswith("%")
    number = pd.to_numeric(
        stripped.str.rstrip("%").str.strip().str.replace(",", ".", regex=False), errors="coerce"
    )
    fraction = number.where(~(has_percent | number.gt(1)), number / 100)
    bad = ~blank & (fraction.isna() | fraction.lt(0) | fraction.gt(1))
    text = fraction.round(4).map(lambda value: None if pd.isna(value) else f"{value:.4f}")
    return ColumnResult(
        text.where(~blank & ~bad, None),
        bad,
        "invalid_percent",
        lambda value: (
            f'"{value}" is not a probability; write it as 0 to 100 (e.g. 75 or 75%) '
            "or as a fraction 0 to 1."
        ),
    )


def read_integer(values: pd.Series) -> ColumnResult:
    stripped = values.str.strip().str.replace(r"[\s,.'\u00a0](?=\d{3}\b)", "", regex=True)
    blank = stripped.eq("")
    good = stripped.str.fullmatch(r"\+?\d{1,9}")
    bad = ~blank & ~good
    return ColumnResult(
        stripped.str.lstrip("+").where(~blank & good, None),
        bad,
        "invalid_integer",
        lambda value: f'"{value}" is not a whole number of zero or more; write it like 1200.',
    )
