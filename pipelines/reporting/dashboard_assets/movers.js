// The movers section's script (inlined by pipelines/dashboard_page.py before dashboard.js).
// It registers the section with dashboard.js (window.dashboardSections), which hands it the
// parsed payload and calls render(month, category) whenever the selection changes. Rows are
// filtered, sorted and paged here; the CSV is built in the page (Blob + download link, no
// network). Data reaches the DOM only through textContent.
(window.dashboardSections = window.dashboardSections || []).push(function (api) {
  "use strict";
  var P = api.payload, M = P.movers, PAGE = 50;
  if (!M) { return {render: function () {}}; }
  var CATEGORIES = ["(unknown)"].concat(P.categories);
  var state = {month: -1, category: 0, sort: null, descending: false, page: 0, rows: []};
  var historyOf = {};
  (M.history.merchant || []).forEach(function (id, i) { historyOf[id] = i; });
  function $(id) { return document.getElementById(id); }
  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) { td.className = className; }
    row.appendChild(td);
    return td;
  }
  function trimmed(text) {
    return text.indexOf(".") < 0 ? text : text.replace(/0+$/, "").replace(/\.$/, "");
  }
  // n/d × scale truncated to `decimals`: truncation keeps the value on the side of the
  // threshold the grading decided (the threshold has at most `decimals` decimals).
  function truncatedRatio(n, d, scale, decimals) {
    var unit = Math.pow(10, decimals);
    var units = Math.floor((n * scale * unit) / d);
    var whole = Math.floor(units / unit), part = String(units - whole * unit);
    while (part.length < decimals) { part = "0" + part; }
    return trimmed(whole + "." + part);
  }
  function conditionText(k, n, d) {
    var c = M.conditions[k];
    if (c.kind === "text") { return c.text; }
    if (c.kind === "provisional") {
      return "provisional: " + n + " assessed orders " + c.op + " " + c.bound;
    }
    if (c.kind === "orders") { return c.label + " " + n + " " + c.op + " " + c.bound; }
    var value = d > 0 ? truncatedRatio(n, d, c.scale, c.decimals) + c.unit : "n/a";
    return c.label + " " + n + "/" + d + " = " + value + " " + c.op + " " + c.bound;
  }
  function share(units) {
    if (units === null || units === undefined) { return ""; }
    var percent = (100 * units) / M.shareUnits;
    return (percent === 0 ? "0" : trimmed(percent.toPrecision(3))) + "%";
  }
  function block(m) { return M.months[m]; }

  // One object per embedded mover of month m (built once per month, then filtered).
  function moversOf(m) {
    var b = block(m), rows = [], at = 0, explained = {};
    if (!b) { return rows; }
    b.explained.forEach(function (position, i) { explained[position] = b.explanation[i]; });
    for (var i = 0; i < b.merchant.length; i++) {
      var texts = [];
      for (var r = 0; r < b.reasonCount[i]; r++, at++) {
        texts.push(conditionText(b.reasonCondition[at], b.reasonN[at], b.reasonD[at]));
      }
      var down = b.tierAfter[i] > b.tierBefore[i];
      var deciding = texts.join("; ");
      rows.push({
        index: i, merchant: b.merchant[i], id: M.ids[b.merchant[i]], category: b.category[i],
        down: down, tierBefore: b.tierBefore[i], tierAfter: b.tierAfter[i],
        levelBefore: b.levelBefore[i], levelAfter: b.levelAfter[i],
        shareBefore: b.shareBefore[i], shareAfter: b.shareAfter[i],
        deciding: down || !deciding ? deciding : "in " + P.months[P.previous[m]] + ": " + deciding,
        explanation: explained.hasOwnProperty(i) ? explained[i] : null
      });
    }
    return rows;
  }
  var cache = {};
  function rowsOf(m) {
    if (!cache.hasOwnProperty(m)) { cache[m] = moversOf(m); }
    return cache[m];
  }
  var KEYS = {
    merchant: function (x) { return x.id; },
    category: function (x) { return CATEGORIES[x.category]; },
    tier: function (x) { return x.tierAfter - x.tierBefore; },
    level: function (x) { return x.levelAfter - x.levelBefore; },
    deciding: function (x) { return x.deciding; },
    share: function (x) { return x.shareAfter - x.shareBefore; }
  };
  function compare(a, b) { return a < b ? -1 : a > b ? 1 : 0; }
  function chosen() {
    var direction = $("movers-direction").value;
    var search = $("movers-search").value.trim().toLowerCase();
    var rows = rowsOf(state.month).filter(function (x) {
      return (state.category === 0 || x.category === state.category) &&
        (direction === "all" || (direction === "down") === x.down) &&
        (!search || x.id.toLowerCase().indexOf(search) >= 0);
    });
    if (state.sort) {
      var key = KEYS[state.sort], sign = state.descending ? -1 : 1;
      rows = rows.slice().sort(function (a, b) {
        return sign * compare(key(a), key(b)) || a.index - b.index;
      });
    }
    return rows;
  }
  function tierText(x) {
    return P.tiers[x.tierBefore] + " \u2192 " + P.tiers[x.tierAfter];
  }
  function fillTable() {
    var body = $("movers-table").querySelector("tbody"), rows = state.rows;
    var pages = Math.max(1, Math.ceil(rows.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    body.textContent = "";
    rows.slice(state.page * PAGE, (state.page + 1) * PAGE).forEach(function (x) {
      var tr = document.createElement("tr");
      tr.tabIndex = 0;
      tr.className = x.down ? "down" : "up";
      tr.setAttribute("data-merchant", x.id);
      cell(tr, x.id);
      cell(tr, CATEGORIES[x.category]);
      cell(tr, (x.down ? "\u25bc " : "\u25b2 ") + tierText(x), "tier");
      cell(tr, "L" + x.levelBefore + " \u2192 L" + x.levelAfter);
      cell(tr, x.deciding);
      cell(tr, share(x.shareBefore) + " \u2192 " + share(x.shareAfter), "number");
      tr.addEventListener("click", function () { showMover(x); });
      tr.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { showMover(x); }
      });
      body.appendChild(tr);
    });
    $("movers-page").textContent = rows.length
      ? "rows " + (state.page * PAGE + 1) + "\u2013" +
        Math.min(rows.length, (state.page + 1) * PAGE) + " of " + rows.length.toLocaleString("en-US")
      : "no rows";
    $("movers-prev").disabled = state.page === 0;
    $("movers-next").disabled = state.page >= pages - 1;
  }
  // A stale month was graded before an earlier month or its landing files changed: its
  // moves may not hold (the page's banner says how to bring it up to date).
  function staleNote(m) {
    return P.quality.stale.indexOf(P.months[m]) >= 0 ? " " + P.months[m] + " is stale: " +
      "these moves may not hold until it is graded again." : "";
  }
  function note(m) {
    var b = block(m);
    if (!b) {
      var hidden = P.previousHidden[m];
      return (hidden ? hidden + " is published but not among the months shown: moves " +
          "from it into " + P.months[m] + " are not listed here (`grading explain --month " +
          P.months[m] + "` compares a merchant with it)."
        : "No previous month published before " + P.months[m] + ": nobody can have moved.") +
        " The explained merchants below are fixed picks." + staleNote(m);
    }
    var text = b.down.toLocaleString("en-US") + " down, " + b.up.toLocaleString("en-US") +
      " up from " + P.months[P.previous[m]] + " in all categories";
    if (state.category && b.rows === b.down + b.up) {
      var here = rowsOf(m).filter(function (x) { return x.category === state.category; });
      var down = here.filter(function (x) { return x.down; }).length;
      text += "; in " + CATEGORIES[state.category] + ": " + down + " down, " +
        (here.length - down) + " up";
    }
    text += "." + staleNote(m);
    if (b.rows < b.down + b.up) {
      text += " Only " + b.rows.toLocaleString("en-US") + " are embedded at this size " +
        "(the page's limit); run `grading explain --merchant ID --month " + P.months[m] +
        "` for the others.";
    }
    return text;
  }
  function refresh() {
    state.rows = chosen();
    fillTable();
    var headers = $("movers-table").querySelectorAll("th[data-sort]");
    Array.prototype.forEach.call(headers, function (th) {
      var key = th.getAttribute("data-sort");
      th.setAttribute("aria-sort", key !== state.sort ? "none"
        : state.descending ? "descending" : "ascending");
    });
  }

  // The 12 months of one explained mover, as the merchant panel's object.
  function panelMerchant(x) {
    var h = historyOf.hasOwnProperty(x.merchant) ? historyOf[x.merchant] : -1;
    if (h < 0) { return null; }
    var H = M.history, month = state.month, merchant = {
      id: x.id, category: H.category[h], level: H.level[h], credit_points: H.credit_points[h],
      tier: H.tier[h].map(function (t) { return t === null ? null : P.tiers[t]; }),
      provisional: H.provisional[h].map(function (p) { return p === 1; }),
      // Only the month it moved in is embedded; other graded months say how to get theirs.
      explanation: P.months.map(function (other, i) {
        if (i === month) { return x.explanation; }
        return H.tier[h][i] === null ? null : "The page holds the " + P.months[month] +
          " explanation of " + x.id + " only. Run: grading explain --warehouse " +
          "<warehouse.duckdb> --merchant " + x.id + " --month " + other;
      })
    };
    P.merchantMetrics.forEach(function (name) { merchant[name] = H[name][h]; });
    return merchant;
  }
  function historyTable(merchant) {
    var table = $("movers-history"), labels = api.metricLabels;
    table.textContent = "";
    var head = document.createElement("tr");
    cell(head, "month", "label");
    P.months.forEach(function (month, i) {
      cell(head, month, i === state.month ? "current" : "");
    });
    table.appendChild(head);
    function line(label, values, show) {
      var tr = document.createElement("tr");
      cell(tr, label, "label");
      values.forEach(function (v, i) {
        cell(tr, v === null ? "\u2014" : show(v, i), i === state.month ? "current" : "");
      });
      table.appendChild(tr);
    }
    line("tier", merchant.tier, function (t, i) {
      return t + (merchant.provisional[i] ? " (prov.)" : "");
    });
    line("level", merchant.level, function (l) { return "L" + l; });
    line("credit points", merchant.credit_points, String);
    P.merchantMetrics.forEach(function (name) {
      line(labels[name] || name, merchant[name], function (v) {
        // Cut, not rounded, like the explanation and the deciding metrics (3/112 is
        // 2.67%); the 1e-7 keeps a float just under an exact value (0.29) from dropping.
        var cut = Math.floor((name === "dsr_item_avg" ? 100 : 10000) * v + 1e-7) / 100;
        return name === "dsr_item_avg" ? cut.toFixed(2) : trimmed(cut.toFixed(2)) + "%";
      });
    });
  }
  function showMover(x) {
    var detail = $("movers-detail"), merchant = panelMerchant(x);
    detail.hidden = false;
    $("movers-detail-title").textContent = x.id + " \u00b7 " + CATEGORIES[x.category] + " \u00b7 " +
      tierText(x) + " in " + P.months[state.month];
    if (merchant === null || x.explanation === null) {
      $("movers-history").textContent = "";
      $("movers-explanation").textContent = "The explanation of " + x.id + " is not embedded " +
        "at this size (the page explains the " + M.caps.explained.toLocaleString("en-US") +
        " movers with the largest exposure change). Run: grading explain --warehouse " +
        "<warehouse.duckdb> --merchant " + x.id + " --month " + P.months[state.month];
      return;
    }
    historyTable(merchant);
    $("movers-explanation").textContent = x.explanation;
    api.showMerchant(merchant);
  }

  function csvCell(value) {
    var text = String(value);
    if (/^[=+\-@\t\r]/.test(text)) { text = "'" + text; }  // not a formula in a spreadsheet
    return /[",\r\n]/.test(text) ? "\"" + text.replace(/"/g, "\"\"") + "\"" : text;
  }
  function csvText(rows) {
    var month = P.months[state.month], before = P.months[P.previous[state.month]];
    var lines = [[
      "month", "previous_month", "merchant_id", "main_category", "direction", "tier_before",
      "tier_after", "level_before", "level_after", "deciding_metrics",
      "exposure_share_before", "exposure_share_after"
    ].join(",")];
    rows.forEach(function (x) {
      lines.push([
        month, before, x.id, CATEGORIES[x.category], x.down ? "down" : "up",
        P.tiers[x.tierBefore], P.tiers[x.tierAfter], x.levelBefore, x.levelAfter, x.deciding,
        (x.shareBefore / M.shareUnits).toFixed(9), (x.shareAfter / M.shareUnits).toFixed(9)
      ].map(csvCell).join(","));
    });
    return lines.join("\r\n") + "\r\n";
  }
  function download() {
    var link = $("movers-csv");
    if (link.href && link.href.indexOf("blob:") === 0) { URL.revokeObjectURL(link.href); }
    var blob = new Blob(["\ufeff" + csvText(state.rows)], {type: "text/csv;charset=utf-8"});
    link.href = URL.createObjectURL(blob);
    link.download = ("movers-" + P.months[state.month] + "-" + $("movers-direction").value +
      (state.category ? "-" + CATEGORIES[state.category] : "")).replace(/[^\w.-]+/g, "_") + ".csv";
  }

  $("movers-direction").addEventListener("change", function () { state.page = 0; refresh(); });
  $("movers-search").addEventListener("input", function () { state.page = 0; refresh(); });
  $("movers-prev").addEventListener("click", function () { state.page -= 1; fillTable(); });
  $("movers-next").addEventListener("click", function () { state.page += 1; fillTable(); });
  $("movers-csv").addEventListener("click", download);
  Array.prototype.forEach.call($("movers-table").querySelectorAll("th[data-sort]"),
    function (th) {
      th.tabIndex = 0;
      function sort() {
        var key = th.getAttribute("data-sort");
        state.descending = state.sort === key ? !state.descending : false;
        state.sort = key;
        state.page = 0;
        refresh();
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (event) { if (event.key === "Enter") { sort(); } });
    });

  return {
    render: function (m, c) {
      if (m !== state.month) { $("movers-detail").hidden = true; }
      if (m !== state.month || c !== state.category) { state.page = 0; }
      state.month = m;
      state.category = c;
      $("movers-note").textContent = note(m);
      refresh();
    }
  };
});
