"""Settings stated once in config.toml, and the commands that read and write them."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from consulting_crm.cli import main
from consulting_crm.settings import Settings, config_path, load_settings
from ingest.errors import CrmError, ExitCode
from tests import DATA

# The Gmail Takeout fixture of the mail tests, and the owner addresses it was written for.
TAKEOUT = DATA / "mail/takeout/Mail/All mail Including Spam and Trash.mbox"
OWNERS = ("maria@kessler-consulting.de", "m.kessler@gmail.com")


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "settings" / "config.toml"
    monkeypatch.setenv("CRM_CONFIG", str(path))
    return path


def test_the_file_lives_in_crm_home_unless_crm_config_says_otherwise(tmp_path: Path) -> None:
    assert config_path({"CRM_HOME": str(tmp_path)}) == tmp_path.resolve() / "config.toml"
    assert config_path({"CRM_HOME": "/x", "CRM_CONFIG": str(tmp_path / "c.toml")}) == (
        tmp_path / "c.toml"
    )


def test_no_file_means_defaults(config_file: Path) -> None:
    assert load_settings() == Settings()


def test_set_show_and_unset(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "set", "mail.owner_emails", "me@firm.example,", "me@gmail.com"]) == 0
    assert main(["config", "set", "mail.store_bodies", "no"]) == 0
    assert main(["config", "set", "import.date_format", "dmy"]) == 0
    assert load_settings() == Settings(
        owner_emails=("me@firm.example", "me@gmail.com"), store_bodies=False, date_format="DMY"
    )
    assert config_file.read_text() == (
        "# Consulting CRM settings; `crm config show` lists them all.\n"
        "\n"
        "[mail]\n"
        'owner_emails = ["me@firm.example", "me@gmail.com"]\n'
        "store_bodies = false\n"
        "\n"
        "[import]\n"
        'date_format = "DMY"\n'
    )
    capsys.readouterr()
    assert main(["config", "show"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "me@firm.example," in shown and "me@gmail.com" in shown
    assert re.search(r"mail\.create_leads\s+│\s+\(not set\)", shown)
    assert main(["config", "unset", "mail.store_bodies"]) == 0
    assert load_settings().store_bodies is True


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[mail]\nowner_email = ['a@b.c']\n", "unknown setting 'mail.owner_email'"),
        ("[mail]\nowner_emails = 'a@b.c'\n", "must be a list of strings"),
        ("[mail]\nowner_emails = ['not an address']\n", "is not an email address"),
        ("[mail]\ncreate_leads = 'yes'\n", "must be true or false"),
        ("[import]\ndate_format = 'DDMMYY'\n", "is one of DMY, MDY, YMD"),
        ("[import]\nyears = '2100-1900'\n", "two years, the earlier first"),
        ("[import]\nyears = 1900\n", "must be a string"),
        ("[nightly]\nkeep_runs = -1\n", r"must be 0 \(keep every run\) or more, not -1"),
        ("[nightly]\nkeep_runs = '30'\n", "must be a whole number"),
        ("[nightly]\nruns_dir = ''\n", "must be a folder in quotes"),
        ("[currency]\nbase = 'euro'\n", "three-letter ISO 4217 code"),
        ("[mail\n", "not valid TOML"),
    ],
)
def test_a_wrong_file_is_a_clear_error(config_file: Path, text: str, problem: str) -> None:
    config_file.parent.mkdir(parents=True)
    config_file.write_text(text)
    with pytest.raises(CrmError, match=problem) as caught:
        load_settings()
    assert str(config_file) in str(caught.value)


def test_set_rejects_unknown_settings_and_bad_values(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "set", "mail.owner", "a@b.c"]) == ExitCode.USER_ERROR
    assert main(["config", "set", "mail.create_leads", "maybe"]) == ExitCode.USER_ERROR
    err = capsys.readouterr().err
    assert "unknown setting 'mail.owner'" in err and "true or false, not 'maybe'" in err
    assert not config_file.exists()


def test_the_base_currency_is_read_upper_case(config_file: Path) -> None:
    assert load_settings().base_currency == "EUR"
    assert main(["config", "set", "currency.base", "gbp"]) == 0
    assert load_settings().base_currency == "GBP"


def test_the_year_range_reaches_crm_import(
    config_file: Path,
    make_database: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    conninfo = make_database()
    for name in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE", "PGHOSTADDR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", conninfo)
    path = tmp_path / "history.csv"
    path.write_text("name,created_at\nOld Firm,1850-06-01\n", encoding="utf-8")
    arguments = ["import", str(path), "--report-dir", str(tmp_path)]
    assert main(arguments) == ExitCode.ROWS_REJECTED  # 1850 is outside the default 1900-2100
    report = (tmp_path / "history.rejected.csv").read_text(encoding="utf-8-sig")
    assert '"1850-06-01"" has the year 1850, outside 1900–2100' in report
    assert main(["config", "set", "import.years", " 1800 - 2100 "]) == 0
    assert load_settings().years == (1800, 2100)
    assert main([*arguments, "--force"]) == ExitCode.OK
    with psycopg.connect(conninfo) as conn:
        stored = conn.execute("select created_at::date::text from accounts").fetchall()
    assert stored == [("1850-06-01",)]


@pytest.fixture
def mail_database(make_database: Callable[..., str], monkeypatch: pytest.MonkeyPatch) -> str:
    conninfo = make_database()
    with psycopg.connect(conninfo) as conn:
        conn.execute(
            "insert into accounts (name, domain) "
            "values ('Nordlicht Logistik GmbH', 'nordlicht-logistik.de')"
        )
    for name in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", conninfo)
    return conninfo


def test_mail_import_takes_the_owner_addresses_from_the_settings(
    config_file: Path, mail_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", str(TAKEOUT)]) == ExitCode.USER_ERROR
    assert "crm config set mail.owner_emails" in capsys.readouterr().err
    assert main(["config", "set", "mail.owner_emails", *OWNERS]) == 0
    assert main(["import", str(TAKEOUT)]) in (ExitCode.OK, ExitCode.ROWS_REJECTED)
    with psycopg.connect(mail_database) as conn:
        outbound = conn.execute(
            "select count(*) from activities where direction = 'outbound'"
        ).fetchone()
        with_body = conn.execute("select count(*) from activities where body is not null")
        assert outbound is not None and outbound[0] > 0
        assert (with_body.fetchone() or (0,))[0] > 0


def test_no_bodies_keeps_the_facts_but_not_the_text(config_file: Path, mail_database: str) -> None:
    code = main(["import", str(TAKEOUT), "--no-bodies", "--owner-email", OWNERS[0]])
    assert code in (ExitCode.OK, ExitCode.ROWS_REJECTED)
    with psycopg.connect(mail_database) as conn:
        counts = conn.execute(
            "select count(*), count(body), count(subject) from activities "
            "where activity_type = 'email'"
        ).fetchone()
        stored = conn.execute("select count(body) from ingest.mail_messages").fetchone()
    assert counts is not None and counts[0] > 0
    assert counts[1] == 0 and counts[2] == counts[0]
    assert stored == (0,)


# The suite never reads the developer's own data directory (tests/conftest.py) ----------------

DEALS_PROFILE = """\
name = "deals"

[[variants]]
name = "projects"
entity = "projects"
detect = [["Kundenname", "Vorhaben"]]

[variants.columns]
account_name = ["Kundenname"]
name = ["Vorhaben"]
"""


@pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR is not set")  # platformdirs, without CRM_HOME
def test_a_profile_in_the_real_home_is_not_seen(
    crm_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A profile saved in the user's data directory (under HOME) would map this file; the suite's
    own CRM_HOME hides it, so `--profile auto` finds no profile. Without CRM_HOME the same
    import does find it, which shows the profile is where a developer's would be."""
    home = tmp_path / "home"
    data_dir = home / ".local" / "share" / "consulting-crm"
    (data_dir / "profiles").mkdir(parents=True)
    (data_dir / "profiles" / "deals.toml").write_text(DEALS_PROFILE, encoding="utf-8")
    if os.geteuid() == 0:
        # For root, crm uses the data directory only when it already holds a server's folder.
        (data_dir / "pgdata").mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("DATABASE_URL", crm_database)
    monkeypatch.setenv("COLUMNS", "200")
    sheet = tmp_path / "deals.csv"
    sheet.write_text("Kundenname,Vorhaben\nACME GmbH,Pricing review\n", encoding="utf-8")
    args = ["import", str(sheet), "--dry-run", "--report-dir", str(tmp_path)]

    assert os.environ.get("CRM_HOME"), "tests/conftest.py gives every test a CRM_HOME"
    assert not Path(os.environ["CRM_HOME"]).resolve().is_relative_to(home.resolve())
    assert main(args) == ExitCode.FILE_FAILED
    out = " ".join(capsys.readouterr().out.split())
    assert "deals:projects" not in out
    assert "Kundenname" in out  # the proposal for a file no profile maps

    monkeypatch.delenv("CRM_HOME")
    assert main(args) == ExitCode.ROWS_REJECTED
    assert "profile deals:projects (chosen from the headers)" in " ".join(
        capsys.readouterr().out.split()
    )
