"""Helpers for building the dbt project in tests: each build gets its own target and log paths."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from consulting_crm.dbt_runner import BuildResult, run_build

AS_OF_DATE = "2025-06-30"

BuildRunner = Callable[..., BuildResult]


@pytest.fixture(scope="session")
def dbt_build(tmp_path_factory: pytest.TempPathFactory) -> BuildRunner:
    """Run `crm build`'s library function against a database, with artifacts under pytest's tmp."""

    def build(conninfo: str, *extra_args: str, as_of_date: str | None = AS_OF_DATE) -> BuildResult:
        work = tmp_path_factory.mktemp("dbt")
        args: list[str] = ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
        if as_of_date is not None:
            args += ["--vars", f"{{as_of_date: '{as_of_date}'}}"]
        return run_build([*args, *extra_args], environ=database_environment(conninfo))

    return build


def database_environment(conninfo: str) -> dict[str, str]:
    """This process's environment pointed at ``conninfo`` (and at nothing else)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["DATABASE_URL"] = conninfo
    return env
