"""`crm report`: one self-contained HTML page built from the analytics models.

:mod:`~consulting_crm.report.data` reads the figures from schema ``analytics``;
:mod:`~consulting_crm.report.html` draws the page (static SVG charts from
:mod:`~consulting_crm.report.charts`, inline CSS), so the file opens offline.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from consulting_crm.report.data import ReportData, load_report_data
from consulting_crm.report.html import chart_ids, render_html

__all__ = ["ReportData", "chart_ids", "load_report_data", "render_html", "write_report"]


def write_report(conn: psycopg.Connection, out: Path) -> Path:
    data = load_report_data(conn)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(data), encoding="utf-8")
    return out
