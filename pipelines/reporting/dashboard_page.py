"""The dashboard's single HTML file: markup, style, data and the script that draws it.

It must work offline from a file:// URL and must never execute text that came from the
data, so: plotly.js is inlined once; the data and figures sit in one
``<script type="application/json">`` block with ``<``, ``>`` and ``&`` escaped as
``\\u003c``-style escapes (a category named ``</script>`` cannot end the block); text from
Python goes through ``html.escape``; the script writes data into the page only with
``textContent`` and hands it to plotly entity-escaped (plotly reads a few HTML tags in
labels). A Content-Security-Policy forbids any network request.

The page's styles and scripts are real files next to this module in
``dashboard_assets/`` (shipped as package data): ``dashboard.css`` and ``dashboard.js``
(the charts), ``dashboard_sections.css`` and ``dashboard_sections.js`` (the tables of
``dashboard_tables``, the URL fragment) and ``movers.css`` and ``movers.js`` (the movers
section, which registers with dashboard.js). They are read with importlib.resources and
inlined as they are, each in its own element: no text is substituted into them, the
scripts find everything they need in the JSON block.
"""

from __future__ import annotations

import html
import json
from importlib.resources import files

from plotly.offline import get_plotlyjs

from pipelines.reporting.dashboard_at_risk import section_html as at_risk_section_html
from pipelines.reporting.dashboard_metrics import Chart
from pipelines.reporting.dashboard_movers import movers_section_html
from pipelines.reporting.dashboard_tables import SECTION_TABLES, TABLE_SECTIONS

SECTIONS = (
    ("movers", "Movers", ""),
    ("tiers", "Tiers", ""),
    TABLE_SECTIONS[0],
    ("levels", "Levels and tier migration", ""),
    (
        "metrics",
        "Service metrics",
        "Merchants per bin for the selected month and category; the end bins also count "
        "values beyond the axis; merchants whose metric is not defined are counted in the "
        "title.",
    ),
    ("merchant", "Explained merchants", ""),
    *TABLE_SECTIONS[1:],
)
CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:"
)


def script_json(value: object) -> str:
    """JSON safe inside a <script> element: no '<', '>' or '&' survives unescaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for raw, escaped in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def plotly_bundle() -> str:
    """plotly.js as shipped with the pinned plotly package, checked safe to inline."""
    bundle = get_plotlyjs()
    if "</script" in bundle.lower():
        raise RuntimeError("plotly.js contains '</script' and cannot be inlined")
    return bundle


# The folder of dashboard.css and dashboard.js, inside the installed package.
ASSETS = files(__package__) / "dashboard_assets"


def asset_text(name: str, tag: str) -> str:
    """The text of ``dashboard_assets/<name>``, checked safe to inline in a ``<tag>``
    element (the HTML parser ends the element at the first ``</tag``, whatever the
    language inside says)."""
    text = (ASSETS / name).read_text(encoding="utf-8")
    if f"</{tag}" in text.lower():
        raise RuntimeError(f"{name} contains '</{tag}' and cannot be inlined")
    return text


# The page's style sheets, each inlined in its own <style> element, in this order.
STYLES = ("dashboard.css", "dashboard_sections.css", "movers.css")


def page_style() -> str:
    """The page's CSS: layout of the header, KPI boxes, chart grid, explanation and tables."""
    return "</style>\n<style>\n".join(asset_text(name, "style") for name in STYLES)


# The page's scripts, each inlined in its own <script> element, in this order: the table
# sections' script defines what dashboard.js calls, and the movers script registers with it;
# at_risk.js reads the JSON block itself and fills "At risk this month" when there is one.
SCRIPTS = ("dashboard_sections.js", "movers.js", "dashboard.js", "at_risk.js")


def page_script() -> str:
    """The page's JavaScript: it fills the figures' empty traces with the slice of the
    aggregates for the month and category chosen, and draws them, and fills the tables."""
    return "</script>\n<script>\n".join(asset_text(name, "script") for name in SCRIPTS)


def _chart_html(chart: Chart) -> str:
    chart_id = html.escape(chart.id)
    return (
        f'<figure class="chart"><div class="plot" id="chart-{chart_id}" '
        f'data-chart="{chart_id}"></div>'
        f"<figcaption>{html.escape(chart.caption)}</figcaption></figure>"
    )


def _section_html(key: str, title: str, note: str, charts: list[Chart]) -> str:
    if key == "movers":
        return movers_section_html()
    inner = "\n".join(_chart_html(c) for c in charts if c.section == key)
    extra = ""
    if key == "merchant":
        extra = (
            '<div class="controls"><label>Merchant <select id="merchant"></select></label>'
            '<span id="merchant-note" class="note"></span></div>'
        )
        inner += '\n<pre id="explanation" class="explanation"></pre>'
    inner += SECTION_TABLES.get(key, "")
    note_html = f'<p class="note">{html.escape(note)}</p>' if note else ""
    return (
        f'<section id="section-{key}"><h2>{html.escape(title)}</h2>{note_html}{extra}'
        f'<div class="grid">{inner}</div></section>'
    )


KPIS = (
    ("graded", "Merchants graded"),
    ("top", "Top tier"),
    ("fallback", "Fallback tier"),
    ("provisional", "Provisional"),
)


BUILT_FROM_META = "grading-built-from"


def render_page(
    data: dict,
    charts: list[Chart],
    meta: list[tuple[str, str]],
    warnings: list[str],
    built_from: str = "",
) -> str:
    """The whole page as one string. ``built_from`` is the digest of what it shows
    (``dashboard.built_from``), kept in a ``<meta>`` of its head."""
    kpis = "".join(
        f'<div class="kpi" id="kpi-{key}"><div class="kpi-label">{html.escape(label)}</div>'
        f'<div class="kpi-value"></div><div class="kpi-delta"></div></div>'
        for key, label in KPIS
    )
    meta_html = " · ".join(
        f"<span>{html.escape(k)}: <b>{html.escape(v)}</b></span>" for k, v in meta
    )
    warning_html = "".join(f'<p class="warning">{html.escape(w)}</p>' for w in warnings)
    sections = "\n".join(_section_html(k, t, n, charts) for k, t, n in SECTIONS)
    sections = at_risk_section_html(data.get("payload") or {}) + sections  # after the KPIs
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{html.escape(CSP)}">
<meta name="{BUILT_FROM_META}" content="{html.escape(built_from)}">
<title>Merchant grading dashboard</title>
<style>
{page_style()}</style>
</head>
<body>
<header>
<h1>Merchant grading dashboard</h1>
<p class="meta">{meta_html}</p>
{warning_html}
<div class="controls">
<label>Month <select id="month"></select></label>
<label>Main category <select id="category"></select></label>
</div>
</header>
<section id="section-kpis"><div class="kpis">{kpis}</div></section>
{sections}
<script type="application/json" id="dashboard-data">{script_json(data)}</script>
<script>{plotly_bundle()}</script>
<script>
{page_script()}</script>
</body>
</html>
"""
