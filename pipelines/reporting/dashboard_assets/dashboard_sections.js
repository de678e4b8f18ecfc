// The dashboard's table sections and shared view state (inlined by
// pipelines/dashboard_page.py before dashboard.js, which calls it): the category x tier
// pivot, compliance, exposure and resources, data quality; the migration heatmap's
// up/down colours; and the month and category kept in the URL fragment
// (#month=2026-03&category=Home), so that a view can be shared as a link. Data reaches the
// DOM only through textContent.
(function () {
  "use strict";
  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (className) { node.className = className; }
    return node;
  }
  function sum(a) { return a.reduce(function (x, y) { return x + y; }, 0); }
  function ratio(a, b) { return b > 0 ? a / b : 0; }
  function pct(x) { return (100 * x).toFixed(1) + "%"; }
  // A quarantine share beside its limit: cut, not rounded, so 0.999% never reads 1.00%.
  function pct2(x) { return (Math.floor(10000 * x + 1e-7) / 100).toFixed(2) + "%"; }
  function count(n) { return Number(n).toLocaleString("en-US"); }

  // A table from a header row and body rows; each cell is [text, sortValue?, className?].
  function fillTable(table, head, rows, foot) {
    table.textContent = "";
    var thead = el("thead"), tr = el("tr");
    head.forEach(function (h) { tr.appendChild(h); });
    thead.appendChild(tr);
    table.appendChild(thead);
    var tbody = el("tbody");
    rows.forEach(function (row) { tbody.appendChild(row); });
    var first = rows.length ? rows[0] : foot;  // numeric columns: headers right-aligned too
    if (first) {
      Array.prototype.forEach.call(first.children, function (td, i) {
        if (td.classList.contains("num") && head[i]) { head[i].classList.add("num"); }
      });
    }
    table.appendChild(tbody);
    if (foot) {
      var tfoot = el("tfoot");
      tfoot.appendChild(foot);
      table.appendChild(tfoot);
    }
  }
  function row(cells, className) {
    var tr = el("tr", null, className);
    cells.forEach(function (cell) {
      var td = el("td", cell[0], cell[2]);
      if (cell[1] !== undefined) { td.setAttribute("data-value", String(cell[1])); }
      if (typeof cell[1] === "number") { td.classList.add("num"); }
      tr.appendChild(td);
    });
    return tr;
  }
  function heads(labels) { return labels.map(function (l) { return el("th", l); }); }
  function note(id, text) { document.getElementById(id + "-note").textContent = text; }

  window.DashboardSections = function (P, render) {
    var SEGMENTS = P.segments, CATEGORIES = ["All categories"].concat(P.categories);
    var monthSelect = document.getElementById("month");
    var categorySelect = document.getElementById("category");
    // Pivot sort: the column (-1: category name) and direction; by % failing first.
    var sort = {column: null, descending: true};

    // --- the URL fragment ---------------------------------------------------------------
    function readFragment() {
      var params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
      var month = P.months.indexOf(params.get("month"));
      var category = params.has("category") ? P.categories.indexOf(params.get("category")) : -1;
      return [month, category < 0 ? 0 : category + 1];
    }
    function restore() {
      var wanted = readFragment();
      if (wanted[0] >= 0) { monthSelect.value = String(wanted[0]); }
      categorySelect.value = String(wanted[1]);
    }
    function writeFragment(m, c) {
      var params = new URLSearchParams();
      params.set("month", P.months[m]);
      if (c > 0) { params.set("category", P.categories[c - 1]); }
      var hash = "#" + params.toString();
      if (window.location.hash !== hash) { window.location.replace(hash); }
    }
    window.addEventListener("hashchange", function () {
      var wanted = readFragment();
      var m = wanted[0] >= 0 ? wanted[0] : Number(monthSelect.value);
      if (String(m) !== monthSelect.value || String(wanted[1]) !== categorySelect.value) {
        monthSelect.value = String(m);
        categorySelect.value = String(wanted[1]);
        render();
      }
    });

    // --- category x tier pivot ----------------------------------------------------------
    function pivotRow(m, c, selected) {
      var counts = P.segmentMerchants[m][c], total = sum(counts);
      var cells = [[CATEGORIES[c], CATEGORIES[c], "name"], [count(total), total]];
      counts.forEach(function (n) {
        var share = ratio(n, total);
        cells.push([count(n) + " \u00b7 " + pct(share), share]);
      });
      var tr = row(cells, selected ? "selected" : "");
      tr.setAttribute("data-category", CATEGORIES[c]);
      return tr;
    }
    function sortKey(tr, column) {
      var value = tr.children[column + 1].getAttribute("data-value");
      return column < 0 ? value : Number(value);
    }
    function renderPivot(m, c) {
      if (sort.column === null) {
        var failing = SEGMENTS.indexOf(P.tiers[P.fallbackTier]);
        sort.column = failing < 0 ? 0 : failing + 1;
      }
      var rows = P.categories.map(function (_, i) { return pivotRow(m, i + 1, c === i + 1); });
      rows.sort(function (a, b) {
        var x = sortKey(a, sort.column), y = sortKey(b, sort.column);
        var order = x < y ? -1 : x > y ? 1 : 0;
        if (order === 0) { return sortKey(a, -1) < sortKey(b, -1) ? -1 : 1; }  // ties: by name
        return sort.descending ? -order : order;
      });
      var labels = ["Main category", "Merchants"].concat(SEGMENTS.map(function (s) {
        return "% " + s;
      }));
      var head = labels.map(function (label, i) {
        var th = el("th"), button = el("button", label, "sort");
        var column = i - 1;
        button.type = "button";
        button.setAttribute("data-column", String(column));
        button.addEventListener("click", function () {
          sort.descending = sort.column === column ? !sort.descending : column >= 0;
          sort.column = column;
          renderPivot(Number(monthSelect.value), Number(categorySelect.value));
        });
        th.appendChild(button);
        if (column === sort.column) {
          th.setAttribute("aria-sort", sort.descending ? "descending" : "ascending");
        }
        return th;
      });
      fillTable(document.getElementById("pivot"), head, rows, pivotRow(m, 0, c === 0));
      note("pivot", P.months[m] + ". Each cell: merchants \u00b7 share of the category's " +
        "merchants. Provisional merchants had too few orders to be assessed.");
    }

    // --- compliance ---------------------------------------------------------------------
    function renderCompliance(m, c) {
      var C = P.compliance;
      function breachRow(cc) {
        var merchants = sum(P.segmentMerchants[m][cc]);
        var ineligible = merchants - sum(P.segmentEligible[m][cc]);
        return row([[CATEGORIES[cc], CATEGORIES[cc], "name"], [count(merchants), merchants],
          [count(ineligible) + " \u00b7 " + pct(ratio(ineligible, merchants)), ineligible]]
          .concat(C.breaches[m][cc].map(function (n) { return [count(n), n]; })),
          cc === c ? "selected" : "");
      }
      fillTable(document.getElementById("compliance-breaches"),
        heads(["Main category", "Merchants", "Ineligible"].concat(C.rules)),
        P.categories.map(function (_, i) { return breachRow(i + 1); }), breachRow(0));
      note("compliance-breaches", P.months[m] + ". A merchant can break several rules.");
      var listed = C.ineligible[m].filter(function (x) { return c === 0 || x.c === c; });
      var total = sum(P.segmentMerchants[m][c]) - sum(P.segmentEligible[m][c]);
      fillTable(document.getElementById("ineligible"),
        heads(["Merchant", "Main category", "Tier " + P.months[m], "Rules broken"]),
        listed.map(function (x) {
          return row([[x.id], [CATEGORIES[x.c]], [x.tier === null ? "" : x.tier],
            [x.rules.map(function (r) { return C.rules[r]; }).join(", ")]]);
        }));
      note("ineligible", count(total) + " ineligible in " + CATEGORIES[c] + ", " +
        P.months[m] + (listed.length < total ? "; listed: " + count(listed.length) +
        " (the first " + C.listedPerCategory + " of each category by merchant id; all are " +
        "in the merchant_compliance table)" : "") + ".");
    }

    // --- exposure and resources ---------------------------------------------------------
    function renderExposure(m, c) {
      function shareRow(cc) {
        return row([[CATEGORIES[cc], CATEGORIES[cc], "name"]].concat(
          P.exposure[m][cc].map(function (x) { return [pct(x), x]; })),
          cc === c ? "selected" : "");
      }
      fillTable(document.getElementById("exposure-shares"),
        heads(["Main category"].concat(SEGMENTS)),
        P.categories.map(function (_, i) { return shareRow(i + 1); }), shareRow(0));
      note("exposure-shares", P.months[m] + ". Each row adds up to 100%: within a " +
        "category, the share of its exposure each tier's merchants get; for all " +
        "categories, the share of the whole marketplace's exposure weight.");
      var columns = [P.segmentMerchants, P.segmentEligible, P.segmentShowcaseSlots,
        P.segmentPromotionEligible, P.segmentEmailQuota];
      var rows = SEGMENTS.map(function (s, i) {
        var share = P.exposure[m][c][i];
        return row([[s, s, "name"], [pct(share), share]].concat(
          columns.map(function (a) { return [count(a[m][c][i]), a[m][c][i]]; })));
      });
      var totals = row([["Total", "", "name"],
        [pct(sum(P.exposure[m][c])), sum(P.exposure[m][c])]].concat(
        columns.map(function (a) { return [count(sum(a[m][c])), sum(a[m][c])]; })));
      fillTable(document.getElementById("resources"),
        heads(["Tier", "Exposure share", "Merchants", "Eligible merchants", "Showcase slots",
          "Promotion-eligible merchants", "E-mail quota"]), rows, totals);
      note("resources", P.months[m] + ", " + CATEGORIES[c] + ".");
    }

    // --- data quality -------------------------------------------------------------------
    function renderQuality(m) {
      var Q = P.quality;
      fillTable(document.getElementById("quarantine"),
        heads(["Month", "Dataset", "Rows read", "Quarantined", "Share",
          "Against the month's limit", "Reasons"]),
        Q.quarantine.map(function (q) {
          var share = ratio(q.quarantined, q.read);
          return row([[q.month], [q.dataset], [count(q.read), q.read],
            [count(q.quarantined), q.quarantined], [pct2(share), share],
            [(q.over ? "over " : "within ") + q.limit, q.over ? 1 : 0, q.over ? "over" : ""],
            [q.reasons.map(function (r) { return r.reason + " " + count(r.rows); })
              .join(", ")]], q.month === P.months[m] ? "selected" : "");
        }));
      note("quarantine", "Limit from each month's policy: more than that share of a " +
        "dataset's rows for the month quarantined blocks the month (the check compares the " +
        "exact fraction; shares here are rounded).");
      fillTable(document.getElementById("unpublished"),
        heads(["Month", "Run saw the landing files", "Datasets", "Publication standing"]),
        Q.unpublished.map(function (u) {
          return row([[u.month], [u.seen], [u.datasets.join(", ")],
            [u.published === null ? "none" : "from " + u.published]]);
        }));
      note("unpublished", Q.unpublished.length ? "The latest run of these months did not " +
        "publish (a blocking data check or another failure): the warehouse keeps what was " +
        "published before. The run's Data Docs page and Dagster run say why."
        : "None: every month a run saw was published.");
      fillTable(document.getElementById("restated"),
        heads(["Month", "Published", "Why", "Policy", "Tiers before", "Tiers after"]),
        Q.restated.map(function (r) {
          return row([[r.month], [r.published], [r.reason], [r.policy], [r.before],
            [r.after]]);
        }));
      note("restated", Q.restated.length ? "Months published again with other results."
        : "None: no month has been restated.");
    }

    // --- the migration heatmap's colours ------------------------------------------------
    // Colour value per cell: negative for a move down (to a worse tier), positive for a
    // move up, 0 on the diagonal and for merchants joining or leaving, scaled by the
    // largest move so that the (much larger) diagonal does not wash the moves out.
    function colourMigration(trace, matrix) {
      var n = P.tiers.length, largest = 0;
      matrix.forEach(function (r, i) {
        r.forEach(function (v, j) {
          if (i < n && j < n && i !== j) { largest = Math.max(largest, v); }
        });
      });
      trace.text = matrix;
      trace.customdata = matrix.map(function (r, i) {
        return r.map(function (_, j) {
          if (i >= n) { return "new this month"; }
          if (j >= n) { return "not graded this month"; }
          return i === j ? "same tier" : j > i ? "moved down" : "moved up";
        });
      });
      trace.z = matrix.map(function (r, i) {
        return r.map(function (v, j) {
          if (i >= n || j >= n || i === j || v === 0) { return 0; }
          var strength = 0.2 + 0.8 * Math.sqrt(v / largest);
          return j > i ? -strength : strength;
        });
      });
    }

    function renderSections(m, c) {
      renderPivot(m, c);
      renderCompliance(m, c);
      renderExposure(m, c);
      renderQuality(m);
      writeFragment(m, c);
    }
    return {restore: restore, render: renderSections, colourMigration: colourMigration};
  };
})();
