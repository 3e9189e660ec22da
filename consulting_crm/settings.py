"""Settings the user states once instead of on every command: ``config.toml``.

The file lives at ``$CRM_CONFIG`` when that is set, else ``$CRM_HOME/config.toml`` (``CRM_HOME``
defaults to the user data directory, beside the embedded server's data). It is plain TOML::

    [mail]
    owner_emails = ["maria@kessler-consulting.de", "m.kessler@gmail.com"]
    create_leads = false
    store_bodies = true

    [import]
    date_format = "DMY"

Options given on the command line win over the file. Unknown keys are an error (a typo should not
be silently ignored), and so is a value of the wrong type.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import CrmError

# key -> (type name, what it means); the one list `crm config` and this module accept.
KEYS: dict[str, tuple[str, str]] = {
    "mail.owner_emails": (
        "list",
        "your own addresses (or @domain for a whole domain): decide sent vs received mail",
    ),
    "mail.create_leads": ("bool", "unknown senders from company domains become leads"),
    "mail.store_bodies": ("bool", "keep the (trimmed) text of each message on its activity"),
    "import.date_format": ("str", "order of day and month in dates like 03/04/2025: DMY, MDY, YMD"),
    "import.decimal_separator": (
        "str",
        'decimal mark in numbers and amounts: "." or ","; default: from each column\'s values',
    ),
    "import.years": ("str", "years a date may have, e.g. 1900-2100; others are rejected as typos"),
    "build.lock_timeout": (
        "str",
        "longest a build waits for a table another session reads (a Power BI refresh) before it "
        "gives up and retries: a PostgreSQL interval, default 2min",
    ),
    "build.lock_retries": (
        "int",
        "how often a build that timed out on a lock runs again; default 2",
    ),
    "currency.base": (
        "str",
        "currency of every headline figure (ISO 4217 code, e.g. EUR); amounts in other currencies "
        "are converted with the rates in public.exchange_rates; default EUR",
    ),
    "serve.persist": (
        "bool",
        "the embedded server listens for BI tools again whenever it starts (crm db serve once)",
    ),
    "serve.listen": ("str", "address crm db serve listens on; default 127.0.0.1 (this machine)"),
    "serve.port": ("int", "TCP port crm db serve listens on; default 5433"),
    "nightly.runs_dir": (
        "str",
        "folder for crm nightly's run summaries and dbt logs; default: runs in CRM_HOME (a "
        "relative path counts from CRM_HOME)",
    ),
    "nightly.keep_runs": (
        "int",
        "how many runs crm nightly keeps the summaries and logs of (older ones are deleted); 0 "
        "keeps all; default 60",
    ),
}
DEFAULT_LOCK_TIMEOUT = "2min"
DEFAULT_LOCK_RETRIES = 2
DEFAULT_BASE_CURRENCY = "EUR"
DEFAULT_SERVE_LISTEN = "127.0.0.1"
DEFAULT_SERVE_PORT = 5433
DEFAULT_RUNS_DIR = "runs"
DEFAULT_KEEP_RUNS = 60
_INTERVAL = re.compile(r"^[0-9]+ ?(ms|s|min|h)?$")
_ADDRESS = re.compile(r"^[A-Za-z0-9.:*_-]+( *, *[A-Za-z0-9.:*_-]+)*$")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


@dataclass(frozen=True)
class Settings:
    """The settings in effect (file values, else defaults)."""

    owner_emails: tuple[str, ...] = ()
    create_leads: bool = False
    store_bodies: bool = True
    date_format: str | None = None
    decimal_separator: str | None = None
    years: tuple[int, int] = (1900, 2100)
    lock_timeout: str = DEFAULT_LOCK_TIMEOUT
    lock_retries: int = DEFAULT_LOCK_RETRIES
    base_currency: str = DEFAULT_BASE_CURRENCY
    serve_persist: bool = False
    serve_listen: str = DEFAULT_SERVE_LISTEN
    serve_port: int = DEFAULT_SERVE_PORT
    runs_dir: str = DEFAULT_RUNS_DIR
    keep_runs: int = DEFAULT_KEEP_RUNS


# Where root's data goes by default. The server runs as a system user of its own (PostgreSQL
# refuses root), which cannot enter a closed /root, and crm never opens a home directory.
ROOT_CRM_HOME = Path("/var/lib/consulting-crm")


def crm_home(environ: Mapping[str, str] = os.environ) -> Path:
    """The directory holding the embedded server's data and config.toml: ``CRM_HOME``, else the
    user's data directory, else (for root, unless its data directory already holds a server)
    /var/lib/consulting-crm."""
    configured = environ.get("CRM_HOME")
    if configured:
        return Path(configured).expanduser().resolve()
    import platformdirs

    home = platformdirs.user_data_path("consulting-crm", appauthor=False)
    if os.geteuid() == 0 and not (home / "pgdata").exists():
        return ROOT_CRM_HOME
    return home


def profiles_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The folder of the user's own mapping profiles: ``$CRM_HOME/profiles``."""
    return crm_home(environ) / "profiles"


def config_path(environ: Mapping[str, str] = os.environ) -> Path:
    configured = environ.get("CRM_CONFIG")
    if configured:
        return Path(configured).expanduser()
    return crm_home(environ) / "config.toml"


def read_values(path: Path) -> dict[str, object]:
    """The file's settings as flat ``section.key`` values (empty when there is no file)."""
    if not path.exists():
        return {}
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CrmError(f"{path}: not valid TOML ({exc}); correct or delete the file.") from exc
    values: dict[str, object] = {}
    for section, table in document.items():
        if not isinstance(table, dict):
            raise CrmError(f"{path}: {section!r} must be a [section]; known keys: {_known()}.")
        for key, value in table.items():
            name = f"{section}.{key}"
            if name not in KEYS:
                raise CrmError(f"{path}: unknown setting {name!r}; known settings: {_known()}.")
            values[name] = _checked(path, name, value)
    return values


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    values = read_values(config_path(environ))
    emails = values.get("mail.owner_emails", ())
    return Settings(
        owner_emails=tuple(emails),  # type: ignore[arg-type]
        create_leads=bool(values.get("mail.create_leads", False)),
        store_bodies=bool(values.get("mail.store_bodies", True)),
        date_format=values.get("import.date_format"),  # type: ignore[arg-type]
        decimal_separator=values.get("import.decimal_separator"),  # type: ignore[arg-type]
        years=_year_range(str(values.get("import.years", "1900-2100"))),
        lock_timeout=str(values.get("build.lock_timeout", DEFAULT_LOCK_TIMEOUT)),
        lock_retries=int(values.get("build.lock_retries", DEFAULT_LOCK_RETRIES)),  # type: ignore[call-overload]
        base_currency=str(values.get("currency.base", DEFAULT_BASE_CURRENCY)).upper(),
        serve_persist=bool(values.get("serve.persist", False)),
        serve_listen=str(values.get("serve.listen", DEFAULT_SERVE_LISTEN)),
        serve_port=int(values.get("serve.port", DEFAULT_SERVE_PORT)),  # type: ignore[call-overload]
        runs_dir=str(values.get("nightly.runs_dir", DEFAULT_RUNS_DIR)),
        keep_runs=int(values.get("nightly.keep_runs", DEFAULT_KEEP_RUNS)),  # type: ignore[call-overload]
    )


def _year_range(text: str) -> tuple[int, int]:
    """``"1900-2100"`` as (1900, 2100); the text was checked when it was read or set."""
    first, last = text.split("-")
    return int(first), int(last)


def parse_value(name: str, words: list[str]) -> object:
    """A value for ``name`` from command-line words (``crm config set KEY VALUE...``)."""
    if name not in KEYS:
        raise CrmError(f"unknown setting {name!r}; known settings: {_known()}.")
    kind = KEYS[name][0]
    if kind == "list":
        items = [item.strip() for word in words for item in word.split(",") if item.strip()]
        if not items:
            raise CrmError(f"{name} needs at least one value.")
        return _checked(Path("command line"), name, items)
    if len(words) != 1:
        raise CrmError(f"{name} takes exactly one value.")
    word = words[0].strip()
    if kind == "bool":
        if word.lower() in _TRUE:
            return True
        if word.lower() in _FALSE:
            return False
        raise CrmError(f"{name} is true or false, not {word!r}.")
    if kind == "int":
        try:
            return _checked(Path("command line"), name, int(word))
        except ValueError:
            raise CrmError(f"{name} is a whole number, not {word!r}.") from None
    return _checked(Path("command line"), name, word)


def write_values(path: Path, values: Mapping[str, object]) -> None:
    """Write ``values`` (flat ``section.key`` names) as TOML, sections and keys in KEYS order."""
    lines: list[str] = ["# Consulting CRM settings; `crm config show` lists them all."]
    section = None
    for name in KEYS:
        if name not in values:
            continue
        table, key = name.split(".", 1)
        if table != section:
            lines += ["", f"[{table}]"]
            section = table
        lines.append(f"{key} = {_toml(values[name])}")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".toml.tmp")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    temporary.replace(path)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _checked(path: Path, name: str, value: object) -> object:
    kind = KEYS[name][0]
    where = f"{path}: {name}"
    if kind == "bool" and not isinstance(value, bool):
        raise CrmError(f"{where} must be true or false.")
    if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        raise CrmError(f"{where} must be a whole number, e.g. 2.")
    if name == "build.lock_retries" and int(value) < 0:  # type: ignore[call-overload]
        raise CrmError(f"{where} must be 0 or more, not {value}.")
    if name == "nightly.keep_runs" and int(value) < 0:  # type: ignore[call-overload]
        raise CrmError(f"{where} must be 0 (keep every run) or more, not {value}.")
    if name == "nightly.runs_dir" and (not isinstance(value, str) or not value.strip()):
        raise CrmError(f'{where} must be a folder in quotes, e.g. "runs" or "/var/log/crm".')
    if name == "serve.port" and not 1 <= int(value) <= 65535:  # type: ignore[call-overload]
        raise CrmError(f"{where} must be a TCP port between 1 and 65535, not {value}.")
    if name == "build.lock_timeout" and not _INTERVAL.match(str(value)):
        raise CrmError(
            f'{where} must be an interval such as "2min", "30s" or "500ms", not {value!r}.'
        )
    if name == "currency.base" and not re.fullmatch(r"[A-Za-z]{3}", str(value)):
        raise CrmError(
            f'{where} must be a three-letter ISO 4217 code such as "EUR", not {value!r}.'
        )
    if name == "serve.listen" and not _ADDRESS.match(str(value)):
        raise CrmError(
            f'{where} must be an address such as "127.0.0.1" or "0.0.0.0", not {value!r}.'
        )
    if kind == "str" and not isinstance(value, str):
        raise CrmError(f'{where} must be a string in quotes, e.g. "DMY".')
    if kind == "list":
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise CrmError(f'{where} must be a list of strings, e.g. ["me@example.com"].')
        for item in value:
            if "@" not in item or " " in item:
                raise CrmError(f"{where}: {item!r} is not an email address or an @domain.")
    if name == "import.date_format" and str(value).upper() not in ("DMY", "MDY", "YMD"):
        raise CrmError(f"{where} is one of DMY, MDY, YMD, not {value!r}.")
    if name == "import.date_format":
        return str(value).upper()
    if name == "import.decimal_separator" and value not in (".", ","):
        raise CrmError(f'{where} is "." or ",", not {value!r}.')
    if name == "import.years":
        match = re.fullmatch(r"\s*(\d{4})\s*-\s*(\d{4})\s*", str(value))
        if not match or int(match[1]) >= int(match[2]):
            raise CrmError(f'{where} is two years, the earlier first, e.g. "1900-2100".')
        return f"{match[1]}-{match[2]}"
    return value


def _known() -> str:
    return ", ".join(KEYS)
