"""The choices of one import run, shared by the spreadsheet and mail importers and the commands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Overrides:
    """Mapping given on the command line: ``--map "Header=field"`` and ``--value
    "field:Their word=our value"``; they win over any profile's aliases and value maps
    (:func:`ingest.profiles.choose_mapping` applies them)."""

    columns: dict[str, str] = field(default_factory=dict)  # field → header
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # field → theirs → ours

    def __bool__(self) -> bool:
        return bool(self.columns or self.values)


@dataclass
class ImportOptions:
    """The choices of one run that apply to every spreadsheet in it (see `crm import --help`)."""

    entity: str | None = None
    profile: str = "auto"
    date_format: str | None = None  # --date-format: wins over everything
    default_date_format: str | None = None  # import.date_format: after the profile's own order
    decimal_separator: str | None = None  # "." or ","; --decimal-separator or the setting
    encoding: str | None = None  # --encoding: read every text file with this codec
    sheet: str | None = None
    dry_run: bool = False
    strict: bool = False
    force: bool = False
    report_dir: Path | None = None  # default: beside each file
    rows_per_chunk: int = 20_000
    years: tuple[int, int] = (1900, 2100)  # a date outside these years is rejected as a typo
    profile_dir: Path | None = None  # the user's own profiles ($CRM_HOME/profiles)
    overrides: Overrides | None = None  # --map / --value
    create_accounts: bool = False  # --create-accounts: account names no account has create one


@dataclass(frozen=True)
class MailOptions:
    """The choices that apply to every mail export of a run."""

    owner_emails: Sequence[str] = field(default_factory=tuple)
    create_leads: bool = False
    since: date | None = None
    store_bodies: bool = True


class Progress(Protocol):
    """Told how far an import is: ``done`` of ``total`` (bytes of a CSV, rows of a sheet or
    messages of a mailbox; ``total`` 0 when unknown)."""

    def __call__(self, done: int, total: int = 0) -> None: ...
