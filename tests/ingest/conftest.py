"""Fixtures of the library's tests: a fresh, empty CRM database for each test that loads data."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest


@pytest.fixture
def fresh_url(make_database: Callable[..., str]) -> str:
    """A new database with schema.sql applied, for this test alone."""
    return make_database()


@pytest.fixture
def fresh(fresh_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to :func:`fresh_url`: importers run their own transactions."""
    with psycopg.connect(fresh_url, autocommit=True) as connection:
        yield connection
