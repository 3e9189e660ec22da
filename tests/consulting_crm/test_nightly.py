"""`crm nightly` on a real database with a real dbt build: moves, summaries, exit codes, lock."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from consulting_crm.cli import main
from consulting_crm.nightly import NIGHTLY_LOCK
from ingest.errors import ExitCode
from tests.factories.home_made import CLIENT_ROWS, clients_csv

pytestmark = pytest.mark.slow

GOOD = "external_id,name,domain\nACC-1,Alder Foods,alder.example\nACC-2,Birch Ltd,birch.example\n"
ALREADY = "name,domain\nCedar GmbH,cedar.example\n"
BAD = "colour,size\nred,XL\n"  # no column maps to anything: the whole file fails
PROJECTS_TWO_CURRENCIES = (
    "external_id,name,account_name,stage,amount,currency_code,close_date\n"
    "PRJ-1,Pricing review,Alder Foods,won,5000,EUR,2025-03-01\n"
    "PRJ-2,Board pack,Alder Foods,won,7000,USD,2025-04-01\n"
)


@pytest.fixture
def database(
    make_database: Callable[..., str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> str:
    conninfo = make_database()
    for name in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", conninfo)
    monkeypatch.setenv("CRM_CONFIG", str(tmp_path / "config.toml"))  # no settings: defaults
    monkeypatch.setenv("CRM_HOME", str(tmp_path / "home"))  # the runs folder: home/runs
    monkeypatch.setenv("COLUMNS", "120")
    return conninfo


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "inbox"
    folder.mkdir()
    yield folder


def _old(path: Path) -> Path:
    """Make a file look settled (written well before the run)."""
    past = time.time() - 3600
    os.utime(path, (past, past), follow_symlinks=False)
    return path


def _nightly(inbox: Path, *extra: str) -> int:
    return main(["nightly", "--inbox", str(inbox), "--as-of", "2025-06-30", *extra])


def _runs(inbox: Path) -> Path:
    """The runs folder of the ``database`` fixture's CRM_HOME (beside the inbox)."""
    return inbox.parent / "home" / "runs"


def _latest(inbox: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((_runs(inbox) / "latest.json").read_text())
    return result


def _moved(inbox: Path, folder: str) -> set[str]:
    base = inbox / folder
    return {str(path.relative_to(base).parts[1:][0]) for path in base.glob("*/*")}


def test_good_bad_and_already_imported_files(
    database: str,
    inbox: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    earlier = tmp_path / "cedar.csv"
    earlier.write_text(ALREADY)
    assert main(["import", str(earlier)]) == ExitCode.OK
    # A home-made clients list whose mapping the user saved as a profile (in the fixture's
    # CRM_HOME): recognised by itself.
    mapped = ["--map", "Firma=name", "--map", "Webseite=domain"]
    sample = clients_csv(tmp_path / "Kundenliste.csv")
    assert main(["profile", "new", "kundenliste", "--from", str(sample), *mapped]) == 0
    clients_csv(inbox / "Kundenliste.csv")
    (inbox / "accounts.csv").write_text(GOOD)
    (inbox / "cedar.csv").write_text(ALREADY)
    (inbox / "sizes.csv").write_text(BAD)
    for name in ("accounts.csv", "cedar.csv", "sizes.csv", "Kundenliste.csv"):
        _old(inbox / name)
    (inbox / "gone.csv").symlink_to(tmp_path / "deleted-since.csv")  # a broken link
    _old(inbox / "gone.csv")
    capsys.readouterr()

    assert _nightly(inbox) == ExitCode.FILE_FAILED

    # The inbox (perhaps a sync folder) holds only the archive and the failed files.
    assert sorted(path.name for path in inbox.iterdir()) == ["archive", "failed"]
    assert _moved(inbox, "archive") == {"accounts.csv", "cedar.csv", "Kundenliste.csv"}
    assert _moved(inbox, "failed") == {
        "sizes.csv",
        "sizes.csv.reason.txt",
        "gone.csv",
        "gone.csv.reason.txt",
    }
    (reason,) = (inbox / "failed").glob("*/sizes.csv.reason.txt")
    assert "sizes.csv was not imported" in reason.read_text()
    assert "no column" in reason.read_text().lower() or "required" in reason.read_text().lower()

    summary = _latest(inbox)
    assert summary["exit_code"] == ExitCode.FILE_FAILED
    statuses = {item["name"]: (item["status"], item["inserted"]) for item in summary["files"]}
    assert statuses == {
        "accounts.csv": ("loaded", 2),
        "cedar.csv": ("skipped", 0),
        "sizes.csv": ("failed", 0),
        "gone.csv": ("failed", 0),
        "Kundenliste.csv": ("loaded", len(CLIENT_ROWS)),
    }
    assert {item["name"]: item["profile"] for item in summary["files"]}[
        "Kundenliste.csv"
    ] == "kundenliste:accounts"
    assert summary["build"]["passed"] and summary["build"]["counts"]["success"] > 50
    assert summary["build"]["counts"]["error"] == summary["build"]["counts"]["fail"] == 0
    assert summary["freshness"]["passed"]
    # The production build runs the data tests, not dbt's unit tests (fixed inputs: CI's job).
    ran = [
        result["unique_id"]
        for result in json.loads((_runs(inbox) / "dbt" / "run_results.json").read_text())["results"]
    ]
    assert any(node.startswith("test.") for node in ran)
    assert not any(node.startswith("unit_test.") for node in ran)
    text = (_runs(inbox) / f"{summary['run_id']}.txt").read_text()
    assert text == (_runs(inbox) / "latest.txt").read_text()
    # dbt's output of this run, and dbt's own log and artifacts, are in the runs folder too.
    assert "Completed successfully" in (_runs(inbox) / f"{summary['run_id']}.build.log").read_text()
    assert (_runs(inbox) / f"{summary['run_id']}.freshness.log").read_text()
    assert (_runs(inbox) / "dbt" / "logs" / "dbt.log").stat().st_size > 0
    assert f"dbt log: {_runs(inbox) / summary['run_id']}.build.log" in text
    assert "A FILE FAILED (exit code 5)" in text
    assert "sizes.csv: see failed/" in text
    assert "A FILE FAILED" in capsys.readouterr().out
    with psycopg.connect(database) as conn:
        total = 3 + len(CLIENT_ROWS)
        assert conn.execute("select count(*) from accounts").fetchone() == (total,)
        # One more: the unknown-member row.
        assert conn.execute("select count(*) from analytics.dim_accounts").fetchone() == (
            total + 1,
        )


def test_an_empty_inbox_builds_and_passes(database: str, inbox: Path, tmp_path: Path) -> None:
    """Also: nightly.runs_dir chooses the runs folder, nightly.keep_runs prunes the oldest runs."""
    (tmp_path / "accounts.csv").write_text(GOOD)
    assert main(["import", str(tmp_path / "accounts.csv")]) == ExitCode.OK
    runs = tmp_path / "elsewhere" / "crm-runs"
    assert main(["config", "set", "nightly.runs_dir", str(runs)]) == ExitCode.OK
    assert main(["config", "set", "nightly.keep_runs", "2"]) == ExitCode.OK
    runs.mkdir(parents=True)
    for old in ("20250101T020000Z", "20250102T020000Z"):
        for suffix in (".json", ".txt", ".build.log", ".freshness.log"):
            (runs / f"{old}{suffix}").write_text("an earlier run\n")
    (runs / "notes.txt").write_text("not a run's file: kept\n")
    assert _nightly(inbox) == ExitCode.OK
    assert sorted(path.name for path in inbox.iterdir()) == []
    assert not _runs(inbox).exists()
    summary = json.loads((runs / "latest.json").read_text())
    assert summary["summary_json"] == str(runs / f"{summary['run_id']}.json")
    # Two runs kept (this one and the newest earlier one); the oldest run's files are gone.
    assert sorted(path.name for path in runs.iterdir()) == sorted(
        [
            *(f"20250102T020000Z{suffix}" for suffix in (".json", ".txt", ".build.log")),
            "20250102T020000Z.freshness.log",
            *(f"{summary['run_id']}{suffix}" for suffix in (".json", ".txt", ".build.log")),
            f"{summary['run_id']}.freshness.log",
            "dbt",
            "latest.json",
            "latest.txt",
            "notes.txt",
        ]
    )
    assert summary["files"] == [] and summary["exit_code"] == 0
    assert summary["freshness"]["passed"] and summary["freshness"]["counts"]["success"] >= 2
    # Tables the practice has not filled yet (no leads, no projects) only warn.
    assert summary["freshness"]["counts"]["warn"] >= 1
    # ... and each is named: an empty table has no rows to date it by.
    assert {
        "test": "freshness of crm.leads",
        "failing_rows": 0,
        "meaning": "the table has no rows to date it by.",
    } in summary["freshness"]["warnings"]
    assert len(summary["freshness"]["warnings"]) == summary["freshness"]["counts"]["warn"]
    text = (runs / "latest.txt").read_text()
    assert "PASSED (exit code 0)" in text and "No new files in the inbox." in text
    assert "source freshness: passed with" in text
    assert "  - warning freshness of crm.leads: the table has no rows to date it by." in text


def test_no_import_for_a_month_fails_the_night(database: str, inbox: Path, tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text(GOOD)
    assert main(["import", str(tmp_path / "accounts.csv")]) == ExitCode.OK
    with psycopg.connect(database) as conn:
        conn.execute("update ingest.import_batches set started_at = now() - interval '40 days'")
    assert _nightly(inbox) == ExitCode.BUILD_FAILED
    summary = _latest(inbox)
    assert summary["build"]["passed"] and not summary["freshness"]["passed"]
    assert summary["freshness"]["failures"] == [
        "source.consulting_crm.ingest.import_batches: stale: last change 40 days ago"
    ]


def test_rejected_rows_and_a_file_still_being_written(database: str, inbox: Path) -> None:
    (inbox / "people.csv").write_text("first_name,email\nAda,ada@example.com\nBob,not-an-email\n")
    _old(inbox / "people.csv")
    (inbox / "arriving.csv").write_text(GOOD)  # modified just now
    assert _nightly(inbox, "--settle-seconds", "600") == ExitCode.ROWS_REJECTED
    summary = _latest(inbox)
    files = {item["name"]: item for item in summary["files"]}
    assert files["people.csv"]["status"] == "loaded"
    assert (files["people.csv"]["inserted"], files["people.csv"]["rejected"]) == (1, 1)
    assert files["arriving.csv"]["status"] == "waiting"
    assert (inbox / "arriving.csv").exists()  # left for the next run
    (report,) = (inbox / "archive").glob("*/people.rejected.csv")
    assert "not-an-email" in report.read_text(encoding="utf-8-sig")


def test_a_plain_folder_keeps_each_files_reject_report(database: str, inbox: Path) -> None:
    # Two exports of the same name in one dropped folder: each keeps its own report, beside it.
    for team, bad in (("north", "not-an-email"), ("south", "also@bad@example")):
        (inbox / "teams" / team).mkdir(parents=True)
        (inbox / "teams" / team / "people.csv").write_text(
            f"first_name,email\nAda {team},ada.{team}@example.com\nBob,{bad}\n"
        )
        _old(inbox / "teams" / team / "people.csv")
    (inbox / "teams" / "pipeline.html").write_text("<html></html>\n")  # passed over, no failure
    _old(inbox / "teams" / "pipeline.html")
    _old(inbox / "teams")
    assert _nightly(inbox) == ExitCode.ROWS_REJECTED
    (item,) = _latest(inbox)["files"]
    assert "pipeline.html: not a spreadsheet" in item["message"]
    assert (item["name"], item["status"], item["inserted"], item["rejected"]) == (
        "teams",
        "loaded",
        2,
        2,
    )
    reports = sorted(item["reject_report"].split(", "))
    assert [Path(report).parts[2:] for report in reports] == [
        ("teams", "north", "people.rejected.csv"),
        ("teams", "south", "people.rejected.csv"),
    ]
    north, south = (inbox / report for report in reports)
    assert "not-an-email" in north.read_text(encoding="utf-8-sig")
    assert "also@bad@example" in south.read_text(encoding="utf-8-sig")
    assert not (inbox / "teams").exists()


def test_a_second_concurrent_run_is_refused_and_touches_nothing(
    database: str, inbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (inbox / "accounts.csv").write_text(GOOD)
    _old(inbox / "accounts.csv")
    with psycopg.connect(database, autocommit=True) as other_run:  # another run's live lease
        other_run.execute(
            "update ingest.run_locks set holder = 'other-run', host = 'cron-box', pid = 4242, "
            "acquired_at = now(), renewed_at = now(), expires_at = now() + interval '10 minutes' "
            "where name = %s",
            (NIGHTLY_LOCK,),
        )
    assert _nightly(inbox) == ExitCode.LOCKED
    error = " ".join(capsys.readouterr().err.split())
    assert "another crm nightly holds the nightly lock" in error
    assert "run other-run on host cron-box, pid 4242" in error
    assert sorted(path.name for path in inbox.iterdir()) == ["accounts.csv"]
    with psycopg.connect(database) as conn:
        assert conn.execute("select count(*) from accounts").fetchone() == (0,)
        # The refused run left the other run's lease alone.
        assert conn.execute(
            "select holder from ingest.run_locks where name = %s", (NIGHTLY_LOCK,)
        ).fetchone() == ("other-run",)


def test_a_warning_is_a_result_of_the_run(database: str, inbox: Path) -> None:
    (inbox / "accounts.csv").write_text(GOOD)
    (inbox / "projects.csv").write_text(PROJECTS_TWO_CURRENCIES)
    for name in ("accounts.csv", "projects.csv"):
        _old(inbox / name)
    assert _nightly(inbox) == ExitCode.OK
    build = _latest(inbox)["build"]
    assert build["passed"]
    assert build["warnings"] == [
        {
            "test": "assert_every_deal_has_a_rate",
            "failing_rows": 1,
            "meaning": "Warns, per currency, when deals have an amount that no exchange rate "
            "converts into the base currency: those deals are left out of the headline figures "
            "and counted.",
        }
    ]
    text = (_runs(inbox) / "latest.txt").read_text()
    assert "build: passed with 1 warning in" in text
    assert "warning assert_every_deal_has_a_rate (1 row): Warns, per currency" in text


def test_a_failing_dbt_test_fails_the_run(database: str, inbox: Path) -> None:
    (inbox / "accounts.csv").write_text(GOOD)
    (inbox / "projects.csv").write_text(PROJECTS_TWO_CURRENCIES)
    for name in ("accounts.csv", "projects.csv"):
        _old(inbox / name)
    # A second currency without a rate makes assert_every_deal_has_a_rate warn; this practice
    # wants warnings to fail the night, which is what the extra dbt arguments say.
    code = _nightly(inbox, "--warn-error-options", "{error: [LogTestResult]}")
    assert code == ExitCode.BUILD_FAILED
    summary = _latest(inbox)
    assert [item["status"] for item in summary["files"]] == ["loaded", "loaded"]
    assert not summary["build"]["passed"]
    assert summary["build"]["counts"]["fail"] == 1
    assert summary["build"]["failures"][0].startswith(
        "test.consulting_crm.assert_every_deal_has_a_rate"
    )
    text = (_runs(inbox) / "latest.txt").read_text()
    assert "BUILD OR FRESHNESS FAILED (exit code 6)" in text
    assert "assert_every_deal_has_a_rate" in text


def test_file_names_that_are_not_utf8_and_a_corrupt_workbook(
    database: str, inbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = inbox / os.fsdecode(b"Kunden-\xfc.csv")  # names an old Windows tool wrote (Latin-1)
    bad = inbox / os.fsdecode(b"Gr\xfc\xdfe.csv")
    broken = inbox / "broken.xlsx"
    good.write_text(GOOD)
    bad.write_text(BAD)
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    for path in (good, bad, broken):
        _old(path)

    assert _nightly(inbox) == ExitCode.FILE_FAILED

    (run,) = (inbox / "archive").iterdir()
    assert os.listdir(os.fsencode(run)) == [b"Kunden-\xfc.csv"]
    failed = os.fsencode(next((inbox / "failed").iterdir()))
    assert sorted(os.listdir(failed)) == [
        b"Gr\xfc\xdfe.csv",
        b"Gr\xfc\xdfe.csv.reason.txt",
        b"broken.xlsx",
        b"broken.xlsx.reason.txt",
    ]
    reason = Path(os.fsdecode(failed)) / os.fsdecode(b"Gr\xfc\xdfe.csv.reason.txt")
    text = reason.read_text(encoding="utf-8")
    assert text.startswith(
        "Gr\\xfc\\xdfe.csv was not imported; nothing from it is in the database."
    )
    assert "\nGr\\xfc\\xdfe.csv: " in text
    broken_reason = (Path(os.fsdecode(failed)) / "broken.xlsx.reason.txt").read_text()
    assert (
        "broken.xlsx: is not a readable XLSX workbook (File is not a zip file); open and save it "
        "again in Excel (or export it as CSV UTF-8), then import again."
    ) in broken_reason
    statuses = {item["name"]: item["status"] for item in _latest(inbox)["files"]}
    assert statuses == {
        "Kunden-\\xfc.csv": "loaded",
        "Gr\\xfc\\xdfe.csv": "failed",
        "broken.xlsx": "failed",
    }
    latest = (_runs(inbox) / "latest.txt").read_text(encoding="utf-8")
    assert "Gr\\xfc\\xdfe.csv.reason.txt" in latest
    with psycopg.connect(database) as conn:
        names = conn.execute(
            "select file_name, status::text from ingest.import_batches order by import_batch_id"
        ).fetchall()
    assert sorted(names) == [
        ("Gr\\xfc\\xdfe.csv", "failed"),
        ("Kunden-\\xfc.csv", "loaded"),
        ("broken.xlsx", "failed"),
    ]


def test_a_lost_connection_stops_the_run_and_leaves_the_file_in_the_inbox(
    database: str,
    inbox: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from consulting_crm import nightly

    (inbox / "accounts.csv").write_text(GOOD)
    _old(inbox / "accounts.csv")
    real_import_file = nightly.import_file

    def import_file(conn: psycopg.Connection, *args: Any, **kwargs: Any) -> Any:
        with psycopg.connect(database, autocommit=True) as killer:  # the server goes away
            killer.execute("select pg_terminate_backend(%s)", (conn.info.backend_pid,))
        return real_import_file(conn, *args, **kwargs)

    monkeypatch.setattr(nightly, "import_file", import_file)
    capsys.readouterr()
    assert _nightly(inbox) == ExitCode.USER_ERROR
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(
        "error: accounts.csv: the database connection was lost while importing it ("
    )
    assert "Traceback" not in err
    assert (inbox / "accounts.csv").exists()  # nothing wrong with the file: the next run takes it
    assert not (inbox / "failed").exists()


def test_a_runs_folder_inside_the_inbox_is_refused_before_anything_happens(
    database: str, inbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Any folder in the inbox but INBOX/runs would be imported as an export the next night."""
    (inbox / "accounts.csv").write_text(GOOD)
    _old(inbox / "accounts.csv")
    assert main(["config", "set", "nightly.runs_dir", str(inbox / "logs")]) == ExitCode.OK
    capsys.readouterr()
    assert _nightly(inbox) == ExitCode.USER_ERROR
    error = " ".join(capsys.readouterr().err.split())
    assert f"nightly.runs_dir is {inbox / 'logs'}, inside the inbox {inbox}" in error
    assert "crm config set nightly.runs_dir FOLDER" in error
    assert sorted(path.name for path in inbox.iterdir()) == ["accounts.csv"]
