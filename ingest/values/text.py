"""Text, external ids, email addresses and domains."""

from __future__ import annotations

import re

import pandas as pd

from ingest.characters import strip_invisible
from ingest.values.column import ColumnResult, blank_mask, no_rejects, series

# Mirrors of the CHECK constraints in schema.sql, so a bad value rejects one row instead of
# failing the whole file inside PostgreSQL.
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s]+"
DOMAIN_PATTERN = (
    r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+"
)


# Text, keys and emails are read with plain list comprehensions: on Python strings they are
# several times faster than pandas' `.str` methods, which make one pass per method.
def read_text(values: pd.Series) -> ColumnResult:
    texts = values.tolist()
    if all(map(str.strip, texts)):  # no blank cell (the common case): keep the column as it is
        return ColumnResult(series(texts, values), no_rejects(values))  # type: ignore[arg-type]
    kept = [value if value and not value.isspace() else None for value in texts]
    return ColumnResult(series(kept, values), no_rejects(values))


# Keys (external ids, emails, domains) lose invisible characters (zero-width, bidi controls, soft
# hyphens) before they are matched: `ada\u200b@x.com` is the stored `ada@x.com`, not a second
# person. Names and free text keep what was written.
def read_key(values: pd.Series) -> ColumnResult:
    kept: list[object] = [strip_invisible(value).strip() or None for value in values.tolist()]
    return ColumnResult(series(kept, values), no_rejects(values))


_EMAIL = re.compile(EMAIL_PATTERN)


def read_email(values: pd.Series) -> ColumnResult:
    kept: list[object] = []
    bad: list[bool] = []
    for value in values.tolist():
        address = strip_invisible(value).strip().removeprefix("mailto:")
        if not address:
            kept.append(None)
            bad.append(False)
        elif _EMAIL.fullmatch(address):
            kept.append(address)
            bad.append(False)
        else:
            kept.append(None)
            bad.append(True)
    return ColumnResult(
        series(kept, values),
        pd.Series(bad, index=values.index),
        "invalid_email",
        lambda value: (
            f'"{value}" is not an email address; '
            "write it as name@example.com or leave the cell empty."
        ),
    )


_URL_PREFIX = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:[^@/]*@)?(?:www\.)?", re.IGNORECASE)


def domain_of(values: pd.Series) -> pd.Series:
    """The host of a website or domain cell: no scheme, `www.`, port or path; lower-cased."""
    host = _visible(values).str.strip().str.replace(_URL_PREFIX, "", regex=True)
    return host.str.split(r"[/:?#]", n=1, regex=True).str[0].str.lower().str.rstrip(".")


def _visible(values: pd.Series) -> pd.Series:
    texts = values.tolist()
    if all(map(str.isascii, texts)):
        return values
    return series([strip_invisible(text) for text in texts], values)  # type: ignore[misc]


def read_domain(values: pd.Series) -> ColumnResult:
    blank = blank_mask(_visible(values))
    host = domain_of(values)
    bad = ~blank & ~host.str.fullmatch(DOMAIN_PATTERN)
    return ColumnResult(
        host.where(~blank, None),
        bad,
        "invalid_domain",
        lambda value: (
            f'"{value}" is not a domain or website; '
            "write it as example.com or https://www.example.com."
        ),
    )
