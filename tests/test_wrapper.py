"""The `./crm` wrapper as cron and systemd run it: a bare environment, a minimal PATH, no Python.

cron starts jobs with `PATH=/usr/bin:/bin`, no `XDG_RUNTIME_DIR` and little else; on a Mac
`/usr/bin/python3` is 3.9. A ready `.venv` must run anyway, and a clean run must print nothing on
stderr (cron mails whatever a job prints).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest

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


# The README's schedules, run as cron and systemd would run them --------------------------------

ACCOUNTS = "external_id,name,domain\nACC-1,Alder Foods,alder.example\n"
# cron's environment: its own PATH, HOME, LOGNAME and SHELL, nothing else (no XDG_RUNTIME_DIR, no
# Python on PATH). CRM_HOME is added only so the test's server and runs stay in its own folder.
CRON_PATH = "/usr/bin:/bin"


def _readme_block(language: str, containing: str) -> str:
    """The README's fenced block in ``language`` that contains ``containing``."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(rf"^```{language}\n(.*?)^```$", readme, flags=re.MULTILINE | re.DOTALL)
    (block,) = [block for block in blocks if containing in block]
    return str(block)


def _settled_export(inbox: Path, name: str) -> None:
    inbox.mkdir(exist_ok=True)
    export = inbox / name
    export.write_text(ACCOUNTS.replace("ACC-1", name))
    past = time.time() - 3600  # older than --settle-seconds: imported tonight
    os.utime(export, (past, past))


@pytest.mark.slow
def test_the_readme_cron_line_and_systemd_unit_run_clean_nights(tmp_path: Path) -> None:
    """The README's crontab line and the unit's ExecStart, word for word (the maintainer's home
    folder becomes a temporary one holding a link to this checkout): exit 0, nothing on stderr,
    nothing in the inbox but archive/."""
    home = tmp_path / "home" / "maria"
    home.mkdir(parents=True)
    (home / "consulting-crm").symlink_to(ROOT)
    crm_home = tmp_path / "crm-home"
    env = {
        "PATH": CRON_PATH,
        "HOME": str(home),
        "LOGNAME": "maria",
        "SHELL": "/bin/sh",
        "CRM_HOME": str(crm_home),
    }
    cron_line = _readme_block("cron", "crm nightly").strip()
    fields = cron_line.split(None, 5)
    assert fields[:5] == ["30", "2", "*", "*", "*"], cron_line
    cron_command = fields[5].replace("/home/maria", str(home))
    unit = _readme_block("ini", "[Service]")
    service = dict(
        line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#")
    )
    exec_start = shlex.split(service["ExecStart"].replace("%h", str(home)))
    working_directory = service["WorkingDirectory"].replace("%h", str(home))
    unit_env = dict(
        shlex.split(line.split("=", 1)[1])[0].split("=", 1)
        for line in unit.splitlines()
        if line.startswith("Environment=")
    )
    inbox = home / "crm-inbox"
    init = subprocess.run(
        [str(ROOT / "crm"), "db", "init"], env=env, capture_output=True, text=True, timeout=300
    )
    try:
        assert init.returncode == 0, init.stderr
        _settled_export(inbox, "cron.csv")
        cron = subprocess.run(
            ["/bin/sh", "-c", cron_command],
            env=env,
            cwd=home,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert (cron.returncode, cron.stderr) == (0, ""), cron.stdout[-3000:]
        assert "PASSED (exit code 0)" in cron.stdout
        _settled_export(inbox, "systemd.csv")
        systemd = subprocess.run(
            exec_start,
            env={**env, **unit_env},
            cwd=working_directory,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert (systemd.returncode, systemd.stderr) == (0, ""), systemd.stdout[-3000:]
        assert "PASSED (exit code 0)" in systemd.stdout
    finally:
        subprocess.run([str(ROOT / "crm"), "db", "stop"], env=env, capture_output=True, timeout=120)
    assert sorted(path.name for path in inbox.iterdir()) == ["archive"]
    summaries = sorted((crm_home / "runs").glob("*T*Z.json"))
    assert len(summaries) == 2
    assert [json.loads(path.read_text())["files"][0]["name"] for path in summaries] == [
        "cron.csv",
        "systemd.csv",
    ]
