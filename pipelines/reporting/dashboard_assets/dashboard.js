// The dashboard page's script (inlined by pipelines/dashboard_page.py). Plain JavaScript:
// it picks the slice of the aggregates for the chosen month and category, fills the
// figures' empty traces and draws them. Data reaches the DOM only through textContent,
// and plotly only entity-escaped (esc).
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
  // The table sections, the URL fragment and the heatmap's colours (dashboard_sections.js).
  var SECTIONS = window.DashboardSections(P, renderAll);
  var CATEGORY_LABELS = ["All categories"].concat(P.categories);
  var TIERS = P.tiers.map(esc);

  function kpi(key, value, delta, better) {
    var box = $("kpi-" + key);
    box.querySelector(".kpi-value").textContent = value;
    var d = box.querySelector(".kpi-delta");
    d.textContent = delta;
    d.className = "kpi-delta" + (better === true ? " better" : better === false ? " worse" : "");
  }
  // Why month m has nothing to compare with: no month before it is published, or the one
  // before is published but older than the months this page shows.
  function noPrevious(m) {
    var hidden = P.previousHidden[m];
    return hidden ? hidden + " is published but not among the months shown"
      : "no previous month published";
  }
  function renderKpis(m, c) {
    var counts = P.tierCounts[m][c], total = sum(counts), fb = P.fallbackTier;
    var prov = P.provisional[m][c], p = P.previous[m];
    $("kpi-top").querySelector(".kpi-label").textContent = "% " + P.tiers[0];
    $("kpi-fallback").querySelector(".kpi-label").textContent = "% " + P.tiers[fb];
    if (p < 0) {
      var none = noPrevious(m);
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
    P.segments.forEach(function (_, t) {
      counts.data[t].x = MONTHS;
      counts.data[t].y = P.segmentMerchants.map(function (mm) { return mm[c][t]; });
      shares.data[t].x = MONTHS;
      shares.data[t].y = P.segmentMerchants.map(function (mm) {
        return ratio(mm[c][t], sum(mm[c]));
      });
    });
    [counts, shares].forEach(function (f) { band(f, m); title(f, CATEGORY_LABELS[c]); });
    draw("tier_counts", counts);
    draw("tier_shares", shares);
    var byCat = figure("tier_by_category");
    var labels = CATEGORY_LABELS.map(esc);
    P.segments.forEach(function (_, t) {
      byCat.data[t].y = labels;
      byCat.data[t].x = P.segmentMerchants[m].map(function (cc) {
        return ratio(cc[t], sum(cc));
      });
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
      var none = noPrevious(m);
      f.layout.annotations = [{text: none.charAt(0).toUpperCase() + none.slice(1), xref: "paper",
        yref: "paper", x: 0.5, y: 0.5, showarrow: false, font: {size: 14}}];
      title(f, P.months[m]);
    } else {
      SECTIONS.colourMigration(f.data[0], matrix[c]);
      f.data[0].x = TIERS.concat(["(not graded)"]);
      f.data[0].y = TIERS.concat(["(new)"]);
      title(f, P.months[p] + " \u2192 " + P.months[m] + ", " + CATEGORY_LABELS[c]);
    }
    draw("migration", f);
  }
  function renderExposure(m, c) {
    var f = figure("exposure");
    P.segments.forEach(function (_, t) {
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
      var format = P.rateMetrics.indexOf(metric) >= 0 ? ":.2~%" : ":.4g";
      f.data[0].hovertemplate = "[%{customdata[0]" + format + "}, %{customdata[1]" + format +
        "}): %{y} merchants<extra></extra>";
      title(f, P.months[m] + ", " + CATEGORY_LABELS[c] + "; not defined: " + h.undefined[m][c]);
      draw("hist_" + metric, f);
    });
  }

  // The merchant's tier and level in the selected month.
  function merchantLabel(x, m) {
    var tier = x.tier[m], level = x.level[m];
    return x.id + " \u00b7 " + (x.category === null ? "?" : x.category) + " \u00b7 " +
      (tier === null ? "not graded in " + P.months[m]
        : tier + (x.provisional[m] ? " (provisional)" : "") + ", L" + level + " in " +
          P.months[m]);
  }
  function labelMerchants(m) {
    var options = $("merchant").options;
    P.merchants.forEach(function (x, i) { options[i].textContent = merchantLabel(x, m); });
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
    P.merchantMetrics.forEach(function (name, i) {
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
  // Show a merchant object (the shape of P.merchants' entries) in the merchant panel,
  // adding it to the panel's list if it is not there yet.
  function showMerchant(x) {
    var at = P.merchants.map(function (y) { return y.id; }).indexOf(x.id);
    if (at < 0) {
      at = P.merchants.push(x) - 1;
      var option = document.createElement("option");
      option.value = String(at);
      option.textContent = merchantLabel(x);
      $("merchant").appendChild(option);
    } else {
      P.merchants[at] = x;
    }
    $("merchant").value = String(at);
    renderMerchant(selection()[0]);
  }
  // Sections in their own script files register before this one (window.dashboardSections)
  // and get the payload and the panel; render(month, category) follows the selection.
  var sections = (window.dashboardSections || []).map(function (init) {
    return init({
      payload: P,
      showMerchant: showMerchant,
      metricLabels: P.merchantMetrics.reduce(function (labels, name, i) {
        labels[name] = FIG.merchant_metrics.data[i].name;
        return labels;
      }, {})
    });
  });
  function renderAll() {
    var s = selection(), m = s[0], c = s[1];
    renderKpis(m, c);
    renderTiers(m, c);
    renderLevels(m, c);
    renderMigration(m, c);
    renderExposure(m, c);
    renderHistograms(m, c);
    labelMerchants(m);
    renderMerchant(m);
    SECTIONS.render(m, c);
    sections.forEach(function (section) { section.render(m, c); });
  }

  fill($("month"), P.months, P.months.length - 1);
  fill($("category"), CATEGORY_LABELS, 0);
  fill($("merchant"), P.merchants.map(function (x) { return x.id; }), 0);
  SECTIONS.restore();
  $("month").addEventListener("change", renderAll);
  $("category").addEventListener("change", renderAll);
  $("merchant").addEventListener("change", function () { renderMerchant(selection()[0]); });
  renderAll();
  document.body.setAttribute("data-ready", "true");
})();
