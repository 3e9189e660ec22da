"""Fixtures for the mail tests that use a database (``conn`` comes from tests/conftest.py)."""

from __future__ import annotations

import psycopg
import pytest

from tests.ingest.mail.mail_crm import seed


@pytest.fixture
def seeded(conn: psycopg.Connection) -> psycopg.Connection:
    seed(conn)
    return conn
