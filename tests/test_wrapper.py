"""The `./crm` wrapper as cron and systemd run it: a bare environment, a minimal PATH, no Python.

cron starts jobs with `PATH=/usr/bin:/bin`, no `XDG_RUNTIME_DIR` and little else; on a Mac
`/usr/bin/python3` is 3.9. A ready `.venv` must run anyway, and a clean run must print nothing on
stderr (cron mails whatever a job prints).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests import ROOT


def _bare_path(tmp_path: Path) -> str:
    """A PATH holding only the shell tools the wrapper may use: no python anywhere on it."""
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("bash", "sh", "cat", "cut", "dirname", "sha256sum", "env"):
        found = shutil.which(tool)
        assert found is not None, tool
        (tools / tool).symlink_to(found)
    assert shutil.which("python3", path=str(tools)) is None
    return str(tools)


def _run_bare(tmp_path: Path, *args: str, path: str) -> subprocess.CompletedProcess[str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return subprocess.run(
        [str(ROOT / "crm"), *args],
        cwd=tmp_path,
        env={"PATH": path, "HOME": str(home), "CRM_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_ready_venv_runs_without_python_on_path(tmp_path: Path) -> None:
    result = _run_bare(tmp_path, "config", "show", path=_bare_path(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "mail.owner_emails" in result.stdout
    assert result.stderr == ""


def test_cron_environment_starts_the_server_with_nothing_on_stderr(tmp_path: Path) -> None:
    """No XDG_RUNTIME_DIR, cron's PATH: `crm db init` starts the embedded server quietly."""
    try:
        result = _run_bare(tmp_path, "db", "init", path="/usr/bin:/bin")
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
    finally:
        _run_bare(tmp_path, "db", "stop", path="/usr/bin:/bin")


def test_the_wrapper_says_what_to_do_when_no_python_can_build_the_venv(tmp_path: Path) -> None:
    """A checkout without `.venv` and without Python 3.11 on PATH: one line naming CRM_PYTHON."""
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    for name in ("crm", "scripts/bootstrap", "requirements.lock", "pyproject.toml"):
        shutil.copy2(ROOT / name, checkout / name)
    result = subprocess.run(
        [str(checkout / "crm"), "config", "show"],
        env={"PATH": _bare_path(tmp_path), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
    assert result.stderr == (
        "error: Consulting CRM needs Python 3.11 or newer; none found on PATH "
        "(set CRM_PYTHON to one).\n"
    )
    assert not (checkout / ".venv").exists()
    assert os.access(checkout / "crm", os.X_OK)
