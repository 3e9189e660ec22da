"""Open a written report in headless Chromium and read back what each chart drew.

The report itself carries no script; this adds one to a copy of the page, which measures every
chart's visible marks and reads its axes' tick labels in the browser's own layout, then writes
the result into the DOM that Chromium dumps.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from consulting_crm.report import chart_ids

_CHECK = """
<script>
window.addEventListener("load", function () {
  var charts = {};
  document.querySelectorAll("svg.chart").forEach(function (svg) {
    var marks = 0;
    svg.querySelectorAll(".role-mark > *").forEach(function (mark) {
      if (mark.closest("[aria-hidden=true]")) { return; }
      var box = mark.getBoundingClientRect();
      if (box.width > 0 && box.height > 0) { marks += 1; }
    });
    var axes = [];
    svg.querySelectorAll("g.role-axis").forEach(function (axis) {
      var labels = [];
      axis.querySelectorAll(".role-axis-label text").forEach(function (text) {
        var label = text.textContent.trim();
        if (label && text.getAttribute("opacity") !== "0") { labels.push(label); }
      });
      if (labels.length) { axes.push(labels); }
    });
    var box = svg.getBoundingClientRect();
    charts[svg.id] = {
      marks: marks, axes: axes, empty: svg.classList.contains("chart-empty"),
      width: box.width, height: box.height
    };
  });
  var json = JSON.stringify(charts);
  document.documentElement.setAttribute(
    "data-check", btoa(unescape(encodeURIComponent(json))));
});
</script>
"""


@dataclass(frozen=True)
class DrawnChart:
    marks: int  # visible marks (bars, points, an empty state's text)
    axes: list[list[str]]  # each axis' visible tick labels
    empty: bool  # drawn as the designed empty state
    width: float
    height: float


def render_report(page: Path, work: Path) -> dict[str, DrawnChart]:
    """Every chart of ``page`` as Chromium drew it; fails on a console message, a chart without
    marks, an axis repeating a tick label, or a reference to the network."""
    html = page.read_text(encoding="utf-8")
    without_namespaces = re.sub(r'xmlns(:\w+)?="http://www\.w3\.org/[^"]*"', "", html)
    assert "http://" not in without_namespaces and "https://" not in without_namespaces
    assert "<script" not in html, "the report should need no script"
    checked = work / f"{page.stem}.checked.html"
    checked.write_text(html.replace("</body>", _CHECK + "</body>"), encoding="utf-8")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is needed to render the report: apt-get install chromium"
    completed = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={work / 'chromium'}",
            "--window-size=1280,2000",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            checked.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    console_lines = [line for line in completed.stderr.splitlines() if ":CONSOLE" in line]
    assert console_lines == []
    found = re.search(r'data-check="([^"]*)"', completed.stdout)
    assert found is not None, completed.stdout[:500]
    charts = {
        chart_id: DrawnChart(**values)
        for chart_id, values in json.loads(base64.b64decode(found.group(1))).items()
    }
    assert sorted(charts) == sorted(chart_ids())
    for chart_id, chart in charts.items():
        assert chart.width > 0 and chart.height > 0, f"{chart_id} has no size"
        assert chart.marks > 0, f"{chart_id} drew no marks"
        for labels in chart.axes:
            repeated = [label for label, count in Counter(labels).items() if count > 1]
            assert repeated == [], f"{chart_id} repeats tick labels {repeated}: {labels}"
    return charts
