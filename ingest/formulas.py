"""Spreadsheet formula injection: the guard written into exported cells, and its undoing on import.

``crm export salesforce`` writes every text cell through :func:`guard_formula`, so a value like
``=HYPERLINK(...)`` opens as text, not as a formula; ``crm import --profile salesforce`` (a profile
with ``restore_formula_guard``) reads such files back through :func:`restore_formula`. Both live
here, one definition each, so the two directions cannot drift apart.
"""

from __future__ import annotations

import re

# A cell whose first character (after leading spaces) is one of these is a formula, or can become
# one, when the file is opened in a spreadsheet (OWASP's list: = + - @, tab, CR, LF).
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n")
# ... except a signed number or phone number: digits with spaces, brackets, dots, commas, dashes
# and slashes. Without letters, quotes, `!` or `|` it cannot call a function or reach DDE, and
# guarding it would put an apostrophe into every `+49 30 ...` phone and `-12` amount.
_SIGNED_NUMBER_OR_PHONE = re.compile(r"[+-][\d ().,/-]*\d[\d ().,/-]*")
FORMULA_GUARD = "'"


def needs_formula_guard(value: str) -> bool:
    """True when ``value`` must get a leading apostrophe to be safe in a spreadsheet.

    A value that already starts with an apostrophe is guarded again when the rest needs it, so that
    :func:`restore_formula` can tell a guard we added from an apostrophe that was in the data.
    """
    rest = value.lstrip(" ")
    if rest and rest[0] in FORMULA_TRIGGERS:
        return _SIGNED_NUMBER_OR_PHONE.fullmatch(rest) is None
    return value.startswith(FORMULA_GUARD) and needs_formula_guard(value[1:])


def guard_formula(value: str) -> str:
    """``value`` with a leading apostrophe when a spreadsheet would read it as a formula."""
    return FORMULA_GUARD + value if needs_formula_guard(value) else value


def restore_formula(value: str) -> str:
    """Undo :func:`guard_formula`: ``restore_formula(guard_formula(x)) == x`` for every string."""
    if value.startswith(FORMULA_GUARD) and needs_formula_guard(value[1:]):
        return value[1:]
    return value
