"""The README's main command works in a fresh copy of the repository with a fresh CRM_HOME."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import ROOT


def _readme_command(purpose: str) -> str:
    """The quick-start line whose comment starts with ``purpose``."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    for line in block.strip().splitlines():
        command, _, comment = line.partition("#")
        if comment.strip().startswith(purpose):
            return command.strip()
    raise AssertionError(f"README quick start has no command commented '{purpose}'")


def _copy_checkout(destination: Path) -> None:
    """Copy every file git tracks, as it is in the working tree (what a fresh clone holds)."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.split(b"\0")
    for name in filter(None, tracked):
        source = ROOT / name.decode()
        if not source.exists():  # deleted in the working tree, not yet committed
            continue
        target = destination / name.decode()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def test_readme_has_exactly_two_quick_start_commands() -> None:
    assert _readme_command("the main job") == "./crm demo"
    assert _readme_command("the whole test suite") == "./test"


@pytest.mark.slow
def test_main_command_runs_in_a_fresh_checkout(
    tmp_path: Path, make_database: Callable[..., str]
) -> None:
    checkout = tmp_path / "consulting-crm"
    _copy_checkout(checkout)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "VIRTUAL_ENV"}
    env["CRM_HOME"] = str(tmp_path / "crm-home")
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = make_database(with_schema=False)
    command = _readme_command("the main job").split()
    try:
        first = subprocess.run(
            command, cwd=checkout, env=env, capture_output=True, text=True, timeout=900
        )
        assert first.returncode == 0, first.stdout + first.stderr
        again = subprocess.run(
            command, cwd=checkout, env=env, capture_output=True, text=True, timeout=900
        )
        assert again.returncode == 0, again.stdout + again.stderr
        if "DATABASE_URL" not in env:
            # The demo kept to a server of its own: the user's own CRM is still empty.
            assert (tmp_path / "crm-home" / "demo" / "pgdata").is_dir()
            own = subprocess.run(
                [str(checkout / "crm"), "db", "status"],
                cwd=checkout,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert own.returncode == 0, own.stderr
            assert "not applied (run: crm db init)" in own.stdout, own.stdout
            # (rich may wrap the path anywhere on a narrow terminal: compare without spaces)
            demo_data = str(tmp_path / "crm-home" / "demo" / "pgdata")
            assert f"keepsitsownin{demo_data}" in "".join(own.stdout.split())
    finally:
        if "DATABASE_URL" not in env:
            subprocess.run(
                [str(checkout / ".venv/bin/crm"), "db", "stop"], cwd=checkout, env=env, check=False
            )
    for table in ("accounts", "contacts", "leads", "projects", "activities"):
        assert re.search(rf"│ {table}\s+│\s+[1-9][\d,]* │", again.stdout), again.stdout
    assert "Pipeline as of 30 Jun 2026" in again.stdout, again.stdout
    assert "7 already imported" in again.stdout, again.stdout
    report = checkout / "demo" / "crm-report.html"
    assert report.stat().st_size > 10_000
