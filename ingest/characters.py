"""Characters that change what a key matches without anyone seeing them.

Plain functions on ``str`` (no pandas), shared by the spreadsheet value readers and the mail
importer, so an address is cleaned the same way whichever path it comes in by.
"""

from __future__ import annotations

# Zero-width characters, bidi controls and the soft hyphen: invisible in every program the user
# looks at a file with, but part of the text, so `ada\u200b@x.com` would not match `ada@x.com`.
INVISIBLE = (
    "\u00ad"  # soft hyphen
    "\u200b\u200c\u200d"  # zero-width space, non-joiner, joiner
    "\u2060"  # word joiner
    "\ufeff"  # zero-width no-break space (a byte-order mark inside the text)
    "\u200e\u200f"  # left-to-right and right-to-left marks
    "\u202a\u202b\u202c\u202d\u202e"  # bidi embeddings and overrides
    "\u2066\u2067\u2068\u2069"  # bidi isolates
)
_DROP_INVISIBLE = dict.fromkeys(map(ord, INVISIBLE))


def strip_invisible(value: str) -> str:
    """``value`` without invisible characters (ASCII text, the common case, is returned as is)."""
    return value if value.isascii() else value.translate(_DROP_INVISIBLE)


def strip_nul(value: str) -> str:
    """``value`` without NUL characters, which PostgreSQL cannot store in text."""
    return value.replace("\x00", "") if "\x00" in value else value
