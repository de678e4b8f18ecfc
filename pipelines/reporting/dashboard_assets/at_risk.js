// The "At risk this month" section (pipelines/dashboard_at_risk.py builds its frame and
// data; inlined after dashboard.js by pipelines/dashboard_page.py). It lists the latest
// preview's merchants projected below their published tier, for the category chosen in
// the header. Data reaches the DOM only through textContent.
(function () {
  "use strict";
  var section = document.getElementById("section-at-risk");
  if (!section) { return; }
  var P = JSON.parse(document.getElementById("dashboard-data").textContent).payload;
  var R = P.atRisk, category = document.getElementById("category");

  // A limit as the exact percentage of its decimal text ("0.0075" reads 0.75%): rounded
  // to one place it read 0.8%, beside a rate of 0.799% it said would reach it (a review).
  function pct(limit) {
    var text = String(limit), sign = text.charAt(0) === "-" ? "-" : "";
    var parts = text.replace(/^-/, "").split("."), places = (parts[1] || "") + "00";
    var whole = (parts[0] + places.slice(0, 2)).replace(/^0+(?=\d)/, "");
    var rest = places.slice(2).replace(/0+$/, "");
    return sign + whole + (rest ? "." + rest : "") + "%";
  }
  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }
  function counted(n, d, limit) {
    // Cut, not rounded (as the movers' rates): 1199/1200 reads 99.91%, never 100.00%.
    return n + "/" + d + (d > 0 ? " = " + (Math.floor(10000 * n / d + 1e-7) / 100).toFixed(2) + "%" : "") +
      (limit === null ? "" : " (limit " + pct(limit) + ")");
  }
  // How far from the threshold, in whole bad orders and disputes (exact, from the data).
  function distance(r) {
    var parts = [];
    if (r.badRecover !== null) {
      parts.push(plural(r.badRecover, "fewer bad order", "fewer bad orders") +
        " to get under " + pct(r.badLimit));
    } else if (r.badCross !== null) {
      parts.push(plural(r.badCross, "more bad order", "more bad orders") +
        " would reach " + pct(r.badLimit));
    }
    if (r.disputeRecover !== null) {
      parts.push(plural(r.disputeRecover, "fewer dispute", "fewer disputes") +
        " to get under " + pct(r.disputeLimit));
    } else if (r.disputeCross !== null) {
      parts.push(plural(r.disputeCross, "more dispute", "more disputes") +
        " would reach " + pct(r.disputeLimit));
    }
    return parts.join("; ");
  }
  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) { td.className = className; }
    row.appendChild(td);
  }
  function render() {
    var c = Number(category.value), name = c > 0 ? P.categories[c - 1] : null;
    var body = section.querySelector("tbody"), summary = document.getElementById("at-risk-summary");
    body.textContent = "";
    if (R.status !== "projected") {
      summary.textContent = "The latest preview, of " + R.month + " as of " + R.asOf +
        ", was blocked: " + R.reason;
      return;
    }
    var rows = R.rows.filter(function (r) { return name === null || r.category === name; });
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-merchant", r.id);
      cell(tr, r.id);
      cell(tr, r.category === null ? "?" : r.category);
      cell(tr, r.from + " \u2192 " + r.to + (r.provisional ? " (provisional)" : ""));
      cell(tr, r.deciding.join("; "), "deciding");
      cell(tr, counted(r.bad, r.assessed, r.badLimit));
      cell(tr, counted(r.disputes, r.assessed, r.disputeLimit));
      cell(tr, distance(r));
      body.appendChild(tr);
    });
    var shown = R.rows.length < R.total ? " (the page holds the " + R.rows.length +
      " furthest falls; the full list is in preview.at_risk)" : "";
    summary.textContent = "Projected " + R.month + " as of " + R.asOf + " against the " +
      "tiers published for " + R.comparedMonth + ": " + plural(R.total, "merchant", "merchants") +
      " at risk" + shown + (name === null ? "" : "; " + rows.length + " in " + name) + ".";
  }
  category.addEventListener("change", render);
  render();
  section.setAttribute("data-ready", "true");
})();
