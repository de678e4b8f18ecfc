/* The Data Docs' only script, inline in every page (pipelines/data_docs_site.py): what GE's
   pages took jQuery, bootstrap and bootstrap-table from CDNs for. Collapsible blocks and
   tabs open and close, "Failed Only" hides the expectations that passed, and the index's
   table sorts by a column, filters by what is typed, and opens a row's page on a click. */
(function () {
  "use strict";

  function target(toggle) {
    var ref = toggle.getAttribute("data-target") || toggle.getAttribute("href") || "";
    return ref.charAt(0) === "#" ? document.getElementById(ref.slice(1)) : null;
  }

  function toggleCollapse(toggle) {
    var body = target(toggle);
    if (body) {
      toggle.setAttribute("aria-expanded", String(body.classList.toggle("show")));
    }
  }

  function showTab(tab) {
    var nav = tab.closest(".nav-tabs");
    var pane = target(tab);
    if (!nav || !pane) return;
    nav.querySelectorAll("[data-toggle=tab]").forEach(function (other) {
      other.classList.remove("active");
      other.setAttribute("aria-selected", "false");
      var otherPane = target(other);
      if (otherPane) otherPane.classList.remove("active", "show");
    });
    tab.classList.add("active");
    tab.setAttribute("aria-selected", "true");
    pane.classList.add("active", "show");
  }

  function showValidations(which) {
    var hidden = which === "failed";
    document.querySelectorAll(".hide-succeeded-validation-target-child").forEach(function (el) {
      el.parentElement.hidden = hidden;
    });
    document.querySelectorAll(".hide-succeeded-validation-target").forEach(function (el) {
      el.hidden = hidden;
    });
    document
      .querySelectorAll(".hide-succeeded-validations-column-section-target-child")
      .forEach(function (el) {
        var section = el.parentElement.parentElement;
        section.hidden = hidden;
        document.querySelectorAll("a[href='#" + section.id + "']").forEach(function (link) {
          link.hidden = hidden;
        });
      });
    document.querySelectorAll("[data-validations]").forEach(function (button) {
      button.classList.toggle("active", button.getAttribute("data-validations") === which);
    });
  }

  function sortValue(row, index) {
    var text = row.cells[index].getAttribute("data-sort-value") || "";
    var number = Number(text);
    return text !== "" && !isNaN(number) ? number : text.toLowerCase();
  }

  function sortTable(table, field, descending) {
    var headers = Array.prototype.slice.call(table.tHead.rows[table.tHead.rows.length - 1].cells);
    var index = headers.findIndex(function (th) {
      return th.getAttribute("data-sort") === field || th.getAttribute("data-field") === field;
    });
    if (index < 0) return;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = sortValue(a, index);
      var y = sortValue(b, index);
      var order = x < y ? -1 : x > y ? 1 : 0;
      return descending ? -order : order;
    });
    rows.forEach(function (row) {
      body.appendChild(row);
    });
    headers.forEach(function (th, i) {
      if (i === index) th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    });
  }

  function filterTable(input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    if (!table) return;
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      var text = row.textContent.toLowerCase();
      row.hidden = !words.every(function (word) {
        return text.indexOf(word) >= 0;
      });
      if (!row.hidden) shown += 1;
    });
    document
      .querySelectorAll(".offline-table-count[data-table='" + table.id + "']")
      .forEach(function (count) {
        count.textContent = shown + " rows";
      });
  }

  document.addEventListener("click", function (event) {
    var element = event.target;
    var collapse = element.closest("[data-toggle=collapse]");
    if (collapse) {
      event.preventDefault();
      toggleCollapse(collapse);
      return;
    }
    var tab = element.closest("[data-toggle=tab]");
    if (tab) {
      event.preventDefault();
      showTab(tab);
      return;
    }
    var filter = element.closest("[data-validations]");
    if (filter) {
      showValidations(filter.getAttribute("data-validations"));
      return;
    }
    var header = element.closest(".offline-table th[data-sort]");
    if (header) {
      var descending = header.getAttribute("aria-sort") === "ascending";
      sortTable(header.closest("table"), header.getAttribute("data-sort"), descending);
      return;
    }
    var row = element.closest(".offline-table tr[data-href]");
    if (row && !element.closest("a")) {
      window.location.href = row.getAttribute("data-href");
    }
  });

  document.addEventListener("input", function (event) {
    if (event.target.classList.contains("offline-table-filter")) filterTable(event.target);
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".offline-table[data-sort-name]").forEach(function (table) {
      var field = table.getAttribute("data-sort-name");
      if (field) sortTable(table, field, table.getAttribute("data-sort-order") === "desc");
    });
    document.body.setAttribute("data-ready", "true");
  });
})();
