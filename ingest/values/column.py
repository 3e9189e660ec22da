"""What every value reader returns, and the per-file settings some of them need."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd


@dataclass
class ValidationContext:
    """Per-file settings and decisions that must hold for every chunk of the file."""

    file_name: str
    date_order: str | None = None  # DMY, MDY or YMD: from --date-format or the profile
    default_date_order: str | None = None  # the import.date_format setting: after the profile
    decimal_comma: bool = False  # a `;`-delimited file: `1,234` means 1.234
    decimal_separator: str | None = None  # "." or ",": told by a flag or the setting
    inferred_orders: dict[str, str] = field(default_factory=dict)
    # Per number column (by field name): its decimal mark and why (evidence or the delimiter),
    # and a probability column's scale for bare numbers ("percent" or "fraction") and why.
    decimal_marks: dict[str, tuple[str, str]] = field(default_factory=dict)
    percent_scales: dict[str, tuple[str, str]] = field(default_factory=dict)
    years: tuple[int, int] = (1900, 2100)  # dates outside these years are typos, not history
    # What the reader decided for the whole file on evidence, keyed by what it is about (e.g.
    # "date order of Close Date"): the summary and the batch row say it, so a guess is never
    # silent. A decision, once made, holds for every later chunk of the file.
    notes: dict[str, str] = field(default_factory=dict)

    def where(self, row_number: int, header: str) -> str:
        return f'{self.file_name}, row {row_number}, column "{header}"'


@dataclass
class ColumnResult:
    """What a reader made of one column: its values, the rows it could not read, and why."""

    values: pd.Series
    bad: pd.Series  # boolean mask of rows to reject
    reason: str = ""
    explain: Callable[[str], str] = lambda value: ""
    extra: dict[str, pd.Series] = field(default_factory=dict)
    # Rows whose rejection has its own reason code and message (index -> (code, message)),
    # where one `reason`/`explain` cannot say it; the other bad rows use `reason` and `explain`.
    messages: dict[object, tuple[str, str]] = field(default_factory=dict)


def blank_mask(values: pd.Series) -> pd.Series:
    """The cells that are empty or only spaces."""
    return values.str.strip().eq("")


def series(items: list[object], like: pd.Series) -> pd.Series:
    """``items`` as an object column with the index of ``like``."""
    return pd.Series(items, index=like.index, dtype=object)


def no_rejects(values: pd.Series) -> pd.Series:
    """A mask that rejects no row of ``values``."""
    return pd.Series(False, index=values.index)
