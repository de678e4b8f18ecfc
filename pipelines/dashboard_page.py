"""The dashboard's single HTML file: markup, style, data and the script that draws it.

It must work offline from a file:// URL and must never execute text that came from the
data, so: plotly.js is inlined once; the data and figures sit in one
``<script type="application/json">`` block with ``<``, ``>`` and ``&`` escaped as
``\\u003c``-style escapes (a category named ``</script>`` cannot end the block); text from
Python goes through ``html.escape``; the script writes data into the page only with
``textContent`` and hands it to plotly entity-escaped (plotly reads a few HTML tags in
labels). A Content-Security-Policy forbids any network request.
"""

from __future__ import annotations

import html
import json

from plotly.offline import get_plotlyjs

from pipelines.dashboard_figures import Chart

SECTIONS = (
    ("tiers", "Tiers and exposure", ""),
    ("levels", "Levels and tier migration", ""),
    (
        "metrics",
        "Service metrics",
        "Merchants per bin for the selected month and category; the end bins also count "
        "values beyond the axis; merchants whose metric is not defined are counted in the "
        "title.",
    ),
    ("merchant", "Explained merchants", ""),
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


def _chart_html(chart: Chart) -> str:
    chart_id = html.escape(chart.id)
    return (
        f'<figure class="chart"><div class="plot" id="chart-{chart_id}" '
        f'data-chart="{chart_id}"></div>'
        f"<figcaption>{html.escape(chart.caption)}</figcaption></figure>"
    )


def _section_html(key: str, title: str, note: str, charts: list[Chart]) -> str:
    inner = "\n".join(_chart_html(c) for c in charts if c.section == key)
    extra = ""
    if key == "merchant":
        extra = (
            '<div class="controls"><label>Merchant <select id="merchant"></select></label>'
            '<span id="merchant-note" class="note"></span></div>'
        )
        inner += '\n<pre id="explanation" class="explanation"></pre>'
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


def render_page(
    data: dict, charts: list[Chart], meta: list[tuple[str, str]], warnings: list[str]
) -> str:
    """The whole page as one string."""
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
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{html.escape(CSP)}">
<title>Merchant grading dashboard</title>
<style>{STYLE}</style>
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
<script>{SCRIPT}</script>
</body>
</html>
"""


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
  background: #f5f6f8; color: #1f2933; }
header, section { padding: 12px 24px; }
header { background: #fff; border-bottom: 1px solid #dde1e6; position: sticky; top: 0;
  z-index: 10; }
h1 { font-size: 20px; margin: 4px 0; }
h2 { font-size: 17px; margin: 8px 0 4px; }
.meta { margin: 2px 0 8px; color: #52606d; font-size: 13px; }
.warning { background: #fff4e5; border-left: 4px solid #ef6c00; padding: 6px 10px;
  margin: 6px 0; font-size: 13px; }
.controls { display: flex; gap: 18px; align-items: center; flex-wrap: wrap; margin: 6px 0; }
.controls label { font-size: 14px; font-weight: 600; }
select { font-size: 14px; margin-left: 6px; padding: 3px 6px; max-width: 28em; }
.note { color: #52606d; font-size: 13px; margin: 2px 0 6px; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px; }
.kpi { background: #fff; border: 1px solid #dde1e6; border-radius: 8px; padding: 12px 16px; }
.kpi-label { font-size: 13px; color: #52606d; }
.kpi-value { font-size: 28px; font-weight: 700; margin: 4px 0; }
.kpi-delta { font-size: 13px; color: #52606d; }
.kpi-delta.better { color: #2e7d32; }
.kpi-delta.worse { color: #c62828; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 12px; }
.chart { background: #fff; border: 1px solid #dde1e6; border-radius: 8px; margin: 0;
  padding: 6px; min-width: 0; }
.plot { width: 100%; min-height: 340px; }
figcaption { font-size: 12px; color: #52606d; padding: 2px 8px 4px; }
.explanation { grid-column: 1 / -1; background: #fff; border: 1px solid #dde1e6;
  border-radius: 8px; padding: 12px 16px; font-size: 12.5px; line-height: 1.45;
  overflow-x: auto; white-space: pre; margin: 0; }
"""

# Plain JavaScript: picks the slice of the aggregates for the chosen month and category,
# fills the figures' empty traces and draws them. Data reaches the DOM only through
# textContent, and plotly only entity-escaped (esc).
SCRIPT = r"""
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("dashboard-data").textContent);
  var P = D.payload, FIG = D.figures, TEMPLATE = D.style.template, COLORS = D.style.tierColors;
  var CONFIG = {displaylogo: false, responsive: true};
  var drawn = {};
  function $(id) { return document.getElementById(id); }
  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function sum(a) { return a.reduce(function (x, y) { return x + y; }, 0); }
  function ratio(a, b) { return b > 0 ? a / b : 0; }
  function pct(x) { return (100 * x).toFixed(1) + "%"; }
  function signed(x, digits, unit) {
    var text = Math.abs(x).toFixed(digits) + unit;
    return (x > 0 ? "+" : x < 0 ? "\u2212" : "\u00b1") + text;
  }
  function fill(select, labels, selected) {
    labels.forEach(function (text, i) {
      var option = document.createElement("option");
      option.value = String(i);
      option.textContent = text;
      select.appendChild(option);
    });
    select.value = String(selected);
  }
  function figure(id) {
    var f = JSON.parse(JSON.stringify(FIG[id]));
    f.layout.template = TEMPLATE;
    return f;
  }
  function draw(id, f) {
    var div = "chart-" + id;
    if (drawn[id]) { return Plotly.react(div, f.data, f.layout, CONFIG); }
    drawn[id] = true;
    return Plotly.newPlot(div, f.data, f.layout, CONFIG);
  }
  function band(f, index) {
    f.layout.shapes = (f.layout.shapes || []).concat([{
      type: "rect", xref: "x", yref: "paper", x0: index - 0.5, x1: index + 0.5, y0: 0, y1: 1,
      fillcolor: "rgba(30,60,90,0.08)", line: {width: 0}, layer: "below"
    }]);
  }
  function rule(f, index) {
    // A line, not a band: a band hides the traces of an overlaying (right-hand) axis.
    f.layout.shapes = (f.layout.shapes || []).concat([{
      type: "line", xref: "x", yref: "paper", x0: index, x1: index, y0: 0, y1: 1,
      line: {color: "rgba(30,60,90,0.45)", width: 2, dash: "dot"}
    }]);
  }
  function title(f, suffix) { f.layout.title.text += " \u2014 " + esc(suffix); }

  var MONTHS = P.months.map(esc);
  var CATEGORY_LABELS = ["All categories"].concat(P.categories);
  var TIERS = P.tiers.map(esc);

  function kpi(key, value, delta, better) {
    var box = $("kpi-" + key);
    box.querySelector(".kpi-value").textContent = value;
    var d = box.querySelector(".kpi-delta");
    d.textContent = delta;
    d.className = "kpi-delta" + (better === true ? " better" : better === false ? " worse" : "");
  }
  function renderKpis(m, c) {
    var counts = P.tierCounts[m][c], total = sum(counts), fb = P.fallbackTier;
    var prov = P.provisional[m][c], p = P.previous[m];
    $("kpi-top").querySelector(".kpi-label").textContent = "% " + P.tiers[0];
    $("kpi-fallback").querySelector(".kpi-label").textContent = "% " + P.tiers[fb];
    if (p < 0) {
      var none = "no previous month published";
      kpi("graded", total.toLocaleString("en-US"), none);
      kpi("top", pct(ratio(counts[0], total)), none);
      kpi("fallback", pct(ratio(counts[fb], total)), none);
      kpi("provisional", pct(ratio(prov, total)), none);
      return;
    }
    var before = P.tierCounts[p][c], bt = sum(before), vs = " vs " + P.months[p];
    var dTop = 100 * (ratio(counts[0], total) - ratio(before[0], bt));
    var dFall = 100 * (ratio(counts[fb], total) - ratio(before[fb], bt));
    var dProv = 100 * (ratio(prov, total) - ratio(P.provisional[p][c], bt));
    kpi("graded", total.toLocaleString("en-US"), signed(total - bt, 0, "") + vs);
    kpi("top", pct(ratio(counts[0], total)), signed(dTop, 1, " pp") + vs,
        dTop === 0 ? null : dTop > 0);
    kpi("fallback", pct(ratio(counts[fb], total)), signed(dFall, 1, " pp") + vs,
        dFall === 0 ? null : dFall < 0);
    kpi("provisional", pct(ratio(prov, total)), signed(dProv, 1, " pp") + vs);
  }

  function renderTiers(m, c) {
    var counts = figure("tier_counts"), shares = figure("tier_shares");
    P.tiers.forEach(function (_, t) {
      counts.data[t].x = MONTHS;
      counts.data[t].y = P.tierCounts.map(function (mm) { return mm[c][t]; });
      shares.data[t].x = MONTHS;
      shares.data[t].y = P.tierCounts.map(function (mm) { return ratio(mm[c][t], sum(mm[c])); });
    });
    [counts, shares].forEach(function (f) { band(f, m); title(f, CATEGORY_LABELS[c]); });
    draw("tier_counts", counts);
    draw("tier_shares", shares);
    var byCat = figure("tier_by_category");
    var labels = CATEGORY_LABELS.map(esc);
    P.tiers.forEach(function (_, t) {
      byCat.data[t].y = labels;
      byCat.data[t].x = P.tierCounts[m].map(function (cc) { return ratio(cc[t], sum(cc)); });
    });
    byCat.layout.height = Math.max(byCat.layout.height, 130 + 22 * labels.length);
    byCat.layout.shapes = [{
      type: "rect", xref: "paper", yref: "y", x0: 0, x1: 1, y0: c - 0.5, y1: c + 0.5,
      fillcolor: "rgba(30,60,90,0.08)", line: {width: 0}, layer: "below"
    }];
    title(byCat, P.months[m]);
    draw("tier_by_category", byCat);
  }
  function renderLevels(m, c) {
    var f = figure("levels");
    f.data[0].y = P.levelCounts[m][c];
    title(f, P.months[m] + ", " + CATEGORY_LABELS[c]);
    draw("levels", f);
  }
  function renderMigration(m, c) {
    var f = figure("migration"), matrix = P.migration[m], p = P.previous[m];
    if (!matrix) {
      f.data[0].z = [[null]];
      f.data[0].x = [""];
      f.data[0].y = [""];
      f.layout.annotations = [{text: "No previous month published", xref: "paper",
        yref: "paper", x: 0.5, y: 0.5, showarrow: false, font: {size: 14}}];
      title(f, P.months[m]);
    } else {
      f.data[0].z = matrix[c];
      f.data[0].x = TIERS.concat(["(not graded)"]);
      f.data[0].y = TIERS.concat(["(new)"]);
      title(f, P.months[p] + " \u2192 " + P.months[m] + ", " + CATEGORY_LABELS[c]);
    }
    draw("migration", f);
  }
  function renderExposure(m, c) {
    var f = figure("exposure");
    P.tiers.forEach(function (_, t) {
      f.data[t].x = MONTHS;
      f.data[t].y = P.exposure.map(function (mm) { return mm[c][t]; });
    });
    band(f, m);
    title(f, CATEGORY_LABELS[c]);
    draw("exposure", f);
  }
  function renderHistograms(m, c) {
    Object.keys(P.histograms).forEach(function (metric) {
      var h = P.histograms[metric], f = figure("hist_" + metric);
      var counts = h.counts[m][c];
      f.data[0].x = counts.map(function (_, i) { return h.edges[i] + h.width / 2; });
      f.data[0].y = counts;
      f.data[0].customdata = counts.map(function (_, i) { return [h.edges[i], h.edges[i + 1]]; });
      f.data[0].hovertemplate = "[%{customdata[0]:.4g}, %{customdata[1]:.4g}): " +
        "%{y} merchants<extra></extra>";
      title(f, P.months[m] + ", " + CATEGORY_LABELS[c] + "; not defined: " + h.undefined[m][c]);
      draw("hist_" + metric, f);
    });
  }

  function latest(values) {
    for (var i = values.length - 1; i >= 0; i--) { if (values[i] !== null) { return values[i]; } }
    return null;
  }
  function merchantLabel(x) {
    var tier = latest(x.tier), level = latest(x.level);
    return x.id + " \u00b7 " + (x.category === null ? "?" : x.category) + " \u00b7 " +
      (tier === null ? "not graded" : tier + ", L" + level);
  }
  function renderMerchant(m) {
    if (!P.merchants.length) {
      $("merchant-note").textContent = "No merchant to explain.";
      return;
    }
    var x = P.merchants[Number($("merchant").value)];
    var level = figure("merchant_level"), metrics = figure("merchant_metrics");
    level.data[0].x = MONTHS;
    level.data[0].y = x.level;
    level.data[0].text = x.tier.map(function (t, i) {
      return t === null ? "not graded" : esc(t) + (x.provisional[i] ? ", provisional" : "");
    });
    level.data[0].hovertemplate = "%{x}: L%{y} (%{text})<extra></extra>";
    level.data[0].marker = {size: 11, color: x.tier.map(function (t) {
      var i = P.tiers.indexOf(t);
      return i < 0 ? "#9e9e9e" : COLORS[i];
    })};
    level.data[1].x = MONTHS;
    level.data[1].y = x.credit_points;
    title(level, x.id);
    rule(level, m);
    ["bad_order_rate", "seller_dispute_rate", "positive_feedback_rate", "on_time_ship_rate",
     "response_rate_24h", "dsr_item_avg"].forEach(function (name, i) {
      metrics.data[i].x = MONTHS;
      metrics.data[i].y = x[name];
    });
    title(metrics, x.id);
    rule(metrics, m);
    draw("merchant_level", level);
    draw("merchant_metrics", metrics);
    var text = x.explanation[m];
    $("explanation").textContent = text === null
      ? x.id + " has no published grade in " + P.months[m] + "."
      : text;
  }

  function selection() {
    return [Number($("month").value), Number($("category").value)];
  }
  function renderAll() {
    var s = selection(), m = s[0], c = s[1];
    renderKpis(m, c);
    renderTiers(m, c);
    renderLevels(m, c);
    renderMigration(m, c);
    renderExposure(m, c);
    renderHistograms(m, c);
    renderMerchant(m);
  }

  fill($("month"), P.months, P.months.length - 1);
  fill($("category"), CATEGORY_LABELS, 0);
  fill($("merchant"), P.merchants.map(merchantLabel), 0);
  $("month").addEventListener("change", renderAll);
  $("category").addEventListener("change", renderAll);
  $("merchant").addEventListener("change", function () { renderMerchant(selection()[0]); });
  renderAll();
  document.body.setAttribute("data-ready", "true");
})();
"""
