"""The report (PBIR): pages that mirror the HTML report, each with a date slicer.

A page is a list of visuals; a visual binds fields (a measure of the measure table, a column, or
the sum of a column) to the roles of its visual type. :func:`report_files` turns them into the
JSON files of the PBIR ``definition/`` folder, with ids derived from names so that two runs write
the same bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from consulting_crm.powerbi.measures import MEASURE_TABLE

SCHEMAS = "https://developer.microsoft.com/json-schemas/fabric/item/report/definition"
PAGE_SCHEMA = f"{SCHEMAS}/page/2.0.0/schema.json"
VISUAL_SCHEMA = f"{SCHEMAS}/visualContainer/2.0.0/schema.json"
PAGES_SCHEMA = f"{SCHEMAS}/pagesMetadata/1.0.0/schema.json"
REPORT_SCHEMA = f"{SCHEMAS}/report/3.0.0/schema.json"
VERSION_SCHEMA = f"{SCHEMAS}/versionMetadata/1.0.0/schema.json"
PAGE_WIDTH, PAGE_HEIGHT = 1280, 720


@dataclass(frozen=True)
class Field:
    """What a visual shows: ``kind`` is "measure", "column" or "sum" (of a column)."""

    kind: str
    table: str
    name: str

    @property
    def query_ref(self) -> str:
        base = f"{self.table}.{self.name}"
        return f"Sum({base})" if self.kind == "sum" else base


def measure(name: str) -> Field:
    return Field("measure", MEASURE_TABLE, name)


def column(table: str, name: str) -> Field:
    return Field("column", table, name)


def total(table: str, name: str) -> Field:
    return Field("sum", table, name)


@dataclass(frozen=True)
class Visual:
    title: str
    visual_type: str
    roles: tuple[tuple[str, tuple[Field, ...]], ...]
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Page:
    title: str
    visuals: tuple[Visual, ...]


def _card(title: str, x: int, y: int) -> Visual:
    return Visual(title, "card", (("Values", (measure(title),)),), x, y, 170, 110)


def _date_slicer() -> Visual:
    return Visual(
        "Date", "slicer", (("Values", (column("dim_date", "date_day"),)),), 1060, 10, 210, 110
    )


PAGES: tuple[Page, ...] = (
    Page(
        "Headline",
        (
            _card("Open Pipeline", 10, 10),
            _card("Weighted Pipeline", 190, 10),
            _card("Win Rate TTM", 370, 10),
            _card("Pipeline Velocity", 550, 10),
            _card("Revenue TTM", 10, 130),
            _card("Top Client Share TTM", 190, 130),
            _card("HHI TTM", 370, 130),
            _card("Average Sales Cycle TTM", 550, 130),
            _date_slicer(),
        ),
    ),
    Page(
        "Pipeline",
        (
            Visual(
                "Open pipeline by stage",
                "clusteredBarChart",
                (
                    ("Category", (column("fct_opportunities", "stage"),)),
                    ("Y", (measure("Open Pipeline"), measure("Weighted Pipeline"))),
                ),
                10,
                10,
                620,
                340,
            ),
            Visual(
                "Lead funnel by source",
                "clusteredBarChart",
                (
                    ("Category", (column("lead_funnel", "lead_source"),)),
                    (
                        "Y",
                        (
                            total("lead_funnel", "leads_created"),
                            total("lead_funnel", "leads_contacted_or_later"),
                            total("lead_funnel", "leads_qualified_or_later"),
                            total("lead_funnel", "leads_converted"),
                        ),
                    ),
                ),
                10,
                360,
                1040,
                350,
            ),
            _date_slicer(),
        ),
    ),
    Page(
        "Revenue",
        (
            Visual(
                "Recognised revenue by month",
                "lineChart",
                (
                    ("Category", (column("dim_date", "month_start_date"),)),
                    ("Y", (measure("Recognised Revenue"),)),
                ),
                10,
                10,
                1040,
                340,
            ),
            Visual(
                "Revenue concentration",
                "tableEx",
                (
                    (
                        "Values",
                        tuple(
                            column("revenue_concentration", name)
                            for name in (
                                "period",
                                "total_revenue",
                                "client_count",
                                "top1_share",
                                "top3_share",
                                "top5_share",
                                "hhi",
                                "clients_for_80pct",
                            )
                        ),
                    ),
                ),
                10,
                360,
                1040,
                350,
            ),
            _date_slicer(),
        ),
    ),
    Page(
        "Client health",
        (
            Visual(
                "Client health",
                "tableEx",
                (
                    (
                        "Values",
                        tuple(
                            column("client_health", name)
                            for name in (
                                "account_name",
                                "health_band",
                                "days_since_last_activity",
                                "activities_90d",
                                "open_opportunity_count",
                                "open_pipeline_amount",
                                "active_project_count",
                                "revenue_ttm",
                                "revenue_prior_ttm",
                            )
                        ),
                    ),
                ),
                10,
                10,
                1040,
                700,
            ),
            _date_slicer(),
        ),
    ),
)


def _name(*parts: str) -> str:
    """A stable 20-character id for a page or visual (PBIR names are ids, at most 50 long)."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:20]


def _field(field: Field) -> dict[str, Any]:
    source = {"Expression": {"SourceRef": {"Entity": field.table}}, "Property": field.name}
    if field.kind == "measure":
        return {"Measure": source}
    if field.kind == "column":
        return {"Column": source}
    return {"Aggregation": {"Expression": {"Column": source}, "Function": 0}}


def _visual(page: Page, index: int, visual: Visual) -> dict[str, Any]:
    query_state = {
        role: {
            "projections": [
                {"field": _field(field), "queryRef": field.query_ref, "nativeQueryRef": field.name}
                for field in fields
            ]
        }
        for role, fields in visual.roles
    }
    content: dict[str, Any] = {
        "$schema": VISUAL_SCHEMA,
        "name": _name(page.title, visual.title, str(index)),
        "position": {
            "x": visual.x,
            "y": visual.y,
            "z": index * 1000,
            "width": visual.width,
            "height": visual.height,
            "tabOrder": index * 1000,
        },
        "visual": {
            "visualType": visual.visual_type,
            "query": {"queryState": query_state},
            "visualContainerObjects": {
                "title": [
                    {
                        "properties": {
                            "show": {"expr": {"Literal": {"Value": "true"}}},
                            "text": {"expr": {"Literal": {"Value": _dax_string(visual.title)}}},
                        }
                    }
                ]
            },
            "drillFilterOtherVisuals": True,
        },
    }
    if visual.visual_type == "slicer":
        # A date range (from, to), not a list of every day.
        content["visual"]["objects"] = {
            "data": [{"properties": {"mode": {"expr": {"Literal": {"Value": "'Between'"}}}}}]
        }
    return content


def _dax_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def report_files() -> dict[str, dict[str, Any]]:
    """Every JSON file of the report's ``definition/`` folder, by path within it."""
    files: dict[str, dict[str, Any]] = {
        "version.json": {"$schema": VERSION_SCHEMA, "version": "2.0.0"},
        "report.json": {"$schema": REPORT_SCHEMA, "themeCollection": {}},
        "pages/pages.json": {
            "$schema": PAGES_SCHEMA,
            "pageOrder": [_name(page.title) for page in PAGES],
            "activePageName": _name(PAGES[0].title),
        },
    }
    for page in PAGES:
        page_name = _name(page.title)
        files[f"pages/{page_name}/page.json"] = {
            "$schema": PAGE_SCHEMA,
            "name": page_name,
            "displayName": page.title,
            "displayOption": "FitToPage",
            "height": PAGE_HEIGHT,
            "width": PAGE_WIDTH,
        }
        for index, visual in enumerate(page.visuals):
            content = _visual(page, index, visual)
            files[f"pages/{page_name}/visuals/{content['name']}/visual.json"] = content
    return files


def bound_fields() -> set[Field]:
    """Every field any visual binds to."""
    return {
        field
        for page in PAGES
        for visual in page.visuals
        for _, fields in visual.roles
        for field in fields
    }
