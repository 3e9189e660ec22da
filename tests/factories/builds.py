"""What a test's dbt build or crm subprocess needs: the as-of date and an environment."""

from __future__ import annotations

import os

# Every figure in the dbt tests is computed as of this date.
AS_OF_DATE = "2025-06-30"


def database_environment(conninfo: str) -> dict[str, str]:
    """This process's environment pointed at ``conninfo`` (and at nothing else)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["DATABASE_URL"] = conninfo
    return env
