// Phone layout helpers (progressive enhancement: without this script the menu links are simply
// shown and tables stay tables that scroll sideways inside their .table-wrap).
//  1. The header menu button: shown once this script runs; under 640 px it collapses the main
//     navigation, and toggles it (aria-expanded). Escape closes it and returns focus to the button.
//  2. Tables in a .table-wrap: every cell gets its column's header text as data-label and the table
//     the class "cards"; app.css shows such tables as one card per row under 640 px, each cell
//     prefixed with its label. ARIA roles keep the table semantics when the cells are blocks.
(function () {
  "use strict";

  function setupMenu() {
    var button = document.getElementById("menu-toggle");
    var nav = button && document.getElementById(button.getAttribute("aria-controls"));
    if (!button || !nav) { return; }
    var header = button.closest("header") || document.documentElement;
    function set(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      header.classList.toggle("menu-open", open);
    }
    set(false);
    header.classList.add("has-menu");
    button.hidden = false;
    button.addEventListener("click", function () {
      set(button.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
        set(false);
        if (nav.contains(document.activeElement)) { button.focus(); }
      }
    });
  }

  function text(cell) {
    return (cell.textContent || "").replace(/\s+/g, " ").trim();
  }

  // The header texts of a table by column index (colspans counted), from its thead's last row
  // or, without a thead, from a first row made only of <th>s.
  function headers(table) {
    var row = null;
    if (table.tHead && table.tHead.rows.length) {
      row = table.tHead.rows[table.tHead.rows.length - 1];
    } else if (table.rows.length) {
      var first = table.rows[0];
      var onlyTh = first.cells.length > 0;
      for (var i = 0; i < first.cells.length; i++) {
        if (first.cells[i].tagName !== "TH") { onlyTh = false; }
      }
      if (onlyTh) { row = first; }
    }
    if (!row) { return null; }
    var labels = [];
    for (var c = 0; c < row.cells.length; c++) {
      var span = Math.max(1, row.cells[c].colSpan || 1);
      for (var s = 0; s < span; s++) { labels.push(text(row.cells[c])); }
    }
    return {row: row, labels: labels};
  }

  function setRole(el, role) {
    if (!el.hasAttribute("role")) { el.setAttribute("role", role); }
  }

  function labelTable(table) {
    var head = headers(table);
    if (!head) { return; }
    var labels = head.labels;
    setRole(table, "table");
    var groups = [table.tHead].concat([].slice.call(table.tBodies), [table.tFoot]);
    groups.forEach(function (g) { if (g) { setRole(g, "rowgroup"); } });
    for (var r = 0; r < table.rows.length; r++) {
      var row = table.rows[r];
      setRole(row, "row");
      var inHead = row === head.row || (row.parentNode && row.parentNode.tagName === "THEAD");
      var col = 0;
      for (var c = 0; c < row.cells.length; c++) {
        var cell = row.cells[c];
        var span = Math.max(1, cell.colSpan || 1);
        if (inHead) {
          setRole(cell, "columnheader");
        } else {
          setRole(cell, cell.tagName === "TH" ? "rowheader" : "cell");
          if (!cell.hasAttribute("data-label")) {
            // A cell across every column (a "nothing here" row) needs no label; one across a few
            // columns gets their headers joined.
            var names = span >= labels.length ? [] : labels.slice(col, col + span).filter(Boolean);
            var label = names.join(" / ");
            if (label && label !== text(cell)) { cell.setAttribute("data-label", label); }
          }
        }
        col += span;
      }
    }
    table.classList.add("cards");
  }

  function setupTables() {
    var tables = document.querySelectorAll(".table-wrap table");
    for (var i = 0; i < tables.length; i++) {
      if (!tables[i].classList.contains("no-cards")) { labelTable(tables[i]); }
    }
  }

  function init() {
    setupMenu();
    setupTables();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
