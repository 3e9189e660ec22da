"""The formula guard both ways: what the exporter writes, the importer reads back unchanged."""

from __future__ import annotations

import pytest

from ingest.formulas import guard_formula, needs_formula_guard, restore_formula


@pytest.mark.parametrize(
    "value",
    ["=SUM(A1:A2)", "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "\tx", "'=already quoted"],
)
def test_a_formula_is_guarded_and_restored(value: str) -> None:
    assert guard_formula(value) == "'" + value
    assert restore_formula(guard_formula(value)) == value


@pytest.mark.parametrize(
    "value", ["Acme", "+49 30 1234567", "-12.50", "(030) 123-456", "'quoted by the user", ""]
)
def test_plain_values_pass_both_ways_unchanged(value: str) -> None:
    assert guard_formula(value) == value
    assert restore_formula(value) == value


# The exporter's full list of cases (moved from the Salesforce export tests) ------------------
GUARDED = [
    "=SUM(A1:A9)",
    "=cmd|' /C calc'!A0",
    "+SUM(A1)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(A1)",
    "\t=1+1",
    "\rnext",
    "\nnext",
    '  =HYPERLINK("http://evil.example")',  # after leading spaces
    "   @risk",
    "-",
    "- follow up",
    "+1 555 0100 ext. 12",  # a phone with letters could hide a function name
    "=",
    "'=SUM(A1)",  # an apostrophe already in the data, before a formula: guarded again
]
UNTOUCHED = [
    "+49 30 1234567",
    "+1 (555) 010-0000",
    "  +44 20 7946 0000",
    "-12",
    "-12.50",
    "-1,5",
    "Acme GmbH",
    "a=b",
    "mail@example.com",
    "'Tis the season",  # an apostrophe before an ordinary value stays as it is
    "'+49 30 1234567",
    "",
    "   ",
    "2025-06-30",
]


@pytest.mark.parametrize("value", GUARDED)
def test_formula_like_values_get_an_apostrophe(value: str) -> None:
    assert needs_formula_guard(value)
    assert guard_formula(value) == "'" + value


@pytest.mark.parametrize("value", UNTOUCHED)
def test_numbers_phones_and_text_are_left_alone(value: str) -> None:
    assert not needs_formula_guard(value)
    assert guard_formula(value) == value


@pytest.mark.parametrize("value", GUARDED + UNTOUCHED + ["''=x", "'''-y", " '=z", "'"])
def test_restore_undoes_the_guard_exactly(value: str) -> None:
    assert restore_formula(guard_formula(value)) == value
    # A file guarded twice (exported, opened, exported again) needs two restores, no more.
    twice = guard_formula(guard_formula(value))
    assert restore_formula(restore_formula(twice)) == value
