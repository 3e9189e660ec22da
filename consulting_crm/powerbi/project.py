"""Writing the Power BI project (PBIP) to a folder, and refusing to overwrite hand edits.

The folder holds ``ConsultingCRM.pbip``, ``ConsultingCRM.SemanticModel/`` (``model.bim``) and
``ConsultingCRM.Report/`` (PBIR). Beside them, ``.crm-powerbi.json`` records the SHA-256 of every
file written; a later run overwrites only when every such file is unchanged (or with ``force``),
so edits saved from Power BI Desktop are never lost silently.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg import conninfo as pg_conninfo

from consulting_crm import database as db
from consulting_crm.powerbi.model import build_model, stable_id
from consulting_crm.powerbi.report import report_files
from consulting_crm.settings import load_settings
from ingest.errors import CrmError

NAME = "ConsultingCRM"
STAMP = ".crm-powerbi.json"
FABRIC = "https://developer.microsoft.com/json-schemas/fabric"
# What Power BI Desktop keeps beside the definition (cache, local settings): never ours to judge.
DESKTOP_LOCAL = ".pbi"
GITIGNORE = "**/.pbi/localSettings.json\n**/.pbi/cache.abf\n"
EMBEDDED_DATABASE = "crm"
WILDCARDS = {"0.0.0.0", "*", "::", ""}


@dataclass(frozen=True)
class Connection:
    server: str  # host or host:port, as Power BI's PostgreSQL connector takes it
    database: str


def current_connection(environ: Mapping[str, str] = os.environ) -> Connection:
    """Where Power BI should read from: ``crm db serve``'s address, else DATABASE_URL's or PG*'s."""
    target = db.resolve_target(environ, start=False)
    if target.kind == "embedded":
        settings = load_settings(environ)
        host = settings.serve_listen.split(",")[0].strip()
        if host in WILDCARDS:
            host = socket.gethostname()
        return Connection(f"{host}:{settings.serve_port}", EMBEDDED_DATABASE)
    if target.kind == "url":
        params = pg_conninfo.conninfo_to_dict(target.conninfo)
    else:
        params = {key: environ.get(variable) for key, variable in _ENV.items()}
    host = str(params.get("host") or "localhost").split(",")[0]
    if host.startswith("/"):
        host = "localhost"  # a Unix socket: Power BI reaches the same server over TCP
    port = str(params.get("port") or "5432").split(",")[0]
    server = host if port == "5432" else f"{host}:{port}"
    return Connection(server, str(params.get("dbname") or params.get("user") or "postgres"))


_ENV = {"host": "PGHOST", "port": "PGPORT", "dbname": "PGDATABASE", "user": "PGUSER"}


def base_currency(environ: Mapping[str, str] = os.environ) -> str:
    """The ``currency.base`` setting (EUR unless set): the currency every amount is in."""
    return load_settings(environ).base_currency


def _json(content: Mapping[str, Any]) -> bytes:
    return (json.dumps(content, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def project_files(
    manifest: Mapping[str, Any], connection: Connection, currency: str = "EUR"
) -> dict[str, bytes]:
    """Every file of the project, by path relative to the output folder, as bytes."""
    model_dir = f"{NAME}.SemanticModel"
    report_dir = f"{NAME}.Report"
    platform = f"{FABRIC}/gitIntegration/platformProperties/2.0.0/schema.json"
    files: dict[str, bytes] = {
        f"{NAME}.pbip": _json(
            {
                "$schema": f"{FABRIC}/pbip/pbipProperties/1.0.0/schema.json",
                "version": "1.0",
                "artifacts": [{"report": {"path": report_dir}}],
                "settings": {"enableAutoRecovery": True},
            }
        ),
        ".gitignore": GITIGNORE.encode(),
        f"{model_dir}/.platform": _json(
            {
                "$schema": platform,
                "metadata": {"type": "SemanticModel", "displayName": NAME},
                "config": {"version": "2.0", "logicalId": stable_id("semantic-model")},
            }
        ),
        f"{model_dir}/definition.pbism": _json(
            {
                "$schema": f"{FABRIC}/item/semanticModel/definitionProperties/1.0.0/schema.json",
                "version": "1.0",
                "settings": {},
            }
        ),
        f"{model_dir}/model.bim": _json(
            build_model(
                manifest, server=connection.server, database=connection.database, currency=currency
            )
        ),
        f"{report_dir}/.platform": _json(
            {
                "$schema": platform,
                "metadata": {"type": "Report", "displayName": NAME},
                "config": {"version": "2.0", "logicalId": stable_id("report")},
            }
        ),
        f"{report_dir}/definition.pbir": _json(
            {
                "$schema": f"{FABRIC}/item/report/definitionProperties/2.0.0/schema.json",
                "version": "4.0",
                "datasetReference": {"byPath": {"path": f"../{model_dir}"}},
            }
        ),
    }
    for path, content in report_files().items():
        files[f"{report_dir}/definition/{path}"] = _json(content)
    return dict(sorted(files.items()))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hand_edits(out: Path) -> list[str]:
    """Files under ``out`` that differ from what the last run wrote (or were never written by it).

    Power BI Desktop's own ``.pbi`` folders are left out; they are local state, not the project.
    """
    if not out.exists():
        return []
    present = sorted(
        path.relative_to(out).as_posix()
        for path in out.rglob("*")
        if path.is_file() and DESKTOP_LOCAL not in path.relative_to(out).parts
    )
    stamp = out / STAMP
    if not present:
        return []
    if not stamp.is_file():
        return [name for name in present]
    try:
        written: dict[str, str] = json.loads(stamp.read_text(encoding="utf-8"))["files"]
    except (ValueError, KeyError, TypeError):
        return [STAMP]
    changed = [
        name
        for name in present
        if name != STAMP and _sha256((out / name).read_bytes()) != written.get(name)
    ]
    return changed


def refuse_hand_edits(out: Path) -> None:
    """Raise a CrmError naming the files under ``out`` changed since crm powerbi wrote them."""
    edited = hand_edits(out)
    if edited:
        shown = ", ".join(edited[:5]) + (f" and {len(edited) - 5} more" if len(edited) > 5 else "")
        raise CrmError(
            f"{out} holds files that crm powerbi did not write or that changed since it wrote "
            f"them ({shown}). Save your edits elsewhere (or commit them), then run "
            "`crm powerbi --force` to overwrite, or choose another folder."
        )


def write_project(out: Path, files: Mapping[str, bytes], *, force: bool = False) -> list[str]:
    """Write ``files`` under ``out``; return the paths written. Refuses hand edits unless ``force``.

    Files the previous run wrote and this one does not are removed (a page that was dropped).
    """
    if not force:
        refuse_hand_edits(out)
    previous: dict[str, str] = {}
    stamp = out / STAMP
    if stamp.is_file():
        try:
            previous = json.loads(stamp.read_text(encoding="utf-8")).get("files", {})
        except ValueError:
            previous = {}
    for name in previous:
        if name not in files and (out / name).is_file():
            (out / name).unlink()
            _remove_empty_parents((out / name).parent, out)
    for name, data in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    record = {
        "written_by": "crm powerbi",
        "files": {name: _sha256(data) for name, data in files.items()},
    }
    stamp.write_bytes(_json(record))
    return list(files)


def _remove_empty_parents(folder: Path, out: Path) -> None:
    """Remove ``folder`` and its parents up to ``out`` while they are empty (a dropped page)."""
    while folder != out and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
