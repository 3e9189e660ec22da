"""The Power BI project (PBIP) that `crm powerbi` and `crm demo` write.

:mod:`.measures` holds the measures and relationships (written once), :mod:`.model` builds the
semantic model from dbt's manifest, :mod:`.report` the report pages, :mod:`.project` writes the
folder. See docs/power-bi.md and docs/design-decisions.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from consulting_crm.powerbi.project import (
    base_currency,
    current_connection,
    project_files,
    write_project,
)

__all__ = ["project_from_manifest"]


def project_from_manifest(
    out: Path,
    manifest: Path,
    *,
    force: bool = False,
    environ: Mapping[str, str] = os.environ,
) -> Path:
    """Write the project for an existing dbt ``manifest`` (e.g. the one a build just wrote)."""
    content = json.loads(manifest.read_text(encoding="utf-8"))
    files = project_files(content, current_connection(environ), base_currency(environ))
    write_project(out, files, force=force)
    return out
